/**
 * @module Claiming work for workers: the best ready tasks each can run, marked `assigned` to it.
 *
 * "Best": highest job priority first, oldest job first within a priority, tasks in order within a job. A worker is
 * kept on the session it has open (same job, same step environments) as long as nothing of higher priority waits,
 * so environments are not entered again needlessly. Tasks of steps with host requirements are claimable only by
 * workers checked against them (an allow-list, see {@link Exclusions}); jobs the worker failed too often are left
 * out; a task that just failed on this worker is left to others for a while.
 *
 * Why it is safe with several servers on one PostgreSQL: the candidate rows are picked `FOR UPDATE SKIP LOCKED` in
 * the claiming transaction, and the UPDATE re-checks `state = 'ready'`, so two claimers never get the same task. On
 * SQLite the single writer serialises claims.
 */
import { type RawBuilder, sql } from 'kysely';
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

/** Workers with the same key may claim the same tasks. */
const exclusionsKey = (e: Exclusions) => `${e.allowedSteps.join(',')}|${e.jobs.join(',')}`;

/**
 * What the claims of one batch of syncs read once: the best priority waiting (per set of exclusions) and the
 * priorities of the jobs whose sessions are open. Claims made later in the batch only take tasks away, so the best
 * priority read first is an upper bound: a worker then leaves its session a little early at worst, never late.
 */
export class ClaimMemo {
  readonly #best = new Map<string, Promise<number | undefined>>();
  readonly #jobs = new Map<number, Promise<number | undefined>>();

  best(db: Db, exclusions: Exclusions): Promise<number | undefined> {
    const key = exclusionsKey(exclusions);
    let best = this.#best.get(key);
    if (!best) {
      best = bestWaitingPriority(db, exclusions.allowedSteps, exclusions.jobs).then(
        (r) => r.rows[0]?.priority ?? undefined,
      );
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

/** One worker's part in a claim for several (see {@link claimTasks}). */
export interface ClaimRequest {
  readonly workerId: number;
  /** Who the events name (`worker:<name>`). */
  readonly actor: string;
  /** The worker's open session, to be kept on (its tasks are claimed into it). */
  readonly session?: { readonly id: number; readonly jobId: number; readonly envKey: string };
  readonly max: number;
  readonly exclusions: Exclusions;
}

/** What the claims of one batch share. */
export interface ClaimShared {
  /** The steps of a job with the given environments, in order (they never change; the caller caches them). */
  readonly sessionSteps: (jobId: number, envKey: string) => Promise<readonly number[]>;
  readonly now: number;
  /** How long a task that failed on a worker is kept from it (others get it first). */
  readonly avoidMs: number;
  readonly dialect: Dialect;
  readonly memo: ClaimMemo;
}

/** Whether a worker stays on its session: nothing of higher priority waits and it is not blocked from the job. */
async function keepsSession(db: Db, request: ClaimRequest, memo: ClaimMemo): Promise<boolean> {
  if (!request.session || request.exclusions.jobs.includes(request.session.jobId)) return false;
  const best = await memo.best(db, request.exclusions);
  if (best === undefined) return false;
  const job = await memo.jobPriority(db, request.session.jobId);
  return job !== undefined && job >= best;
}

/**
 * Claims work for the workers of one batch of syncs, with two statements per group of workers that may run the same
 * tasks rather than one per worker: the ready tasks are picked for the whole group (best first; on PostgreSQL locked,
 * skipping rows other transactions hold), then handed out in the workers' order by one UPDATE from a list of
 * (task, worker, session). Workers on a session first get their session's steps' tasks, in task order; then every
 * worker still wanting gets the best the farm has for it. A task kept from a worker after failing on it
 * (`avoid_worker_id`) goes to the next worker of the group, or stays ready for another batch.
 * @returns each worker's tasks, in the order they should run.
 */
export async function claimTasks(
  changes: Changes,
  requests: readonly ClaimRequest[],
  shared: ClaimShared,
): Promise<Map<number, ClaimedTask[]>> {
  const { db } = changes;
  const claimed = new Map<number, ClaimedTask[]>(requests.map((r) => [r.workerId, []]));
  const wants = (r: ClaimRequest) => Math.max(0, r.max - claimed.get(r.workerId)!.length);
  const groups = <K>(members: readonly ClaimRequest[], keyOf: (r: ClaimRequest) => K) => {
    const byKey = new Map<K, ClaimRequest[]>();
    for (const r of members) {
      const key = keyOf(r);
      const group = byKey.get(key);
      if (group) group.push(r);
      else byKey.set(key, [r]);
    }
    return [...byKey.values()];
  };

  // Sessions first: a job's tasks share its priority, so its steps are walked one by one in task order.
  const onSessions: ClaimRequest[] = [];
  for (const r of requests) if (wants(r) > 0 && (await keepsSession(db, r, shared.memo))) onSessions.push(r);
  for (const group of groups(
    onSessions,
    (r) => `${r.session!.jobId}|${r.session!.envKey}|${exclusionsKey(r.exclusions)}`,
  )) {
    const { jobId, envKey } = group[0]!.session!;
    for (const stepId of await shared.sessionSteps(jobId, envKey)) {
      const members = group.filter((r) => wants(r) > 0);
      if (members.length === 0) break;
      await claimGroup(db, members, wants, claimed, shared, stepId);
    }
  }
  // Then the best of the farm for whoever still wants work.
  const rest = requests.filter((r) => wants(r) > 0);
  for (const group of groups(rest, (r) => exclusionsKey(r.exclusions))) {
    await claimGroup(db, group, wants, claimed, shared);
  }

  for (const r of requests) {
    for (const task of claimed.get(r.workerId)!) {
      changes.count(task.job_id, task.step_id, 'ready', 'assigned', 1);
      changes.event({
        kind: 'task',
        subjectId: task.id,
        jobId: task.job_id,
        from: 'ready',
        to: 'assigned',
        actor: r.actor,
        now: changes.now,
      });
    }
  }
  return claimed;
}

/** Picks ready tasks for a group of workers of the same exclusions and hands them out in the workers' order. */
async function claimGroup(
  db: Db,
  members: readonly ClaimRequest[],
  wants: (r: ClaimRequest) => number,
  claimed: Map<number, ClaimedTask[]>,
  shared: ClaimShared,
  stepId?: number,
): Promise<void> {
  const total = members.reduce((sum, r) => sum + wants(r), 0);
  if (total === 0) return;
  const { exclusions } = members[0]!;
  const readyBefore = shared.now - shared.avoidMs;
  const picked = (
    await pickIds(
      db,
      members.map((r) => r.workerId),
      readyBefore,
      exclusions.allowedSteps,
      exclusions.jobs,
      stepId !== undefined,
      stepId ?? 0,
      // Several workers: some picked tasks may be kept from the one whose turn it is; a few more make up for them.
      members.length === 1 ? total : total + Math.min(total, 16),
      shared.dialect === 'postgres',
    )
  ).rows;
  if (picked.length === 0) return;
  // The plan: (task, worker, session) in pick order, each task to the first worker (in the batch's order) that
  // wants more and is not kept from it; a task kept from every worker still wanting stays ready.
  const left = new Map(members.map((r) => [r.workerId, wants(r)]));
  const plan: (number | null)[] = [];
  const order = new Map<number, number>();
  for (const task of picked) {
    const keptFrom = Number(task.ready_at) >= readyBefore ? task.avoid_worker_id : null;
    const taker = members.find((r) => left.get(r.workerId)! > 0 && r.workerId !== keptFrom);
    if (!taker) {
      if (members.every((r) => left.get(r.workerId) === 0)) break;
      continue;
    }
    left.set(taker.workerId, left.get(taker.workerId)! - 1);
    order.set(task.id, order.size);
    plan.push(task.id, taker.workerId, stepId !== undefined ? taker.session!.id : null);
  }
  if (plan.length === 0) return;
  let rows: (ClaimedTask & { worker_id: number | string | null })[] = [];
  if (shared.dialect === 'postgres') {
    rows = (await claimPlanned(db, plan, shared.now)).rows;
  } else {
    // SQLite: an update by key per worker measured faster than one update from a VALUES list (and costs no round
    // trip: SQLite runs in the server's process).
    for (let i = 0; i < plan.length; ) {
      const [workerId, sessionId] = [plan[i + 1] as number, plan[i + 2]];
      const ids: number[] = [];
      for (; i < plan.length && plan[i + 1] === workerId; i += 3) ids.push(plan[i] as number);
      rows.push(...(await claimIds(db, ids, workerId, shared.now, sessionId ?? null)).rows);
    }
  }
  // Rows come back in no particular order: put them back in pick order (the order they should run).
  rows.sort((a, b) => order.get(a.id)! - order.get(b.id)!);
  for (const row of rows) {
    const { worker_id, ...task } = row;
    claimed.get(Number(worker_id))!.push(task);
  }
}

/** Which ready tasks a group of workers may take, as a statement's arguments (see {@link prepared}). */
type PickArgs = [
  /** The group's workers (for one, the tasks kept from it are left out; see {@link claimGroup}). */
  workerIds: readonly number[],
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

/** The ready tasks a group of workers may take, best first: of one step (in task order), or of the whole farm. */
function pickQuery(
  db: Db,
  ...[workerIds, readyBefore, allowedSteps, blockedJobs, byStep, stepId, limit, lock]: PickArgs
) {
  const query = db
    .selectFrom('tasks as t')
    .where('t.state', '=', sql.lit('ready'))
    // One worker: the tasks kept from it are left out here. Several: they are picked, and given to the others.
    .$if(workerIds.length === 1, (q) =>
      q.where((eb) =>
        eb.or([
          eb('t.avoid_worker_id', 'is', null),
          eb('t.avoid_worker_id', '<>', workerIds[0]!),
          eb('t.ready_at', '<', readyBefore),
        ]),
      ),
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

const pickIds = prepared(
  (db: Db, ...args: PickArgs) => pickQuery(db, ...args).select(['t.id', 't.avoid_worker_id', 't.ready_at']),
  { fixed: PICK_FIXED },
);

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
const jobPriority = prepared((db: Db, jobId: number) =>
  db.selectFrom('jobs').select('priority').where('id', '=', jobId),
);

/**
 * Claims the planned tasks that are still ready, each for its worker and session: an UPDATE from a VALUES list of
 * (task, worker, session), the same SQL on SQLite and PostgreSQL. On PostgreSQL the rows were locked by the pick; on
 * SQLite its single writer ran the pick in the same transaction.
 */
const claimPlanned = prepared((db: Db, plan: readonly (number | null)[], now: number) => {
  const rows: RawBuilder<unknown>[] = [];
  for (let i = 0; i < plan.length; i += 3) {
    rows.push(sql`(cast(${plan[i]} as bigint), cast(${plan[i + 1]} as bigint), cast(${plan[i + 2]} as bigint))`);
  }
  const query = sql<ClaimedTask & { worker_id: number | string }>`update tasks set state = ${sql.lit('assigned')},
    worker_id = v.column2, session_id = v.column3, attempts = tasks.attempts + 1, updated_at = ${now},
    progress = null, status_message = null, fail_message = null, exit_code = null, started_at = null,
    finished_at = null
    from (values ${sql.join(rows)}) as v
    where tasks.id = v.column1 and tasks.state = ${sql.lit('ready')}
    returning tasks.id, tasks.job_id, tasks.step_id, tasks.idx, tasks.parameters, tasks.attempts, tasks.session_id,
      tasks.ready_at, tasks.worker_id`;
  return { compile: () => query.compile(db) };
});

/** Claims the tasks of the given ids that are still ready for one worker (SQLite, see {@link claimGroup}). */
const claimIds = prepared((db: Db, ids: readonly number[], workerId: number, now: number, sessionId: number | null) =>
  db
    .updateTable('tasks')
    .set({
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
    })
    .where('id', 'in', ids)
    .where('state', '=', sql.lit('ready'))
    .returning(['id', 'job_id', 'step_id', 'idx', 'parameters', 'attempts', 'session_id', 'ready_at', 'worker_id']),
);

/**
 * A LIMIT written into the statement: SQLite walks an index in order and stops at a literal limit, but with a bound
 * one it took 4–5x as long (measured on the claim). The value is the scheduler's own small integer, never the user's.
 */
function literalLimit(n: number) {
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`bad limit ${n}`);
  return sql.lit(n);
}
