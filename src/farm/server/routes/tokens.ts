/**
 * @module Token routes (admin only): list, create (the token is shown once), revoke.
 */
import type { TokenKind, TokenSummary } from '../../api/types.js';
import { route } from '../context.js';
import * as S from '../schemas.js';

const tag = 'tokens';

export const tokenRoutes = [
  route({
    method: 'GET',
    url: '/api/v1/tokens',
    access: 'admin',
    name: 'listTokens',
    summary: 'Tokens (never their values), revoked ones included.',
    tag,
    schema: { response: { 200: S.objectOf({ tokens: S.listOf(S.TokenSummary) }, ['tokens']) } },
    handler: async ({ ctx }) => ({
      tokens: (await ctx.farm.listTokens()).map(
        (row): TokenSummary => ({
          id: row.id,
          name: row.name,
          kind: row.kind as TokenKind,
          ...(row.worker_id !== null ? { workerId: row.worker_id } : {}),
          createdAt: Number(row.created_at),
          ...(row.revoked_at !== null ? { revokedAt: Number(row.revoked_at) } : {}),
        }),
      ),
    }),
  }),
  route<Record<string, never>, Record<string, never>, { name: string; kind: 'admin' | 'user' | 'agent' }>({
    method: 'POST',
    url: '/api/v1/tokens',
    access: 'admin',
    name: 'createToken',
    summary: 'Create a token; its value is in this reply only (the farm keeps a hash).',
    tag,
    schema: { body: S.TokenRequest, response: { 201: S.TokenReply } },
    handler: async ({ ctx, body, reply }) => {
      const created = await ctx.farm.createToken(body.name, body.kind);
      reply.code(201);
      return created;
    },
  }),
  route<{ id: number }>({
    method: 'DELETE',
    url: '/api/v1/tokens/:id',
    access: 'admin',
    name: 'revokeToken',
    summary: 'Revoke a token: it stops working at once.',
    tag,
    schema: { params: S.TokenParams, response: { 200: S.Empty } },
    handler: async ({ ctx, params }) => {
      await ctx.farm.revokeToken(params.id);
      return {};
    },
  }),
];
