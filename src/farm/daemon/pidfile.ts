/**
 * @module A pidfile guarded by an exclusive `flock`, so that one daemon runs per pidfile.
 *
 * The lock, not the file, is what counts: the kernel drops it when the holder dies however it dies (SIGKILL, OOM),
 * so a pidfile left behind never blocks a new daemon and no one has to guess whether the pid in it is still alive.
 * The pid written in the file is for people and scripts (`kill $(cat corral.pid)`).
 *
 * The file descriptor stays open for the life of the process. Node opens files close-on-exec, so processes the
 * daemon starts (job actions) do not inherit it and cannot keep the lock alive after the daemon is gone.
 */
import { closeSync, fstatSync, ftruncateSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { CorralError } from '../../model/errors.js';
import { DaemonErrorCode } from './errors.js';

/** `flock(2)` from fs-ext, loaded on first use: a native module that only daemons need. */
type FlockSync = (fd: number, flags: 'exnb' | 'un') => void;
let flockSync: FlockSync | undefined;
function flock(fd: number, flags: 'exnb' | 'un'): void {
  flockSync ??= (createRequire(import.meta.url)('fs-ext') as { flockSync: FlockSync }).flockSync;
  flockSync(fd, flags);
}

export interface AcquirePidfileOptions {
  /** The pidfile's path; its directory must exist. */
  readonly path: string;
  /** The pid to write. Default: this process's. */
  readonly processId?: number;
  /** Permissions of a newly created file. Default: `0o644`. */
  readonly mode?: number;
}

/** A held pidfile. */
export interface Pidfile {
  /** The pidfile's path. */
  readonly path: string;
  /** Removes the file and drops the lock. Idempotent; never throws (the lock goes with the process anyway). */
  release(): void;
}

/** How often to retry when the file was replaced between opening and locking it (see below). */
const MAX_ATTEMPTS = 5;

/**
 * Takes the pidfile: creates it if needed, locks it (exclusive, non-blocking) and writes the pid.
 * @returns the held pidfile; call `release()` at shutdown.
 * @throws {CorralError} `CORRAL_E_ALREADY_RUNNING` when another process holds the lock (the message names the pid
 *   in the file); `CORRAL_E_PIDFILE` when the file cannot be created, locked or written.
 * @example
 * const pidfile = acquirePidfile({ path: '/run/corral/server.pid' });
 * shutdown.add('pidfile', () => pidfile.release());
 */
export function acquirePidfile(options: AcquirePidfileOptions): Pidfile {
  const { path } = options;
  const processId = options.processId ?? process.pid;
  const failure = (what: string, error: unknown) =>
    new CorralError(DaemonErrorCode.Pidfile, `Cannot ${what} the pidfile ${path}: ${(error as Error).message}`, {
      cause: error,
    });

  for (let attempt = 1; ; attempt++) {
    let fd: number;
    try {
      // No O_TRUNC: the file may belong to a running daemon until the lock says otherwise.
      fd = openSync(path, 'a+', options.mode ?? 0o644);
    } catch (error) {
      throw failure('open', error);
    }
    try {
      flock(fd, 'exnb');
    } catch (error) {
      closeSync(fd);
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EWOULDBLOCK' || code === 'EAGAIN') {
        const holder = readPid(path);
        throw new CorralError(
          DaemonErrorCode.AlreadyRunning,
          `Another daemon is running: ${holder === undefined ? 'a process' : `process ${holder}`} holds the pidfile ${path}.`,
        );
      }
      throw failure('lock', error);
    }
    // A releasing daemon unlinks the file before dropping its lock. If we opened the old file just before that,
    // we now hold a lock on a file that is no longer at `path`: start again with whatever is there now.
    if (!sameFile(fd, path)) {
      closeSync(fd);
      if (attempt < MAX_ATTEMPTS) continue;
      throw failure('lock', new Error('the file keeps being replaced'));
    }
    try {
      ftruncateSync(fd, 0);
      const text = Buffer.from(`${processId}\n`);
      // 'a+' appends, so after the truncation this writes at the start.
      writeSync(fd, text, 0, text.length);
    } catch (error) {
      closeSync(fd);
      throw failure('write', error);
    }
    return holdPidfile(path, fd);
  }
}

function holdPidfile(path: string, fd: number): Pidfile {
  let held = true;
  return {
    path,
    release() {
      if (!held) return;
      held = false;
      // Unlink while still holding the lock, so the file removed is ours and not a successor's. Failures are
      // ignored on purpose: the lock is dropped when the descriptor closes (or the process exits) regardless,
      // and a leftover file does not block the next daemon.
      try {
        if (sameFile(fd, path)) unlinkSync(path);
      } catch {}
      try {
        flock(fd, 'un');
      } catch {}
      try {
        closeSync(fd);
      } catch {}
    },
  };
}

function sameFile(fd: number, path: string): boolean {
  try {
    const opened = fstatSync(fd);
    const named = statSync(path);
    return opened.ino === named.ino && opened.dev === named.dev;
  } catch {
    return false;
  }
}

/** The pid written in a pidfile, if it holds one. */
function readPid(path: string): number | undefined {
  try {
    const text = readFileSync(path, 'utf8').trim();
    return /^\d+$/.test(text) ? Number(text) : undefined;
  } catch {
    return undefined;
  }
}
