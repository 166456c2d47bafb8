/**
 * @module The farm's error codes (store, scheduler, server). Each maps to an HTTP status in the API.
 */
import { CorralError } from '../model/errors.js';

export const FarmErrorCode = {
  /** The database was migrated by a newer Corral than this one; refusing to touch it. */
  DatabaseTooNew: 'CORRAL_E_DATABASE_TOO_NEW',
  /** The database URL cannot be understood or the database cannot be opened. */
  DatabaseUnavailable: 'CORRAL_E_DATABASE_UNAVAILABLE',
  /** No job, step, task, worker, queue or token with that id or name. */
  NotFound: 'CORRAL_E_NOT_FOUND',
  /** The request conflicts with the current state (resuming a job that is not suspended, a name taken). */
  Conflict: 'CORRAL_E_CONFLICT',
  /** The request is malformed or has invalid values; the message says which. */
  BadRequest: 'CORRAL_E_BAD_REQUEST',
  /** No valid token was presented. */
  Unauthorized: 'CORRAL_E_UNAUTHORIZED',
  /** The token is valid but may not do this (a worker token on a user endpoint, or on another worker). */
  Forbidden: 'CORRAL_E_FORBIDDEN',
  /** The request body, template or log batch is larger than the server accepts. */
  TooLarge: 'CORRAL_E_TOO_LARGE',
  /** The server is configured to listen beyond loopback without authentication, or otherwise unsafely. */
  Insecure: 'CORRAL_E_INSECURE',
  /** The server cannot be reached or answered with something that is not Corral's API. */
  ServerUnavailable: 'CORRAL_E_SERVER_UNAVAILABLE',
  /** The server failed unexpectedly; its log has the details (the answer never does). */
  Internal: 'CORRAL_E_INTERNAL',
} as const;
export type FarmErrorCode = (typeof FarmErrorCode)[keyof typeof FarmErrorCode];

/** HTTP status for each farm error code. */
export const HTTP_STATUS: Readonly<Record<string, number>> = {
  [FarmErrorCode.NotFound]: 404,
  [FarmErrorCode.Conflict]: 409,
  [FarmErrorCode.BadRequest]: 400,
  [FarmErrorCode.Unauthorized]: 401,
  [FarmErrorCode.Forbidden]: 403,
  [FarmErrorCode.TooLarge]: 413,
  [FarmErrorCode.Internal]: 500,
  [FarmErrorCode.DatabaseUnavailable]: 503,
  CORRAL_E_TEMPLATE_SYNTAX: 422,
  CORRAL_E_TEMPLATE_INVALID: 422,
  CORRAL_E_PARAMETER_INVALID: 422,
  CORRAL_E_PARAMETER_CONFLICT: 422,
  CORRAL_E_JOB_INVALID: 422,
  CORRAL_E_INVALID_ARGUMENT: 400,
};

export const notFound = (what: string) => new CorralError(FarmErrorCode.NotFound, `${what} does not exist.`);
export const conflict = (message: string) => new CorralError(FarmErrorCode.Conflict, message);
export const badRequest = (message: string) => new CorralError(FarmErrorCode.BadRequest, message);
