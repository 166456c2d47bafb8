/**
 * @module Layered daemon configuration: built-in defaults < a YAML or JSON file < `CORRAL_*` environment variables
 * < command-line flags, checked against a small schema.
 *
 * A schema describes every key (its type, allowed values, bounds and a description); sections nest. The same key is
 * written three ways: `logLevel` in the file (`store: { poolSize: 4 }` for nested keys), `CORRAL_LOG_LEVEL` in the
 * environment (`CORRAL_STORE__POOL_SIZE`: sections are joined with `__`), and `--log-level` as a flag
 * (`--store.pool-size`). Every problem in every layer is collected before anything is thrown, each with where it
 * came from (`server.yaml:3:7`, `CORRAL_LOG_LEVEL`, `--log-level`), so an operator fixes them in one go.
 *
 * This module never reads `process.env` or `process.argv` itself: the daemon's entry point passes them in.
 */
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { FloatLiteral, type ParsedDocument, parseDocument } from '../../model/document.js';
import { CorralError, TemplateError } from '../../model/errors.js';
import { closest } from '../../model/suggest.js';
import { parseDuration } from './durations.js';
import { ConfigError, type ConfigProblem, type ConfigSource, DaemonErrorCode } from './errors.js';

/**
 * The type of a configuration key. `duration` values are written `250ms`, `60s`, `5m`, `1h` or as plain seconds,
 * and are read as milliseconds. `string[]` values are lists in the file and comma-separated in the environment.
 */
export type ConfigValueType = 'string' | 'number' | 'boolean' | 'string[]' | 'duration';

/** The description of one configuration key. */
export interface ConfigKey {
  readonly type: ConfigValueType;
  /** What the key does, for `--help` and the reference table. */
  readonly description: string;
  /** For `string` and `string[]`: the only values allowed. */
  readonly values?: readonly string[];
  /** For `number` and `duration` (in milliseconds): the smallest value allowed. */
  readonly min?: number;
  /** For `number` and `duration` (in milliseconds): the largest value allowed. */
  readonly max?: number;
  /** For `number`: only whole numbers. Default: false. */
  readonly integer?: boolean;
  /** The value when no layer sets one, written as in the file (`'60s'` for a duration). Default: none. */
  readonly default?: string | number | boolean | readonly string[];
  /** Whether some layer must set the key. Default: false. */
  readonly required?: boolean;
  /**
   * Whether a reload can change the key while the daemon runs. When false, a changed value is reported by
   * {@link reloadConfig} in `restartRequired` and the running value is kept. Default: true.
   */
  readonly reloadable?: boolean;
  /** Never echo the value in messages (tokens, URLs with passwords). Default: false. */
  readonly secret?: boolean;
  /** The environment variable, when not the derived one (`CORRAL_` + `LOG_LEVEL`). */
  readonly env?: string;
  /** The flag as shown in messages, when not the derived one (`--log-level`). */
  readonly flag?: string;
}

/** A configuration schema: keys and nested sections. A node with a string `type` is a key, anything else a section. */
export interface ConfigSchema {
  readonly [key: string]: ConfigKey | ConfigSchema;
}

type BaseValue<K extends ConfigKey> = K['type'] extends 'string'
  ? K extends { values: readonly (infer V)[] }
    ? V
    : string
  : K['type'] extends 'string[]'
    ? K extends { values: readonly (infer V)[] }
      ? readonly V[]
      : readonly string[]
    : K['type'] extends 'boolean'
      ? boolean
      : number;

/** The value type of a key: `undefined` is possible unless the key has a default or is required. */
export type ConfigKeyValue<K extends ConfigKey> = K extends { default: unknown } | { required: true }
  ? BaseValue<K>
  : BaseValue<K> | undefined;

/** The typed, frozen configuration a schema describes. */
export type Config<S extends ConfigSchema> = {
  readonly [P in keyof S]: S[P] extends ConfigKey
    ? ConfigKeyValue<S[P]>
    : S[P] extends ConfigSchema
      ? Config<S[P]>
      : never;
};

/** Defaults that override the schema's, written as in the file (durations as `'60s'` or seconds). */
export type ConfigDefaults<S extends ConfigSchema> = {
  readonly [P in keyof S]?: S[P] extends ConfigKey
    ? string | number | boolean | readonly string[]
    : S[P] extends ConfigSchema
      ? ConfigDefaults<S[P]>
      : never;
};

/** A flag's value as a command-line parser gives it; `undefined` means the flag was not given. */
export type FlagValue = string | number | boolean | readonly string[] | undefined;

/** Which layer set a key, and its name there (the file's path, the variable, the flag, or `defaults`). */
export interface ConfigOrigin {
  readonly source: ConfigSource;
  readonly name: string;
}

/** A loaded configuration. */
export interface LoadedConfig<S extends ConfigSchema> {
  /** The values, typed by the schema and frozen. */
  readonly config: Config<S>;
  /** Where each key that has a value came from, by dotted key (`store.poolSize`). */
  readonly origins: ReadonlyMap<string, ConfigOrigin>;
  /** Things worth logging that are not errors: `CORRAL_*` variables that match no key (see `strictEnv`). */
  readonly warnings: readonly string[];
}

export interface LoadConfigOptions<S extends ConfigSchema> {
  /** The keys and sections allowed. */
  readonly schema: S;
  /** The configuration file (YAML, or JSON when it ends in `.json`). Default: no file. */
  readonly file?: string;
  /** The environment (the entry point passes `process.env`). Default: empty. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /**
   * Parsed flags by dotted key (`logLevel`, `store.poolSize`; `log-level` is read as `logLevel`), as the
   * command-line parser gives them. Default: none.
   */
  readonly flags?: Readonly<Record<string, FlagValue>>;
  /** Defaults that override the schema's own (e.g. the worker's and the server's differ). Default: none. */
  readonly defaults?: ConfigDefaults<S>;
  /** The prefix of the environment variables read. Default: `CORRAL_`. */
  readonly envPrefix?: string;
  /** Variables under the prefix that belong to something else (`CORRAL_CONFIG`, `CORRAL_TOKEN`). Default: none. */
  readonly ignoreEnv?: readonly string[];
  /**
   * Whether a variable under the prefix that matches no key is an error. Default: false, a warning: the environment
   * is shared with other tools, while the file and the flags are written for this daemon.
   */
  readonly strictEnv?: boolean;
}

/** Largest configuration file read (a configuration is a few KB; anything near this is a mistake). */
const MAX_FILE_BYTES = 1 << 20;

interface Leaf {
  readonly path: readonly string[];
  readonly key: string;
  readonly spec: ConfigKey;
  readonly env: string;
  readonly flag: string;
}

interface Setting {
  readonly value: unknown;
  readonly origin: ConfigOrigin;
}

const isKey = (node: ConfigKey | ConfigSchema): node is ConfigKey => typeof node.type === 'string';
const upperSnake = (name: string) => name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
const camel = (name: string) => name.replace(/-([a-z0-9])/g, (_match, c: string) => c.toUpperCase());
const kebab = (name: string) => name.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof FloatLiteral);

function leaves(schema: ConfigSchema, envPrefix: string, prefix: readonly string[] = [], out: Leaf[] = []): Leaf[] {
  for (const [name, node] of Object.entries(schema)) {
    const path = [...prefix, name];
    if (isKey(node)) {
      out.push({
        path,
        key: path.join('.'),
        spec: node,
        env: node.env ?? envPrefix + path.map(upperSnake).join('__'),
        flag: node.flag ?? `--${path.map(kebab).join('.')}`,
      });
    } else {
      leaves(node, envPrefix, path, out);
    }
  }
  return out;
}

/**
 * Loads a configuration: the schema's defaults, then `defaults`, then the file, then the environment, then the
 * flags, each overriding the one before.
 *
 * File values must have the key's type (a `string` key refuses `42`: quote it). Environment variables and string
 * flags are text: numbers, booleans (`true`/`false`, `1`/`0`, `yes`/`no`, `on`/`off`), comma-separated lists and
 * durations are read from it. A `null` in the file and an empty variable leave a key unset (an empty variable sets
 * a `string[]` key to the empty list).
 * @returns the typed configuration, where each value came from, and warnings.
 * @throws {ConfigError} `CORRAL_E_CONFIG_INVALID` listing every problem: an unreadable or malformed file, unknown
 *   keys or flags, values of the wrong type or outside their allowed values or bounds, required keys left unset.
 * @example
 * const { config } = loadConfig({ schema, file: '/etc/corral/server.yaml', env: process.env, flags: options });
 */
export function loadConfig<const S extends ConfigSchema>(options: LoadConfigOptions<S>): LoadedConfig<S> {
  const envPrefix = options.envPrefix ?? 'CORRAL_';
  const all = leaves(options.schema, envPrefix);
  const byKey = new Map(all.map((leaf) => [leaf.key, leaf]));
  const settings = new Map<string, Setting>();
  const problems: ConfigProblem[] = [];
  const warnings: string[] = [];

  // Built-in defaults: a bad default is a programming error, reported like any other problem.
  const builtIn: ConfigOrigin = { source: 'default', name: 'defaults' };
  for (const leaf of all) {
    if (leaf.spec.default === undefined) continue;
    const result = fromStructured(leaf, leaf.spec.default);
    if (result.ok) settings.set(leaf.key, { value: result.value, origin: builtIn });
    else problems.push({ key: leaf.key, source: 'default', origin: 'defaults', message: result.message });
  }
  if (options.defaults !== undefined) {
    applyTree(options.schema, [], options.defaults, {
      envPrefix,
      settings,
      problems,
      origin: builtIn,
      where: () => 'defaults',
    });
  }

  if (options.file !== undefined) loadFile(options.file, options.schema, envPrefix, settings, problems);

  // The environment, in name order so messages come out stable.
  if (options.env !== undefined) {
    const byEnv = new Map(all.map((leaf) => [leaf.env, leaf]));
    const ignored = new Set(options.ignoreEnv ?? []);
    const sections = new Set<string>();
    for (const leaf of all) {
      for (let i = 1; i < leaf.path.length; i++)
        sections.add(envPrefix + leaf.path.slice(0, i).map(upperSnake).join('__'));
    }
    for (const name of Object.keys(options.env).sort()) {
      const text = options.env[name];
      if (text === undefined || ignored.has(name)) continue;
      const leaf = byEnv.get(name);
      if (leaf === undefined) {
        if (!name.startsWith(envPrefix)) continue;
        let message: string;
        if (sections.has(name)) message = `is a section, not a key; set its keys (${name}__…)`;
        else {
          const guess = closest(name, byEnv.keys());
          message = `matches no configuration key${guess ? ` (did you mean ${guess}?)` : ''}`;
        }
        if (options.strictEnv) problems.push({ key: '', source: 'env', origin: name, message });
        else warnings.push(`${name} ${message}; it is ignored`);
        continue;
      }
      if (text === '' && leaf.spec.type !== 'string[]') continue;
      const result = fromText(leaf, text);
      if (result.ok) settings.set(leaf.key, { value: result.value, origin: { source: 'env', name } });
      else problems.push({ key: leaf.key, source: 'env', origin: name, message: result.message });
    }
  }

  for (const [given, raw] of Object.entries(options.flags ?? {})) {
    if (raw === undefined) continue;
    // Keys are dotted camelCase (`store.poolSize`); the flag's own spelling (`store.pool-size`) is accepted too.
    const key = given.split('.').map(camel).join('.');
    const leaf = byKey.get(key);
    if (leaf === undefined) {
      const flag = `--${key.split('.').map(kebab).join('.')}`;
      const guess = closest(
        flag,
        [...byKey.values()].map((l) => l.flag),
      );
      problems.push({
        key,
        source: 'flag',
        origin: flag,
        message: `is not a configuration flag${guess ? ` (did you mean ${guess}?)` : ''}`,
      });
      continue;
    }
    const result = fromFlag(leaf, raw);
    if (result.ok) settings.set(leaf.key, { value: result.value, origin: { source: 'flag', name: leaf.flag } });
    else problems.push({ key: leaf.key, source: 'flag', origin: leaf.flag, message: result.message });
  }

  for (const leaf of all) {
    if (leaf.spec.required && !settings.has(leaf.key) && !problems.some((p) => p.key === leaf.key)) {
      problems.push({
        key: leaf.key,
        source: 'default',
        origin: '',
        message: `is required: set it in the configuration file, with ${leaf.env} or with ${leaf.flag}`,
      });
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);

  const origins = new Map<string, ConfigOrigin>();
  const root: Record<string, unknown> = {};
  for (const leaf of all) {
    const setting = settings.get(leaf.key);
    let node = root;
    for (const part of leaf.path.slice(0, -1)) node = (node[part] ??= {}) as Record<string, unknown>;
    node[leaf.path[leaf.path.length - 1]!] = setting?.value;
    if (setting) origins.set(leaf.key, setting.origin);
  }
  return { config: deepFreeze(root) as Config<S>, origins, warnings };
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const item of Object.values(value)) deepFreeze(item);
    Object.freeze(value);
  }
  return value;
}

function loadFile(
  file: string,
  schema: ConfigSchema,
  envPrefix: string,
  settings: Map<string, Setting>,
  problems: ConfigProblem[],
): void {
  const fileProblem = (message: string, line?: number, column?: number) =>
    problems.push({
      key: '',
      source: 'file',
      origin: line === undefined ? file : `${file}:${line}:${column ?? 1}`,
      message,
    });
  let text: string;
  try {
    const buffer = readFileSync(file);
    if (buffer.length > MAX_FILE_BYTES) {
      fileProblem(`the file is larger than ${MAX_FILE_BYTES >> 20} MiB`);
      return;
    }
    text = buffer.toString('utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT'
        ? 'the file does not exist'
        : code === 'EISDIR'
          ? 'it is a directory'
          : code === 'EACCES'
            ? 'permission denied'
            : (error as Error).message;
    fileProblem(`cannot read the configuration file: ${reason}`);
    return;
  }
  let document: ParsedDocument;
  try {
    document = parseDocument({ text, source: file, ...(extname(file) === '.json' ? { format: 'json' } : {}) });
  } catch (error) {
    if (!(error instanceof TemplateError)) throw error;
    for (const issue of error.issues) fileProblem(`not well-formed: ${issue.message}`, issue.line, issue.column);
    return;
  }
  const value = document.value;
  if (value === undefined || value === null) return; // an empty file sets nothing
  if (!isPlainObject(value)) {
    const position = document.locate([]);
    fileProblem('the configuration must be a mapping of keys to values', position?.line, position?.column);
    return;
  }
  applyTree(schema, [], value, {
    envPrefix,
    settings,
    problems,
    origin: { source: 'file', name: file },
    where: (path, key) => {
      const position = document.locate(path, { key });
      return position ? `${file}:${position.line}:${position.column}` : file;
    },
  });
}

interface TreeContext {
  readonly envPrefix: string;
  readonly settings: Map<string, Setting>;
  readonly problems: ConfigProblem[];
  readonly origin: ConfigOrigin;
  /** The origin for a problem at `path` (at its key when `key`). */
  where(path: readonly string[], key: boolean): string;
}

/** Applies a nested object of values (the file, or `defaults`) against a (sub)schema. */
function applyTree(schema: ConfigSchema, prefix: readonly string[], values: object, context: TreeContext): void {
  const { source } = context.origin;
  for (const [name, value] of Object.entries(values)) {
    const path = [...prefix, name];
    const key = path.join('.');
    const node = Object.hasOwn(schema, name) ? schema[name] : undefined;
    if (node === undefined) {
      const guess = closest(name, Object.keys(schema));
      const where = prefix.length === 0 ? '' : ` in ${prefix.join('.')}`;
      context.problems.push({
        key,
        source,
        origin: context.where(path, true),
        message: `unknown key${where}${guess ? ` (did you mean ${guess}?)` : ''}; known keys: ${Object.keys(schema).join(', ')}`,
      });
      continue;
    }
    if (value === null || value === undefined) continue;
    if (isKey(node)) {
      const leaf = leaves({ [name]: node }, context.envPrefix, prefix)[0]!;
      const result = fromStructured(leaf, value);
      if (result.ok) context.settings.set(key, { value: result.value, origin: context.origin });
      else context.problems.push({ key, source, origin: context.where(path, false), message: result.message });
    } else if (isPlainObject(value)) {
      applyTree(node, path, value, context);
    } else {
      context.problems.push({
        key,
        source,
        origin: context.where(path, false),
        message: `is a section: expected a mapping of its keys (${Object.keys(node).join(', ')}), got ${describe(value, false)}`,
      });
    }
  }
}

type Result = { ok: true; value: unknown } | { ok: false; message: string };
const ok = (value: unknown): Result => ({ ok: true, value });
const bad = (message: string): Result => ({ ok: false, message });

function describe(value: unknown, secret: boolean | undefined): string {
  if (secret) return typeof value === 'string' ? 'a string' : `a ${kind(value)}`;
  if (value instanceof FloatLiteral) return `a number (${value.value})`;
  if (typeof value === 'string') return `a string (${JSON.stringify(value)})`;
  if (Array.isArray(value)) return 'a list';
  if (isPlainObject(value)) return 'a mapping';
  return `a ${kind(value)} (${String(value)})`;
}

function kind(value: unknown): string {
  if (typeof value === 'bigint' || value instanceof FloatLiteral) return 'number';
  if (Array.isArray(value)) return 'list';
  if (value === null) return 'null';
  return isPlainObject(value) ? 'mapping' : typeof value;
}

const TYPE_NAMES: Record<ConfigValueType, string> = {
  string: 'a string',
  number: 'a number',
  boolean: 'a boolean (true or false)',
  'string[]': 'a list of strings',
  duration: 'a duration (250ms, 60s, 5m, 1h) or a number of seconds',
};

/** A value from the file or defaults: it must already have the key's type. */
function fromStructured(leaf: Leaf, value: unknown): Result {
  const { spec } = leaf;
  const wrong = (hint = '') => bad(`expected ${TYPE_NAMES[spec.type]}, got ${describe(value, spec.secret)}${hint}`);
  switch (spec.type) {
    case 'string':
      if (typeof value === 'string') return check(leaf, value);
      return wrong(typeof value === 'number' || typeof value === 'boolean' ? '; quote it to make it a string' : '');
    case 'number':
      if (value instanceof FloatLiteral) return check(leaf, value.value);
      if (typeof value === 'number') return check(leaf, value);
      if (typeof value === 'bigint') return bad(`${value} is too large`);
      return wrong();
    case 'boolean':
      return typeof value === 'boolean' ? check(leaf, value) : wrong();
    case 'string[]':
      if (Array.isArray(value) && value.every((item) => typeof item === 'string')) return check(leaf, [...value]);
      return wrong(typeof value === 'string' ? `; write a list: [${JSON.stringify(value)}]` : '');
    case 'duration':
      if (typeof value === 'string' || typeof value === 'number' || value instanceof FloatLiteral) {
        return duration(leaf, value instanceof FloatLiteral ? value.value : value);
      }
      return wrong();
  }
}

/** A value from an environment variable or a string flag. */
function fromText(leaf: Leaf, text: string): Result {
  const { spec } = leaf;
  const shown = spec.secret ? 'the value' : JSON.stringify(text);
  switch (spec.type) {
    case 'string':
      return check(leaf, text);
    case 'number': {
      const trimmed = text.trim();
      if (!/^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/.test(trimmed)) return bad(`${shown} is not a number`);
      return check(leaf, Number(trimmed));
    }
    case 'boolean': {
      const word = text.trim().toLowerCase();
      if (['true', '1', 'yes', 'on'].includes(word)) return ok(true);
      if (['false', '0', 'no', 'off'].includes(word)) return ok(false);
      return bad(`${shown} is not a boolean (true/false, 1/0, yes/no, on/off)`);
    }
    case 'string[]':
      return check(
        leaf,
        text
          .split(',')
          .map((item) => item.trim())
          .filter((item) => item !== ''),
      );
    case 'duration':
      return duration(leaf, text);
  }
}

function fromFlag(leaf: Leaf, raw: Exclude<FlagValue, undefined>): Result {
  const { spec } = leaf;
  if (typeof raw === 'string') return fromText(leaf, raw);
  if (Array.isArray(raw)) {
    if (spec.type === 'string[]') {
      return fromText(leaf, (raw as readonly string[]).join(','));
    }
    return bad(`was given ${raw.length} times; give it once`);
  }
  if (typeof raw === 'boolean' && spec.type !== 'boolean') return bad(`needs a value (${TYPE_NAMES[spec.type]})`);
  return fromStructured(leaf, raw);
}

function duration(leaf: Leaf, value: string | number): Result {
  try {
    return check(leaf, parseDuration({ value }));
  } catch (error) {
    if (error instanceof CorralError && error.code === DaemonErrorCode.DurationInvalid) {
      return bad(leaf.spec.secret ? 'the value is not a valid duration' : error.message);
    }
    throw error;
  }
}

/** Checks allowed values and bounds. */
function check(leaf: Leaf, value: unknown): Result {
  const { spec } = leaf;
  if (spec.values !== undefined) {
    const allowed = spec.values;
    const items = Array.isArray(value) ? (value as string[]) : [value as string];
    for (const item of items) {
      if (!allowed.includes(item)) {
        const guess = closest(item, allowed);
        const shown = spec.secret ? 'the value' : JSON.stringify(item);
        return bad(
          `${shown} is not allowed${guess ? ` (did you mean ${JSON.stringify(guess)}?)` : ''}; allowed: ${allowed.join(', ')}`,
        );
      }
    }
  }
  if (typeof value === 'number') {
    const unit = spec.type === 'duration' ? 'ms' : '';
    if (spec.integer && !Number.isInteger(value)) return bad(`${value} is not a whole number`);
    if (spec.min !== undefined && value < spec.min)
      return bad(`${value}${unit} is less than the minimum ${spec.min}${unit}`);
    if (spec.max !== undefined && value > spec.max)
      return bad(`${value}${unit} is more than the maximum ${spec.max}${unit}`);
  }
  return ok(value);
}

export interface ReloadConfigOptions<S extends ConfigSchema> extends LoadConfigOptions<S> {
  /** The configuration the daemon runs with now. */
  readonly current: LoadedConfig<S>;
}

/** The outcome of a reload: the configuration to run with from now on, and what changed. */
export type ReloadResult<S extends ConfigSchema> =
  | {
      readonly ok: true;
      /** The new configuration; keys that need a restart keep their running values. */
      readonly loaded: LoadedConfig<S>;
      /** Dotted keys whose values change now. */
      readonly changed: readonly string[];
      /** Dotted keys whose new values (`reloadable: false`) take effect only after a restart. */
      readonly restartRequired: readonly string[];
    }
  | {
      readonly ok: false;
      /** Why the new configuration was refused. */
      readonly error: ConfigError;
      /** The running configuration, unchanged. */
      readonly loaded: LoadedConfig<S>;
    };

/**
 * Loads the configuration again (on SIGHUP): the file is read afresh, with the same environment and flags. Never
 * throws a configuration problem: a bad file yields `ok: false` with the problems, and the running configuration is
 * returned unchanged so the daemon keeps going with it.
 *
 * Keys marked `reloadable: false` (a listen address, a database URL) keep their running values; when the file
 * changes them they are listed in `restartRequired`.
 * @returns the configuration to use from now on and what changed, or the problems.
 * @example
 * const result = reloadConfig({ ...loadOptions, current });
 * if (result.ok) current = result.loaded; else log.error({ err: result.error }, 'reload refused');
 */
export function reloadConfig<const S extends ConfigSchema>(options: ReloadConfigOptions<S>): ReloadResult<S> {
  const { current } = options;
  let next: LoadedConfig<S>;
  try {
    next = loadConfig(options);
  } catch (error) {
    if (error instanceof ConfigError) return { ok: false, error, loaded: current };
    throw error;
  }
  const envPrefix = options.envPrefix ?? 'CORRAL_';
  const changed: string[] = [];
  const restartRequired: string[] = [];
  const origins = new Map(next.origins);
  const root = structuredClone(next.config) as Record<string, unknown>;
  for (const leaf of leaves(options.schema, envPrefix)) {
    const before = valueAt(current.config, leaf.path);
    const after = valueAt(next.config, leaf.path);
    if (sameValue(before, after)) continue;
    if (leaf.spec.reloadable === false) {
      restartRequired.push(leaf.key);
      let node = root;
      for (const part of leaf.path.slice(0, -1)) node = node[part] as Record<string, unknown>;
      node[leaf.path[leaf.path.length - 1]!] = before;
      const origin = current.origins.get(leaf.key);
      if (origin) origins.set(leaf.key, origin);
      else origins.delete(leaf.key);
    } else {
      changed.push(leaf.key);
    }
  }
  return {
    ok: true,
    loaded: { config: deepFreeze(root) as Config<S>, origins, warnings: next.warnings },
    changed,
    restartRequired,
  };
}

function valueAt(config: object, path: readonly string[]): unknown {
  let node: unknown = config;
  for (const part of path) node = (node as Record<string, unknown> | undefined)?.[part];
  return node;
}

function sameValue(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((item, i) => item === b[i]);
  return a === b;
}

/** One row of the configuration reference. */
export interface ConfigReferenceRow {
  /** Dotted key, as in the file's nesting. */
  readonly key: string;
  readonly type: ConfigValueType;
  readonly env: string;
  readonly flag: string;
  readonly description: string;
  readonly default?: string | number | boolean | readonly string[];
  readonly values?: readonly string[];
  readonly required: boolean;
  readonly reloadable: boolean;
}

export interface ConfigReferenceOptions<S extends ConfigSchema> {
  readonly schema: S;
  /** As for {@link loadConfig}. Default: `CORRAL_`. */
  readonly envPrefix?: string;
  /** Defaults that override the schema's, as for {@link loadConfig}. */
  readonly defaults?: ConfigDefaults<S>;
}

/**
 * Every key of a schema with its environment variable, flag, default and description, for `--help` and docs.
 * @returns one row per key, in schema order.
 */
export function configReference<const S extends ConfigSchema>(
  options: ConfigReferenceOptions<S>,
): ConfigReferenceRow[] {
  return leaves(options.schema, options.envPrefix ?? 'CORRAL_').map((leaf) => {
    const override = valueAt(options.defaults ?? {}, leaf.path) as ConfigReferenceRow['default'];
    const value = override ?? leaf.spec.default;
    return {
      key: leaf.key,
      type: leaf.spec.type,
      env: leaf.env,
      flag: leaf.flag,
      description: leaf.spec.description,
      ...(value === undefined || leaf.spec.secret ? {} : { default: value }),
      ...(leaf.spec.values === undefined ? {} : { values: leaf.spec.values }),
      required: leaf.spec.required ?? false,
      reloadable: leaf.spec.reloadable ?? true,
    };
  });
}
