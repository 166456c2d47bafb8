/**
 * @module `corral/model`: Open Job Description templates and jobs, with no I/O.
 *
 * Decode and validate templates, merge and check job parameters, create jobs, and walk a step's tasks lazily.
 * Every error thrown on purpose is a {@link CorralError} with a stable `code` (see `docs/errors.md`).
 */
export {
  type CreateJobOptions,
  createJob,
  expandSimpleAction,
  type Job,
  type JobStep,
  type ResolvedAction,
  type ResolvedAmountRequirement,
  type ResolvedAttributeRequirement,
  type ResolvedEnvironment,
  type ResolvedHostRequirements,
  type ResolvedStepScript,
} from './create-job.js';
export {
  type DecodedTemplate,
  type DecodeTemplateOptions,
  decodeEnvironmentTemplate,
  decodeJobTemplate,
  decodeTemplate,
} from './decode.js';
export {
  type DocumentFormat,
  FloatLiteral,
  type ParsedDocument,
  parseDocument,
  type SourcePosition,
} from './document.js';
export {
  CorralError,
  type DocumentPath,
  ExpressionError,
  formatIssue,
  formatPath,
  IssuesError,
  JobCreationError,
  ModelErrorCode,
  ParameterError,
  TemplateError,
  type ValidationIssue,
} from './errors.js';
export { type FormatReference, type FormatString, parseFormatString, resolveFormatString } from './format-string.js';
export {
  type JobParameterValue,
  type JobParameterValues,
  mergeJobParameterDefinitions,
  type PathFormat,
  type PreprocessJobParametersOptions,
  preprocessJobParameterValues,
} from './job-parameters.js';
export { type TemplateSchemaVersion, templateJsonSchema } from './json-schema.js';
export {
  type ChunkSettings,
  type RangeConstraint,
  type ResolvedTaskParameter,
  StepParameterSpace,
  type TaskParameterSet,
  type TaskParameterType,
  type TaskParameterValue,
} from './parameter-space.js';
export { type IntRange, IntRangeExpr } from './range-expr.js';
export { formatFloat } from './schema/leaves.js';
export * from './types.js';
