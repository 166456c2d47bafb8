/**
 * @module A session's working directory: created private to the session (0700; 0770 with the job user's group when
 * actions run as another user), holding the path-mapping rules, `cancel_info.json` and the embedded files, and
 * removed at the end unless kept.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, chown, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CorralError } from '../model/errors.js';
import { SessionErrorCode } from './errors.js';

const run = promisify(execFile);

/** Where sessions' directories are made when the caller does not say. */
export function defaultSessionRoot(): string {
  return join(tmpdir(), 'corral-sessions');
}

/** The primary group id of an OS user (to share the working directory with the job user). */
export async function primaryGroupOf(user: string): Promise<number> {
  try {
    const { stdout } = await run('id', ['-g', user]);
    const gid = Number(stdout.trim());
    if (!Number.isInteger(gid)) throw new Error(`unexpected output '${stdout.trim()}'`);
    return gid;
  } catch (error) {
    throw new CorralError(
      SessionErrorCode.WorkingDirectory,
      `Cannot find the OS user '${user}': ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
}

export interface WorkingDirectory {
  readonly path: string;
  /** Embedded files live here, in one sub-folder per script; only the session's owner may write it. */
  readonly filesPath: string;
  /** Group the job user's processes share, when they run as another user. */
  readonly gid?: number;
}

/**
 * Creates a session's working directory.
 * @throws {CorralError} `CORRAL_E_WORKING_DIRECTORY` when it cannot be made.
 */
export async function createWorkingDirectory(options: {
  root?: string;
  sessionId: string;
  gid?: number;
}): Promise<WorkingDirectory> {
  const root = options.root ?? defaultSessionRoot();
  const name = `${options.sessionId.replace(/[^A-Za-z0-9_.-]+/g, '_').slice(0, 80)}-${randomBytes(6).toString('hex')}`;
  const path = join(root, name);
  const filesPath = join(path, '.corral-files');
  try {
    // Other users may need to pass through the root to reach their own session directory, never to list it.
    await mkdir(root, { recursive: true, mode: 0o711 });
    await mkdir(path, { mode: 0o700 });
    await mkdir(filesPath, { mode: 0o700 });
    if (options.gid !== undefined) {
      await chown(path, process.getuid?.() ?? 0, options.gid);
      await chmod(path, 0o770);
      // The job user reads embedded files but cannot replace them (no symlink tricks into the agent's writes).
      await chown(filesPath, process.getuid?.() ?? 0, options.gid);
      await chmod(filesPath, 0o750);
    }
  } catch (error) {
    throw new CorralError(
      SessionErrorCode.WorkingDirectory,
      `Cannot create the session's working directory in '${root}': ${(error as Error).message}`,
      { cause: error },
    );
  }
  return options.gid === undefined ? { path, filesPath } : { path, filesPath, gid: options.gid };
}

/**
 * Writes a file the job's actions read, private to the session. Shared with a job user's group it becomes readable
 * (and executable) by that group, never writable: a job cannot change what the runtime wrote.
 */
export async function writeSessionFile(
  directory: WorkingDirectory,
  path: string,
  data: string,
  mode = 0o600,
): Promise<void> {
  const shared = directory.gid === undefined ? mode : mode | ((mode & 0o500) >> 3);
  await writeFile(path, data, { mode: shared });
  await chmod(path, shared);
  if (directory.gid !== undefined) await chown(path, process.getuid?.() ?? 0, directory.gid);
}

/**
 * Removes a working directory. Files the job user made that the agent may not delete are removed as that user
 * first.
 * @throws {CorralError} `CORRAL_E_WORKING_DIRECTORY` when something stays behind.
 */
export async function removeWorkingDirectory(directory: WorkingDirectory, user?: string): Promise<void> {
  try {
    await rm(directory.path, { recursive: true, force: true });
    return;
  } catch (error) {
    if (user === undefined) {
      throw new CorralError(
        SessionErrorCode.WorkingDirectory,
        `Cannot remove '${directory.path}': ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
  }
  try {
    await run('sudo', ['-n', '-u', user, 'find', directory.path, '-mindepth', '1', '-user', user, '-delete']);
    await rm(directory.path, { recursive: true, force: true });
  } catch (error) {
    throw new CorralError(
      SessionErrorCode.WorkingDirectory,
      `Cannot remove '${directory.path}': ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
}
