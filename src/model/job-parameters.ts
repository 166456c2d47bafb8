/**
 * @module Job parameters: merging the definitions of a job template with those of environment templates (§1.2.1),
 * and turning submitted values into checked, canonical values (§2, §7.4).
 */
import * as posixPath from 'node:path/posix';
import * as windowsPath from 'node:path/win32';
import { FloatLiteral } from './document.js';
import { CorralError, ModelErrorCode, ParameterError, type ValidationIssue } from './errors.js';
import { describeValue } from './schema/core.js';
import { formatNumber, INT64_MAX, INT64_MIN, parseFloatString, parseIntString } from './schema/leaves.js';
import { floatOf, floatValueProblem, intOf, intValueProblem, stringValueProblem } from './schema/parameters.js';
import type {
  EnvironmentTemplate,
  FloatParameterDefinition,
  IntParameterDefinition,
  JobParameterDefinition,
  JobParameterType,
  JobTemplate,
  PathParameterDefinition,
  StringParameterDefinition,
} from './types.js';

/** A job parameter's value as the job sees it: its type and its canonical text. */
export interface JobParameterValue {
  readonly type: JobParameterType;
  readonly value: string;
}

/** Values of all of a job's parameters, by name. */
export type JobParameterValues = Readonly<Record<string, JobParameterValue>>;

export type PathFormat = 'posix' | 'windows';

// ---------------------------------------------------------------------------------------------------------------
// Merging definitions

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * Merges the parameter definitions of environment templates (in the order they apply) and the job template
 * (always last). Constraints may only narrow: allowed values intersect, minimums take the largest, maximums the
 * smallest; the default is the last one given. The result must be consistent (its default satisfies it).
 * @throws {ParameterError} `CORRAL_E_PARAMETER_CONFLICT` listing every conflict.
 */
export function mergeJobParameterDefinitions(options: {
  jobTemplate?: JobTemplate;
  environmentTemplates?: readonly EnvironmentTemplate[];
  /** Names for the environment templates in messages (file paths), in the same order. */
  environmentTemplateNames?: readonly string[];
}): JobParameterDefinition[] {
  const sources: { label: string; definitions: readonly JobParameterDefinition[] }[] = [];
  (options.environmentTemplates ?? []).forEach((template, i) => {
    const name = options.environmentTemplateNames?.[i];
    sources.push({
      label: name ? `environment template '${name}'` : `environment template #${i + 1}`,
      definitions: template.parameterDefinitions ?? [],
    });
  });
  if (options.jobTemplate)
    sources.push({ label: 'the job template', definitions: options.jobTemplate.parameterDefinitions ?? [] });

  const merged = new Map<string, { def: Mutable<JobParameterDefinition>; from: string }>();
  const issues: ValidationIssue[] = [];
  for (const { label, definitions } of sources) {
    for (const def of definitions) {
      const existing = merged.get(def.name);
      if (!existing) {
        merged.set(def.name, { def: { ...def } as Mutable<JobParameterDefinition>, from: label });
        continue;
      }
      const problem = mergeInto(existing.def, def);
      if (problem)
        issues.push({ path: [], message: `parameter '${def.name}': ${problem} (${existing.from} and ${label})` });
      existing.from = label;
    }
  }
  for (const { def } of merged.values()) {
    const problem = consistencyProblem(def);
    if (problem) issues.push({ path: [], message: `parameter '${def.name}' after merging: ${problem}` });
  }
  if (issues.length > 0) {
    throw new ParameterError(ModelErrorCode.ParameterConflict, 'The job parameter definitions conflict.', issues);
  }
  return [...merged.values()].map((entry) => entry.def);
}

function mergeInto(target: Mutable<JobParameterDefinition>, next: JobParameterDefinition): string | undefined {
  if (target.type !== next.type) return `defined as ${target.type} and as ${next.type}`;
  if (target.type === 'PATH' && next.type === 'PATH') {
    for (const key of ['objectType', 'dataFlow'] as const) {
      if (target[key] !== undefined && next[key] !== undefined && target[key] !== next[key]) {
        return `${key} is ${target[key]} in one definition and ${next[key]} in another`;
      }
      if (next[key] !== undefined) (target as Mutable<PathParameterDefinition>)[key] = next[key] as never;
    }
  }
  const t = target as Record<string, unknown>;
  const n = next as unknown as Record<string, unknown>;
  const numeric = target.type === 'INT' || target.type === 'FLOAT';
  const comparable = (v: unknown): number | bigint | string | undefined =>
    target.type === 'INT'
      ? intOf(v as number | string)
      : target.type === 'FLOAT'
        ? floatOf(v as number | string)
        : (v as string);
  for (const [key, pick] of [
    ['minLength', 'max'],
    ['maxLength', 'min'],
    ['minValue', 'max'],
    ['maxValue', 'min'],
  ] as const) {
    if (n[key] === undefined) continue;
    if (t[key] === undefined) {
      t[key] = n[key];
      continue;
    }
    const a = comparable(t[key]);
    const b = comparable(n[key]);
    if (a === undefined || b === undefined) continue;
    if (pick === 'max' ? b > a : b < a) t[key] = n[key];
  }
  if (n.allowedValues !== undefined) {
    const next = n.allowedValues as unknown[];
    if (t.allowedValues === undefined) t.allowedValues = next;
    else {
      const keep = (t.allowedValues as unknown[]).filter((a) =>
        next.some((b) => (numeric ? comparable(a) === comparable(b) : a === b)),
      );
      if (keep.length === 0) return 'the allowedValues of the definitions have no value in common';
      t.allowedValues = keep;
    }
  }
  for (const key of ['default', 'description', 'userInterface'] as const) {
    if (n[key] !== undefined) t[key] = n[key];
  }
  return undefined;
}

function consistencyProblem(def: JobParameterDefinition): string | undefined {
  switch (def.type) {
    case 'STRING':
    case 'PATH': {
      if (typeof def.minLength === 'number' && typeof def.maxLength === 'number' && def.minLength > def.maxLength) {
        return `minLength ${def.minLength} is greater than maxLength ${def.maxLength}`;
      }
      const problems = (def.allowedValues ?? [])
        .map((v) => stringValueProblem({ ...def, allowedValues: undefined }, v))
        .filter(Boolean);
      if (problems.length > 0) return problems[0];
      return def.default === undefined ? undefined : prefixed('default', stringValueProblem(def, def.default));
    }
    case 'INT': {
      const min = intOf(def.minValue);
      const max = intOf(def.maxValue);
      if (min !== undefined && max !== undefined && min > max) return `minValue ${min} is greater than maxValue ${max}`;
      const value = intOf(def.default);
      return value === undefined ? undefined : prefixed('default', intValueProblem(def, value));
    }
    case 'FLOAT': {
      const min = floatOf(def.minValue);
      const max = floatOf(def.maxValue);
      if (min !== undefined && max !== undefined && min > max)
        return `minValue ${def.minValue} is greater than maxValue ${def.maxValue}`;
      const value = floatOf(def.default);
      return value === undefined ? undefined : prefixed('default', floatValueProblem(def, value, String(def.default)));
    }
  }
}

const prefixed = (what: string, problem: string | undefined) => (problem ? `${what} ${problem}` : undefined);

// ---------------------------------------------------------------------------------------------------------------
// Values

export interface PreprocessJobParametersOptions {
  /** The (merged) definitions. */
  readonly definitions: readonly JobParameterDefinition[];
  /** Submitted values by name: strings, numbers, or values read from a YAML/JSON file. */
  readonly values: Readonly<Record<string, unknown>>;
  /** Directory of the job template: relative PATH defaults are joined with it. Required if a PATH default is used. */
  readonly templateDirectory?: string;
  /** Directory relative submitted PATH values are joined with. Required if such a value is given. */
  readonly currentWorkingDirectory?: string;
  /** Let PATH defaults point outside the template directory (`../shared`). Default: false. */
  readonly allowTemplateDirectoryWalkUp?: boolean;
  /** Path syntax of the submitting host. Default: `posix`. */
  readonly pathFormat?: PathFormat;
}

/**
 * Checks submitted job parameter values against their definitions, fills in defaults, and returns each value's
 * canonical text. PATH values are made absolute: defaults against the template's directory (and must stay inside
 * it), submitted values against the current working directory; both are normalised.
 * @throws {ParameterError} `CORRAL_E_PARAMETER_INVALID` listing every problem (unknown names, missing values,
 *   values of the wrong type, broken constraints).
 */
export function preprocessJobParameterValues(options: PreprocessJobParametersOptions): JobParameterValues {
  const issues: ValidationIssue[] = [];
  const out: Record<string, JobParameterValue> = {};
  const known = new Set(options.definitions.map((d) => d.name));
  for (const name of Object.keys(options.values)) {
    if (!known.has(name)) {
      issues.push({
        path: [name],
        message:
          known.size === 0
            ? `the template defines no job parameters, but '${name}' was given`
            : `unknown job parameter '${name}'; the template defines ${[...known].join(', ')}`,
      });
    }
  }
  for (const def of options.definitions) {
    const given = Object.hasOwn(options.values, def.name);
    const raw = given ? options.values[def.name] : def.default;
    if (raw === undefined) {
      issues.push({
        path: [def.name],
        message: `no value given for job parameter '${def.name}', and it has no default`,
      });
      continue;
    }
    try {
      out[def.name] = { type: def.type, value: checkValue(def, raw, given, options) };
    } catch (error) {
      if (!(error instanceof ValueProblem)) throw error;
      issues.push({ path: [def.name], message: `${given ? '' : 'default '}${error.message}` });
    }
  }
  if (issues.length > 0) {
    throw new ParameterError(ModelErrorCode.ParameterInvalid, 'Invalid job parameter values.', issues);
  }
  return out;
}

class ValueProblem extends Error {}

function scalarText(raw: unknown): string {
  if (typeof raw === 'string') return raw;
  if (typeof raw === 'number' || typeof raw === 'bigint' || raw instanceof FloatLiteral) return formatNumber(raw);
  if (typeof raw === 'boolean') return String(raw);
  throw new ValueProblem(`expected a single value, got ${describeValue(raw)}`);
}

function checkValue(
  def: JobParameterDefinition,
  raw: unknown,
  given: boolean,
  options: PreprocessJobParametersOptions,
): string {
  switch (def.type) {
    case 'STRING':
      return checkString(def, scalarText(raw));
    case 'PATH':
      return checkPath(def, scalarText(raw), given, options);
    case 'INT':
      return checkInt(def, raw);
    case 'FLOAT':
      return checkFloat(def, raw);
  }
}

function checkString(def: StringParameterDefinition, value: string): string {
  if (value.length > 1024) throw new ValueProblem(`is ${value.length} characters; values are at most 1024`);
  const problem = stringValueProblem(def, value);
  if (problem) throw new ValueProblem(problem);
  return value;
}

function checkInt(def: IntParameterDefinition, raw: unknown): string {
  let value: bigint | undefined;
  if (typeof raw === 'bigint') value = raw;
  else if (typeof raw === 'number' && Number.isInteger(raw)) value = BigInt(raw);
  else if (typeof raw === 'string') value = parseIntString(raw);
  if (value === undefined)
    throw new ValueProblem(
      `expected an integer for INT parameter '${def.name}', got ${describeValue(raw instanceof FloatLiteral ? formatNumber(raw) : raw)}`,
    );
  if (value < INT64_MIN || value > INT64_MAX) {
    throw new ValueProblem(`${value} is outside the 64-bit integer range of INT parameters`);
  }
  const problem = intValueProblem(def, value);
  if (problem) throw new ValueProblem(problem);
  return value.toString();
}

function checkFloat(def: FloatParameterDefinition, raw: unknown): string {
  let value: number | undefined;
  let text: string | undefined;
  if (typeof raw === 'string') {
    value = parseFloatString(raw);
    text = raw.trim();
  } else if (typeof raw === 'number' || typeof raw === 'bigint' || raw instanceof FloatLiteral) {
    value = raw instanceof FloatLiteral ? raw.value : Number(raw);
    text = formatNumber(raw);
  }
  if (value === undefined || text === undefined || !Number.isFinite(value)) {
    throw new ValueProblem(
      `expected a finite number for FLOAT parameter '${def.name}', got ${describeValue(raw instanceof FloatLiteral ? formatNumber(raw) : raw)}`,
    );
  }
  const problem = floatValueProblem(def, value, text);
  if (problem) throw new ValueProblem(problem);
  return text;
}

function checkPath(
  def: PathParameterDefinition,
  value: string,
  given: boolean,
  options: PreprocessJobParametersOptions,
): string {
  const format = options.pathFormat ?? 'posix';
  const p = format === 'windows' ? windowsPath : posixPath;
  let resolved: string;
  if (value === '') {
    resolved = value;
  } else if (given) {
    if (p.isAbsolute(value)) resolved = p.normalize(value);
    else {
      const cwd = requireDirectory(options.currentWorkingDirectory, 'currentWorkingDirectory', def.name);
      resolved = p.join(cwd, value);
    }
  } else {
    if (p.isAbsolute(value) || posixPath.isAbsolute(value) || windowsPath.isAbsolute(value)) {
      throw new ValueProblem(
        `${JSON.stringify(value)} is absolute; a PATH default must be relative to the job template's directory`,
      );
    }
    const relative = p.normalize(value);
    const escapes =
      relative === '..' || relative.startsWith(`..${p.sep}`) || (format === 'windows' && relative.startsWith('../'));
    if (escapes && !options.allowTemplateDirectoryWalkUp) {
      throw new ValueProblem(`${JSON.stringify(value)} leads outside the job template's directory`);
    }
    const base = requireDirectory(options.templateDirectory, 'templateDirectory', def.name);
    resolved = p.join(base, value);
  }
  // Normalised like os.path.normpath: no trailing separator except on a root.
  while (
    resolved.length > 1 &&
    (resolved.endsWith(p.sep) || resolved.endsWith('/')) &&
    !/^[A-Za-z]:[\\/]$/.test(resolved)
  ) {
    resolved = resolved.slice(0, -1);
  }
  const problem = stringValueProblem(def, resolved);
  if (problem) throw new ValueProblem(problem);
  return resolved;
}

function requireDirectory(directory: string | undefined, option: string, name: string): string {
  if (directory === undefined) {
    throw new CorralError(
      ModelErrorCode.InvalidArgument,
      `preprocessJobParameterValues needs '${option}' to resolve the relative PATH parameter '${name}'.`,
    );
  }
  return directory;
}
