/**
 * @module Tests of duration parsing and formatting.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatDuration, parseDuration } from '../../../src/farm/daemon/durations.js';
import { DaemonErrorCode } from '../../../src/farm/daemon/errors.js';
import { CorralError } from '../../../src/model/errors.js';

describe('parseDuration', () => {
  it('should read units, combinations and plain seconds as milliseconds', () => {
    const cases: [string | number, number][] = [
      ['250ms', 250],
      ['60s', 60_000],
      ['5m', 300_000],
      ['1h', 3_600_000],
      ['2d', 172_800_000],
      ['1h30m', 5_400_000],
      ['2m 30s', 150_000],
      ['1.5s', 1500],
      ['.5s', 500],
      ['0', 0],
      ['30', 30_000],
      ['0.25', 250],
      [' 10S ', 10_000],
      [45, 45_000],
      [0.1, 100],
      ['1.4ms', 1],
    ];
    for (const [value, ms] of cases) assert.equal(parseDuration({ value }), ms, `${JSON.stringify(value)}`);
  });

  it('should refuse malformed durations with a coded error that says why', () => {
    const cases: [string | number, RegExp][] = [
      ['', /it is empty/],
      ['   ', /it is empty/],
      ['-5s', /it is negative/],
      [-1, /it is negative/],
      [Number.NaN, /not a finite number/],
      ['5 minutes', /unknown unit 'minutes'/],
      ['5x', /unknown unit 'x'/],
      ['1h30', /cannot read '30'/],
      ['30m1h', /from the largest down/],
      ['1s1s', /from the largest down/],
      ['abc', /cannot read 'abc'/],
      ['400d', /longer than 365 days/],
    ];
    for (const [value, message] of cases) {
      assert.throws(
        () => parseDuration({ value, name: 'heartbeat' }),
        (error: unknown) =>
          error instanceof CorralError &&
          error.code === DaemonErrorCode.DurationInvalid &&
          message.test(error.message) &&
          error.message.includes('duration for heartbeat') &&
          error.message.includes('250ms, 60s, 5m, 1h'),
        `${JSON.stringify(value)}`,
      );
    }
  });
});

describe('formatDuration', () => {
  it('should write the shortest form parseDuration reads back', () => {
    const cases: [number, string][] = [
      [0, '0s'],
      [250, '250ms'],
      [1000, '1s'],
      [90_000, '1m30s'],
      [5_400_000, '1h30m'],
      [86_400_000 + 1, '1d1ms'],
    ];
    for (const [ms, text] of cases) {
      assert.equal(formatDuration({ ms }), text);
      assert.equal(parseDuration({ value: text }), ms);
    }
  });
});
