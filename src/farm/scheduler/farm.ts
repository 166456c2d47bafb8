/**
 * @module The farm: the scheduler's operations over one database, each in its own transaction, plus what they share
 * (announcements of new work for long-polling workers, change notifications for live views, the lost-worker sweep).
 * The HTTP server is a thin layer over this; tests drive it directly.
 */
import { createHash, randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { sql } from 'kysely';
import { CorralError } from '../../model/errors.js';
import type {
  Capabilities,
  FarmChange,
  JobTarget,
  RegisterWorkerReply,
  RegisterWorkerRequest,
  SubmitJobRequest,
  SyncReply,
  SyncRequest,
  TokenKind,
  WorkerMetricsHistory,
} from '../api/types.js';
import { badRequest, conflict, FarmErrorCode, notFound } from '../errors.js';
import { type FarmDatabase, openDatabase } from '../store/database.js';
import { migrate } from '../store/migrations.js';
import * as queries from '../store/queries.js';
import type { WorkerRow } from '../store/schema.js';
import { postgresWakeups, type Wakeups } from '../store/wakeups.js';
import { normaliseCapabilities } from './capabilities.js';
import { type Exclusions, exclusionsOf, type FarmExclusions, findFarmExclusions } from './claim.js';
import * as control from './control.js';
import { sweepLostWorkers } from './leases.js';
import { MetricsHistory } from './metrics-history.js';
import { deleteFinishedJob, expiredJobs } from './retention.js';
import { changesFor } from './settle.js';
import { type SubmitLimits, submitJob } from './submit.js';
import { applySyncs, isEmptyReply, retryAssignment, type StepInfo, type SyncOptions } from './sync.js';
import { SyncBatcher } from './sync-batcher.js';
import { taskLost } from './tasks.js';
import { type Db, HELD_STATES, recordEvent } from './transitions.js';

/** Submissions of at least this many tasks refresh PostgreSQL's statistics of the tasks table. */
const ANALYZE_AFTER_TASKS = 1000;

export interface FarmOptions {
  /** Database URL (see `openDatabase`). */
  readonly database: string;
  /** A worker silent this long is declared lost. Default 60 s. */
  readonly workerTimeoutMs?: number;
  /** How long a task that failed on a worker is kept from it. Default 30 s. */
  readonly avoidMs?: number;
  /** Finished jobs are deleted this long after they finished (by the sweep). Default 0: kept until deleted. */
  readonly jobRetentionMs?: number;
  /** How often an idle worker that does not long-poll should sync. Default 2 s. */
  readonly idleSyncMs?: number;
  readonly limits?: Partial<SubmitLimits>;
  /** Clock, for tests. */
  readonly now?: () => number;
}

export interface TokenInfo {
  readonly id: number;
  readonly name: string;
  readonly kind: TokenKind;
  readonly workerId?: number;
}

/** How long an authentication answer is reused. */
export const TOKEN_CACHE_MS = 5000;

export const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

/** A new random token: 32 bytes, base64url, with a prefix saying what it is for. */
export function newToken(kind: TokenKind): string {
  return `corral_${kind}_${randomBytes(32).toString('base64url')}`;
}

export class Farm {
  readonly database: FarmDatabase;
  readonly #options: {
    -readonly [K in keyof Omit<FarmOptions, 'limits' | 'now'>]-?: NonNullable<FarmOptions[K]>;
  } & { limits: SubmitLimits; now: () => number };
  /**
   * Emits `work` when tasks may have become ready, `change` with a {@link FarmChange}, and `dispatched` with how long
   * each task just handed out had waited since it became ready (ms; committed assignments only).
   */
  readonly events = new EventEmitter();
  #exclusions: { at: number; value: Promise<FarmExclusions> } | undefined;
  #sweeper: NodeJS.Timeout | undefined;
  #lastPrune = 0;
  #wakeups: Wakeups | undefined;
  readonly #tokens = new Map<string, { at: number; info: TokenInfo | undefined }>();
  readonly #syncs: SyncBatcher;
  /** Each worker's recent host metrics, for the dashboard's charts (memory only: lost on restart). */
  readonly #metricsHistory = new MetricsHistory();
  #analyzing: Promise<void> | undefined;

  private constructor(database: FarmDatabase, options: FarmOptions) {
    this.database = database;
    this.#options = {
      database: options.database,
      workerTimeoutMs: options.workerTimeoutMs ?? 60_000,
      avoidMs: options.avoidMs ?? 30_000,
      jobRetentionMs: options.jobRetentionMs ?? 0,
      idleSyncMs: options.idleSyncMs ?? 2000,
      limits: { maxTasksPerJob: 1_000_000, ...options.limits },
      now: options.now ?? Date.now,
    };
    this.events.setMaxListeners(0);
    this.#syncs = new SyncBatcher({
      // SQLite has one writer; on PostgreSQL a few batches run at once (their claims skip each other's rows).
      lanes: database.dialect === 'postgres' ? 4 : 1,
      maxBatch: 64,
      apply: (items) =>
        this.transaction(async (db) => {
          const ids = [...new Set(items.map((i) => i.workerId))];
          const rows = new Map(
            (await db.selectFrom('workers').selectAll().where('id', 'in', ids).execute()).map((w) => [w.id, w]),
          );
          const batch = items.map((i) => ({ ...i, worker: rows.get(i.workerId) as WorkerRow | undefined }));
          return applySyncs(db, batch, this.#syncOptions());
        }),
    });
  }

  #syncOptions(): SyncOptions {
    return {
      now: this.#options.now(),
      dialect: this.database.dialect,
      avoidMs: this.#options.avoidMs,
      idleSyncMs: this.#options.idleSyncMs,
      exclusions: (db, id, capabilities) => this.#exclusionsFor(db, id, capabilities),
      stepInfo: (db, stepId) => this.#stepInfo(db, stepId),
      sessionSteps: (db, jobId, envKey) => this.#sessionSteps(db, jobId, envKey),
    };
  }

  /**
   * Opens (and migrates) the farm's database.
   * @throws {CorralError} `CORRAL_E_DATABASE_UNAVAILABLE`, `CORRAL_E_DATABASE_TOO_NEW`.
   */
  static async open(options: FarmOptions): Promise<Farm> {
    const database = await openDatabase({ url: options.database });
    try {
      await migrate(database);
    } catch (error) {
      await database.close();
      throw error;
    }
    const farm = new Farm(database, options);
    if (database.dialect === 'postgres') {
      try {
        farm.#wakeups = await postgresWakeups({ url: options.database, onWork: () => farm.events.emit('work') });
      } catch (error) {
        await database.close();
        throw error;
      }
    }
    return farm;
  }

  get db(): Db {
    return this.database.db;
  }

  /** Starts the periodic sweep for lost workers. */
  startSweeper(intervalMs = 2000): void {
    this.#sweeper ??= setInterval(() => {
      this.sweep().catch(() => {});
      // Expired jobs are looked for once a minute, not at every sweep.
      const now = this.#options.now();
      if (this.#options.jobRetentionMs > 0 && now - this.#lastPrune >= 60_000) {
        this.#lastPrune = now;
        this.pruneJobs().catch(() => {});
      }
    }, intervalMs);
    this.#sweeper.unref();
  }

  async close(): Promise<void> {
    clearInterval(this.#sweeper);
    this.#sweeper = undefined;
    await this.#analyzing;
    await this.#wakeups?.close();
    await this.database.close();
  }

  /** Applies new settings (a reloaded configuration). */
  configure(
    options: Pick<FarmOptions, 'workerTimeoutMs' | 'avoidMs' | 'idleSyncMs' | 'limits' | 'jobRetentionMs'>,
  ): void {
    if (options.workerTimeoutMs !== undefined) this.#options.workerTimeoutMs = options.workerTimeoutMs;
    if (options.jobRetentionMs !== undefined) this.#options.jobRetentionMs = options.jobRetentionMs;
    if (options.avoidMs !== undefined) this.#options.avoidMs = options.avoidMs;
    if (options.idleSyncMs !== undefined) this.#options.idleSyncMs = options.idleSyncMs;
    if (options.limits) this.#options.limits = { ...this.#options.limits, ...options.limits };
  }

  /** Wakes long-polling workers here, and through the database those of other servers sharing it. */
  #announceWork(): void {
    this.events.emit('work');
    this.#wakeups?.announce();
  }

  #emit(change: FarmChange): void {
    this.events.emit('change', change);
  }

  /** Runs `body` in a transaction. */
  async transaction<T>(body: (db: Db) => Promise<T>): Promise<T> {
    return this.db.transaction().execute(body);
  }

  // -------------------------------------------------------------------------------------------------------------
  // Jobs

  /**
   * Submits a job.
   * @throws the model's TemplateError, ParameterError or JobCreationError with located issues; CorralError
   *   `CORRAL_E_NOT_FOUND` (queue), `CORRAL_E_BAD_REQUEST`, `CORRAL_E_TOO_LARGE`.
   */
  async submitJob(request: SubmitJobRequest, submitter: string): Promise<{ jobId: number; taskCount: number }> {
    const result = await this.transaction((db) =>
      submitJob(db, request, { submitter, now: this.#options.now(), limits: this.#options.limits }),
    );
    this.#emit({ kind: 'job', jobId: result.jobId });
    this.#announceWork();
    if (this.database.dialect === 'postgres' && result.taskCount >= ANALYZE_AFTER_TASKS) this.#analyzeTasks();
    return result;
  }

  /**
   * Refreshes PostgreSQL's statistics of the tasks table after a large submission, in the background. Until
   * autovacuum gets to it (a minute or more), the planner believes the table holds a few hundred ready tasks, and a
   * claim's pick read all of them to find the best ones (26 ms with 48,000 ready, against well under 1 ms by the
   * index).
   */
  #analyzeTasks(): void {
    if (this.#analyzing) return;
    this.#analyzing = sql`ANALYZE tasks`
      .execute(this.database.db)
      .then(() => undefined)
      .catch(() => {
        // Statistics are an optimisation: autovacuum analyzes the table later anyway.
      })
      .finally(() => {
        this.#analyzing = undefined;
      });
  }

  async #steer<T>(jobId: number, body: (db: Db) => Promise<T>): Promise<T> {
    const result = await this.transaction(body);
    this.#emit({ kind: 'job', jobId });
    this.#emit({ kind: 'tasks', jobId });
    this.#announceWork();
    return result;
  }

  cancel(jobId: number, target: JobTarget, actor: string) {
    return this.#steer(jobId, (db) => control.cancel(db, jobId, target, { actor, now: this.#options.now() }));
  }

  suspend(jobId: number, target: JobTarget, actor: string) {
    return this.#steer(jobId, (db) => control.suspend(db, jobId, target, { actor, now: this.#options.now() }));
  }

  resume(jobId: number, target: JobTarget, actor: string) {
    return this.#steer(jobId, (db) => control.resume(db, jobId, target, { actor, now: this.#options.now() }));
  }

  requeue(jobId: number, target: JobTarget & { includeSucceeded?: boolean }, actor: string) {
    return this.#steer(jobId, (db) =>
      control.requeue(db, jobId, target, {
        actor,
        now: this.#options.now(),
        includeSucceeded: target.includeSucceeded ?? false,
      }),
    );
  }

  setPriority(jobId: number, priority: number, actor: string) {
    return this.#steer(jobId, (db) => control.setPriority(db, jobId, priority, { actor, now: this.#options.now() }));
  }

  listJobs(options?: queries.JobListOptions) {
    return queries.listJobs(this.db, options);
  }
  getJob(jobId: number) {
    return queries.getJob(this.db, jobId);
  }
  getJobSource(jobId: number) {
    return queries.getJobSource(this.db, jobId);
  }
  listTasks(jobId: number, options?: queries.TaskListOptions) {
    return queries.listTasks(this.db, jobId, options);
  }
  getTask(jobId: number, taskId: number) {
    return queries.getTask(this.db, jobId, taskId);
  }
  readLogs(jobId: number, query?: queries.LogQuery) {
    return queries.readLogs(this.db, jobId, query);
  }
  listEvents(options?: { jobId?: number; after?: number; limit?: number }) {
    return queries.listEvents(this.db, options);
  }
  listWorkers() {
    return queries.listWorkers(this.db);
  }
  listQueues() {
    return queries.listQueues(this.db);
  }
  totals() {
    return queries.farmTotals(this.db);
  }

  // -------------------------------------------------------------------------------------------------------------
  // Queues

  /**
   * Creates a queue.
   * @throws {CorralError} `CORRAL_E_CONFLICT` when the name is taken; `CORRAL_E_BAD_REQUEST` for a bad name.
   */
  async createQueue(
    queue: { name: string; description?: string; runAsUser?: string; environments?: { name: string; text: string }[] },
    actor: string,
  ) {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(queue.name)) {
      throw badRequest(
        `A queue name is 1–64 letters, digits, '.', '_' or '-', starting with a letter or digit; got '${queue.name}'.`,
      );
    }
    await this.#checkEnvironments(queue.environments ?? []);
    const id = await this.transaction(async (db) => {
      const taken = await db.selectFrom('queues').select('id').where('name', '=', queue.name).executeTakeFirst();
      if (taken) throw conflict(`A queue named '${queue.name}' exists already.`);
      const row = await db
        .insertInto('queues')
        .values({
          name: queue.name,
          description: queue.description ?? null,
          run_as_user: queue.runAsUser ?? null,
          environments: JSON.stringify(queue.environments ?? []),
          path_mapping_rules: null,
          created_at: this.#options.now(),
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      await recordEvent(db, {
        kind: 'queue',
        subjectId: row.id,
        jobId: null,
        from: null,
        to: 'created',
        actor,
        now: this.#options.now(),
      });
      return row.id;
    });
    this.#emit({ kind: 'queue' });
    return { id };
  }

  /** Changes a queue's settings; only what is given changes. */
  async configureQueue(
    name: string,
    changes: {
      description?: string | null;
      runAsUser?: string | null;
      environments?: { name: string; text: string }[];
    },
    actor: string,
  ) {
    if (changes.environments) await this.#checkEnvironments(changes.environments);
    await this.transaction(async (db) => {
      const queue = await db.selectFrom('queues').select('id').where('name', '=', name).executeTakeFirst();
      if (!queue) throw notFound(`The queue '${name}'`);
      await db
        .updateTable('queues')
        .set({
          ...(changes.description !== undefined ? { description: changes.description } : {}),
          ...(changes.runAsUser !== undefined ? { run_as_user: changes.runAsUser } : {}),
          ...(changes.environments !== undefined ? { environments: JSON.stringify(changes.environments) } : {}),
        })
        .where('id', '=', queue.id)
        .execute();
      await recordEvent(db, {
        kind: 'queue',
        subjectId: queue.id,
        jobId: null,
        from: null,
        to: 'configured',
        actor,
        now: this.#options.now(),
      });
    });
    this.#emit({ kind: 'queue' });
  }

  async #checkEnvironments(environments: readonly { name: string; text: string }[]): Promise<void> {
    const { decodeEnvironmentTemplate } = await import('../../model/decode.js');
    for (const env of environments) decodeEnvironmentTemplate({ text: env.text, source: env.name });
  }

  // -------------------------------------------------------------------------------------------------------------
  // Workers

  /** Registers a worker (or re-registers one by name) and gives it a token of its own. */
  async registerWorker(request: RegisterWorkerRequest, actor: string): Promise<RegisterWorkerReply> {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.@-]{0,127}$/.test(request.name)) {
      throw badRequest(`A worker name is 1–128 letters, digits, '.', '_', '@' or '-'; got '${request.name}'.`);
    }
    const token = newToken('worker');
    const now = this.#options.now();
    const capabilities = JSON.stringify(normaliseCapabilities(request.capabilities ?? { amounts: {}, attributes: {} }));
    const workerId = await this.transaction(async (db) => {
      const existing = await db
        .selectFrom('workers')
        .select(['id', 'state'])
        .where('name', '=', request.name)
        .executeTakeFirst();
      let id: number;
      if (existing) {
        id = existing.id;
        // A worker starting again: what it held before is not running any more (it would say so otherwise).
        const changes = changesFor(db, now, actor);
        const held = await db
          .selectFrom('tasks')
          .selectAll()
          .where('worker_id', '=', id)
          .where('state', 'in', HELD_STATES)
          .execute();
        for (const task of held) await taskLost(changes, task, `worker ${request.name} registered again`);
        await changes.flush();
        await db
          .updateTable('sessions')
          .set({ state: 'ended', ended_at: now })
          .where('worker_id', '=', id)
          .where('state', '=', 'open')
          .execute();
        await db
          .updateTable('workers')
          .set({
            host: request.host,
            capabilities,
            state: 'idle',
            last_seen: now,
            sync_seq: 0,
            sync_reply: null,
            drain_requested: 0,
          })
          .where('id', '=', id)
          .execute();
        await db.deleteFrom('tokens').where('worker_id', '=', id).execute();
      } else {
        const row = await db
          .insertInto('workers')
          .values({
            name: request.name,
            host: request.host,
            state: 'idle',
            capabilities,
            last_seen: now,
            registered_at: now,
            lost_count: 0,
            sync_seq: 0,
            drain_requested: 0,
          })
          .returning('id')
          .executeTakeFirstOrThrow();
        id = row.id;
      }
      await db
        .insertInto('tokens')
        .values({
          name: `worker ${request.name}`,
          kind: 'worker',
          hash: hashToken(token),
          worker_id: id,
          created_at: now,
        })
        .execute();
      await recordEvent(db, {
        kind: 'worker',
        subjectId: id,
        jobId: null,
        from: existing?.state ?? null,
        to: 'idle',
        actor,
        reason: 'registered',
        now,
      });
      return id;
    });
    // After the commit: a cache refilled before it would keep the replaced token alive.
    this.#tokens.clear();
    this.#emit({ kind: 'worker', workerId });
    this.#announceWork();
    return { workerId, token };
  }

  /**
   * A worker's recent host metrics (the last 10 minutes, a sample every 5 s at most), oldest first; kept in memory,
   * so empty after a restart.
   * @throws {CorralError} `CORRAL_E_NOT_FOUND` for an unknown worker.
   */
  async workerMetrics(workerId: number): Promise<WorkerMetricsHistory> {
    const worker = await this.db.selectFrom('workers').select('id').where('id', '=', workerId).executeTakeFirst();
    if (!worker) throw notFound(`Worker ${workerId}`);
    return { workerId, samples: this.#metricsHistory.read(workerId, this.#options.now()) };
  }

  /** Asks a worker to stop taking work (drain), or to take work again. */
  async setDraining(workerId: number, draining: boolean, actor: string): Promise<void> {
    await this.transaction(async (db) => {
      const worker = await db
        .selectFrom('workers')
        .select(['id', 'state'])
        .where('id', '=', workerId)
        .executeTakeFirst();
      if (!worker) throw notFound(`Worker ${workerId}`);
      await db
        .updateTable('workers')
        .set({ drain_requested: draining ? 1 : 0 })
        .where('id', '=', workerId)
        .execute();
      await recordEvent(db, {
        kind: 'worker',
        subjectId: workerId,
        jobId: null,
        from: worker.state,
        to: worker.state,
        actor,
        reason: draining ? 'drain requested' : 'drain lifted',
        now: this.#options.now(),
      });
    });
    this.#emit({ kind: 'worker', workerId });
    this.events.emit(`worker:${workerId}`);
  }

  // A step's name, index and environments, and which steps of a job share environments, never change once a job is
  // submitted; every assignment needs them, so they are kept (bounded) instead of read each time.
  readonly #steps = new Map<number, StepInfo>();
  readonly #envSteps = new Map<string, readonly number[]>();

  async #stepInfo(db: Db, stepId: number): Promise<StepInfo> {
    let info = this.#steps.get(stepId);
    if (!info) {
      info = await db
        .selectFrom('steps')
        .select(['idx', 'name', 'env_key'])
        .where('id', '=', stepId)
        .executeTakeFirstOrThrow();
      if (this.#steps.size >= 50_000) this.#steps.clear();
      this.#steps.set(stepId, info);
    }
    return info;
  }

  async #sessionSteps(db: Db, jobId: number, envKey: string): Promise<readonly number[]> {
    const key = `${jobId}:${envKey}`;
    let steps = this.#envSteps.get(key);
    if (!steps) {
      const rows = await db
        .selectFrom('steps')
        .select('id')
        .where('job_id', '=', jobId)
        .where('env_key', '=', envKey)
        .orderBy('idx')
        .execute();
      steps = rows.map((r) => r.id);
      if (this.#envSteps.size >= 10_000) this.#envSteps.clear();
      this.#envSteps.set(key, steps);
    }
    return steps;
  }

  async #exclusionsFor(db: Db, workerId: number, capabilities: Capabilities): Promise<Exclusions> {
    // Read for the whole farm and reused briefly: every worker's sync needs them, and they change rarely (a job
    // with host requirements arrives, a worker reaches its failure limit). Concurrent syncs share one read.
    const now = this.#options.now();
    if (!this.#exclusions || now - this.#exclusions.at >= 250) {
      const value = findFarmExclusions(db);
      this.#exclusions = { at: now, value };
      value.catch(() => {
        if (this.#exclusions?.value === value) this.#exclusions = undefined;
      });
    }
    return exclusionsOf(await this.#exclusions.value, workerId, capabilities);
  }

  /**
   * A worker's sync: applies its report and answers with work. With `waitMs`, an empty answer waits (long-poll) until
   * work may be available, the worker is asked to drain, or the time is up.
   * @param signal Aborts the wait (the worker went away).
   * @throws {CorralError} `CORRAL_E_NOT_FOUND` for an unknown worker; `CORRAL_E_CONFLICT` for a stale sequence.
   */
  async sync(workerId: number, request: SyncRequest, signal?: AbortSignal): Promise<SyncReply> {
    const applied = await this.#syncs.submit(workerId, request);
    const reply = applied.reply;
    if (applied.waitedMs) this.events.emit('dispatched', applied.waitedMs);
    // A new sample is news for the dashboard's charts (at most one per worker every 5 s).
    if (request.metrics && this.#metricsHistory.record(workerId, request.metrics, this.#options.now())) {
      this.#emit({ kind: 'worker', workerId });
    }
    this.#afterSync(workerId, request, reply);
    const wait = Math.min(Math.max(request.waitMs ?? 0, 0), 30_000);
    if (!isEmptyReply(reply) || wait === 0 || request.wantWork <= 0) return reply;
    const deadline = Date.now() + wait;
    while (Date.now() < deadline && !signal?.aborted) {
      const woken = await this.#waitForWork(workerId, deadline - Date.now(), signal);
      if (!woken) break;
      const retried = await this.transaction((db) => retryAssignment(db, workerId, request, this.#syncOptions()));
      if (retried && !isEmptyReply(retried.reply)) {
        if (retried.waitedMs) this.events.emit('dispatched', retried.waitedMs);
        this.#afterSync(workerId, request, retried.reply);
        return retried.reply;
      }
      const worker = await this.db
        .selectFrom('workers')
        .select(['drain_requested', 'sync_seq'])
        .where('id', '=', workerId)
        .executeTakeFirst();
      if (!worker || worker.sync_seq !== request.seq) break;
      if (worker.drain_requested) {
        const drained = { ...reply, drain: true };
        await this.db
          .updateTable('workers')
          .set({ sync_reply: JSON.stringify(drained) })
          .where('id', '=', workerId)
          .where('sync_seq', '=', request.seq)
          .execute();
        return drained;
      }
    }
    return reply;
  }

  // Which job a session or task belongs to, learnt from the assignments handed out, so that live views following one
  // job hear of its task and log changes only (-1, "some job", when this server did not hand the work out).
  readonly #sessionJobs = new Map<number, number>();
  readonly #taskJobs = new Map<number, number>();

  #afterSync(workerId: number, request: SyncRequest, reply: SyncReply): void {
    for (const a of reply.assignments) {
      if (this.#taskJobs.size >= 100_000) this.#taskJobs.clear();
      if (this.#sessionJobs.size >= 10_000) this.#sessionJobs.clear();
      this.#taskJobs.set(a.taskId, a.jobId);
      this.#sessionJobs.set(a.sessionId, a.jobId);
    }
    const jobs = new Set<number>(reply.assignments.map((a) => a.jobId));
    for (const event of request.events) {
      if (event.kind === 'taskStarted' || event.kind === 'taskFinished' || event.kind === 'taskProgress') {
        jobs.add(this.#taskJobs.get(event.taskId) ?? -1);
      }
    }
    if (request.events.length > 0 || reply.assignments.length > 0) this.#emit({ kind: 'worker', workerId });
    for (const jobId of jobs) this.#emit({ kind: 'tasks', jobId });
    for (const batch of request.logs) {
      const jobId = this.#sessionJobs.get(batch.sessionId) ?? -1;
      this.#emit({ kind: 'log', jobId, ...(batch.taskId !== undefined ? { taskId: batch.taskId } : {}) });
    }
    // Finished tasks may have unlocked others (a step completed, a retry became ready).
    if (request.events.some((e) => e.kind === 'taskFinished')) this.#announceWork();
  }

  /** Resolves true when work may have appeared, false when the time ran out or the wait was aborted. */
  #waitForWork(workerId: number, ms: number, signal?: AbortSignal): Promise<boolean> {
    return new Promise((resolve) => {
      const done = (woken: boolean) => {
        clearTimeout(timer);
        this.events.off('work', onWork);
        this.events.off(`worker:${workerId}`, onWork);
        signal?.removeEventListener('abort', onAbort);
        resolve(woken);
      };
      const onWork = () => done(true);
      const onAbort = () => done(false);
      const timer = setTimeout(() => done(false), Math.max(0, ms));
      this.events.on('work', onWork);
      this.events.on(`worker:${workerId}`, onWork);
      signal?.addEventListener('abort', onAbort);
    });
  }

  /**
   * Deletes a finished job with everything of it (tasks, logs, events); an event records who deleted it.
   * @throws {CorralError} `CORRAL_E_NOT_FOUND`; `CORRAL_E_CONFLICT` when the job has not finished (cancel it first).
   */
  async deleteJob(jobId: number, actor: string): Promise<void> {
    const result = await this.transaction((db) => deleteFinishedJob(db, { jobId, actor, now: this.#options.now() }));
    if (result.outcome === 'missing') throw notFound(`Job ${jobId}`);
    if (result.outcome === 'unfinished') {
      throw conflict(`Job ${jobId} is ${result.state}; only a finished job can be deleted (cancel it first).`);
    }
    this.#emit({ kind: 'job', jobId });
  }

  /**
   * Deletes finished jobs older than the retention (`jobRetentionMs`), a hundred at a time, each in its own
   * transaction so a large farm's clean-up never holds the database for long.
   * @returns the ids of the jobs deleted.
   */
  async pruneJobs(): Promise<number[]> {
    const retention = this.#options.jobRetentionMs;
    if (retention <= 0) return [];
    const now = this.#options.now();
    const deleted: number[] = [];
    for (;;) {
      const expired = await expiredJobs(this.db, { before: now - retention, limit: 100 });
      for (const jobId of expired) {
        const result = await this.transaction((db) =>
          deleteFinishedJob(db, { jobId, actor: 'server', now, reason: 'past the job retention' }),
        );
        if (result.outcome === 'deleted') {
          deleted.push(jobId);
          this.#emit({ kind: 'job', jobId });
        }
      }
      if (expired.length < 100) return deleted;
    }
  }

  /** Declares silent workers lost and gives their tasks back. */
  async sweep(): Promise<number[]> {
    this.#metricsHistory.prune(this.#options.now());
    const lost = await this.transaction((db) =>
      sweepLostWorkers(db, { now: this.#options.now(), timeoutMs: this.#options.workerTimeoutMs }),
    );
    if (lost.length > 0) {
      for (const workerId of lost) this.#emit({ kind: 'worker', workerId });
      this.#emit({ kind: 'tasks', jobId: -1 });
      this.#announceWork();
    }
    return lost;
  }

  // -------------------------------------------------------------------------------------------------------------
  // Tokens

  /** Creates a token; returns it (shown once: only its hash is kept). */
  async createToken(name: string, kind: Exclude<TokenKind, 'worker'>): Promise<{ id: number; token: string }> {
    if (!['admin', 'user', 'agent'].includes(kind))
      throw badRequest(`A token kind is admin, user or agent; got '${kind}'.`);
    const token = newToken(kind);
    const row = await this.db
      .insertInto('tokens')
      .values({ name, kind, hash: hashToken(token), worker_id: null, created_at: this.#options.now() })
      .returning('id')
      .executeTakeFirstOrThrow();
    return { id: row.id, token };
  }

  /**
   * The token's identity, or undefined when it is unknown or revoked. Answers are kept for a few seconds: every
   * request is authenticated, and a worker syncs many times a second. A revocation through this server takes effect
   * at once; through another server sharing the database, within {@link TOKEN_CACHE_MS}.
   */
  async authenticate(token: string): Promise<TokenInfo | undefined> {
    const hash = hashToken(token);
    const now = Date.now();
    const cached = this.#tokens.get(hash);
    if (cached && now - cached.at < TOKEN_CACHE_MS) return cached.info;
    const row = await this.db
      .selectFrom('tokens')
      .select(['id', 'name', 'kind', 'worker_id'])
      .where('hash', '=', hash)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    const info: TokenInfo | undefined = row && {
      id: row.id,
      name: row.name,
      kind: row.kind as TokenKind,
      ...(row.worker_id !== null ? { workerId: row.worker_id } : {}),
    };
    if (this.#tokens.size > 10_000) this.#tokens.clear();
    this.#tokens.set(hash, { at: now, info });
    return info;
  }

  async listTokens() {
    return this.db
      .selectFrom('tokens')
      .select(['id', 'name', 'kind', 'worker_id', 'created_at', 'revoked_at'])
      .orderBy('id')
      .execute();
  }

  async revokeToken(id: number): Promise<void> {
    const result = await this.db
      .updateTable('tokens')
      .set({ revoked_at: this.#options.now() })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) === 0) throw notFound(`Token ${id}`);
    this.#tokens.clear();
  }

  /** Whether any token exists (a farm without tokens runs without authentication, on loopback only). */
  async hasTokens(): Promise<boolean> {
    return (
      (await this.db.selectFrom('tokens').select('id').where('revoked_at', 'is', null).limit(1).executeTakeFirst()) !==
      undefined
    );
  }
}

export type { FarmChange, TokenKind };
export { CorralError, FarmErrorCode };
