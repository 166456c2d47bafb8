/**
 * @module Signal wiring for the daemon entry points (`corral server`, `corral worker`), and their exit codes.
 *
 * Only a daemon's entry point calls {@link installSignalHandlers}: libraries never own process signals (a library
 * that did, graphile-worker, blocked its hosts' own ordered shutdown). This module only turns signals into calls of
 * the entry point's callbacks; what a shutdown or a reload does is up to the daemon.
 *
 * | Signal | Meaning |
 * |---|---|
 * | `SIGTERM`, `SIGINT` | The first starts a graceful shutdown; each further one asks to expedite it (the daemon usually exits at once with {@link exitCodeForSignal}). Both signals share one count. |
 * | `SIGHUP` | Reload: re-read the configuration (and reopen the log file). |
 * | `SIGUSR2` | Reopen the log file (logrotate's `postrotate`), when `onReopenLogs` is given. |
 *
 * `SIGUSR1` is left alone (Node starts its inspector on it) and so is `SIGPIPE` (Node ignores it; a write to a
 * closed socket surfaces as an `EPIPE` error where it happens).
 */
import { constants } from 'node:os';

/**
 * The exit codes of `corral server` and `corral worker`. 70, 75 and 78 follow BSD `sysexits.h`; a forced exit
 * after a second signal uses the shell's 128 + signal number.
 */
export const DaemonExitCode = {
  /** Stopped cleanly: a graceful shutdown finished. */
  Ok: 0,
  /** A fatal error while running, or some shutdown step failed. */
  Failure: 1,
  /** The command line is malformed. */
  Usage: 2,
  /** An unexpected internal error (a bug). */
  Software: 70,
  /** Another daemon holds the pidfile (`CORRAL_E_ALREADY_RUNNING`): trying again later may work. */
  AlreadyRunning: 75,
  /** The configuration is invalid (`CORRAL_E_CONFIG_INVALID`). */
  Config: 78,
  /** A second SIGINT forced the exit (128 + 2). */
  ForcedByInterrupt: 130,
  /** A second SIGTERM forced the exit (128 + 15). */
  ForcedByTerminate: 143,
} as const;
export type DaemonExitCode = (typeof DaemonExitCode)[keyof typeof DaemonExitCode];

/** The signals that stop a daemon. */
export type ShutdownSignal = 'SIGTERM' | 'SIGINT';

/** Where signals come from: `process`, or a stand-in in tests. */
export interface SignalTarget {
  on(signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
  off(signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
}

export interface InstallSignalHandlersOptions {
  /**
   * SIGTERM or SIGINT arrived; `count` is 1 for the first and grows with each further one (of either signal).
   * The first should start a graceful shutdown, later ones expedite it. Should return quickly: start work, do not
   * await it here.
   */
  readonly onShutdown: (signal: ShutdownSignal, count: number) => void | Promise<void>;
  /** SIGHUP arrived: reload the configuration. */
  readonly onReload: () => void | Promise<void>;
  /** SIGUSR2 arrived: reopen the log file. Default: SIGUSR2 is not handled (it keeps its default action). */
  readonly onReopenLogs?: () => void | Promise<void>;
  /**
   * A callback threw or its promise rejected. Default: the error is rethrown outside the signal handler, so it
   * reaches `uncaughtException` rather than vanishing.
   */
  readonly onError?: (error: unknown, signal: NodeJS.Signals) => void;
  /** Where to listen. Default: `process`. */
  readonly target?: SignalTarget;
}

/**
 * Routes SIGTERM/SIGINT, SIGHUP and (optionally) SIGUSR2 to the callbacks. While installed, these signals no longer
 * kill the process: the callbacks decide.
 * @returns a function that removes the handlers (idempotent), restoring the signals' default actions.
 * @example
 * const uninstall = installSignalHandlers({
 *   onShutdown: (signal, count) => (count === 1 ? void shutdown.run(signal) : process.exit(exitCodeForSignal({ signal }))),
 *   onReload: () => reload(),
 *   onReopenLogs: () => log.reopen(),
 * });
 */
export function installSignalHandlers(options: InstallSignalHandlersOptions): () => void {
  const target: SignalTarget = options.target ?? process;
  const report =
    options.onError ??
    ((error: unknown) => {
      queueMicrotask(() => {
        throw error;
      });
    });
  const call = (signal: NodeJS.Signals, callback: () => void | Promise<void>) => {
    try {
      const result = callback();
      if (result instanceof Promise) result.catch((error: unknown) => report(error, signal));
    } catch (error) {
      report(error, signal);
    }
  };

  let count = 0;
  const listeners = new Map<NodeJS.Signals, (signal: NodeJS.Signals) => void>();
  const onStop = (signal: NodeJS.Signals) => {
    count++;
    const n = count;
    call(signal, () => options.onShutdown(signal as ShutdownSignal, n));
  };
  listeners.set('SIGTERM', onStop);
  listeners.set('SIGINT', onStop);
  listeners.set('SIGHUP', (signal) => call(signal, options.onReload));
  const { onReopenLogs } = options;
  if (onReopenLogs !== undefined) listeners.set('SIGUSR2', (signal) => call(signal, onReopenLogs));
  for (const [signal, listener] of listeners) target.on(signal, listener);

  let installed = true;
  return () => {
    if (!installed) return;
    installed = false;
    for (const [signal, listener] of listeners) target.off(signal, listener);
  };
}

export interface ExitCodeForSignalOptions {
  readonly signal: NodeJS.Signals;
}

/**
 * The conventional exit code of a process ended by `signal`: 128 + its number (130 for SIGINT, 143 for SIGTERM).
 * @example exitCodeForSignal({ signal: 'SIGTERM' }) // 143
 */
export function exitCodeForSignal(options: ExitCodeForSignalOptions): number {
  return 128 + (constants.signals[options.signal] ?? 0);
}
