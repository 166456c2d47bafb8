import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { IdentityStore, SEQ_BLOCK } from '../../../src/farm/worker/identity.js';

const dir = mkdtempSync(join(tmpdir(), 'corral-identity-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const identity = {
  server: 'http://127.0.0.1:8470',
  name: 'w1',
  workerId: 7,
  token: 'corral_worker_secret',
  seqReserved: 0,
  openSessions: [],
};

describe('worker identity', () => {
  it('is kept in a file only its owner can read, and read back', () => {
    const path = join(dir, 'worker.json');
    const store = new IdentityStore({ path });
    assert.equal(store.load(), undefined, 'none yet');
    store.save(identity);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.deepEqual(new IdentityStore({ path }).load(), identity);
    store.update({ openSessions: [3, 4] });
    assert.deepEqual(new IdentityStore({ path }).load()?.openSessions, [3, 4]);
    store.clear();
    assert.equal(new IdentityStore({ path }).load(), undefined);
  });

  it('reserves sync numbers in blocks, writing only when a block is used up', () => {
    const path = join(dir, 'reserve.json');
    const store = new IdentityStore({ path });
    store.save(identity);
    store.reserve(1);
    assert.equal(store.current?.seqReserved, 1 + SEQ_BLOCK);
    const written = readFileSync(path, 'utf8');
    for (let seq = 2; seq <= 1 + SEQ_BLOCK; seq++) store.reserve(seq);
    assert.equal(readFileSync(path, 'utf8'), written, 'no write within the block');
    store.reserve(2 + SEQ_BLOCK);
    assert.equal(new IdentityStore({ path }).load()?.seqReserved, 2 + 2 * SEQ_BLOCK);
  });

  it('treats a malformed file as no identity, with a warning', () => {
    const path = join(dir, 'bad.json');
    writeFileSync(path, '{"workerId": "seven"');
    const warnings: string[] = [];
    assert.equal(new IdentityStore({ path, onWarning: (w) => warnings.push(w) }).load(), undefined);
    assert.match(warnings[0]!, /malformed; registering again/);
  });
});
