/**
 * @module `corral/session`: runs an OpenJD job's environments and tasks on this host.
 *
 * A {@link Session} owns a working directory and runs one action at a time as a supervised process group: enter
 * environments, run tasks, exit environments (innermost first), clean up. Status and every output line reach the
 * callbacks given at creation. See `docs/session.md`.
 */
export {
  type CancelRequest,
  renderCommandLine,
} from './action.js';
export { SessionErrorCode } from './errors.js';
export { LauncherErrorCode } from './launcher/errors.js';
export { createLauncher } from './launcher/index.js';
export type {
  CreateLauncherOptions,
  LaunchedProcess,
  Launcher,
  LaunchOptions,
  LaunchRequest,
  ProcessExit,
} from './launcher/types.js';
export {
  PathMapper,
  type PathMappingRule,
  parsePathMappingDocument,
  pathMappingDocument,
} from './path-mapping.js';
export { REDACTED } from './redaction.js';
export { DEFAULT_ON_EXIT_TIMEOUT_SECONDS, Session, type SessionOptions } from './session.js';
export {
  type ActionKind,
  type ActionRef,
  ActionState,
  type ActionStatus,
  type LogSink,
  SessionState,
} from './types.js';
