/** @module The {@link LaunchedProcess} handed to callers, shared by both launcher kinds. */

import { signalNumber } from './signals.js';
import type { LaunchedProcess, LaunchSignal, ProcessExit } from './types.js';

/** A launched process whose exit is settled by its launcher. */
export class TrackedProcess implements LaunchedProcess {
  readonly pid: number;
  readonly exit: Promise<ProcessExit>;
  private settled = false;
  private resolveExit!: (exit: ProcessExit) => void;
  private rejectExit!: (error: Error) => void;

  /**
   * @param pid process (and group) id; 0 when the program could not be started.
   * @param send delivers a signal (by number) to the group; only called until the exit settles.
   */
  constructor(
    pid: number,
    private readonly send: (signal: number, name: LaunchSignal) => void,
  ) {
    this.pid = pid;
    this.exit = new Promise<ProcessExit>((resolve, reject) => {
      this.resolveExit = resolve;
      this.rejectExit = reject;
    });
    // A caller that has not attached a handler yet when the launcher crashes must not take the process down with
    // an unhandled rejection; awaiting `exit` still throws.
    this.exit.catch(() => {});
  }

  /** Whether `exit` has settled. */
  get done(): boolean {
    return this.settled;
  }

  signal(signal: LaunchSignal): void {
    const number = signalNumber(signal);
    if (this.settled || this.pid <= 0) return;
    this.send(number, signal);
  }

  /** Resolves `exit` (first call wins). */
  settle(exit: ProcessExit): void {
    if (this.settled) return;
    this.settled = true;
    this.resolveExit(exit);
  }

  /** Rejects `exit` (first call wins). */
  fail(error: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.rejectExit(error);
  }
}
