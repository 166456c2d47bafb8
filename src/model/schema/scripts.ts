/**
 * @module Schemas of what runs on a host: actions, cancelation methods, embedded files, environments, step
 * scripts and the FEATURE_BUNDLE_1 simple actions (§4, §5, §6, §8).
 */
import type {
  Action,
  CancelationMethod,
  EmbeddedFile,
  Environment,
  EnvironmentScript,
  SimpleAction,
  StepScript,
} from '../types.js';
import {
  boolean,
  type Checker,
  field,
  list,
  object,
  oneOf,
  optional,
  type Path,
  record,
  required,
  type Schema,
  sub,
  tagged,
} from './core.js';
import { description, identifier, integer, text } from './leaves.js';

/** `<CommandString>`: no control characters, at least one character; a host-scope format string. */
const commandString = () => text({ min: 1, chars: 'cc', formatString: true });
/**
 * `<ArgString>`: may be empty. The specification excludes control characters, but Corral accepts tab, newline and
 * carriage return, as the reference implementations and the conformance suite's own jobs do (`python -c` with a
 * multi-line script is common); see docs/conformance.md.
 */
const argString = () => text({ chars: 'description', formatString: true });

/** `let` bindings belong to the EXPR extension, which Corral does not implement yet. */
export const letField = () => field(list(text()), { extension: 'EXPR' });

const timeout = () =>
  optional(integer({ min: 1n, formatStringWith: 'FEATURE_BUNDLE_1', what: 'a positive whole number of seconds' }));

const cancelation: Schema<CancelationMethod> = tagged<CancelationMethod>(
  'mode',
  {
    TERMINATE: { schema: object({ mode: required(oneOf(['TERMINATE'])) }) },
    NOTIFY_THEN_TERMINATE: {
      schema: object({
        mode: required(oneOf(['NOTIFY_THEN_TERMINATE'])),
        notifyPeriodInSeconds: optional(
          integer({
            min: 1n,
            max: 600n,
            formatStringWith: 'FEATURE_BUNDLE_1',
            what: 'a whole number of seconds from 1 to 600',
          }),
        ),
      }),
    },
  },
  { name: 'CancelationMethod', describeTag: 'cancelation mode' },
);

/** `<Action>`. */
export const action: Schema<Action> = object<Action>(
  {
    command: required(commandString()),
    args: optional(list(argString())),
    timeout: timeout(),
    cancelation: optional(cancelation),
  },
  { name: 'Action' },
);

const filename = () =>
  text({
    min: 1,
    max: (limits) => limits.filename,
    pattern: /^(?!\.{1,2}$)[^/\\\u0000]+$/,
    patternMessage: "must be a plain file name: no '/', '\\' or NUL, and not '.' or '..'",
  });

const embeddedFile: Schema<EmbeddedFile> = object<EmbeddedFile>(
  {
    name: required(identifier()),
    type: required(oneOf(['TEXT'])),
    filename: optional(filename()),
    runnable: optional(boolean()),
    data: required(text({ min: 1, formatString: true })),
    endOfLine: field(oneOf(['AUTO', 'LF', 'CRLF']), { extension: 'FEATURE_BUNDLE_1' }),
  },
  { name: 'EmbeddedFile' },
);

/** `embeddedFiles`: at least one, names unique within the script. */
const embeddedFiles = () => optional(withUniqueNames(list(embeddedFile, { min: 1 }), 'embedded file'));

/** Wraps a list schema of named items with a check that the names are unique. */
export function withUniqueNames<T>(inner: Schema<T[]>, what: string, key = 'name'): Schema<T[]> {
  return {
    check(value, path, checker) {
      const result = inner.check(value, path, checker);
      if (Array.isArray(value)) reportDuplicates(value, path, checker, what, key);
      return result;
    },
    jsonSchema: (context) => inner.jsonSchema(context),
  };
}

function reportDuplicates(items: unknown[], path: Path, checker: Checker, what: string, key: string): void {
  const seen = new Map<string, number>();
  items.forEach((item, i) => {
    const name = (item as Record<string, unknown> | null)?.[key];
    if (typeof name !== 'string') return;
    const first = seen.get(name);
    if (first !== undefined) checker.report(sub(path, i, key), `duplicate ${what} name '${name}' (also item ${first})`);
    else seen.set(name, i);
  });
}

/** `<StepScript>`. */
export const stepScript: Schema<StepScript> = object<StepScript>(
  {
    actions: required(object({ onRun: required(action) }, { name: 'StepActions' })),
    embeddedFiles: embeddedFiles(),
    let: letField(),
  },
  { name: 'StepScript' },
);

const environmentScript: Schema<EnvironmentScript> = object<EnvironmentScript>(
  {
    actions: required(object({ onEnter: required(action), onExit: optional(action) }, { name: 'EnvironmentActions' })),
    embeddedFiles: embeddedFiles(),
    let: letField(),
  },
  { name: 'EnvironmentScript' },
);

const ENV_VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const variables = record(
  (name, path, checker) => {
    if (name.length > 256 || !ENV_VAR_NAME.test(name)) {
      checker.report(
        path,
        `'${name}' is not an environment variable name: latin letters, digits and _, not starting with a digit, at most 256 characters`,
        true,
      );
      return false;
    }
    return true;
  },
  text({ max: 2048, formatString: true }),
  { minEntries: 1, keyPattern: '^[A-Za-z_][A-Za-z0-9_]{0,255}$' },
);

/** `<Environment>`. */
export const environment: Schema<Environment> = object<Environment>(
  {
    name: required(text({ min: 1, max: (limits) => limits.environmentName, chars: 'cc' })),
    description: optional(description()),
    script: optional(environmentScript),
    variables: optional(variables),
  },
  {
    name: 'Environment',
    refine(_env, path, checker, raw) {
      if (!('script' in raw) && !('variables' in raw)) {
        checker.report(path, "an environment needs a 'script', 'variables', or both");
      }
    },
  },
);

/** A list of environments with unique names. */
export const environments = () => withUniqueNames(list(environment, { min: 1 }), 'environment');

/** FEATURE_BUNDLE_1 `<SimpleAction>` (the value of a step's `bash`, `python`, … key). */
export const simpleAction: Schema<SimpleAction> = object<SimpleAction>(
  {
    script: required(text({ min: 1, formatString: true })),
    args: optional(list(argString())),
    timeout: timeout(),
    cancelation: optional(cancelation),
    let: letField(),
  },
  { name: 'SimpleAction' },
);
