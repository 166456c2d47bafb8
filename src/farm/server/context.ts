/**
 * @module What the server's parts share: the farm, the settings a reload may change, and the live pieces (metrics,
 * event streams, the shutdown signal).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ServerLimits, TokenKind } from '../api/types.js';
import type { Logger } from '../daemon/logger.js';
import type { Farm } from '../scheduler/farm.js';
import type { ServerMetrics } from './metrics.js';
import type { JsonSchema } from './schemas.js';
import type { StreamHub } from './sse.js';

export type AuthMode = 'tokens' | 'none';

/** Settings a reload (SIGHUP) changes in place; every request reads them afresh. */
export interface ServerSettings {
  auth: AuthMode;
  limits: ServerLimits;
  metricsPublic: boolean;
}

export interface ServerContext {
  readonly farm: Farm;
  readonly version: string;
  readonly settings: ServerSettings;
  readonly metrics: ServerMetrics;
  readonly streams: StreamHub;
  /** Aborted when the server starts closing: long-polls answer at once. */
  readonly closing: AbortSignal;
  readonly logger: Logger | undefined;
  /** The OpenAPI document (built once, from the route table). */
  openApi(): unknown;
}

/** Who is calling: the actor recorded for what it does (`user:<token name>`), the token's kind, a worker's id. */
export interface Identity {
  readonly actor: string;
  readonly kind: TokenKind;
  readonly workerId?: number;
}

/**
 * Who may call a route: `public` (anyone), `user` (user or admin tokens), `admin`, `agent` (agent or admin tokens:
 * registering workers), `worker` (the worker's own token, or admin), `metrics` (public when `metricsPublic`, else
 * `user`).
 */
export type Access = 'public' | 'user' | 'admin' | 'agent' | 'worker' | 'metrics';

export interface Call<P, Q, B> {
  readonly request: FastifyRequest;
  readonly reply: FastifyReply;
  readonly ctx: ServerContext;
  readonly identity: Identity;
  readonly params: P;
  readonly query: Q;
  readonly body: B;
}

/** One route: what fastify registers and what the OpenAPI document describes. */
export interface RouteSpec<P = unknown, Q = unknown, B = unknown> {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  readonly url: string;
  readonly access: Access;
  /** The OpenAPI operationId, which is also the client's method for the route. */
  readonly name: string;
  readonly summary: string;
  readonly tag: string;
  readonly schema: {
    readonly params?: JsonSchema;
    readonly querystring?: JsonSchema;
    readonly body?: JsonSchema;
    /** Success replies by status (the first is the one sent); errors are described once for all routes. */
    readonly response: Readonly<Record<number, JsonSchema>>;
  };
  /** The success reply's media type when it is not JSON (server-sent events, Prometheus text). */
  readonly produces?: string;
  /** Model errors (422) this route may answer with: it takes templates. */
  readonly takesTemplates?: boolean;
  readonly handler: (call: Call<P, Q, B>) => Promise<unknown>;
}

// biome-ignore lint/suspicious/noExplicitAny: routes of every shape are kept in one table.
export type AnyRoute = RouteSpec<any, any, any>;

/** Declares a route with typed params, query and body (fastify has checked them against the schemas). */
export const route = <P = Record<string, never>, Q = Record<string, never>, B = undefined>(
  spec: RouteSpec<P, Q, B>,
): AnyRoute => spec as AnyRoute;
