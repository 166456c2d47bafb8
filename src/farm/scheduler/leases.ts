/**
 * @module Leases: a worker that stops syncing for longer than the worker timeout is declared lost. Its tasks go back
 * to ready without spending a retry (bounded: see `taskLost`), its sessions end, and when it syncs again it is told
 * to drop everything and start clean.
 */
import { changesFor } from './settle.js';
import { taskLost } from './tasks.js';
import { type Db, HELD_STATES, recordEvent } from './transitions.js';

/**
 * Declares lost every worker silent for longer than `timeoutMs`.
 * @returns the ids of the workers declared lost.
 */
export async function sweepLostWorkers(db: Db, options: { now: number; timeoutMs: number }): Promise<number[]> {
  const { now } = options;
  const silent = await db
    .selectFrom('workers')
    .select(['id', 'name', 'state', 'lost_count'])
    .where('state', 'in', ['idle', 'busy', 'draining'])
    .where('last_seen', '<', now - options.timeoutMs)
    .execute();
  const lost: number[] = [];
  for (const worker of silent) {
    // Re-checked in the update: another server (or the worker's own sync) may have got there first.
    const result = await db
      .updateTable('workers')
      .set({ state: 'lost', lost_count: worker.lost_count + 1 })
      .where('id', '=', worker.id)
      .where('state', '=', worker.state)
      .where('last_seen', '<', now - options.timeoutMs)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) === 0) continue;
    lost.push(worker.id);
    const reason = `worker ${worker.name} stopped syncing for more than ${Math.round(options.timeoutMs / 1000)} s`;
    await recordEvent(db, {
      kind: 'worker',
      subjectId: worker.id,
      jobId: null,
      from: worker.state,
      to: 'lost',
      actor: 'system',
      reason,
      now,
    });
    const tasks = await db
      .selectFrom('tasks')
      .selectAll()
      .where('worker_id', '=', worker.id)
      .where('state', 'in', HELD_STATES)
      .execute();
    const changes = changesFor(db, now, 'system');
    for (const task of tasks) await taskLost(changes, task, reason);
    await changes.flush();
    await db
      .updateTable('sessions')
      .set({ state: 'ended', ended_at: now })
      .where('worker_id', '=', worker.id)
      .where('state', '=', 'open')
      .execute();
  }
  return lost;
}
