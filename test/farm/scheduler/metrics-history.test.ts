/**
 * The in-memory history of workers' host metrics: one sample per interval, only the window kept, workers apart.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MetricsHistory } from '../../../src/farm/scheduler/metrics-history.js';

describe('metrics history', () => {
  it('should sample at most once per interval and keep only the window', () => {
    const history = new MetricsHistory({ windowMs: 60_000, intervalMs: 5000 });
    const t0 = 1_000_000;
    assert.equal(history.record(1, { cpu: 0.1 }, t0), true);
    assert.equal(history.record(1, { cpu: 0.2 }, t0 + 4999), false, 'too soon: not sampled');
    assert.equal(history.record(1, { cpu: 0.3, time: 42 }, t0 + 5000), true);
    history.record(2, { load1: 3 }, t0 + 1);
    assert.deepEqual(history.read(1, t0 + 5000), [
      { time: t0, cpu: 0.1 },
      { time: 42, cpu: 0.3 },
    ]);
    assert.deepEqual(history.read(2, t0 + 5000), [{ time: t0 + 1, load1: 3 }]);
    assert.deepEqual(history.read(1, t0 + 60_001), [{ time: 42, cpu: 0.3 }], 'the first left the window');
    assert.deepEqual(history.read(1, t0 + 65_001), []);
    assert.deepEqual(history.read(3, t0), []);
  });

  it('should hold at most a window of samples, and forget and prune workers', () => {
    const history = new MetricsHistory({ windowMs: 60_000, intervalMs: 5000 });
    for (let i = 0; i < 100; i++) history.record(1, { cpu: i / 100 }, i * 5000);
    const samples = history.read(1, 99 * 5000);
    assert.equal(samples.length, 13);
    assert.equal(samples.at(-1)!.cpu, 0.99);
    history.forget(1);
    assert.deepEqual(history.read(1, 99 * 5000), []);
    history.record(2, { cpu: 1 }, 0);
    history.record(3, { cpu: 1 }, 50_000);
    history.prune(100_000);
    assert.deepEqual(history.read(2, 0), [], 'pruned: silent for longer than the window');
    assert.equal(history.read(3, 50_000).length, 1);
  });
});
