/**
 * @module Queue routes: list, create, configure. Environment templates given to a queue are checked like a job's.
 */
import { route } from '../context.js';
import { checkTemplates } from '../limits.js';
import * as S from '../schemas.js';

const tag = 'queues';
type Environments = { name: string; text: string }[] | undefined;
const templates = (environments: Environments) =>
  (environments ?? []).map((env) => ({ what: `environment template '${env.name}'`, text: env.text }));

export const queueRoutes = [
  route({
    method: 'GET',
    url: '/api/v1/queues',
    access: 'user',
    name: 'listQueues',
    summary: 'Queues with their settings.',
    tag,
    schema: { response: { 200: S.objectOf({ queues: S.listOf(S.Queue) }, ['queues']) } },
    handler: async ({ ctx }) => ({ queues: await ctx.farm.listQueues() }),
  }),
  route<
    Record<string, never>,
    Record<string, never>,
    { name: string; description?: string; runAsUser?: string; environments?: { name: string; text: string }[] }
  >({
    method: 'POST',
    url: '/api/v1/queues',
    access: 'admin',
    name: 'createQueue',
    summary: 'Create a queue.',
    tag,
    takesTemplates: true,
    schema: { body: S.QueueRequest, response: { 201: S.objectOf({ id: S.id }, ['id']) } },
    handler: async ({ ctx, body, identity, reply }) => {
      checkTemplates(ctx.settings, templates(body.environments));
      const created = await ctx.farm.createQueue(body, identity.actor);
      reply.code(201);
      return created;
    },
  }),
  route<
    { name: string },
    Record<string, never>,
    { description?: string | null; runAsUser?: string | null; environments?: { name: string; text: string }[] }
  >({
    method: 'PATCH',
    url: '/api/v1/queues/:name',
    access: 'admin',
    name: 'configureQueue',
    summary: "Change a queue's settings; only the fields given change (null clears).",
    tag,
    takesTemplates: true,
    schema: { params: S.QueueParams, body: S.QueueChanges, response: { 200: S.Empty } },
    handler: async ({ ctx, params, body, identity }) => {
      checkTemplates(ctx.settings, templates(body.environments));
      await ctx.farm.configureQueue(params.name, body, identity.actor);
      return {};
    },
  }),
];
