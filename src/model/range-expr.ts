/**
 * @module Integer range expressions (`<IntRangeExpr>`, `1-10:2,20`): parsing, a lazy sorted value set, canonical text.
 *
 * Values live as arithmetic progressions, never as arrays, so `1-1000000000` costs a few numbers of memory and
 * `length`, `at`, `indexOf` and `toString` stay fast however many values the expression has.
 */

import { ExpressionError, ModelErrorCode } from './errors.js';

/** An inclusive, ascending arithmetic progression: `start, start+step, …, end`, `step > 0`, `end = start + k*step`. */
export interface IntRange {
  readonly start: number;
  readonly end: number;
  readonly step: number;
}

/** Most elements (comma-separated parts) one expression may have; a defensive cap, as in the reference. */
export const MAX_RANGE_EXPR_ELEMENTS = 10_000;

const MAX = Number.MAX_SAFE_INTEGER;

/** `start + k*step` exactly, even when `k*step` alone is not a safe integer (the result always is). */
function offsetValue(start: number, k: number, step: number): number {
  const product = k * step;
  if (product <= MAX) return start + product;
  return Number(BigInt(start) + BigInt(k) * BigInt(step));
}

/** `b - a` for `a <= b`, exactly when it is a safe integer; `Infinity` when it is larger (never a usable step). */
function gap(a: number, b: number): number {
  const d = b - a;
  return d <= MAX ? d : Number.POSITIVE_INFINITY;
}

/** Number of values in `start..end` by `step`; exact even when `end - start` exceeds 2^53. */
function rangeCount(start: number, end: number, step: number): number {
  const d = end - start;
  if (d <= MAX) return (d - (d % step)) / step + 1;
  return Number((BigInt(end) - BigInt(start)) / BigInt(step)) + 1;
}

function singleton(value: number): IntRange {
  return { start: value, end: value, step: 1 };
}

/** A progression by count, the working form while canonicalising. */
interface Progression {
  readonly start: number;
  readonly step: number;
  readonly count: number;
}

/**
 * Splits the values of sorted progressions (whose spans do not overlap) into the canonical pieces: greedily from the
 * smallest value, take the longest constant-step run; keep it when it has at least 3 values, otherwise emit the
 * first value alone and continue from the next. The result depends only on the set of values, so equal sets always
 * print and compare the same. Work is linear in the number of progressions plus pieces, never in the values.
 */
function canonicalize(progs: readonly Progression[]): IntRange[] {
  const out: IntRange[] = [];
  const valueAt = (p: number, k: number): number => offsetValue(progs[p]!.start, k, progs[p]!.step);
  let p = 0;
  let k = 0;
  while (p < progs.length) {
    const v0 = valueAt(p, k);
    let np = p;
    let nk = k + 1;
    if (nk >= progs[p]!.count) {
      np = p + 1;
      nk = 0;
    }
    if (np >= progs.length) {
      out.push(singleton(v0));
      break;
    }
    const v1 = valueAt(np, nk);
    const d = gap(v0, v1);
    let length = 2;
    let last = v1;
    let lp = np;
    let lk = nk;
    // d above MAX_SAFE_INTEGER cannot have a third value inside the safe range.
    if (d <= MAX) {
      for (;;) {
        const q = progs[lp]!;
        if (lk + 1 < q.count) {
          if (q.step !== d) break;
          // The rest of this progression continues the run: take it in one go.
          length += q.count - 1 - lk;
          last = valueAt(lp, q.count - 1);
          lk = q.count - 1;
          continue;
        }
        if (lp + 1 >= progs.length) break;
        const next = progs[lp + 1]!.start;
        if (gap(last, next) !== d) break;
        length++;
        last = next;
        lp++;
        lk = 0;
      }
    }
    if (length >= 3) {
      out.push({ start: v0, end: last, step: d });
      if (lk + 1 < progs[lp]!.count) {
        p = lp;
        k = lk + 1;
      } else {
        p = lp + 1;
        k = 0;
      }
    } else {
      out.push(singleton(v0));
      p = np;
      k = nk;
    }
  }
  return out;
}

function rangeError(reason: string, text: string, offset?: number): ExpressionError {
  return new ExpressionError(ModelErrorCode.RangeExprInvalid, reason, text, offset);
}

/** One parsed element, with the interval as written (used for the overlap rule) and its place in the text. */
interface ParsedElement {
  readonly low: number;
  readonly high: number;
  readonly progression: Progression;
  readonly offset: number;
  readonly source: string;
}

class RangeExprParser {
  private pos = 0;

  constructor(private readonly text: string) {}

  parse(): Progression[] {
    const text = this.text;
    if (/^[ \t]*$/.test(text)) throw rangeError('range expression is empty', text, 0);
    const elements: ParsedElement[] = [];
    for (;;) {
      this.skipSpace();
      if (this.pos >= text.length) {
        // Only reachable after a comma: the whole-empty case was handled above.
        throw rangeError("expected a number after ','", text, text.lastIndexOf(','));
      }
      if (text[this.pos] === ',') {
        throw rangeError(
          elements.length === 0 ? "expected a number before ','" : 'empty element between two commas',
          text,
          this.pos,
        );
      }
      if (elements.length === MAX_RANGE_EXPR_ELEMENTS) {
        throw rangeError(`too many elements (the limit is ${MAX_RANGE_EXPR_ELEMENTS})`, text, this.pos);
      }
      elements.push(this.element());
      if (this.pos >= text.length) break;
      this.pos++; // the ','
    }
    return this.combine(elements);
  }

  private element(): ParsedElement {
    const text = this.text;
    const offset = this.pos;
    const first = this.integer();
    let sourceEnd = this.pos;
    this.skipSpace();
    let progression: Progression = { start: first, step: 1, count: 1 };
    let low = first;
    let high = first;
    // What may follow the tokens read so far, for the error on anything else.
    let expected = "',' or '-'";
    if (text[this.pos] === '-') {
      expected = "',' or ':'";
      this.pos++;
      this.skipSpace();
      const last = this.integer();
      sourceEnd = this.pos;
      this.skipSpace();
      let step = 1;
      let explicitStep = false;
      if (text[this.pos] === ':') {
        this.pos++;
        this.skipSpace();
        const stepOffset = this.pos;
        step = this.integer();
        sourceEnd = this.pos;
        if (step === 0) throw rangeError('step must not be zero', text, stepOffset);
        explicitStep = true;
        expected = "','";
        this.skipSpace();
      }
      const source = text.slice(offset, sourceEnd);
      // The spec's table reads '1 - -1' as [1], but both reference implementations and the conformance suite reject
      // a descending range unless its step is negative, and an ascending one with a negative step: follow them.
      if (first > last && step > 0) {
        throw rangeError(
          `range '${source}' counts down but its step is not negative (write '${first}-${last}:-${step}'${explicitStep ? '' : ` or '${last}-${first}'`})`,
          text,
          offset,
        );
      }
      if (first < last && step < 0) {
        throw rangeError(`range '${source}' counts up but its step is negative`, text, offset);
      }
      low = Math.min(first, last);
      high = Math.max(first, last);
      progression = normalise(first, last, step);
    } else if (text[this.pos] === ':') {
      throw rangeError("a step needs a range before it, as in '1-10:2'", text, this.pos);
    }
    if (this.pos < text.length && text[this.pos] !== ',') {
      throw rangeError(`expected ${expected}, found '${text[this.pos]}'`, text, this.pos);
    }
    return { low, high, progression, offset, source: text.slice(offset, sourceEnd) };
  }

  /** Reads `-?[0-9]+` at the current position. */
  private integer(): number {
    const text = this.text;
    const start = this.pos;
    let i = start;
    if (text[i] === '-') i++;
    const digitsStart = i;
    while (i < text.length && text.charCodeAt(i) >= 48 && text.charCodeAt(i) <= 57) i++;
    // A number glued to letters, dots or more signs ('1.5', '2e3', '+4') is one bad token, not a number and junk.
    let tokenEnd = i;
    while (tokenEnd < text.length && /[0-9A-Za-z_.+]/.test(text[tokenEnd]!)) tokenEnd++;
    if (i === digitsStart || tokenEnd > i) {
      if (tokenEnd === start) {
        throw rangeError(
          start >= text.length ? 'expected an integer at the end' : `expected an integer, found '${text[start]}'`,
          text,
          start,
        );
      }
      throw rangeError(`expected an integer, found '${text.slice(start, Math.max(tokenEnd, i))}'`, text, start);
    }
    const value = Number(text.slice(start, i));
    if (!Number.isSafeInteger(value)) {
      throw rangeError(`value out of range (integers must be between -${MAX} and ${MAX})`, text, start);
    }
    this.pos = i;
    return value === 0 ? 0 : value; // no -0
  }

  private skipSpace(): void {
    while (this.text[this.pos] === ' ' || this.text[this.pos] === '\t') this.pos++;
  }

  /** Checks the no-overlap rule and the total size; returns the progressions sorted. */
  private combine(elements: ParsedElement[]): Progression[] {
    const sorted = [...elements].sort((a, b) => a.low - b.low || a.high - b.high);
    for (let i = 1; i < sorted.length; i++) {
      // Overlap is judged on the intervals as written (the spec's '1-10:4,10-15' is an error even though 1,5,9
      // and 10..15 share no value). Sorted by start, any overlapping pair implies an overlapping neighbour pair.
      const a = sorted[i - 1]!;
      const b = sorted[i]!;
      if (b.low <= a.high) {
        const [first, second] = a.offset < b.offset ? [a, b] : [b, a];
        throw rangeError(`ranges '${first.source}' and '${second.source}' overlap`, this.text, second.offset);
      }
    }
    let total = 0;
    for (const element of elements) {
      total += element.progression.count;
      if (total > MAX) throw rangeError(`too many values (more than ${MAX})`, this.text, element.offset);
    }
    return sorted.map((element) => element.progression);
  }
}

/** The values of `first-last:step` (direction already checked) as an ascending progression. */
function normalise(first: number, last: number, step: number): Progression {
  const magnitude = Math.abs(step);
  const low = Math.min(first, last);
  const high = Math.max(first, last);
  // Anchored at `first`: an ascending range ends at the last reachable value, a descending one at the lowest.
  const count = rangeCount(low, high, magnitude);
  if (step > 0) return { start: first, step: magnitude, count };
  const lowest = Number(BigInt(first) - BigInt(count - 1) * BigInt(magnitude));
  return { start: lowest, step: magnitude, count };
}

/**
 * A set of integers given by an `<IntRangeExpr>`: sorted ascending, without duplicates, held lazily as ranges.
 *
 * Iterating yields the values in increasing order. `ranges` is canonical, so two expressions with the same values
 * have equal `ranges` and the same `toString()`.
 */
export class IntRangeExpr implements Iterable<number> {
  /** The canonical pieces: sorted, disjoint; single values and runs of at least 3 values with a constant step. */
  readonly ranges: readonly IntRange[];
  /** How many values the set has. */
  readonly length: number;
  /** `counts[i]` values in `ranges[i]`; `firstIndex[i]` is the index of its first value. */
  private readonly counts: readonly number[];
  private readonly firstIndex: readonly number[];

  private constructor(ranges: readonly IntRange[]) {
    this.ranges = ranges;
    const counts: number[] = [];
    const firstIndex: number[] = [];
    let total = 0;
    for (const range of ranges) {
      const count = rangeCount(range.start, range.end, range.step);
      firstIndex.push(total);
      counts.push(count);
      total += count;
    }
    this.counts = counts;
    this.firstIndex = firstIndex;
    this.length = total;
  }

  /**
   * Parses an `<IntRangeExpr>` such as `"1-10:2, 20, 30-25:-5"`.
   *
   * Elements are separated by commas; each is `Int`, `Int-Int` or `Int-Int:Step`, with spaces or tabs around the
   * tokens. A descending range needs a negative step and is stored ascending. No two elements may overlap (as
   * written), the expression may have at most {@link MAX_RANGE_EXPR_ELEMENTS} elements, and every value must be a
   * safe integer.
   *
   * @throws ExpressionError with code `CORRAL_E_RANGE_EXPR` and the 0-based offset of the problem.
   */
  static parse(text: string): IntRangeExpr {
    return new IntRangeExpr(canonicalize(new RangeExprParser(text).parse()));
  }

  /**
   * Builds the set of the given integers, in any order; duplicates are dropped. An empty input gives an empty set
   * (whose `toString()` is `''`, which `parse` rejects).
   *
   * @throws ExpressionError with code `CORRAL_E_RANGE_EXPR` when a value is not a safe integer.
   */
  static fromValues(values: Iterable<number>): IntRangeExpr {
    const sorted = [...values];
    for (const value of sorted) {
      if (!Number.isSafeInteger(value)) {
        throw rangeError(`${value} is not a safe integer`, String(value));
      }
    }
    sorted.sort((a, b) => a - b);
    const progs: Progression[] = [];
    let previous: number | undefined;
    for (const value of sorted) {
      if (value === previous) continue;
      progs.push({ start: value === 0 ? 0 : value, step: 1, count: 1 });
      previous = value;
    }
    return new IntRangeExpr(canonicalize(progs));
  }

  /**
   * The value at a 0-based position in increasing order.
   *
   * @throws RangeError when `index` is not an integer in `[0, length)`.
   */
  at(index: number): number {
    if (!Number.isInteger(index) || index < 0 || index >= this.length) {
      throw new RangeError(`index ${index} is out of bounds for a range of ${this.length} values`);
    }
    const i = this.rangeOfIndex(index);
    const range = this.ranges[i]!;
    return offsetValue(range.start, index - this.firstIndex[i]!, range.step);
  }

  /** The 0-based position of `value` in increasing order, or -1 when the set does not contain it. O(log ranges). */
  indexOf(value: number): number {
    const i = this.rangeOfValue(value);
    if (i === -1) return -1;
    const range = this.ranges[i]!;
    const d = value - range.start;
    if (d <= MAX) return this.firstIndex[i]! + d / range.step;
    return this.firstIndex[i]! + Number((BigInt(value) - BigInt(range.start)) / BigInt(range.step));
  }

  /** Whether the set contains `value`. */
  has(value: number): boolean {
    return this.indexOf(value) !== -1;
  }

  /**
   * The values at positions `[start, end)` as a new set, without visiting them one by one.
   *
   * @throws RangeError when the bounds are not integers with `0 <= start <= end <= length`.
   */
  slice(start: number, end: number): IntRangeExpr {
    if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > this.length || start > end) {
      throw new RangeError(`slice [${start}, ${end}) is out of bounds for a range of ${this.length} values`);
    }
    if (start === end) return new IntRangeExpr([]);
    if (start === 0 && end === this.length) return this;
    const progs: Progression[] = [];
    const first = this.rangeOfIndex(start);
    const last = this.rangeOfIndex(end - 1);
    for (let i = first; i <= last; i++) {
      const range = this.ranges[i]!;
      const from = Math.max(start, this.firstIndex[i]!) - this.firstIndex[i]!;
      const to = Math.min(end, this.firstIndex[i]! + this.counts[i]!) - this.firstIndex[i]!;
      progs.push({ start: offsetValue(range.start, from, range.step), step: range.step, count: to - from });
    }
    return new IntRangeExpr(canonicalize(progs));
  }

  /** The canonical text: runs of 3+ values as `a-b` or `a-b:s`, other values alone (`"0,1,3,4,7-10"`). */
  toString(): string {
    return this.ranges
      .map((r) =>
        r.start === r.end ? `${r.start}` : r.step === 1 ? `${r.start}-${r.end}` : `${r.start}-${r.end}:${r.step}`,
      )
      .join(',');
  }

  /** Yields the values in increasing order, lazily. */
  *[Symbol.iterator](): Iterator<number> {
    for (let i = 0; i < this.ranges.length; i++) {
      const range = this.ranges[i]!;
      const count = this.counts[i]!;
      // Stepping by addition stays exact: every value yielded is inside the range, hence a safe integer.
      let value = range.start;
      for (let k = 0; k < count; k++, value += range.step) yield value;
    }
  }

  /** Whether every value of `other` is in this set. Works range by range, never value by value. */
  containsAll(other: IntRangeExpr): boolean {
    for (const r of other.ranges) {
      let value = r.start;
      for (;;) {
        const i = this.rangeOfValue(value);
        if (i === -1) return false;
        const own = this.ranges[i]!;
        // When r's step is a multiple of own's, r stays on own's grid up to own's end: skip those values at once.
        // Otherwise r's next value is off the grid and, if still inside own's span, fails on the next round.
        const last =
          r.step % own.step === 0
            ? offsetValue(value, rangeCount(value, Math.min(own.end, r.end), r.step) - 1, r.step)
            : value;
        if (gap(last, r.end) < r.step) break;
        value = last + r.step;
      }
    }
    return true;
  }

  /** Index into `ranges` of the range that contains `value`, or -1. */
  private rangeOfValue(value: number): number {
    if (!Number.isSafeInteger(value) || this.ranges.length === 0 || value < this.ranges[0]!.start) return -1;
    // The last range starting at or below the value is the only one that can hold it.
    let lo = 0;
    let hi = this.ranges.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.ranges[mid]!.start <= value) lo = mid;
      else hi = mid - 1;
    }
    const range = this.ranges[lo]!;
    if (value > range.end) return -1;
    const d = value - range.start;
    if (d <= MAX) return d % range.step === 0 ? lo : -1;
    return (BigInt(value) - BigInt(range.start)) % BigInt(range.step) === 0n ? lo : -1;
  }

  /** Index into `ranges` of the range holding the value at `index` (which must be in bounds). */
  private rangeOfIndex(index: number): number {
    let lo = 0;
    let hi = this.firstIndex.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.firstIndex[mid]! <= index) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
}
