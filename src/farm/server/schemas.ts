/**
 * @module The JSON schemas of the API's data: fastify validates requests with them and the OpenAPI document is built
 * from the very same objects (openapi.ts names them by identity), so the document cannot drift from what is checked.
 *
 * Written in the subset shared by draft-07 (fastify's Ajv) and JSON Schema 2020-12 (OpenAPI 3.1); the one
 * difference used, tuples (`items: [...]`), is rewritten by openapi.ts. Bounds exist for safety (finite numbers,
 * bounded strings and lists), not to second-guess the scheduler's own checks. Worker reports are bounded loosely on
 * purpose: a sync refused for a cosmetic value would be retried forever.
 */
import { JOB_STATES, STEP_STATES, TASK_STATES, WORKER_STATES } from '../api/types.js';

export type JsonSchema = { readonly [key: string]: unknown };

const MAX_ID = Number.MAX_SAFE_INTEGER;
/** Times are milliseconds since the epoch; anything beyond year 33658 is a mistake. */
const MAX_TIME = 1e15;

export const id = { type: 'integer', minimum: 1, maximum: MAX_ID } as const;
const count = { type: 'integer', minimum: 0, maximum: MAX_ID } as const;
const time = { type: 'number', minimum: 0, maximum: MAX_TIME } as const;
const finite = { type: 'number', minimum: -MAX_TIME, maximum: MAX_TIME } as const;
const text = (maxLength: number, minLength = 0) => ({ type: 'string', minLength, maxLength }) as const;
export const objectOf = (properties: Record<string, JsonSchema>, required: readonly string[] = []): JsonSchema => ({
  type: 'object',
  properties,
  ...(required.length > 0 ? { required } : {}),
  additionalProperties: false,
});
export const listOf = (items: JsonSchema, maxItems?: number): JsonSchema => ({
  type: 'array',
  items,
  ...(maxItems !== undefined ? { maxItems } : {}),
});
/** A map with free-form keys, bounded in size. */
const record = (values: JsonSchema, maxProperties = 1024): JsonSchema => ({
  type: 'object',
  maxProperties,
  propertyNames: { type: 'string', maxLength: 256 },
  additionalProperties: values,
});
/** A comma-separated list of states in a query string (`state=running,failed`). */
const stateList = (states: readonly string[]) => ({
  type: 'string',
  pattern: `^(${states.join('|')})(,(${states.join('|')}))*$`,
  maxLength: 512,
});

export const QUEUE_NAME = { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$' } as const;

// -------------------------------------------------------------------------------------------------------------
// Shared data

export const ErrorReply = objectOf(
  {
    error: objectOf(
      {
        code: { type: 'string' },
        message: { type: 'string' },
        issues: listOf(
          objectOf(
            {
              path: listOf({ type: ['string', 'integer'] }),
              message: { type: 'string' },
              line: { type: 'integer' },
              column: { type: 'integer' },
            },
            ['path', 'message'],
          ),
        ),
      },
      ['code', 'message'],
    ),
  },
  ['error'],
);

export const Empty = objectOf({});

export const TaskCounts = objectOf(Object.fromEntries(['total', ...TASK_STATES].map((state) => [state, count])), [
  'total',
  ...TASK_STATES,
]);

const TypedValue = objectOf({ type: { type: 'string' }, value: { type: 'string' } }, ['type', 'value']);
export const ParameterValues = record(TypedValue);

export const HostRequirements = objectOf(
  {
    amounts: listOf(objectOf({ name: { type: 'string' }, min: { type: 'number' }, max: { type: 'number' } }, ['name'])),
    attributes: listOf(
      objectOf({ name: { type: 'string' }, anyOf: listOf({ type: 'string' }), allOf: listOf({ type: 'string' }) }, [
        'name',
      ]),
    ),
  },
  ['amounts', 'attributes'],
);

export const Capabilities = objectOf(
  {
    amounts: record({ type: 'number', minimum: 0, maximum: MAX_TIME }, 256),
    attributes: record(listOf(text(256), 256), 256),
  },
  ['amounts', 'attributes'],
);

export const HostMetrics = objectOf({
  cpu: finite,
  load1: finite,
  memoryTotalMiB: finite,
  memoryUsedMiB: finite,
  time,
});

export const HostMetricsSample = objectOf(
  { time, cpu: finite, load1: finite, memoryUsedMiB: finite, memoryTotalMiB: finite },
  ['time'],
);

const jobSummaryProperties = {
  id,
  name: { type: 'string' },
  queue: { type: 'string' },
  priority: { type: 'integer' },
  submitter: { type: 'string' },
  state: { type: 'string', enum: JOB_STATES },
  counts: TaskCounts,
  createdAt: time,
  startedAt: time,
  finishedAt: time,
};
const jobSummaryRequired = ['id', 'name', 'queue', 'priority', 'submitter', 'state', 'counts', 'createdAt'];

export const JobSummary = objectOf(jobSummaryProperties, jobSummaryRequired);

export const StepSummary = objectOf(
  {
    id,
    index: count,
    name: { type: 'string' },
    state: { type: 'string', enum: STEP_STATES },
    dependsOn: listOf({ type: 'string' }),
    counts: TaskCounts,
    hostRequirements: HostRequirements,
  },
  ['id', 'index', 'name', 'state', 'dependsOn', 'counts'],
);

export const JobDetail = objectOf(
  {
    ...jobSummaryProperties,
    description: { type: 'string' },
    parameters: ParameterValues,
    maxRetriesPerTask: count,
    maxWorkerFailures: count,
    continueOnFailure: { type: 'boolean' },
    steps: listOf(StepSummary),
  },
  [...jobSummaryRequired, 'parameters', 'maxRetriesPerTask', 'maxWorkerFailures', 'continueOnFailure', 'steps'],
);

export const JobSource = objectOf(
  {
    template: { type: 'string' },
    templateFormat: { type: 'string' },
    environmentTemplates: listOf(objectOf({ name: { type: 'string' }, text: { type: 'string' } }, ['name', 'text'])),
    parameterValues: { type: 'object' },
    submission: record({ type: ['string', 'null'] }),
  },
  ['template', 'templateFormat', 'environmentTemplates', 'parameterValues', 'submission'],
);

export const Task = objectOf(
  {
    id,
    jobId: id,
    stepId: id,
    stepName: { type: 'string' },
    index: count,
    parameters: ParameterValues,
    state: { type: 'string', enum: TASK_STATES },
    attempts: count,
    worker: { type: 'string' },
    exitCode: { type: 'integer' },
    progress: { type: 'number' },
    statusMessage: { type: 'string' },
    failMessage: { type: 'string' },
    startedAt: time,
    finishedAt: time,
  },
  ['id', 'jobId', 'stepId', 'stepName', 'index', 'parameters', 'state', 'attempts'],
);

export const LogChunk = objectOf(
  {
    cursor: id,
    sessionId: id,
    actionId: id,
    taskId: id,
    lines: listOf(objectOf({ time: { type: 'number' }, text: { type: 'string' } }, ['time', 'text'])),
  },
  ['cursor', 'sessionId', 'lines'],
);

export const FarmEvent = objectOf(
  {
    id,
    time,
    kind: { type: 'string', enum: ['job', 'step', 'task', 'worker', 'queue'] },
    subjectId: id,
    jobId: id,
    from: { type: 'string' },
    to: { type: 'string' },
    actor: { type: 'string' },
    reason: { type: 'string' },
  },
  ['id', 'time', 'kind', 'subjectId', 'to', 'actor'],
);

export const FarmChange = {
  oneOf: [
    objectOf({ kind: { const: 'job' }, jobId: { type: 'integer' } }, ['kind', 'jobId']),
    objectOf({ kind: { const: 'tasks' }, jobId: { type: 'integer' } }, ['kind', 'jobId']),
    objectOf({ kind: { const: 'log' }, jobId: { type: 'integer' }, taskId: id }, ['kind', 'jobId']),
    objectOf({ kind: { const: 'worker' }, workerId: id }, ['kind', 'workerId']),
    objectOf({ kind: { const: 'queue' } }, ['kind']),
  ],
} as const;

export const Worker = objectOf(
  {
    id,
    name: { type: 'string' },
    host: { type: 'string' },
    state: { type: 'string', enum: WORKER_STATES },
    capabilities: Capabilities,
    metrics: HostMetrics,
    lastSeen: time,
    registeredAt: time,
    drainRequested: { type: 'boolean' },
    tasks: listOf(
      objectOf({ taskId: id, jobId: id, state: { type: 'string', enum: TASK_STATES } }, ['taskId', 'jobId', 'state']),
    ),
  },
  ['id', 'name', 'host', 'state', 'capabilities', 'lastSeen', 'registeredAt', 'drainRequested', 'tasks'],
);

export const WorkerMetricsHistory = objectOf({ workerId: id, samples: listOf(HostMetricsSample) }, [
  'workerId',
  'samples',
]);

export const Queue = objectOf(
  {
    id,
    name: { type: 'string' },
    description: { type: 'string' },
    runAsUser: { type: 'string' },
    environments: listOf({ type: 'string' }),
    createdAt: time,
  },
  ['id', 'name', 'environments', 'createdAt'],
);

export const TokenSummary = objectOf(
  {
    id,
    name: { type: 'string' },
    kind: { type: 'string', enum: ['admin', 'user', 'agent', 'worker'] },
    workerId: id,
    createdAt: time,
    revokedAt: time,
  },
  ['id', 'name', 'kind', 'createdAt'],
);

const byState = record(count);
export const FarmTotals = objectOf({ jobs: byState, tasks: byState, workers: byState }, ['jobs', 'tasks', 'workers']);

export const ServerLimits = objectOf(
  { bodyBytes: count, templateBytes: count, logBatchLines: count, logLineBytes: count },
  ['bodyBytes', 'templateBytes', 'logBatchLines', 'logLineBytes'],
);

export const Health = objectOf(
  {
    ok: { const: true },
    version: { type: 'string' },
    database: { type: 'string', enum: ['sqlite', 'postgres'] },
    limits: ServerLimits,
    auth: { type: 'string', enum: ['tokens', 'none'] },
  },
  ['ok', 'version', 'database', 'limits', 'auth'],
);

// -------------------------------------------------------------------------------------------------------------
// Requests

const NamedText = objectOf({ name: text(256, 1), text: { type: 'string' } }, ['name', 'text']);

export const SubmitJobRequest = objectOf(
  {
    template: { type: 'string', minLength: 1 },
    templateFormat: { type: 'string', enum: ['yaml', 'json'] },
    environmentTemplates: listOf(NamedText, 64),
    parameters: record({ type: ['string', 'number', 'boolean'], maxLength: 65536 }, 256),
    queue: text(64, 1),
    name: text(256, 1),
    priority: { type: 'integer', minimum: 0, maximum: 100 },
    maxRetriesPerTask: { type: 'integer', minimum: 0, maximum: 100 },
    maxWorkerFailures: { type: 'integer', minimum: 1, maximum: 10_000 },
    continueOnFailure: { type: 'boolean' },
    templateDirectory: text(4096, 1),
    currentWorkingDirectory: text(4096, 1),
  },
  ['template'],
);

export const SubmitJobReply = objectOf({ jobId: id, taskCount: count }, ['jobId', 'taskCount']);

const targetProperties = { step: text(256, 1), taskId: id };
export const JobTarget = objectOf(targetProperties);
export const RequeueTarget = objectOf({ ...targetProperties, includeSucceeded: { type: 'boolean' } });
export const PriorityRequest = objectOf({ priority: { type: 'integer', minimum: 0, maximum: 100 } }, ['priority']);

export const RegisterWorkerRequest = objectOf({ name: text(128, 1), host: text(256, 1), capabilities: Capabilities }, [
  'name',
  'host',
]);
export const RegisterWorkerReply = objectOf({ workerId: id, token: { type: 'string' } }, ['workerId', 'token']);
export const DrainRequest = objectOf({ draining: { type: 'boolean' } }, ['draining']);

const message = text(65536);
const SyncEvent = {
  type: 'object',
  properties: {
    kind: {
      type: 'string',
      enum: ['taskStarted', 'taskProgress', 'taskFinished', 'actionStarted', 'actionEnded', 'sessionEnded'],
    },
  },
  required: ['kind'],
  discriminator: { propertyName: 'kind' },
  oneOf: [
    objectOf({ kind: { const: 'taskStarted' }, taskId: id, time }, ['kind', 'taskId', 'time']),
    objectOf({ kind: { const: 'taskProgress' }, taskId: id, progress: finite, statusMessage: message }, [
      'kind',
      'taskId',
    ]),
    objectOf(
      {
        kind: { const: 'taskFinished' },
        taskId: id,
        state: { type: 'string', enum: ['succeeded', 'failed', 'canceled'] },
        exitCode: finite,
        failMessage: message,
        time,
      },
      ['kind', 'taskId', 'state', 'time'],
    ),
    objectOf(
      {
        kind: { const: 'actionStarted' },
        sessionId: id,
        action: count,
        actionKind: { type: 'string', enum: ['envEnter', 'envExit', 'taskRun'] },
        name: text(1024),
        taskId: id,
        time,
      },
      ['kind', 'sessionId', 'action', 'actionKind', 'name', 'time'],
    ),
    objectOf(
      {
        kind: { const: 'actionEnded' },
        sessionId: id,
        action: count,
        state: text(64),
        exitCode: finite,
        failMessage: message,
        time,
      },
      ['kind', 'sessionId', 'action', 'state', 'time'],
    ),
    objectOf({ kind: { const: 'sessionEnded' }, sessionId: id, time }, ['kind', 'sessionId', 'time']),
  ],
} as const;

/** `[time, text]`; draft-07 tuple form, rewritten to `prefixItems` for OpenAPI 3.1. */
const LogLineTuple = {
  type: 'array',
  items: [time, { type: 'string' }],
  additionalItems: false,
  minItems: 2,
} as const;

export const LogBatch = objectOf(
  { sessionId: id, seq: count, action: count, taskId: id, lines: listOf(LogLineTuple) },
  ['sessionId', 'seq', 'lines'],
);

export const SyncRequest = objectOf(
  {
    seq: id,
    state: { type: 'string', enum: ['idle', 'busy', 'draining', 'offline'] },
    capabilities: Capabilities,
    metrics: HostMetrics,
    running: listOf(id, 10_000),
    session: objectOf({ id, jobId: id, envKey: text(256) }, ['id', 'jobId', 'envKey']),
    events: listOf(SyncEvent, 100_000),
    logs: listOf(LogBatch, 100_000),
    wantWork: { type: 'integer', minimum: 0, maximum: 10_000 },
    waitMs: { type: 'integer', minimum: 0, maximum: 30_000 },
  },
  ['seq', 'state', 'running', 'events', 'logs', 'wantWork'],
);

export const JobSpec = objectOf(
  {
    id,
    name: { type: 'string' },
    template: { type: 'string' },
    templateFormat: { type: 'string', enum: ['yaml', 'json'] },
    environmentTemplates: listOf(objectOf({ name: { type: 'string' }, text: { type: 'string' } }, ['name', 'text'])),
    parameters: ParameterValues,
    runAsUser: { type: 'string' },
    pathMappingRules: {},
  },
  ['id', 'name', 'template', 'templateFormat', 'environmentTemplates', 'parameters'],
);

export const Assignment = objectOf(
  {
    taskId: id,
    attempt: count,
    jobId: id,
    stepIndex: count,
    stepName: { type: 'string' },
    envKey: { type: 'string' },
    parameters: ParameterValues,
    sessionId: id,
    job: JobSpec,
  },
  ['taskId', 'attempt', 'jobId', 'stepIndex', 'stepName', 'envKey', 'parameters', 'sessionId'],
);

export const SyncReply = objectOf(
  {
    seq: count,
    assignments: listOf(Assignment),
    cancel: listOf(id),
    endSessions: listOf(id),
    drain: { type: 'boolean' },
    reset: { type: 'boolean' },
    nextSyncMs: count,
  },
  ['seq', 'assignments', 'cancel', 'endSessions', 'drain', 'reset', 'nextSyncMs'],
);

export const QueueRequest = objectOf(
  {
    name: QUEUE_NAME,
    description: text(4096),
    runAsUser: text(256, 1),
    environments: listOf(NamedText, 64),
  },
  ['name'],
);
export const QueueChanges = {
  ...objectOf({
    description: { type: ['string', 'null'], maxLength: 4096 },
    runAsUser: { type: ['string', 'null'], minLength: 1, maxLength: 256 },
    environments: listOf(NamedText, 64),
  }),
  minProperties: 1,
};

export const TokenRequest = objectOf(
  { name: text(128, 1), kind: { type: 'string', enum: ['admin', 'user', 'agent'] } },
  ['name', 'kind'],
);
export const TokenReply = objectOf({ id, token: { type: 'string' } }, ['id', 'token']);

// -------------------------------------------------------------------------------------------------------------
// Path and query parameters

export const JobParams = objectOf({ jobId: id }, ['jobId']);
export const TaskParams = objectOf({ jobId: id, taskId: id }, ['jobId', 'taskId']);
export const WorkerParams = objectOf({ workerId: id }, ['workerId']);
export const QueueParams = objectOf({ name: QUEUE_NAME }, ['name']);
export const TokenParams = objectOf({ id }, ['id']);

export const JobListQuery = objectOf({
  state: stateList(JOB_STATES),
  queue: text(64, 1),
  search: text(256, 1),
  limit: { type: 'integer', minimum: 1, maximum: 1000 },
  before: id,
});
export const TaskListQuery = objectOf({
  step: text(256, 1),
  state: stateList(TASK_STATES),
  offset: { type: 'integer', minimum: 0, maximum: 1e9 },
  limit: { type: 'integer', minimum: 1, maximum: 5000 },
});
export const LogQuery = objectOf({
  step: text(256, 1),
  taskId: id,
  after: count,
  limit: { type: 'integer', minimum: 1, maximum: 5000 },
});
export const EventQuery = objectOf({ jobId: id, after: count, limit: { type: 'integer', minimum: 1, maximum: 5000 } });
export const StreamQuery = objectOf({ jobId: id, access_token: text(512, 1) });

/** Every named schema: openapi.ts puts these under `components.schemas` and refers to them by `$ref`. */
export const NAMED_SCHEMAS: Readonly<Record<string, JsonSchema>> = {
  Error: ErrorReply,
  Empty,
  TaskCounts,
  ParameterValues,
  HostRequirements,
  Capabilities,
  HostMetrics,
  HostMetricsSample,
  JobSummary,
  StepSummary,
  JobDetail,
  JobSource,
  Task,
  LogChunk,
  FarmEvent,
  FarmChange,
  Worker,
  WorkerMetricsHistory,
  Queue,
  TokenSummary,
  FarmTotals,
  ServerLimits,
  Health,
  SubmitJobRequest,
  SubmitJobReply,
  JobTarget,
  RequeueTarget,
  PriorityRequest,
  RegisterWorkerRequest,
  RegisterWorkerReply,
  DrainRequest,
  SyncEvent,
  LogBatch,
  SyncRequest,
  JobSpec,
  Assignment,
  SyncReply,
  QueueRequest,
  QueueChanges,
  TokenRequest,
  TokenReply,
};
