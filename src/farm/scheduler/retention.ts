/**
 * @module Deleting finished jobs: by a user, or by the server once they are older than its job retention. A job goes
 * with everything of it (steps, tasks, sessions, actions, logs, its events and failure counts); one event, kept,
 * records who deleted it. Unfinished jobs are never deleted: they must be canceled first.
 */
import type { JobState } from '../api/types.js';
import { type Actor, type Db, recordEvent } from './transitions.js';

const FINISHED: readonly JobState[] = ['succeeded', 'failed', 'canceled'];

export type DeleteOutcome = 'deleted' | 'missing' | 'unfinished';

/** Deletes a finished job and everything of it, in the caller's transaction. */
export async function deleteFinishedJob(
  db: Db,
  options: { readonly jobId: number; readonly actor: Actor; readonly now: number; readonly reason?: string },
): Promise<{ outcome: DeleteOutcome; state?: string }> {
  const { jobId } = options;
  const job = await db.selectFrom('jobs').select(['state']).where('id', '=', jobId).executeTakeFirst();
  if (!job) return { outcome: 'missing' };
  if (!(FINISHED as readonly string[]).includes(job.state)) return { outcome: 'unfinished', state: job.state };
  // Logs and events name the job without a foreign key (they are written far more often than jobs are deleted);
  // steps, tasks, sessions and actions go with the job by cascade.
  await db.deleteFrom('logs').where('job_id', '=', jobId).execute();
  await db.deleteFrom('events').where('job_id', '=', jobId).execute();
  await db.deleteFrom('worker_job_failures').where('job_id', '=', jobId).execute();
  await db.deleteFrom('jobs').where('id', '=', jobId).execute();
  await recordEvent(db, {
    kind: 'job',
    subjectId: jobId,
    jobId: null,
    from: job.state,
    to: 'deleted',
    actor: options.actor,
    reason: options.reason ?? null,
    now: options.now,
  });
  return { outcome: 'deleted', state: job.state };
}

/** Finished jobs that ended before `before`, oldest first, at most `limit`. */
export async function expiredJobs(db: Db, options: { readonly before: number; readonly limit: number }) {
  const rows = await db
    .selectFrom('jobs')
    .select('id')
    .where('state', 'in', FINISHED)
    .where('finished_at', '<', options.before)
    .orderBy('finished_at')
    .limit(options.limit)
    .execute();
  return rows.map((r) => r.id);
}
