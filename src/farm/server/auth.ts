/**
 * @module Who may call what: bearer tokens checked by the farm (it keeps only their hashes), the kinds each route
 * accepts, and the rule that a server without authentication listens on loopback only.
 */
import { isIPv4, isIPv6 } from 'node:net';
import type { FastifyRequest } from 'fastify';
import { CorralError } from '../../model/errors.js';
import { FarmErrorCode } from '../errors.js';
import type { Access, AuthMode, Identity, ServerContext } from './context.js';

const identities = new WeakMap<FastifyRequest, Identity>();

/** With `auth: 'none'` every request acts as this admin (loopback only). */
const LOCAL: Identity = { actor: 'user:local', kind: 'admin' };

/** Tokens are `corral_<kind>_<43 base64url>`; anything much longer or with odd characters is not worth a lookup. */
const TOKEN_SHAPE = /^[A-Za-z0-9_.~+/=-]{1,512}$/;

const unauthorized = (message: string) => new CorralError(FarmErrorCode.Unauthorized, message);
const forbidden = (message: string) => new CorralError(FarmErrorCode.Forbidden, message);

/** Who calls a public route (health, the OpenAPI document, public metrics): never used to act. */
const ANONYMOUS: Identity = { actor: 'anonymous', kind: 'user' };

/**
 * The caller of a request that passed {@link authenticate}.
 * @throws {Error} when the request was not authenticated (a route registered without the hook): fail closed.
 */
export function identityOf(request: FastifyRequest): Identity {
  const identity = identities.get(request);
  if (!identity) throw new Error(`No identity for ${request.method} ${request.routeOptions.url}`);
  return identity;
}

function presentedToken(request: FastifyRequest, allowQuery: boolean): string | undefined {
  const header = request.headers.authorization;
  if (header !== undefined) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) throw unauthorized("The Authorization header must be 'Bearer <token>'.");
    return match[1];
  }
  if (allowQuery) {
    const token = (request.query as { access_token?: unknown }).access_token;
    if (typeof token === 'string' && token !== '') return token;
  }
  return undefined;
}

/**
 * An onRequest hook: authenticates the caller and checks the route's access before the body is even read.
 * @throws {CorralError} `CORRAL_E_UNAUTHORIZED` (401) without a token or with an unknown one; `CORRAL_E_FORBIDDEN`
 *   (403) when the token's kind may not call the route.
 */
export function authenticate(ctx: ServerContext, access: Access, options: { queryToken?: boolean } = {}) {
  return async (request: FastifyRequest): Promise<void> => {
    if (access === 'public' || (access === 'metrics' && ctx.settings.metricsPublic)) {
      identities.set(request, ANONYMOUS);
      return;
    }
    if (ctx.settings.auth === 'none') {
      identities.set(request, LOCAL);
      return;
    }
    const token = presentedToken(request, options.queryToken ?? false);
    if (token === undefined) throw unauthorized("This needs a token: send 'Authorization: Bearer <token>'.");
    const info = TOKEN_SHAPE.test(token) ? await ctx.farm.authenticate(token) : undefined;
    if (!info) throw unauthorized('The token is unknown or has been revoked.');
    const identity: Identity = {
      // Actors in the event history: `user:<token name>` for people (admin and user tokens), `agent:<name>`.
      actor: `${info.kind === 'agent' || info.kind === 'worker' ? info.kind : 'user'}:${info.name}`,
      kind: info.kind,
      ...(info.workerId !== undefined ? { workerId: info.workerId } : {}),
    };
    checkAccess(identity, access, request.params as Record<string, string | undefined>);
    identities.set(request, identity);
  };
}

function checkAccess(identity: Identity, access: Access, params: Record<string, string | undefined>): void {
  const { kind } = identity;
  if (kind === 'admin') return;
  switch (access) {
    case 'user':
    case 'metrics':
      if (kind === 'user') return;
      throw forbidden(
        kind === 'agent' ? 'An agent token may only register workers.' : 'A worker token may only sync its own worker.',
      );
    case 'admin':
      throw forbidden('This needs an admin token.');
    case 'agent':
      if (kind === 'agent') return;
      throw forbidden('Registering workers needs an agent or admin token.');
    case 'worker':
      if (kind === 'worker' && identity.workerId !== undefined && String(identity.workerId) === params.workerId) return;
      throw forbidden(
        kind === 'worker'
          ? `This worker token belongs to worker ${identity.workerId}; it may only sync that worker.`
          : "Syncing a worker needs that worker's own token (or an admin token).",
      );
    default:
      return;
  }
}

/** Whether a listen host reaches only this machine: 127.0.0.0/8, ::1 (also IPv4-mapped), `localhost`. */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (bare === 'localhost' || bare.endsWith('.localhost')) return true;
  if (isIPv4(bare)) return bare.startsWith('127.');
  if (isIPv6(bare)) {
    if (bare === '::1' || /^(0{1,4}:){7}0{0,3}1$/.test(bare)) return true;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(bare);
    return mapped !== null && mapped[1]!.startsWith('127.');
  }
  return false;
}

export interface SafeListenOptions {
  readonly host: string;
  readonly auth: AuthMode;
  /** Whether the farm has at least one live token. */
  readonly hasTokens: boolean;
}

/**
 * Refuses to expose a farm beyond this machine without authentication.
 * @throws {CorralError} `CORRAL_E_INSECURE` when `host` is not loopback and `auth` is `none` or no token exists.
 */
export function assertSafeListen(options: SafeListenOptions): void {
  if (isLoopback(options.host)) return;
  if (options.auth === 'none') {
    throw new CorralError(
      FarmErrorCode.Insecure,
      `Refusing to listen on ${options.host} without authentication: anyone who can reach it could run commands ` +
        'on the workers. Use auth: tokens, or listen on 127.0.0.1.',
    );
  }
  if (!options.hasTokens) {
    throw new CorralError(
      FarmErrorCode.Insecure,
      `Refusing to listen on ${options.host}: the farm has no tokens yet, so nobody could use it. ` +
        'Create an admin token first (corral tokens create), or listen on 127.0.0.1.',
    );
  }
}
