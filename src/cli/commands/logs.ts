/**
 * @module `corral logs <job> [--step S] [--task ID] [--follow]`: a job's output, oldest first, each line marked with
 * its task. `--follow` keeps printing new lines as the workers deliver them, until the job is finished.
 */
import type { LogChunk } from '../../farm/api/types.js';
import { type ConnectionOptions, connect } from '../farm-connection.js';
import { isFinished } from '../farm-format.js';
import { ExitCode } from '../main.js';
import { type OutputFormat, printError, stdout } from '../output.js';
import { parseId, readThroughRestarts } from './job.js';

export interface LogsOptions extends ConnectionOptions {
  readonly jobId: string;
  readonly step?: string | undefined;
  readonly task?: string | undefined;
  readonly follow: boolean;
  readonly output: OutputFormat;
}

const PAGE = 1000;

export async function runLogs(options: LogsOptions): Promise<number> {
  const { output } = options;
  try {
    const client = connect(options);
    const jobId = parseId(options.jobId, 'The job id');
    const taskId = options.task !== undefined ? parseId(options.task, 'The task id') : undefined;
    const query = { jobId, ...(options.step ? { step: options.step } : {}), ...(taskId ? { taskId } : {}) };
    // Task ids name the lines; the step's name and the task's index say more to a person, so look them up once.
    const labels = new Map<number, string>();
    const label = async (id: number | undefined) => {
      if (id === undefined) return 'session';
      let text = labels.get(id);
      if (text === undefined) {
        const task = await client.getTask({ jobId, taskId: id }).catch(() => undefined);
        text = task ? `${task.stepName}#${task.index}` : `task ${id}`;
        labels.set(id, text);
      }
      return text;
    };
    const print = async (chunks: readonly LogChunk[]) => {
      let text = '';
      for (const chunk of chunks) {
        if (output === 'json') {
          for (const line of chunk.lines)
            text += `${JSON.stringify({ taskId: chunk.taskId, time: line.time, text: line.text })}\n`;
          continue;
        }
        const prefix = `[${await label(chunk.taskId)}] `;
        for (const line of chunk.lines) text += `${prefix}${line.text}\n`;
      }
      if (text) stdout(text);
    };

    let after: number | undefined;
    const drain = async () => {
      for (;;) {
        const chunks = await client.readLogs({ ...query, ...(after !== undefined ? { after } : {}), limit: PAGE });
        if (chunks.length === 0) return;
        await print(chunks);
        after = chunks[chunks.length - 1]!.cursor;
        if (chunks.length < PAGE) return;
      }
    };
    await drain();
    if (!options.follow) return ExitCode.Ok;

    const controller = new AbortController();
    let wake: (() => void) | undefined;
    const streaming = (async () => {
      try {
        for await (const change of client.stream({ jobId, signal: controller.signal })) {
          if (change.kind === 'log' || change.kind === 'job') wake?.();
        }
      } catch {}
    })();
    try {
      for (;;) {
        const job = await readThroughRestarts(() => client.getJob({ jobId }), output === 'human-readable');
        await drain();
        if (isFinished(job.state)) {
          await drain();
          return ExitCode.Ok;
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 1000);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    } finally {
      controller.abort();
      await streaming;
    }
  } catch (error) {
    printError(output, error);
    return ExitCode.Failed;
  }
}
