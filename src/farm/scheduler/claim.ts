/**
 * @module Claiming work for a worker: the best ready task it can run, marked `assigned` to it in one statement.
 *
 * "Best": highest job priority first, oldest job first within a priority, tasks in order within a job. A worker is
 * kept on the session it has open (same job, same step environments) as long as nothing of higher priority waits,
 * so environments are not entered again needlessly. Tasks of steps with host requirements are claimable only by
 * workers checked against them (an allow-list, see {@link Exclusions}); jobs the worker failed too often are left
 * out; a task that just failed on this worker is left to others for a while.
 *
 * Why it is safe with several servers on one PostgreSQL: the candidate rows are selected `FOR UPDATE SKIP LOCKED`
 * inside the UPDATE, and the UPDATE re-checks `state = 'ready'`, so two claimers never get the same task. On
 * SQLite the single writer serialises claims.
 */
import { sql } from 'kysely';
import type { Capabilities, HostRequirements } from '../api/types.js';
import type { Dialect } from '../store/database.js';
import { prepared } from '../store/prepared.js';
import { unmetRequirement } from './capabilities.js';
import type { Changes, Db } from './transitions.js';

export interface ClaimedTask {
  readonly id: number;
  readonly job_id: number;
  readonly step_id: number;
  readonly idx: number;
  readonly parameters: string;
  readonly attempts: number;
  readonly session_id: number | null;
  /** When it became ready (ms; PostgreSQL's driver returns a bigint as text). */
  readonly ready_at: number | string;
}

export interface ClaimOptions {
  readonly workerId: number;
  readonly capabilities: Capabilities;
  /** The worker's open session, to be kept on (its tasks are claimed into it). */
  readonly session?: { readonly id: number; readonly jobId: number; readonly envKey: string };
  /** The steps of a job with the given environments, in order (they never change; the caller caches them). */
  readonly sessionSteps: (jobId: number, envKey: string) => Promise<readonly number[]>;
  readonly max: number;
  readonly now: number;
  /** How long a task that failed on a worker is kept from it (others get it first). */
  readonly avoidMs: number;
  readonly dialect: Dialect;
  /** Steps with host requirements this worker meets, and jobs it is blocked from. */
  readonly exclusions: Exclusions;
  /** What the claims of one batch of syncs share. */
  readonly memo: ClaimMemo;
}

/**
 * What the claims of one batch of syncs read once: the best priority waiting (per set of exclusions) and the
 * priorities of the jobs whose sessions are open. Claims made later in the batch only take tasks away, so the best
 * priority read first is an upper bound: a worker then leaves its session a little early at worst, never late.
 */
export class ClaimMemo {
  readonly #best = new Map<string, Promise<number | undefined>>();
  readonly #jobs = new Map<number, Promise<number | undefined>>();

  best(db: Db, options: ClaimOptions): Promise<number | undefined> {
    const { allowedSteps, jobs } = options.exclusions;
    const key = `${allowedSteps.join(',')}|${jobs.join(',')}`;
    let best = this.#best.get(key);
    if (!best) {
      best = bestWaitingPriority(db, allowedSteps, jobs).then((r) => r.rows[0]?.priority ?? undefined);
      this.#best.set(key, best);
    }
    return best;
  }

  jobPriority(db: Db, jobId: number): Promise<number | undefined> {
    let priority = this.#jobs.get(jobId);
    if (!priority) {
      priority = jobPriority(db, jobId).then((r) => r.rows[0]?.priority);
      this.#jobs.set(jobId, priority);
    }
    return priority;
  }
}

/**
 * What a worker may claim beyond steps without host requirements. Constrained steps are allowed by a list, never
 * excluded by one: a step that becomes ready after the list was made (a new job, a finished dependency) is simply
 * not in it yet, so a worker is never handed a task whose requirements nobody checked against it.
 */
export interface Exclusions {
  /** Steps with host requirements the worker meets. */
  readonly allowedSteps: readonly number[];
  /** Jobs the worker failed too many tasks of. */
  readonly jobs: readonly number[];
}

/** What decides every worker's {@link Exclusions}, read for the whole farm at once (and cached by the caller). */
export interface FarmExclusions {
  /** Steps with host requirements and unfinished work. */
  readonly constrainedSteps: readonly { readonly id: number; readonly requirements: HostRequirements }[];
  /** By worker: the jobs with ready work it failed too many tasks of. */
  readonly blockedJobs: ReadonlyMap<number, readonly number[]>;
}

/** Reads what decides the farm's exclusions: two statements, however many workers ask. */
export async function findFarmExclusions(db: Db): Promise<FarmExclusions> {
  const constrained = await db
    .selectFrom('steps')
    .select(['steps.id', 'steps.host_requirements'])
    .where('steps.host_requirements', 'is not', null)
    .where((eb) => eb.or([eb('steps.ready_count', '>', 0), eb('steps.pending_count', '>', 0)]))
    .execute();
  const blocked = await db
    .selectFrom('worker_job_failures')
    .innerJoin('jobs', 'jobs.id', 'worker_job_failures.job_id')
    .select(['worker_job_failures.worker_id', 'worker_job_failures.job_id'])
    .whereRef('worker_job_failures.failures', '>=', 'jobs.max_worker_failures')
    .where('jobs.ready_count', '>', 0)
    .execute();
  const blockedJobs = new Map<number, number[]>();
  for (const { worker_id, job_id } of blocked) {
    const jobs = blockedJobs.get(worker_id);
    if (jobs) jobs.push(job_id);
    else blockedJobs.set(worker_id, [job_id]);
  }
  return {
    constrainedSteps: constrained.map((s) => ({
      id: s.id,
      requirements: JSON.parse(s.host_requirements!) as HostRequirements,
    })),
    blockedJobs,
  };
}

/** One worker's exclusions: the constrained steps its capabilities meet, and the jobs it is blocked from. */
export function exclusionsOf(farm: FarmExclusions, workerId: number, capabilities: Capabilities): Exclusions {
  return {
    allowedSteps: farm.constrainedSteps
      .filter((s) => unmetRequirement(s.requirements, capabilities) === undefined)
      .map((s) => s.id),
    jobs: farm.blockedJobs.get(workerId) ?? [],
  };
}

/** Claims up to `max` tasks for a worker; returns them in the order they should run. */
export async function claimTasks(changes: Changes, options: ClaimOptions): Promise<ClaimedTask[]> {
  const { db } = changes;
  const claimed: ClaimedTask[] = [];
  if (options.max <= 0) return claimed;
  if (options.session) {
    // Keep the worker on its session unless something of higher priority waits. A job's tasks share its priority,
    // so the session's steps are walked one by one in task order (an index range each, however large the step).
    const best = await options.memo.best(db, options);
    const job = best === undefined ? undefined : await options.memo.jobPriority(db, options.session.jobId);
    if (
      best !== undefined &&
      job !== undefined &&
      job >= best &&
      !options.exclusions.jobs.includes(options.session.jobId)
    ) {
      for (const stepId of await options.sessionSteps(options.session.jobId, options.session.envKey)) {
        if (claimed.length >= options.max) break;
        claimed.push(...(await claim(db, options, options.max - claimed.length, stepId, options.session.id)));
      }
    }
  }
  if (claimed.length < options.max) claimed.push(...(await claim(db, options, options.max - claimed.length)));
  for (const task of claimed) {
    changes.count(task.job_id, task.step_id, 'ready', 'assigned', 1);
    changes.event({
      kind: 'task',
      subjectId: task.id,
      jobId: task.job_id,
      from: 'ready',
      to: 'assigned',
      actor: changes.actor,
      now: changes.now,
    });
  }
  return claimed;
}

/** Which ready tasks a worker may take, as a statement's arguments (see {@link prepared}). */
type PickArgs = [
  workerId: number,
  readyBefore: number,
  allowedSteps: readonly number[],
  blockedJobs: readonly number[],
  /** Fixed: walk one step's tasks (`stepId`) rather than the whole farm's. */
  byStep: boolean,
  stepId: number,
  /** Fixed: written into the statement. */
  limit: number,
  /** Fixed: lock the rows, skipping those other transactions hold (PostgreSQL). */
  lock: boolean,
];
const PICK_FIXED = [4, 6, 7];

/** The ready tasks a worker may take, best first: of one step (in task order), or of the whole farm. */
function pickQuery(
  db: Db,
  ...[workerId, readyBefore, allowedSteps, blockedJobs, byStep, stepId, limit, lock]: PickArgs
) {
  const query = db
    .selectFrom('tasks as t')
    .where('t.state', '=', sql.lit('ready'))
    .where((eb) =>
      eb.or([
        eb('t.avoid_worker_id', 'is', null),
        eb('t.avoid_worker_id', '<>', workerId),
        eb('t.ready_at', '<', readyBefore),
      ]),
    )
    .where((eb) =>
      allowedSteps.length > 0
        ? eb.or([eb('t.constrained', '=', sql.lit(0)), eb('t.step_id', 'in', allowedSteps)])
        : eb('t.constrained', '=', sql.lit(0)),
    )
    .$if(blockedJobs.length > 0, (q) => q.where('t.job_id', 'not in', blockedJobs));
  const ordered = byStep
    ? query.where('t.step_id', '=', stepId).orderBy('t.idx')
    : query.orderBy('t.priority', 'desc').orderBy('t.job_id').orderBy('t.idx');
  const limited = ordered.limit(literalLimit(limit));
  return lock ? limited.forUpdate().skipLocked() : limited;
}

/**
 * The best priority among jobs with ready tasks a worker of these exclusions may run, from the jobs' and steps'
 * counters. Reading it from the tasks instead walked, on PostgreSQL, the index entries of every task claimed since
 * the last vacuum before reaching a ready one (3–10 ms a batch at 600 tasks/s). Tasks a worker is kept from for a
 * while (`avoid_worker_id`) are not considered: the figure is an upper bound, which at worst moves a worker off its
 * session one claim early.
 */
const bestWaitingPriority = prepared((db: Db, allowedSteps: readonly number[], blockedJobs: readonly number[]) =>
  db
    .selectFrom('jobs as j')
    .select((eb) => eb.fn.max<number | null>('j.priority').as('priority'))
    .where('j.state', 'in', [sql.lit('queued'), sql.lit('running')])
    .where('j.ready_count', '>', sql.lit(0))
    .$if(blockedJobs.length > 0, (q) => q.where('j.id', 'not in', blockedJobs))
    .where((eb) =>
      eb.exists(
        eb
          .selectFrom('steps as s')
          .select(sql.lit(1).as('one'))
          .whereRef('s.job_id', '=', 'j.id')
          .where('s.ready_count', '>', sql.lit(0))
          .where((inner) =>
            allowedSteps.length > 0
              ? inner.or([inner('s.host_requirements', 'is', null), inner('s.id', 'in', allowedSteps)])
              : inner('s.host_requirements', 'is', null),
          ),
      ),
    ),
);
const pickIds = prepared((db: Db, ...args: PickArgs) => pickQuery(db, ...args).select('t.id'), { fixed: PICK_FIXED });
const jobPriority = prepared((db: Db, jobId: number) =>
  db.selectFrom('jobs').select('priority').where('id', '=', jobId),
);

const CLAIMED_COLUMNS = ['id', 'job_id', 'step_id', 'idx', 'parameters', 'attempts', 'session_id', 'ready_at'] as const;
const claimSet = (workerId: number, now: number, sessionId: number | null) => ({
  state: 'assigned',
  worker_id: workerId,
  attempts: sql<number>`attempts + 1`,
  updated_at: now,
  progress: null,
  status_message: null,
  fail_message: null,
  exit_code: null,
  started_at: null,
  finished_at: null,
  session_id: sessionId,
});
/** Claims the tasks of the given ids that are still ready (SQLite: the ids were picked in the same transaction). */
const claimIds = prepared((db: Db, ids: readonly number[], workerId: number, now: number, sessionId: number | null) =>
  db
    .updateTable('tasks')
    .set(claimSet(workerId, now, sessionId))
    .where('id', 'in', ids)
    .where('state', '=', sql.lit('ready'))
    .returning(CLAIMED_COLUMNS),
);
/** Picks and claims in one statement (PostgreSQL: the picked rows are locked, others' locked rows skipped). */
const claimPicked = prepared(
  (db: Db, workerId: number, now: number, sessionId: number | null, ...pick: PickArgs) =>
    db
      .updateTable('tasks')
      .set(claimSet(workerId, now, sessionId))
      .where('id', 'in', pickQuery(db, ...pick).select('t.id'))
      .where('state', '=', sql.lit('ready'))
      .returning(CLAIMED_COLUMNS),
  { fixed: PICK_FIXED.map((i) => i + 3) },
);

function pickArgs(options: ClaimOptions, limit: number, stepId?: number): PickArgs {
  return [
    options.workerId,
    options.now - options.avoidMs,
    options.exclusions.allowedSteps,
    options.exclusions.jobs,
    stepId !== undefined,
    stepId ?? 0,
    limit,
    options.dialect === 'postgres',
  ];
}

/**
 * A LIMIT written into the statement: SQLite walks an index in order and stops at a literal limit, but with a bound
 * one it took 4–5x as long (measured on the claim). The value is the scheduler's own small integer, never the user's.
 */
function literalLimit(n: number) {
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`bad limit ${n}`);
  return sql.lit(n);
}

async function claim(
  db: Db,
  options: ClaimOptions,
  max: number,
  stepId?: number,
  sessionId?: number,
): Promise<ClaimedTask[]> {
  const pick = pickArgs(options, max, stepId);
  if (options.dialect === 'postgres') {
    return (await claimPicked(db, options.workerId, options.now, sessionId ?? null, ...pick)).rows;
  }
  // SQLite (one writer, so nothing changes between the two statements): the ids first, then an update by key, which
  // measured several times faster than SQLite's update over an IN (subquery … LIMIT).
  const ids = (await pickIds(db, ...pick)).rows.map((t) => t.id);
  if (ids.length === 0) return [];
  return (await claimIds(db, ids, options.workerId, options.now, sessionId ?? null)).rows;
}
