/**
 * @module The decoded shapes of OpenJD templates (`jobtemplate-2023-09`, `environment-2023-09`).
 *
 * These mirror the documents field for field, so a decoded template serialises back to an equivalent document.
 * Integer fields that accept `<intstring>` keep strings as strings; integers beyond JavaScript's safe range are kept
 * as their decimal text, so nothing is rounded. Format strings stay unresolved here; job creation resolves the
 * template-scope ones and the session runtime the host-scope ones.
 */

/** Extensions Corral implements. */
export const SUPPORTED_EXTENSIONS = ['TASK_CHUNKING', 'REDACTED_ENV_VARS', 'FEATURE_BUNDLE_1'] as const;
export type ExtensionName = (typeof SUPPORTED_EXTENSIONS)[number];

/** Extensions defined for 2023-09 that Corral recognises but does not implement yet. */
export const RECOGNISED_UNSUPPORTED_EXTENSIONS = ['EXPR', 'WRAP_ACTIONS'] as const;

export const JOB_TEMPLATE_VERSION = 'jobtemplate-2023-09';
export const ENVIRONMENT_TEMPLATE_VERSION = 'environment-2023-09';

export type JobParameterType = 'STRING' | 'PATH' | 'INT' | 'FLOAT';

/** `userInterface` of a job parameter: hints for submitters' forms, never constraints. */
export interface UserInterface {
  readonly control?: string;
  readonly label?: string;
  readonly groupLabel?: string;
  /** INT and FLOAT. */
  readonly singleStepDelta?: number;
  /** FLOAT. */
  readonly decimals?: number;
  /** PATH. */
  readonly fileFilters?: readonly FileFilter[];
  /** PATH. */
  readonly fileFilterDefault?: FileFilter;
}

export interface FileFilter {
  readonly label: string;
  readonly patterns: readonly string[];
}

interface ParameterDefinitionBase {
  readonly name: string;
  readonly description?: string;
  readonly userInterface?: UserInterface;
}

export interface StringParameterDefinition extends ParameterDefinitionBase {
  readonly type: 'STRING';
  readonly default?: string;
  readonly allowedValues?: readonly string[];
  readonly minLength?: number;
  readonly maxLength?: number;
}

export interface PathParameterDefinition extends ParameterDefinitionBase {
  readonly type: 'PATH';
  readonly default?: string;
  readonly allowedValues?: readonly string[];
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly objectType?: 'FILE' | 'DIRECTORY';
  readonly dataFlow?: 'NONE' | 'IN' | 'OUT' | 'INOUT';
}

/** INT values are `number` when safe, otherwise their exact decimal text. */
export type IntValue = number | string;

export interface IntParameterDefinition extends ParameterDefinitionBase {
  readonly type: 'INT';
  readonly default?: IntValue;
  readonly allowedValues?: readonly IntValue[];
  readonly minValue?: IntValue;
  readonly maxValue?: IntValue;
}

/** FLOAT values keep the author's form: a number or its decimal text. */
export type FloatValue = number | string;

export interface FloatParameterDefinition extends ParameterDefinitionBase {
  readonly type: 'FLOAT';
  readonly default?: FloatValue;
  readonly allowedValues?: readonly FloatValue[];
  readonly minValue?: FloatValue;
  readonly maxValue?: FloatValue;
}

export type JobParameterDefinition =
  | StringParameterDefinition
  | PathParameterDefinition
  | IntParameterDefinition
  | FloatParameterDefinition;

export type CancelationMethod =
  | { readonly mode: 'TERMINATE' }
  | {
      readonly mode: 'NOTIFY_THEN_TERMINATE';
      /** A positive integer, or (FEATURE_BUNDLE_1) a format string resolved at job creation. */
      readonly notifyPeriodInSeconds?: number | string;
    };

export interface Action {
  /** Host-scope format string. */
  readonly command: string;
  /** Host-scope format strings. */
  readonly args?: readonly string[];
  /** Seconds; a positive integer, or (FEATURE_BUNDLE_1) a format string resolved at job creation. */
  readonly timeout?: number | string;
  readonly cancelation?: CancelationMethod;
}

export interface EmbeddedFile {
  readonly name: string;
  readonly type: 'TEXT';
  readonly filename?: string;
  readonly runnable?: boolean;
  /** Host-scope format string. */
  readonly data: string;
  /** FEATURE_BUNDLE_1. */
  readonly endOfLine?: 'AUTO' | 'LF' | 'CRLF';
}

export interface StepScript {
  readonly actions: { readonly onRun: Action };
  readonly embeddedFiles?: readonly EmbeddedFile[];
}

export interface EnvironmentScript {
  readonly actions: { readonly onEnter: Action; readonly onExit?: Action };
  readonly embeddedFiles?: readonly EmbeddedFile[];
}

export interface Environment {
  readonly name: string;
  readonly description?: string;
  readonly script?: EnvironmentScript;
  /** Values are host-scope format strings. */
  readonly variables?: Readonly<Record<string, string>>;
}

export interface AmountRequirement {
  /** Template-scope format string. */
  readonly name: string;
  /** A non-negative number, or (FEATURE_BUNDLE_1) a format string resolved at job creation. */
  readonly min?: number | string;
  readonly max?: number | string;
}

export interface AttributeRequirement {
  /** Template-scope format string. */
  readonly name: string;
  readonly anyOf?: readonly string[];
  readonly allOf?: readonly string[];
}

export interface HostRequirements {
  readonly amounts?: readonly AmountRequirement[];
  readonly attributes?: readonly AttributeRequirement[];
}

export type TaskParameterTypeName = 'INT' | 'FLOAT' | 'STRING' | 'PATH' | 'CHUNK[INT]';

export interface ChunksDefinition {
  readonly defaultTaskCount: number | string;
  readonly targetRuntimeSeconds?: number | string;
  readonly rangeConstraint: 'CONTIGUOUS' | 'NONCONTIGUOUS';
}

export interface TaskParameterDefinition {
  readonly name: string;
  readonly type: TaskParameterTypeName;
  /** A list of values (each may be a template-scope format string), or for INT/CHUNK[INT] a range expression. */
  readonly range: readonly (number | string)[] | string;
  /** CHUNK[INT] only. */
  readonly chunks?: ChunksDefinition;
}

export interface StepParameterSpaceDefinition {
  readonly taskParameterDefinitions: readonly TaskParameterDefinition[];
  readonly combination?: string;
}

/** FEATURE_BUNDLE_1 interpreter shortcuts on a step. */
export const SIMPLE_ACTION_KEYS = ['bash', 'python', 'node', 'cmd', 'powershell'] as const;
export type SimpleActionKey = (typeof SIMPLE_ACTION_KEYS)[number];

export interface SimpleAction {
  readonly script: string;
  readonly args?: readonly string[];
  readonly timeout?: number | string;
  readonly cancelation?: CancelationMethod;
}

export interface StepTemplate {
  readonly name: string;
  readonly description?: string;
  readonly dependencies?: readonly { readonly dependsOn: string }[];
  readonly stepEnvironments?: readonly Environment[];
  readonly hostRequirements?: HostRequirements;
  readonly parameterSpace?: StepParameterSpaceDefinition;
  /** Absent only when the step uses one of the FEATURE_BUNDLE_1 simple actions instead. */
  readonly script?: StepScript;
  readonly bash?: SimpleAction;
  readonly python?: SimpleAction;
  readonly node?: SimpleAction;
  readonly cmd?: SimpleAction;
  readonly powershell?: SimpleAction;
}

export interface JobTemplate {
  readonly specificationVersion: typeof JOB_TEMPLATE_VERSION;
  readonly $schema?: string;
  readonly extensions?: readonly ExtensionName[];
  /** Template-scope format string. */
  readonly name: string;
  readonly description?: string;
  readonly parameterDefinitions?: readonly JobParameterDefinition[];
  readonly jobEnvironments?: readonly Environment[];
  readonly steps: readonly StepTemplate[];
}

export interface EnvironmentTemplate {
  readonly specificationVersion: typeof ENVIRONMENT_TEMPLATE_VERSION;
  readonly $schema?: string;
  readonly extensions?: readonly ExtensionName[];
  readonly parameterDefinitions?: readonly JobParameterDefinition[];
  readonly environment: Environment;
}
