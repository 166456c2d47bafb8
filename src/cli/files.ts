/**
 * @module Reading the files and values users pass on the command line.
 */
import { readFileSync, statSync } from 'node:fs';
import { CorralError } from '../model/errors.js';

export const CliErrorCode = {
  /** A file named on the command line cannot be read. */
  FileUnreadable: 'CORRAL_E_FILE_UNREADABLE',
  /** A command-line value is malformed. */
  BadArgument: 'CORRAL_E_BAD_ARGUMENT',
} as const;

/** Largest template or values file Corral reads. */
export const MAX_INPUT_FILE_BYTES = 64 * 1024 * 1024;

/**
 * Reads a UTF-8 text file given by the user.
 * @throws {CorralError} `CORRAL_E_FILE_UNREADABLE` when it is missing, a directory, too large or unreadable.
 */
export function readUserFile(path: string, what = 'file'): string {
  let size: number;
  try {
    const stat = statSync(path);
    if (stat.isDirectory()) throw new CorralError(CliErrorCode.FileUnreadable, `The ${what} '${path}' is a directory.`);
    size = stat.size;
  } catch (error) {
    if (error instanceof CorralError) throw error;
    throw new CorralError(
      CliErrorCode.FileUnreadable,
      `Cannot read the ${what} '${path}': ${describeFsError(error)}.`,
      {
        cause: error,
      },
    );
  }
  if (size > MAX_INPUT_FILE_BYTES) {
    throw new CorralError(
      CliErrorCode.FileUnreadable,
      `The ${what} '${path}' is ${size} bytes; Corral reads at most ${MAX_INPUT_FILE_BYTES} bytes.`,
    );
  }
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new CorralError(
      CliErrorCode.FileUnreadable,
      `Cannot read the ${what} '${path}': ${describeFsError(error)}.`,
      {
        cause: error,
      },
    );
  }
}

function describeFsError(error: unknown): string {
  const code = (error as { code?: string }).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES') return 'permission denied';
  return (error as Error).message ?? String(error);
}

/** The document format implied by a file name. */
export function formatOf(path: string): 'json' | 'yaml' | undefined {
  if (/\.json$/i.test(path)) return 'json';
  if (/\.ya?ml$/i.test(path)) return 'yaml';
  return undefined;
}
