/**
 * @module Corral's error base and the model's error catalogue.
 *
 * Every error Corral throws on purpose is a `CorralError` with a stable `code`. Callers branch on `code`, never on
 * the message text. `docs/errors.md` lists every code; a test keeps the two in step.
 */

/** A location inside a document: the path of keys and indexes from its root. */
export type DocumentPath = readonly (string | number)[];

/** One problem found in a template, a parameter value or an expression. */
export interface ValidationIssue {
  /** Where, as keys and indexes from the document root (`['steps', 0, 'script']`). Empty for the whole document. */
  readonly path: DocumentPath;
  /** What is wrong, for a template author. */
  readonly message: string;
  /** 1-based line in the source text, when the issue comes from text Corral parsed. */
  readonly line?: number;
  /** 1-based column in the source text, when the issue comes from text Corral parsed. */
  readonly column?: number;
}

/** The model's error codes. */
export const ModelErrorCode = {
  /** The template's text is not valid YAML or JSON. */
  TemplateSyntax: 'CORRAL_E_TEMPLATE_SYNTAX',
  /** The template does not satisfy the OpenJD schema; `issues` lists every problem. */
  TemplateInvalid: 'CORRAL_E_TEMPLATE_INVALID',
  /** Job parameter values are missing, unknown or break their definitions' constraints. */
  ParameterInvalid: 'CORRAL_E_PARAMETER_INVALID',
  /** Job parameter definitions of several templates conflict and cannot be merged. */
  ParameterConflict: 'CORRAL_E_PARAMETER_CONFLICT',
  /** Creating a job failed: a template-scope value did not resolve to something valid. */
  JobInvalid: 'CORRAL_E_JOB_INVALID',
  /** A range expression (`1-10:2,20`) is malformed or has overlapping parts. */
  RangeExprInvalid: 'CORRAL_E_RANGE_EXPR',
  /** A combination expression (`A * (B, C)`) is malformed or does not match the task parameters. */
  CombinationExprInvalid: 'CORRAL_E_COMBINATION_EXPR',
  /** A format string (`{{Param.X}}`) is malformed or references something unavailable. */
  FormatStringInvalid: 'CORRAL_E_FORMAT_STRING',
  /** Task parameter values do not belong to a step's parameter space. */
  TaskParameterInvalid: 'CORRAL_E_TASK_PARAMETER_INVALID',
  /** A function was called with options it cannot accept. */
  InvalidArgument: 'CORRAL_E_INVALID_ARGUMENT',
} as const;
export type ModelErrorCode = (typeof ModelErrorCode)[keyof typeof ModelErrorCode];

/** Base of every error Corral throws on purpose. */
export class CorralError extends Error {
  /** Stable, documented identifier of the kind of error (`CORRAL_E_…`). */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** An error that carries a list of located issues: template validation, parameter checks, job creation. */
export class IssuesError extends CorralError {
  /** Every problem found, in document order. Never empty. */
  readonly issues: readonly ValidationIssue[];
  /** The file the issues refer to, when known. */
  readonly source?: string;

  constructor(code: string, summary: string, issues: readonly ValidationIssue[], options?: { source?: string }) {
    super(code, `${summary}\n${formatIssues(issues)}`);
    this.issues = issues;
    if (options?.source !== undefined) this.source = options.source;
  }
}

/** Template text that is not valid YAML/JSON, or a template that breaks the schema. */
export class TemplateError extends IssuesError {}

/** Job parameter values or definitions that cannot be used. */
export class ParameterError extends IssuesError {}

/** A job that cannot be created from its template and parameter values. */
export class JobCreationError extends IssuesError {}

/** A malformed expression: range, combination or format string. Carries the 0-based offset of the problem. */
export class ExpressionError extends CorralError {
  /** The expression's text. */
  readonly expression: string;
  /** 0-based offset into `expression` where the problem is, when known. */
  readonly offset?: number;
  /** The message without the expression excerpt. */
  readonly reason: string;

  constructor(code: string, reason: string, expression: string, offset?: number) {
    super(
      code,
      offset === undefined ? `${reason} in '${expression}'` : `${reason} at column ${offset + 1} of '${expression}'`,
    );
    this.reason = reason;
    this.expression = expression;
    if (offset !== undefined) this.offset = offset;
  }
}

/** Formats a document path the way template authors write it: `steps[0].script.actions.onRun`. */
export function formatPath(path: DocumentPath): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else if (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(part)) out += out === '' ? part : `.${part}`;
    else out += `[${JSON.stringify(part)}]`;
  }
  return out === '' ? '(document)' : out;
}

/** Formats one issue as `line:col path: message` (parts that are unknown are left out). */
export function formatIssue(issue: ValidationIssue): string {
  const where = issue.line === undefined ? '' : `${issue.line}:${issue.column ?? 1} `;
  return `${where}${formatPath(issue.path)}: ${issue.message}`;
}

function formatIssues(issues: readonly ValidationIssue[]): string {
  return issues.map((issue) => `  - ${formatIssue(issue)}`).join('\n');
}
