/**
 * @module `createClient`: the farm API's one typed client, for the CLI, the worker agent, tests and (bundled) the
 * dashboard. It imports only the API's types, the error codes and the model's pure error classes.
 */
import { CorralError, ModelErrorCode } from '../../model/errors.js';
import { request, type Transport } from './http.js';
import { streamChanges } from './sse.js';
import type { CorralClient, CreateClientOptions, JobTargetOptions } from './types.js';

const DEFAULT_TIMEOUT_MS = 30_000;
const API = '/api/v1';
const list = (values: readonly string[] | undefined) => (values && values.length > 0 ? values.join(',') : undefined);

/**
 * Creates a client for one server.
 * @returns the client; it holds no connection of its own (fetch keeps connections alive).
 * @throws {CorralError} `CORRAL_E_INVALID_ARGUMENT` when `url` is not an http(s) URL.
 * @example
 * const client = createClient({ url: 'http://127.0.0.1:8470', token: process.env.CORRAL_TOKEN });
 * const { jobId } = await client.submitJob({ template: text });
 */
export function createClient(options: CreateClientOptions): CorralClient {
  const url = options.url.replace(/\/+$/, '');
  if (!/^https?:\/\/[^/]/.test(url)) {
    throw new CorralError(ModelErrorCode.InvalidArgument, `The server URL must be http(s)://…, got '${options.url}'.`);
  }
  const transport: Transport = {
    url,
    token: options.token,
    fetch: options.fetch ?? ((input, init) => fetch(input, init)),
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
  };
  const get = <T>(path: string, query?: Record<string, string | number | boolean | undefined>) =>
    request<T>(transport, { method: 'GET', path: `${API}${path}`, ...(query ? { query } : {}) });
  const send = <T>(method: 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown) =>
    request<T>(transport, { method, path: `${API}${path}`, ...(body !== undefined ? { body } : {}) });
  const target = ({ step, taskId }: JobTargetOptions) => ({
    ...(step !== undefined ? { step } : {}),
    ...(taskId !== undefined ? { taskId } : {}),
  });

  return {
    url,
    health: () => get('/health'),
    submitJob: (job) => send('POST', '/jobs', job),
    listJobs: (o = {}) =>
      get('/jobs', { state: list(o.states), queue: o.queue, search: o.search, limit: o.limit, before: o.before }),
    getJob: (o) => get(`/jobs/${o.jobId}`),
    getJobSource: (o) => get(`/jobs/${o.jobId}/template`),
    listTasks: (o) =>
      get(`/jobs/${o.jobId}/tasks`, { step: o.step, state: list(o.states), offset: o.offset, limit: o.limit }),
    getTask: (o) => get(`/jobs/${o.jobId}/tasks/${o.taskId}`),
    readLogs: (o) => get(`/jobs/${o.jobId}/logs`, { step: o.step, taskId: o.taskId, after: o.after, limit: o.limit }),
    cancel: (o) => send('POST', `/jobs/${o.jobId}/cancel`, target(o)),
    suspend: (o) => send('POST', `/jobs/${o.jobId}/suspend`, target(o)),
    resume: (o) => send('POST', `/jobs/${o.jobId}/resume`, target(o)),
    requeue: (o) =>
      send('POST', `/jobs/${o.jobId}/requeue`, {
        ...target(o),
        ...(o.includeSucceeded !== undefined ? { includeSucceeded: o.includeSucceeded } : {}),
      }),
    setPriority: (o) => send('PUT', `/jobs/${o.jobId}/priority`, { priority: o.priority }),
    deleteJob: (o) => send('DELETE', `/jobs/${o.jobId}`),
    listEvents: (o = {}) => get('/events', { jobId: o.jobId, after: o.after, limit: o.limit }),
    stream: (o = {}) => streamChanges(transport, o),
    listWorkers: () => get('/workers'),
    workerMetrics: (o) => get(`/workers/${o.workerId}/metrics`),
    setDraining: (o) => send('POST', `/workers/${o.workerId}/drain`, { draining: o.draining }),
    registerWorker: (worker) => send('POST', '/workers', worker),
    sync: (o) =>
      request(transport, {
        method: 'POST',
        path: `${API}/workers/${o.workerId}/sync`,
        body: o.request,
        signal: o.signal,
        extraMs: o.request.waitMs ?? 0,
      }),
    listQueues: () => get('/queues'),
    createQueue: (queue) => send('POST', '/queues', queue),
    configureQueue: ({ name, ...changes }) => send('PATCH', `/queues/${encodeURIComponent(name)}`, changes),
    listTokens: () => get('/tokens'),
    createToken: (o) => send('POST', '/tokens', { name: o.name, kind: o.kind }),
    revokeToken: (o) => send('DELETE', `/tokens/${o.id}`),
    totals: () => get('/farm'),
    metrics: () => request(transport, { method: 'GET', path: '/metrics', as: 'text' }),
  };
}
