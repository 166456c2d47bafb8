/**
 * @module The `corral` command line: parses arguments and hands each command to its own module, loaded on demand
 * so that a command pays only for what it uses.
 *
 * `check`, `summary`, `run` and `schema` accept the flags of the reference `openjd` CLI, so scripts written for it
 * work unchanged (including its spellings `-tp`, `--environment` and `--parameter`).
 */
import { readFileSync } from 'node:fs';

/** Exit statuses: 0 success, 1 the command's work failed (invalid template, failed task), 2 bad usage. */
export const ExitCode = { Ok: 0, Failed: 1, Usage: 2, Interrupted: 130 } as const;

const ALIASES: Record<string, string> = {
  '-tp': '--task-param',
  '--environment': '--env',
  '--parameter': '--job-param',
};

/** Rewrites the reference CLI's spellings that commander cannot declare directly. */
function normaliseArgs(args: readonly string[]): string[] {
  return args.map((arg) => {
    const eq = arg.indexOf('=');
    const flag = eq === -1 ? arg : arg.slice(0, eq);
    const alias = ALIASES[flag];
    return alias ? alias + (eq === -1 ? '' : arg.slice(eq)) : arg;
  });
}

export function corralVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/**
 * Runs the CLI with `args` (without the node and script paths) and resolves to the exit status.
 * Only this module and `bin/corral.js` touch `process.argv`.
 */
export async function main(args: readonly string[]): Promise<number> {
  // Answer the cheapest question without loading anything else.
  if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
    process.stdout.write(`${corralVersion()}\n`);
    return ExitCode.Ok;
  }
  const { buildProgram } = await import('./program.js');
  let code: number = ExitCode.Ok;
  const program = buildProgram({
    setExitCode: (value) => {
      code = value;
    },
  });
  try {
    await program.parseAsync(normaliseArgs(args), { from: 'user' });
  } catch (error) {
    const commanderError = error as { code?: string; exitCode?: number };
    if (typeof commanderError.code === 'string' && commanderError.code.startsWith('commander.')) {
      const quiet = ['commander.helpDisplayed', 'commander.version', 'commander.help'];
      return quiet.includes(commanderError.code) ? ExitCode.Ok : ExitCode.Usage;
    }
    throw error;
  }
  return code;
}
