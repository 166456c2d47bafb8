/**
 * @module The client's interface: one method per API route, each taking one options object and returning the
 * API's types.
 */
import type {
  FarmChange,
  FarmEvent,
  FarmTotals,
  HealthReply,
  JobDetail,
  JobSource,
  JobState,
  JobSummary,
  LogChunk,
  Queue,
  RegisterWorkerReply,
  RegisterWorkerRequest,
  SubmitJobRequest,
  SyncReply,
  SyncRequest,
  Task,
  TaskState,
  TokenSummary,
  Worker,
  WorkerMetricsHistory,
} from '../api/types.js';

export interface CreateClientOptions {
  /** The server's base URL (`http://127.0.0.1:8470`); a trailing slash is ignored. */
  readonly url: string;
  /** A bearer token; not needed when the server runs without authentication. */
  readonly token?: string;
  /** The fetch to use (tests, a proxy). Default: the global fetch. */
  readonly fetch?: typeof fetch;
  /** How long to wait for an answer (a sync's waitMs is added). Default 30 000 ms. */
  readonly timeoutMs?: number;
}

export interface JobRef {
  readonly jobId: number;
}

/** Where a control action applies: the whole job, one step (by name) or one task. */
export interface JobTargetOptions extends JobRef {
  readonly step?: string;
  readonly taskId?: number;
}

export interface ListJobsOptions {
  readonly states?: readonly JobState[] | readonly string[];
  readonly queue?: string;
  /** A case-insensitive part of the name, or an id. */
  readonly search?: string;
  /** 1–1000; default 100. */
  readonly limit?: number;
  /** Jobs with a lower id (the next page). */
  readonly before?: number;
}

export interface ListTasksOptions extends JobRef {
  readonly step?: string;
  readonly states?: readonly TaskState[] | readonly string[];
  readonly offset?: number;
  /** 1–5000; default 200. */
  readonly limit?: number;
}

export interface ReadLogsOptions extends JobRef {
  readonly step?: string;
  readonly taskId?: number;
  /** The cursor of the last chunk read. */
  readonly after?: number;
  /** 1–5000; default 500. */
  readonly limit?: number;
}

export interface ListEventsOptions {
  readonly jobId?: number;
  /** The id of the last event read. */
  readonly after?: number;
  readonly limit?: number;
}

export interface StreamOptions {
  /** Only changes of this job (and farm-wide "some job" hints). */
  readonly jobId?: number;
  /** Ends the iteration (without an error). */
  readonly signal?: AbortSignal;
  /** Called each time the stream is (re)connected: a live view can say it is live before any change arrives. */
  readonly onConnect?: () => void;
}

export interface QueueOptions {
  readonly name: string;
  readonly description?: string;
  readonly runAsUser?: string;
  readonly environments?: readonly { readonly name: string; readonly text: string }[];
}

export interface ConfigureQueueOptions {
  readonly name: string;
  /** null clears it. */
  readonly description?: string | null;
  readonly runAsUser?: string | null;
  readonly environments?: readonly { readonly name: string; readonly text: string }[];
}

/**
 * The farm's API. Every method throws `CorralError`: the server's own error (same `code`, `message`, and for
 * template and parameter errors a `TemplateError`/`ParameterError`/`JobCreationError` with located `issues`), or
 * `CORRAL_E_SERVER_UNAVAILABLE` when the server cannot be reached, times out, or answers with something that is not
 * Corral's API. Aborting a `signal` rejects with the signal's reason (an `AbortError`) instead.
 */
export interface CorralClient {
  /** The server's base URL. */
  readonly url: string;
  health(): Promise<HealthReply>;
  submitJob(request: SubmitJobRequest): Promise<{ jobId: number; taskCount: number }>;
  listJobs(options?: ListJobsOptions): Promise<{ jobs: JobSummary[] }>;
  getJob(options: JobRef): Promise<JobDetail>;
  getJobSource(options: JobRef): Promise<JobSource>;
  listTasks(options: ListTasksOptions): Promise<{ tasks: Task[]; total: number }>;
  getTask(options: JobRef & { readonly taskId: number }): Promise<Task>;
  readLogs(options: ReadLogsOptions): Promise<LogChunk[]>;
  cancel(options: JobTargetOptions): Promise<{ canceled: number }>;
  suspend(options: JobTargetOptions): Promise<{ suspended: number }>;
  resume(options: JobTargetOptions): Promise<Record<string, never>>;
  requeue(options: JobTargetOptions & { readonly includeSucceeded?: boolean }): Promise<{ requeued: number }>;
  setPriority(options: JobRef & { readonly priority: number }): Promise<Record<string, never>>;
  /** Deletes a finished job with its tasks, logs and events; an unfinished job is refused (`CORRAL_E_CONFLICT`). */
  deleteJob(options: JobRef): Promise<Record<string, never>>;
  listEvents(options?: ListEventsOptions): Promise<{ events: FarmEvent[] }>;
  /**
   * Live changes, as server-sent events. Reconnects (with `Last-Event-ID`) when the connection drops after it was
   * established; the first change after a reconnection asks you to refetch. Ends when `signal` aborts.
   * @throws {CorralError} when the first connection fails, or the server refuses a reconnection (401, 403, 404).
   */
  stream(options?: StreamOptions): AsyncIterable<FarmChange>;
  listWorkers(): Promise<{ workers: Worker[] }>;
  /**
   * A worker's recent host metrics (the last 10 minutes, a sample every 5 s at most), oldest first; the server keeps
   * them in memory, so they start empty after it restarts.
   * @throws {CorralError} `CORRAL_E_NOT_FOUND` for an unknown worker.
   */
  workerMetrics(options: { readonly workerId: number }): Promise<WorkerMetricsHistory>;
  setDraining(options: { readonly workerId: number; readonly draining: boolean }): Promise<Record<string, never>>;
  registerWorker(request: RegisterWorkerRequest): Promise<RegisterWorkerReply>;
  /** A worker's sync; with `request.waitMs`, a long-poll (the timeout grows by it). */
  sync(options: {
    readonly workerId: number;
    readonly request: SyncRequest;
    readonly signal?: AbortSignal;
  }): Promise<SyncReply>;
  listQueues(): Promise<{ queues: Queue[] }>;
  createQueue(options: QueueOptions): Promise<{ id: number }>;
  configureQueue(options: ConfigureQueueOptions): Promise<Record<string, never>>;
  listTokens(): Promise<{ tokens: TokenSummary[] }>;
  createToken(options: { readonly name: string; readonly kind: 'admin' | 'user' | 'agent' }): Promise<{
    id: number;
    token: string;
  }>;
  revokeToken(options: { readonly id: number }): Promise<Record<string, never>>;
  totals(): Promise<FarmTotals>;
  /** Prometheus text. */
  metrics(): Promise<string>;
}
