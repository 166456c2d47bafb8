/**
 * @module A small validation toolkit for OpenJD documents.
 *
 * Why not zod: importing zod costs ~75 ms, more than half of `corral check`'s budget on a large template, and the
 * OpenJD rules (limits that depend on extensions, fields that exist only with an extension, messages that name
 * the extension) are clearer as plain code. Each schema validates a value, reports every problem it finds into a
 * shared {@link Checker} (never stopping at the first), returns what was valid, and describes itself as JSON Schema
 * for `corral schema`.
 */
import type { DocumentPath } from '../errors.js';
import { closest } from '../suggest.js';
import { type ExtensionName, RECOGNISED_UNSUPPORTED_EXTENSIONS } from '../types.js';

export { closest };

type UnsupportedExtensionName = (typeof RECOGNISED_UNSUPPORTED_EXTENSIONS)[number];

/** Marks a value that failed validation. Objects still return their valid fields, so later checks can run. */
export const INVALID: unique symbol = Symbol('invalid');
export type Checked<T> = T | typeof INVALID;

/**
 * Where a value is, as a chain of keys from the document's root (`undefined` is the root). Linked rather than
 * copied, so walking a large template allocates one small node per level; it becomes an array only when reported.
 */
export type Path = { readonly up: Path; readonly key: string | number } | undefined;

/** The path of `keys` below `path`. */
export function sub(path: Path, ...keys: (string | number)[]): Path {
  let out = path;
  for (const key of keys) out = { up: out, key };
  return out;
}

/** A path as the array of its keys. */
export function pathArray(path: Path): (string | number)[] {
  const keys: (string | number)[] = [];
  for (let node = path; node !== undefined; node = node.up) keys.push(node.key);
  return keys.reverse();
}

/** A problem found while checking, before positions are attached. */
export interface RawIssue {
  readonly path: DocumentPath;
  readonly message: string;
  /** Point at the key of the last path element rather than its value. */
  readonly atKey?: boolean;
}

/** Limits that differ between the base schema and FEATURE_BUNDLE_1. */
export interface Limits {
  readonly identifier: number;
  readonly jobName: number;
  readonly stepName: number;
  readonly environmentName: number;
  readonly jobParameters: number;
  readonly filename: number;
}

export const BASE_LIMITS: Limits = {
  identifier: 64,
  jobName: 128,
  stepName: 64,
  environmentName: 64,
  jobParameters: 50,
  filename: 64,
};
export const FEATURE_BUNDLE_1_LIMITS: Limits = {
  identifier: 512,
  jobName: 512,
  stepName: 512,
  environmentName: 512,
  jobParameters: 200,
  filename: 256,
};

/** State shared by one validation run: the extensions in force and the issues found. */
export class Checker {
  readonly issues: RawIssue[] = [];
  readonly extensions: ReadonlySet<ExtensionName>;
  readonly limits: Limits;

  constructor(extensions: ReadonlySet<ExtensionName>) {
    this.extensions = extensions;
    this.limits = extensions.has('FEATURE_BUNDLE_1') ? FEATURE_BUNDLE_1_LIMITS : BASE_LIMITS;
  }

  has(extension: ExtensionName): boolean {
    return this.extensions.has(extension);
  }

  report(at: Path, message: string, atKey = false): typeof INVALID {
    const path = pathArray(at);
    this.issues.push(atKey ? { path, message, atKey } : { path, message });
    return INVALID;
  }
}

/** Options that shape the JSON Schema a schema describes itself as. */
export interface JsonSchemaContext {
  /** Named object schemas collected into `$defs`. */
  readonly defs: Record<string, unknown>;
}

export interface Schema<T> {
  /** Checks `value` found at `path`, reporting problems into `checker`. */
  check(value: unknown, path: Path, checker: Checker): Checked<T>;
  /** Describes the accepted documents as JSON Schema (draft 2020-12), with every extension enabled. */
  jsonSchema(context: JsonSchemaContext): Record<string, unknown>;
}

/** The message for a feature used without its extension. */
export function requiresExtension(what: string, extension: string): string {
  return (RECOGNISED_UNSUPPORTED_EXTENSIONS as readonly string[]).includes(extension)
    ? `${what} belongs to the ${extension} extension, which Corral does not support yet`
    : `${what} requires the ${extension} extension, which the template does not declare`;
}

/** Names a value's kind the way a template author thinks of it ("a list", "a mapping"). */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'nothing (null)';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `the string ${quote(value)}`;
  if (typeof value === 'boolean') return `the boolean ${value}`;
  return `the number ${String(value)}`;
}

/** Quotes a value for a message, shortening long text. */
export function quote(value: string): string {
  const shown = value.length > 60 ? `${value.slice(0, 57)}...` : value;
  return JSON.stringify(shown);
}

/** Number of Unicode code points (what OpenJD's length limits count), fast for plain UTF-16 text. */
export function codePointLength(text: string): number {
  // Only surrogate pairs make code points differ from UTF-16 units.
  if (!/[\uD800-\uDBFF]/.test(text)) return text.length;
  let n = 0;
  for (const _ of text) n++;
  return n;
}

// ---------------------------------------------------------------------------------------------------------------
// Generic schemas

/** A schema defined by a function, for leaves with rules of their own. */
export function custom<T>(
  check: (value: unknown, path: Path, checker: Checker) => Checked<T>,
  jsonSchema: Record<string, unknown> | ((context: JsonSchemaContext) => Record<string, unknown>),
): Schema<T> {
  return {
    check,
    jsonSchema: typeof jsonSchema === 'function' ? jsonSchema : () => jsonSchema,
  };
}

export function boolean(): Schema<boolean> {
  return custom(
    (value, path, checker) =>
      typeof value === 'boolean' ? value : checker.report(path, `expected true or false, got ${describeValue(value)}`),
    { type: 'boolean' },
  );
}

/** One of a fixed set of strings. */
export function oneOf<const T extends string>(
  values: readonly T[],
  options: { gated?: Partial<Record<T, ExtensionName>> } = {},
): Schema<T> {
  const set = new Set<string>(values);
  return custom(
    (value, path, checker) => {
      if (typeof value !== 'string' || !set.has(value)) {
        const hint = typeof value === 'string' ? closest(value, values) : undefined;
        return checker.report(
          path,
          `expected one of ${values.join(', ')}, got ${describeValue(value)}${hint ? ` (did you mean ${hint}?)` : ''}`,
        );
      }
      const needs = options.gated?.[value as T];
      if (needs && !checker.has(needs)) {
        return checker.report(path, requiresExtension(value, needs));
      }
      return value as T;
    },
    { enum: values },
  );
}

export function literal<const T extends string>(expected: T): Schema<T> {
  return custom(
    (value, path, checker) =>
      value === expected ? expected : checker.report(path, `expected ${quote(expected)}, got ${describeValue(value)}`),
    { const: expected },
  );
}

/** A list with a length range. `max` may depend on the extensions in force. */
export function list<T>(
  item: Schema<T>,
  options: { min?: number; max?: number | ((checker: Checker) => number); jsonMax?: number } = {},
): Schema<T[]> {
  const { min = 0 } = options;
  return {
    check(value, path, checker) {
      if (!Array.isArray(value)) return checker.report(path, `expected a list, got ${describeValue(value)}`);
      const max = typeof options.max === 'function' ? options.max(checker) : options.max;
      if (value.length < min) {
        checker.report(path, min === 1 ? 'must not be an empty list' : `must have at least ${min} items`);
      }
      if (max !== undefined && value.length > max) {
        checker.report(path, `must have at most ${max} items, has ${value.length}`);
      }
      // Invalid items are dropped but the rest is kept, so rules further up still see what they can. As for
      // mappings, the input list itself is the result while every item comes back unchanged.
      let out: T[] | undefined;
      for (let i = 0; i < value.length; i++) {
        const result = item.check(value[i], sub(path, i), checker);
        if (out === undefined && result !== value[i]) out = value.slice(0, i) as T[];
        if (out !== undefined && result !== INVALID) out.push(result);
      }
      return out ?? (value as T[]);
    },
    jsonSchema(context) {
      const max = typeof options.max === 'number' ? options.max : options.jsonMax;
      return {
        type: 'array',
        items: item.jsonSchema(context),
        ...(min > 0 ? { minItems: min } : {}),
        ...(max !== undefined ? { maxItems: max } : {}),
      };
    },
  };
}

/** A field of an object schema. */
export interface Field<T> {
  readonly schema: Schema<T>;
  readonly required?: boolean;
  /** The field exists only when the template declares this extension. */
  readonly extension?: ExtensionName | UnsupportedExtensionName;
  readonly description?: string;
}

export function field<T>(
  schema: Schema<T>,
  options: { required?: boolean; extension?: ExtensionName | UnsupportedExtensionName; description?: string } = {},
): Field<T> {
  return { schema, ...options };
}

export function required<T>(schema: Schema<T>, description?: string): Field<T> {
  return description === undefined ? { schema, required: true } : { schema, required: true, description };
}

export function optional<T>(schema: Schema<T>, description?: string): Field<T> {
  return description === undefined ? { schema } : { schema, description };
}

// biome-ignore lint/suspicious/noExplicitAny: field maps hold schemas of many types
type Fields = Record<string, Field<any>>;

export interface ObjectOptions<T> {
  /** Names the object in `$defs` of the JSON Schema, and in messages. */
  readonly name?: string;
  readonly description?: string;
  /** Cross-field rules, run when the value is a mapping; gets the valid fields. */
  readonly refine?: (value: Partial<T>, path: Path, checker: Checker, raw: Record<string, unknown>) => void;
  /** Extra keys that are accepted and ignored (`$schema`). */
  readonly ignoredKeys?: readonly string[];
}

/**
 * A mapping with known fields: unknown keys, missing required fields and fields of undeclared extensions are
 * reported. Returns the valid fields even when some are invalid, so later rules still see what they can.
 */
export function object<T>(fields: Fields, options: ObjectOptions<T> = {}): Schema<T> {
  const names = Object.keys(fields);
  const ignored = new Set(options.ignoredKeys ?? []);
  const schema: Schema<T> = {
    check(value, path, checker) {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        return checker.report(path, `expected a mapping, got ${describeValue(value)}`);
      }
      const raw = value as Record<string, unknown>;
      // The result is the input itself while every field comes back unchanged (the common, valid case): no copy
      // of the document is made. The first field that differs or fails starts a copy of the valid fields.
      let out: Record<string, unknown> | undefined;
      const diverge = (upTo: string): Record<string, unknown> => {
        const copy: Record<string, unknown> = {};
        for (const name of names) {
          if (name === upTo) break;
          if (Object.hasOwn(raw, name)) copy[name] = raw[name];
        }
        return copy;
      };
      for (const key in raw) {
        if (Object.hasOwn(fields, key) || ignored.has(key)) continue;
        const hint = closest(key, names);
        checker.report(sub(path, key), `unknown field '${key}'${hint ? ` (did you mean '${hint}'?)` : ''}`, true);
      }
      for (const name of names) {
        const spec = fields[name]!;
        if (!Object.hasOwn(raw, name)) {
          if (spec.required) checker.report(path, `missing required field '${name}'`);
          continue;
        }
        if (spec.extension && !checker.has(spec.extension as ExtensionName)) {
          checker.report(sub(path, name), requiresExtension(`'${name}'`, spec.extension), true);
          out ??= diverge(name);
          continue;
        }
        const result = spec.schema.check(raw[name], sub(path, name), checker);
        if (out === undefined && result !== raw[name]) out = diverge(name);
        if (out !== undefined && result !== INVALID) out[name] = result;
      }
      const typed = (out ?? raw) as Partial<T>;
      options.refine?.(typed, path, checker, raw);
      return typed as T;
    },
    jsonSchema(context) {
      const build = (): Record<string, unknown> => {
        const properties: Record<string, unknown> = {};
        const requiredNames: string[] = [];
        for (const name of names) {
          const spec = fields[name]!;
          const described = spec.schema.jsonSchema(context);
          const notes = [spec.description, spec.extension ? `Requires the ${spec.extension} extension.` : undefined]
            .filter(Boolean)
            .join(' ');
          properties[name] = notes ? { ...described, description: notes } : described;
          if (spec.required) requiredNames.push(name);
        }
        for (const key of ignored) properties[key] = { type: 'string' };
        return {
          type: 'object',
          ...(options.description ? { description: options.description } : {}),
          properties,
          ...(requiredNames.length > 0 ? { required: requiredNames } : {}),
          additionalProperties: false,
        };
      };
      if (!options.name) return build();
      if (!(options.name in context.defs)) {
        context.defs[options.name] = {};
        context.defs[options.name] = build();
      }
      return { $ref: `#/$defs/${options.name}` };
    },
  };
  return schema;
}

/**
 * A mapping whose `tag` field picks the schema for the rest (job parameter `type`, cancelation `mode`).
 * Variants may need an extension.
 */
export function tagged<T>(
  tag: string,
  variants: Record<string, { schema: Schema<T>; extension?: ExtensionName }>,
  options: { name?: string; describeTag?: string } = {},
): Schema<T> {
  const tags = Object.keys(variants);
  return {
    check(value, path, checker) {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        return checker.report(path, `expected a mapping, got ${describeValue(value)}`);
      }
      const raw = value as Record<string, unknown>;
      if (!Object.hasOwn(raw, tag)) {
        return checker.report(path, `missing required field '${tag}' (one of ${tags.join(', ')})`);
      }
      const which = raw[tag];
      const variant = typeof which === 'string' ? variants[which] : undefined;
      if (!variant || !Object.hasOwn(variants, which as string)) {
        const hint =
          typeof which === 'string'
            ? (tags.find((t) => t.toLowerCase() === which.toLowerCase()) ?? closest(which, tags))
            : undefined;
        return checker.report(
          sub(path, tag),
          `${options.describeTag ?? tag} must be one of ${tags.join(', ')}, got ${describeValue(which)}${hint ? ` (did you mean ${hint}?)` : ''}`,
        );
      }
      if (variant.extension && !checker.has(variant.extension)) {
        return checker.report(sub(path, tag), requiresExtension(which as string, variant.extension));
      }
      return variant.schema.check(value, path, checker);
    },
    jsonSchema(context) {
      const build = () => ({ oneOf: tags.map((t) => variants[t]!.schema.jsonSchema(context)) });
      if (!options.name) return build();
      if (!(options.name in context.defs)) {
        context.defs[options.name] = {};
        context.defs[options.name] = build();
      }
      return { $ref: `#/$defs/${options.name}` };
    },
  };
}

/** A mapping from names to values (environment `variables`). */
export function record<T>(
  key: (name: string, path: Path, checker: Checker) => boolean,
  valueSchema: Schema<T>,
  options: { minEntries?: number; keyPattern: string },
): Schema<Record<string, T>> {
  return {
    check(value, path, checker) {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        return checker.report(path, `expected a mapping, got ${describeValue(value)}`);
      }
      const raw = value as Record<string, unknown>;
      const out: Record<string, T> = {};
      let count = 0;
      for (const name in raw) {
        count++;
        if (!key(name, sub(path, name), checker)) continue;
        const result = valueSchema.check(raw[name], sub(path, name), checker);
        if (result !== INVALID) out[name] = result;
      }
      if (options.minEntries && count < options.minEntries) checker.report(path, 'must not be an empty mapping');
      return out;
    },
    jsonSchema(context) {
      return {
        type: 'object',
        propertyNames: { pattern: options.keyPattern },
        additionalProperties: valueSchema.jsonSchema(context),
        ...(options.minEntries ? { minProperties: options.minEntries } : {}),
      };
    },
  };
}
