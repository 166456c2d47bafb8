import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ExpressionError, ModelErrorCode } from '../../src/model/errors.js';
import { parseFormatString, resolveFormatString } from '../../src/model/format-string.js';

const lookup = (values: Record<string, string>) => (name: string) => values[name];

describe('parseFormatString', () => {
  it('splits literals and references, trimming whitespace inside braces', () => {
    const parsed = parseFormatString('a {{ Param.X }}b{{Task.Param.Frame}}');
    assert.deepEqual(parsed.literals, ['a ', 'b', '']);
    assert.deepEqual(
      parsed.references.map((r) => [r.name, r.start, r.end]),
      [
        ['Param.X', 2, 15],
        ['Task.Param.Frame', 16, 36],
      ],
    );
  });

  it('keeps single braces and a stray }} as literal text', () => {
    assert.deepEqual(parseFormatString('{"a": {"b": 1}}').references, []);
    assert.deepEqual(parseFormatString('${x} }} {').literals, ['${x} }} {']);
  });

  for (const [text, reason] of [
    ['{{ Param.X', 'never closed'],
    ['x {{ }}', 'holds no value reference'],
    ['{{ Param.X + 1 }}', 'expression'],
    ['{{ Param.X() }}', 'expression'],
    ['{{ 1Param }}', 'expression'],
    ['{{ Param..X }}', 'expression'],
    ['{{ {{ Param.X }} }}', 'cannot nest'],
  ] as const) {
    it(`rejects ${JSON.stringify(text)} (${reason})`, () => {
      assert.throws(
        () => parseFormatString(text),
        (error: unknown) =>
          error instanceof ExpressionError &&
          error.code === ModelErrorCode.FormatStringInvalid &&
          error.message.includes(reason) &&
          error.offset !== undefined,
      );
    });
  }
});

describe('resolveFormatString', () => {
  it('substitutes every reference, adjacent ones too', () => {
    const values = lookup({ 'Param.A': 'x', 'Param.B': 'y' });
    assert.equal(resolveFormatString({ format: '{{Param.A}}{{Param.B}}-{{ Param.A }}', lookup: values }), 'xy-x');
  });

  it('inserts values verbatim, even ones that look like format strings', () => {
    const values = lookup({ 'Param.A': '{{Param.B}}', 'Param.B': 'no' });
    assert.equal(resolveFormatString({ format: 'v={{Param.A}}', lookup: values }), 'v={{Param.B}}');
  });

  it('accepts empty values', () => {
    assert.equal(resolveFormatString({ format: '[{{Param.A}}]', lookup: lookup({ 'Param.A': '' }) }), '[]');
  });

  it('names a reference that has no value', () => {
    assert.throws(
      () => resolveFormatString({ format: 'a {{Param.Missing}}', lookup: lookup({}) }),
      /'Param.Missing' has no value here at column 3/,
    );
  });

  it('resolves any literal text with references to exactly the concatenation (property)', () => {
    const literal = fc.string().filter((s) => !s.includes('{{') && !s.endsWith('{') && !s.startsWith('}'));
    const name = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,8}(\.[A-Za-z_][A-Za-z0-9_]{0,8}){0,2}$/);
    fc.assert(
      fc.property(fc.array(fc.tuple(literal, name, fc.string())), literal, (parts, tail) => {
        const values: Record<string, string> = {};
        let text = '';
        let expected = '';
        for (const [lit, ref, value] of parts) {
          values[ref] ??= value;
          text += `${lit}{{ ${ref} }}`;
          expected += lit + values[ref];
        }
        text += tail;
        expected += tail;
        assert.equal(resolveFormatString({ format: text, lookup: lookup(values) }), expected);
      }),
    );
  });
});
