/**
 * @module Re-creating a job on the worker from the server's {@link JobSpec}: the same decoding and `createJob` the
 * server did at submission (and `corral run` does locally), with the values the job was created with.
 */
import { createJob, type Job } from '../../model/create-job.js';
import { decodeEnvironmentTemplate, decodeJobTemplate } from '../../model/decode.js';
import { type PathMappingRule, parsePathMappingDocument } from '../../session/path-mapping.js';
import type { JobSpec } from '../api/types.js';

/** A job ready to run: the model's job and the session's inputs. */
export interface WorkerJob {
  readonly spec: JobSpec;
  readonly job: Job;
  readonly pathMappingRules: readonly PathMappingRule[];
}

/**
 * Creates the job a spec describes.
 * @throws {TemplateError | ParameterError | JobCreationError | CorralError} when this Corral cannot create it (a
 *   template of a newer Corral, malformed path mapping rules).
 */
export function jobFromSpec(spec: JobSpec): WorkerJob {
  const template = decodeJobTemplate({ text: spec.template, format: spec.templateFormat, source: 'job template' });
  const environmentTemplates = spec.environmentTemplates.map((env) =>
    decodeEnvironmentTemplate({ text: env.text, source: env.name }),
  );
  const job = createJob({
    template,
    environmentTemplates,
    environmentTemplateNames: spec.environmentTemplates.map((env) => env.name),
    // The values as the server resolved them (PATH values already absolute).
    parameterValues: Object.fromEntries(Object.entries(spec.parameters).map(([name, p]) => [name, p.value])),
    templateDirectory: '/',
    currentWorkingDirectory: '/',
  });
  return { spec, job, pathMappingRules: pathMappingRules(spec.pathMappingRules) };
}

function pathMappingRules(rules: unknown): PathMappingRule[] {
  if (rules === undefined || rules === null) return [];
  // Either a pathmapping-1.0 document or just its list of rules.
  return parsePathMappingDocument(
    Array.isArray(rules) ? { version: 'pathmapping-1.0', path_mapping_rules: rules } : rules,
  );
}

/** A small cache of created jobs by id (the server sends a job's spec once per session). */
export class JobCache {
  readonly #jobs = new Map<number, WorkerJob | Error>();
  readonly #max: number;

  constructor(max = 32) {
    this.#max = max;
  }

  /**
   * The job for an assignment: created from `spec` when given (and remembered), else the remembered one.
   * @returns the job, an Error saying why it cannot be created, or undefined when it is unknown.
   */
  get(jobId: number, spec: JobSpec | undefined): WorkerJob | Error | undefined {
    if (spec) {
      let value: WorkerJob | Error;
      try {
        value = jobFromSpec(spec);
      } catch (error) {
        value = error instanceof Error ? error : new Error(String(error));
      }
      this.#jobs.delete(jobId);
      this.#jobs.set(jobId, value);
      if (this.#jobs.size > this.#max) this.#jobs.delete(this.#jobs.keys().next().value!);
      return value;
    }
    const cached = this.#jobs.get(jobId);
    if (cached !== undefined) {
      this.#jobs.delete(jobId);
      this.#jobs.set(jobId, cached);
    }
    return cached;
  }
}
