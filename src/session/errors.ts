/**
 * @module The session runtime's error codes (see docs/errors.md).
 */

export const SessionErrorCode = {
  /** A session method was called in a state that does not allow it (e.g. running a task while one runs). */
  WrongState: 'CORRAL_E_SESSION_STATE',
  /** Path mapping rules are malformed. */
  PathMappingInvalid: 'CORRAL_E_PATH_MAPPING_INVALID',
  /** An environment was exited that is not the innermost entered one, or was entered twice. */
  EnvironmentOrder: 'CORRAL_E_ENVIRONMENT_ORDER',
  /** The session's working directory could not be prepared or removed. */
  WorkingDirectory: 'CORRAL_E_WORKING_DIRECTORY',
} as const;
export type SessionErrorCode = (typeof SessionErrorCode)[keyof typeof SessionErrorCode];
