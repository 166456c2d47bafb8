/**
 * @module Tests of the staged shutdown: order, idempotency, error aggregation.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DaemonErrorCode } from '../../../src/farm/daemon/errors.js';
import { createShutdown, type ShutdownEvent } from '../../../src/farm/daemon/shutdown.js';
import { CorralError } from '../../../src/model/errors.js';

const tick = (ms = 5) => new Promise((resolve) => setTimeout(resolve, ms));

describe('createShutdown', () => {
  it('should release newest first, one after the other, passing the reason', async () => {
    const shutdown = createShutdown();
    const log: string[] = [];
    for (const name of ['store', 'scheduler', 'http']) {
      shutdown.add(name, async (reason) => {
        log.push(`${name} start (${reason})`);
        await tick();
        log.push(`${name} done`);
      });
    }
    assert.equal(shutdown.started, false);
    assert.equal(shutdown.signal.aborted, false);
    const run = shutdown.run('SIGTERM');
    assert.equal(shutdown.started, true);
    assert.equal(shutdown.signal.aborted, true);
    assert.equal(shutdown.signal.reason, 'SIGTERM');
    await run;
    assert.deepEqual(log, [
      'http start (SIGTERM)',
      'http done',
      'scheduler start (SIGTERM)',
      'scheduler done',
      'store start (SIGTERM)',
      'store done',
    ]);
  });

  it('should return the same promise on every call and release each component once', async () => {
    const shutdown = createShutdown();
    let calls = 0;
    let inner: Promise<void> | undefined;
    shutdown.add('a', () => {
      calls++;
    });
    // A releaser that (indirectly) asks for shutdown again must not deadlock or start a second run.
    shutdown.add('b', () => {
      inner = shutdown.run('again');
    });
    const first = shutdown.run('SIGINT');
    const second = shutdown.run('SIGTERM');
    assert.equal(first, second);
    await first;
    assert.equal(inner, first);
    assert.equal(await shutdown.run('later'), undefined);
    assert.equal(calls, 1);
  });

  it('should run every releaser despite failures and reject with an AggregateError of them', async () => {
    const events: ShutdownEvent[] = [];
    const shutdown = createShutdown({
      onEvent: (event) => {
        events.push(event);
        throw new Error('a broken logger changes nothing');
      },
    });
    const released: string[] = [];
    shutdown.add('store', () => {
      released.push('store');
      throw new Error('close failed');
    });
    shutdown.add('queue', () => {
      released.push('queue');
    });
    shutdown.add('http', async () => {
      released.push('http');
      // Rejections that are not Errors still get a message.
      throw { status: 'stuck' };
    });
    const error = await shutdown.run('SIGTERM').then(
      () => assert.fail('expected a rejection'),
      (e: unknown) => e,
    );
    assert.deepEqual(released, ['http', 'queue', 'store']);
    assert.ok(error instanceof AggregateError);
    assert.equal(error.message, 'Shutdown (SIGTERM): 2 releaser(s) failed: http, store');
    assert.deepEqual(
      error.errors.map((e: Error) => e.message),
      ['http: {"status":"stuck"}', 'store: close failed'],
    );
    assert.deepEqual((error.errors[0] as Error).cause, new Error('{"status":"stuck"}', { cause: { status: 'stuck' } }));
    assert.deepEqual(
      events.map((e) => `${e.type} ${e.name}`),
      ['start http', 'failed http', 'start queue', 'done queue', 'start store', 'failed store'],
    );
  });

  it('should run releasers added during the run, skip removed ones, and refuse additions after it', async () => {
    const shutdown = createShutdown();
    const released: string[] = [];
    const remove = shutdown.add('removed', () => {
      released.push('removed');
    });
    shutdown.add('first', () => {
      released.push('first');
    });
    shutdown.add('adds', () => {
      released.push('adds');
      shutdown.add('late', () => {
        released.push('late');
      });
    });
    remove();
    remove(); // idempotent
    await shutdown.run('test');
    assert.deepEqual(released, ['adds', 'late', 'first']);
    assert.throws(
      () => shutdown.add('too late', () => {}),
      (error: unknown) => error instanceof CorralError && error.code === DaemonErrorCode.ShuttingDown,
    );
  });
});
