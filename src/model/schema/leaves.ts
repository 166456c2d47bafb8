/**
 * @module Leaf value types of the OpenJD schemas: identifiers, names, descriptions, numbers in their several
 * accepted forms (`<integer> | <intstring>`, FEATURE_BUNDLE_1 format strings), capability names.
 */
import { FloatLiteral } from '../document.js';
import type { ExtensionName } from '../types.js';
import {
  type Checked,
  type Checker,
  codePointLength,
  custom,
  describeValue,
  INVALID,
  type Limits,
  type Path,
  quote,
  type Schema,
} from './core.js';

/** Unicode category Cc: C0 and C1 controls. */
export const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/;
const CONTROL_CHARS_EXCEPT_WHITESPACE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;
export const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const INT_STRING = /^[-+]?[0-9]+$/;
const FLOAT_STRING = /^[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$/;
export const INT64_MIN = -(2n ** 63n);
export const INT64_MAX = 2n ** 63n - 1n;

type Max = number | ((limits: Limits) => number);
const maxOf = (max: Max | undefined, checker: Checker) => (typeof max === 'function' ? max(checker.limits) : max);
const jsonMax = (max: Max | undefined) =>
  typeof max === 'function'
    ? max({ identifier: 512, jobName: 512, stepName: 512, environmentName: 512, jobParameters: 200, filename: 256 })
    : max;

/** True when the text holds a `{{` interpolation. */
export const hasInterpolation = (text: string): boolean => text.includes('{{');

/** Total length of the text outside `{{ … }}` interpolations: a lower bound of its resolved length. */
export function literalLength(text: string): number {
  if (!hasInterpolation(text)) return codePointLength(text);
  return codePointLength(text.replace(/\{\{[\s\S]*?\}\}/g, ''));
}

export interface TextOptions {
  readonly min?: number;
  readonly max?: Max;
  /** `cc`: no Cc characters; `description`: no Cc except tab, newline, carriage return; `any`: anything. */
  readonly chars?: 'cc' | 'description' | 'any';
  /** The value is a format string: length limits apply to the resolved value, so only its literal part is checked. */
  readonly formatString?: boolean;
  readonly pattern?: RegExp;
  readonly patternMessage?: string;
  readonly description?: string;
}

/** A string with OpenJD's length (in code points) and character rules. */
export function text(options: TextOptions = {}): Schema<string> {
  const { min = 0, chars = 'any' } = options;
  return custom(
    (value, path, checker) => {
      if (typeof value !== 'string') return checker.report(path, `expected a string, got ${describeValue(value)}`);
      const max = maxOf(options.max, checker);
      let ok = true;
      // Code points never outnumber UTF-16 units, so the exact count is needed only near the limits.
      if (value.length === 0 && min > 0) ok = report(checker, path, 'must not be empty');
      else if (!options.formatString && value.length < 2 * min && codePointLength(value) < min) {
        ok = report(checker, path, `must be at least ${min} characters`);
      }
      const length =
        max === undefined || value.length <= max
          ? 0
          : options.formatString
            ? literalLength(value)
            : codePointLength(value);
      if (max !== undefined && length > max) {
        ok = report(
          checker,
          path,
          `must be at most ${max} characters${options.formatString ? ' once resolved' : ''}, is ${length}`,
        );
      }
      if (chars === 'cc' && CONTROL_CHARS.test(value)) {
        ok = report(
          checker,
          path,
          `must not contain control characters (found ${describeControl(value, CONTROL_CHARS)})`,
        );
      } else if (chars === 'description' && CONTROL_CHARS_EXCEPT_WHITESPACE.test(value)) {
        ok = report(
          checker,
          path,
          `must not contain control characters other than tab and newline (found ${describeControl(value, CONTROL_CHARS_EXCEPT_WHITESPACE)})`,
        );
      }
      if (options.pattern && !options.pattern.test(value)) {
        ok = report(checker, path, options.patternMessage ?? `must match ${options.pattern.source}`);
      }
      return ok ? value : INVALID;
    },
    {
      type: 'string',
      ...(min > 0 ? { minLength: min } : {}),
      ...(jsonMax(options.max) !== undefined && !options.formatString ? { maxLength: jsonMax(options.max) } : {}),
      ...(options.pattern ? { pattern: options.pattern.source } : {}),
      ...(options.description ? { description: options.description } : {}),
    },
  );
}

function report(checker: Checker, path: Path, message: string): false {
  checker.report(path, message);
  return false;
}

function describeControl(value: string, pattern: RegExp): string {
  const match = pattern.exec(value);
  const code = match ? match[0].charCodeAt(0) : 0;
  return `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** `<Identifier>`: latin letters, digits and `_`, not starting with a digit. */
export function identifier(): Schema<string> {
  return text({
    min: 1,
    max: (l) => l.identifier,
    pattern: IDENTIFIER,
    patternMessage: 'must be an identifier: latin letters, digits and _, not starting with a digit',
  });
}

/** `<Description>`. */
export const description = (): Schema<string> => text({ min: 1, max: 2048, chars: 'description' });

/** `<UserInterfaceLabelStringValue>`. */
export const uiLabel = (): Schema<string> => text({ min: 1, max: 64, chars: 'cc' });

/** `<JobParameterStringValue>`. */
export const parameterStringValue = (): Schema<string> => text({ max: 1024 });

// ---------------------------------------------------------------------------------------------------------------
// Numbers

/** An integer written as a number (or an integer beyond 2^53, which the parser keeps as a bigint). */
function asInteger(value: unknown): bigint | undefined {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value);
  return undefined;
}

/** Parses an `<intstring>` exactly, or returns undefined. */
export function parseIntString(value: string): bigint | undefined {
  const trimmed = value.trim();
  return INT_STRING.test(trimmed) ? BigInt(trimmed) : undefined;
}

/** Parses a `<floatstring>` to a finite number, or returns undefined. */
export function parseFloatString(value: string): number | undefined {
  const trimmed = value.trim();
  if (!FLOAT_STRING.test(trimmed)) return undefined;
  const n = Number(trimmed);
  return Number.isFinite(n) ? n : undefined;
}

/** A number as a FLOAT: plain numbers, whole-valued float literals (`1.0`), exact big integers. */
export function asFloat(value: unknown): number | undefined {
  if (value instanceof FloatLiteral) return value.value;
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  return undefined;
}

/** Normalises an exact integer into the model's IntValue: a number when safe, else its decimal text. */
export function toIntValue(value: bigint): number | string {
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : value.toString();
}

export interface IntOptions {
  readonly min?: bigint;
  readonly max?: bigint;
  /** Also accept `<intstring>`. */
  readonly intString?: boolean;
  /** With this extension, also accept a format string (resolved at job creation) and an intstring. */
  readonly formatStringWith?: ExtensionName;
  readonly what?: string;
}

/**
 * An integer field. Returns a number when safe, otherwise its decimal text; strings that are format strings are
 * returned as written.
 */
export function integer(options: IntOptions = {}): Schema<number | string> {
  const { min = INT64_MIN, max = INT64_MAX, what = 'an integer' } = options;
  const bounds = (n: bigint, path: Path, checker: Checker): Checked<number | string> => {
    if (n < min) return checker.report(path, `must be at least ${min}, is ${n}`);
    if (n > max) return checker.report(path, `must be at most ${max}, is ${n}`);
    return toIntValue(n);
  };
  return custom(
    (value, path, checker) => {
      const exact = asInteger(value);
      if (exact !== undefined) return bounds(exact, path, checker);
      if (typeof value === 'string') {
        const fmtAllowed = options.formatStringWith !== undefined && checker.has(options.formatStringWith);
        if (options.intString || fmtAllowed) {
          if (fmtAllowed && hasInterpolation(value)) return value;
          const parsed = parseIntString(value);
          if (parsed !== undefined) {
            const checked = bounds(parsed, path, checker);
            return checked === INVALID ? INVALID : value;
          }
          return checker.report(path, `expected ${what}, got ${describeValue(value)}`);
        }
        if (options.formatStringWith) {
          return checker.report(
            path,
            `expected ${what}, got ${describeValue(value)}; strings and format strings here need the ${options.formatStringWith} extension`,
          );
        }
      }
      return checker.report(path, `expected ${what}, got ${describeValue(value)}`);
    },
    options.intString || options.formatStringWith
      ? { oneOf: [{ type: 'integer' }, { type: 'string' }] }
      : { type: 'integer', ...(options.min !== undefined ? { minimum: Number(options.min) } : {}) },
  );
}

export interface FloatOptions {
  /** Smallest allowed value, inclusive unless `exclusiveMin`. */
  readonly min?: number;
  readonly exclusiveMin?: boolean;
  readonly floatString?: boolean;
  readonly formatStringWith?: ExtensionName;
  readonly what?: string;
}

/**
 * A FLOAT field: a finite number, or (`floatString`) its base-10 text. Returns numbers as numbers, whole-valued
 * float literals and strings as their text, so `1.0` keeps reading `1.0`.
 */
export function float(options: FloatOptions = {}): Schema<number | string> {
  const what = options.what ?? 'a number';
  const bounds = (n: number, path: Path, checker: Checker): boolean => {
    if (!Number.isFinite(n)) return report(checker, path, `must be a finite number, got ${n}`);
    if (options.min !== undefined) {
      if (options.exclusiveMin ? n <= options.min : n < options.min) {
        return report(
          checker,
          path,
          `must be ${options.exclusiveMin ? 'greater than' : 'at least'} ${options.min}, is ${n}`,
        );
      }
    }
    return true;
  };
  return custom(
    (value, path, checker) => {
      if (value instanceof FloatLiteral) return bounds(value.value, path, checker) ? formatFloat(value.value) : INVALID;
      if (typeof value === 'number' || typeof value === 'bigint') {
        const n = Number(value);
        return bounds(n, path, checker) ? (typeof value === 'bigint' ? value.toString() : n) : INVALID;
      }
      if (typeof value === 'string') {
        const fmtAllowed = options.formatStringWith !== undefined && checker.has(options.formatStringWith);
        if (options.floatString || fmtAllowed) {
          if (fmtAllowed && hasInterpolation(value)) return value;
          const parsed = parseFloatString(value);
          if (parsed === undefined) return checker.report(path, `expected ${what}, got ${describeValue(value)}`);
          return bounds(parsed, path, checker) ? value : INVALID;
        }
        if (options.formatStringWith) {
          return checker.report(
            path,
            `expected ${what}, got ${describeValue(value)}; strings and format strings here need the ${options.formatStringWith} extension`,
          );
        }
      }
      return checker.report(path, `expected ${what}, got ${describeValue(value)}`);
    },
    options.floatString || options.formatStringWith
      ? { oneOf: [{ type: 'number' }, { type: 'string' }] }
      : { type: 'number' },
  );
}

/**
 * Renders a float the way OpenJD's reference tools print one: the shortest text that reads back to the same value,
 * with `.0` on whole numbers and exponents outside 1e-4 … 1e16 (`1.0`, `0.5`, `1e+16`, `1e-05`).
 */
export function formatFloat(value: number): string {
  if (Number.isNaN(value)) return 'nan';
  if (!Number.isFinite(value)) return value > 0 ? 'inf' : '-inf';
  if (value === 0) return Object.is(value, -0) ? '-0.0' : '0.0';
  const [mantissa, exponentText] = value.toExponential().split('e') as [string, string];
  const exponent = Number(exponentText);
  if (exponent < -4 || exponent >= 16) {
    const sign = exponent < 0 ? '-' : '+';
    return `${mantissa}e${sign}${String(Math.abs(exponent)).padStart(2, '0')}`;
  }
  const text = String(value);
  return Number.isInteger(value) ? `${text}.0` : text;
}

/** Renders an INT or FLOAT value as OpenJD text: integers in decimal, floats per {@link formatFloat}. */
export function formatNumber(value: number | bigint | FloatLiteral): string {
  if (value instanceof FloatLiteral) return formatFloat(value.value);
  if (typeof value === 'bigint' || Number.isInteger(value)) return String(value);
  return formatFloat(value);
}

// ---------------------------------------------------------------------------------------------------------------
// Capabilities (host requirements)

const CAPABILITY = (kind: 'amount' | 'attr') =>
  new RegExp(`^(?:[A-Za-z_][A-Za-z0-9_]*:)?${kind}\\.[A-Za-z_][A-Za-z0-9_]*(?:\\.[A-Za-z_][A-Za-z0-9_]*)*$`, 'i');
const AMOUNT_NAME = CAPABILITY('amount');
const ATTRIBUTE_NAME = CAPABILITY('attr');
const RESERVED_SCOPES = new Set(['worker', 'job', 'step', 'task']);

/** Standard capabilities of the spec, with their minimum (amounts) or allowed values (attributes). */
export const STANDARD_AMOUNTS: ReadonlyMap<string, number> = new Map([
  ['amount.worker.vcpu', 1],
  ['amount.worker.memory', 0],
  ['amount.worker.gpu', 0],
  ['amount.worker.gpu.memory', 0],
  ['amount.worker.disk.scratch', 0],
]);
export const STANDARD_ATTRIBUTES: ReadonlyMap<string, readonly string[]> = new Map([
  ['attr.worker.os.family', ['linux', 'windows', 'macos']],
  ['attr.worker.cpu.arch', ['x86_64', 'arm64']],
]);

/**
 * Checks a resolved capability name; returns a message for what is wrong, or undefined.
 * Names are case-insensitive; a custom name must not use a reserved scope (`amount.worker.foo`).
 */
export function capabilityNameProblem(kind: 'amount' | 'attr', name: string): string | undefined {
  if (name.length === 0) return 'must not be empty';
  if (codePointLength(name) > 100) return `must be at most 100 characters, is ${codePointLength(name)}`;
  const pattern = kind === 'amount' ? AMOUNT_NAME : ATTRIBUTE_NAME;
  if (!pattern.test(name)) {
    return `${quote(name)} is not a capability name of the form [vendor:]${kind}.name[.name...]`;
  }
  const lower = name.toLowerCase();
  const standard = kind === 'amount' ? STANDARD_AMOUNTS : STANDARD_ATTRIBUTES;
  if (standard.has(lower)) return undefined;
  const scope = lower.slice(lower.indexOf(`${kind}.`) + kind.length + 1).split('.')[0]!;
  if (RESERVED_SCOPES.has(scope)) {
    return `${quote(name)} uses the reserved scope '${scope}'; custom capabilities may not start with worker, job, step or task${
      scope === 'worker' ? ` (standard ones are ${[...standard.keys()].join(', ')})` : ''
    }`;
  }
  return undefined;
}

const ATTRIBUTE_VALUE = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** Checks a resolved attribute value; returns a message for what is wrong, or undefined. */
export function attributeValueProblem(attribute: string, value: string): string | undefined {
  if (value.length === 0) return 'must not be empty';
  if (codePointLength(value) > 100) return `must be at most 100 characters, is ${codePointLength(value)}`;
  if (!ATTRIBUTE_VALUE.test(value)) {
    return `${quote(value)} is not an attribute value: latin letters, digits, _ and -, starting with a letter or _`;
  }
  const allowed = STANDARD_ATTRIBUTES.get(attribute.toLowerCase());
  if (allowed && !allowed.includes(value.toLowerCase())) {
    return `${quote(value)} is not a value of ${attribute}; use one of ${allowed.join(', ')}`;
  }
  return undefined;
}
