/**
 * @module The farm API's data: what the HTTP API accepts and returns, shared by the server, the client library, the
 * worker agent and the dashboard. Types only; no code depends on the server's implementation.
 */
import type { JobParameterValues } from '../../model/job-parameters.js';
import type { TaskParameterSet } from '../../model/parameter-space.js';

export const JOB_STATES = ['queued', 'running', 'suspended', 'succeeded', 'failed', 'canceled'] as const;
export type JobState = (typeof JOB_STATES)[number];

export const STEP_STATES = ['pending', 'ready', 'running', 'suspended', 'succeeded', 'failed', 'canceled'] as const;
export type StepState = (typeof STEP_STATES)[number];

export const TASK_STATES = ['pending', 'ready', 'assigned', 'running', 'succeeded', 'failed', 'canceled'] as const;
export type TaskState = (typeof TASK_STATES)[number];

export const WORKER_STATES = ['idle', 'busy', 'draining', 'offline', 'lost'] as const;
export type WorkerState = (typeof WORKER_STATES)[number];

/** Tasks of a job or step by state. */
export type TaskCounts = Readonly<Record<TaskState, number>> & { readonly total: number };

export interface Queue {
  readonly id: number;
  readonly name: string;
  readonly description?: string;
  readonly runAsUser?: string;
  /** Names of the environment templates entered before every job's own environments. */
  readonly environments: readonly string[];
  readonly createdAt: number;
}

export interface JobSummary {
  readonly id: number;
  readonly name: string;
  readonly queue: string;
  readonly priority: number;
  readonly submitter: string;
  readonly state: JobState;
  readonly counts: TaskCounts;
  readonly createdAt: number;
  readonly startedAt?: number;
  readonly finishedAt?: number;
}

export interface StepSummary {
  readonly id: number;
  readonly index: number;
  readonly name: string;
  readonly state: StepState;
  readonly dependsOn: readonly string[];
  readonly counts: TaskCounts;
  readonly hostRequirements?: HostRequirements;
}

export interface JobDetail extends JobSummary {
  readonly description?: string;
  readonly parameters: JobParameterValues;
  readonly maxRetriesPerTask: number;
  readonly maxWorkerFailures: number;
  readonly continueOnFailure: boolean;
  readonly steps: readonly StepSummary[];
}

export interface Task {
  readonly id: number;
  readonly jobId: number;
  readonly stepId: number;
  readonly stepName: string;
  readonly index: number;
  readonly parameters: TaskParameterSet;
  readonly state: TaskState;
  readonly attempts: number;
  readonly worker?: string;
  readonly exitCode?: number;
  readonly progress?: number;
  readonly statusMessage?: string;
  readonly failMessage?: string;
  readonly startedAt?: number;
  readonly finishedAt?: number;
}

export interface HostRequirements {
  readonly amounts: readonly { readonly name: string; readonly min?: number; readonly max?: number }[];
  readonly attributes: readonly {
    readonly name: string;
    readonly anyOf?: readonly string[];
    readonly allOf?: readonly string[];
  }[];
}

/** What a worker host offers. Names are capability names (`amount.worker.vcpu`), compared case-insensitively. */
export interface Capabilities {
  readonly amounts: Readonly<Record<string, number>>;
  readonly attributes: Readonly<Record<string, readonly string[]>>;
}

export interface HostMetrics {
  /** Share of CPU time used since the previous report, 0–1. */
  readonly cpu?: number;
  readonly load1?: number;
  readonly memoryTotalMiB?: number;
  readonly memoryUsedMiB?: number;
  readonly time?: number;
}

/** One sample of a worker's host metrics, kept by the server for a short history. */
export interface HostMetricsSample {
  /** When it was measured (the worker's report time, else when the server received it), ms since the epoch. */
  readonly time: number;
  readonly cpu?: number;
  readonly load1?: number;
  readonly memoryUsedMiB?: number;
  readonly memoryTotalMiB?: number;
}

/** A worker's recent host metrics (the last 10 minutes, a sample every 5 s at most), oldest first. */
export interface WorkerMetricsHistory {
  readonly workerId: number;
  readonly samples: readonly HostMetricsSample[];
}

export interface Worker {
  readonly id: number;
  readonly name: string;
  readonly host: string;
  readonly state: WorkerState;
  readonly capabilities: Capabilities;
  readonly metrics?: HostMetrics;
  readonly lastSeen: number;
  readonly registeredAt: number;
  readonly drainRequested: boolean;
  /** Tasks it is assigned or running now. */
  readonly tasks: readonly { readonly taskId: number; readonly jobId: number; readonly state: TaskState }[];
}

export interface LogLine {
  readonly time: number;
  readonly text: string;
}

export interface LogChunk {
  /** Opaque position: pass it back as `after` to read on. */
  readonly cursor: number;
  readonly sessionId: number;
  readonly actionId?: number;
  readonly taskId?: number;
  readonly lines: readonly LogLine[];
}

export interface FarmEvent {
  readonly id: number;
  readonly time: number;
  readonly kind: 'job' | 'step' | 'task' | 'worker' | 'queue';
  readonly subjectId: number;
  readonly jobId?: number;
  readonly from?: string;
  readonly to: string;
  readonly actor: string;
  readonly reason?: string;
}

// -------------------------------------------------------------------------------------------------------------
// Requests

export interface SubmitJobRequest {
  /** The job template's text (YAML or JSON). */
  readonly template: string;
  readonly templateFormat?: 'yaml' | 'json';
  /** Environment templates to enter before the job's own (after the queue's). */
  readonly environmentTemplates?: readonly { readonly name: string; readonly text: string }[];
  /** Job parameter values by name (strings or numbers). */
  readonly parameters?: Readonly<Record<string, unknown>>;
  readonly queue?: string;
  readonly name?: string;
  /** 0–100; default 50. */
  readonly priority?: number;
  /** Runs a failed task gets again; default 2. */
  readonly maxRetriesPerTask?: number;
  /** Failed tasks after which a worker stops getting this job's tasks; default 3. */
  readonly maxWorkerFailures?: number;
  /** Keep running other tasks when one fails for good; default false. */
  readonly continueOnFailure?: boolean;
  /** Where the template file was (PATH defaults are joined with it) and the submitter's working directory. */
  readonly templateDirectory?: string;
  readonly currentWorkingDirectory?: string;
}

/** Where a job action applies: the whole job, one step, or one task. */
export interface JobTarget {
  readonly step?: string;
  readonly taskId?: number;
}

// -------------------------------------------------------------------------------------------------------------
// The worker protocol: one sync call is heartbeat, report and request for work at once.

/** What the worker did since its last sync, in order. */
export type SyncEvent =
  | { readonly kind: 'taskStarted'; readonly taskId: number; readonly time: number }
  | {
      readonly kind: 'taskProgress';
      readonly taskId: number;
      readonly progress?: number;
      readonly statusMessage?: string;
    }
  | {
      readonly kind: 'taskFinished';
      readonly taskId: number;
      readonly state: 'succeeded' | 'failed' | 'canceled';
      readonly exitCode?: number;
      readonly failMessage?: string;
      readonly time: number;
    }
  | {
      readonly kind: 'actionStarted';
      readonly sessionId: number;
      /** The worker's number for the action, unique within the session. */
      readonly action: number;
      readonly actionKind: 'envEnter' | 'envExit' | 'taskRun';
      readonly name: string;
      readonly taskId?: number;
      readonly time: number;
    }
  | {
      readonly kind: 'actionEnded';
      readonly sessionId: number;
      readonly action: number;
      readonly state: string;
      readonly exitCode?: number;
      readonly failMessage?: string;
      readonly time: number;
    }
  | { readonly kind: 'sessionEnded'; readonly sessionId: number; readonly time: number };

/** Output lines of one action, in order; `seq` numbers a session's batches from 1. */
export interface LogBatch {
  readonly sessionId: number;
  readonly seq: number;
  readonly action?: number;
  readonly taskId?: number;
  readonly lines: readonly (readonly [number, string])[];
}

export interface SyncRequest {
  /** 1 for the first sync after registering, then +1 for each new one; a retry repeats the same number. */
  readonly seq: number;
  /** The worker's own view: `idle`, `busy`, `draining`; `offline` in its last sync before it stops (it signs off). */
  readonly state: 'idle' | 'busy' | 'draining' | 'offline';
  readonly capabilities?: Capabilities;
  readonly metrics?: HostMetrics;
  /** Tasks it is running now. */
  readonly running: readonly number[];
  /** The session it has open, to be given more of the same work. */
  readonly session?: { readonly id: number; readonly jobId: number; readonly envKey: string };
  readonly events: readonly SyncEvent[];
  readonly logs: readonly LogBatch[];
  /** How many new tasks it can take now (0 while busy or draining). */
  readonly wantWork: number;
  /** With nothing to deliver, wait up to this long for work to appear (long-poll), in ms; at most 30 000. */
  readonly waitMs?: number;
}

/** What a worker needs to run a job's tasks: the inputs to re-create the job exactly. */
export interface JobSpec {
  readonly id: number;
  readonly name: string;
  readonly template: string;
  readonly templateFormat: 'yaml' | 'json';
  /** The queue's environment templates, then the job's own. */
  readonly environmentTemplates: readonly { readonly name: string; readonly text: string }[];
  /** The values the job was created with (PATH values already absolute). */
  readonly parameters: JobParameterValues;
  readonly runAsUser?: string;
  /** pathmapping-1.0 rules of the queue, if any. */
  readonly pathMappingRules?: unknown;
}

export interface Assignment {
  readonly taskId: number;
  readonly attempt: number;
  readonly jobId: number;
  readonly stepIndex: number;
  readonly stepName: string;
  readonly envKey: string;
  readonly parameters: TaskParameterSet;
  /** The server's session for this run: the worker's open one, or a new one. */
  readonly sessionId: number;
  /** Included with the first assignment of a job in a session. */
  readonly job?: JobSpec;
}

export interface SyncReply {
  readonly seq: number;
  readonly assignments: readonly Assignment[];
  /** Stop these tasks (canceled, suspended, requeued, or no longer this worker's): cancel with their own mode. */
  readonly cancel: readonly number[];
  /** Close this session after the current work (its job ended or was canceled). */
  readonly endSessions: readonly number[];
  /** Take no new work and sign off. */
  readonly drain: boolean;
  /** The server had declared this worker lost: drop everything it holds and start clean. */
  readonly reset: boolean;
  /** How long to wait before the next sync when idle, in ms. */
  readonly nextSyncMs: number;
}

export interface RegisterWorkerRequest {
  readonly name: string;
  readonly host: string;
  readonly capabilities: Capabilities;
}

export interface RegisterWorkerReply {
  readonly workerId: number;
  /** The worker's own token (only the worker endpoints, only for this worker). Shown once. */
  readonly token: string;
}

// -------------------------------------------------------------------------------------------------------------
// Replies of the HTTP API that have no other type (the server sends them; the client returns them).

/** What changed, for live views (`GET /api/v1/stream`); a `jobId` of -1 means "some job" (refetch what you show). */
export type FarmChange =
  | { readonly kind: 'job'; readonly jobId: number }
  | { readonly kind: 'tasks'; readonly jobId: number }
  | { readonly kind: 'log'; readonly jobId: number; readonly taskId?: number }
  | { readonly kind: 'worker'; readonly workerId: number }
  | { readonly kind: 'queue' };

export type TokenKind = 'admin' | 'user' | 'agent' | 'worker';

export interface TokenSummary {
  readonly id: number;
  readonly name: string;
  readonly kind: TokenKind;
  /** For a worker's own token. */
  readonly workerId?: number;
  readonly createdAt: number;
  readonly revokedAt?: number;
}

/** The job as submitted (`GET /api/v1/jobs/:jobId/template`). */
export interface JobSource {
  readonly template: string;
  readonly templateFormat: string;
  readonly environmentTemplates: readonly { readonly name: string; readonly text: string }[];
  readonly parameterValues: Readonly<Record<string, unknown>>;
  readonly submission: Readonly<Record<string, string | null>>;
}

/** Jobs and tasks by state and workers by state, for the dashboard's header and metrics. */
export interface FarmTotals {
  readonly jobs: Readonly<Record<string, number>>;
  readonly tasks: Readonly<Record<string, number>>;
  readonly workers: Readonly<Record<string, number>>;
}

/** The sizes the server accepts; a worker splits its log batches and a submitter checks templates against them. */
export interface ServerLimits {
  readonly bodyBytes: number;
  readonly templateBytes: number;
  /** Most log lines in one sync (all batches together). */
  readonly logBatchLines: number;
  /** Longer log lines are cut to this many bytes (UTF-8), marked `… [truncated]`. */
  readonly logLineBytes: number;
}

export interface HealthReply {
  readonly ok: true;
  readonly version: string;
  readonly database: 'sqlite' | 'postgres';
  readonly limits: ServerLimits;
  /** `tokens`: every other route wants a bearer token; `none`: the server (on loopback) needs none. */
  readonly auth: 'tokens' | 'none';
}
