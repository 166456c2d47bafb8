/**
 * @module The worker protocol's one call: a sync is heartbeat, report and request for work at once.
 *
 * Idempotent: each sync carries a sequence number; the server stores the reply of the last one it applied, and a
 * retried sync (same number, after a network failure ate the reply) gets that stored reply without anything being
 * applied twice. Everything a sync changes happens in one transaction, so a server killed mid-sync leaves either all
 * of it or none.
 */

import { type RawBuilder, sql } from 'kysely';
import type { CorralError } from '../../model/errors.js';
import type { JobParameterValues } from '../../model/job-parameters.js';
import type { Assignment, Capabilities, JobSpec, SyncReply, SyncRequest } from '../api/types.js';
import { conflict, notFound } from '../errors.js';
import type { Dialect } from '../store/database.js';
import { prepared } from '../store/prepared.js';
import type { TaskRow, WorkerRow } from '../store/schema.js';
import { normaliseCapabilities } from './capabilities.js';
import { type ClaimedTask, ClaimMemo, type ClaimRequest, claimTasks, type Exclusions } from './claim.js';
import { changesFor } from './settle.js';
import { taskFinished, taskLost, taskStarted } from './tasks.js';
import { type Changes, type Db, HELD_STATES } from './transitions.js';

export interface SyncOptions {
  readonly now: number;
  readonly dialect: Dialect;
  /** How long a task that failed on a worker is kept from it. */
  readonly avoidMs: number;
  /** How long an idle worker should wait before its next sync when it does not long-poll. */
  readonly idleSyncMs: number;
  /** Steps and jobs the worker cannot run; called with the sync's own transaction. */
  readonly exclusions: (db: Db, workerId: number, capabilities: Capabilities) => Promise<Exclusions>;
  /** A step's fixed facts (the caller caches them: they never change). */
  readonly stepInfo: (db: Db, stepId: number) => Promise<StepInfo>;
  /** The steps of a job with the given environments, in order (cached likewise). */
  readonly sessionSteps: (db: Db, jobId: number, envKey: string) => Promise<readonly number[]>;
}

export interface StepInfo {
  readonly idx: number;
  readonly name: string;
  readonly env_key: string;
}

/** What a sync changes on the worker's own row, written with its reply in one statement. */
interface WorkerPatch {
  last_seen: number;
  state?: string;
  capabilities?: string;
  metrics?: string;
}

const EMPTY_REPLY = (seq: number, nextSyncMs: number): SyncReply => ({
  seq,
  assignments: [],
  cancel: [],
  endSessions: [],
  drain: false,
  reset: false,
  nextSyncMs,
});

/** True when a reply carries nothing for the worker to act on (a long-poll may wait for work then). */
export function isEmptyReply(reply: SyncReply): boolean {
  return (
    reply.assignments.length === 0 &&
    reply.cancel.length === 0 &&
    reply.endSessions.length === 0 &&
    !reply.drain &&
    !reply.reset
  );
}

/** A task a worker holds (assigned or running), with what finishing it needs. */
type HeldTask = TaskRow & { max_retries_per_task: number };

const heldTasks = prepared((db: Db, workerIds: readonly number[]) =>
  db
    .selectFrom('tasks')
    .innerJoin('jobs', 'jobs.id', 'tasks.job_id')
    .selectAll('tasks')
    .select('jobs.max_retries_per_task')
    .where('tasks.worker_id', 'in', workerIds)
    .where('tasks.state', 'in', HELD_STATES),
);

/** Open sessions by id, each with its job; only those of the worker that named them. */
type OpenSessions = ReadonlyMap<number, { readonly id: number; readonly job_id: number }>;

const openSessionRows = prepared((db: Db, ids: readonly number[]) =>
  db
    .selectFrom('sessions')
    .select(['id', 'job_id', 'worker_id'])
    .where('id', 'in', ids)
    .where('state', '=', sql.lit('open')),
);

/** The open sessions that syncs name as theirs, in one statement. */
async function openSessions(
  db: Db,
  syncs: readonly { readonly worker: WorkerRow; readonly request: SyncRequest }[],
): Promise<OpenSessions> {
  const named = new Map(syncs.flatMap((s) => (s.request.session ? [[s.request.session.id, s.worker.id]] : [])));
  if (named.size === 0) return new Map();
  const rows = (await openSessionRows(db, [...named.keys()])).rows;
  return new Map(rows.filter((r) => named.get(r.id) === r.worker_id).map((r) => [r.id, r]));
}

/** A sync to apply: the worker's row as read in the same transaction (undefined: no such worker). */
export interface SyncItem {
  readonly workerId: number;
  readonly worker: WorkerRow | undefined;
  readonly request: SyncRequest;
}

/** What became of one sync of a batch: its reply, or why it was refused (nothing of it was applied then). */
/** A sync applied: its reply, and how long each task it was given had waited since it became ready (ms). */
export interface SyncApplied {
  readonly reply: SyncReply;
  readonly waitedMs?: readonly number[];
}
export type SyncOutcome = SyncApplied | { readonly error: CorralError };

/** One sync on its way through {@link applySyncs}. */
interface Pending {
  readonly worker: WorkerRow;
  readonly request: SyncRequest;
  readonly actor: string;
  readonly capabilities: Capabilities;
  readonly patch: WorkerPatch;
  readonly wantsWork: boolean;
  reply: SyncReply;
  /** Dispatch waits of the tasks given (see {@link SyncApplied}). */
  readonly waitedMs: number[];
}

/**
 * Applies a batch of syncs (of distinct workers) in the caller's transaction and answers each.
 *
 * Batching is what makes dispatch fast: the syncs share one commit, one write of the job and step counters and one
 * insert of their events, instead of one each. Each sync is applied in turn, so a later one sees what an earlier one
 * claimed. A sync refused up front (unknown worker, stale sequence) changes nothing and does not affect the others;
 * any other failure throws, and the caller rolls the whole batch back (and may apply its syncs one by one).
 */
export async function applySyncs(db: Db, items: readonly SyncItem[], options: SyncOptions): Promise<SyncOutcome[]> {
  const { now } = options;
  const outcomes: (SyncOutcome | Pending)[] = [];
  const pending: Pending[] = [];
  const changes = changesFor(db, now, 'scheduler');
  const live: { worker: WorkerRow; request: SyncRequest }[] = [];
  for (const { workerId, worker, request } of items) {
    if (!worker) {
      outcomes.push({ error: notFound(`Worker ${workerId}`) });
    } else if (request.seq === worker.sync_seq && worker.sync_reply) {
      // A retry of the last sync (its reply was lost): the same reply, nothing applied again.
      await db.updateTable('workers').set({ last_seen: now }).where('id', '=', worker.id).execute();
      outcomes.push({ reply: JSON.parse(worker.sync_reply) as SyncReply });
    } else if (request.seq < worker.sync_seq) {
      outcomes.push({
        error: conflict(
          `Sync ${request.seq} is older than the last one applied (${worker.sync_seq}); send ${worker.sync_seq + 1}.`,
        ),
      });
    } else {
      live.push({ worker, request });
      outcomes.push(undefined as never); // its place, filled below
    }
  }
  // What the batch's workers hold, in one statement: the tasks their events may concern, and what each should run.
  const held = new Map<number, Map<number, HeldTask>>();
  if (live.length > 0) {
    for (const task of (
      await heldTasks(
        db,
        live.map((l) => l.worker.id),
      )
    ).rows) {
      let mine = held.get(task.worker_id!);
      if (!mine) held.set(task.worker_id!, (mine = new Map()));
      mine.set(task.id, task);
    }
  }
  const sessions = await openSessions(db, live);
  const memo = new ClaimMemo();
  let next = 0;
  for (let i = 0; i < outcomes.length; i++) {
    if (outcomes[i] !== undefined) continue;
    const { worker, request } = live[next++]!;
    const sync = await applyReport(changes, worker, request, options, held.get(worker.id) ?? new Map());
    pending.push(sync);
    outcomes[i] = sync;
  }
  // Work is claimed for the whole batch at once: a pick and an update per group of workers alike (see claimTasks).
  const wanting = pending.filter((p) => p.wantsWork);
  const given = await assignWork(changes, wanting, options, sessions, memo);
  wanting.forEach((p, i) => {
    if (given[i]!.length > 0) p.reply = { ...p.reply, assignments: given[i]! };
  });

  // Replies are stored before the counters are written: on PostgreSQL a job's counter rows stay locked from their
  // update to the commit, and other batches wait for them, so that update comes last.
  await endSessions(db, pending);
  const stored = new Map(pending.map((p) => [p, p.reply]));
  await storeReplies(db, pending);

  // Counters are written once for the batch; when that settled a job (a step finished, so its dependents may be
  // ready now), the syncs that can take more are offered what became ready.
  if (await changes.flush()) {
    // Settling may also have taken back what was just claimed (the job failed or was suspended meanwhile).
    const given = pending.flatMap((p) => p.reply.assignments.map((a) => a.taskId));
    if (given.length > 0) {
      const still = await db
        .selectFrom('tasks')
        .select(['id', 'worker_id'])
        .where('id', 'in', given)
        .where('state', '=', 'assigned')
        .execute();
      const holder = new Map(still.map((t) => [t.id, t.worker_id]));
      for (const p of pending) {
        const kept = p.reply.assignments.filter((a) => holder.get(a.taskId) === p.worker.id);
        if (kept.length !== p.reply.assignments.length) p.reply = { ...p.reply, assignments: kept };
      }
    }
    // What became ready is offered with a fresh view of the best priority waiting (settling changed it).
    const wantMore = pending.filter((p) => p.wantsWork && p.reply.assignments.length < p.request.wantWork);
    const extra = await assignWork(
      changes,
      wantMore.map((p) => ({
        ...p,
        request: { ...p.request, wantWork: p.request.wantWork - p.reply.assignments.length },
        earlier: p.reply.assignments,
      })),
      options,
      sessions,
      new ClaimMemo(),
    );
    let more = false;
    wantMore.forEach((p, i) => {
      if (extra[i]!.length === 0) return;
      changes.actor = p.actor;
      p.reply = { ...p.reply, assignments: [...p.reply.assignments, ...extra[i]!] };
      more = true;
    });
    if (more) await changes.flush();
    // A job that just finished ends its sessions now, not at the worker's next sync.
    await endSessions(db, pending);
    await storeReplies(
      db,
      pending.filter((p) => p.reply !== stored.get(p)),
    );
  }

  return outcomes.map((o) =>
    'worker' in o ? { reply: o.reply, ...(o.waitedMs.length > 0 ? { waitedMs: o.waitedMs } : {}) } : o,
  );
}

/** Applies one sync's report; its work is claimed with the batch's, its counters left to the batch's flush. */
async function applyReport(
  changes: Changes,
  worker: WorkerRow,
  request: SyncRequest,
  options: SyncOptions,
  held: Map<number, HeldTask>,
): Promise<Pending> {
  const { db, now } = changes;
  const actor = `worker:${worker.name}`;
  changes.actor = actor;
  const capabilities = request.capabilities
    ? normaliseCapabilities(request.capabilities)
    : (JSON.parse(worker.capabilities) as Capabilities);
  const workerState =
    request.state === 'offline'
      ? 'offline'
      : worker.drain_requested || request.state === 'draining'
        ? 'draining'
        : request.state === 'busy' || request.running.length > 0
          ? 'busy'
          : 'idle';
  const patch: WorkerPatch = {
    last_seen: now,
    ...(worker.state !== workerState ? { state: workerState } : {}),
    ...(request.capabilities ? { capabilities: JSON.stringify(capabilities) } : {}),
    ...(request.metrics ? { metrics: JSON.stringify(request.metrics) } : {}),
  };
  if (worker.state !== workerState) {
    changes.event({
      kind: 'worker',
      subjectId: worker.id,
      jobId: null,
      from: worker.state,
      to: workerState,
      actor,
      now,
    });
  }
  const waitedMs: number[] = [];
  const sync = { worker, request, actor, capabilities, patch, wantsWork: false, waitedMs };

  // A worker the server declared lost: what it holds was given to others. It drops everything and starts clean.
  if (worker.state === 'lost')
    return { ...sync, reply: { ...EMPTY_REPLY(request.seq, options.idleSyncMs), reset: true } };

  await applyEvents(changes, worker, request, held);
  await storeLogs(db, worker, request);

  // Reconcile: what the worker runs against what the server has it running (after its events: finished tasks left).
  const running = new Set(request.running);
  const cancel = request.running.filter((id) => !held.has(id));
  for (const task of held.values()) {
    if (!running.has(task.id)) {
      // Given in an earlier reply the worker has seen (its sequence moved on), yet it does not hold it: it lost it.
      await taskLost(changes, task as never, 'the worker no longer holds it');
    }
  }

  const drain = worker.drain_requested === 1;
  const wantsWork = !drain && request.state !== 'draining' && request.state !== 'offline' && request.wantWork > 0;
  // Work is claimed for the whole batch afterwards (see applySyncs).
  return {
    ...sync,
    wantsWork,
    reply: { ...EMPTY_REPLY(request.seq, options.idleSyncMs), assignments: [], cancel, drain },
  };
}

/** Sessions whose job has nothing more for their worker end (unless the reply just gave the session work). */
async function endSessions(db: Db, pending: readonly Pending[]): Promise<void> {
  const jobIds = [...new Set(pending.flatMap((p) => (p.request.session ? [p.request.session.jobId] : [])))];
  if (jobIds.length === 0) return;
  const jobs = await db.selectFrom('jobs').select(['id', 'state']).where('id', 'in', jobIds).execute();
  const live = new Set(jobs.filter((j) => j.state === 'queued' || j.state === 'running').map((j) => j.id));
  for (const p of pending) {
    const session = p.request.session;
    if (!session || live.has(session.jobId) || p.reply.reset) continue;
    if (p.reply.assignments.some((a) => a.sessionId === session.id)) continue;
    p.reply = { ...p.reply, endSessions: [session.id] };
  }
}

/**
 * Tries again to find work for a sync whose reply was empty (the long-poll's second chance after new work was
 * announced). Replaces the stored reply only if the worker has not moved on.
 */
export async function retryAssignment(
  db: Db,
  workerId: number,
  request: SyncRequest,
  options: SyncOptions,
): Promise<SyncApplied | undefined> {
  const worker = await db.selectFrom('workers').selectAll().where('id', '=', workerId).executeTakeFirst();
  if (!worker || worker.sync_seq !== request.seq || worker.state === 'lost' || worker.drain_requested) return undefined;
  const stored = worker.sync_reply ? (JSON.parse(worker.sync_reply) as SyncReply) : undefined;
  if (!stored || !isEmptyReply(stored)) return stored ? { reply: stored } : undefined;
  const capabilities = JSON.parse(worker.capabilities) as Capabilities;
  const changes = changesFor(db, options.now, `worker:${worker.name}`);
  const waitedMs: number[] = [];
  const sessions = await openSessions(db, [{ worker, request }]);
  const [assignments] = await assignWork(
    changes,
    [{ worker, request, capabilities, actor: changes.actor, waitedMs }],
    options,
    sessions,
    new ClaimMemo(),
  );
  await changes.flush();
  if (assignments!.length === 0) return undefined;
  const reply = await store(
    db,
    worker,
    { ...stored, assignments: assignments! },
    { state: 'busy', last_seen: options.now },
  );
  return { reply, waitedMs };
}

async function store(db: Db, worker: WorkerRow, reply: SyncReply, patch: WorkerPatch): Promise<SyncReply> {
  const row = { ...patch, sync_seq: reply.seq, sync_reply: JSON.stringify(reply) };
  await updateWorker(db, Object.keys(row).join(','), Object.values(row), worker.id);
  return reply;
}

/**
 * Stores a batch's replies and worker rows in one statement (an UPDATE from a VALUES list; the same SQL on SQLite and
 * PostgreSQL). A column a sync leaves unchanged is sent as NULL and kept (a sync never clears them).
 */
async function storeReplies(db: Db, syncs: readonly Pending[]): Promise<void> {
  if (syncs.length === 0) return;
  const values = syncs.flatMap((p) => [
    p.worker.id,
    p.patch.last_seen,
    p.reply.seq,
    JSON.stringify(p.reply),
    p.patch.state ?? null,
    p.patch.capabilities ?? null,
    p.patch.metrics ?? null,
  ]);
  await updateWorkers(db, values);
}

const WORKER_COLUMNS = 7;
const updateWorkers = prepared((db: Db, values: readonly unknown[]) => {
  const rows: RawBuilder<unknown>[] = [];
  for (let i = 0; i < values.length; i += WORKER_COLUMNS) {
    const [id, lastSeen, seq, reply, state, capabilities, metrics] = values.slice(i, i + WORKER_COLUMNS);
    // Typed, since PostgreSQL cannot infer a VALUES list's types from its parameters.
    rows.push(
      sql`(cast(${id} as bigint), cast(${lastSeen} as bigint), cast(${seq} as bigint), cast(${reply} as text), cast(${state} as text), cast(${capabilities} as text), cast(${metrics} as text))`,
    );
  }
  const query = sql`update workers set last_seen = v.column2, sync_seq = v.column3, sync_reply = v.column4,
    state = coalesce(v.column5, workers.state), capabilities = coalesce(v.column6, workers.capabilities),
    metrics = coalesce(v.column7, workers.metrics)
    from (values ${sql.join(rows)}) as v where workers.id = v.column1`;
  return { compile: () => query.compile(db) };
});

/** Sets the named columns of a worker's row (a statement per set of columns, built once). */
const updateWorker = prepared(
  (db: Db, columns: string, values: readonly unknown[], id: number) =>
    db
      .updateTable('workers')
      .set(Object.fromEntries(columns.split(',').map((column, i) => [column, values[i]])))
      .where('id', '=', id),
  { fixed: [0] },
);

/**
 * Applies a sync's events. `held` (the worker's assigned and running tasks) is kept current: a started task is running,
 * a finished one leaves. Events about tasks the worker does not hold (taken back meanwhile) are ignored.
 */
async function applyEvents(
  changes: Changes,
  worker: WorkerRow,
  request: SyncRequest,
  held: Map<number, HeldTask>,
): Promise<void> {
  const { db, now } = changes;
  const mine = (taskId: number) => held.get(taskId);
  // A short task's start and end usually arrive together: it then moves assigned → finished in one statement.
  const finishing = new Set(request.events.flatMap((e) => (e.kind === 'taskFinished' ? [e.taskId] : [])));
  for (const event of request.events) {
    switch (event.kind) {
      case 'taskStarted': {
        const task = mine(event.taskId);
        if (task && finishing.has(task.id) && task.state === 'assigned') {
          held.set(task.id, { ...task, started_at: event.time });
        } else if (task) {
          await taskStarted(changes, task, event.time);
          held.set(task.id, { ...task, state: 'running', started_at: event.time });
        }
        break;
      }
      case 'taskProgress': {
        const task = mine(event.taskId);
        if (task) {
          await db
            .updateTable('tasks')
            .set({
              ...(event.progress !== undefined ? { progress: event.progress } : {}),
              ...(event.statusMessage !== undefined ? { status_message: event.statusMessage.slice(0, 4096) } : {}),
              updated_at: now,
            })
            .where('id', '=', task.id)
            .execute();
        }
        break;
      }
      case 'taskFinished': {
        const task = mine(event.taskId);
        if (task) {
          await taskFinished(
            changes,
            task,
            {
              state: event.state,
              ...(event.exitCode !== undefined ? { exitCode: event.exitCode } : {}),
              ...(event.failMessage !== undefined ? { failMessage: event.failMessage.slice(0, 4096) } : {}),
              time: event.time,
            },
            worker.id,
          );
          held.delete(task.id);
        }
        break;
      }
      case 'actionStarted': {
        const session = await sessionOf(db, worker.id, event.sessionId);
        if (!session) break;
        await db
          .insertInto('actions')
          .values({
            session_id: event.sessionId,
            job_id: session.job_id,
            task_id: event.taskId ?? null,
            worker_action: event.action,
            kind: event.actionKind,
            name: event.name.slice(0, 512),
            state: 'RUNNING',
            started_at: event.time,
          })
          .onConflict((oc) => oc.columns(['session_id', 'worker_action']).doNothing())
          .execute();
        break;
      }
      case 'actionEnded':
        await db
          .updateTable('actions')
          .set({
            state: event.state,
            exit_code: event.exitCode ?? null,
            fail_message: event.failMessage?.slice(0, 4096) ?? null,
            ended_at: event.time,
          })
          .where('session_id', '=', event.sessionId)
          .where('worker_action', '=', event.action)
          .where('session_id', 'in', (eb) => eb.selectFrom('sessions').select('id').where('worker_id', '=', worker.id))
          .execute();
        break;
      case 'sessionEnded':
        await db
          .updateTable('sessions')
          .set({ state: 'ended', ended_at: event.time })
          .where('id', '=', event.sessionId)
          .where('worker_id', '=', worker.id)
          .execute();
        break;
    }
  }
}

async function sessionOf(db: Db, workerId: number, sessionId: number) {
  return db
    .selectFrom('sessions')
    .select(['id', 'job_id'])
    .where('id', '=', sessionId)
    .where('worker_id', '=', workerId)
    .executeTakeFirst();
}

async function storeLogs(db: Db, worker: WorkerRow, request: SyncRequest): Promise<void> {
  if (request.logs.length === 0) return;
  const sessions = new Map<number, { job_id: number } | undefined>();
  for (const batch of request.logs) {
    if (!sessions.has(batch.sessionId)) sessions.set(batch.sessionId, await sessionOf(db, worker.id, batch.sessionId));
    const session = sessions.get(batch.sessionId);
    if (!session || batch.lines.length === 0) continue;
    const action =
      batch.action === undefined
        ? undefined
        : await db
            .selectFrom('actions')
            .select('id')
            .where('session_id', '=', batch.sessionId)
            .where('worker_action', '=', batch.action)
            .executeTakeFirst();
    await db
      .insertInto('logs')
      .values({
        job_id: session.job_id,
        session_id: batch.sessionId,
        action_id: action?.id ?? null,
        task_id: batch.taskId ?? null,
        seq: batch.seq,
        time: batch.lines[0]![0],
        lines: JSON.stringify(batch.lines),
        line_count: batch.lines.length,
      })
      .onConflict((oc) => oc.columns(['session_id', 'seq']).doNothing())
      .execute();
  }
}

/** A sync that wants work: `request.wantWork` more tasks, after those it was already given (`earlier`). */
interface Want {
  readonly worker: WorkerRow;
  readonly request: SyncRequest;
  readonly capabilities: Capabilities;
  readonly actor: string;
  readonly earlier?: readonly Assignment[];
  /** Receives each claimed task's wait since it became ready (ms). */
  readonly waitedMs: number[];
}

/**
 * Claims work for syncs (a batch's, or one) together (see `claimTasks`) and turns each one's tasks into assignments.
 * @returns each sync's new assignments, in the order given.
 */
async function assignWork(
  changes: Changes,
  wants: readonly Want[],
  options: SyncOptions,
  sessions: OpenSessions,
  memo: ClaimMemo,
): Promise<Assignment[][]> {
  if (wants.length === 0) return [];
  const { db } = changes;
  const openOf = (w: Want) => (w.request.session ? sessions.get(w.request.session.id) : undefined);
  const requests: ClaimRequest[] = [];
  for (const w of wants) {
    const open = openOf(w);
    requests.push({
      workerId: w.worker.id,
      actor: w.actor,
      ...(w.request.session && open
        ? { session: { id: open.id, jobId: w.request.session.jobId, envKey: w.request.session.envKey } }
        : {}),
      max: Math.min(w.request.wantWork, 16),
      exclusions: await options.exclusions(db, w.worker.id, w.capabilities),
    });
  }
  const claimed = await claimTasks(changes, requests, {
    sessionSteps: (jobId, envKey) => options.sessionSteps(db, jobId, envKey),
    now: options.now,
    avoidMs: options.avoidMs,
    dialect: options.dialect,
    memo,
  });
  const result: Assignment[][] = [];
  for (const w of wants) {
    const tasks = claimed.get(w.worker.id) ?? [];
    result.push(await toAssignments(db, w.worker, tasks, openOf(w), w.earlier ?? [], options, w.waitedMs));
  }
  return result;
}

/**
 * A worker's claimed tasks as assignments: each in the worker's session for its job (opened here when it has none,
 * and then carrying the job's spec), with its step's facts.
 */
async function toAssignments(
  db: Db,
  worker: WorkerRow,
  claimed: readonly ClaimedTask[],
  openSession: { readonly id: number; readonly job_id: number } | undefined,
  earlier: readonly Assignment[],
  options: SyncOptions,
  waitedMs: number[],
): Promise<Assignment[]> {
  const assignments: Assignment[] = [];
  const sessionsByJob = new Map<number, { id: number; isNew: boolean }>();
  if (openSession) sessionsByJob.set(openSession.job_id, { id: openSession.id, isNew: false });
  for (const a of earlier)
    if (!sessionsByJob.has(a.jobId)) sessionsByJob.set(a.jobId, { id: a.sessionId, isNew: false });
  for (const task of claimed) {
    waitedMs.push(Math.max(0, options.now - Number(task.ready_at)));
    let session = sessionsByJob.get(task.job_id);
    if (!session) {
      const created = await db
        .insertInto('sessions')
        .values({
          worker_id: worker.id,
          job_id: task.job_id,
          state: 'open',
          started_at: options.now,
          environments: '[]',
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      session = { id: created.id, isNew: true };
      sessionsByJob.set(task.job_id, session);
    }
    if (task.session_id !== session.id) {
      await db.updateTable('tasks').set({ session_id: session.id }).where('id', '=', task.id).execute();
    }
    const step = await options.stepInfo(db, task.step_id);
    assignments.push({
      taskId: task.id,
      attempt: task.attempts,
      jobId: task.job_id,
      stepIndex: step.idx,
      stepName: step.name,
      envKey: step.env_key,
      parameters: JSON.parse(task.parameters),
      sessionId: session.id,
      ...(session.isNew ? { job: await jobSpec(db, task.job_id) } : {}),
    });
    session.isNew = false;
  }
  return assignments;
}

/** The inputs a worker needs to re-create a job exactly. */
export async function jobSpec(db: Db, jobId: number): Promise<JobSpec> {
  const row = await db
    .selectFrom('jobs')
    .innerJoin('queues', 'queues.id', 'jobs.queue_id')
    .select([
      'jobs.id',
      'jobs.name',
      'jobs.template',
      'jobs.template_format',
      'jobs.environment_templates',
      'jobs.parameters',
      'queues.environments as queue_environments',
      'queues.run_as_user',
      'queues.path_mapping_rules',
    ])
    .where('jobs.id', '=', jobId)
    .executeTakeFirstOrThrow();
  return {
    id: row.id,
    name: row.name,
    template: row.template,
    templateFormat: row.template_format === 'json' ? 'json' : 'yaml',
    environmentTemplates: [...JSON.parse(row.queue_environments), ...JSON.parse(row.environment_templates)],
    parameters: JSON.parse(row.parameters) as JobParameterValues,
    ...(row.run_as_user ? { runAsUser: row.run_as_user } : {}),
    ...(row.path_mapping_rules ? { pathMappingRules: JSON.parse(row.path_mapping_rules) } : {}),
  };
}
