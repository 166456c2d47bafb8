/** @module Error codes of the process launcher (see docs/errors.md). */

/** The launcher's error codes; errors are {@link CorralError}s carrying one of these as `code`. */
export const LauncherErrorCode = {
  /** The launcher cannot be started or used: binary missing, `sudo` refused, already closed. */
  Unavailable: 'CORRAL_E_LAUNCHER_UNAVAILABLE',
  /** The launcher process died; every pending launch and `exit` rejects with this. */
  Crashed: 'CORRAL_E_LAUNCHER_CRASHED',
} as const;
export type LauncherErrorCode = (typeof LauncherErrorCode)[keyof typeof LauncherErrorCode];
