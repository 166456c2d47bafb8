/**
 * @module The `corral` command line: parses arguments and hands each command to its own module, loaded on demand
 * so that a command pays only for what it uses.
 *
 * `check`, `summary`, `run` and `schema` accept the flags of the reference `openjd` CLI, so scripts written for it
 * work unchanged (including its spellings `-tp`, `--environment` and `--parameter`).
 */
import { readFileSync, writeSync } from 'node:fs';
import { HelpRequest, parseCommandLine, UsageError } from './args.js';
import { dispatch, PROGRAM } from './program.js';

/** Exit statuses: 0 success, 1 the command's work failed (invalid template, failed task), 2 bad usage, 130 interrupted. */
export const ExitCode = { Ok: 0, Failed: 1, Usage: 2, Interrupted: 130 } as const;

export function corralVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

const PRELOAD: Record<string, () => Promise<unknown>> = {
  check: () => import('./commands/check.js'),
  summary: () => import('./commands/summary.js'),
  run: () => import('./commands/run.js'),
  schema: () => import('./commands/schema.js'),
};

/**
 * Runs the CLI with `args` (without the node and script paths) and resolves to the exit status.
 * Only this module and `bin/corral.js` touch `process.argv`.
 */
export async function main(args: readonly string[]): Promise<number> {
  if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
    writeSync(1, `${corralVersion()}\n`);
    return ExitCode.Ok;
  }
  // Start loading the command's module while the arguments are checked: the read and compile overlap.
  PRELOAD[args[0] ?? '']?.().catch(() => {});
  let parsed: ReturnType<typeof parseCommandLine>;
  try {
    parsed = parseCommandLine(PROGRAM, args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    writeSync(
      2,
      `error: ${error.message}\n(run 'corral ${args[0] && PRELOAD[args[0]] ? `${args[0]} ` : ''}--help' for usage)\n`,
    );
    return ExitCode.Usage;
  }
  if (parsed instanceof HelpRequest) {
    writeSync(1, parsed.text);
    return ExitCode.Ok;
  }
  return dispatch(parsed);
}
