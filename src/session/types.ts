/**
 * @module The session runtime's public types: states, action results and the log sink.
 */

/** Where a session is in its life (OpenJD "How Jobs Are Run"). */
export const SessionState = {
  /** Ready to enter an environment or run a task. */
  Ready: 'READY',
  /** An action is running. */
  Running: 'RUNNING',
  /** The running action is being canceled. */
  Canceling: 'CANCELING',
  /** An action failed, timed out or was canceled: only exiting environments and cleaning up remain. */
  ReadyEnding: 'READY_ENDING',
  /** Cleaned up; nothing more can run. */
  Ended: 'ENDED',
} as const;
export type SessionState = (typeof SessionState)[keyof typeof SessionState];

/** How an action is doing, or how it ended. */
export const ActionState = {
  Running: 'RUNNING',
  Success: 'SUCCESS',
  Failed: 'FAILED',
  Canceled: 'CANCELED',
  Timeout: 'TIMEOUT',
} as const;
export type ActionState = (typeof ActionState)[keyof typeof ActionState];

/** What an action is: entering or exiting an environment, or running a task. */
export type ActionKind = 'envEnter' | 'envExit' | 'taskRun';

/** Identifies an action in logs and status reports. */
export interface ActionRef {
  /** Unique within the session: `1`, `2`, … in the order actions start. */
  readonly id: number;
  readonly kind: ActionKind;
  /** The environment's name, or the step's name for tasks. */
  readonly name: string;
}

/** The latest status of an action; the final one is what the action's promise resolves to. */
export interface ActionStatus {
  readonly action: ActionRef;
  readonly state: ActionState;
  /** Last `openjd_progress` (0–100). */
  readonly progress?: number;
  /** Last `openjd_status` message. */
  readonly statusMessage?: string;
  /** Why it failed: the last `openjd_fail` message, a timeout, a start error, or a protocol error. */
  readonly failMessage?: string;
  /** Exit code of the process (negative: killed by that signal number). */
  readonly exitCode?: number;
  /** Seconds the action ran. */
  readonly durationSeconds?: number;
}

/** Where a session's log goes. Called synchronously on the runtime's hot path: keep it fast, never throw. */
export interface LogSink {
  /** Whether `debug` messages are wanted; when false the runtime does not even build them. Default: true. */
  readonly debug?: boolean;
  /** One line an action printed (after redaction). `time` is epoch milliseconds. */
  output(line: string, time: number, action: ActionRef): void;
  /**
   * A message of the runtime itself: banners, commands, exit codes. `level` `debug` carries detail (full command
   * lines) that a terminal shows only in verbose mode.
   */
  info(message: string, time: number, level: 'info' | 'debug' | 'warn' | 'error', action?: ActionRef): void;
}
