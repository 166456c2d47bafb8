/**
 * @module Worker routes: list, metrics history, register, drain, and the worker protocol's one call, sync (a long-poll when the worker
 * asks to wait for work).
 */
import type { RegisterWorkerRequest, SyncRequest } from '../../api/types.js';
import { route } from '../context.js';
import { limitLogs } from '../limits.js';
import * as S from '../schemas.js';

const tag = 'workers';
type WorkerParams = { workerId: number };

export const workerRoutes = [
  route({
    method: 'GET',
    url: '/api/v1/workers',
    access: 'user',
    name: 'listWorkers',
    summary: 'Workers with their state, capabilities, host metrics and current tasks.',
    tag,
    schema: { response: { 200: S.objectOf({ workers: S.listOf(S.Worker) }, ['workers']) } },
    handler: async ({ ctx }) => ({ workers: await ctx.farm.listWorkers() }),
  }),
  route<WorkerParams>({
    method: 'GET',
    url: '/api/v1/workers/:workerId/metrics',
    access: 'user',
    name: 'workerMetrics',
    summary: "A worker's recent host metrics (the last 10 minutes, a sample every 5 s at most), oldest first.",
    tag,
    schema: { params: S.WorkerParams, response: { 200: S.WorkerMetricsHistory } },
    handler: ({ ctx, params }) => ctx.farm.workerMetrics(params.workerId),
  }),
  route<Record<string, never>, Record<string, never>, RegisterWorkerRequest>({
    method: 'POST',
    url: '/api/v1/workers',
    access: 'agent',
    name: 'registerWorker',
    summary: 'Register a worker (again, by name) and get its own token, shown once.',
    tag,
    schema: { body: S.RegisterWorkerRequest, response: { 200: S.RegisterWorkerReply } },
    handler: ({ ctx, body, identity }) =>
      ctx.farm.registerWorker(
        { ...body, capabilities: body.capabilities ?? { amounts: {}, attributes: {} } },
        identity.actor,
      ),
  }),
  route<WorkerParams, Record<string, never>, { draining: boolean }>({
    method: 'POST',
    url: '/api/v1/workers/:workerId/drain',
    access: 'admin',
    name: 'setDraining',
    summary: 'Ask a worker to take no new work (draining: true), or to take work again.',
    tag,
    schema: { params: S.WorkerParams, body: S.DrainRequest, response: { 200: S.Empty } },
    handler: async ({ ctx, params, body, identity }) => {
      await ctx.farm.setDraining(params.workerId, body.draining, identity.actor);
      return {};
    },
  }),
  route<WorkerParams, Record<string, never>, SyncRequest>({
    method: 'POST',
    url: '/api/v1/workers/:workerId/sync',
    access: 'worker',
    name: 'sync',
    summary:
      'Heartbeat, report and request for work in one call; idempotent per seq. With waitMs and nothing to deliver, ' +
      'waits until work appears (long-poll).',
    tag,
    schema: { params: S.WorkerParams, body: S.SyncRequest, response: { 200: S.SyncReply } },
    handler: async ({ ctx, params, body, reply }) => {
      const request = limitLogs(ctx.settings, body);
      const started = performance.now();
      // A worker that went away stops its long-poll; so does the server closing (the worker gets its reply now).
      // Only a long-poll waits, so only it needs the signal (making one costs more than a short sync's routing).
      const waits = (request.waitMs ?? 0) > 0;
      const gone = waits ? new AbortController() : undefined;
      const onClose = () => {
        if (!reply.raw.writableFinished) gone?.abort();
      };
      if (gone) reply.raw.once('close', onClose);
      try {
        const result = await ctx.farm.sync(
          params.workerId,
          request,
          gone ? AbortSignal.any([gone.signal, ctx.closing]) : undefined,
        );
        ctx.metrics.observeSync((performance.now() - started) / 1000, waits);
        return result;
      } finally {
        if (gone) reply.raw.off('close', onClose);
      }
    },
  }),
];
