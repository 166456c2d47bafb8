/** @module Signal names and numbers, and turning a raw exit status into a {@link ProcessExit}. */

import { constants } from 'node:os';
import { CorralError, ModelErrorCode } from '../../model/errors.js';
import type { LaunchSignal, ProcessExit } from './types.js';

const ALLOWED: ReadonlySet<string> = new Set<LaunchSignal>(['SIGTERM', 'SIGKILL', 'SIGINT']);

const NAMES = new Map<number, string>();
for (const [name, number] of Object.entries(constants.signals)) {
  // Several names share a number (SIGIOT/SIGABRT, SIGPOLL/SIGIO); keep the first, which is the common one.
  if (!NAMES.has(number)) NAMES.set(number, name);
}

/** The signal's number on this machine; throws `CORRAL_E_INVALID_ARGUMENT` for a signal launchers do not send. */
export function signalNumber(signal: LaunchSignal): number {
  if (!ALLOWED.has(signal)) {
    throw new CorralError(
      ModelErrorCode.InvalidArgument,
      `cannot send ${String(signal)}: use SIGTERM, SIGKILL or SIGINT`,
    );
  }
  return constants.signals[signal];
}

/** `'SIGKILL'` for 9, and so on; `SIG<n>` for numbers Node has no name for (real-time signals). */
export function signalName(signal: number): string {
  return NAMES.get(signal) ?? `SIG${signal}`;
}

/** An exit by code or by signal number. */
export function exitOf(exitCode: number | null, signal: number | string | null): ProcessExit {
  if (signal !== null && signal !== 0) {
    return { exitCode: null, signal: typeof signal === 'number' ? signalName(signal) : signal };
  }
  return { exitCode: exitCode ?? 0, signal: null };
}
