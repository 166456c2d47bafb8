/**
 * @module Embedded files: written before every run of an action of the script that owns them, into that script's
 * own folder of the session. Paths are fixed first (format strings may name other files of the same script),
 * then each file's data is resolved and written: read/write for the owner only, executable when `runnable`, line
 * endings as `endOfLine` asks.
 */
import { chown, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { EmbeddedFile } from '../model/types.js';
import { type WorkingDirectory, writeSessionFile } from './working-directory.js';

/** Paths each file of a script will have (by embedded-file name), before anything is written. */
export function embeddedFilePaths(files: readonly EmbeddedFile[], directory: string): Map<string, string> {
  const paths = new Map<string, string>();
  for (const file of files) paths.set(file.name, join(directory, file.filename ?? file.name));
  return paths;
}

/** Converts line endings as `endOfLine` asks (`AUTO`: the host's own). */
export function applyEndOfLine(
  data: string,
  endOfLine: EmbeddedFile['endOfLine'],
  platform = process.platform,
): string {
  const wanted = endOfLine === 'CRLF' || ((endOfLine ?? 'AUTO') === 'AUTO' && platform === 'win32') ? 'CRLF' : 'LF';
  const lf = data.replace(/\r\n/g, '\n');
  return wanted === 'CRLF' ? lf.replace(/\n/g, '\r\n') : lf;
}

/**
 * Writes a script's embedded files.
 * @param resolve Resolves a file's `data` format string.
 */
export async function writeEmbeddedFiles(options: {
  files: readonly EmbeddedFile[];
  paths: ReadonlyMap<string, string>;
  directory: string;
  workingDirectory: WorkingDirectory;
  resolve: (data: string) => string;
}): Promise<void> {
  const { files, paths, workingDirectory } = options;
  if (files.length === 0) return;
  await mkdir(options.directory, { recursive: true, mode: workingDirectory.gid === undefined ? 0o700 : 0o750 });
  if (workingDirectory.gid !== undefined) await chown(options.directory, process.getuid?.() ?? 0, workingDirectory.gid);
  for (const file of files) {
    const data = applyEndOfLine(options.resolve(file.data), file.endOfLine);
    await writeSessionFile(workingDirectory, paths.get(file.name)!, data, file.runnable ? 0o700 : 0o600);
  }
}
