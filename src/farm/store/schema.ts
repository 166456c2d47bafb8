/**
 * @module The farm database's tables, as Kysely sees them. Times are milliseconds since the epoch; JSON values are
 * stored as text (the same on SQLite and PostgreSQL); booleans are 0/1 integers.
 */
import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

type Id = Generated<number>;

export interface MigrationsTable {
  version: number;
  name: string;
  applied_at: number;
}

export interface QueuesTable {
  id: Id;
  name: string;
  description: string | null;
  /** OS user the jobs of this queue run as; null: the worker agent's own user. */
  run_as_user: string | null;
  /** JSON: environment templates entered before every job's own environments, `[{name, text}]`. */
  environments: string;
  /** JSON: pathmapping-1.0 rules applied to the queue's jobs, or null. */
  path_mapping_rules: string | null;
  created_at: number;
}

export interface TokensTable {
  id: Id;
  name: string;
  /** `admin` (everything), `user` (submit, read, steer jobs), `worker` (only its worker's endpoints). */
  kind: string;
  /** SHA-256 of the token, hex; the token itself is never stored. */
  hash: string;
  worker_id: number | null;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
}

export interface WorkersTable {
  id: Id;
  name: string;
  host: string;
  /** `idle`, `busy`, `draining`, `offline` (signed off), `lost` (stopped syncing). */
  state: string;
  /** JSON: `{amounts: {name: number}, attributes: {name: string[]}}`, names lower-case. */
  capabilities: string;
  /** JSON: the last host metrics the worker sent. */
  metrics: string | null;
  last_seen: number;
  registered_at: number;
  /** The last sync's sequence number and reply, so a retried sync is answered without applying it twice. */
  sync_seq: number;
  sync_reply: string | null;
  /** Ask the worker to drain (no new work) at its next sync. */
  drain_requested: number;
  /** Counts consecutive leases lost (a worker that keeps dying). */
  lost_count: number;
}

/** Tasks of a job or step by state, kept exact by every move (see scheduler/transitions.ts). */
export interface TaskCounterColumns {
  task_count: number;
  pending_count: number;
  ready_count: number;
  assigned_count: number;
  running_count: number;
  succeeded_count: number;
  failed_count: number;
  canceled_count: number;
}

export interface JobsTable extends TaskCounterColumns {
  id: Id;
  queue_id: number;
  name: string;
  description: string | null;
  priority: number;
  submitter: string;
  /** `queued`, `running`, `suspended`, `succeeded`, `failed`, `canceled`. */
  state: string;
  /** The template as submitted, and how it was written (`yaml` or `json`). */
  template: string;
  template_format: string;
  /** JSON `[{name, text}]`: environment templates submitted with the job (after the queue's). */
  environment_templates: string;
  /** JSON: the parameter values as submitted. */
  parameter_values: string;
  /** JSON: the resolved values, `{name: {type, value}}`. */
  parameters: string;
  /** JSON: directories the job was created with (PATH parameters resolved against them). */
  submission_context: string;
  max_retries_per_task: number;
  max_worker_failures: number;
  continue_on_failure: number;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  updated_at: number;
}

export interface StepsTable extends TaskCounterColumns {
  id: Id;
  job_id: number;
  idx: number;
  name: string;
  /** `pending` (waiting for dependencies), `ready`, `running`, `succeeded`, `failed`, `canceled`, `suspended`. */
  state: string;
  /** JSON: indexes of the steps this one depends on. */
  depends_on: string;
  /** JSON: resolved host requirements, or null. */
  host_requirements: string | null;
  /** Tasks of steps with the same key run in the same environments (a worker keeps its session open). */
  env_key: string;
  /** Suspended by a user: its tasks wait (pending) until resumed. */
  suspended: number;
  started_at: number | null;
  finished_at: number | null;
}

export interface TasksTable {
  id: Id;
  job_id: number;
  step_id: number;
  idx: number;
  /** JSON: the task's parameter values, `{name: {type, value}}`. */
  parameters: string;
  /** `pending`, `ready`, `assigned`, `running`, `succeeded`, `failed`, `canceled`. */
  state: string;
  /** Runs started (a lost worker's run is not counted against the retries). */
  attempts: ColumnType<number, number | undefined, number>;
  /** Times the worker running it was lost. */
  lost_count: ColumnType<number, number | undefined, number>;
  worker_id: number | null;
  session_id: number | null;
  /** After a failure: the worker it failed on, avoided for a while. */
  avoid_worker_id: number | null;
  /** 1 when the task's step has host requirements. */
  constrained: ColumnType<number, number | undefined, never>;
  /** Copied from the job, so the claim query orders by an index. */
  priority: number;
  ready_at: number;
  exit_code: number | null;
  progress: number | null;
  status_message: string | null;
  fail_message: string | null;
  started_at: number | null;
  finished_at: number | null;
  updated_at: number;
}

export interface SessionsTable {
  id: Id;
  worker_id: number;
  job_id: number;
  /** `open` or `ended`. */
  state: string;
  started_at: number;
  ended_at: number | null;
  /** JSON: the environments the worker reported entered, in order. */
  environments: string;
}

export interface ActionsTable {
  id: Id;
  session_id: number;
  job_id: number;
  task_id: number | null;
  /** The worker's own number for the action within its session (idempotent reports). */
  worker_action: number;
  kind: string;
  name: string;
  state: string;
  exit_code: number | null;
  fail_message: string | null;
  started_at: number;
  ended_at: number | null;
}

export interface LogsTable {
  id: Id;
  job_id: number;
  session_id: number;
  action_id: number | null;
  task_id: number | null;
  /** The worker's sequence number of this batch within the action (duplicates are ignored). */
  seq: number;
  time: number;
  /** JSON `[[time, line], …]`. */
  lines: string;
  line_count: number;
}

export interface WorkerJobFailuresTable {
  worker_id: number;
  job_id: number;
  failures: number;
}

export interface EventsTable {
  id: Id;
  time: number;
  /** `job`, `step`, `task`, `worker`, `queue`. */
  kind: string;
  subject_id: number;
  job_id: number | null;
  from_state: string | null;
  to_state: string;
  /** Who: `user:<token name>`, `worker:<name>`, or `system`. */
  actor: string;
  reason: string | null;
}

export interface Schema {
  corral_migrations: MigrationsTable;
  queues: QueuesTable;
  tokens: TokensTable;
  workers: WorkersTable;
  jobs: JobsTable;
  steps: StepsTable;
  tasks: TasksTable;
  sessions: SessionsTable;
  actions: ActionsTable;
  logs: LogsTable;
  worker_job_failures: WorkerJobFailuresTable;
  events: EventsTable;
}

export type JobRow = Selectable<JobsTable>;
export type StepRow = Selectable<StepsTable>;
export type TaskRow = Selectable<TasksTable>;
export type WorkerRow = Selectable<WorkersTable>;
export type QueueRow = Selectable<QueuesTable>;
export type SessionRow = Selectable<SessionsTable>;
export type EventRow = Selectable<EventsTable>;
export type NewTask = Insertable<TasksTable>;
export type TaskUpdate = Updateable<TasksTable>;
export type { ColumnType };
