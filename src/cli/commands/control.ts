/**
 * @module `corral cancel|suspend|resume|requeue <job> [--step S] [--task ID]` and `corral priority <job> N`: steer a
 * job. Workers see the change at their next sync (running actions are canceled with their own cancel mode).
 */
import { CorralError } from '../../model/errors.js';
import { type ConnectionOptions, connect } from '../farm-connection.js';
import { CliErrorCode } from '../files.js';
import { ExitCode } from '../main.js';
import { type OutputFormat, printError, printStructured, stdout } from '../output.js';
import { parseId } from './job.js';

export type ControlAction = 'cancel' | 'suspend' | 'resume' | 'requeue';

export interface ControlOptions extends ConnectionOptions {
  readonly action: ControlAction;
  readonly jobId: string;
  readonly step?: string | undefined;
  readonly task?: string | undefined;
  readonly includeSucceeded?: boolean;
  readonly output: OutputFormat;
}

const PAST: Record<ControlAction, string> = {
  cancel: 'Canceled',
  suspend: 'Suspended',
  resume: 'Resumed',
  requeue: 'Requeued',
};

export async function runControl(options: ControlOptions): Promise<number> {
  const { output } = options;
  try {
    const client = connect(options);
    const jobId = parseId(options.jobId, 'The job id');
    const target = {
      jobId,
      ...(options.step !== undefined ? { step: options.step } : {}),
      ...(options.task !== undefined ? { taskId: parseId(options.task, 'The task id') } : {}),
    };
    const result =
      options.action === 'requeue'
        ? await client.requeue({ ...target, ...(options.includeSucceeded ? { includeSucceeded: true } : {}) })
        : await client[options.action](target);
    const what =
      target.taskId !== undefined
        ? `task ${target.taskId} of job ${jobId}`
        : target.step !== undefined
          ? `step '${target.step}' of job ${jobId}`
          : `job ${jobId}`;
    const counts = Object.entries((result ?? {}) as Record<string, unknown>)
      .filter(([, v]) => typeof v === 'number')
      .map(([k, v]) => `${v} task${v === 1 ? '' : 's'} ${k}`);
    const message = `${PAST[options.action]} ${what}${counts.length ? ` (${counts.join(', ')})` : ''}.`;
    if (output === 'human-readable') stdout(`${message}\n`);
    else printStructured(output, { status: 'success', message, ...(result ?? {}) });
    return ExitCode.Ok;
  } catch (error) {
    printError(output, error);
    return ExitCode.Failed;
  }
}

export interface PriorityOptions extends ConnectionOptions {
  readonly jobId: string;
  readonly priority: string;
  readonly output: OutputFormat;
}

export async function runPriority(options: PriorityOptions): Promise<number> {
  const { output } = options;
  try {
    const jobId = parseId(options.jobId, 'The job id');
    const priority = Number(options.priority);
    if (!/^\d+$/.test(options.priority) || priority > 100) {
      throw new CorralError(
        CliErrorCode.BadArgument,
        `A priority is a whole number from 0 to 100, got '${options.priority}'.`,
      );
    }
    await connect(options).setPriority({ jobId, priority });
    const message = `Job ${jobId} now has priority ${priority}.`;
    if (output === 'human-readable') stdout(`${message}\n`);
    else printStructured(output, { status: 'success', message, jobId, priority });
    return ExitCode.Ok;
  } catch (error) {
    printError(output, error);
    return ExitCode.Failed;
  }
}

/** `corral delete <job>`: deletes a finished job with its tasks, logs and events. */
export async function runDelete(
  options: ConnectionOptions & { readonly jobId: string; readonly output: OutputFormat },
): Promise<number> {
  const { output } = options;
  try {
    const jobId = parseId(options.jobId, 'The job id');
    await connect(options).deleteJob({ jobId });
    const message = `Job ${jobId} deleted.`;
    if (output === 'human-readable') stdout(`${message}\n`);
    else printStructured(output, { status: 'success', message, jobId });
    return ExitCode.Ok;
  } catch (error) {
    printError(output, error);
    return ExitCode.Failed;
  }
}
