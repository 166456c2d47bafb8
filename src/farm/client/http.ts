/**
 * @module One request to the API, and the mapping of everything that can go wrong to `CorralError`s. Uses only
 * fetch and web APIs, so it runs in browsers as well as in Node.
 */
import {
  CorralError,
  IssuesError,
  JobCreationError,
  ModelErrorCode,
  ParameterError,
  TemplateError,
  type ValidationIssue,
} from '../../model/errors.js';
import { FarmErrorCode } from '../errors.js';

export interface Transport {
  /** Base URL without a trailing slash. */
  readonly url: string;
  readonly token: string | undefined;
  readonly fetch: typeof fetch;
  readonly timeoutMs: number;
}

export interface RequestOptions {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  readonly path: string;
  readonly query?: Readonly<Record<string, string | number | boolean | undefined>>;
  readonly body?: unknown;
  readonly signal?: AbortSignal | undefined;
  /** Added to the transport's timeout (a long-poll's wait). */
  readonly extraMs?: number;
  /** `text` for the Prometheus endpoint; JSON otherwise. */
  readonly as?: 'json' | 'text';
}

const unavailable = (message: string, cause?: unknown) =>
  new CorralError(FarmErrorCode.ServerUnavailable, message, cause === undefined ? undefined : { cause });

/** The path with its query string (undefined values left out). */
export function withQuery(path: string, query: RequestOptions['query']): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) if (value !== undefined) params.set(key, String(value));
  const text = params.toString();
  return text === '' ? path : `${path}?${text}`;
}

export function headers(transport: Transport, extra: Record<string, string> = {}): Record<string, string> {
  return { ...(transport.token ? { authorization: `Bearer ${transport.token}` } : {}), ...extra };
}

/**
 * Why a fetch failed, as a `CorralError`; the caller's own abort is passed on as it is.
 * @returns the error to throw.
 */
export function fetchFailure(
  transport: Transport,
  error: unknown,
  signals: { readonly timeout?: AbortSignal; readonly caller?: AbortSignal | undefined },
): unknown {
  if (signals.caller?.aborted) return error;
  if (signals.timeout?.aborted) {
    return unavailable(
      `The Corral server at ${transport.url} did not answer within ${Math.round(transport.timeoutMs / 100) / 10} s.`,
      error,
    );
  }
  // undici puts the system error (ECONNREFUSED, ECONNRESET, ENOTFOUND) in `cause`.
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const reason = cause?.code ?? cause?.message ?? (error as Error).message;
  return unavailable(`Cannot reach the Corral server at ${transport.url}: ${reason}.`, error);
}

const ISSUE_CLASSES: Record<string, typeof IssuesError> = {
  [ModelErrorCode.TemplateSyntax]: TemplateError,
  [ModelErrorCode.TemplateInvalid]: TemplateError,
  [ModelErrorCode.ParameterInvalid]: ParameterError,
  [ModelErrorCode.ParameterConflict]: ParameterError,
  [ModelErrorCode.JobInvalid]: JobCreationError,
};

/** The server's `{ error }` as the error the server threw: same code and message, issues with their line:col. */
export function errorFromBody(error: { code: string; message: string; issues?: unknown }): CorralError {
  const issues = Array.isArray(error.issues) ? (error.issues as ValidationIssue[]) : [];
  if (issues.length === 0) return new CorralError(error.code, error.message);
  const IssuesClass = ISSUE_CLASSES[error.code] ?? IssuesError;
  const result = new IssuesClass(error.code, error.message, issues);
  // The server's message already lists the issues; keep it exactly rather than listing them twice.
  result.message = error.message;
  return result;
}

function isErrorBody(value: unknown): value is { error: { code: string; message: string; issues?: unknown } } {
  const error = (value as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  return typeof error?.code === 'string' && error.code.startsWith('CORRAL_E_') && typeof error.message === 'string';
}

/**
 * Turns a response that is not a success into the error to throw.
 * @returns a `CorralError` (never throws itself).
 */
export async function responseError(transport: Transport, response: Response): Promise<CorralError> {
  let body: unknown;
  try {
    body = JSON.parse(await response.text());
  } catch {
    body = undefined;
  }
  if (isErrorBody(body)) return errorFromBody(body.error);
  const type = response.headers.get('content-type') ?? 'no content type';
  return unavailable(
    `The server at ${transport.url} answered HTTP ${response.status} (${type}), which is not Corral's API.`,
  );
}

/**
 * Sends one request.
 * @returns the parsed JSON reply (or the text, with `as: 'text'`).
 * @throws {CorralError} the server's error, or `CORRAL_E_SERVER_UNAVAILABLE`; the signal's reason when aborted.
 */
export async function request<T>(transport: Transport, options: RequestOptions): Promise<T> {
  const timeout = AbortSignal.timeout(transport.timeoutMs + (options.extraMs ?? 0));
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  const hasBody = options.body !== undefined;
  let response: Response;
  let text: string;
  try {
    response = await transport.fetch(`${transport.url}${withQuery(options.path, options.query)}`, {
      method: options.method,
      headers: headers(transport, {
        accept: options.as === 'text' ? 'text/plain' : 'application/json',
        ...(hasBody ? { 'content-type': 'application/json' } : {}),
      }),
      ...(hasBody ? { body: JSON.stringify(options.body) } : {}),
      signal,
    });
    if (!response.ok) throw await responseError(transport, response);
    text = await response.text();
  } catch (error) {
    if (error instanceof CorralError) throw error;
    throw fetchFailure(transport, error, { timeout, caller: options.signal });
  }
  if (options.as === 'text') return text as T;
  try {
    return JSON.parse(text) as T;
  } catch {
    throw unavailable(`The server at ${transport.url} answered with something that is not JSON, not Corral's API.`);
  }
}
