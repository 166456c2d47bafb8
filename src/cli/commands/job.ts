/**
 * @module `corral jobs` (the farm's jobs) and `corral job <id> [--watch]` (one job, its steps and their progress).
 * Watching redraws progress bars in place on a terminal and prints one line per change elsewhere; it is driven by
 * the server's event stream, with a slow poll as a safety net should the stream drop.
 */
import type { JobDetail } from '../../farm/api/types.js';
import type { CorralClient } from '../../farm/client/index.js';
import { FarmErrorCode } from '../../farm/errors.js';
import { CorralError } from '../../model/errors.js';
import { type ConnectionOptions, connect } from '../farm-connection.js';
import { isFinished, jobDetailText, jobRows, progressText } from '../farm-format.js';
import { CliErrorCode } from '../files.js';
import { ExitCode } from '../main.js';
import { type OutputFormat, printError, printStructured, stderr, stdout } from '../output.js';

export interface JobsOptions extends ConnectionOptions {
  readonly states?: string | undefined;
  readonly queue?: string | undefined;
  readonly search?: string | undefined;
  readonly limit?: string | undefined;
  readonly output: OutputFormat;
}

export async function runJobs(options: JobsOptions): Promise<number> {
  try {
    const client = connect(options);
    const { jobs } = await client.listJobs({
      ...(options.states ? { states: options.states.split(',') } : {}),
      ...(options.queue ? { queue: options.queue } : {}),
      ...(options.search ? { search: options.search } : {}),
      ...(options.limit ? { limit: Number(options.limit) } : {}),
    });
    if (options.output === 'human-readable') stdout(jobs.length ? jobRows(jobs) : 'No jobs.\n');
    else printStructured(options.output, { status: 'success', message: `${jobs.length} jobs.`, jobs });
    return ExitCode.Ok;
  } catch (error) {
    printError(options.output, error);
    return ExitCode.Failed;
  }
}

export interface JobOptions extends ConnectionOptions {
  readonly jobId: string;
  readonly watch: boolean;
  readonly output: OutputFormat;
}

export function parseId(value: string, what: string): number {
  const id = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(id) || id < 1) {
    throw new CorralError(CliErrorCode.BadArgument, `${what} must be a positive whole number, got '${value}'.`);
  }
  return id;
}

export async function runJob(options: JobOptions): Promise<number> {
  const { output } = options;
  try {
    const client = connect(options);
    const jobId = parseId(options.jobId, 'The job id');
    const job = options.watch
      ? await watchJob({ client, jobId, output, live: output === 'human-readable' })
      : await client.getJob({ jobId });
    if (output === 'human-readable') {
      if (!options.watch) stdout(jobDetailText(job, process.stdout.isTTY === true));
    } else {
      printStructured(output, { status: 'success', message: `Job ${job.id} is ${job.state}.`, job });
    }
    return options.watch && job.state !== 'succeeded' ? ExitCode.Failed : ExitCode.Ok;
  } catch (error) {
    printError(output, error);
    return ExitCode.Failed;
  }
}

/**
 * Reads again while the server cannot be reached (it is restarting, or the network is down), for up to two minutes:
 * a watcher outlives a server restart.
 */
export async function readThroughRestarts<T>(read: () => Promise<T>, tell: boolean): Promise<T> {
  const deadline = Date.now() + 120_000;
  let told = false;
  for (let delay = 250; ; delay = Math.min(delay * 2, 5000)) {
    try {
      return await read();
    } catch (error) {
      if (!(error instanceof CorralError) || error.code !== FarmErrorCode.ServerUnavailable || Date.now() > deadline) {
        throw error;
      }
      if (tell && !told) stderr(`(the server is not answering; trying again: ${error.message})\n`);
      told = true;
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

export interface WatchJobOptions {
  readonly client: CorralClient;
  readonly jobId: number;
  readonly output: OutputFormat;
  /** Print progress while waiting (people); otherwise wait silently (scripts read the final result). */
  readonly live: boolean;
}

/** Follows a job until it is finished; resolves to its final detail. */
export async function watchJob(options: WatchJobOptions): Promise<JobDetail> {
  const { client, jobId } = options;
  const tty = options.live && process.stdout.isTTY === true;
  const controller = new AbortController();
  let wake: (() => void) | undefined;
  let pending = false;
  const notify = () => {
    pending = true;
    wake?.();
  };
  // The event stream only wakes the loop; the job itself is always read fresh.
  const streaming = (async () => {
    try {
      for await (const change of client.stream({ jobId, signal: controller.signal })) {
        if (!('jobId' in change) || change.jobId === jobId || change.jobId === -1) notify();
      }
    } catch {
      // The poll below keeps going without the stream.
    }
  })();
  let drawnLines = 0;
  let lastLine = '';
  try {
    for (;;) {
      const job = await readThroughRestarts(() => client.getJob({ jobId }), options.live);
      if (tty) {
        const text = jobDetailText(job, true);
        stdout(`${drawnLines ? `\x1b[${drawnLines}F\x1b[J` : ''}${text}`);
        drawnLines = text.split('\n').length - 1;
      } else if (options.live) {
        const line = `job ${job.id} ${job.state}: ${progressText(job.counts)}`;
        if (line !== lastLine) stdout(`${line}\n`);
        lastLine = line;
      }
      if (isFinished(job.state)) return job;
      if (!pending) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, tty ? 1000 : 2000);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      wake = undefined;
      pending = false;
      // At most ~8 redraws a second however busy the farm is.
      await new Promise((resolve) => setTimeout(resolve, 120));
    }
  } finally {
    controller.abort();
    await streaming;
  }
}
