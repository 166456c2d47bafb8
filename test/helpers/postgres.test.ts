/**
 * @module Tests of the private PostgreSQL cluster helper: start, two databases, stop, and nothing left behind.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { describe, it } from 'node:test';
import pg from 'pg';
import { postgresAvailable, sharedPostgres, startPostgres } from './postgres.js';

const skip = postgresAvailable();

/** Whether something accepts TCP connections on 127.0.0.1:port. */
function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function query(url: string, text: string): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(text);
  } finally {
    await client.end();
  }
}

async function eventually(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return check();
}

describe('startPostgres', { skip, timeout: 60_000 }, () => {
  it('should start a private cluster, serve two databases, and leave nothing behind when stopped', async (t) => {
    const cluster = await startPostgres({ name: 'helper_test' });
    t.diagnostic(`cluster started in ${Math.round(cluster.startupMs)} ms on port ${cluster.port}`);
    try {
      assert.match(cluster.url, /^postgres:\/\/corral@127\.0\.0\.1:\d+\/helper_test$/);
      assert.ok(await portOpen(cluster.port));

      const [one, two] = await Promise.all([cluster.createDatabase('one'), cluster.createDatabase('two')]);
      assert.equal(one, cluster.url.replace(/helper_test$/, 'one'));
      await query(one, 'CREATE TABLE t (v int); INSERT INTO t VALUES (1)');
      await query(two, 'CREATE TABLE t (v int); INSERT INTO t VALUES (2), (3)');
      assert.deepEqual((await query(one, 'SELECT v FROM t')).rows, [{ v: 1 }]);
      assert.deepEqual((await query(two, 'SELECT count(*)::int AS n FROM t')).rows, [{ n: 2 }]);

      const settings = await query(
        cluster.url,
        "SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'listen_addresses', 'max_connections') ORDER BY name",
      );
      assert.deepEqual(settings.rows, [
        { name: 'fsync', setting: 'off' },
        { name: 'listen_addresses', setting: '127.0.0.1' },
        { name: 'max_connections', setting: '200' },
      ]);
      const role = await query(cluster.url, 'SELECT rolsuper FROM pg_roles WHERE rolname = current_user');
      assert.deepEqual(role.rows, [{ rolsuper: true }]);
      await assert.rejects(cluster.createDatabase('bad-name'), /invalid database name/);
    } finally {
      await cluster.stop();
    }
    assert.equal(await portOpen(cluster.port), false, 'the port is closed');
    assert.equal(existsSync(cluster.directory), false, 'the directory is gone');
    await cluster.stop(); // idempotent
  });

  it('should stop the cluster when the test process dies without cleaning up', async () => {
    // A child process starts a cluster, reports it, and is SIGKILLed: no 'exit' hook runs, only the watchdog.
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        `import { startPostgres } from ${JSON.stringify(new URL('./postgres.ts', import.meta.url).href)};
         const c = await startPostgres({ name: 'orphan' });
         console.log(JSON.stringify({ port: c.port, directory: c.directory }));
         setInterval(() => {}, 1000);`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
        out += chunk;
        if (out.includes('\n')) resolve(out.split('\n')[0]!);
      });
      child.once('exit', (code) => reject(new Error(`child exited early (${code})`)));
    });
    const { port, directory } = JSON.parse(line) as { port: number; directory: string };
    assert.ok(await portOpen(port));
    child.kill('SIGKILL');
    assert.ok(await eventually(async () => !(await portOpen(port)), 10_000), 'the port closes');
    assert.ok(await eventually(() => !existsSync(directory), 10_000), 'the directory is removed');
  });
});

describe('sharedPostgres', { skip, timeout: 60_000 }, () => {
  it('should start one cluster per process and hand out fresh databases', async () => {
    const [a, b] = await Promise.all([sharedPostgres(), sharedPostgres()]);
    assert.equal(a, b);
    const url = await a.createDatabase('shared_one');
    assert.deepEqual((await query(url, 'SELECT current_database() AS db')).rows, [{ db: 'shared_one' }]);
  });
});
