/**
 * @module Process-group inspection through /proc, for the Node fallback (which cannot reap orphans the way the
 * native launcher does) and for crash clean-up.
 */

import { readdirSync, readFileSync } from 'node:fs';

/** One process as /proc/<pid>/stat describes it. */
export interface ProcStat {
  readonly pid: number;
  readonly state: string;
  readonly ppid: number;
  readonly pgid: number;
}

/** Parses /proc/<pid>/stat; the command name (field 2) may contain spaces and parentheses, so fields are counted
 * from the last `)`. Returns undefined when the process is gone. */
export function readProcStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  const close = text.lastIndexOf(')');
  const fields = text.slice(close + 2).split(' ');
  return { pid, state: fields[0] ?? '?', ppid: Number(fields[1]), pgid: Number(fields[2]) };
}

/** Processes whose process group is `pgid` (field 5 of /proc/<pid>/stat). Zombies are included unless asked not. */
export function groupMembers(pgid: number, options: { includeZombies?: boolean } = {}): ProcStat[] {
  const members: ProcStat[] = [];
  for (const entry of readdirSync('/proc')) {
    const code = entry.charCodeAt(0);
    if (code < 48 || code > 57) continue;
    const stat = readProcStat(Number(entry));
    if (stat === undefined || stat.pgid !== pgid) continue;
    if (!options.includeZombies && (stat.state === 'Z' || stat.state === 'X')) continue;
    members.push(stat);
  }
  return members;
}

/**
 * Whether any live process is in group `pgid`. The cheap probe first (kill 0: ESRCH means nothing at all, not even
 * a zombie), then /proc, ignoring zombies: an orphan re-parented to init stays a zombie until init reaps it, which
 * some inits do late (about a second on the reference VM) or never, and a zombie holds nothing beyond its pid.
 */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    // EPERM: members exist but belong to another user.
  }
  return groupMembers(pgid).length > 0;
}
