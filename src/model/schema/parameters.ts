/**
 * @module Schemas of job parameter definitions (§2): STRING, PATH, INT, FLOAT, their constraints and the rules of
 * their `userInterface` hints.
 */
import type {
  FloatParameterDefinition,
  IntParameterDefinition,
  JobParameterDefinition,
  PathParameterDefinition,
  StringParameterDefinition,
  UserInterface,
} from '../types.js';
import {
  type Checker,
  codePointLength,
  field,
  list,
  object,
  oneOf,
  optional,
  type Path,
  quote,
  required,
  type Schema,
  sub,
  tagged,
} from './core.js';
import {
  description,
  float,
  identifier,
  integer,
  parameterStringValue,
  parseFloatString,
  parseIntString,
  text,
  uiLabel,
} from './leaves.js';

const CHECK_BOX_PAIRS = [
  ['true', 'false'],
  ['yes', 'no'],
  ['on', 'off'],
  ['1', '0'],
];

const FILE_FILTER_PATTERN = /^(?:\*|\*\.\*|\*\.[^\u0000-\u001f\u007f-\u009f\\/*?[\]#%&{}<>$!'":@`|=]+)$/;

const fileFilter = object(
  {
    label: required(uiLabel()),
    patterns: required(
      list(
        text({
          min: 1,
          max: 20,
          pattern: FILE_FILTER_PATTERN,
          patternMessage:
            "must be '*', '*.*' or '*.' followed by an extension (no path separators, wildcards or characters like # % & { } < > $ ! ' \" : @ ` | =)",
        }),
        { min: 1, max: 20 },
      ),
    ),
  },
  { name: 'FileFilter' },
);

function userInterface(controls: readonly string[], extra: Record<string, ReturnType<typeof field>>) {
  return field(
    object<UserInterface>({
      control: optional(oneOf(controls)),
      label: optional(uiLabel()),
      groupLabel: optional(uiLabel()),
      ...extra,
    }),
  );
}

const common = {
  name: required(identifier()),
  description: optional(description()),
};

const lengthField = () => optional(integer({ min: 0n, what: 'a non-negative integer' }));

// ---------------------------------------------------------------------------------------------------------------
// Rules shared by the types

/** Reports a `userInterface.control` that contradicts `allowedValues`; returns the control in effect. */
function checkControl(
  def: { allowedValues?: readonly unknown[]; userInterface?: UserInterface },
  path: Path,
  checker: Checker,
  options: { defaultControl: string; freeform: readonly string[] },
): string {
  const control = def.userInterface?.control;
  const hasAllowed = def.allowedValues !== undefined;
  const at = sub(path, 'userInterface', 'control');
  if (control === undefined) return hasAllowed ? 'DROPDOWN_LIST' : options.defaultControl;
  if (options.freeform.includes(control) && hasAllowed) {
    checker.report(at, `${control} cannot be used with allowedValues; use DROPDOWN_LIST`);
  } else if (control === 'DROPDOWN_LIST' && !hasAllowed) {
    checker.report(at, 'DROPDOWN_LIST requires allowedValues');
  }
  return control;
}

function checkLengths(
  def: { minLength?: number | string; maxLength?: number | string },
  path: Path,
  checker: Checker,
): void {
  if (typeof def.minLength === 'number' && typeof def.maxLength === 'number' && def.minLength > def.maxLength) {
    checker.report(sub(path, 'maxLength'), `maxLength (${def.maxLength}) is less than minLength (${def.minLength})`);
  }
}

/** Why a string value breaks a STRING/PATH definition's constraints, or undefined. */
export function stringValueProblem(
  def: { minLength?: number | string; maxLength?: number | string; allowedValues?: readonly string[] },
  value: string,
): string | undefined {
  const length = codePointLength(value);
  if (typeof def.minLength === 'number' && length < def.minLength) {
    return `${quote(value)} is shorter than minLength ${def.minLength}`;
  }
  if (typeof def.maxLength === 'number' && length > def.maxLength) {
    return `${quote(value)} is longer than maxLength ${def.maxLength}`;
  }
  if (def.allowedValues && !def.allowedValues.includes(value)) {
    return `${quote(value)} is not one of the allowedValues (${def.allowedValues.map(quote).join(', ')})`;
  }
  return undefined;
}

/** Parses an INT value from the model (number or decimal text). */
export function intOf(value: number | string | undefined): bigint | undefined {
  if (value === undefined) return undefined;
  return typeof value === 'number' ? BigInt(value) : parseIntString(value);
}

/** Why an INT value breaks a definition's constraints, or undefined. */
export function intValueProblem(def: IntParameterDefinition, value: bigint): string | undefined {
  const min = intOf(def.minValue);
  const max = intOf(def.maxValue);
  if (min !== undefined && value < min) return `${value} is less than minValue ${min}`;
  if (max !== undefined && value > max) return `${value} is greater than maxValue ${max}`;
  if (def.allowedValues && !def.allowedValues.some((allowed) => intOf(allowed) === value)) {
    return `${value} is not one of the allowedValues (${def.allowedValues.join(', ')})`;
  }
  return undefined;
}

/** Parses a FLOAT value from the model (number or decimal text). */
export function floatOf(value: number | string | undefined): number | undefined {
  if (value === undefined) return undefined;
  return typeof value === 'number' ? value : parseFloatString(value);
}

/** Why a FLOAT value breaks a definition's constraints, or undefined. Compares values, not spellings. */
export function floatValueProblem(def: FloatParameterDefinition, value: number, shown: string): string | undefined {
  const min = floatOf(def.minValue);
  const max = floatOf(def.maxValue);
  if (min !== undefined && value < min) return `${shown} is less than minValue ${def.minValue}`;
  if (max !== undefined && value > max) return `${shown} is greater than maxValue ${def.maxValue}`;
  if (def.allowedValues && !def.allowedValues.some((allowed) => floatOf(allowed) === value)) {
    return `${shown} is not one of the allowedValues (${def.allowedValues.join(', ')})`;
  }
  return undefined;
}

function checkCheckBox(def: StringParameterDefinition, path: Path, checker: Checker): void {
  const values = def.allowedValues;
  const at = sub(path, 'userInterface', 'control');
  if (!values) {
    checker.report(at, 'CHECK_BOX requires allowedValues with two values such as [true, false]');
    return;
  }
  const lower = values.map((v) => v.toLowerCase());
  const pair = lower.length === 2 && CHECK_BOX_PAIRS.find((p) => p.includes(lower[0]!) && p.includes(lower[1]!));
  if (!pair || lower[0] === lower[1]) {
    checker.report(
      at,
      `CHECK_BOX needs allowedValues to be one true/false pair: ${CHECK_BOX_PAIRS.map((p) => `[${p.join(', ')}]`).join(', ')} (any case, any order)`,
    );
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The four types

const stringDefinition = object<StringParameterDefinition>(
  {
    ...common,
    type: required(oneOf(['STRING'])),
    default: optional(parameterStringValue()),
    allowedValues: optional(list(parameterStringValue(), { min: 1 })),
    minLength: lengthField(),
    maxLength: lengthField(),
    userInterface: userInterface(['LINE_EDIT', 'MULTILINE_EDIT', 'DROPDOWN_LIST', 'CHECK_BOX', 'HIDDEN'], {}),
  },
  {
    name: 'StringParameterDefinition',
    refine(def, path, checker) {
      checkLengths(def, path, checker);
      const control = checkControl(def, path, checker, {
        defaultControl: 'LINE_EDIT',
        freeform: ['LINE_EDIT', 'MULTILINE_EDIT'],
      });
      if (control === 'CHECK_BOX') checkCheckBox(def as StringParameterDefinition, path, checker);
      checkStringValues(def, path, checker);
    },
  },
);

function checkStringValues(
  def: Partial<StringParameterDefinition | PathParameterDefinition>,
  path: Path,
  checker: Checker,
): void {
  const lengths = { minLength: def.minLength, maxLength: def.maxLength };
  def.allowedValues?.forEach((value, i) => {
    const problem = stringValueProblem(lengths, value);
    if (problem) checker.report(sub(path, 'allowedValues', i), problem);
  });
  if (def.default !== undefined) {
    const problem = stringValueProblem(def, def.default);
    if (problem) checker.report(sub(path, 'default'), `default ${problem}`);
  }
}

const pathDefinition = object<PathParameterDefinition>(
  {
    ...common,
    type: required(oneOf(['PATH'])),
    default: optional(parameterStringValue()),
    allowedValues: optional(list(parameterStringValue(), { min: 1 })),
    minLength: lengthField(),
    maxLength: lengthField(),
    objectType: optional(oneOf(['FILE', 'DIRECTORY'])),
    dataFlow: optional(oneOf(['NONE', 'IN', 'OUT', 'INOUT'])),
    userInterface: userInterface(
      ['CHOOSE_INPUT_FILE', 'CHOOSE_OUTPUT_FILE', 'CHOOSE_DIRECTORY', 'DROPDOWN_LIST', 'HIDDEN'],
      {
        fileFilters: optional(list(fileFilter, { max: 20 })),
        fileFilterDefault: optional(fileFilter),
      },
    ),
  },
  {
    name: 'PathParameterDefinition',
    refine(def, path, checker) {
      checkLengths(def, path, checker);
      const fileDefault =
        def.objectType === 'FILE'
          ? def.dataFlow === 'OUT'
            ? 'CHOOSE_OUTPUT_FILE'
            : 'CHOOSE_INPUT_FILE'
          : 'CHOOSE_DIRECTORY';
      const control = checkControl(def, path, checker, {
        defaultControl: fileDefault,
        freeform: ['CHOOSE_INPUT_FILE', 'CHOOSE_OUTPUT_FILE', 'CHOOSE_DIRECTORY'],
      });
      const ui = def.userInterface;
      if (ui && control !== 'CHOOSE_INPUT_FILE' && control !== 'CHOOSE_OUTPUT_FILE') {
        for (const key of ['fileFilters', 'fileFilterDefault'] as const) {
          if (ui[key] !== undefined) {
            checker.report(
              sub(path, 'userInterface', key),
              `${key} applies only to the CHOOSE_INPUT_FILE and CHOOSE_OUTPUT_FILE controls; the control here is ${control}`,
              true,
            );
          }
        }
      }
      checkStringValues(def, path, checker);
    },
  },
);

const intDefinition = object<IntParameterDefinition>(
  {
    ...common,
    type: required(oneOf(['INT'])),
    default: optional(integer({ intString: true })),
    allowedValues: optional(list(integer({ intString: true }), { min: 1 })),
    minValue: optional(integer({ intString: true })),
    maxValue: optional(integer({ intString: true })),
    userInterface: userInterface(['SPIN_BOX', 'DROPDOWN_LIST', 'HIDDEN'], {
      singleStepDelta: optional(integer({ min: 1n, what: 'a positive integer' })),
    }),
  },
  {
    name: 'IntParameterDefinition',
    refine(def, path, checker) {
      const control = checkControl(def, path, checker, { defaultControl: 'SPIN_BOX', freeform: ['SPIN_BOX'] });
      if (def.userInterface?.singleStepDelta !== undefined && control !== 'SPIN_BOX') {
        checker.report(
          sub(path, 'userInterface', 'singleStepDelta'),
          `singleStepDelta applies only to SPIN_BOX; the control here is ${control}`,
          true,
        );
      }
      const min = intOf(def.minValue);
      const max = intOf(def.maxValue);
      if (min !== undefined && max !== undefined && min > max) {
        checker.report(sub(path, 'maxValue'), `maxValue (${max}) is less than minValue (${min})`);
      }
      const bounds = { ...def, allowedValues: undefined } as IntParameterDefinition;
      def.allowedValues?.forEach((value, i) => {
        const problem = intValueProblem(bounds, intOf(value)!);
        if (problem) checker.report(sub(path, 'allowedValues', i), problem);
      });
      const value = intOf(def.default);
      if (value !== undefined) {
        const problem = intValueProblem(def as IntParameterDefinition, value);
        if (problem) checker.report(sub(path, 'default'), `default ${problem}`);
      }
    },
  },
);

const floatDefinition = object<FloatParameterDefinition>(
  {
    ...common,
    type: required(oneOf(['FLOAT'])),
    default: optional(float({ floatString: true })),
    allowedValues: optional(list(float({ floatString: true }), { min: 1 })),
    minValue: optional(float({ floatString: true })),
    maxValue: optional(float({ floatString: true })),
    userInterface: userInterface(['SPIN_BOX', 'DROPDOWN_LIST', 'HIDDEN'], {
      decimals: optional(integer({ min: 0n, what: 'a non-negative integer' })),
      singleStepDelta: optional(float({ min: 0, exclusiveMin: true, what: 'a positive number' })),
    }),
  },
  {
    name: 'FloatParameterDefinition',
    refine(def, path, checker) {
      const control = checkControl(def, path, checker, { defaultControl: 'SPIN_BOX', freeform: ['SPIN_BOX'] });
      for (const key of ['decimals', 'singleStepDelta'] as const) {
        if (def.userInterface?.[key] !== undefined && control !== 'SPIN_BOX') {
          checker.report(
            sub(path, 'userInterface', key),
            `${key} applies only to SPIN_BOX; the control here is ${control}`,
            true,
          );
        }
      }
      const min = floatOf(def.minValue);
      const max = floatOf(def.maxValue);
      if (min !== undefined && max !== undefined && min > max) {
        checker.report(sub(path, 'maxValue'), `maxValue (${def.maxValue}) is less than minValue (${def.minValue})`);
      }
      const bounds = { ...def, allowedValues: undefined } as FloatParameterDefinition;
      def.allowedValues?.forEach((value, i) => {
        const problem = floatValueProblem(bounds, floatOf(value)!, String(value));
        if (problem) checker.report(sub(path, 'allowedValues', i), problem);
      });
      const value = floatOf(def.default);
      if (value !== undefined) {
        const problem = floatValueProblem(def as FloatParameterDefinition, value, String(def.default));
        if (problem) checker.report(sub(path, 'default'), `default ${problem}`);
      }
    },
  },
);

/** `<JobParameterDefinition>`, picked by its `type`. */
export const jobParameterDefinition: Schema<JobParameterDefinition> = tagged<JobParameterDefinition>(
  'type',
  {
    STRING: { schema: stringDefinition },
    PATH: { schema: pathDefinition },
    INT: { schema: intDefinition },
    FLOAT: { schema: floatDefinition },
  },
  { name: 'JobParameterDefinition', describeTag: 'parameter type' },
);

/** `parameterDefinitions`: unique names, at most 50 (200 with FEATURE_BUNDLE_1; environment templates: 50). */
export function parameterDefinitions(options: { environmentTemplate: boolean }): Schema<JobParameterDefinition[]> {
  const inner = list(jobParameterDefinition, {
    min: 1,
    max: (checker) => (options.environmentTemplate ? 50 : checker.limits.jobParameters),
    jsonMax: options.environmentTemplate ? 50 : 200,
  });
  return {
    check(value, path, checker) {
      const result = inner.check(value, path, checker);
      if (Array.isArray(value)) {
        const seen = new Map<string, number>();
        value.forEach((def, i) => {
          const name = (def as { name?: unknown })?.name;
          if (typeof name !== 'string') return;
          const first = seen.get(name);
          if (first !== undefined) {
            checker.report(
              sub(path, i, 'name'),
              `duplicate parameter name '${name}' (also parameterDefinitions[${first}])`,
            );
          } else seen.set(name, i);
        });
      }
      return result;
    },
    jsonSchema: (context) => inner.jsonSchema(context),
  };
}
