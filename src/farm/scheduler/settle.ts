/**
 * @module Settling a job: after tasks change state, derive what follows for its steps and the job itself.
 *
 * - A step whose dependencies all succeeded, that is not suspended, in a job that is not suspended or over, has its
 *   pending tasks made ready; otherwise its unstarted ready tasks go back to pending.
 * - A task that failed for good fails the job, and the job's other unfinished tasks are canceled, unless the job
 *   continues on failure; then only the steps that depend on the failed one are canceled, since they can never start.
 * - Step and job states follow from their task counters; `suspended` and `canceled` are set by users and stay until
 *   they resume or requeue.
 */
import type { JobState, StepState, TaskCounts } from '../api/types.js';
import { countsOf } from '../store/queries.js';
import type { JobRow, StepRow } from '../store/schema.js';
import { Changes, moveJob, moveStep, moveTasks } from './transitions.js';

const isFinal = (state: string) => state === 'succeeded' || state === 'failed' || state === 'canceled';

const unfinished = (c: TaskCounts) => c.pending + c.ready + c.assigned + c.running;
const started = (c: TaskCounts) => c.assigned + c.running + c.succeeded + c.failed > 0;

function stepStateOf(step: StepRow, depsSucceeded: boolean, jobSuspended: boolean): StepState {
  const c = countsOf(step);
  if (c.succeeded === c.total) return 'succeeded';
  if (unfinished(c) === 0) return c.failed > 0 ? 'failed' : 'canceled';
  // A suspended job's unfinished steps show as suspended too: none of their tasks will start.
  if (step.suspended || jobSuspended) return 'suspended';
  if (!depsSucceeded) return 'pending';
  return started(c) ? 'running' : 'ready';
}

function jobStateOf(job: JobRow, current: string): JobState {
  const c = countsOf(job);
  if (current === 'canceled' || current === 'suspended') return current;
  if (c.succeeded === c.total) return 'succeeded';
  if (c.failed > 0 && (!job.continue_on_failure || unfinished(c) === 0)) return 'failed';
  if (unfinished(c) === 0) return c.failed > 0 ? 'failed' : 'canceled';
  return started(c) ? 'running' : 'queued';
}

/**
 * Brings a job's steps and state in line with its tasks. Runs in the transaction of the changes that called for it,
 * after their counters were written.
 * @returns the job's state afterwards.
 */
export async function settleJob(changes: Changes, jobId: number, reason?: string): Promise<JobState> {
  const { db, now, actor } = changes;
  // Moves made here are written at once (a Changes that does not settle again), so each reload sees them.
  const inner = new Changes(db, now, actor, async () => {});
  let job = await db.selectFrom('jobs').selectAll().where('id', '=', jobId).executeTakeFirstOrThrow();
  let steps = await db.selectFrom('steps').selectAll().where('job_id', '=', jobId).orderBy('idx').execute();
  const reload = async () => {
    await inner.flush();
    job = await db.selectFrom('jobs').selectAll().where('id', '=', jobId).executeTakeFirstOrThrow();
    steps = await db.selectFrom('steps').selectAll().where('job_id', '=', jobId).orderBy('idx').execute();
  };

  // A task failed for good and the job does not go on without it: the rest of the job is canceled.
  if (job.failed_count > 0 && !job.continue_on_failure && job.state !== 'failed' && job.state !== 'canceled') {
    const moved = await moveTasks(inner, {
      jobId,
      from: ['pending', 'ready', 'assigned', 'running'],
      to: 'canceled',
      patch: { finished_at: now },
      reason: 'the job failed',
    });
    if (moved > 0) await reload();
  }

  // Dependencies may point to later steps, so repeat until nothing moves.
  const active =
    job.state !== 'suspended' && job.state !== 'canceled' && !(job.failed_count > 0 && !job.continue_on_failure);
  for (let pass = 0; pass < steps.length + 1; pass++) {
    let changed = false;
    for (const step of steps) {
      const deps = (JSON.parse(step.depends_on) as number[]).map((i) => steps.find((s) => s.idx === i)!);
      const depsSucceeded = deps.every((d) => d.task_count === d.succeeded_count);
      const depsDead = deps.some((d) => unfinished(countsOf(d)) === 0 && d.succeeded_count < d.task_count);
      const runnable = active && depsSucceeded && !step.suspended;
      if (runnable && step.pending_count > 0) {
        changed ||=
          (await moveTasks(inner, {
            jobId,
            stepId: step.id,
            from: ['pending'],
            to: 'ready',
            patch: { ready_at: now },
          })) > 0;
      } else if (!runnable && step.ready_count > 0) {
        changed ||= (await moveTasks(inner, { jobId, stepId: step.id, from: ['ready'], to: 'pending', reason })) > 0;
      }
      // A dependency that can never succeed: this step can never start.
      if (depsDead && step.pending_count > 0 && job.continue_on_failure) {
        const moved = await moveTasks(inner, {
          jobId,
          stepId: step.id,
          from: ['pending'],
          to: 'canceled',
          patch: { finished_at: now },
          reason: 'a step it depends on did not succeed',
        });
        changed ||= moved > 0;
      }
    }
    if (!changed) break;
    await reload();
  }

  for (const step of steps) {
    const deps = (JSON.parse(step.depends_on) as number[]).map((i) => steps.find((s) => s.idx === i)!);
    const state = stepStateOf(
      step,
      deps.every((d) => d.task_count === d.succeeded_count),
      job.state === 'suspended',
    );
    if (state !== step.state) {
      await moveStep(db, {
        id: step.id,
        jobId,
        from: step.state,
        to: state,
        actor,
        now,
        reason: reason ?? null,
        patch: {
          finished_at: isFinal(state) ? now : null,
          ...(state === 'running' && step.started_at === null ? { started_at: now } : {}),
        },
      });
    }
  }

  const state = jobStateOf(job, job.state);
  if (state !== job.state) {
    await moveJob(db, {
      id: jobId,
      jobId,
      from: job.state,
      to: state,
      actor,
      now,
      reason: reason ?? null,
      patch: {
        finished_at: isFinal(state) ? now : null,
        ...(state === 'running' && job.started_at === null ? { started_at: now } : {}),
      },
    });
  }
  return state;
}

/** A Changes for one transaction, settling jobs whose counters call for it. */
export function changesFor(db: Changes['db'], now: number, actor: string): Changes {
  return new Changes(db, now, actor, async (changes, jobId) => {
    await settleJob(changes, jobId);
  });
}
