/**
 * @module Every error the API answers is `{ error: { code, message, issues? } }` with the status of its code. Model
 * errors keep their located issues (path, line, column) so a client can point at the template's line; anything
 * unexpected becomes a 500 with a generic message, logged with its stack, never shown.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CorralError, IssuesError, ModelErrorCode, type ValidationIssue } from '../../model/errors.js';
import { FarmErrorCode, HTTP_STATUS } from '../errors.js';

export interface ErrorBody {
  readonly error: { readonly code: string; readonly message: string; readonly issues?: readonly ValidationIssue[] };
}

const MODEL_CODES = new Set<string>(Object.values(ModelErrorCode));
const PARTS: Record<string, string> = { body: 'body', querystring: 'query', params: 'path', headers: 'header' };

interface AjvError {
  readonly instancePath: string;
  readonly keyword: string;
  readonly message?: string;
  readonly params: Record<string, unknown>;
}

/** Turns a fastify validation failure into a message and an issue naming the field (`body.events[0].kind`). */
function validationIssue(error: FastifyError): ValidationIssue {
  const first = (error.validation?.[0] ?? { instancePath: '', keyword: '', params: {} }) as AjvError;
  const path: (string | number)[] = [PARTS[error.validationContext ?? ''] ?? 'request'];
  for (const part of first.instancePath.split('/').slice(1)) {
    const key = part.replace(/~1/g, '/').replace(/~0/g, '~');
    path.push(/^\d+$/.test(key) ? Number(key) : key);
  }
  let message = first.message ?? 'is invalid';
  if (first.keyword === 'required') {
    path.push(String(first.params.missingProperty));
    message = 'is required';
  } else if (first.keyword === 'additionalProperties') {
    path.push(String(first.params.additionalProperty));
    message = 'is not a known field';
  }
  return { path, message };
}

function formatPath(path: readonly (string | number)[]): string {
  return path.map((part, i) => (typeof part === 'number' ? `[${part}]` : i === 0 ? part : `.${part}`)).join('');
}

/** Status and body for anything thrown while handling a request; `internal` when it must be logged as a bug. */
export function describeError(error: unknown): { status: number; body: ErrorBody; internal: boolean } {
  const answer = (status: number, code: string, message: string, issues?: readonly ValidationIssue[]) => ({
    status,
    body: { error: { code, message, ...(issues && issues.length > 0 ? { issues } : {}) } },
    internal: false,
  });
  if (error instanceof CorralError) {
    const status = HTTP_STATUS[error.code] ?? (MODEL_CODES.has(error.code) ? 422 : undefined);
    // The database's own message may name hosts and files: logged, not shown.
    if (status === 503) {
      return { ...answer(503, error.code, 'The farm database is unavailable; try again shortly.'), internal: true };
    }
    if (status !== undefined && status < 500) {
      const issues = error instanceof IssuesError ? error.issues : undefined;
      return answer(status, error.code, error.message, issues);
    }
  } else if (error !== null && typeof error === 'object') {
    const fastifyError = error as FastifyError;
    if (fastifyError.validation) {
      const issue = validationIssue(fastifyError);
      return answer(400, FarmErrorCode.BadRequest, `Invalid request: ${formatPath(issue.path)} ${issue.message}.`, [
        issue,
      ]);
    }
    if (fastifyError.code === 'FST_ERR_MAX_PARAM_LENGTH')
      return answer(400, FarmErrorCode.BadRequest, 'Invalid request: a path parameter is too long.');
    const status = fastifyError.statusCode;
    // fastify's own client errors (malformed JSON, unsupported media type, prototype poisoning) say nothing internal.
    if (typeof status === 'number' && status >= 400 && status < 500) {
      if (status === 413) return answer(413, FarmErrorCode.TooLarge, 'The request body is too large.');
      if (status === 404) return answer(404, FarmErrorCode.NotFound, fastifyError.message);
      return answer(status, FarmErrorCode.BadRequest, fastifyError.message);
    }
  }
  return {
    status: 500,
    body: {
      error: { code: FarmErrorCode.Internal, message: 'Internal server error; the server log has the details.' },
    },
    internal: true,
  };
}

/** Answers errors fastify raises before routing (a malformed URL, an overlong path parameter). */
export function frameworkErrors(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const { status, body } = describeError(error);
  reply.code(status).type('application/json; charset=utf-8').send(body);
}

/**
 * Installs the error and not-found handlers; `fallback` may answer a path no route has (the dashboard's pages).
 */
export function installErrorHandlers(
  app: FastifyInstance,
  options: { readonly fallback?: (request: FastifyRequest, reply: FastifyReply) => boolean } = {},
): void {
  app.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const { status, body, internal } = describeError(error);
    if (internal) request.log.error({ err: error, route: request.routeOptions.url }, 'request failed');
    if (status === 401) reply.header('www-authenticate', 'Bearer realm="corral"');
    // The rest of an oversized body is not worth reading: close the connection after answering.
    if (status === 413) reply.header('connection', 'close');
    return reply.code(status).type('application/json; charset=utf-8').send(body);
  });
  app.setNotFoundHandler((request: FastifyRequest, reply: FastifyReply) => {
    if (options.fallback?.(request, reply)) return;
    const path = request.url.split('?')[0]!.slice(0, 200);
    reply.code(404).send({ error: { code: FarmErrorCode.NotFound, message: `No route ${request.method} ${path}.` } });
  });
}
