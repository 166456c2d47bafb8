/**
 * @module Farm-wide routes: health, the OpenAPI document, totals, the event history, the live change stream and
 * Prometheus metrics.
 */
import { route } from '../context.js';
import * as S from '../schemas.js';

const tag = 'farm';

export const farmRoutes = [
  route({
    method: 'GET',
    url: '/api/v1/health',
    access: 'public',
    name: 'health',
    summary:
      'Whether the server is up, its version, its database kind, the sizes it accepts and whether it wants tokens.',
    tag,
    schema: { response: { 200: S.Health } },
    handler: async ({ ctx }) => ({
      ok: true,
      version: ctx.version,
      database: ctx.farm.database.dialect,
      limits: { ...ctx.settings.limits },
      auth: ctx.settings.auth,
    }),
  }),
  route({
    method: 'GET',
    url: '/api/v1/openapi.json',
    access: 'public',
    name: 'openApi',
    summary: 'This document.',
    tag,
    schema: { response: { 200: { type: 'object' } } },
    handler: async ({ ctx }) => ctx.openApi(),
  }),
  route({
    method: 'GET',
    url: '/api/v1/farm',
    access: 'user',
    name: 'totals',
    summary: 'Jobs and tasks by state, workers by state.',
    tag,
    schema: { response: { 200: S.FarmTotals } },
    handler: ({ ctx }) => ctx.farm.totals(),
  }),
  route<Record<string, never>, { jobId?: number; after?: number; limit?: number }>({
    method: 'GET',
    url: '/api/v1/events',
    access: 'user',
    name: 'listEvents',
    summary: "State changes of jobs, steps, tasks, workers and queues, oldest first; page with after (an event's id).",
    tag,
    schema: { querystring: S.EventQuery, response: { 200: S.objectOf({ events: S.listOf(S.FarmEvent) }, ['events']) } },
    handler: async ({ ctx, query }) => ({ events: await ctx.farm.listEvents(query) }),
  }),
  route<Record<string, never>, { jobId?: number }>({
    method: 'GET',
    url: '/api/v1/stream',
    access: 'user',
    name: 'stream',
    summary:
      'Server-sent events: each data line is a FarmChange (a hint to refetch), at most one per subject per 100 ms; ' +
      'comment lines every 15 s. Accepts the token as ?access_token= for EventSource.',
    tag,
    produces: 'text/event-stream',
    schema: { querystring: S.StreamQuery, response: { 200: S.FarmChange } },
    handler: async ({ ctx, request, reply, query }) => {
      ctx.streams.open(request, reply, query.jobId !== undefined ? { jobId: query.jobId } : {});
    },
  }),
  route({
    method: 'GET',
    url: '/metrics',
    access: 'metrics',
    name: 'metrics',
    summary: 'Prometheus metrics (a user token unless the server makes them public).',
    tag,
    produces: 'text/plain',
    schema: { response: { 200: { type: 'string' } } },
    handler: async ({ ctx, reply }) => {
      reply.type(ctx.metrics.registry.contentType);
      return ctx.metrics.registry.metrics();
    },
  }),
];
