/**
 * Work announcements over PostgreSQL's LISTEN/NOTIFY: another server hears them, and closing leaves no connection
 * behind, even with an announcement on its way (a leaked connection kept a test process alive after its suites).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { postgresWakeups } from '../../../src/farm/store/wakeups.js';
import { type PostgresCluster, postgresAvailable, sharedPostgres } from '../../helpers/postgres.js';

describe('work announcements on PostgreSQL', { skip: postgresAvailable() }, () => {
  let cluster: PostgresCluster;
  let url: string;
  let admin: pg.Client;
  const database = `wakeups_${process.pid}`;
  before(async () => {
    cluster = await sharedPostgres();
    url = await cluster.createDatabase(database);
    admin = new pg.Client({ connectionString: url });
    await admin.connect();
  });
  after(async () => {
    await admin?.end();
  });

  /** Connections to the test database other than the admin's own. */
  const connections = async () =>
    Number(
      (
        await admin.query('SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [
          database,
        ])
      ).rows[0].n,
    );
  const settle = async (expected: number) => {
    const deadline = Date.now() + 3000;
    let n = await connections();
    while (n !== expected && Date.now() < deadline) {
      await sleep(20);
      n = await connections();
    }
    return n;
  };

  it('should wake the other servers, not the one that announced', async () => {
    let heardA = 0;
    let heardB = 0;
    const a = await postgresWakeups({ url, onWork: () => heardA++, intervalMs: 1 });
    const b = await postgresWakeups({ url, onWork: () => heardB++, intervalMs: 1 });
    const [startA, startB] = [heardA, heardB];
    a.announce();
    const deadline = Date.now() + 3000;
    while (heardB === startB && Date.now() < deadline) await sleep(5);
    assert.equal(heardB, startB + 1, 'the other server heard it');
    await sleep(50);
    assert.equal(heardA, startA, 'the announcer ignores its own');
    await Promise.all([a.close(), b.close()]);
    assert.equal(await settle(0), 0);
  });

  it('should leave no connection behind when closed right after announcing', async () => {
    for (let i = 0; i < 5; i++) {
      const wakeups = await postgresWakeups({ url, onWork: () => {}, intervalMs: 1 });
      wakeups.announce();
      await wakeups.close();
      assert.equal(await settle(0), 0, `round ${i}: a connection outlived close()`);
    }
    // And with an announcement still queued behind one in flight.
    const wakeups = await postgresWakeups({ url, onWork: () => {}, intervalMs: 0 });
    wakeups.announce();
    await sleep(0);
    wakeups.announce();
    await wakeups.close();
    assert.equal(await settle(0), 0);
  });
});
