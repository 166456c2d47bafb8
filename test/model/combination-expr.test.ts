/** @module Tests of combination expressions: syntax trees, syntax errors, checks against task parameters. */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  type CombinationNode,
  checkCombinationExpr,
  combinationLength,
  MAX_COMBINATION_EXPR_LENGTH,
  parseCombinationExpr,
} from '../../src/model/combination-expr.js';
import { ExpressionError, ModelErrorCode } from '../../src/model/errors.js';

/** The tree as a compact string: names, `*` products in `[ ]`, zips in `( )`. */
function shape(node: CombinationNode): string {
  if (node.kind === 'name') return node.name;
  if (node.kind === 'product') return `[${node.factors.map(shape).join(' * ')}]`;
  return `(${node.members.map(shape).join(', ')})`;
}

function assertCombinationError(run: () => unknown, text: string, offset: number | undefined, reason: RegExp): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof ExpressionError, `expected an ExpressionError for ${JSON.stringify(text)}`);
    assert.equal(error.code, ModelErrorCode.CombinationExprInvalid);
    assert.equal(error.expression, text);
    assert.equal(error.offset, offset, `offset for ${JSON.stringify(text)}: ${error.message}`);
    assert.match(error.reason, reason);
    return true;
  });
}

function assertSyntaxError(text: string, offset: number | undefined, reason: RegExp): void {
  assertCombinationError(() => parseCombinationExpr(text), text, offset, reason);
}

// The spec's example parameters: A=[1,2,3] B=[10,11,12] C=[20,21] D=[a,b,c].
const SPEC_LENGTHS = new Map([
  ['A', 3],
  ['B', 3],
  ['C', 2],
  ['D', 3],
]);

function check(text: string, lengths: ReadonlyMap<string, number>, chunked?: string): number {
  const node = parseCombinationExpr(text);
  checkCombinationExpr(node, { text, lengths, chunked });
  return combinationLength(node, text, lengths);
}

function assertCheckError(
  text: string,
  lengths: ReadonlyMap<string, number>,
  offset: number | undefined,
  reason: RegExp,
  chunked?: string,
): void {
  const node = parseCombinationExpr(text);
  assertCombinationError(() => checkCombinationExpr(node, { text, lengths, chunked }), text, offset, reason);
}

function only(...names: string[]): Map<string, number> {
  return new Map(names.map((name) => [name, SPEC_LENGTHS.get(name)!]));
}

describe('parseCombinationExpr: trees', () => {
  const table: [string, string][] = [
    ['A', 'A'],
    ['A * B', '[A * B]'],
    ['A*B*C', '[A * B * C]'],
    ['(A, B)', '(A, B)'],
    ['(A,B) * C', '[(A, B) * C]'],
    ['A * (B, C)', '[A * (B, C)]'],
    ['(A, B, D)', '(A, B, D)'],
    ['(A)', 'A'],
    ['((A))', 'A'],
    ['((A, B))', '(A, B)'],
    ['(A * B) * C', '[A * B * C]'],
    ['A * (B * C)', '[A * B * C]'],
    ['(A, B * C)', '(A, [B * C])'],
    ['(A, (B, C))', '(A, (B, C))'],
    ['(A * (B, C), D * E)', '([A * (B, C)], [D * E])'],
    ['  Frame_1 *  _x9  ', '[Frame_1 * _x9]'],
  ];
  for (const [text, expected] of table) {
    it(`${JSON.stringify(text)} → ${expected}`, () => assert.equal(shape(parseCombinationExpr(text)), expected));
  }

  it('records offsets and spans', () => {
    const text = 'A * (B, C * D)';
    const node = parseCombinationExpr(text);
    assert.equal(node.kind, 'product');
    if (node.kind !== 'product') return;
    assert.deepEqual([node.offset, node.end], [0, text.length]);
    const zip = node.factors[1]!;
    assert.equal(zip.kind, 'zip');
    if (zip.kind !== 'zip') return;
    assert.equal(text.slice(zip.offset, zip.end), '(B, C * D)');
    const inner = zip.members[1]!;
    assert.equal(inner.kind, 'product');
    if (inner.kind !== 'product') return;
    assert.equal(text.slice(inner.offset, inner.end), 'C * D');
    assert.deepEqual(inner.factors[1], { kind: 'name', name: 'D', offset: 12 });
  });

  it('accepts the maximum length and rejects one character more', () => {
    const names = Array.from({ length: 400 }, (_, i) => `P${i}`);
    let text = names.join('*');
    text = text.slice(0, MAX_COMBINATION_EXPR_LENGTH);
    text = text.replace(/\*$/, ' ');
    assert.ok(text.length === MAX_COMBINATION_EXPR_LENGTH);
    assert.doesNotThrow(() => parseCombinationExpr(text));
    assertSyntaxError(`${text} `, MAX_COMBINATION_EXPR_LENGTH, /too long/);
  });
});

describe('parseCombinationExpr: syntax errors', () => {
  const cases: [string, number | undefined, RegExp][] = [
    ['', 0, /empty/],
    ['   ', 0, /empty/],
    ['A * * B', 4, /two '\*' operators in a row/],
    ['* A', 0, /cannot start with '\*'/],
    ['A *', 2, /cannot end with '\*'/],
    ['A * ', 2, /cannot end with '\*'/],
    ['A B', 2, /missing '\*' between 'A' and 'B'/],
    ['(A, B) C', 7, /missing '\*' between '\)' and 'C'/],
    ['A (B, C)', 2, /missing '\*' between 'A' and '\('/],
    ['(A B)', 3, /missing '\*'/],
    ['(A, B', 0, /'\(' is never closed/],
    ['((A, B)', 0, /'\(' is never closed/],
    ['(', 0, /'\(' is never closed/],
    ['A)', 1, /unbalanced '\)'/],
    ['(A, B))', 6, /unbalanced '\)'/],
    [')', 0, /unbalanced '\)'/],
    ['()', 0, /empty parentheses/],
    ['A * ()', 4, /empty parentheses/],
    ['(A, )', 4, /expected a parameter name after ','/],
    ['(, A)', 1, /expected a parameter name after '\('/],
    ['(A,, B)', 3, /expected a parameter name after ','/],
    ['(* A)', 1, /expected a parameter name before '\*'/],
    ['A, B', 1, /',' is only allowed inside parentheses/],
    [', A', 0, /cannot start with ','/],
    ['Frame @ Layer', 6, /character '@' is not allowed/],
    ['A\tB', 1, /character '\\t' is not allowed/],
    ['A * B-C', 5, /character '-' is not allowed/],
    ['A * Bé', 5, /character 'é' is not allowed/],
    ['1Frame', 0, /'1Frame' is not a parameter name/],
  ];
  for (const [text, offset, reason] of cases) {
    it(`rejects ${JSON.stringify(text)} at offset ${offset}`, () => assertSyntaxError(text, offset, reason));
  }
});

describe('checkCombinationExpr: the spec table', () => {
  it('A * B has 9 tasks', () => assert.equal(check('A * B', only('A', 'B')), 9));
  it('(A,B) has 3 tasks', () => assert.equal(check('(A,B)', only('A', 'B')), 3));
  it('(A,B) * C has 6 tasks', () => assert.equal(check('(A,B) * C', only('A', 'B', 'C')), 6));
  it('(A,B,D) has 3 tasks', () => assert.equal(check('(A,B,D)', only('A', 'B', 'D')), 3));
  it('(A,C) is a length mismatch', () => {
    assertCheckError(
      '(A, C)',
      only('A', 'C'),
      0,
      /^'\(A, C\)' combines parameters with different numbers of values: A has 3, C has 2$/,
    );
  });
  it('(A,B,A) repeats a parameter', () => {
    assertCheckError('(A,B,A)', only('A', 'B'), 5, /^task parameter 'A' appears more than once$/);
  });
});

describe('checkCombinationExpr: other rules', () => {
  it('rejects unknown names, at their offset', () => {
    assertCheckError('A * Layer', only('A'), 4, /^unknown task parameter 'Layer'$/);
    assertCheckError('Frame * Layer', new Map([['Frame', 3]]), 8, /unknown task parameter 'Layer'/);
  });

  it('requires every parameter to appear', () => {
    assertCheckError('A * B', only('A', 'B', 'C'), undefined, /^task parameter 'C' is missing/);
    assertCheckError('A', only('A', 'B', 'C'), undefined, /^task parameters 'B', 'C' are missing/);
  });

  it('checks nested zips against their sub-expressions', () => {
    // Conformance base/jobs/3.4--validation-invalid-associative-nested-association-mismatch.
    const abc = new Map([
      ['A', 3],
      ['B', 2],
      ['C', 2],
    ]);
    assertCheckError(
      '(A, (B, C))',
      abc,
      0,
      /^'\(A, \(B, C\)\)' combines parameters with different numbers of values: A has 3, \(B, C\) has 2$/,
    );
    // Conformance base/jobs/3.4--validation-invalid-associative-nested-product-mismatch.
    const five = new Map([
      ['A', 5],
      ['B', 5],
      ['C', 5],
    ]);
    assertCheckError('(A, B * C)', five, 0, /A has 5, B \* C has 25$/);
    assert.equal(
      check(
        '(A, B * C)',
        new Map([
          ['A', 6],
          ['B', 2],
          ['C', 3],
        ]),
      ),
      6,
    );
    assert.equal(
      check(
        '((A, B), C) * D',
        new Map([
          ['A', 2],
          ['B', 2],
          ['C', 2],
          ['D', 5],
        ]),
      ),
      10,
    );
    assertCheckError(
      'D * ((A, B), C)',
      new Map([
        ['A', 2],
        ['B', 2],
        ['C', 3],
        ['D', 5],
      ]),
      4,
      /^'\(\(A, B\), C\)' combines .*: \(A, B\) has 2, C has 3$/,
    );
  });

  it('keeps the chunked parameter out of zips', () => {
    assert.equal(check('A * B', only('A', 'B'), 'A'), 9);
    assert.equal(check('(B, D) * A', only('A', 'B', 'D'), 'A'), 9);
    assertCheckError('(A, B)', only('A', 'B'), 1, /^CHUNK\[INT\] parameter 'A' cannot be inside/, 'A');
    assertCheckError('C * (D, A * B)', only('A', 'B', 'C', 'D'), 8, /'A' cannot be inside/, 'A');
  });

  it('rejects a space of more than 2^53 - 1 tasks', () => {
    const big = new Map([
      ['A', 2 ** 30],
      ['B', 2 ** 30],
    ]);
    assertCheckError('A * B', big, 0, /too many tasks/);
  });
});

describe('combination properties', () => {
  /** A random expression over distinct names P0…Pn, as text and as the expected shape. */
  const names = (n: number): string[] => Array.from({ length: n }, (_, i) => `P${i}`);
  const exprArb: fc.Arbitrary<{ text: string; expected: string; used: string[] }> = fc
    .integer({ min: 1, max: 8 })
    .chain((n) =>
      fc.tuple(
        fc.shuffledSubarray(names(n), { minLength: n, maxLength: n }),
        fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: 20, maxLength: 20 }),
      ),
    )
    .map(([order, choices]) => {
      let c = 0;
      const pick = (k: number): number => choices[c++ % choices.length]! % k;
      const space = (): string => [' ', '', '  '][pick(3)]!;
      // Builds an expression over the names in `items`, returning text and canonical shape.
      const build = (items: string[]): { text: string; expected: string } => {
        if (items.length === 1) return { text: items[0]!, expected: items[0]! };
        const split = 1 + pick(items.length - 1);
        const left = build(items.slice(0, split));
        const right = build(items.slice(split));
        if (pick(2) === 0) {
          const flat = (s: string): string => (s.startsWith('[') ? s.slice(1, -1) : s);
          return {
            text: `(${left.text})${space()}*${space()}(${right.text})`,
            expected: `[${flat(left.expected)} * ${flat(right.expected)}]`,
          };
        }
        return { text: `(${left.text},${space()}${right.text})`, expected: `(${left.expected}, ${right.expected})` };
      };
      return { ...build(order), used: order };
    });

  it('parses random nested expressions to the expected tree', () => {
    fc.assert(
      fc.property(exprArb, ({ text, expected }) => {
        assert.equal(shape(parseCombinationExpr(text)), expected);
      }),
      { numRuns: 300 },
    );
  });

  it('every name in the tree is the identifier found at its offset', () => {
    fc.assert(
      fc.property(exprArb, ({ text, used }) => {
        const found: string[] = [];
        const walk = (node: CombinationNode): void => {
          if (node.kind === 'name') {
            assert.equal(text.slice(node.offset, node.offset + node.name.length), node.name);
            found.push(node.name);
          } else (node.kind === 'product' ? node.factors : node.members).forEach(walk);
        };
        walk(parseCombinationExpr(text));
        assert.deepEqual(found, used);
      }),
      { numRuns: 200 },
    );
  });
});
