/** @module Tests of range expressions: spec examples, errors with offsets, canonical text, laziness, properties. */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ExpressionError, ModelErrorCode } from '../../src/model/errors.js';
import { IntRangeExpr, MAX_RANGE_EXPR_ELEMENTS } from '../../src/model/range-expr.js';

const MAX = Number.MAX_SAFE_INTEGER;

function values(text: string): number[] {
  return [...IntRangeExpr.parse(text)];
}

/** Asserts that parsing fails with the range-expression code at `offset`, with a reason matching `reason`. */
function assertRangeError(text: string, offset: number | undefined, reason: RegExp): void {
  assert.throws(
    () => IntRangeExpr.parse(text),
    (error: unknown) => {
      assert.ok(error instanceof ExpressionError, `expected an ExpressionError for ${JSON.stringify(text)}`);
      assert.equal(error.code, ModelErrorCode.RangeExprInvalid);
      assert.equal(error.expression, text);
      assert.equal(error.offset, offset, `offset for ${JSON.stringify(text)}: ${error.message}`);
      assert.match(error.reason, reason);
      return true;
    },
  );
}

describe('IntRangeExpr.parse: spec examples', () => {
  const table: [string, number[]][] = [
    ['1 - 5', [1, 2, 3, 4, 5]],
    ['-1 - 1', [-1, 0, 1]],
    ['1-5:2', [1, 3, 5]],
    ['10-15:2,1-5', [1, 2, 3, 4, 5, 10, 12, 14]],
    ['1-10:4', [1, 5, 9]],
    ['-5--1', [-5, -4, -3, -2, -1]],
    ['5', [5]],
    ['0', [0]],
    ['-0', [0]],
    ['1-5:10', [1]],
    ['5-5', [5]],
    ['5-5:-3', [5]],
    ['1,3,5,7', [1, 3, 5, 7]],
    ['20-29:3,0-9:4,10-19:5', [0, 4, 8, 10, 15, 20, 23, 26, 29]],
    ['100,-1--2:-1,3-5,9,8,7,12', [-2, -1, 3, 4, 5, 7, 8, 9, 12, 100]],
  ];
  for (const [text, expected] of table) {
    it(`${JSON.stringify(text)} → [${expected.join(',')}]`, () => {
      assert.deepEqual(values(text), expected);
    });
  }

  it('"1-10:4,10-15" is an error: the ranges overlap as written', () => {
    assertRangeError('1-10:4,10-15', 7, /^ranges '1-10:4' and '10-15' overlap$/);
  });

  it('accepts spaces and tabs around every token', () => {
    assert.deepEqual(
      values('\t0 - 1 :\t1, 2 -\t100 : 1'),
      Array.from({ length: 101 }, (_, i) => i),
    );
    assert.deepEqual(values(' 1 , 2 , 3 '), [1, 2, 3]);
    assert.deepEqual(values('1\t-\t3'), [1, 2, 3]);
    assert.deepEqual(values('  -3 -  -1 : 2 '), [-3, -1]);
  });

  it('normalises a descending range with a negative step to ascending values', () => {
    assert.deepEqual(values('10-1:-1'), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.deepEqual(values('10-1:-2'), [2, 4, 6, 8, 10]);
    assert.deepEqual(values('-1--10:-1'), [-10, -9, -8, -7, -6, -5, -4, -3, -2, -1]);
    assert.deepEqual(values('-5--14:-2'), [-13, -11, -9, -7, -5]);
  });

  it('accepts values up to the safe-integer limits', () => {
    assert.deepEqual(values(`${MAX}`), [MAX]);
    assert.deepEqual(values(`-${MAX}`), [-MAX]);
    const wide = IntRangeExpr.parse(`-${MAX}-${MAX}:${MAX}`);
    assert.deepEqual([...wide], [-MAX, 0, MAX]);
    assert.equal(wide.toString(), `-${MAX}-${MAX}:${MAX}`);
    assert.equal(wide.indexOf(MAX), 2);
    assert.equal(wide.at(2), MAX);
  });

  it('keeps values exact in ranges wider than 2^53', () => {
    const x = IntRangeExpr.parse(`-${MAX}-${MAX - 1}:3`);
    // 2^54 - 3 is not a double: count with BigInt.
    const length = Number((2n * BigInt(MAX) - 1n) / 3n) + 1;
    const lastValue = Number(-BigInt(MAX) + BigInt(length - 1) * 3n);
    assert.equal(x.length, length);
    assert.equal(x.at(length - 1), lastValue);
    assert.equal(x.at(length - 2), lastValue - 3);
    assert.equal(x.at(1), -MAX + 3);
    assert.equal(x.toString(), `-${MAX}-${lastValue}:3`);
    assert.equal(x.indexOf(x.at(length - 1)), length - 1);
    assert.equal(x.indexOf(x.at(length - 1) - 1), -1);
    assert.equal(x.has(-MAX + 3), true);
    assert.equal(x.has(-MAX + 4), false);
  });

  it('accepts exactly 10,000 elements and rejects the 10,001st', () => {
    const many = Array.from({ length: MAX_RANGE_EXPR_ELEMENTS }, (_, i) => String(i * 2)).join(',');
    assert.equal(IntRangeExpr.parse(many).length, MAX_RANGE_EXPR_ELEMENTS);
    assert.equal(IntRangeExpr.parse(many).toString(), `0-${(MAX_RANGE_EXPR_ELEMENTS - 1) * 2}:2`);
    const tooMany = `${many},${MAX_RANGE_EXPR_ELEMENTS * 2}`;
    assertRangeError(tooMany, many.length + 1, /too many elements/);
  });
});

describe('IntRangeExpr.parse: errors', () => {
  const cases: [string, number | undefined, RegExp][] = [
    ['', 0, /empty/],
    ['   \t', 0, /empty/],
    ['1,', 1, /after ','/],
    ['1, \t', 1, /after ','/],
    [',1', 0, /before ','/],
    ['1,,2', 2, /empty element/],
    ['1, ,2', 3, /empty element/],
    ['1-5::2', 4, /expected an integer, found ':'/],
    ['1-5:', 4, /expected an integer/],
    ['1-', 2, /expected an integer/],
    ['-', 0, /expected an integer/],
    ['--5', 0, /expected an integer/],
    ['1-:2', 2, /expected an integer, found ':'/],
    [':2', 0, /expected an integer, found ':'/],
    ['1:2', 1, /step needs a range/],
    ['1-5:0', 4, /step must not be zero/],
    ['1-5:-0', 4, /step must not be zero/],
    ['1.5', 0, /expected an integer, found '1.5'/],
    ['1-5:2.5', 4, /expected an integer, found '2.5'/],
    ['1e3', 0, /expected an integer, found '1e3'/],
    ['+4', 0, /expected an integer, found '\+4'/],
    ['abc', 0, /expected an integer, found 'abc'/],
    ['1 2', 2, /expected ',' or '-', found '2'/],
    ['1-2 3', 4, /expected ',' or ':', found '3'/],
    ['1-9:2 x', 6, /expected ',', found 'x'/],
    ['1;2', 1, /found ';'/],
    ['1\n2', 1, /found '\n'/],
    ['9007199254740992', 0, /value out of range/],
    ['1-99999999999999999999', 2, /value out of range/],
    ['1-5:9007199254740992', 4, /value out of range/],
    ['10-1', 0, /counts down.*'10-1:-1' or '1-10'/],
    ['1 - -1', 0, /counts down/],
    ['2-0:1', 0, /counts down.*'2-0:-1'/],
    ['5,0-1:-1', 2, /counts up but its step is negative/],
    ['1-10,5-15', 5, /^ranges '1-10' and '5-15' overlap$/],
    ['5-15, 1-10', 6, /^ranges '5-15' and '1-10' overlap$/],
    ['1-9:2,2-10:2', 6, /overlap/],
    ['3,3', 2, /^ranges '3' and '3' overlap$/],
    ['1-100, 200, 50', 12, /^ranges '1-100' and '50' overlap$/],
    ['10-1:-3, 1', 9, /^ranges '10-1:-3' and '1' overlap$/],
    [`-${MAX}-${MAX}`, 0, /too many values/],
  ];
  for (const [text, offset, reason] of cases) {
    it(`rejects ${JSON.stringify(text)} at offset ${offset}`, () => assertRangeError(text, offset, reason));
  }

  it('puts the expression and a 1-based column in the message', () => {
    assert.throws(() => IntRangeExpr.parse('1-5:0'), {
      message: "step must not be zero at column 5 of '1-5:0'",
    });
  });
});

describe('IntRangeExpr canonical form', () => {
  const table: [string, string][] = [
    ['0-1,3-4,7-9,10', '0,1,3,4,7-10'],
    ['1-5:3', '1,4'],
    ['1-9:3', '1-7:3'],
    ['20-29,0-9,10-19', '0-29'],
    ['1,2,3', '1-3'],
    ['1,2', '1,2'],
    ['10-15:2,1-5', '1-5,10-14:2'],
    ['1-10:4', '1-9:4'],
    ['10-1:-1', '1-10'],
    ['-5--1', '-5--1'],
    ['-1 - 1', '-1-1'],
    ['7', '7'],
    ['2,4,6,7,8,9', '2-6:2,7-9'],
    ['1-3,5-9:2', '1-3,5-9:2'],
    ['1-5,7-11:2', '1-5,7-11:2'],
    ['0-9:3,12-20:4', '0-12:3,16,20'],
  ];
  for (const [text, canonical] of table) {
    it(`${JSON.stringify(text)} → ${JSON.stringify(canonical)}`, () => {
      assert.equal(IntRangeExpr.parse(text).toString(), canonical);
    });
  }

  it('gives equal ranges for equal sets however they are written', () => {
    assert.deepEqual(IntRangeExpr.parse('1,2,3,5,7,9').ranges, IntRangeExpr.parse('1-3,5-9:2').ranges);
    assert.deepEqual(IntRangeExpr.parse('9-3:-2,2,1').ranges, IntRangeExpr.fromValues([9, 7, 5, 3, 2, 1]).ranges);
  });
});

describe('IntRangeExpr.fromValues', () => {
  it('sorts, drops duplicates and builds the canonical form', () => {
    const x = IntRangeExpr.fromValues([5, 3, 1, 3, 4, 5, 2, 10, 20]);
    assert.deepEqual([...x], [1, 2, 3, 4, 5, 10, 20]);
    assert.equal(x.toString(), '1-5,10,20');
  });

  it('treats -0 as 0', () => {
    assert.deepEqual([...IntRangeExpr.fromValues([-0, 0])], [0]);
  });

  it('gives an empty set for no values', () => {
    const x = IntRangeExpr.fromValues([]);
    assert.equal(x.length, 0);
    assert.equal(x.toString(), '');
    assert.equal(x.indexOf(0), -1);
  });

  it('rejects values that are not safe integers', () => {
    for (const bad of [1.5, Number.NaN, 2 ** 53, Number.POSITIVE_INFINITY]) {
      assert.throws(() => IntRangeExpr.fromValues([1, bad]), { code: ModelErrorCode.RangeExprInvalid });
    }
  });
});

describe('IntRangeExpr access', () => {
  it('at, indexOf and has agree on a mixed expression', () => {
    const x = IntRangeExpr.parse('10-15:2,1-5,100');
    assert.equal(x.length, 9);
    assert.deepEqual(
      Array.from({ length: x.length }, (_, i) => x.at(i)),
      [1, 2, 3, 4, 5, 10, 12, 14, 100],
    );
    assert.equal(x.indexOf(12), 6);
    assert.equal(x.indexOf(13), -1);
    assert.equal(x.indexOf(0), -1);
    assert.equal(x.indexOf(101), -1);
    assert.equal(x.indexOf(1.5), -1);
    assert.equal(x.has(100), true);
    assert.equal(x.has(99), false);
  });

  it('at rejects out-of-bounds and non-integer indexes', () => {
    const x = IntRangeExpr.parse('1-3');
    for (const bad of [-1, 3, 1.5, Number.NaN]) assert.throws(() => x.at(bad), RangeError);
  });

  it('stays lazy for a billion values', () => {
    const started = performance.now();
    const x = IntRangeExpr.parse('1-1000000000');
    assert.equal(x.length, 1_000_000_000);
    assert.equal(x.at(999_999_999), 1_000_000_000);
    assert.equal(x.indexOf(123_456_789), 123_456_788);
    assert.equal(x.has(1_000_000_001), false);
    assert.equal(x.toString(), '1-1000000000');
    const first: number[] = [];
    for (const v of x) {
      first.push(v);
      if (first.length === 3) break;
    }
    assert.deepEqual(first, [1, 2, 3]);
    assert.deepEqual([...x.slice(999_999_998, 1_000_000_000)], [999_999_999, 1_000_000_000]);
    assert.equal(x.slice(10, 500_000_000).toString(), '11-500000000');
    assert.equal(x.containsAll(IntRangeExpr.parse('1-999999999:7,1000000000')), true);
    assert.ok(performance.now() - started < 100, 'a billion values must not be materialised');
  });

  it('slice keeps the values at the given positions', () => {
    const x = IntRangeExpr.parse('1-5,10-20:2,30');
    assert.equal(x.slice(3, 8).toString(), '4,5,10-14:2');
    assert.equal(x.slice(0, 0).length, 0);
    assert.equal(x.slice(0, x.length).toString(), x.toString());
    assert.throws(() => x.slice(2, 1), RangeError);
    assert.throws(() => x.slice(0, x.length + 1), RangeError);
  });

  it('containsAll compares range by range', () => {
    const x = IntRangeExpr.parse('1-20,30-60:3');
    assert.equal(x.containsAll(IntRangeExpr.parse('2-20:6')), true);
    assert.equal(x.containsAll(IntRangeExpr.parse('30-60:6')), true);
    assert.equal(x.containsAll(IntRangeExpr.parse('30-60:2')), false);
    assert.equal(x.containsAll(IntRangeExpr.parse('18-21')), false);
    assert.equal(x.containsAll(IntRangeExpr.parse('20,30')), true);
    assert.equal(x.containsAll(IntRangeExpr.parse('20-30:10')), true);
    assert.equal(x.containsAll(IntRangeExpr.parse('60-63:3')), false);
  });
});

// ---- properties ----

/** A random integer set given as non-overlapping elements, with the text an author might write for it. */
interface Generated {
  readonly text: string;
  readonly expected: number[];
}

const elementSpec = fc.record({
  gap: fc.integer({ min: 1, max: 20 }),
  width: fc.integer({ min: 0, max: 25 }),
  step: fc.integer({ min: 1, max: 7 }),
  form: fc.constantFrom('single', 'ascending', 'descending', 'plain'),
  space: fc.array(fc.constantFrom('', ' ', '\t'), { minLength: 6, maxLength: 6 }),
});

const generatedExpr: fc.Arbitrary<Generated> = fc
  .tuple(fc.integer({ min: -200, max: 200 }), fc.array(elementSpec, { minLength: 1, maxLength: 12 }))
  .chain(([base, specs]) => {
    let next = base;
    const parts: { text: string; values: number[] }[] = [];
    for (const spec of specs) {
      const low = next;
      const high = low + spec.width;
      next = high + spec.gap;
      const [s0, s1, s2, s3, s4, s5] = spec.space as [string, string, string, string, string, string];
      const values: number[] = [];
      let text: string;
      if (spec.form === 'single' || spec.width === 0) {
        values.push(low);
        text = `${s0}${low}${s5}`;
      } else if (spec.form === 'plain') {
        for (let v = low; v <= high; v++) values.push(v);
        text = `${s0}${low}${s1}-${s2}${high}${s5}`;
      } else if (spec.form === 'ascending') {
        for (let v = low; v <= high; v += spec.step) values.push(v);
        text = `${s0}${low}${s1}-${s2}${high}${s3}:${s4}${spec.step}${s5}`;
      } else {
        for (let v = high; v >= low; v -= spec.step) values.push(v);
        text = `${s0}${high}${s1}-${s2}${low}${s3}:${s4}-${spec.step}${s5}`;
      }
      parts.push({ text, values });
    }
    return fc.shuffledSubarray(parts, { minLength: parts.length, maxLength: parts.length }).map((shuffled) => ({
      text: shuffled.map((p) => p.text).join(','),
      expected: shuffled.flatMap((p) => p.values).sort((a, b) => a - b),
    }));
  });

describe('IntRangeExpr properties', () => {
  it('parse gives the naive expansion of random non-overlapping elements', () => {
    fc.assert(
      fc.property(generatedExpr, ({ text, expected }) => {
        assert.deepEqual(values(text), expected);
      }),
      { numRuns: 500 },
    );
  });

  it('fromValues(xs).toString() parses back to the sorted unique xs', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -60, max: 60 }), { minLength: 1, maxLength: 60 }), (xs) => {
        const expected = [...new Set(xs.map((v) => (v === 0 ? 0 : v)))].sort((a, b) => a - b);
        const text = IntRangeExpr.fromValues(xs).toString();
        assert.deepEqual(values(text), expected);
        // Canonical means the text is a function of the set alone.
        assert.equal(IntRangeExpr.parse(text).toString(), text);
      }),
      { numRuns: 500 },
    );
  });

  it('parse(toString(x)) keeps the values, and toString depends only on the values', () => {
    fc.assert(
      fc.property(generatedExpr, ({ text }) => {
        const x = IntRangeExpr.parse(text);
        assert.deepEqual(values(x.toString()), [...x]);
        assert.equal(IntRangeExpr.fromValues([...x]).toString(), x.toString());
      }),
      { numRuns: 300 },
    );
  });

  it('canonical runs are maximal: no printed run could absorb the next value', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 1, maxLength: 40 }), (xs) => {
        const { ranges } = IntRangeExpr.fromValues(xs);
        for (let i = 0; i < ranges.length; i++) {
          const r = ranges[i]!;
          const count = (r.end - r.start) / r.step + 1;
          assert.ok(count === 1 || count >= 3, 'runs of two values are printed as single values');
          const next = ranges[i + 1];
          if (count >= 3 && next !== undefined) assert.notEqual(next.start - r.end, r.step);
          if (next !== undefined) assert.ok(next.start > r.end);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('at, indexOf, has, length and slice agree with the materialised list', () => {
    fc.assert(
      fc.property(generatedExpr, fc.integer({ min: -250, max: 1000 }), ({ text }, probe) => {
        const x = IntRangeExpr.parse(text);
        const list = [...x];
        assert.equal(x.length, list.length);
        list.forEach((v, i) => {
          assert.equal(x.at(i), v);
          assert.equal(x.indexOf(v), i);
        });
        assert.equal(x.indexOf(probe), list.indexOf(probe));
        assert.equal(x.has(probe), list.includes(probe));
        const a = Math.abs(probe) % (list.length + 1);
        const b = a + (Math.abs(probe * 7) % (list.length - a + 1));
        assert.deepEqual([...x.slice(a, b)], list.slice(a, b));
      }),
      { numRuns: 300 },
    );
  });

  it('containsAll agrees with a value-by-value check', () => {
    fc.assert(
      fc.property(generatedExpr, generatedExpr, (a, b) => {
        const x = IntRangeExpr.parse(a.text);
        const y = IntRangeExpr.parse(b.text);
        assert.equal(
          x.containsAll(y),
          [...y].every((v) => x.has(v)),
        );
        assert.equal(x.containsAll(x.slice(1, Math.max(1, x.length - 1))), true);
      }),
      { numRuns: 300 },
    );
  });
});
