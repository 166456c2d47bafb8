/**
 * @module The worker protocol's one call: a sync is heartbeat, report and request for work at once.
 *
 * Idempotent: each sync carries a sequence number; the server stores the reply of the last one it applied, and a
 * retried sync (same number, after a network failure ate the reply) gets that stored reply without anything being
 * applied twice. Everything a sync changes happens in one transaction, so a server killed mid-sync leaves either all
 * of it or none.
 */
import type { JobParameterValues } from '../../model/job-parameters.js';
import type { Assignment, Capabilities, JobSpec, SyncReply, SyncRequest } from '../api/types.js';
import { conflict } from '../errors.js';
import type { Dialect } from '../store/database.js';
import type { WorkerRow } from '../store/schema.js';
import { normaliseCapabilities } from './capabilities.js';
import { claimTasks, type Exclusions } from './claim.js';
import { changesFor } from './settle.js';
import { taskFinished, taskLost, taskStarted } from './tasks.js';
import { type Changes, type Db, HELD_STATES, recordEvent } from './transitions.js';

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

/**
 * Applies a worker's sync and answers it.
 * @throws {CorralError} `CORRAL_E_CONFLICT` for a sequence number older than the last one applied.
 */
export async function applySync(
  db: Db,
  worker: WorkerRow,
  request: SyncRequest,
  options: SyncOptions,
): Promise<SyncReply> {
  const { now } = options;
  const actor = `worker:${worker.name}`;
  if (request.seq === worker.sync_seq && worker.sync_reply) {
    await db.updateTable('workers').set({ last_seen: now }).where('id', '=', worker.id).execute();
    return JSON.parse(worker.sync_reply) as SyncReply;
  }
  if (request.seq < worker.sync_seq) {
    throw conflict(
      `Sync ${request.seq} is older than the last one applied (${worker.sync_seq}); send ${worker.sync_seq + 1}.`,
    );
  }

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
    await recordEvent(db, {
      kind: 'worker',
      subjectId: worker.id,
      jobId: null,
      from: worker.state,
      to: workerState,
      actor,
      now,
    });
  }

  // A worker the server declared lost: what it holds was given to others. It drops everything and starts clean.
  if (worker.state === 'lost')
    return store(db, worker, { ...EMPTY_REPLY(request.seq, options.idleSyncMs), reset: true }, patch);

  const changes = changesFor(db, now, actor);
  await applyEvents(changes, worker, request);
  await storeLogs(db, worker, request);

  // Reconcile: what the worker runs against what the server has it running.
  const held = await db
    .selectFrom('tasks')
    .select(['id', 'job_id', 'step_id', 'state', 'lost_count', 'attempts', 'worker_id', 'session_id', 'started_at'])
    .where('worker_id', '=', worker.id)
    .where('state', 'in', HELD_STATES)
    .execute();
  const running = new Set(request.running);
  const heldIds = new Set(held.map((t) => t.id));
  const cancel = request.running.filter((id) => !heldIds.has(id));
  for (const task of held) {
    if (!running.has(task.id)) {
      // Given in an earlier reply the worker has seen (its sequence moved on), yet it does not hold it: it lost it.
      await taskLost(changes, task as never, 'the worker no longer holds it');
    }
  }

  let assignments: Assignment[] = [];
  const drain = worker.drain_requested === 1;
  const wantsWork = !drain && request.state !== 'draining' && request.state !== 'offline' && request.wantWork > 0;
  if (wantsWork) assignments = await assign(changes, worker, request, capabilities, options);
  // Counters are written once; when that settled a job (a step finished, so its dependents may be ready now) and the
  // worker can take more, it is offered what became ready.
  if (await changes.flush()) {
    // Settling may also have taken back what was just claimed (the job failed or was suspended meanwhile).
    if (assignments.length > 0) {
      const still = new Set(
        (
          await db
            .selectFrom('tasks')
            .select('id')
            .where(
              'id',
              'in',
              assignments.map((a) => a.taskId),
            )
            .where('worker_id', '=', worker.id)
            .where('state', '=', 'assigned')
            .execute()
        ).map((t) => t.id),
      );
      assignments = assignments.filter((a) => still.has(a.taskId));
    }
    if (wantsWork && assignments.length < request.wantWork) {
      const rest = { ...request, wantWork: request.wantWork - assignments.length };
      assignments = [...assignments, ...(await assign(changes, worker, rest, capabilities, options, assignments))];
      await changes.flush();
    }
  }
  // Sessions whose job has nothing more for this worker end.
  const endSessions: number[] = [];
  if (request.session) {
    const job = await db
      .selectFrom('jobs')
      .select(['state'])
      .where('id', '=', request.session.jobId)
      .executeTakeFirst();
    if (!job || (job.state !== 'queued' && job.state !== 'running')) endSessions.push(request.session.id);
  }
  return store(
    db,
    worker,
    {
      seq: request.seq,
      assignments,
      cancel,
      endSessions: endSessions.filter((id) => !assignments.some((a) => a.sessionId === id)),
      drain,
      reset: false,
      nextSyncMs: options.idleSyncMs,
    },
    patch,
  );
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
): Promise<SyncReply | undefined> {
  const worker = await db.selectFrom('workers').selectAll().where('id', '=', workerId).executeTakeFirst();
  if (!worker || worker.sync_seq !== request.seq || worker.state === 'lost' || worker.drain_requested) return undefined;
  const stored = worker.sync_reply ? (JSON.parse(worker.sync_reply) as SyncReply) : undefined;
  if (!stored || !isEmptyReply(stored)) return stored;
  const capabilities = JSON.parse(worker.capabilities) as Capabilities;
  const changes = changesFor(db, options.now, `worker:${worker.name}`);
  const assignments = await assign(changes, worker, request, capabilities, options);
  await changes.flush();
  if (assignments.length === 0) return undefined;
  return store(db, worker, { ...stored, assignments }, { state: 'busy', last_seen: options.now });
}

async function store(db: Db, worker: WorkerRow, reply: SyncReply, patch: WorkerPatch): Promise<SyncReply> {
  await db
    .updateTable('workers')
    .set({ ...patch, sync_seq: reply.seq, sync_reply: JSON.stringify(reply) })
    .where('id', '=', worker.id)
    .execute();
  return reply;
}

async function applyEvents(changes: Changes, worker: WorkerRow, request: SyncRequest): Promise<void> {
  const { db, now } = changes;
  const taskIds = [
    ...new Set(request.events.flatMap((e) => ('taskId' in e && e.taskId !== undefined ? [e.taskId] : []))),
  ];
  const tasks = new Map(
    taskIds.length === 0
      ? []
      : (
          await db
            .selectFrom('tasks')
            .innerJoin('jobs', 'jobs.id', 'tasks.job_id')
            .selectAll('tasks')
            .select('jobs.max_retries_per_task')
            .where('tasks.id', 'in', taskIds)
            .execute()
        ).map((t) => [t.id, t]),
  );
  const mine = (taskId: number) => {
    const task = tasks.get(taskId);
    return task && task.worker_id === worker.id && (task.state === 'assigned' || task.state === 'running')
      ? task
      : undefined;
  };
  // A short task's start and end usually arrive together: it then moves assigned → finished in one statement.
  const finishing = new Set(request.events.flatMap((e) => (e.kind === 'taskFinished' ? [e.taskId] : [])));
  for (const event of request.events) {
    switch (event.kind) {
      case 'taskStarted': {
        const task = mine(event.taskId);
        if (task && finishing.has(task.id) && task.state === 'assigned') {
          tasks.set(task.id, { ...task, started_at: event.time });
        } else if (task) {
          await taskStarted(changes, task, event.time);
          tasks.set(task.id, { ...task, state: 'running', started_at: event.time });
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
          tasks.delete(task.id);
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

async function assign(
  changes: Changes,
  worker: WorkerRow,
  request: SyncRequest,
  capabilities: Capabilities,
  options: SyncOptions,
  earlier: readonly Assignment[] = [],
): Promise<Assignment[]> {
  const { db } = changes;
  const openSession = request.session
    ? await db
        .selectFrom('sessions')
        .select(['id', 'job_id'])
        .where('id', '=', request.session.id)
        .where('worker_id', '=', worker.id)
        .where('state', '=', 'open')
        .executeTakeFirst()
    : undefined;
  const claimed = await claimTasks(changes, {
    workerId: worker.id,
    capabilities,
    ...(request.session && openSession
      ? { session: { id: openSession.id, jobId: request.session.jobId, envKey: request.session.envKey } }
      : {}),
    sessionSteps: (jobId, envKey) => options.sessionSteps(db, jobId, envKey),
    max: Math.min(request.wantWork, 16),
    now: options.now,
    avoidMs: options.avoidMs,
    dialect: options.dialect,
    exclusions: await options.exclusions(db, worker.id, capabilities),
  });
  const assignments: Assignment[] = [];
  const sessionsByJob = new Map<number, { id: number; isNew: boolean }>();
  if (openSession) sessionsByJob.set(openSession.job_id, { id: openSession.id, isNew: false });
  for (const a of earlier)
    if (!sessionsByJob.has(a.jobId)) sessionsByJob.set(a.jobId, { id: a.sessionId, isNew: false });
  for (const task of claimed) {
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
