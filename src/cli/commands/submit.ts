/**
 * @module `corral submit <template>`: sends a job to the farm. The template, environments and values are checked
 * here first, so mistakes are reported with their file's line:col before anything leaves the machine; the server
 * checks them again. With `--wait` it follows the job to its end and exits 0 only if it succeeded.
 */
import { dirname, resolve } from 'node:path';
import type { SubmitJobRequest } from '../../farm/api/types.js';
import { CorralError } from '../../model/errors.js';
import { type ConnectionOptions, connect } from '../farm-connection.js';
import { CliErrorCode, formatOf, readUserFile } from '../files.js';
import { parseJobParameterArgs } from '../job-params.js';
import { loadJob } from '../load-job.js';
import { ExitCode } from '../main.js';
import { type OutputFormat, printError, printStructured, stdout } from '../output.js';
import { watchJob } from './job.js';

export interface SubmitOptions extends ConnectionOptions {
  readonly template: string;
  readonly jobParams: readonly string[];
  readonly environments: readonly string[];
  readonly extensions?: string | undefined;
  readonly queue?: string | undefined;
  readonly priority?: string | undefined;
  readonly name?: string | undefined;
  readonly maxRetries?: string | undefined;
  readonly continueOnFailure?: boolean;
  readonly wait: boolean;
  readonly output: OutputFormat;
}

const wholeNumber = (value: string | undefined, flag: string, max: number): number | undefined => {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n > max) {
    throw new CorralError(CliErrorCode.BadArgument, `${flag} must be a whole number from 0 to ${max}, got '${value}'.`);
  }
  return n;
};

export async function runSubmit(options: SubmitOptions): Promise<number> {
  const { output } = options;
  try {
    // Checked here first: errors name the user's own files.
    loadJob({
      template: options.template,
      jobParams: options.jobParams,
      environments: options.environments,
      ...(options.extensions !== undefined ? { extensions: options.extensions } : {}),
    });
    const format = formatOf(options.template);
    const priority = wholeNumber(options.priority, '--priority', 100);
    const maxRetries = wholeNumber(options.maxRetries, '--max-retries', 100);
    const request: SubmitJobRequest = {
      template: readUserFile(options.template, 'template'),
      ...(format ? { templateFormat: format } : {}),
      environmentTemplates: options.environments.map((file) => ({ name: file, text: readUserFile(file, 'template') })),
      parameters: parseJobParameterArgs(options.jobParams),
      ...(options.queue !== undefined ? { queue: options.queue } : {}),
      ...(options.name !== undefined ? { name: options.name } : {}),
      ...(priority !== undefined ? { priority } : {}),
      ...(maxRetries !== undefined ? { maxRetriesPerTask: maxRetries } : {}),
      ...(options.continueOnFailure ? { continueOnFailure: true } : {}),
      templateDirectory: dirname(resolve(options.template)),
      currentWorkingDirectory: process.cwd(),
    };
    const client = connect(options);
    const { jobId, taskCount } = await client.submitJob(request);
    if (!options.wait) {
      if (output === 'human-readable')
        stdout(`Submitted job ${jobId} (${taskCount} task${taskCount === 1 ? '' : 's'}).\n`);
      else printStructured(output, { status: 'success', message: `Submitted job ${jobId}.`, jobId, taskCount });
      return ExitCode.Ok;
    }
    if (output === 'human-readable') stdout(`Submitted job ${jobId} (${taskCount} tasks); waiting for it to finish.\n`);
    const job = await watchJob({ client, jobId, output, live: output === 'human-readable' });
    if (output !== 'human-readable') {
      printStructured(output, {
        status: job.state === 'succeeded' ? 'success' : 'error',
        message: `Job ${jobId} ${job.state}.`,
        jobId,
        taskCount,
        job,
      });
    }
    return job.state === 'succeeded' ? ExitCode.Ok : ExitCode.Failed;
  } catch (error) {
    printError(output, error);
    return ExitCode.Failed;
  }
}
