/**
 * @module Finding live processes by their command line (/proc), for tests that prove nothing was left behind.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Pids of the processes whose command line (arguments joined by NUL) satisfies `match`. */
export function processesMatching(match: (commandLine: string) => boolean): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (match(readFileSync(`/proc/${entry}/cmdline`, 'utf8'))) pids.push(Number(entry));
    } catch {
      // It ended while we looked.
    }
  }
  return pids;
}
