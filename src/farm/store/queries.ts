/**
 * @module Reading the farm for the API: jobs, steps, tasks, logs, events, workers, queues, as the API's types.
 * Lists are paged with cursors over indexed columns, so a job of 100,000 tasks pages as fast as one of ten.
 */
import { sql } from 'kysely';
import type {
  Capabilities,
  FarmEvent,
  HostMetrics,
  HostRequirements,
  JobDetail,
  JobState,
  JobSummary,
  LogChunk,
  Queue,
  StepState,
  StepSummary,
  Task,
  TaskCounts,
  TaskState,
  Worker,
  WorkerState,
} from '../api/types.js';
import { notFound } from '../errors.js';
import { type Db, HELD_STATES } from '../scheduler/transitions.js';
import type { JobRow, StepRow, TaskRow } from './schema.js';

/** A job's or step's task counters, as the API shows them. */
export function countsOf(row: JobRow | StepRow): TaskCounts {
  return {
    total: row.task_count,
    pending: row.pending_count,
    ready: row.ready_count,
    assigned: row.assigned_count,
    running: row.running_count,
    succeeded: row.succeeded_count,
    failed: row.failed_count,
    canceled: row.canceled_count,
  };
}

const optional = <K extends string, V>(key: K, value: V | null | undefined): { [P in K]?: V } =>
  (value === null || value === undefined ? {} : { [key]: value }) as { [P in K]?: V };

function jobSummary(row: JobRow, queue: string): JobSummary {
  return {
    id: row.id,
    name: row.name,
    queue,
    priority: row.priority,
    submitter: row.submitter,
    state: row.state as JobState,
    counts: countsOf(row),
    createdAt: row.created_at,
    ...optional('startedAt', row.started_at),
    ...optional('finishedAt', row.finished_at),
  };
}

export interface JobListOptions {
  readonly states?: readonly string[];
  readonly queue?: string;
  /** Matches job names (case-insensitive substring) or an id. */
  readonly search?: string;
  readonly limit?: number;
  /** Jobs with an id lower than this (next page). */
  readonly before?: number;
}

export async function listJobs(db: Db, options: JobListOptions = {}): Promise<JobSummary[]> {
  let query = db
    .selectFrom('jobs')
    .innerJoin('queues', 'queues.id', 'jobs.queue_id')
    .selectAll('jobs')
    .select('queues.name as queue_name')
    .orderBy('jobs.id', 'desc')
    .limit(Math.min(Math.max(options.limit ?? 100, 1), 1000));
  if (options.states?.length) query = query.where('jobs.state', 'in', options.states);
  if (options.queue) query = query.where('queues.name', '=', options.queue);
  if (options.before !== undefined) query = query.where('jobs.id', '<', options.before);
  if (options.search) {
    const id = /^\d+$/.test(options.search) ? Number(options.search) : -1;
    const pattern = `%${options.search.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    query = query.where((eb) =>
      eb.or([eb('jobs.id', '=', id), eb(sql`lower(jobs.name)`, 'like', sql`${pattern} escape '\\'`)]),
    );
  }
  const rows = await query.execute();
  return rows.map((row) => jobSummary(row, row.queue_name));
}

export async function getJob(db: Db, jobId: number): Promise<JobDetail> {
  const row = await db
    .selectFrom('jobs')
    .innerJoin('queues', 'queues.id', 'jobs.queue_id')
    .selectAll('jobs')
    .select('queues.name as queue_name')
    .where('jobs.id', '=', jobId)
    .executeTakeFirst();
  if (!row) throw notFound(`Job ${jobId}`);
  const steps = await db.selectFrom('steps').selectAll().where('job_id', '=', jobId).orderBy('idx').execute();
  const names = new Map(steps.map((s) => [s.idx, s.name]));
  return {
    ...jobSummary(row, row.queue_name),
    ...optional('description', row.description),
    parameters: JSON.parse(row.parameters),
    maxRetriesPerTask: row.max_retries_per_task,
    maxWorkerFailures: row.max_worker_failures,
    continueOnFailure: row.continue_on_failure === 1,
    steps: steps.map(
      (s): StepSummary => ({
        id: s.id,
        index: s.idx,
        name: s.name,
        state: s.state as StepState,
        dependsOn: (JSON.parse(s.depends_on) as number[]).map((i) => names.get(i)!),
        counts: countsOf(s),
        ...optional(
          'hostRequirements',
          s.host_requirements ? (JSON.parse(s.host_requirements) as HostRequirements) : undefined,
        ),
      }),
    ),
  };
}

/** The job as submitted: template, environment templates, parameter values. */
export async function getJobSource(db: Db, jobId: number) {
  const row = await db
    .selectFrom('jobs')
    .select(['template', 'template_format', 'environment_templates', 'parameter_values', 'submission_context'])
    .where('id', '=', jobId)
    .executeTakeFirst();
  if (!row) throw notFound(`Job ${jobId}`);
  return {
    template: row.template,
    templateFormat: row.template_format,
    environmentTemplates: JSON.parse(row.environment_templates) as { name: string; text: string }[],
    parameterValues: JSON.parse(row.parameter_values) as Record<string, unknown>,
    submission: JSON.parse(row.submission_context) as Record<string, string | null>,
  };
}

function task(row: TaskRow, stepName: string, worker: string | null): Task {
  return {
    id: row.id,
    jobId: row.job_id,
    stepId: row.step_id,
    stepName,
    index: row.idx,
    parameters: JSON.parse(row.parameters),
    state: row.state as TaskState,
    attempts: row.attempts,
    ...optional('worker', worker),
    ...optional('exitCode', row.exit_code),
    ...optional('progress', row.progress),
    ...optional('statusMessage', row.status_message),
    ...optional('failMessage', row.fail_message),
    ...optional('startedAt', row.started_at),
    ...optional('finishedAt', row.finished_at),
  };
}

export interface TaskListOptions {
  readonly step?: string;
  readonly states?: readonly string[];
  /** Position in the job's task order (step, then index), for random access (virtualised tables). */
  readonly offset?: number;
  readonly limit?: number;
}

/** Tasks of a job in step and index order; `total` is how many match (for scrollbars). */
export async function listTasks(
  db: Db,
  jobId: number,
  options: TaskListOptions = {},
): Promise<{ total: number; tasks: Task[] }> {
  const steps = await db.selectFrom('steps').select(['id', 'name']).where('job_id', '=', jobId).execute();
  if (steps.length === 0) {
    const job = await db.selectFrom('jobs').select('id').where('id', '=', jobId).executeTakeFirst();
    if (!job) throw notFound(`Job ${jobId}`);
  }
  const stepNames = new Map(steps.map((s) => [s.id, s.name]));
  let base = db.selectFrom('tasks').where('tasks.job_id', '=', jobId);
  if (options.step !== undefined) {
    const step = steps.find((s) => s.name === options.step);
    if (!step) throw notFound(`Step '${options.step}' of job ${jobId}`);
    base = base.where('tasks.step_id', '=', step.id);
  }
  if (options.states?.length) base = base.where('tasks.state', 'in', options.states);
  const total = Number((await base.select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
  const rows = await base
    .leftJoin('workers', 'workers.id', 'tasks.worker_id')
    .selectAll('tasks')
    .select('workers.name as worker_name')
    .orderBy('tasks.step_id')
    .orderBy('tasks.idx')
    .offset(Math.max(0, options.offset ?? 0))
    .limit(Math.min(Math.max(options.limit ?? 200, 1), 5000))
    .execute();
  return { total, tasks: rows.map((r) => task(r, stepNames.get(r.step_id) ?? '', r.worker_name)) };
}

export async function getTask(db: Db, jobId: number, taskId: number): Promise<Task> {
  const row = await db
    .selectFrom('tasks')
    .innerJoin('steps', 'steps.id', 'tasks.step_id')
    .leftJoin('workers', 'workers.id', 'tasks.worker_id')
    .selectAll('tasks')
    .select(['steps.name as step_name', 'workers.name as worker_name'])
    .where('tasks.id', '=', taskId)
    .where('tasks.job_id', '=', jobId)
    .executeTakeFirst();
  if (!row) throw notFound(`Task ${taskId} of job ${jobId}`);
  return task(row, row.step_name, row.worker_name);
}

export interface LogQuery {
  readonly taskId?: number;
  readonly step?: string;
  /** Only batches after this cursor (from a previous read). */
  readonly after?: number;
  readonly limit?: number;
}

/** Log batches of a job (or one task, or one step), oldest first. */
export async function readLogs(db: Db, jobId: number, query: LogQuery = {}): Promise<LogChunk[]> {
  let q = db.selectFrom('logs').selectAll().where('logs.job_id', '=', jobId);
  if (query.taskId !== undefined) q = q.where('logs.task_id', '=', query.taskId);
  if (query.step !== undefined) {
    q = q.where('logs.task_id', 'in', (eb) =>
      eb
        .selectFrom('tasks')
        .innerJoin('steps', 'steps.id', 'tasks.step_id')
        .select('tasks.id')
        .where('steps.job_id', '=', jobId)
        .where('steps.name', '=', query.step!),
    );
  }
  if (query.after !== undefined) q = q.where('logs.id', '>', query.after);
  const rows = await q
    .orderBy('logs.id')
    .limit(Math.min(Math.max(query.limit ?? 500, 1), 5000))
    .execute();
  return rows.map((row) => ({
    cursor: row.id,
    sessionId: row.session_id,
    ...optional('actionId', row.action_id),
    ...optional('taskId', row.task_id),
    lines: (JSON.parse(row.lines) as [number, string][]).map(([time, text]) => ({ time, text })),
  }));
}

export async function listEvents(
  db: Db,
  options: { jobId?: number; after?: number; limit?: number } = {},
): Promise<FarmEvent[]> {
  let q = db.selectFrom('events').selectAll();
  if (options.jobId !== undefined) q = q.where('job_id', '=', options.jobId);
  if (options.after !== undefined) q = q.where('id', '>', options.after);
  const rows = await q
    .orderBy('id')
    .limit(Math.min(Math.max(options.limit ?? 500, 1), 5000))
    .execute();
  return rows.map((row) => ({
    id: row.id,
    time: row.time,
    kind: row.kind as FarmEvent['kind'],
    subjectId: row.subject_id,
    ...optional('jobId', row.job_id),
    ...optional('from', row.from_state),
    to: row.to_state,
    actor: row.actor,
    ...optional('reason', row.reason),
  }));
}

export async function listWorkers(db: Db): Promise<Worker[]> {
  const rows = await db.selectFrom('workers').selectAll().orderBy('name').execute();
  const held = await db
    .selectFrom('tasks')
    .select(['id', 'job_id', 'state', 'worker_id'])
    .where('worker_id', 'is not', null)
    .where('state', 'in', HELD_STATES)
    .execute();
  return rows.map((row) => ({
    id: row.id,
    name: row.name,
    host: row.host,
    state: row.state as WorkerState,
    capabilities: JSON.parse(row.capabilities) as Capabilities,
    ...optional('metrics', row.metrics ? (JSON.parse(row.metrics) as HostMetrics) : undefined),
    lastSeen: row.last_seen,
    registeredAt: row.registered_at,
    drainRequested: row.drain_requested === 1,
    tasks: held
      .filter((t) => t.worker_id === row.id)
      .map((t) => ({ taskId: t.id, jobId: t.job_id, state: t.state as TaskState })),
  }));
}

export async function listQueues(db: Db): Promise<Queue[]> {
  const rows = await db.selectFrom('queues').selectAll().orderBy('name').execute();
  return rows.map((row) => ({
    id: row.id,
    name: row.name,
    ...optional('description', row.description),
    ...optional('runAsUser', row.run_as_user),
    environments: (JSON.parse(row.environments) as { name: string }[]).map((e) => e.name),
    createdAt: row.created_at,
  }));
}

/** Jobs and tasks by state, workers by state: for metrics and the dashboard's header. */
export async function farmTotals(db: Db) {
  const jobs = await db
    .selectFrom('jobs')
    .select(['state', (eb) => eb.fn.countAll<number>().as('n')])
    .groupBy('state')
    .execute();
  const tasks = await db
    .selectFrom('jobs')
    .select((eb) => [
      eb.fn.sum<number>('pending_count').as('pending'),
      eb.fn.sum<number>('ready_count').as('ready'),
      eb.fn.sum<number>('assigned_count').as('assigned'),
      eb.fn.sum<number>('running_count').as('running'),
      eb.fn.sum<number>('succeeded_count').as('succeeded'),
      eb.fn.sum<number>('failed_count').as('failed'),
      eb.fn.sum<number>('canceled_count').as('canceled'),
    ])
    .executeTakeFirst();
  const workers = await db
    .selectFrom('workers')
    .select(['state', (eb) => eb.fn.countAll<number>().as('n')])
    .groupBy('state')
    .execute();
  const byState = (rows: { state: string; n: number | string | bigint }[]) =>
    Object.fromEntries(rows.map((r) => [r.state, Number(r.n)]));
  return {
    jobs: byState(jobs),
    tasks: Object.fromEntries(Object.entries(tasks ?? {}).map(([k, v]) => [k, Number(v ?? 0)])),
    workers: byState(workers),
  };
}
