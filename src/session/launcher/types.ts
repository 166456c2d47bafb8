/**
 * @module The launcher contract: how the session runtime starts an action's process, watches its output and exit,
 * and signals its process group. Two implementations share it: the native `corral-launcher` (fast path) and a
 * pure-Node fallback (no C compiler on the machine).
 */

/** What to run. Nothing is inherited implicitly from the Corral process: not its environment, not its directory. */
export interface LaunchRequest {
  /** The program. A bare name (no `/`) is looked up in `env.PATH` (default `/bin:/usr/bin`), like `execvp`. */
  readonly command: string;
  /** Arguments after `argv[0]` (which is `command`), passed byte for byte. */
  readonly args: readonly string[];
  /** Working directory of the process. */
  readonly cwd: string;
  /** The complete environment of the child (nothing inherited implicitly). */
  readonly env: Readonly<Record<string, string>>;
}

/** How a launched process ended. */
export interface ProcessExit {
  /** Exit code; `null` when killed by a signal. */
  readonly exitCode: number | null;
  /** Name of the signal that killed the process (e.g. `'SIGKILL'`), else `null`. */
  readonly signal: string | null;
  /**
   * Set when the program could not be started (not found, not executable, working directory missing): a
   * human-readable reason. `exitCode` is then 127 (not found) or 126 (found but could not be run).
   */
  readonly startError?: string;
}

/** Signals the session runtime sends to an action (OpenJD cancelation uses TERM then KILL; INT for interactive). */
export type LaunchSignal = 'SIGTERM' | 'SIGKILL' | 'SIGINT';

/** A started process, leader of its own process group. */
export interface LaunchedProcess {
  /**
   * Process id, also the process group id and session id (the child runs in its own session). 0 when the program
   * could not be started (`exit` then carries `startError`).
   */
  readonly pid: number;
  /** Sends a signal to the whole process group. Idempotent after exit (does nothing once `exit` has settled). */
  signal(signal: LaunchSignal): void;
  /**
   * Resolves when the main process has exited AND its output is fully delivered AND no process of its group
   * remains (leftovers in the group are SIGKILLed once the main process exits and the output drain ends).
   * Rejects with `CORRAL_E_LAUNCHER_CRASHED` if the launcher dies first.
   */
  readonly exit: Promise<ProcessExit>;
}

/** Per-launch callbacks. */
export interface LaunchOptions {
  /**
   * Receives the merged stdout+stderr bytes of the process, in order, in chunks (no line splitting here). Called
   * synchronously from the launcher's read path: keep it fast and do not throw.
   */
  readonly onOutput: (chunk: Buffer) => void;
}

/** Starts action processes. One launcher serves many concurrent launches. */
export interface Launcher {
  /**
   * Starts a process. Resolves once it runs (or, with `pid` 0 and an `exit` carrying `startError`, once it is known
   * that it could not start). Rejects with `CORRAL_E_INVALID_ARGUMENT` for a request that cannot be expressed (a NUL
   * byte in a string, an environment name containing `=`), with `CORRAL_E_LAUNCHER_UNAVAILABLE` after `close()`, and
   * with `CORRAL_E_LAUNCHER_CRASHED` once the launcher has died.
   */
  launch(request: LaunchRequest, options: LaunchOptions): Promise<LaunchedProcess>;
  /** Stops the launcher; kills the groups of processes still running (their `exit` resolves with SIGKILL). Idempotent. */
  close(): Promise<void>;
  /** Which implementation this is. */
  readonly kind: 'native' | 'node';
}

/** Options of {@link createLauncher}. */
export interface CreateLauncherOptions {
  /** Run actions as this OS user (via `sudo -n -u <user> <launcher>`); default: the current user. */
  readonly user?: string;
  /** 'auto' (default): native if its binary is present, else node. */
  readonly prefer?: 'auto' | 'native' | 'node';
  /**
   * How long to keep reading output after the main process exited, waiting for EOF, before the group is killed
   * (descendants that inherited the output may hold it open). Default {@link DEFAULT_DRAIN_GRACE_MS}.
   */
  readonly drainGraceMs?: number;
}

/** Default drain grace: long enough for a well-behaved descendant to finish writing, short enough not to stall. */
export const DEFAULT_DRAIN_GRACE_MS = 2000;
