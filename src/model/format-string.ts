/**
 * @module Format strings: text with `{{ Name.Dotted.Reference }}` interpolations (OpenJD 2023-09 §7.3).
 *
 * Without the EXPR extension an interpolation holds exactly one dotted value reference. Each `{{` opens an
 * interpolation that ends at the first following `}}`; an unclosed `{{` is an error. A `}}` outside any
 * interpolation is kept as literal text, so embedded files holding JSON (`{"a": {"b": 1}}`) need no escaping.
 */
import { ExpressionError, ModelErrorCode } from './errors.js';

/** One interpolation inside a format string. */
export interface FormatReference {
  /** The dotted name, without surrounding whitespace (`Param.Frame`). */
  readonly name: string;
  /** 0-based offset of the opening `{{`. */
  readonly start: number;
  /** 0-based offset just past the closing `}}`. */
  readonly end: number;
}

/** A parsed format string: literal pieces and references, alternating (`literals.length === references.length + 1`). */
export interface FormatString {
  readonly text: string;
  readonly literals: readonly string[];
  readonly references: readonly FormatReference[];
}

const DOTTED_NAME = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*$/;

/** True when `text` has no interpolation at all (a fast check before parsing). */
export function isPlainText(text: string): boolean {
  return !text.includes('{{');
}

/**
 * Parses a format string.
 * @throws {ExpressionError} `CORRAL_E_FORMAT_STRING` for an unclosed `{{`, an empty interpolation, or an
 *   interpolation that is not a dotted name (an expression, which needs the unsupported EXPR extension).
 */
export function parseFormatString(text: string): FormatString {
  const literals: string[] = [];
  const references: FormatReference[] = [];
  let cursor = 0;
  for (let open = text.indexOf('{{'); open !== -1; open = text.indexOf('{{', cursor)) {
    const close = text.indexOf('}}', open + 2);
    if (close === -1) {
      throw new ExpressionError(ModelErrorCode.FormatStringInvalid, "'{{' is never closed by '}}'", text, open);
    }
    const inner = text.slice(open + 2, close);
    const name = inner.trim();
    if (name === '') {
      throw new ExpressionError(ModelErrorCode.FormatStringInvalid, "'{{ }}' holds no value reference", text, open);
    }
    if (!DOTTED_NAME.test(name)) {
      const reason = inner.includes('{{')
        ? "'{{' inside an interpolation: interpolations cannot nest"
        : `'{{${inner}}}' is an expression, not a value reference like 'Param.Name'; expressions need the EXPR extension, which Corral does not support yet`;
      throw new ExpressionError(ModelErrorCode.FormatStringInvalid, reason, text, open);
    }
    literals.push(text.slice(cursor, open));
    references.push({ name, start: open, end: close + 2 });
    cursor = close + 2;
  }
  literals.push(text.slice(cursor));
  return { text, literals, references };
}

/**
 * Substitutes every reference of a format string.
 * @param options.format The format string, parsed or as text.
 * @param options.lookup Returns a reference's value, or `undefined` when it has none.
 * @throws {ExpressionError} `CORRAL_E_FORMAT_STRING` when the text does not parse or a reference has no value.
 */
export function resolveFormatString(options: {
  format: FormatString | string;
  lookup: (name: string) => string | undefined;
}): string {
  const { lookup } = options;
  if (typeof options.format === 'string' && isPlainText(options.format)) return options.format;
  const parsed = typeof options.format === 'string' ? parseFormatString(options.format) : options.format;
  let out = parsed.literals[0] ?? '';
  for (let i = 0; i < parsed.references.length; i++) {
    const ref = parsed.references[i]!;
    const value = lookup(ref.name);
    if (value === undefined) {
      throw new ExpressionError(
        ModelErrorCode.FormatStringInvalid,
        `'${ref.name}' has no value here`,
        parsed.text,
        ref.start,
      );
    }
    out += value + parsed.literals[i + 1];
  }
  return out;
}
