/**
 * @module Schemas of steps (§3): dependencies, host requirements, the task parameter space and the step's script
 * (or a FEATURE_BUNDLE_1 simple action in its place).
 */
import { FloatLiteral } from '../document.js';
import { ExpressionError } from '../errors.js';
import { IntRangeExpr } from '../range-expr.js';
import type {
  AmountRequirement,
  AttributeRequirement,
  ChunksDefinition,
  HostRequirements,
  StepParameterSpaceDefinition,
  StepTemplate,
  TaskParameterDefinition,
} from '../types.js';
import { SIMPLE_ACTION_KEYS } from '../types.js';
import {
  type Checker,
  custom,
  describeValue,
  field,
  list,
  object,
  oneOf,
  optional,
  type Path,
  required,
  type Schema,
  sub,
  tagged,
} from './core.js';
import {
  asFloat,
  attributeValueProblem,
  capabilityNameProblem,
  description,
  float,
  formatNumber,
  hasInterpolation,
  identifier,
  integer,
  parseFloatString,
  parseIntString,
  text,
} from './leaves.js';
import { environments, letField, simpleAction, stepScript, withUniqueNames } from './scripts.js';

// ---------------------------------------------------------------------------------------------------------------
// Host requirements

function capabilityName(kind: 'amount' | 'attr'): Schema<string> {
  return custom(
    (value, path, checker) => {
      if (typeof value !== 'string') return checker.report(path, `expected a string, got ${describeValue(value)}`);
      // A format string is checked once resolved, at job creation.
      if (hasInterpolation(value)) return value;
      const problem = capabilityNameProblem(kind, value);
      return problem ? checker.report(path, problem) : value;
    },
    { type: 'string', minLength: 1, maxLength: 100 },
  );
}

const amountBound = (positive: boolean) =>
  optional(
    float({
      min: 0,
      exclusiveMin: positive,
      formatStringWith: 'FEATURE_BUNDLE_1',
      what: positive ? 'a positive number' : 'a non-negative number',
    }),
  );

const amountRequirement = object<AmountRequirement>(
  { name: required(capabilityName('amount')), min: amountBound(false), max: amountBound(true) },
  {
    name: 'AmountRequirement',
    refine(req, path, checker, raw) {
      if (!('min' in raw) && !('max' in raw)) checker.report(path, "an amount requirement needs 'min', 'max', or both");
      const min = numeric(req.min);
      const max = numeric(req.max);
      if (min !== undefined && max !== undefined && min > max) {
        checker.report(sub(path, 'max'), `max (${req.max}) is less than min (${req.min})`);
      }
    },
  },
);

/** A literal number from an amount bound, or undefined for a format string. */
function numeric(value: number | string | undefined): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && !hasInterpolation(value)) return parseFloatString(value);
  return undefined;
}

function attributeValues(): Schema<string[]> {
  return list(text({ min: 1 }), { min: 1, max: 50 });
}

const attributeRequirement = object<AttributeRequirement>(
  { name: required(capabilityName('attr')), anyOf: optional(attributeValues()), allOf: optional(attributeValues()) },
  {
    name: 'AttributeRequirement',
    refine(req, path, checker, raw) {
      if (!('anyOf' in raw) && !('allOf' in raw)) {
        checker.report(path, "an attribute requirement needs 'anyOf', 'allOf', or both");
      }
      const name = req.name !== undefined && !hasInterpolation(req.name) ? req.name : '';
      for (const key of ['anyOf', 'allOf'] as const) {
        req[key]?.forEach((value, i) => {
          if (hasInterpolation(value)) return;
          const problem = attributeValueProblem(name, value);
          if (problem) checker.report(sub(path, key, i), problem);
        });
      }
    },
  },
);

/** Reports capability names used twice in one list (names compare case-insensitively). */
function uniqueCapabilities(items: readonly { name?: string }[] | undefined, path: Path, checker: Checker): void {
  const seen = new Map<string, number>();
  items?.forEach((item, i) => {
    if (typeof item.name !== 'string' || hasInterpolation(item.name)) return;
    const key = item.name.toLowerCase();
    const first = seen.get(key);
    if (first !== undefined)
      checker.report(sub(path, i, 'name'), `'${item.name}' is required twice (also item ${first})`);
    else seen.set(key, i);
  });
}

const hostRequirements = object<HostRequirements>(
  {
    amounts: optional(list(amountRequirement, { min: 1 })),
    attributes: optional(list(attributeRequirement, { min: 1 })),
  },
  {
    name: 'HostRequirements',
    refine(req, path, checker, raw) {
      if (!('amounts' in raw) && !('attributes' in raw)) {
        checker.report(path, "hostRequirements needs 'amounts', 'attributes', or both");
      }
      const total =
        (Array.isArray(raw.amounts) ? raw.amounts.length : 0) +
        (Array.isArray(raw.attributes) ? raw.attributes.length : 0);
      if (total > 50) checker.report(path, `at most 50 requirements in all, has ${total}`);
      uniqueCapabilities(req.amounts, sub(path, 'amounts'), checker);
      uniqueCapabilities(req.attributes, sub(path, 'attributes'), checker);
    },
  },
);

// ---------------------------------------------------------------------------------------------------------------
// Parameter space

/** A range item: a literal of the parameter's type, or a format string resolved at job creation. */
function rangeItem(kind: 'INT' | 'FLOAT' | 'STRING'): Schema<number | string> {
  const taskString = text({ min: 1, max: 1024, formatString: true });
  return custom(
    (value, path, checker) => {
      if (kind === 'STRING') return taskString.check(value, path, checker);
      if (typeof value === 'string') {
        if (hasInterpolation(value)) return taskString.check(value, path, checker);
        const ok = kind === 'INT' ? parseIntString(value) !== undefined : parseFloatString(value) !== undefined;
        return ok
          ? value
          : checker.report(path, `expected ${kind === 'INT' ? 'an integer' : 'a number'}, got ${describeValue(value)}`);
      }
      if (kind === 'INT') {
        if (typeof value === 'bigint')
          return checker.report(path, `${value} is outside the supported range of task parameter values (±2^53)`);
        if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
        return checker.report(
          path,
          `expected an integer, got ${describeValue(value instanceof FloatLiteral ? formatNumber(value) : value)}`,
        );
      }
      const n = asFloat(value);
      if (n === undefined || !Number.isFinite(n))
        return checker.report(path, `expected a finite number, got ${describeValue(value)}`);
      return value instanceof FloatLiteral ? formatNumber(value) : n;
    },
    kind === 'STRING'
      ? { type: 'string' }
      : { oneOf: [{ type: kind === 'INT' ? 'integer' : 'number' }, { type: 'string' }] },
  );
}

const rangeList = (kind: 'INT' | 'FLOAT' | 'STRING') => list(rangeItem(kind), { min: 1, max: 1024 });

// Steps of one template tend to share ranges ("1-100"); each distinct expression is parsed once per process.
const rangeProblems = new Map<string, string | undefined>();

/** Why a range expression does not parse, or undefined. */
function rangeProblem(text: string): string | undefined {
  if (rangeProblems.has(text)) return rangeProblems.get(text);
  let problem: string | undefined;
  try {
    IntRangeExpr.parse(text);
  } catch (error) {
    if (!(error instanceof ExpressionError)) throw error;
    problem = error.message;
  }
  if (rangeProblems.size < 10_000) rangeProblems.set(text, problem);
  return problem;
}

/** INT ranges: a list, or a range expression string (checked now unless it is a format string). */
function intRange(): Schema<readonly (number | string)[] | string> {
  const asList = rangeList('INT');
  return custom(
    (value, path, checker) => {
      if (Array.isArray(value)) return asList.check(value, path, checker);
      if (typeof value !== 'string') {
        return checker.report(
          path,
          `expected a list of integers or a range expression like "1-100", got ${describeValue(value)}`,
        );
      }
      if (value.trim() === '') return checker.report(path, 'a range expression must not be empty');
      if (hasInterpolation(value)) return value;
      const problem = rangeProblem(value);
      return problem === undefined ? value : checker.report(path, `invalid range expression: ${problem}`);
    },
    {
      oneOf: [
        asList.jsonSchema({ defs: {} }),
        { type: 'string', description: 'A range expression such as "1-100:2,200"' },
      ],
    },
  );
}

const chunks = object<ChunksDefinition>(
  {
    defaultTaskCount: required(
      integer({ min: 1n, intString: true, formatStringWith: 'TASK_CHUNKING', what: 'a positive integer' }),
    ),
    targetRuntimeSeconds: optional(
      integer({
        min: 0n,
        intString: true,
        formatStringWith: 'TASK_CHUNKING',
        what: 'a non-negative whole number of seconds',
      }),
    ),
    rangeConstraint: required(oneOf(['CONTIGUOUS', 'NONCONTIGUOUS'])),
  },
  { name: 'Chunks' },
);

const taskParameter = (type: 'INT' | 'FLOAT' | 'STRING' | 'PATH' | 'CHUNK[INT]') =>
  object<TaskParameterDefinition>(
    {
      name: required(identifier()),
      type: required(oneOf([type])),
      range: required(
        type === 'INT' || type === 'CHUNK[INT]' ? intRange() : rangeList(type === 'FLOAT' ? 'FLOAT' : 'STRING'),
      ),
      ...(type === 'CHUNK[INT]' ? { chunks: required(chunks) } : {}),
    },
    { name: `${type === 'CHUNK[INT]' ? 'ChunkInt' : type[0] + type.slice(1).toLowerCase()}TaskParameterDefinition` },
  );

const taskParameterDefinition: Schema<TaskParameterDefinition> = tagged<TaskParameterDefinition>(
  'type',
  {
    INT: { schema: taskParameter('INT') },
    FLOAT: { schema: taskParameter('FLOAT') },
    STRING: { schema: taskParameter('STRING') },
    PATH: { schema: taskParameter('PATH') },
    'CHUNK[INT]': { schema: taskParameter('CHUNK[INT]'), extension: 'TASK_CHUNKING' },
  },
  { name: 'TaskParameterDefinition', describeTag: 'task parameter type' },
);

const parameterSpace = object<StepParameterSpaceDefinition>(
  {
    taskParameterDefinitions: required(
      withUniqueNames(list(taskParameterDefinition, { min: 1, max: 16 }), 'task parameter'),
    ),
    combination: optional(text({ min: 1, max: 1280 })),
  },
  {
    name: 'StepParameterSpace',
    refine(space, path, checker) {
      const chunked = (space.taskParameterDefinitions ?? []).filter((p) => p.type === 'CHUNK[INT]');
      if (chunked.length > 1) {
        checker.report(
          sub(path, 'taskParameterDefinitions'),
          `a step may have only one CHUNK[INT] parameter, found ${chunked.length}`,
        );
      }
    },
  },
);

// ---------------------------------------------------------------------------------------------------------------
// Step

const dependency = object<{ dependsOn: string }>({ dependsOn: required(text({ min: 1 })) }, { name: 'StepDependency' });

/** `<StepTemplate>`. */
export const stepTemplate: Schema<StepTemplate> = object<StepTemplate>(
  {
    name: required(text({ min: 1, max: (limits) => limits.stepName, chars: 'cc' })),
    description: optional(description()),
    dependencies: optional(list(dependency, { min: 1 })),
    stepEnvironments: optional(environments()),
    hostRequirements: optional(hostRequirements),
    parameterSpace: optional(parameterSpace),
    script: optional(stepScript),
    let: letField(),
    ...Object.fromEntries(
      SIMPLE_ACTION_KEYS.map((key) => [
        key,
        field(simpleAction, { extension: 'FEATURE_BUNDLE_1', description: `Runs the script with ${key}.` }),
      ]),
    ),
  },
  {
    name: 'StepTemplate',
    refine(_step, path, checker, raw) {
      const actions = SIMPLE_ACTION_KEYS.filter((key) => key in raw);
      if (actions.length > 1) {
        checker.report(path, `a step can use only one of ${actions.join(', ')}`);
      } else if (actions.length === 1 && 'script' in raw) {
        checker.report(sub(path, actions[0]!), `a step has either a 'script' or '${actions[0]}', not both`, true);
      } else if (actions.length === 0 && !('script' in raw)) {
        checker.report(path, "missing required field 'script'");
      }
    },
  },
);

/** `steps`: at least one, unique names. */
export const steps = () => withUniqueNames(list(stepTemplate, { min: 1 }), 'step');
