/**
 * @module The farm's HTTP server: the JSON API under /api/v1 (a thin layer over {@link Farm}), server-sent events
 * for live views, Prometheus metrics and the OpenAPI document.
 *
 * Every input is checked by JSON schemas (schemas.ts) before a handler sees it; the same schemas make the OpenAPI
 * document. Bodies are parsed strictly: no type coercion, unknown fields refused, `__proto__`/`constructor` keys
 * refused. Path and query values are converted from text to numbers only where the schema asks for a number.
 */
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance, type FastifyRequest, LogController } from 'fastify';
import { CorralError, ModelErrorCode } from '../../model/errors.js';
import type { ServerLimits } from '../api/types.js';
import type { Logger, LogLevel } from '../daemon/logger.js';
import { FarmErrorCode } from '../errors.js';
import type { Farm } from '../scheduler/farm.js';
import { assertSafeListen, authenticate, identityOf, isLoopback } from './auth.js';
import { trackConnections } from './connections.js';
import type { AnyRoute, AuthMode, ServerContext, ServerSettings } from './context.js';
import { frameworkErrors, installErrorHandlers } from './errors.js';
import { DEFAULT_LIMITS, HARD_BODY_LIMIT, limitBody } from './limits.js';
import { createMetrics } from './metrics.js';
import { buildOpenApi } from './openapi.js';
import { farmRoutes } from './routes/farm.js';
import { jobRoutes } from './routes/jobs.js';
import { queueRoutes } from './routes/queues.js';
import { tokenRoutes } from './routes/tokens.js';
import { workerRoutes } from './routes/workers.js';
import type { JsonSchema } from './schemas.js';
import { StreamHub } from './sse.js';
import { findWebRoot, serveDashboard } from './static.js';

export { assertSafeListen, isLoopback, type SafeListenOptions } from './auth.js';
export type { AuthMode } from './context.js';
export { DEFAULT_LIMITS } from './limits.js';

/** Every route the server has, in the order the OpenAPI document lists them. */
export const ROUTES: readonly AnyRoute[] = [
  ...farmRoutes,
  ...jobRoutes,
  ...workerRoutes,
  ...queueRoutes,
  ...tokenRoutes,
];

export interface FarmServerOptions {
  readonly farm: Farm;
  /** `tokens`: bearer tokens; `none`: every request acts as admin (the server then listens on loopback only). */
  readonly auth: AuthMode;
  /** Defaults: {@link DEFAULT_LIMITS} (8 MiB bodies, 1 MiB templates, 10 000 log lines per sync, 64 KiB lines). */
  readonly limits?: Partial<ServerLimits>;
  /** Where requests that fail unexpectedly are logged (and, at debug, every request). Default: no logging. */
  readonly logger?: Logger;
  /** Reported by /api/v1/health and the OpenAPI document. */
  readonly version: string;
  /** Serve /metrics without a token. Default false. */
  readonly metricsPublic?: boolean;
  /**
   * The dashboard's built files, served at `/`. Default: the package's `dist/web` when it exists; `false` serves no
   * dashboard (the API alone, every other path a 404).
   */
  readonly webRoot?: string | false;
}

/** What a reload may change; what is not given stays. */
export interface FarmServerSettings {
  readonly auth?: AuthMode;
  readonly limits?: Partial<ServerLimits>;
  readonly metricsPublic?: boolean;
  readonly logLevel?: LogLevel;
}

export interface FarmServer {
  /** The fastify instance (for tests: `inject`, hooks). */
  readonly app: FastifyInstance;
  /**
   * Starts listening.
   * @returns the base URL (`http://127.0.0.1:8470`).
   * @throws {CorralError} `CORRAL_E_INSECURE` (see {@link assertSafeListen}); the listen error (`EADDRINUSE`).
   */
  listen(options: { host: string; port: number }): Promise<{ url: string }>;
  /**
   * Stops accepting connections, answers long-polls at once, ends event streams, and resolves once in-flight
   * requests have finished. Idempotent.
   */
  close(): Promise<void>;
  /**
   * Applies new settings without dropping connections (SIGHUP).
   * @throws {CorralError} `CORRAL_E_INSECURE` when turning authentication off while listening beyond loopback;
   *   `CORRAL_E_INVALID_ARGUMENT` for a limit that is not a positive whole number. Nothing changes then.
   */
  configure(settings: FarmServerSettings): void;
}

function checkedLimits(base: ServerLimits, changes: Partial<ServerLimits> | undefined): ServerLimits {
  const limits = { ...base };
  for (const [key, value] of Object.entries(changes ?? {}) as [keyof ServerLimits, number | undefined][]) {
    if (value === undefined) continue;
    if (!(key in DEFAULT_LIMITS) || !Number.isSafeInteger(value) || value < 1) {
      throw new CorralError(ModelErrorCode.InvalidArgument, `The limit ${key} must be a positive whole number.`);
    }
    limits[key] = value;
  }
  return limits;
}

/** Converts path and query values to numbers where the schema wants a number; anything else is left to fail. */
function coerce(schema: JsonSchema | undefined, values: unknown): void {
  if (!schema || values === null || typeof values !== 'object') return;
  const properties = schema.properties as Record<string, JsonSchema> | undefined;
  const target = values as Record<string, unknown>;
  for (const [key, value] of Object.entries(target)) {
    if (typeof value !== 'string' || !properties || !Object.hasOwn(properties, key)) continue;
    const type = properties[key]!.type;
    if ((type === 'integer' && /^-?\d{1,400}$/.test(value)) || (type === 'number' && /^-?\d+(\.\d+)?$/.test(value)))
      target[key] = Number(value);
  }
}

/**
 * Creates the server (not yet listening).
 * @throws {CorralError} `CORRAL_E_INVALID_ARGUMENT` for a limit that is not a positive whole number.
 */
export function createFarmServer(options: FarmServerOptions): FarmServer {
  const { farm, logger } = options;
  const settings: ServerSettings = {
    auth: options.auth,
    limits: checkedLimits(DEFAULT_LIMITS, options.limits),
    metricsPublic: options.metricsPublic ?? false,
  };
  const closing = new AbortController();
  let openApi: unknown;
  const ctx: ServerContext = {
    farm,
    version: options.version,
    settings,
    metrics: createMetrics(farm),
    streams: new StreamHub(farm),
    closing: closing.signal,
    logger,
    openApi: () => (openApi ??= buildOpenApi({ routes: ROUTES, version: options.version })),
  };

  const app = Fastify({
    ...(logger ? { loggerInstance: logger } : { logger: false }),
    // Requests are logged by the onResponse hook below, without query strings (they may hold ?access_token=).
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: HARD_BODY_LIMIT,
    exposeHeadRoutes: false,
    return503OnClosing: true,
    frameworkErrors,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    ajv: {
      customOptions: {
        // Bodies are taken as sent: `"5"` is not a number and unknown fields are refused, not dropped.
        coerceTypes: false,
        removeAdditional: false,
        useDefaults: false,
        allErrors: false,
        allowUnionTypes: true,
        strictNumbers: true,
        discriminator: true,
      },
    },
  }) as unknown as FastifyInstance;
  // Replies go out as they are: the response schemas document them (tests check replies against them), while
  // fast-json-stringify would silently drop any field a schema forgot.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  // The dashboard's files at /, its pages for any other path outside the API (unless turned off).
  const fallback =
    options.webRoot === false ? undefined : serveDashboard(app, { root: options.webRoot ?? findWebRoot() });
  installErrorHandlers(app, fallback ? { fallback } : {});
  // The API speaks JSON only: a text body is refused (415) rather than handed to a schema as a string.
  app.removeContentTypeParser('text/plain');

  app.addHook('preParsing', limitBody(settings));
  app.addHook('onSend', async (_request, reply, payload) => {
    // While closing, finish each answer's connection too, so the close is not held up by idle keep-alives.
    if (closing.signal.aborted) reply.header('connection', 'close');
    return payload;
  });
  app.addHook('onResponse', async (request: FastifyRequest, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    ctx.metrics.observeRequest(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
    request.log.debug(
      { method: request.method, route, status: reply.statusCode, ms: Math.round(reply.elapsedTime) },
      'request',
    );
  });
  const connections = trackConnections(app.server);
  app.addHook('preClose', async () => {
    closing.abort();
    ctx.metrics.close();
    ctx.streams.closeAll();
    connections.closeWhenIdle();
  });

  // Registered as a plugin: routes are added at ready(), after any onRoute hook a caller (a test) installs.
  app.register(async (api) => {
    for (const spec of ROUTES) {
      const { params, querystring, body, response } = spec.schema;
      api.route({
        method: spec.method,
        url: spec.url,
        schema: {
          ...(params ? { params } : {}),
          ...(querystring ? { querystring } : {}),
          ...(body ? { body } : {}),
          response,
        },
        onRequest: authenticate(ctx, spec.access, { queryToken: spec.name === 'stream' }),
        preValidation: async (request) => {
          coerce(params, request.params);
          coerce(querystring, request.query);
          // A POST without a body (`curl -X POST …/cancel`) means an empty object; the schema decides if that's fine.
          if (body && request.body == null) request.body = {};
        },
        handler: (request, reply) =>
          spec.handler({
            request,
            reply,
            ctx,
            identity: identityOf(request),
            params: request.params,
            query: request.query,
            body: request.body,
          }),
      });
    }
  });

  let boundHost: string | undefined;
  let closed: Promise<void> | undefined;
  return {
    app,
    async listen({ host, port }) {
      assertSafeListen({ host, auth: settings.auth, hasTokens: await farm.hasTokens() });
      await app.listen({ host, port });
      boundHost = host;
      const address = app.server.address() as AddressInfo;
      return { url: `http://${host.includes(':') ? `[${host}]` : host}:${address.port}` };
    },
    close() {
      closed ??= app.close();
      return closed;
    },
    configure(next) {
      const auth = next.auth ?? settings.auth;
      if (auth === 'none' && boundHost !== undefined && !isLoopback(boundHost)) {
        throw new CorralError(
          FarmErrorCode.Insecure,
          `Refusing to turn authentication off while listening on ${boundHost}; the settings are unchanged.`,
        );
      }
      const limits = checkedLimits(settings.limits, next.limits);
      settings.auth = auth;
      settings.limits = limits;
      if (next.metricsPublic !== undefined) settings.metricsPublic = next.metricsPublic;
      if (next.logLevel !== undefined && logger) logger.level = next.logLevel;
    },
  };
}
