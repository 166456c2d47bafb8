import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Backoff } from '../../../src/farm/worker/backoff.js';

describe('backoff', () => {
  it('doubles its ceiling up to the cap, with full jitter, and starts again after a reset', () => {
    const high = new Backoff({ baseMs: 250, capMs: 15_000, random: () => 0.999999 });
    assert.deepEqual(
      Array.from({ length: 9 }, () => high.next()),
      [250, 500, 1000, 2000, 4000, 8000, 15_000, 15_000, 15_000],
    );
    assert.equal(high.attempts, 9);
    high.reset();
    assert.equal(high.next(), 250);
    const low = new Backoff({ random: () => 0 });
    assert.deepEqual([low.next(), low.next(), low.next()], [0, 0, 0], 'full jitter reaches 0');
  });

  it('spreads delays over the whole range', () => {
    const backoff = new Backoff({ baseMs: 1000, capMs: 1000 });
    const delays = Array.from({ length: 2000 }, () => backoff.next());
    assert.ok(delays.every((d) => d >= 0 && d <= 1000 && Number.isInteger(d)));
    const mean = delays.reduce((a, b) => a + b, 0) / delays.length;
    assert.ok(mean > 400 && mean < 600, `mean ${mean}`);
    assert.ok(delays.some((d) => d < 100) && delays.some((d) => d > 900));
  });

  it('does not overflow after many failures', () => {
    const backoff = new Backoff({ random: () => 0.5 });
    for (let i = 0; i < 2000; i++) backoff.next();
    assert.equal(backoff.ceiling, 15_000);
  });
});
