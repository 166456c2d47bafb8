/**
 * @module Job creation (§7.4): a template plus parameter values becomes a {@link Job}. Every template-scope format
 * string is resolved here (job name, host requirements, task parameter ranges, chunk sizes, FEATURE_BUNDLE_1
 * timeouts) and the results are checked again, since a value can only be judged once it is known. Host-scope
 * format strings (commands, arguments, embedded files, variables) stay for the worker to resolve.
 */
import { ExpressionError, JobCreationError, ModelErrorCode, type ValidationIssue } from './errors.js';
import { resolveFormatString } from './format-string.js';
import {
  type JobParameterValues,
  mergeJobParameterDefinitions,
  type PathFormat,
  preprocessJobParameterValues,
} from './job-parameters.js';
import { type ChunkSettings, type ResolvedTaskParameter, StepParameterSpace } from './parameter-space.js';
import { IntRangeExpr } from './range-expr.js';
import { codePointLength } from './schema/core.js';
import {
  attributeValueProblem,
  CONTROL_CHARS,
  capabilityNameProblem,
  hasInterpolation,
  parseFloatString,
  parseIntString,
} from './schema/leaves.js';
import type {
  Action,
  CancelationMethod,
  EmbeddedFile,
  Environment,
  EnvironmentTemplate,
  ExtensionName,
  JobParameterDefinition,
  JobTemplate,
  SimpleAction,
  SimpleActionKey,
  StepScript,
  StepTemplate,
} from './types.js';
import { SIMPLE_ACTION_KEYS } from './types.js';

/** An action whose timeout and notify period are known numbers. */
export interface ResolvedAction extends Action {
  readonly timeout?: number;
  readonly cancelation?:
    | { readonly mode: 'TERMINATE' }
    | { readonly mode: 'NOTIFY_THEN_TERMINATE'; readonly notifyPeriodInSeconds?: number };
}

export interface ResolvedEnvironment extends Environment {
  readonly script?: {
    readonly actions: { readonly onEnter: ResolvedAction; readonly onExit?: ResolvedAction };
    readonly embeddedFiles?: readonly EmbeddedFile[];
  };
}

export interface ResolvedStepScript extends StepScript {
  readonly actions: { readonly onRun: ResolvedAction };
}

export interface ResolvedAmountRequirement {
  readonly name: string;
  readonly min?: number;
  readonly max?: number;
}

export interface ResolvedAttributeRequirement {
  readonly name: string;
  readonly anyOf?: readonly string[];
  readonly allOf?: readonly string[];
}

export interface ResolvedHostRequirements {
  readonly amounts: readonly ResolvedAmountRequirement[];
  readonly attributes: readonly ResolvedAttributeRequirement[];
}

/** A step of a created job. */
export interface JobStep {
  readonly name: string;
  readonly description?: string;
  /** Names of the steps that must succeed before this one starts. */
  readonly dependsOn: readonly string[];
  readonly stepEnvironments: readonly ResolvedEnvironment[];
  readonly hostRequirements?: ResolvedHostRequirements;
  /** The step's tasks, lazily: counts, iteration, chunks. */
  readonly parameterSpace: StepParameterSpace;
  /** The script run for each task; a FEATURE_BUNDLE_1 simple action appears here in its expanded form. */
  readonly script: ResolvedStepScript;
}

/** A job: what a template and parameter values describe, ready to schedule or run. */
export interface Job {
  readonly name: string;
  readonly description?: string;
  readonly extensions: readonly ExtensionName[];
  /** The merged parameter definitions of the environment templates and the job template. */
  readonly parameterDefinitions: readonly JobParameterDefinition[];
  readonly parameters: JobParameterValues;
  /** Environments from environment templates, entered first, in order. */
  readonly externalEnvironments: readonly ResolvedEnvironment[];
  readonly jobEnvironments: readonly ResolvedEnvironment[];
  readonly steps: readonly JobStep[];
}

export interface CreateJobOptions {
  readonly template: JobTemplate;
  /** Environment templates applied to the job (a queue's, or `--env` files), in the order they are entered. */
  readonly environmentTemplates?: readonly EnvironmentTemplate[];
  /** Names of the environment templates for messages, same order. */
  readonly environmentTemplateNames?: readonly string[];
  /** Submitted values by job parameter name. */
  readonly parameterValues?: Readonly<Record<string, unknown>>;
  /** The job template's directory; relative PATH defaults are joined with it. */
  readonly templateDirectory?: string;
  /** Relative submitted PATH values are joined with it. */
  readonly currentWorkingDirectory?: string;
  readonly allowTemplateDirectoryWalkUp?: boolean;
  readonly pathFormat?: PathFormat;
}

/**
 * Creates a job from a decoded template and submitted parameter values.
 * @throws {ParameterError} `CORRAL_E_PARAMETER_CONFLICT` or `CORRAL_E_PARAMETER_INVALID` for parameter problems.
 * @throws {JobCreationError} `CORRAL_E_JOB_INVALID` listing every template-scope value that resolved to something
 *   invalid (a job name too long, a host requirement name that is not a capability, a range that does not parse…).
 */
export function createJob(options: CreateJobOptions): Job {
  const { template } = options;
  const environmentTemplates = options.environmentTemplates ?? [];
  const definitions = mergeJobParameterDefinitions({
    jobTemplate: template,
    environmentTemplates,
    ...(options.environmentTemplateNames ? { environmentTemplateNames: options.environmentTemplateNames } : {}),
  });
  const parameters = preprocessJobParameterValues({
    definitions,
    values: options.parameterValues ?? {},
    ...pick(options, ['templateDirectory', 'currentWorkingDirectory', 'allowTemplateDirectoryWalkUp', 'pathFormat']),
  });

  const resolver = new TemplateResolver(parameters, new Set(template.extensions ?? []));
  const name = resolver.text(template.name, ['name']);
  if (name !== undefined) {
    const limit = resolver.extensions.has('FEATURE_BUNDLE_1') ? 512 : 128;
    if (name.length === 0) resolver.issue(['name'], 'the job name resolves to an empty string');
    else if (codePointLength(name) > limit) {
      resolver.issue(['name'], `the job name resolves to ${codePointLength(name)} characters; the limit is ${limit}`);
    } else if (CONTROL_CHARS.test(name))
      resolver.issue(['name'], 'the job name resolves to text with control characters');
  }
  const externalEnvironments = environmentTemplates.map((t, i) =>
    resolver.environment(t.environment, [`environmentTemplates[${i}]`, 'environment']),
  );
  const jobEnvironments = (template.jobEnvironments ?? []).map((env, i) =>
    resolver.environment(env, ['jobEnvironments', i]),
  );
  const steps = template.steps.map((step, i) => resolver.step(step, ['steps', i]));
  if (resolver.issues.length > 0) {
    throw new JobCreationError(ModelErrorCode.JobInvalid, `Cannot create a job from the template.`, resolver.issues);
  }
  return {
    name: name!,
    ...(template.description !== undefined ? { description: template.description } : {}),
    extensions: [...(template.extensions ?? [])],
    parameterDefinitions: definitions,
    parameters,
    externalEnvironments,
    jobEnvironments,
    steps: steps as JobStep[],
  };
}

function pick<T extends object, K extends keyof T>(source: T, keys: readonly K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const key of keys) if (source[key] !== undefined) out[key] = source[key];
  return out;
}

type Path = readonly (string | number)[];

/** Resolves template-scope values, collecting every problem. */
class TemplateResolver {
  readonly issues: ValidationIssue[] = [];
  readonly #values: Map<string, string>;
  readonly extensions: ReadonlySet<ExtensionName>;

  constructor(parameters: JobParameterValues, extensions: ReadonlySet<ExtensionName>) {
    this.extensions = extensions;
    this.#values = new Map();
    for (const [name, { type, value }] of Object.entries(parameters)) {
      this.#values.set(`RawParam.${name}`, value);
      // A PATH parameter's Param value is path-mapped, which only the worker can do.
      if (type !== 'PATH') this.#values.set(`Param.${name}`, value);
    }
  }

  issue(path: Path, message: string): undefined {
    this.issues.push({ path, message });
    return undefined;
  }

  /** Resolves a template-scope format string. */
  text(value: string, path: Path): string | undefined {
    if (!hasInterpolation(value)) return value;
    try {
      return resolveFormatString({ format: value, lookup: (name) => this.#values.get(name) });
    } catch (error) {
      if (error instanceof ExpressionError) return this.issue(path, error.message);
      throw error;
    }
  }

  /** Resolves an integer field that may be a number, an intstring, or a format string. */
  integer(
    value: number | string | undefined,
    path: Path,
    what: string,
    min: number,
    max = Number.MAX_SAFE_INTEGER,
  ): number | undefined {
    if (value === undefined) return undefined;
    if (typeof value === 'number') return value;
    const text = this.text(value, path);
    if (text === undefined) return undefined;
    const parsed = parseIntString(text);
    if (parsed === undefined)
      return this.issue(path, `${what} resolves to ${JSON.stringify(text)}, which is not an integer`);
    if (parsed < BigInt(min) || parsed > BigInt(max)) {
      return this.issue(
        path,
        `${what} resolves to ${parsed}; it must be ${max === Number.MAX_SAFE_INTEGER ? `at least ${min}` : `from ${min} to ${max}`}`,
      );
    }
    return Number(parsed);
  }

  number(value: number | string | undefined, path: Path, what: string): number | undefined {
    if (value === undefined || typeof value === 'number') return value;
    const text = this.text(value, path);
    if (text === undefined) return undefined;
    const parsed = parseFloatString(text);
    return parsed === undefined
      ? this.issue(path, `${what} resolves to ${JSON.stringify(text)}, which is not a number`)
      : parsed;
  }

  action(action: Action, path: Path): ResolvedAction {
    const timeout = this.integer(action.timeout, [...path, 'timeout'], 'timeout', 1);
    let cancelation: ResolvedAction['cancelation'];
    const method: CancelationMethod | undefined = action.cancelation;
    if (method?.mode === 'NOTIFY_THEN_TERMINATE') {
      const period = this.integer(
        method.notifyPeriodInSeconds,
        [...path, 'cancelation', 'notifyPeriodInSeconds'],
        'notifyPeriodInSeconds',
        1,
        600,
      );
      cancelation = period === undefined ? { mode: method.mode } : { mode: method.mode, notifyPeriodInSeconds: period };
    } else if (method) cancelation = { mode: 'TERMINATE' };
    const { timeout: _t, cancelation: _c, ...rest } = action;
    return { ...rest, ...(timeout !== undefined ? { timeout } : {}), ...(cancelation ? { cancelation } : {}) };
  }

  environment(env: Environment, path: Path): ResolvedEnvironment {
    if (!env.script) return env as ResolvedEnvironment;
    const actionsPath = [...path, 'script', 'actions'];
    const { onEnter, onExit } = env.script.actions;
    return {
      ...env,
      script: {
        ...env.script,
        actions: {
          onEnter: this.action(onEnter, [...actionsPath, 'onEnter']),
          ...(onExit ? { onExit: this.action(onExit, [...actionsPath, 'onExit']) } : {}),
        },
      },
    };
  }

  step(step: StepTemplate, path: Path): JobStep | undefined {
    // In the order of the template's fields, so problems are listed as they appear in the document.
    const stepEnvironments = (step.stepEnvironments ?? []).map((env, i) =>
      this.environment(env, [...path, 'stepEnvironments', i]),
    );
    const hostRequirements = step.hostRequirements ? this.hostRequirements(step, path) : undefined;
    const space = this.parameterSpace(step, path);
    const script = this.script(step, path);
    if (!script || !space) return undefined;
    return {
      name: step.name,
      ...(step.description !== undefined ? { description: step.description } : {}),
      dependsOn: (step.dependencies ?? []).map((d) => d.dependsOn),
      stepEnvironments,
      ...(hostRequirements ? { hostRequirements } : {}),
      parameterSpace: space,
      script,
    };
  }

  script(step: StepTemplate, path: Path): ResolvedStepScript | undefined {
    if (step.script) {
      return {
        ...step.script,
        actions: { onRun: this.action(step.script.actions.onRun, [...path, 'script', 'actions', 'onRun']) },
      };
    }
    const key = SIMPLE_ACTION_KEYS.find((k) => step[k] !== undefined);
    if (!key) return undefined;
    const expanded = expandSimpleAction(step.name, key, step[key]!);
    return { ...expanded, actions: { onRun: this.action(expanded.actions.onRun, [...path, key]) } };
  }

  hostRequirements(step: StepTemplate, path: Path): ResolvedHostRequirements {
    const at = [...path, 'hostRequirements'];
    const amounts: ResolvedAmountRequirement[] = [];
    const attributes: ResolvedAttributeRequirement[] = [];
    const seen = { amount: new Map<string, number>(), attr: new Map<string, number>() };
    const checkName = (kind: 'amount' | 'attr', raw: string, p: Path, index: number): string | undefined => {
      const name = this.text(raw, p);
      if (name === undefined) return undefined;
      const problem = capabilityNameProblem(kind, name);
      if (problem)
        return this.issue(p, hasInterpolation(raw) ? `resolves to ${JSON.stringify(name)}: ${problem}` : problem);
      const first = seen[kind].get(name.toLowerCase());
      if (first !== undefined) return this.issue(p, `'${name}' is required twice (also item ${first})`);
      seen[kind].set(name.toLowerCase(), index);
      return name;
    };
    step.hostRequirements?.amounts?.forEach((amount, i) => {
      const p = [...at, 'amounts', i];
      const name = checkName('amount', amount.name, [...p, 'name'], i);
      const min = this.number(amount.min, [...p, 'min'], 'min');
      const max = this.number(amount.max, [...p, 'max'], 'max');
      if (min !== undefined && min < 0) this.issue([...p, 'min'], `min resolves to ${min}; it must not be negative`);
      if (max !== undefined && max <= 0) this.issue([...p, 'max'], `max resolves to ${max}; it must be positive`);
      if (min !== undefined && max !== undefined && min > max)
        this.issue([...p, 'max'], `max (${max}) is less than min (${min})`);
      if (name !== undefined)
        amounts.push({ name, ...(min !== undefined ? { min } : {}), ...(max !== undefined ? { max } : {}) });
    });
    step.hostRequirements?.attributes?.forEach((attribute, i) => {
      const p = [...at, 'attributes', i];
      const name = checkName('attr', attribute.name, [...p, 'name'], i);
      const resolved: { anyOf?: string[]; allOf?: string[] } = {};
      for (const key of ['anyOf', 'allOf'] as const) {
        const values = attribute[key];
        if (!values) continue;
        resolved[key] = values.flatMap((raw, j) => {
          const value = this.text(raw, [...p, key, j]);
          if (value === undefined) return [];
          const problem = attributeValueProblem(name ?? '', value);
          if (problem) {
            this.issue(
              [...p, key, j],
              hasInterpolation(raw) ? `resolves to ${JSON.stringify(value)}: ${problem}` : problem,
            );
            return [];
          }
          return [value];
        });
      }
      if (name !== undefined) attributes.push({ name, ...resolved });
    });
    return { amounts, attributes };
  }

  parameterSpace(step: StepTemplate, path: Path): StepParameterSpace | undefined {
    const definition = step.parameterSpace;
    if (!definition) return StepParameterSpace.EMPTY;
    const at = [...path, 'parameterSpace'];
    const parameters: ResolvedTaskParameter[] = [];
    let ok = true;
    definition.taskParameterDefinitions.forEach((param, i) => {
      const p = [...at, 'taskParameterDefinitions', i];
      const values = this.range(param.type, param.range, [...p, 'range']);
      let chunks: ChunkSettings | undefined;
      if (param.type === 'CHUNK[INT]' && param.chunks) {
        const defaultTaskCount = this.integer(
          param.chunks.defaultTaskCount,
          [...p, 'chunks', 'defaultTaskCount'],
          'defaultTaskCount',
          1,
        );
        const targetRuntimeSeconds =
          this.integer(
            param.chunks.targetRuntimeSeconds,
            [...p, 'chunks', 'targetRuntimeSeconds'],
            'targetRuntimeSeconds',
            0,
          ) ?? 0;
        if (defaultTaskCount === undefined) ok = false;
        else chunks = { defaultTaskCount, targetRuntimeSeconds, rangeConstraint: param.chunks.rangeConstraint };
      }
      if (values === undefined) ok = false;
      else parameters.push({ name: param.name, type: param.type, values, ...(chunks ? { chunks } : {}) });
    });
    if (!ok) return undefined;
    try {
      return new StepParameterSpace({
        parameters,
        ...(definition.combination !== undefined ? { combination: definition.combination } : {}),
      });
    } catch (error) {
      if (error instanceof ExpressionError) return this.issue([...at, 'combination'], error.message);
      throw error;
    }
  }

  range(
    type: string,
    range: readonly (number | string)[] | string,
    path: Path,
  ): ResolvedTaskParameter['values'] | undefined {
    const isInt = type === 'INT' || type === 'CHUNK[INT]';
    if (typeof range === 'string') {
      const text = this.text(range, path);
      if (text === undefined) return undefined;
      try {
        return IntRangeExpr.parse(text);
      } catch (error) {
        if (error instanceof ExpressionError) {
          return this.issue(
            path,
            hasInterpolation(range) ? `resolves to ${JSON.stringify(text)}: ${error.message}` : error.message,
          );
        }
        throw error;
      }
    }
    let ok = true;
    const out = range.map((item, i): number | string => {
      if (typeof item === 'number') return isInt ? item : String(item);
      const text = this.text(item, [...path, i]);
      if (text === undefined) {
        ok = false;
        return '';
      }
      if (isInt) {
        const parsed = parseIntString(text);
        if (
          parsed === undefined ||
          parsed > BigInt(Number.MAX_SAFE_INTEGER) ||
          parsed < BigInt(Number.MIN_SAFE_INTEGER)
        ) {
          ok = false;
          this.issue([...path, i], `resolves to ${JSON.stringify(text)}, which is not an integer`);
          return 0;
        }
        return Number(parsed);
      }
      if (type === 'FLOAT' && parseFloatString(text) === undefined) {
        ok = false;
        this.issue([...path, i], `resolves to ${JSON.stringify(text)}, which is not a number`);
      } else if (type !== 'FLOAT' && (text.length === 0 || codePointLength(text) > 1024)) {
        ok = false;
        this.issue(
          [...path, i],
          `resolves to a value of ${codePointLength(text)} characters; values must have 1 to 1024`,
        );
      }
      return type === 'FLOAT' ? text.trim() : text;
    });
    if (!ok) return undefined;
    return isInt ? (out as number[]) : (out as string[]);
  }
}

const SIMPLE_ACTIONS: Record<SimpleActionKey, { command: string; prefix: readonly string[]; extension: string }> = {
  bash: { command: 'bash', prefix: [], extension: '.sh' },
  python: { command: 'python', prefix: [], extension: '.py' },
  node: { command: 'node', prefix: [], extension: '.js' },
  cmd: { command: 'cmd', prefix: ['/C'], extension: '.bat' },
  powershell: { command: 'powershell', prefix: ['-File'], extension: '.ps1' },
};

/** The embedded-file name a simple action's script gets. */
export const SIMPLE_ACTION_FILE = 'SimpleActionScript';

/**
 * Expands a FEATURE_BUNDLE_1 simple action into the step script it stands for: the script becomes a runnable
 * embedded file named after the step, run by the interpreter with the user's arguments after it.
 */
export function expandSimpleAction(stepName: string, key: SimpleActionKey, simple: SimpleAction): StepScript {
  const spec = SIMPLE_ACTIONS[key];
  const base =
    stepName
      .replace(/[^A-Za-z0-9_-]+/g, '_')
      .replace(/^_+|_+$/g, '')
      .slice(0, 64) || 'step';
  const onRun: Action = {
    command: spec.command,
    args: [...spec.prefix, `{{Task.File.${SIMPLE_ACTION_FILE}}}`, ...(simple.args ?? [])],
    ...(simple.timeout !== undefined ? { timeout: simple.timeout } : {}),
    ...(simple.cancelation !== undefined ? { cancelation: simple.cancelation } : {}),
  };
  return {
    actions: { onRun },
    embeddedFiles: [
      {
        name: SIMPLE_ACTION_FILE,
        type: 'TEXT',
        filename: `${base}${spec.extension}`,
        runnable: true,
        data: simple.script,
      },
    ],
  };
}
