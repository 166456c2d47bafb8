/**
 * @module Loading a job from command-line inputs: the job template file, `--env` environment templates and `-p`
 * values. Shared by `summary`, `run` and `submit`.
 */
import { dirname, resolve } from 'node:path';
import { type CreateJobOptions, createJob, type Job } from '../model/create-job.js';
import { decodeEnvironmentTemplate, decodeJobTemplate } from '../model/decode.js';
import type { EnvironmentTemplate, JobTemplate } from '../model/types.js';
import { formatOf, readUserFile } from './files.js';
import { parseJobParameterArgs } from './job-params.js';

export interface LoadJobOptions {
  readonly template: string;
  readonly jobParams?: readonly string[];
  readonly environments?: readonly string[];
  readonly extensions?: string;
}

export interface LoadedJob {
  readonly job: Job;
  readonly template: JobTemplate;
  readonly environmentTemplates: readonly EnvironmentTemplate[];
  /** Everything needed to create the job again (the farm stores this). */
  readonly createOptions: CreateJobOptions;
}

/** Decodes a template file of either kind, with the CLI's `--extensions`. */
function readTemplate<T>(
  path: string,
  extensions: string | undefined,
  decode: typeof decodeJobTemplate | typeof decodeEnvironmentTemplate,
): T {
  const format = formatOf(path);
  return decode({
    text: readUserFile(path, 'template'),
    source: path,
    ...(format ? { format } : {}),
    ...(extensions !== undefined ? { extensions: extensions.split(',') } : {}),
  }) as T;
}

/**
 * Reads, validates and creates the job the user described.
 * @throws {TemplateError | ParameterError | JobCreationError | CorralError} with the problems found.
 */
export function loadJob(options: LoadJobOptions): LoadedJob {
  const template = readTemplate<JobTemplate>(options.template, options.extensions, decodeJobTemplate);
  const environmentFiles = options.environments ?? [];
  const environmentTemplates = environmentFiles.map((file) =>
    readTemplate<EnvironmentTemplate>(file, options.extensions, decodeEnvironmentTemplate),
  );
  const createOptions: CreateJobOptions = {
    template,
    environmentTemplates,
    environmentTemplateNames: environmentFiles,
    parameterValues: parseJobParameterArgs(options.jobParams ?? []),
    templateDirectory: dirname(resolve(options.template)),
    currentWorkingDirectory: process.cwd(),
    pathFormat: process.platform === 'win32' ? 'windows' : 'posix',
  };
  return { job: createJob(createOptions), template, environmentTemplates, createOptions };
}
