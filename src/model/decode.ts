/**
 * @module Decoding templates: text or value in, a validated {@link JobTemplate} / {@link EnvironmentTemplate} out,
 * or a {@link TemplateError} listing every problem with its path and line:col.
 */
import { type DocumentFormat, type ParsedDocument, parseDocument } from './document.js';
import { CorralError, type DocumentPath, ModelErrorCode, TemplateError, type ValidationIssue } from './errors.js';
import { Checker, closest, describeValue, INVALID, type RawIssue, type Schema } from './schema/core.js';
import { checkEnvironmentTemplateSemantics, checkJobTemplateSemantics } from './schema/semantics.js';
import { environmentTemplateSchema, jobTemplateSchema } from './schema/templates.js';
import {
  ENVIRONMENT_TEMPLATE_VERSION,
  type EnvironmentTemplate,
  type ExtensionName,
  JOB_TEMPLATE_VERSION,
  type JobTemplate,
  RECOGNISED_UNSUPPORTED_EXTENSIONS,
  SUPPORTED_EXTENSIONS,
} from './types.js';

export interface DecodeTemplateOptions {
  /** The template's text, YAML or JSON. Give either this or `value`. */
  readonly text?: string;
  /** The template as an already-parsed value (for example a JSON request body). */
  readonly value?: unknown;
  /** Format of `text`; default: JSON when it starts with `{`, else YAML. */
  readonly format?: DocumentFormat;
  /** A name for the template (its file path), used in messages. */
  readonly source?: string;
  /**
   * Extensions the caller accepts; a template asking for any other is refused. Default: every extension Corral
   * supports (TASK_CHUNKING, REDACTED_ENV_VARS, FEATURE_BUNDLE_1).
   */
  readonly extensions?: readonly string[];
}

export type DecodedTemplate =
  | { readonly kind: 'job'; readonly template: JobTemplate }
  | { readonly kind: 'environment'; readonly template: EnvironmentTemplate };

/**
 * Decodes a job template or an environment template, whichever the document's `specificationVersion` says.
 * @throws {TemplateError} `CORRAL_E_TEMPLATE_SYNTAX` for malformed text; `CORRAL_E_TEMPLATE_INVALID` with every
 *   problem (path, line:col, message) when the document breaks the schema.
 * @throws {CorralError} `CORRAL_E_INVALID_ARGUMENT` when `extensions` names an extension Corral does not know.
 */
export function decodeTemplate(options: DecodeTemplateOptions): DecodedTemplate {
  return decode(options, 'any');
}

/**
 * Decodes a job template (`jobtemplate-2023-09`).
 * @throws {TemplateError} as {@link decodeTemplate}, also when the document is an environment template.
 */
export function decodeJobTemplate(options: DecodeTemplateOptions): JobTemplate {
  return decode(options, 'job').template as JobTemplate;
}

/**
 * Decodes an environment template (`environment-2023-09`).
 * @throws {TemplateError} as {@link decodeTemplate}, also when the document is a job template.
 */
export function decodeEnvironmentTemplate(options: DecodeTemplateOptions): EnvironmentTemplate {
  return decode(options, 'environment').template as EnvironmentTemplate;
}

/** Checks the `extensions` option: only names Corral supports. */
export function resolveAllowedExtensions(extensions: readonly string[] | undefined): ReadonlySet<ExtensionName> {
  if (extensions === undefined) return new Set(SUPPORTED_EXTENSIONS);
  const allowed = new Set<ExtensionName>();
  for (const raw of extensions) {
    const name = raw.trim().toUpperCase();
    if (name === '') continue;
    if (!(SUPPORTED_EXTENSIONS as readonly string[]).includes(name)) {
      throw new CorralError(
        ModelErrorCode.InvalidArgument,
        `Unsupported extension '${raw}': Corral supports ${SUPPORTED_EXTENSIONS.join(', ')}.`,
      );
    }
    allowed.add(name as ExtensionName);
  }
  return allowed;
}

function decode(options: DecodeTemplateOptions, want: 'job' | 'environment' | 'any'): DecodedTemplate {
  const allowed = resolveAllowedExtensions(options.extensions);
  let document: ParsedDocument | undefined;
  let value: unknown;
  if (options.text !== undefined) {
    document = parseDocument({
      text: options.text,
      ...(options.format ? { format: options.format } : {}),
      ...(options.source ? { source: options.source } : {}),
    });
    value = document.value;
  } else {
    value = options.value;
  }
  const fail = (issues: readonly RawIssue[]): never => {
    throw new TemplateError(
      ModelErrorCode.TemplateInvalid,
      `${options.source ? `'${options.source}'` : 'The template'} is not a valid ${want === 'environment' ? 'environment' : want === 'job' ? 'job' : 'OpenJD'} template.`,
      locateIssues(issues, document),
      options.source === undefined ? undefined : { source: options.source },
    );
  };

  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return fail([{ path: [], message: `a template must be a mapping, got ${describeValue(value)}` }]);
  }
  const root = value as Record<string, unknown>;
  const version = root.specificationVersion;
  let kind: 'job' | 'environment';
  if (version === JOB_TEMPLATE_VERSION) kind = 'job';
  else if (version === ENVIRONMENT_TEMPLATE_VERSION) kind = 'environment';
  else {
    const expected =
      want === 'job'
        ? JOB_TEMPLATE_VERSION
        : want === 'environment'
          ? ENVIRONMENT_TEMPLATE_VERSION
          : `${JOB_TEMPLATE_VERSION} or ${ENVIRONMENT_TEMPLATE_VERSION}`;
    return fail([
      version === undefined
        ? { path: [], message: `missing required field 'specificationVersion' (${expected})` }
        : {
            path: ['specificationVersion'],
            message: `unknown specificationVersion ${describeValue(version)}; expected ${expected}`,
          },
    ]);
  }
  if (want !== 'any' && kind !== want) {
    return fail([
      {
        path: ['specificationVersion'],
        message: `this is ${kind === 'job' ? 'a job' : 'an environment'} template; ${want === 'job' ? 'a job' : 'an environment'} template is needed here`,
      },
    ]);
  }

  const extensionIssues: RawIssue[] = [];
  const extensions = templateExtensions(root.extensions, allowed, extensionIssues);
  const checker = new Checker(extensions);
  checker.issues.push(...extensionIssues);
  const schema = (kind === 'job' ? jobTemplateSchema : environmentTemplateSchema) as Schema<unknown>;
  const result = schema.check(root, undefined, checker);
  if (result !== INVALID) {
    if (kind === 'job') checkJobTemplateSemantics(result as Partial<JobTemplate>, checker);
    else checkEnvironmentTemplateSemantics(result as Partial<EnvironmentTemplate>, checker);
  }
  if (checker.issues.length > 0 || result === INVALID) return fail(checker.issues);
  return kind === 'job' ? { kind, template: result as JobTemplate } : { kind, template: result as EnvironmentTemplate };
}

function templateExtensions(raw: unknown, allowed: ReadonlySet<ExtensionName>, issues: RawIssue[]): Set<ExtensionName> {
  const out = new Set<ExtensionName>();
  if (!Array.isArray(raw)) return out; // the schema reports a wrong type
  raw.forEach((name, i) => {
    if (typeof name !== 'string' || !/^[A-Z_0-9]{3,128}$/.test(name)) return; // the schema reports it
    const path: DocumentPath = ['extensions', i];
    if ((RECOGNISED_UNSUPPORTED_EXTENSIONS as readonly string[]).includes(name)) {
      issues.push({
        path,
        message: `Corral does not support the ${name} extension yet (it supports ${SUPPORTED_EXTENSIONS.join(', ')})`,
      });
    } else if (!(SUPPORTED_EXTENSIONS as readonly string[]).includes(name)) {
      const hint = closest(name, SUPPORTED_EXTENSIONS);
      issues.push({
        path,
        message: `unknown extension '${name}'${hint ? ` (did you mean ${hint}?)` : ''}; Corral supports ${SUPPORTED_EXTENSIONS.join(', ')}`,
      });
    } else if (!allowed.has(name as ExtensionName)) {
      issues.push({
        path,
        message: `the ${name} extension is not enabled here (enabled: ${[...allowed].join(', ') || 'none'})`,
      });
    } else {
      out.add(name as ExtensionName);
    }
  });
  return out;
}

/** Attaches line:col to issues and orders them as they appear in the document. */
export function locateIssues(issues: readonly RawIssue[], document: ParsedDocument | undefined): ValidationIssue[] {
  const located = issues.map((issue, order) => {
    const position = document?.locate(issue.path, { key: issue.atKey ?? false });
    const out: ValidationIssue = position
      ? { path: issue.path, message: issue.message, line: position.line, column: position.column }
      : { path: issue.path, message: issue.message };
    return { out, order };
  });
  located.sort(
    (a, b) => (a.out.line ?? 0) - (b.out.line ?? 0) || (a.out.column ?? 0) - (b.out.column ?? 0) || a.order - b.order,
  );
  return located.map((entry) => entry.out);
}
