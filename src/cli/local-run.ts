/**
 * @module Runs a job locally in one session, the way `openjd run` does: environment templates' environments, then
 * the job's, then for each step its environments, its tasks (or chunks, sized adaptively when the template asks),
 * and its environments' exits; finally every job-level exit, innermost first. Any failure stops the tasks but never
 * the exits.
 */
import { adaptiveChunkSizer } from '../model/adaptive-chunking.js';
import type { Job, JobStep, ResolvedEnvironment } from '../model/create-job.js';
import type { TaskParameterSet } from '../model/parameter-space.js';
import { IntRangeExpr } from '../model/range-expr.js';
import type { Session } from '../session/session.js';
import { ActionState, type ActionStatus } from '../session/types.js';

/** Which tasks of a step to run. */
export type TaskSelection =
  | { readonly kind: 'all'; readonly maximum?: number }
  | { readonly kind: 'list'; readonly tasks: readonly TaskParameterSet[] };

export interface LocalRunOptions {
  readonly session: Session;
  readonly job: Job;
  readonly steps: readonly JobStep[];
  /** Applies to every step (the CLI allows explicit tasks only with a single step). */
  readonly selection: TaskSelection;
  /** Called as tasks finish, for a progress display. */
  readonly onProgress?: (step: JobStep, done: number, total: number, unit: 'tasks' | 'chunks') => void;
  /** Set when the user asked to stop: no new actions start except environment exits. */
  readonly interrupted: () => boolean;
}

export interface LocalRunResult {
  readonly succeeded: boolean;
  /** Tasks (or chunks) whose action ran. */
  readonly tasksRun: number;
  /** Individual tasks covered by the chunks run (equals tasksRun without chunking). */
  readonly taskValuesRun: number;
  readonly failure?: ActionStatus;
}

/** Runs the selected steps of a job in `session`; resolves when every environment has been exited. */
export async function runLocally(options: LocalRunOptions): Promise<LocalRunResult> {
  const { session, job } = options;
  let tasksRun = 0;
  let taskValuesRun = 0;
  let failure: ActionStatus | undefined;
  const ok = () => failure === undefined && !options.interrupted();
  const check = (status: ActionStatus) => {
    if (status.state !== ActionState.Success && failure === undefined) failure = status;
    return status.state === ActionState.Success;
  };

  const entered: ResolvedEnvironment[] = [];
  const enter = async (environment: ResolvedEnvironment) => {
    entered.push(environment);
    return check(await session.enterEnvironment({ environment }));
  };
  const exitDownTo = async (depth: number) => {
    while (entered.length > depth) {
      const environment = entered.pop()!;
      check(await session.exitEnvironment({ identifier: environment.name }));
    }
  };

  for (const environment of [...job.externalEnvironments, ...job.jobEnvironments]) {
    if (!ok() || !(await enter(environment))) break;
  }
  const jobDepth = entered.length;
  if (ok()) {
    for (const step of options.steps) {
      for (const environment of step.stepEnvironments) if (!ok() || !(await enter(environment))) break;
      if (ok()) {
        const counts = await runStepTasks(options, step, check, ok);
        tasksRun += counts.actions;
        taskValuesRun += counts.values;
      }
      await exitDownTo(jobDepth);
      if (!ok()) break;
    }
  }
  await exitDownTo(0);
  return {
    succeeded: failure === undefined && !options.interrupted(),
    tasksRun,
    taskValuesRun,
    ...(failure ? { failure } : {}),
  };
}

async function runStepTasks(
  options: LocalRunOptions,
  step: JobStep,
  check: (status: ActionStatus) => boolean,
  ok: () => boolean,
): Promise<{ actions: number; values: number }> {
  const { session, selection } = options;
  const space = step.parameterSpace;
  const chunked = space.chunkParameter;
  let actions = 0;
  let values = 0;
  const runOne = async (task: TaskParameterSet): Promise<boolean> => {
    actions++;
    return check(await session.runTask({ stepName: step.name, script: step.script, taskParameters: task }));
  };

  if (selection.kind === 'list') {
    for (const task of selection.tasks) {
      if (!ok()) break;
      const passed = await runOne(task);
      values += chunked ? countValues(task[chunked.name]!.value) : 1;
      options.onProgress?.(step, actions, selection.tasks.length, 'tasks');
      if (!passed) break;
    }
    return { actions, values };
  }

  const maximum = selection.maximum ?? Number.POSITIVE_INFINITY;
  const target = chunked?.chunks?.targetRuntimeSeconds ?? 0;
  if (chunked && target > 0) {
    // Adaptive: each next chunk is sized from how long the previous ones took.
    const sizer = adaptiveChunkSizer({ initialSize: chunked.chunks!.defaultTaskCount, targetRuntimeSeconds: target });
    const cursor = space.chunkCursor();
    const total = space.taskCount;
    while (ok() && actions < maximum) {
      const task = cursor.next(sizer.next);
      if (!task) break;
      const size = countValues(task[chunked.name]!.value);
      const started = performance.now();
      const passed = await runOne(task);
      sizer.record(size, (performance.now() - started) / 1000);
      values += size;
      options.onProgress?.(step, values, total, 'tasks');
      if (!passed) break;
    }
    return { actions, values };
  }

  const total = Math.min(chunked ? space.chunkCount() : space.taskCount, maximum);
  for (const task of chunked ? space.chunks() : space.tasks()) {
    if (!ok() || actions >= maximum) break;
    const passed = await runOne(task);
    values += chunked ? countValues(task[chunked.name]!.value) : 1;
    options.onProgress?.(step, actions, total, chunked ? 'chunks' : 'tasks');
    if (!passed) break;
  }
  return { actions, values };
}

/** Number of values in a chunk's range expression text (`1-5` → 5, `1,3,7-10:2` → 4). */
function countValues(range: string): number {
  return IntRangeExpr.parse(range).length;
}
