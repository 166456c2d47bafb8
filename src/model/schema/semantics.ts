/**
 * @module Template-wide rules that no single field can check: names unique across scopes, step dependencies,
 * combination expressions against their parameters, and every format string's references against the values
 * available where it is resolved (§7.3.1).
 */
import { checkCombinationExpr, parseCombinationExpr } from '../combination-expr.js';
import { ExpressionError } from '../errors.js';
import { type FormatString, parseFormatString } from '../format-string.js';
import { IntRangeExpr } from '../range-expr.js';
import type {
  Action,
  EmbeddedFile,
  Environment,
  EnvironmentTemplate,
  JobParameterDefinition,
  JobTemplate,
  StepTemplate,
} from '../types.js';
import { SIMPLE_ACTION_KEYS } from '../types.js';
import { type Checker, closest, type Path, sub } from './core.js';
import { hasInterpolation } from './leaves.js';

const SESSION_VALUES = ['Session.WorkingDirectory', 'Session.HasPathMappingRules', 'Session.PathMappingRulesFile'];

/** The value references available to one group of format strings. */
interface Scope {
  /** Names shared by many scopes (parameters, session values). */
  readonly shared: ReadonlySet<string>;
  /** Names of this scope alone (task parameters, embedded files): a few, so a list beats a set. */
  readonly own: readonly string[];
  /** Describes where these strings are resolved, for messages ("in a step script"). */
  readonly where: string;
}

const EMPTY: readonly string[] = [];
const inScope = (scope: Scope, name: string) => scope.shared.has(name) || scope.own.includes(name);
const namesOf = (scope: Scope) => [...scope.shared, ...scope.own];

class FormatChecker {
  readonly #cache = new Map<string, FormatString | ExpressionError>();
  readonly #params: readonly Partial<JobParameterDefinition>[];
  readonly template: Scope;
  readonly #host: ReadonlySet<string>;
  readonly #checker: Checker;

  constructor(params: readonly Partial<JobParameterDefinition>[], checker: Checker) {
    this.#params = params;
    this.#checker = checker;
    const template = new Set<string>();
    const host = new Set<string>(SESSION_VALUES);
    for (const p of params) {
      if (typeof p.name !== 'string') continue;
      template.add(`RawParam.${p.name}`);
      if (p.type !== 'PATH') template.add(`Param.${p.name}`);
      host.add(`Param.${p.name}`);
      host.add(`RawParam.${p.name}`);
    }
    this.template = { shared: template, own: EMPTY, where: 'where the value is resolved when the job is created' };
    this.#host = host;
  }

  /** A host scope: template values plus PATH parameters, session values and the given extras. */
  host(where: string, extra: readonly string[]): Scope {
    return { shared: this.#host, own: extra.length === 0 ? EMPTY : extra, where };
  }

  /** Checks one format string (anything not a string with `{{` is skipped). */
  check(value: unknown, path: Path, scope: Scope): void {
    if (typeof value !== 'string' || !hasInterpolation(value)) return;
    let parsed = this.#cache.get(value);
    if (parsed === undefined) {
      try {
        parsed = parseFormatString(value);
      } catch (error) {
        if (!(error instanceof ExpressionError)) throw error;
        parsed = error;
      }
      this.#cache.set(value, parsed);
    }
    if (parsed instanceof ExpressionError) {
      this.#checker.report(path, parsed.message);
      return;
    }
    for (const ref of parsed.references) {
      if (!inScope(scope, ref.name)) this.#checker.report(path, this.#explain(ref.name, scope));
    }
  }

  #explain(name: string, scope: Scope): string {
    const base = `'{{${name}}}'`;
    if (name === 'Job.Name' || name === 'Step.Name') {
      return `${base} belongs to the EXPR extension, which Corral does not support yet`;
    }
    const [head, second, third] = name.split('.');
    if (head === 'Param' && third === undefined && second !== undefined) {
      const def = this.#params.find((p) => p.name === second);
      if (def?.type === 'PATH' && inScope(scope, `RawParam.${second}`)) {
        return `${base} is a PATH parameter, whose path-mapped value exists only on the worker; use '{{RawParam.${second}}}' ${scope.where}`;
      }
    }
    if (
      (head === 'Task' || head === 'Session' || head === 'Env') &&
      !namesOf(scope).some((n) => n.startsWith(`${head}.`))
    ) {
      return `${base} is not available ${scope.where}`;
    }
    const hint = closest(name, namesOf(scope));
    const last = name.slice(name.lastIndexOf('.') + 1);
    let what = 'no such value';
    if (head === 'Param' || head === 'RawParam') what = `no job parameter named '${second ?? ''}'`;
    else if ((head === 'Task' || head === 'Env') && second === 'File') what = `no embedded file named '${last}'`;
    else if (head === 'Task' && (second === 'Param' || second === 'RawParam'))
      what = `no task parameter named '${last}'`;
    return `${base} is not defined: ${what} ${scope.where}${hint ? ` (did you mean '{{${hint}}}'?)` : ''}`;
  }
}

function checkAction(action: Partial<Action> | undefined, path: Path, scope: Scope, fc: FormatChecker): void {
  if (!action) return;
  fc.check(action.command, sub(path, 'command'), scope);
  action.args?.forEach((arg, i) => fc.check(arg, sub(path, 'args', i), scope));
  fc.check(action.timeout, sub(path, 'timeout'), fc.template);
  if (action.cancelation?.mode === 'NOTIFY_THEN_TERMINATE') {
    fc.check(action.cancelation.notifyPeriodInSeconds, sub(path, 'cancelation', 'notifyPeriodInSeconds'), fc.template);
  }
}

function fileNames(files: readonly Partial<EmbeddedFile>[] | undefined, prefix: string): string[] {
  return (files ?? []).flatMap((f) => (typeof f.name === 'string' ? [`${prefix}.${f.name}`] : []));
}

function checkEmbeddedFiles(
  files: readonly Partial<EmbeddedFile>[] | undefined,
  path: Path,
  scope: Scope,
  fc: FormatChecker,
) {
  files?.forEach((file, i) => fc.check(file.data, sub(path, 'embeddedFiles', i, 'data'), scope));
}

function checkEnvironment(env: Partial<Environment>, path: Path, fc: FormatChecker): void {
  const scope = fc.host('in this environment', fileNames(env.script?.embeddedFiles, 'Env.File'));
  for (const [name, value] of Object.entries(env.variables ?? {})) fc.check(value, sub(path, 'variables', name), scope);
  if (env.script) {
    const actionsPath = sub(path, 'script', 'actions');
    checkAction(env.script.actions?.onEnter, sub(actionsPath, 'onEnter'), scope, fc);
    checkAction(env.script.actions?.onExit, sub(actionsPath, 'onExit'), scope, fc);
    checkEmbeddedFiles(env.script.embeddedFiles, sub(path, 'script'), scope, fc);
  }
}

function checkStep(step: Partial<StepTemplate>, path: Path, fc: FormatChecker, checker: Checker): void {
  const host = step.hostRequirements;
  host?.amounts?.forEach((amount, i) => {
    const at = sub(path, 'hostRequirements', 'amounts', i);
    for (const key of ['name', 'min', 'max'] as const) fc.check(amount[key], sub(at, key), fc.template);
  });
  host?.attributes?.forEach((attribute, i) => {
    const at = sub(path, 'hostRequirements', 'attributes', i);
    fc.check(attribute.name, sub(at, 'name'), fc.template);
    for (const key of ['anyOf', 'allOf'] as const)
      attribute[key]?.forEach((v, j) => fc.check(v, sub(at, key, j), fc.template));
  });

  const params = step.parameterSpace?.taskParameterDefinitions ?? [];
  params.forEach((param, i) => {
    const at = sub(path, 'parameterSpace', 'taskParameterDefinitions', i);
    if (typeof param.range === 'string') fc.check(param.range, sub(at, 'range'), fc.template);
    else param.range?.forEach((item, j) => fc.check(item, sub(at, 'range', j), fc.template));
    if (param.chunks) {
      fc.check(param.chunks.defaultTaskCount, sub(at, 'chunks', 'defaultTaskCount'), fc.template);
      fc.check(param.chunks.targetRuntimeSeconds, sub(at, 'chunks', 'targetRuntimeSeconds'), fc.template);
    }
  });
  checkCombination(step, path, checker);

  step.stepEnvironments?.forEach((env, i) => checkEnvironment(env, sub(path, 'stepEnvironments', i), fc));

  const taskValues = params.flatMap((p) =>
    typeof p.name === 'string' ? [`Task.Param.${p.name}`, `Task.RawParam.${p.name}`] : [],
  );
  if (step.script) {
    const scope = fc.host('in this step', [...taskValues, ...fileNames(step.script.embeddedFiles, 'Task.File')]);
    checkAction(step.script.actions?.onRun, sub(path, 'script', 'actions', 'onRun'), scope, fc);
    checkEmbeddedFiles(step.script.embeddedFiles, sub(path, 'script'), scope, fc);
  }
  for (const key of SIMPLE_ACTION_KEYS) {
    const simple = step[key];
    if (!simple) continue;
    const scope = fc.host('in this step', taskValues);
    fc.check(simple.script, sub(path, key, 'script'), scope);
    checkAction({ command: 'x', ...simple } as Action, sub(path, key), scope, fc);
  }
}

/** Checks the combination expression against the step's task parameters (lengths only when all are literal). */
// The same combination over the same parameter lengths recurs step after step; its verdict is computed once.
const combinationVerdicts = new Map<string, string | undefined>();

function checkCombination(step: Partial<StepTemplate>, path: Path, checker: Checker): void {
  const space = step.parameterSpace;
  if (!space?.combination) return;
  const lengths = new Map<string, number>();
  let allKnown = true;
  for (const param of space.taskParameterDefinitions ?? []) {
    if (typeof param.name !== 'string') return; // reported already; names unknown
    const length = literalLength(param.range);
    if (length === undefined) allKnown = false;
    lengths.set(param.name, length ?? 1);
  }
  // Ranges that are format strings have no length yet; then only names and structure are checked now, and
  // lengths again when the job is created.
  if (!allKnown) for (const name of lengths.keys()) lengths.set(name, 1);
  const chunked = space.taskParameterDefinitions?.find((p) => p.type === 'CHUNK[INT]')?.name;
  const key = `${space.combination}\u0000${[...lengths].join(',')}\u0000${chunked ?? ''}`;
  let verdict = combinationVerdicts.get(key);
  if (verdict === undefined && !combinationVerdicts.has(key)) {
    try {
      const tree = parseCombinationExpr(space.combination);
      checkCombinationExpr(tree, { text: space.combination, lengths, ...(chunked ? { chunked } : {}) });
    } catch (error) {
      if (!(error instanceof ExpressionError)) throw error;
      verdict = error.message;
    }
    if (combinationVerdicts.size < 10_000) combinationVerdicts.set(key, verdict);
  }
  if (verdict !== undefined) checker.report(sub(path, 'parameterSpace', 'combination'), verdict);
}

// Templates repeat the same ranges and combinations across steps; each distinct one is parsed once per process.
const rangeLengths = new Map<string, number | undefined>();

/** Number of values of a range if it is known before job creation. */
function literalLength(range: readonly (number | string)[] | string | undefined): number | undefined {
  if (range === undefined) return undefined;
  if (typeof range !== 'string') return range.length;
  if (hasInterpolation(range)) return undefined;
  if (!rangeLengths.has(range)) {
    let length: number | undefined;
    try {
      length = IntRangeExpr.parse(range).length;
    } catch {
      length = undefined;
    }
    if (rangeLengths.size < 10_000) rangeLengths.set(range, length);
    return length;
  }
  return rangeLengths.get(range);
}

/** Reports dependencies on unknown steps, on the step itself, repeated ones, and cycles. */
function checkDependencies(steps: readonly Partial<StepTemplate>[], checker: Checker): void {
  const index = new Map<string, number>();
  steps.forEach((step, i) => {
    if (typeof step.name === 'string' && !index.has(step.name)) index.set(step.name, i);
  });
  const edges: number[][] = steps.map(() => []);
  steps.forEach((step, i) => {
    const seen = new Set<string>();
    step.dependencies?.forEach((dep, j) => {
      const at = sub(undefined, 'steps', i, 'dependencies', j, 'dependsOn');
      const target = dep.dependsOn;
      if (typeof target !== 'string') return;
      if (target === step.name) checker.report(at, `step '${target}' cannot depend on itself`);
      else if (!index.has(target)) {
        const hint = closest(target, index.keys());
        checker.report(at, `no step named '${target}'${hint ? ` (did you mean '${hint}'?)` : ''}`);
      } else if (seen.has(target)) checker.report(at, `'${target}' is listed twice`);
      else edges[i]!.push(index.get(target)!);
      seen.add(target);
    });
  });
  // Depth-first search with colours; the first back edge found names the cycle.
  const colour = new Uint8Array(steps.length);
  const stack: number[] = [];
  const visit = (i: number): boolean => {
    colour[i] = 1;
    stack.push(i);
    for (const j of edges[i]!) {
      if (colour[j] === 1) {
        const cycle = [...stack.slice(stack.indexOf(j)), j].map((k) => `'${steps[k]!.name}'`);
        checker.report(
          sub(undefined, 'steps', j, 'dependencies'),
          `steps depend on each other in a cycle: ${cycle.join(' -> ')}`,
        );
        return true;
      }
      if (colour[j] === 0 && visit(j)) return true;
    }
    stack.pop();
    colour[i] = 2;
    return false;
  };
  for (let i = 0; i < steps.length; i++) if (colour[i] === 0 && visit(i)) break;
}

/** Environment names must differ between the job's environments and every step's. */
function checkEnvironmentNames(template: Partial<JobTemplate>, checker: Checker): void {
  const jobNames = new Map<string, number>();
  template.jobEnvironments?.forEach((env, i) => {
    if (typeof env.name === 'string') jobNames.set(env.name, i);
  });
  template.steps?.forEach((step, i) => {
    step.stepEnvironments?.forEach((env, j) => {
      if (typeof env.name === 'string' && jobNames.has(env.name)) {
        checker.report(
          sub(undefined, 'steps', i, 'stepEnvironments', j, 'name'),
          `environment name '${env.name}' is already used by jobEnvironments[${jobNames.get(env.name)}]`,
        );
      }
    });
  });
}

/** Runs the template-wide rules of a job template. */
export function checkJobTemplateSemantics(template: Partial<JobTemplate>, checker: Checker): void {
  const fc = new FormatChecker(template.parameterDefinitions ?? [], checker);
  fc.check(template.name, sub(undefined, 'name'), fc.template);
  template.jobEnvironments?.forEach((env, i) => checkEnvironment(env, sub(undefined, 'jobEnvironments', i), fc));
  template.steps?.forEach((step, i) => checkStep(step, sub(undefined, 'steps', i), fc, checker));
  checkEnvironmentNames(template, checker);
  if (template.steps) checkDependencies(template.steps, checker);
}

/** Runs the template-wide rules of an environment template. */
export function checkEnvironmentTemplateSemantics(template: Partial<EnvironmentTemplate>, checker: Checker): void {
  const fc = new FormatChecker(template.parameterDefinitions ?? [], checker);
  if (template.environment) checkEnvironment(template.environment, sub(undefined, 'environment'), fc);
}
