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

/** The parent of a live process (field 4 of /proc/<pid>/stat), or undefined when it is gone. */
function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: read after its closing one.
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

/** Pids of the live descendants of `ancestor` whose command line satisfies `match`. */
export function descendantsMatching(ancestor: number, match: (commandLine: string) => boolean): number[] {
  return processesMatching(match).filter((pid) => {
    for (let p = parentOf(pid), hops = 0; p !== undefined && p > 1 && hops < 64; p = parentOf(p), hops++) {
      if (p === ancestor) return true;
    }
    return false;
  });
}

/** Whether a process is alive (a zombie, dead but not yet reaped, is not). */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}
