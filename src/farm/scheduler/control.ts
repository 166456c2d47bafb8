/**
 * @module Steering jobs: cancel, suspend, resume, requeue (a job, one of its steps, or one task) and change a job's
 * priority. Changes take effect on workers at their next sync: a task they run that is no longer theirs to run is
 * canceled with its own cancel mode.
 */
import { sql } from 'kysely';
import type { JobTarget } from '../api/types.js';
import { badRequest, conflict, notFound } from '../errors.js';
import type { JobRow } from '../store/schema.js';
import { changesFor, settleJob } from './settle.js';
import { type Actor, type Changes, type Db, moveJob, moveTasks, recordEvent } from './transitions.js';

interface Context {
  readonly actor: Actor;
  readonly now: number;
}

/** Runs a steering operation's task moves, writes their counters, and settles the job. */
async function steer<T>(
  db: Db,
  jobId: number,
  context: Context,
  reason: string,
  body: (changes: Changes) => Promise<T>,
): Promise<T> {
  const changes = changesFor(db, context.now, context.actor);
  const result = await body(changes);
  await changes.flush();
  await settleJob(changes, jobId, reason);
  return result;
}

async function loadJob(db: Db, jobId: number): Promise<JobRow> {
  const job = await db.selectFrom('jobs').selectAll().where('id', '=', jobId).executeTakeFirst();
  if (!job) throw notFound(`Job ${jobId}`);
  return job;
}

/** Resolves a target to a step id and/or task ids of the job. */
async function resolveTarget(
  db: Db,
  jobId: number,
  target: JobTarget,
): Promise<{ stepId?: number; taskIds?: number[] }> {
  if (target.taskId !== undefined) {
    const task = await db
      .selectFrom('tasks')
      .select(['id', 'step_id'])
      .where('id', '=', target.taskId)
      .where('job_id', '=', jobId)
      .executeTakeFirst();
    if (!task) throw notFound(`Task ${target.taskId} of job ${jobId}`);
    return { taskIds: [task.id] };
  }
  if (target.step !== undefined) {
    const step = await db
      .selectFrom('steps')
      .select('id')
      .where('job_id', '=', jobId)
      .where('name', '=', target.step)
      .executeTakeFirst();
    if (!step) throw notFound(`Step '${target.step}' of job ${jobId}`);
    return { stepId: step.id };
  }
  return {};
}

const FINAL_JOB = ['succeeded', 'failed', 'canceled'];

/** Who moves a job, when and why. */
const moved = (jobId: number, context: Context, reason: string) => ({
  id: jobId,
  jobId,
  actor: context.actor,
  now: context.now,
  reason,
});

/** Cancels unfinished work: the whole job (the job becomes canceled), a step, or one task. */
export async function cancel(
  db: Db,
  jobId: number,
  target: JobTarget,
  context: Context,
): Promise<{ canceled: number }> {
  const job = await loadJob(db, jobId);
  const scope = await resolveTarget(db, jobId, target);
  const whole = scope.stepId === undefined && scope.taskIds === undefined;
  if (whole && FINAL_JOB.includes(job.state)) throw conflict(`Job ${jobId} is already ${job.state}.`);
  return steer(db, jobId, context, 'canceled', async (changes) => {
    if (whole) {
      await moveJob(db, {
        ...moved(jobId, context, 'canceled'),
        from: job.state,
        to: 'canceled',
        patch: { finished_at: context.now },
      });
    }
    const canceled = await moveTasks(changes, {
      jobId,
      ...scope,
      from: ['pending', 'ready', 'assigned', 'running'],
      to: 'canceled',
      patch: { finished_at: context.now },
      reason: 'canceled',
    });
    return { canceled };
  });
}

/**
 * Suspends a job or a step: its unfinished tasks wait (pending) and running ones are stopped and will run again after
 * `resume`, without spending a retry.
 */
export async function suspend(
  db: Db,
  jobId: number,
  target: JobTarget,
  context: Context,
): Promise<{ suspended: number }> {
  if (target.taskId !== undefined)
    throw badRequest('Suspend applies to jobs and steps; cancel or requeue a single task instead.');
  const job = await loadJob(db, jobId);
  if (FINAL_JOB.includes(job.state)) throw conflict(`Job ${jobId} is ${job.state}; there is nothing to suspend.`);
  const scope = await resolveTarget(db, jobId, target);
  if (scope.stepId === undefined) {
    if (job.state === 'suspended') throw conflict(`Job ${jobId} is already suspended.`);
    await moveJob(db, { ...moved(jobId, context, 'suspended'), from: job.state, to: 'suspended' });
  } else {
    await db.updateTable('steps').set({ suspended: 1 }).where('id', '=', scope.stepId).execute();
  }
  return steer(db, jobId, context, 'suspended', async (changes) => {
    const stopped = await moveTasks(changes, {
      jobId,
      ...scope,
      from: ['assigned', 'running'],
      to: 'pending',
      // The interrupted run does not count against the retries.
      patch: {
        worker_id: null,
        session_id: null,
        progress: null,
        status_message: null,
        attempts: sql`case when attempts > 0 then attempts - 1 else 0 end` as never,
      },
      reason: 'suspended',
    });
    const waiting = await moveTasks(changes, { jobId, ...scope, from: ['ready'], to: 'pending', reason: 'suspended' });
    return { suspended: stopped + waiting };
  });
}

/** Resumes a suspended job or step. */
export async function resume(db: Db, jobId: number, target: JobTarget, context: Context): Promise<void> {
  if (target.taskId !== undefined) throw badRequest('Resume applies to jobs and steps.');
  const job = await loadJob(db, jobId);
  const scope = await resolveTarget(db, jobId, target);
  if (scope.stepId === undefined) {
    if (job.state !== 'suspended') throw conflict(`Job ${jobId} is ${job.state}, not suspended.`);
    const started = job.assigned_count + job.running_count + job.succeeded_count + job.failed_count > 0;
    const state = started ? 'running' : 'queued';
    await moveJob(db, { ...moved(jobId, context, 'resumed'), from: 'suspended', to: state });
  } else {
    const step = await db
      .selectFrom('steps')
      .select('suspended')
      .where('id', '=', scope.stepId)
      .executeTakeFirstOrThrow();
    if (!step.suspended) throw conflict(`Step '${target.step}' of job ${jobId} is not suspended.`);
    await db.updateTable('steps').set({ suspended: 0 }).where('id', '=', scope.stepId).execute();
  }
  await steer(db, jobId, context, 'resumed', async () => {});
}

/**
 * Runs finished work again: failed and canceled tasks (and, for one task, a succeeded one) go back to waiting with
 * fresh retries. A job that had failed or was canceled becomes active again.
 */
export async function requeue(
  db: Db,
  jobId: number,
  target: JobTarget,
  context: Context & { includeSucceeded?: boolean },
): Promise<{ requeued: number }> {
  const job = await loadJob(db, jobId);
  const scope = await resolveTarget(db, jobId, target);
  const from =
    context.includeSucceeded || scope.taskIds
      ? (['failed', 'canceled', 'succeeded'] as const)
      : (['failed', 'canceled'] as const);
  const changes = changesFor(db, context.now, context.actor);
  const requeued = await moveTasks(changes, {
    jobId,
    ...scope,
    from,
    to: 'pending',
    patch: {
      attempts: 0,
      worker_id: null,
      session_id: null,
      avoid_worker_id: null,
      exit_code: null,
      progress: null,
      status_message: null,
      fail_message: null,
      started_at: null,
      finished_at: null,
    },
    reason: 'requeued',
  });
  if (requeued === 0)
    throw conflict(
      `Nothing to requeue in job ${jobId}${target.step ? ` step '${target.step}'` : ''}${target.taskId ? ` task ${target.taskId}` : ''}.`,
    );
  if (job.state === 'failed' || job.state === 'canceled' || job.state === 'succeeded') {
    const started = job.assigned_count + job.running_count + job.succeeded_count > 0;
    const state = started ? 'running' : 'queued';
    await moveJob(db, {
      ...moved(jobId, context, 'requeued'),
      from: job.state,
      to: state,
      patch: { finished_at: null },
    });
  }
  await changes.flush();
  await settleJob(changes, jobId, 'requeued');
  return { requeued };
}

/** Changes a job's priority (0–100); its waiting tasks are reordered at once. */
export async function setPriority(db: Db, jobId: number, priority: number, context: Context): Promise<void> {
  if (!Number.isInteger(priority) || priority < 0 || priority > 100)
    throw badRequest(`Priority must be a whole number from 0 to 100, got ${priority}.`);
  const job = await loadJob(db, jobId);
  await db.updateTable('jobs').set({ priority, updated_at: context.now }).where('id', '=', jobId).execute();
  await db.updateTable('tasks').set({ priority }).where('job_id', '=', jobId).execute();
  await recordEvent(db, {
    kind: 'job',
    subjectId: jobId,
    jobId,
    from: job.state,
    to: job.state,
    actor: context.actor,
    reason: `priority ${job.priority} → ${priority}`,
    now: context.now,
  });
}
