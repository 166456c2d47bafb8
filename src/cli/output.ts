/**
 * @module How commands print results: human-readable text, or the same facts as JSON or YAML for scripts.
 * Machine output always carries `status` (`success` or `error`) and `message`, like the reference `openjd` CLI.
 */
import { writeSync } from 'node:fs';
import jsyaml from 'js-yaml';
import { CorralError, formatIssue, IssuesError } from '../model/errors.js';

/**
 * Writes all of `text` to a file descriptor, synchronously. Commands write their results this way rather than
 * through process.stdout, whose pipe stream is asynchronous and holds the process open after the work is done
 * (~15 ms per run, measured); EAGAIN on a non-blocking pipe is waited out.
 */
export function writeAll(fd: number, text: string): void {
  let buffer = Buffer.from(text, 'utf8');
  while (buffer.length > 0) {
    try {
      buffer = buffer.subarray(writeSync(fd, buffer));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
    }
  }
}

export const stdout = (text: string) => writeAll(1, text);
export const stderr = (text: string) => writeAll(2, text);

export type OutputFormat = 'human-readable' | 'json' | 'yaml';

/** Prints a machine-readable result (JSON or YAML) to stdout. */
export function printStructured(format: 'json' | 'yaml', result: Record<string, unknown>): void {
  const plain = JSON.parse(
    JSON.stringify(result, (_key, value) => (typeof value === 'bigint' ? value.toString() : value)),
  );
  stdout(
    format === 'json' ? `${JSON.stringify(plain, null, 2)}\n` : jsyaml.dump(plain, { lineWidth: 120, noRefs: true }),
  );
}

/** Describes an error for machine output. */
export function errorResult(error: unknown): Record<string, unknown> {
  if (error instanceof IssuesError) {
    return { status: 'error', code: error.code, message: error.message.split('\n')[0], issues: error.issues };
  }
  if (error instanceof CorralError) return { status: 'error', code: error.code, message: error.message };
  return { status: 'error', message: error instanceof Error ? error.message : String(error) };
}

/** Prints an error in the chosen format: stderr for humans, stdout for machines (so it can be parsed). */
export function printError(format: OutputFormat, error: unknown): void {
  if (format !== 'human-readable') {
    printStructured(format, errorResult(error));
    return;
  }
  if (error instanceof IssuesError) {
    const [summary] = error.message.split('\n');
    stderr(`ERROR: ${summary}\n`);
    for (const issue of error.issues) stderr(`  ${formatIssue(issue)}\n`);
    return;
  }
  if (error instanceof CorralError) {
    stderr(`ERROR: ${error.message}\n`);
    return;
  }
  throw error;
}
