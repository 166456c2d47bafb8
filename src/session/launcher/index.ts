/**
 * @module Process launcher for the session runtime: starts each action's process in its own session and process
 * group, delivers its merged stdout+stderr, reports its exit once the whole group is gone, and signals the group.
 *
 * Two implementations behind one interface: the native `corral-launcher` (built from native/launcher.c by
 * scripts/build.mjs; roughly the fork-exec floor per process) and a pure-Node fallback for machines without a C
 * compiler. Both can run actions as another OS user through `sudo -n -u <user>`.
 */

import { CorralError, ModelErrorCode } from '../../model/errors.js';
import { NATIVE_LAUNCHER_PATH, nativeLauncherAvailable } from './binary.js';
import { LauncherErrorCode } from './errors.js';
import { NativeLauncher } from './native-launcher.js';
import { NodeLauncher } from './node-launcher.js';
import { type CreateLauncherOptions, DEFAULT_DRAIN_GRACE_MS, type Launcher } from './types.js';

export { NATIVE_LAUNCHER_PATH, nativeLauncherAvailable } from './binary.js';
export { LauncherErrorCode } from './errors.js';
export { NativeLauncher } from './native-launcher.js';
export { NodeLauncher } from './node-launcher.js';
export type {
  CreateLauncherOptions,
  LaunchedProcess,
  Launcher,
  LaunchOptions,
  LaunchRequest,
  LaunchSignal,
  ProcessExit,
} from './types.js';
export { DEFAULT_DRAIN_GRACE_MS } from './types.js';

/**
 * Starts a launcher. With `prefer: 'auto'` (default) the native one when its binary is built, else the Node one.
 * Throws `CORRAL_E_LAUNCHER_UNAVAILABLE` when the chosen launcher cannot start (binary missing for `'native'`,
 * `sudo` missing or refusing for `user`), `CORRAL_E_INVALID_ARGUMENT` for bad options.
 */
export async function createLauncher(options: CreateLauncherOptions = {}): Promise<Launcher> {
  const prefer = options.prefer ?? 'auto';
  const drainGraceMs = options.drainGraceMs ?? DEFAULT_DRAIN_GRACE_MS;
  if (!Number.isFinite(drainGraceMs) || drainGraceMs < 0) {
    throw new CorralError(ModelErrorCode.InvalidArgument, `drainGraceMs must be a non-negative number of milliseconds`);
  }
  // sudo would read a leading '-' as an option; whitespace, ':' and '/' appear in no user name.
  if (options.user !== undefined && !/^[^\s:/-][^\s:/]*$/.test(options.user)) {
    throw new CorralError(ModelErrorCode.InvalidArgument, `not a user name: ${JSON.stringify(options.user)}`);
  }
  const common = { drainGraceMs, ...(options.user === undefined ? {} : { user: options.user }) };
  const native = prefer !== 'node' && nativeLauncherAvailable();
  if (prefer === 'native' && !native) {
    throw new CorralError(
      LauncherErrorCode.Unavailable,
      `the native launcher is not built (${NATIVE_LAUNCHER_PATH}); run the build with a C compiler installed`,
    );
  }
  if (native) return NativeLauncher.start({ binary: NATIVE_LAUNCHER_PATH, ...common });
  return NodeLauncher.start(common);
}
