/**
 * @module How commands print results: human-readable text, or the same facts as JSON or YAML for scripts.
 * Machine output always carries `status` (`success` or `error`) and `message`, like the reference `openjd` CLI.
 */
import jsyaml from 'js-yaml';
import { CorralError, formatIssue, IssuesError } from '../model/errors.js';

export type OutputFormat = 'human-readable' | 'json' | 'yaml';

/** Prints a machine-readable result (JSON or YAML) to stdout. */
export function printStructured(format: 'json' | 'yaml', result: Record<string, unknown>): void {
  const plain = JSON.parse(
    JSON.stringify(result, (_key, value) => (typeof value === 'bigint' ? value.toString() : value)),
  );
  process.stdout.write(
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
    process.stderr.write(`ERROR: ${summary}\n`);
    for (const issue of error.issues) process.stderr.write(`  ${formatIssue(issue)}\n`);
    return;
  }
  if (error instanceof CorralError) {
    process.stderr.write(`ERROR: ${error.message}\n`);
    return;
  }
  throw error;
}
