/**
 * @module Tests of the signal wiring: real signals to a child process, and error routing with a stand-in target.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import { DaemonExitCode, exitCodeForSignal, installSignalHandlers } from '../../../src/farm/daemon/signals.js';
import { startFixture } from './child.js';

describe('installSignalHandlers', { timeout: 60_000 }, () => {
  it('should count shutdown signals, route SIGHUP and SIGUSR2, and restore defaults when uninstalled', async () => {
    const daemon = startFixture('signals');
    assert.deepEqual(await daemon.next(), { event: 'ready' });
    const signal = async (name: NodeJS.Signals) => {
      daemon.child.kill(name);
      return daemon.next();
    };
    assert.deepEqual(await signal('SIGTERM'), { event: 'shutdown', signal: 'SIGTERM', count: 1 });
    assert.deepEqual(await signal('SIGHUP'), { event: 'reload' });
    assert.deepEqual(await signal('SIGINT'), { event: 'shutdown', signal: 'SIGINT', count: 2 });
    assert.deepEqual(await signal('SIGUSR2'), { event: 'reopen' });
    assert.deepEqual(await daemon.next(), { event: 'error', signal: 'SIGUSR2', message: 'reopen failed' });
    assert.deepEqual(await signal('SIGTERM'), { event: 'shutdown', signal: 'SIGTERM', count: 3 });
    assert.deepEqual(await daemon.next(), { event: 'uninstalled' });
    daemon.child.kill('SIGTERM');
    const exit = await daemon.exited;
    assert.equal(exit.signal, 'SIGTERM', 'the default action is back');
  });

  it('should send callback failures, thrown or rejected, to onError', async () => {
    const target = new EventEmitter();
    const errors: [unknown, string][] = [];
    const uninstall = installSignalHandlers({
      target,
      onShutdown: () => {
        throw new Error('sync failure');
      },
      onReload: async () => {
        throw new Error('async failure');
      },
      onError: (error, signal) => errors.push([error, signal]),
    });
    assert.deepEqual(target.eventNames().sort(), ['SIGHUP', 'SIGINT', 'SIGTERM']);
    target.emit('SIGTERM', 'SIGTERM');
    target.emit('SIGHUP', 'SIGHUP');
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(
      errors.map(([error, signal]) => [(error as Error).message, signal]),
      [
        ['sync failure', 'SIGTERM'],
        ['async failure', 'SIGHUP'],
      ],
    );
    uninstall();
    uninstall();
    assert.deepEqual(target.eventNames(), []);
  });

  it('should let a failure surface as an uncaught exception when there is no onError', async () => {
    const daemon = startFixture('signals', ['without-onError']);
    assert.deepEqual(await daemon.next(), { event: 'ready' });
    daemon.child.kill('SIGHUP');
    const exit = await daemon.exited;
    assert.equal(exit.code, 1);
    assert.match(exit.stderr, /Error: reload failed loudly/);
  });
});

describe('exitCodeForSignal', () => {
  it('should follow the shell convention of 128 + the signal number', () => {
    assert.equal(exitCodeForSignal({ signal: 'SIGINT' }), DaemonExitCode.ForcedByInterrupt);
    assert.equal(exitCodeForSignal({ signal: 'SIGTERM' }), DaemonExitCode.ForcedByTerminate);
    assert.equal(exitCodeForSignal({ signal: 'SIGKILL' }), 137);
  });
});
