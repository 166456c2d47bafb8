/**
 * @module The worker agent's error codes (see docs/errors.md, "Daemons").
 */
export const WorkerErrorCode = {
  /** The worker's identity file (`worker.json` in its data directory) cannot be read or written. */
  Identity: 'CORRAL_E_WORKER_IDENTITY',
  /** The server refused to register the worker: the token is not an agent or admin token, or the name is invalid. */
  RegistrationRefused: 'CORRAL_E_REGISTRATION_REFUSED',
  /** The worker's outbox (undelivered reports in its data directory) cannot be opened or written. */
  Outbox: 'CORRAL_E_OUTBOX',
  /** A custom capability in the configuration is malformed (`amount.name=NUMBER`, `attr.name=VALUE`). */
  CapabilityInvalid: 'CORRAL_E_CAPABILITY_INVALID',
} as const;
export type WorkerErrorCode = (typeof WorkerErrorCode)[keyof typeof WorkerErrorCode];
