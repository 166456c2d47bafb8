/**
 * @module Task state transitions: the one place task states change. Each move is checked (the row must still be in
 * the state the caller saw, so two servers or a late report cannot both move it), keeps the per-state counters of
 * its step and job exact, and is recorded as an event (who, when, why).
 *
 * Task states and their meaning:
 * - `pending`   not claimable: its step waits for dependencies, or the step or job is suspended.
 * - `ready`     claimable by a worker whose capabilities meet the step's host requirements.
 * - `assigned`  given to a worker in a sync reply; not yet reported started.
 * - `running`   the worker reported it started.
 * - `succeeded`, `failed`, `canceled`: final until requeued.
 *
 * Counters are gathered per transaction and written once, at the end ({@link Changes.flush}): every worker of a job
 * updates the same job row, and on PostgreSQL that row's lock is then held only for the last statements before the
 * commit instead of the whole transaction.
 */
import { type Kysely, type RawBuilder, sql } from 'kysely';
import { TASK_STATES, type TaskState } from '../api/types.js';
import { prepared } from '../store/prepared.js';
import type { Schema, TaskCounterColumns, TaskUpdate } from '../store/schema.js';

export type Db = Kysely<Schema>;

/** The states of a task a worker holds, as literals so the planner can use the partial index `tasks_worker`. */
export const HELD_STATES = [sql.lit('assigned'), sql.lit('running')];

/** Who caused a change: `system`, `user:<token name>` or `worker:<name>`. */
export type Actor = string;

export interface TaskRef {
  readonly id: number;
  readonly job_id: number;
  readonly step_id: number;
  readonly state: string;
}

/** A step's or job's state and counters. */
export type CountsRow = Readonly<TaskCounterColumns> & { readonly state: string };

const COUNT_COLUMNS = [
  'state',
  'task_count',
  'pending_count',
  'ready_count',
  'assigned_count',
  'running_count',
  'succeeded_count',
  'failed_count',
  'canceled_count',
] as const;

export const unfinishedCount = (c: CountsRow) => c.pending_count + c.ready_count + c.assigned_count + c.running_count;
export const startedCount = (c: CountsRow) => c.assigned_count + c.running_count + c.succeeded_count + c.failed_count;

type Deltas = Map<string, number>;

/**
 * The changes of one transaction: task moves are applied at once, counters gathered and written by `flush()`,
 * which then derives what follows (a step or job starting, finishing, failing).
 */
export class Changes {
  readonly #steps = new Map<number, { jobId: number; deltas: Deltas }>();
  readonly #jobs = new Map<number, Deltas>();
  /** Jobs a final failure happened in (they need settling even if no step finished). */
  readonly #failed = new Set<number>();
  /** Task events, written together by `flush()` (one statement instead of one per move). */
  readonly #events: EventRecord[] = [];
  /** Task moves made by `flush()`, by target state and columns set. */
  readonly #deferred = new Map<
    string,
    {
      to: TaskState;
      columns: DeferrableColumn[];
      moves: { task: TaskRef; patch: DeferredPatch; reason: string | null; actor: Actor }[];
    }
  >();

  constructor(
    readonly db: Db,
    readonly now: number,
    /** Who the moves are made for; a batch of syncs sets it to each sync's worker in turn. */
    public actor: Actor,
    /** Settles a job after its counters changed in a way that matters (injected to avoid a module cycle). */
    private readonly settle: (changes: Changes, jobId: number) => Promise<void>,
  ) {}

  count(jobId: number, stepId: number, from: string, to: string, n: number): void {
    if (n === 0 || from === to) return;
    let step = this.#steps.get(stepId);
    if (!step) this.#steps.set(stepId, (step = { jobId, deltas: new Map() }));
    let job = this.#jobs.get(jobId);
    if (!job) this.#jobs.set(jobId, (job = new Map()));
    for (const deltas of [step.deltas, job]) {
      deltas.set(from, (deltas.get(from) ?? 0) - n);
      deltas.set(to, (deltas.get(to) ?? 0) + n);
    }
    if (to === 'failed') this.#failed.add(jobId);
  }

  /** What a first start sets (a step or job getting its first task). */
  get #started() {
    return { actor: this.actor, now: this.now, patch: { started_at: this.now } };
  }

  /** Records an event with the next `flush()`. */
  event(event: EventRecord): void {
    this.#events.push(event);
  }

  /**
   * Writes the gathered events and counters, starts steps and jobs that got their first task, settles what finished.
   * @returns whether some job was settled (tasks may have become ready).
   */
  /**
   * A task move made with the next `flush()`, together with the others of its kind (same target state and columns):
   * one statement for a batch of workers' finished tasks instead of one each. Counted and recorded like
   * {@link moveTask} if the task is still in `task.state` then.
   */
  deferMove(task: TaskRef, to: TaskState, options: { patch: DeferredPatch; reason?: string }): void {
    const columns = Object.keys(options.patch).sort() as DeferrableColumn[];
    const key = `${to}|${columns.join(',')}`;
    let group = this.#deferred.get(key);
    if (!group) this.#deferred.set(key, (group = { to, columns, moves: [] }));
    group.moves.push({ task, patch: options.patch, reason: options.reason ?? null, actor: this.actor });
  }

  async #applyDeferred(): Promise<void> {
    const groups = [...this.#deferred.values()];
    this.#deferred.clear();
    for (const { to, columns, moves } of groups) {
      // 100 rows a statement keeps well under both databases' bound-parameter limits.
      for (let i = 0; i < moves.length; i += 100) {
        const chunk = moves.slice(i, i + 100);
        const values = chunk.flatMap((m) => [m.task.id, m.task.state, ...columns.map((c) => m.patch[c] ?? null)]);
        const moved = new Set(
          (await moveTasksFrom(this.db, to, columns.join(','), this.now, values)).rows.map((r) => r.id),
        );
        for (const { task, reason, actor } of chunk) {
          if (!moved.has(task.id)) continue;
          this.count(task.job_id, task.step_id, task.state, to, 1);
          this.event({
            kind: 'task',
            subjectId: task.id,
            jobId: task.job_id,
            from: task.state,
            to,
            actor,
            reason,
            now: this.now,
          });
        }
      }
    }
  }

  async flush(): Promise<boolean> {
    if (this.#deferred.size > 0) await this.#applyDeferred();
    if (this.#events.length > 0) await recordEvents(this.db, this.#events.splice(0));
    // In id order: transactions sharing a PostgreSQL database then lock counter rows in one order (no deadlock).
    const steps = [...this.#steps].sort((a, b) => a[0] - b[0]);
    const jobs = [...this.#jobs].sort((a, b) => a[0] - b[0]);
    const failed = [...this.#failed];
    this.#steps.clear();
    this.#jobs.clear();
    this.#failed.clear();
    const toSettle = new Set<number>(failed);
    for (const [stepId, { jobId, deltas }] of steps) {
      // Moves that cancel out (a task taken back from a worker and another given in the same batch) change nothing.
      const set = counterChanges(deltas);
      if (Object.keys(set).length === 0) continue;
      const row = await this.db
        .updateTable('steps')
        .set(set)
        .where('id', '=', stepId)
        .returning(COUNT_COLUMNS)
        .executeTakeFirstOrThrow();
      if (row.state === 'ready' && startedCount(row) > 0) {
        await moveStep(this.db, { ...this.#started, id: stepId, jobId, from: 'ready', to: 'running' });
      }
      if (unfinishedCount(row) === 0 || deltas.has('pending')) toSettle.add(jobId);
    }
    for (const [jobId, deltas] of jobs) {
      const row = await this.db
        .updateTable('jobs')
        .set({ ...counterChanges(deltas), updated_at: this.now })
        .where('id', '=', jobId)
        .returning(COUNT_COLUMNS)
        .executeTakeFirstOrThrow();
      if (row.state === 'queued' && startedCount(row) > 0) {
        await moveJob(this.db, { ...this.#started, id: jobId, jobId, from: 'queued', to: 'running' });
      }
      if (unfinishedCount(row) === 0) toSettle.add(jobId);
    }
    for (const jobId of toSettle) await this.settle(this, jobId);
    return toSettle.size > 0;
  }
}

function counterChanges(deltas: Deltas): Record<string, unknown> {
  const set: Record<string, unknown> = {};
  for (const [state, delta] of deltas) {
    if (delta === 0) continue;
    if (!(TASK_STATES as readonly string[]).includes(state)) throw new Error(`unknown task state ${state}`);
    set[`${state}_count`] = sql`${sql.ref(`${state}_count`)} + ${delta}`;
  }
  return set;
}

export interface EventRecord {
  readonly kind: string;
  readonly subjectId: number;
  readonly jobId: number | null;
  readonly from: string | null;
  readonly to: string;
  readonly actor: Actor;
  readonly reason?: string | null;
  readonly now: number;
}

const eventRow = (event: EventRecord) => ({
  time: event.now,
  kind: event.kind,
  subject_id: event.subjectId,
  job_id: event.jobId,
  from_state: event.from,
  to_state: event.to,
  actor: event.actor,
  reason: event.reason ?? null,
});

export async function recordEvent(db: Db, event: EventRecord): Promise<void> {
  await db.insertInto('events').values(eventRow(event)).execute();
}

/** Writes events in order, many per statement. */
export async function recordEvents(db: Db, events: readonly EventRecord[]): Promise<void> {
  // 8 columns each: 100 rows stay well under SQLite's and PostgreSQL's bound-parameter limits.
  for (let i = 0; i < events.length; i += 100) {
    await db
      .insertInto('events')
      .values(events.slice(i, i + 100).map(eventRow))
      .execute();
  }
}

/** A job's or step's move from one state to another, with what else changes and why. */
export interface StateMove {
  readonly id: number;
  readonly jobId: number;
  readonly from: string;
  readonly to: string;
  readonly actor: Actor;
  readonly now: number;
  readonly reason?: string | null;
  /** Other columns to set (`finished_at`, `started_at`). */
  readonly patch?: { readonly started_at?: number | null; readonly finished_at?: number | null };
}

/**
 * Moves a job, if it is still in `move.from`, and records the event.
 * @returns false when the job had moved on meanwhile (nothing is changed then).
 */
export async function moveJob(db: Db, move: StateMove): Promise<boolean> {
  const result = await db
    .updateTable('jobs')
    .set({ ...move.patch, state: move.to, updated_at: move.now })
    .where('id', '=', move.id)
    .where('state', '=', move.from)
    .executeTakeFirst();
  if (Number(result.numUpdatedRows) === 0) return false;
  await recordEvent(db, { kind: 'job', subjectId: move.id, ...eventOf(move) });
  return true;
}

/** Moves a step, if it is still in `move.from`, and records the event. */
export async function moveStep(db: Db, move: StateMove): Promise<boolean> {
  const result = await db
    .updateTable('steps')
    .set({ ...move.patch, state: move.to })
    .where('id', '=', move.id)
    .where('state', '=', move.from)
    .executeTakeFirst();
  if (Number(result.numUpdatedRows) === 0) return false;
  await recordEvent(db, { kind: 'step', subjectId: move.id, ...eventOf(move) });
  return true;
}

const eventOf = (move: StateMove) => ({
  jobId: move.jobId,
  from: move.from,
  to: move.to,
  actor: move.actor,
  reason: move.reason ?? null,
  now: move.now,
});

/** The columns a deferred move may set, with their SQL types (PostgreSQL needs a VALUES list's types spelled out). */
const DEFERRABLE_COLUMNS = {
  exit_code: 'integer',
  fail_message: 'text',
  status_message: 'text',
  finished_at: 'bigint',
  started_at: 'bigint',
  ready_at: 'bigint',
  progress: 'double precision',
  worker_id: 'bigint',
  session_id: 'bigint',
  avoid_worker_id: 'bigint',
  attempts: 'integer',
  lost_count: 'integer',
} as const;
type DeferrableColumn = keyof typeof DEFERRABLE_COLUMNS;
export type DeferredPatch = { readonly [C in DeferrableColumn]?: number | string | null };

/**
 * Moves the listed tasks still in their listed states: an UPDATE from a VALUES list of (id, from, columns…), the
 * same SQL on SQLite and PostgreSQL. Returns the ids moved.
 */
const moveTasksFrom = prepared(
  (db: Db, to: TaskState, columns: string, now: number, values: readonly unknown[]) => {
    const names = columns === '' ? [] : (columns.split(',') as (keyof typeof DEFERRABLE_COLUMNS)[]);
    const width = 2 + names.length;
    const rows: RawBuilder<unknown>[] = [];
    for (let i = 0; i < values.length; i += width) {
      const row = values.slice(i, i + width);
      rows.push(
        sql`(${sql.join([
          sql`cast(${row[0]} as bigint)`,
          sql`cast(${row[1]} as text)`,
          ...names.map((name, j) => sql`cast(${row[2 + j]} as ${sql.raw(DEFERRABLE_COLUMNS[name])})`),
        ])})`,
      );
    }
    const sets = names.map((name, j) => sql`${sql.ref(name)} = v.${sql.raw(`column${3 + j}`)}`);
    const query = sql<{ id: number }>`update tasks set ${sql.join([
      sql`state = ${sql.lit(to)}`,
      sql`updated_at = ${now}`,
      ...sets,
    ])} from (values ${sql.join(rows)}) as v where tasks.id = v.column1 and tasks.state = v.column2 returning tasks.id`;
    return { compile: () => query.compile(db) };
  },
  { fixed: [0, 1] },
);

/** Sets the named columns of a task still in `from` (a statement per set of columns, built once). */
const updateTask = prepared(
  (db: Db, columns: string, values: readonly unknown[], id: number, from: string) =>
    db
      .updateTable('tasks')
      .set(Object.fromEntries(columns.split(',').map((column, i) => [column, values[i]])))
      .where('id', '=', id)
      .where('state', '=', from),
  { fixed: [0] },
);

/**
 * Moves one task, if it is still in `task.state`.
 * @returns false when the task had moved on meanwhile (nothing is changed then).
 */
export async function moveTask(
  changes: Changes,
  task: TaskRef,
  to: TaskState,
  options: { patch?: TaskUpdate; reason?: string } = {},
): Promise<boolean> {
  const { db, now, actor } = changes;
  const patch = { ...options.patch, state: to, updated_at: now };
  const columns = Object.keys(patch);
  const result = await updateTask(db, columns.join(','), Object.values(patch), task.id, task.state);
  if (Number(result.numAffectedRows) === 0) return false;
  changes.count(task.job_id, task.step_id, task.state, to, 1);
  changes.event({
    kind: 'task',
    subjectId: task.id,
    jobId: task.job_id,
    from: task.state,
    to,
    actor,
    reason: options.reason ?? null,
    now,
  });
  return true;
}

/**
 * Moves every task of a job (or of one step, or a list of tasks) that is in one of `from` to `to`. Bulk moves are
 * recorded as one event per step ("n tasks ready → canceled"), not one per task.
 * @returns how many tasks moved.
 */
export async function moveTasks(
  changes: Changes,
  options: {
    jobId: number;
    stepId?: number;
    taskIds?: readonly number[];
    from: readonly TaskState[];
    to: TaskState;
    patch?: TaskUpdate;
    reason?: string | undefined;
  },
): Promise<number> {
  const { db, now, actor } = changes;
  const states = options.from.filter((s) => s !== options.to);
  if (states.length === 0 || options.taskIds?.length === 0) return 0;
  let moved = 0;
  // One state at a time with RETURNING: the counters follow exactly the rows this statement moved, even when another
  // server moves some of the same tasks at the same moment.
  for (const from of states) {
    let update = db
      .updateTable('tasks')
      .set({ ...options.patch, state: options.to, updated_at: now })
      .where('job_id', '=', options.jobId)
      .where('state', '=', from);
    if (options.stepId !== undefined) update = update.where('step_id', '=', options.stepId);
    if (options.taskIds) update = update.where('id', 'in', options.taskIds);
    const rows = await update.returning('step_id').execute();
    const perStep = new Map<number, number>();
    for (const row of rows) perStep.set(row.step_id, (perStep.get(row.step_id) ?? 0) + 1);
    for (const [stepId, n] of perStep) {
      moved += n;
      changes.count(options.jobId, stepId, from, options.to, n);
      await recordEvent(db, {
        kind: 'step',
        subjectId: stepId,
        jobId: options.jobId,
        from,
        to: options.to,
        actor,
        reason: `${n} task${n === 1 ? '' : 's'} ${from} → ${options.to}${options.reason ? `: ${options.reason}` : ''}`,
        now,
      });
    }
  }
  return moved;
}
