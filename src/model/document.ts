/**
 * @module Parses template text (YAML 1.2 or JSON) into plain values, and maps document paths back to line:col.
 *
 * Speed and precision are split on purpose. Values come from the fastest parsers available (`JSON.parse`, js-yaml
 * with the YAML 1.2 core schema): on a 500 KB template the `yaml` package takes ~500 ms cold, js-yaml ~90 ms.
 * Positions are only needed when something is wrong, so `locate()` builds its index lazily with the `yaml`
 * package, whose syntax tree keeps exact source ranges.
 */
import { createRequire } from 'node:module';
import jsyaml from 'js-yaml';
import type * as YamlModule from 'yaml';
import { type DocumentPath, ModelErrorCode, TemplateError, type ValidationIssue } from './errors.js';

export type DocumentFormat = 'yaml' | 'json';

/**
 * A float written with a fraction or exponent whose value is a whole number (`1.0`, `2e3`). Parsed documents hold
 * these instead of plain numbers so that `1.0` stays distinguishable from the integer `1`.
 */
export class FloatLiteral {
  constructor(readonly value: number) {}
  toJSON(): number {
    return this.value;
  }
}

/** A 1-based position in a text. */
export interface SourcePosition {
  readonly line: number;
  readonly column: number;
}

/** A parsed document: its value and a way back from paths to positions. */
export interface ParsedDocument {
  readonly value: unknown;
  readonly format: DocumentFormat;
  /** The position of the value at `path`, or of the nearest enclosing node that exists. `key` points at the key. */
  locate(path: DocumentPath, options?: { key?: boolean }): SourcePosition | undefined;
}

/** Most nodes a document may expand to through YAML aliases before it is refused as an alias bomb. */
export const MAX_DOCUMENT_NODES = 2_000_000;

// YAML 1.2 core schema, except that integers beyond 2^53 stay exact (as bigint) instead of being rounded.
const exactInt = new jsyaml.Type('tag:yaml.org,2002:int', {
  kind: 'scalar',
  resolve: (data: string) => /^[-+]?(?:[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$/.test(data),
  construct: (data: string) => {
    const negative = data.startsWith('-');
    const body = data.replace(/^[-+]/, '');
    let big: bigint;
    if (body.startsWith('0o')) big = BigInt(`0o${body.slice(2)}`);
    else if (body.startsWith('0x')) big = BigInt(body);
    else big = BigInt(body);
    if (negative) big = -big;
    const small = Number(big);
    return Number.isSafeInteger(small) ? small : big;
  },
  predicate: (value: unknown) => typeof value === 'bigint' || Number.isInteger(value),
  represent: (value: unknown) => String(value),
});
// js-yaml's typings omit the compiled type lists, which are the public way to reuse its core types.
interface CompiledSchema {
  compiledImplicit: (jsyaml.Type & { tag: string })[];
  compiledExplicit: jsyaml.Type[];
}
const core = jsyaml.CORE_SCHEMA as unknown as CompiledSchema;
const coreType = (tag: string) => core.compiledImplicit.find((t) => t.tag === `tag:yaml.org,2002:${tag}`)!;
const coreFloat = coreType('float');
// Floats keep telling themselves apart from integers: `1.0` must not become the integer 1 (OpenJD renders FLOAT
// values the way they were written, and an INT field must refuse `5.0`).
const floatType = new jsyaml.Type('tag:yaml.org,2002:float', {
  kind: 'scalar',
  resolve: (data: string) => coreFloat.resolve!(data),
  construct: (data: string) => {
    const value = coreFloat.construct!(data) as number;
    return Number.isInteger(value) ? new FloatLiteral(value) : value;
  },
  predicate: (value: unknown) => value instanceof FloatLiteral,
  represent: (value: unknown) => String((value as FloatLiteral).value),
});
const CORE_EXACT_SCHEMA = new jsyaml.Schema({
  implicit: [coreType('null'), coreType('bool'), exactInt, floatType],
  explicit: (jsyaml.FAILSAFE_SCHEMA as unknown as CompiledSchema).compiledExplicit,
});

/**
 * Parses YAML or JSON text.
 * @param options.text The document's text.
 * @param options.format `json` or `yaml` (default: `json` when the text starts with `{`, else `yaml`).
 * @param options.source A name for the text (a file path) used in error messages.
 * @throws {TemplateError} `CORRAL_E_TEMPLATE_SYNTAX` when the text is not well-formed, has duplicate keys, or
 *   expands beyond {@link MAX_DOCUMENT_NODES} nodes through aliases.
 */
export function parseDocument(options: { text: string; format?: DocumentFormat; source?: string }): ParsedDocument {
  const { text, source } = options;
  const format = options.format ?? (/^\s*\{/.test(text) ? 'json' : 'yaml');
  const value = format === 'json' ? parseJson(text, source) : parseYaml(text, source);
  let index: PositionIndex | undefined;
  return {
    value,
    format,
    locate(path, locateOptions) {
      index ??= new PositionIndex(text);
      return index.locate(path, locateOptions?.key ?? false);
    },
  };
}

function syntaxError(message: string, position: SourcePosition | undefined, source: string | undefined): TemplateError {
  const issue: ValidationIssue = position ? { path: [], message, ...position } : { path: [], message };
  const what = source ? `'${source}'` : 'The template';
  return new TemplateError(ModelErrorCode.TemplateSyntax, `${what} is not well-formed.`, [issue], {
    ...(source === undefined ? {} : { source }),
  });
}

function parseYaml(text: string, source: string | undefined): unknown {
  let value: unknown;
  try {
    value = jsyaml.load(text, { schema: CORE_EXACT_SCHEMA, json: false });
  } catch (error) {
    if (error instanceof jsyaml.YAMLException) {
      const mark = error.mark as { line?: number; column?: number } | undefined;
      const position = mark?.line === undefined ? undefined : { line: mark.line + 1, column: (mark.column ?? 0) + 1 };
      throw syntaxError(`YAML: ${error.reason}`, position, source);
    }
    if (error instanceof RangeError) throw syntaxError('the document nests too deeply', undefined, source);
    throw error;
  }
  // js-yaml shares one object for every alias of an anchor; a "billion laughs" document is small in memory but
  // explodes for anything that walks it. Count the expanded size once, with an early exit.
  // Iterative, so deep documents cannot overflow the stack here.
  let budget = MAX_DOCUMENT_NODES;
  const stack: unknown[] = [value];
  while (stack.length > 0 && --budget >= 0) {
    const node = stack.pop();
    if (Array.isArray(node)) for (const item of node) stack.push(item);
    else if (node !== null && typeof node === 'object') for (const key in node) stack.push((node as never)[key]);
  }
  if (budget < 0) {
    throw syntaxError(
      `the document expands to more than ${MAX_DOCUMENT_NODES.toLocaleString('en-US')} nodes through YAML aliases`,
      undefined,
      source,
    );
  }
  return value;
}

function parseJson(text: string, source: string | undefined): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const message = (error as Error).message;
    const at = /at position (\d+)/.exec(message);
    const position = at ? offsetToPosition(text, Number(at[1])) : undefined;
    throw syntaxError(`JSON: ${message.replace(/ in JSON at position \d+.*$/, '')}`, position, source);
  }
  // JSON.parse silently keeps the last of duplicate keys. Counting is cheap (a native split and a walk of the
  // result); only when the counts differ (duplicates, or merely `"key" :` spacing or `\":` inside strings) does the
  // exact scanner run.
  if (text.split('":').length - 1 !== countKeysInValue(value)) {
    const scan = scanJson(text);
    if (scan.duplicate !== undefined) {
      throw syntaxError(`duplicate key ${scan.duplicate.key}`, offsetToPosition(text, scan.duplicate.offset), source);
    }
  }
  // JSON.parse rounds integers beyond 2^53 and reads `1.0` as 1; such documents are read again through the exact
  // YAML schema (JSON is a subset of YAML 1.2 flow style). The test may match digits inside strings too, which
  // only costs the slower parse.
  if (/[0-9]{16}|[0-9](?:\.[0-9]*)?[eE][-+]?[0-9]|[0-9]\.0*(?![0-9])/.test(text) && scanJson(text).needsExact) {
    value = jsyaml.load(text, { schema: CORE_EXACT_SCHEMA, json: true });
  }
  return value;
}

/** Keys in a parsed JSON value (Object.keys and pushing only containers: twice as fast as for-in here). */
function countKeysInValue(value: unknown): number {
  let count = 0;
  const stack: object[] = typeof value === 'object' && value !== null ? [value] : [];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        const item: unknown = node[i];
        if (typeof item === 'object' && item !== null) stack.push(item);
      }
    } else {
      const keys = Object.keys(node);
      count += keys.length;
      for (let i = 0; i < keys.length; i++) {
        const item: unknown = (node as Record<string, unknown>)[keys[i]!];
        if (typeof item === 'object' && item !== null) stack.push(item);
      }
    }
  }
  return count;
}

/**
 * One pass over JSON text that `JSON.parse` accepted: finds the first duplicate key in an object (JSON.parse
 * silently keeps the last one) and integers too long to be exact as numbers.
 */
function scanJson(text: string): { duplicate?: { key: string; offset: number }; needsExact: boolean } {
  const stack: (Set<string> | null)[] = [];
  let needsExact = false;
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const start = i;
      i++;
      while (i < text.length) {
        const d = text.charCodeAt(i);
        if (d === 0x5c /* \ */) i += 2;
        else if (d === 0x22) break;
        else i++;
      }
      const keys = stack[stack.length - 1];
      if (expectKey && keys) {
        const raw = text.slice(start, i + 1);
        const key = raw.includes('\\') ? (JSON.parse(raw) as string) : raw.slice(1, -1);
        if (keys.has(key)) return { duplicate: { key: JSON.stringify(key), offset: start }, needsExact };
        keys.add(key);
        expectKey = false;
      }
    } else if (c === 0x7b /* { */) {
      stack.push(new Set());
      expectKey = true;
    } else if (c === 0x5b /* [ */) {
      stack.push(null);
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
    } else if (c === 0x2c /* , */) {
      expectKey = stack[stack.length - 1] != null;
    } else if ((c >= 0x30 && c <= 0x39) || c === 0x2d /* - */) {
      let j = i + 1;
      let plain = true;
      for (; j < text.length; j++) {
        const d = text.charCodeAt(j);
        if (d >= 0x30 && d <= 0x39) continue;
        if (d === 0x2e || d === 0x65 || d === 0x45 || d === 0x2b || d === 0x2d) plain = false;
        else break;
      }
      if (!needsExact) {
        const token = text.slice(i, j);
        needsExact = plain ? token.length > 15 : Number.isInteger(Number(token));
      }
      i = j - 1;
    }
  }
  return { needsExact };
}

/** Converts a 0-based offset into a 1-based line and column. */
export function offsetToPosition(text: string, offset: number): SourcePosition {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: offset - lineStart + 1 };
}

type YamlNode = YamlModule.Node | YamlModule.Pair | null | undefined;

/** Source positions of a document's nodes, from the `yaml` package's syntax tree (built on first use). */
class PositionIndex {
  readonly #text: string;
  readonly #root: YamlNode;
  readonly #yaml: typeof YamlModule;

  constructor(text: string) {
    this.#text = text;
    // Loaded on demand: it is only needed to report errors, and costs ~40 ms to import.
    this.#yaml = createRequire(import.meta.url)('yaml') as typeof YamlModule;
    const doc = this.#yaml.parseDocument(text, { uniqueKeys: false, keepSourceTokens: false });
    this.#root = doc.contents as YamlNode;
  }

  locate(path: DocumentPath, key: boolean): SourcePosition | undefined {
    const Y = this.#yaml;
    let node: YamlNode = this.#root;
    let keyNode: YamlNode;
    let found: YamlNode = node;
    for (const part of path) {
      keyNode = undefined;
      if (Y.isAlias(node)) node = node.resolve(undefined as never) as YamlNode;
      if (Y.isMap(node)) {
        const pair = node.items.find((p) => {
          const k = p.key;
          const name = Y.isScalar(k) ? String(k.value) : k;
          return name === String(part);
        });
        if (!pair) break;
        keyNode = pair.key as YamlNode;
        node = pair.value as YamlNode;
      } else if (Y.isSeq(node) && typeof part === 'number') {
        node = node.items[part] as YamlNode;
      } else {
        break;
      }
      found = (node ?? keyNode) as YamlNode;
      if (node == null) break;
    }
    const target = key && keyNode && found === node ? keyNode : found;
    const range = target && 'range' in target ? target.range : undefined;
    if (!range) return undefined;
    return offsetToPosition(this.#text, range[0]);
  }
}
