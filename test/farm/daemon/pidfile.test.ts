/**
 * @module Tests of the flock-guarded pidfile with real processes: exclusion, stale files after SIGKILL, release.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DaemonErrorCode } from '../../../src/farm/daemon/errors.js';
import { acquirePidfile } from '../../../src/farm/daemon/pidfile.js';
import { CorralError } from '../../../src/model/errors.js';
import { startFixture } from './child.js';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'corral-pidfile-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const isCode = (code: string, message?: RegExp) => (error: unknown) =>
  error instanceof CorralError && error.code === code && (message === undefined || message.test(error.message));

describe('acquirePidfile', { timeout: 60_000 }, () => {
  it('should write the pid, refuse a second holder, and remove the file on release', () => {
    const path = join(dir, 'own.pid');
    writeFileSync(path, '1234567890\nleft over\n'); // a stale file, longer than the new content
    const pidfile = acquirePidfile({ path });
    assert.equal(readFileSync(path, 'utf8'), `${process.pid}\n`);
    // flock locks belong to an open file description: a second open in the same process is refused too.
    assert.throws(
      () => acquirePidfile({ path }),
      isCode(DaemonErrorCode.AlreadyRunning, new RegExp(`process ${process.pid} holds the pidfile ${path}`)),
    );
    pidfile.release();
    assert.equal(existsSync(path), false);
    pidfile.release(); // idempotent
    const again = acquirePidfile({ path, processId: 42 });
    assert.equal(readFileSync(path, 'utf8'), '42\n');
    again.release();
  });

  it('should refuse a second daemon with the first one’s pid, and not be blocked by a stale file after SIGKILL', async () => {
    const path = join(dir, 'daemon.pid');
    const first = startFixture('hold-pidfile', [path]);
    assert.deepEqual(await first.next(), { acquired: true, processId: first.pid });
    assert.equal(readFileSync(path, 'utf8'), `${first.pid}\n`);

    const second = startFixture('hold-pidfile', [path]);
    const refused = await second.next();
    assert.equal(refused.acquired, false);
    assert.equal(refused.code, DaemonErrorCode.AlreadyRunning);
    assert.equal(refused.message, `Another daemon is running: process ${first.pid} holds the pidfile ${path}.`);
    assert.equal((await second.exited).code, 1);

    first.child.kill('SIGKILL');
    assert.equal((await first.exited).signal, 'SIGKILL');
    assert.equal(readFileSync(path, 'utf8'), `${first.pid}\n`, 'the stale file is still there');

    const third = startFixture('hold-pidfile', [path]);
    assert.deepEqual(await third.next(), { acquired: true, processId: third.pid });
    assert.equal(readFileSync(path, 'utf8'), `${third.pid}\n`);
    third.send('release');
    assert.deepEqual(await third.next(), { released: true });
    assert.equal((await third.exited).code, 0);
    assert.equal(existsSync(path), false, 'release removes the file');
  });

  it('should not remove a successor’s file on release', () => {
    const path = join(dir, 'replaced.pid');
    const old = acquirePidfile({ path });
    rmSync(path); // an operator removed it, and another daemon started
    const successor = acquirePidfile({ path, processId: 7 });
    old.release();
    assert.equal(readFileSync(path, 'utf8'), '7\n');
    successor.release();
    assert.equal(existsSync(path), false);
  });

  it('should report a pidfile that cannot be created', () => {
    assert.throws(
      () => acquirePidfile({ path: join(dir, 'no-such-dir', 'x.pid') }),
      isCode(DaemonErrorCode.Pidfile, /Cannot open the pidfile .*no-such-dir\/x\.pid: ENOENT/),
    );
  });
});
