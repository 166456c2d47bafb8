/**
 * @module Tests of the daemon logger with real files: JSON lines, level changes, reopening after rotation, exits.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DaemonErrorCode } from '../../../src/farm/daemon/errors.js';
import { createLogger } from '../../../src/farm/daemon/logger.js';
import { CorralError, ModelErrorCode } from '../../../src/model/errors.js';
import { startFixture } from './child.js';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'corral-logger-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const readLines = (path: string) =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);

const isCode = (code: string) => (error: unknown) => error instanceof CorralError && error.code === code;

describe('createLogger', { timeout: 60_000 }, () => {
  it('should append JSON lines to a file created with mode 0640', () => {
    const path = join(dir, 'server.log');
    writeFileSync(path, '{"previous":true}\n', { mode: 0o600 });
    const fresh = join(dir, 'fresh.log');
    const log = createLogger({ name: 'corral-server', level: 'info', file: path, bindings: { farm: 'test' } });
    log.child('http', { requestId: 'r1' }).info({ status: 200 }, 'request done');
    log.logger.debug('hidden');
    log.close();
    const [previous, line] = readLines(path);
    assert.deepEqual(previous, { previous: true }, 'appends');
    assert.equal(line!.level, 30);
    assert.equal(line!.name, 'corral-server');
    assert.equal(line!.pid, process.pid);
    assert.equal(line!.farm, 'test');
    assert.equal(line!.component, 'http');
    assert.equal(line!.requestId, 'r1');
    assert.equal(line!.status, 200);
    assert.equal(line!.msg, 'request done');
    assert.match(String(line!.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(readLines(path).length, 2);

    createLogger({ name: 'x', level: 'info', file: fresh }).close();
    // Created 0640 (a stricter umask only narrows it).
    assert.equal(statSync(fresh).mode & 0o777, 0o640 & ~process.umask());
  });

  it('should change the level of the logger and of children made before the change', () => {
    const path = join(dir, 'levels.log');
    const log = createLogger({ name: 'corral-worker', level: 'info', file: path });
    const child = log.child('session', { sessionId: 's1' });
    const grandchild = child.child({ taskId: 't1' });
    grandchild.debug('before');
    assert.equal(log.level, 'info');
    log.setLevel('debug');
    assert.equal(log.level, 'debug');
    grandchild.debug('after');
    child.trace('too detailed');
    log.setLevel('error');
    child.warn('quiet now');
    assert.throws(() => log.setLevel('verbose' as 'info'), isCode(ModelErrorCode.InvalidArgument));
    log.close();
    assert.deepEqual(
      readLines(path).map((l) => [l.msg, l.component, l.sessionId, l.taskId]),
      [['after', 'session', 's1', 't1']],
    );
  });

  it('should reopen the file after logrotate moved it', () => {
    const path = join(dir, 'rotate.log');
    const errors: Error[] = [];
    const log = createLogger({ name: 'corral-server', level: 'info', file: path, onError: (e) => errors.push(e) });
    log.logger.info('one');
    renameSync(path, `${path}.1`);
    log.logger.info('two'); // still the moved file, as with any open descriptor
    log.reopen();
    log.logger.info('three');
    log.close();
    assert.deepEqual(
      readLines(`${path}.1`).map((l) => l.msg),
      ['one', 'two'],
    );
    assert.deepEqual(
      readLines(path).map((l) => l.msg),
      ['three'],
    );
    assert.deepEqual(errors, []);
  });

  it('should report a file it cannot reopen once, and keep writing to the old one', async () => {
    const sub = join(dir, 'sub');
    mkdirSync(sub);
    const path = join(sub, 'server.log');
    const errors: Error[] = [];
    const log = createLogger({ name: 's', level: 'info', file: path, onError: (e) => errors.push(e) });
    renameSync(sub, `${sub}.old`); // the directory is gone from under the path
    assert.throws(() => log.reopen(), isCode(DaemonErrorCode.LogFile));
    log.logger.info('still logged');
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(errors, [], 'reported by the throw only');
    log.close();
    assert.deepEqual(
      readLines(join(`${sub}.old`, 'server.log')).map((l) => l.msg),
      ['still logged'],
    );
  });

  it("should keep pino's pid: rename a logged pid to processId and refuse it as a binding", () => {
    const path = join(dir, 'pid.log');
    const log = createLogger({ name: 's', level: 'info', file: path });
    log.logger.info({ pid: 4242, signal: 'SIGTERM' }, 'child exited');
    assert.throws(() => log.child('x', { pid: 1 }), isCode(ModelErrorCode.InvalidArgument));
    assert.throws(
      () => createLogger({ name: 's', level: 'info', bindings: { pid: 1 } }),
      isCode(ModelErrorCode.InvalidArgument),
    );
    log.close();
    const text = readFileSync(path, 'utf8');
    assert.equal(text.match(/"pid":/g)?.length, 1);
    const [line] = readLines(path);
    assert.equal(line!.pid, process.pid);
    assert.equal(line!.processId, 4242);
  });

  it('should refuse a log file it cannot open, and an unknown level', () => {
    assert.throws(
      () => createLogger({ name: 's', level: 'info', file: join(dir, 'missing', 'x.log') }),
      isCode(DaemonErrorCode.LogFile),
    );
    assert.throws(() => createLogger({ name: 's', level: 'loud' as 'info' }), isCode(ModelErrorCode.InvalidArgument));
    assert.equal(existsSync(join(dir, 'missing')), false);
  });

  it('should lose no line when the process exits right after logging, to a file or to stderr', async () => {
    const path = join(dir, 'exit.log');
    const toFile = startFixture('log-and-exit', [path]);
    const toStderr = startFixture('log-and-exit', ['-']);
    const [fileExit, stderrExit] = await Promise.all([toFile.exited, toStderr.exited]);
    assert.equal(fileExit.code, 3);
    const lines = readLines(path);
    assert.equal(lines.length, 1001);
    assert.equal(lines[999]!.i, 999);
    assert.equal(lines[999]!.workerId, 'w-1');
    assert.equal(lines[1000]!.msg, 'bye');
    assert.equal(stderrExit.code, 3);
    const stderrLines = stderrExit.stderr.split('\n').filter((l) => l.startsWith('{'));
    assert.equal(stderrLines.length, 1001);
    assert.equal(JSON.parse(stderrLines[1000]!).level, 60);
  });
});
