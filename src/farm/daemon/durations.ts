/**
 * @module Durations in configuration: `250ms`, `60s`, `5m`, `1h`, `2d`, combinations (`1h30m`), or a plain number
 * of seconds (`30`, `0.5`). Values are milliseconds.
 */
import { CorralError } from '../../model/errors.js';
import { DaemonErrorCode } from './errors.js';

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
type Unit = keyof typeof UNIT_MS;
const UNITS = Object.keys(UNIT_MS) as Unit[];
/** Largest duration accepted: timers cannot wait longer than 2^31-1 ms (~24.8 days) anyway, and a year is ample. */
const MAX_MS = 365 * UNIT_MS.d;
/** One `<number><unit>` part; sticky, so parts must follow each other. */
const PART = String.raw`(\d+(?:\.\d+)?|\.\d+)\s*([a-z]+)`;

export interface ParseDurationOptions {
  /** The duration: a string such as `250ms`, `60s`, `1h30m` or `30` (seconds), or a number of seconds. */
  readonly value: string | number;
  /** What the value is for, used in error messages (`shutdownGrace`). Default: none. */
  readonly name?: string;
}

/**
 * Parses a duration into whole milliseconds (rounded to the nearest millisecond).
 *
 * Units are `ms`, `s`, `m`, `h` and `d`, written after a non-negative decimal number; parts may be combined from
 * the largest unit down (`1h30m`, `2m 30s`). A plain number, or a string with no unit, counts seconds.
 * @returns the duration in milliseconds.
 * @throws {CorralError} `CORRAL_E_DURATION_INVALID` when the value is empty, negative, not a number, has an unknown
 *   unit or units out of order, or exceeds 365 days.
 * @example parseDuration({ value: '1m30s' }) // 90000
 */
export function parseDuration(options: ParseDurationOptions): number {
  const { value } = options;
  const fail = (reason: string): never => {
    const what = options.name === undefined ? 'duration' : `duration for ${options.name}`;
    throw new CorralError(
      DaemonErrorCode.DurationInvalid,
      `${JSON.stringify(value)} is not a valid ${what}: ${reason} (write e.g. 250ms, 60s, 5m, 1h, 1h30m, or seconds as a plain number).`,
    );
  };
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return fail('it is not a finite number');
    if (value < 0) return fail('it is negative');
    return checked(value * UNIT_MS.s, fail);
  }
  if (typeof value !== 'string') return fail('it is neither a string nor a number');
  const text = value.trim().toLowerCase();
  if (text === '') return fail('it is empty');
  if (text.startsWith('-')) return fail('it is negative');
  if (/^(\d+(\.\d+)?|\.\d+)$/.test(text)) return checked(Number(text) * UNIT_MS.s, fail);

  let total = 0;
  let previous = Number.POSITIVE_INFINITY;
  const part = new RegExp(PART, 'y');
  while (part.lastIndex < text.length) {
    const at = part.lastIndex;
    const match = part.exec(text);
    if (match === null) return fail(`cannot read '${text.slice(at)}'`);
    const unit = match[2] as Unit;
    if (!UNITS.includes(unit)) return fail(`unknown unit '${match[2]}' (units: ${UNITS.join(', ')})`);
    const size = UNIT_MS[unit];
    if (size >= previous) return fail('combine units from the largest down, each once');
    previous = size;
    total += Number(match[1]) * size;
    // Allow spaces between parts (`2m 30s`).
    while (text[part.lastIndex] === ' ') part.lastIndex++;
  }
  return checked(total, fail);
}

function checked(ms: number, fail: (reason: string) => never): number {
  if (ms > MAX_MS) return fail('it is longer than 365 days');
  return Math.round(ms);
}

export interface FormatDurationOptions {
  /** Milliseconds. */
  readonly ms: number;
}

/**
 * Formats milliseconds the way {@link parseDuration} reads them, shortest form first: `250ms`, `90s` → `1m30s`,
 * `3600000` → `1h`. Fractions of a millisecond are rounded.
 * @example formatDuration({ ms: 5400000 }) // '1h30m'
 */
export function formatDuration(options: FormatDurationOptions): string {
  let rest = Math.round(Math.max(0, options.ms));
  if (rest === 0) return '0s';
  let out = '';
  for (const unit of ['d', 'h', 'm', 's', 'ms'] as const) {
    const size = UNIT_MS[unit];
    if (rest >= size) {
      out += `${Math.floor(rest / size)}${unit}`;
      rest %= size;
    }
  }
  return out;
}
