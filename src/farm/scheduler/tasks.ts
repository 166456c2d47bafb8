/**
 * @module What happens to a task when its worker reports on it, or loses it: starts, results, retries, and the
 * blocking of a worker that keeps failing a job's tasks. Settling the job (a step finished, a task failed for good)
 * follows when the transaction's counters are written.
 */
import type { TaskRow } from '../store/schema.js';
import { type Changes, moveTask } from './transitions.js';

/** A task's worker lost it this many times before the task is failed instead of retried (a task that kills workers). */
export const MAX_LOST_PER_TASK = 3;

export async function taskStarted(changes: Changes, task: TaskRow, time: number): Promise<void> {
  if (task.state !== 'assigned') return;
  await moveTask(changes, task, 'running', { patch: { started_at: time } });
}

/**
 * Records a task's result. Failures are retried (on another worker if one takes it within a while) until the job's
 * retries are spent; a worker that fails too many of a job's tasks is blocked from the job.
 */
export async function taskFinished(
  changes: Changes,
  task: TaskRow & { max_retries_per_task: number },
  result: { state: 'succeeded' | 'failed' | 'canceled'; exitCode?: number; failMessage?: string; time: number },
  workerId: number,
): Promise<void> {
  const { db, now } = changes;
  const patch = {
    exit_code: result.exitCode ?? null,
    fail_message: result.failMessage ?? null,
    finished_at: result.time,
    started_at: task.started_at ?? result.time,
  };
  if (result.state === 'succeeded') {
    // The common case, made with the changes' flush together with the rest of a batch's finished tasks.
    changes.deferMove(task, 'succeeded', { patch: { ...patch, progress: 100, fail_message: null } });
    return;
  }
  if (result.state === 'canceled') {
    // The worker stopped it on its own (shutting down): back to ready without spending a retry.
    await moveTask(changes, task, 'ready', {
      patch: { ...patch, worker_id: null, session_id: null, ready_at: now, attempts: Math.max(0, task.attempts - 1) },
      reason: 'the worker canceled it',
    });
    return;
  }
  await db
    .insertInto('worker_job_failures')
    .values({ worker_id: workerId, job_id: task.job_id, failures: 1 })
    .onConflict((oc) =>
      oc
        .columns(['worker_id', 'job_id'])
        .doUpdateSet((eb) => ({ failures: eb('worker_job_failures.failures', '+', 1) })),
    )
    .execute();
  const reason =
    result.failMessage ?? (result.exitCode !== undefined ? `exited with code ${result.exitCode}` : 'failed');
  if (task.attempts <= task.max_retries_per_task) {
    await moveTask(changes, task, 'ready', {
      patch: { ...patch, worker_id: null, session_id: null, avoid_worker_id: workerId, ready_at: now },
      reason: `attempt ${task.attempts} failed (${reason}); retrying`,
    });
    return;
  }
  await moveTask(changes, task, 'failed', {
    patch,
    reason: `attempt ${task.attempts} failed (${reason}); no retries left`,
  });
}

/**
 * A task whose worker was lost (or dropped it) goes back to ready without spending a retry, unless it has lost its
 * worker too often already: then it fails, so a task that kills its workers cannot loop forever.
 */
export async function taskLost(changes: Changes, task: TaskRow, reason: string): Promise<void> {
  if (task.state !== 'assigned' && task.state !== 'running') return;
  const lost = task.lost_count + 1;
  if (lost >= MAX_LOST_PER_TASK) {
    await moveTask(changes, task, 'failed', {
      patch: { lost_count: lost, finished_at: changes.now, fail_message: `its worker was lost ${lost} times` },
      reason: `${reason}; lost ${lost} times`,
    });
    return;
  }
  await moveTask(changes, task, 'ready', {
    patch: {
      worker_id: null,
      session_id: null,
      lost_count: lost,
      attempts: Math.max(0, task.attempts - 1),
      ready_at: changes.now,
    },
    reason,
  });
}
