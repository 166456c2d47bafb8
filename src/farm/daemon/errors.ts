/**
 * @module The daemon utilities' error codes (see docs/errors.md, "Daemons") and the configuration error.
 *
 * These are raised while `corral server` or `corral worker` starts, reloads or stops: before a daemon runs, they are
 * reported to the operator and the process exits (see `DaemonExitCode` in `signals.ts`).
 */
import { CorralError } from '../../model/errors.js';

export const DaemonErrorCode = {
  /** The configuration (file, `CORRAL_*` environment variables or flags) is invalid; `problems` lists each one. */
  ConfigInvalid: 'CORRAL_E_CONFIG_INVALID',
  /** A duration (`250ms`, `60s`, `5m`, `1h`, or plain seconds) is malformed. */
  DurationInvalid: 'CORRAL_E_DURATION_INVALID',
  /** Another daemon holds the pidfile's lock; the message names the pid written in the file. */
  AlreadyRunning: 'CORRAL_E_ALREADY_RUNNING',
  /** The pidfile cannot be created, locked or written. */
  Pidfile: 'CORRAL_E_PIDFILE',
  /** The log file cannot be opened or reopened. */
  LogFile: 'CORRAL_E_LOG_FILE',
  /** Something was handed to a shutdown that has already finished. */
  ShuttingDown: 'CORRAL_E_SHUTTING_DOWN',
} as const;
export type DaemonErrorCode = (typeof DaemonErrorCode)[keyof typeof DaemonErrorCode];

/** Where a configuration value came from. */
export type ConfigSource = 'default' | 'file' | 'env' | 'flag';

/** One problem found while loading a configuration. */
export interface ConfigProblem {
  /** The dotted key the problem is about (`logLevel`, `store.poolSize`); empty for the file as a whole. */
  readonly key: string;
  /** The layer that set the value. */
  readonly source: ConfigSource;
  /**
   * Who set it, for an operator: `server.yaml:3:7` for the file (with line:col when known), `CORRAL_LOG_LEVEL` for
   * the environment, `--log-level` for a flag, `defaults` for built-in values.
   */
  readonly origin: string;
  /** What is wrong. */
  readonly message: string;
}

/** A configuration that cannot be used: every problem across file, environment and flags, in that order. */
export class ConfigError extends CorralError {
  /** Every problem found. Never empty. */
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[]) {
    const count = problems.length === 1 ? 'a problem' : `${problems.length} problems`;
    super(
      DaemonErrorCode.ConfigInvalid,
      `The configuration has ${count}:\n${problems.map((p) => `  - ${formatConfigProblem(p)}`).join('\n')}`,
    );
    this.problems = problems;
  }
}

/** Formats one problem as `origin key: message` (`server.yaml:3:7 logLevel: …`, `CORRAL_LISTEN: …`). */
export function formatConfigProblem(problem: ConfigProblem): string {
  // Environment variables and flags name the key themselves; file positions and defaults do not.
  const showKey = problem.key !== '' && (problem.source === 'file' || problem.source === 'default');
  const where = [problem.origin, showKey ? problem.key : ''].filter((part) => part !== '').join(' ');
  return where === '' ? problem.message : `${where}: ${problem.message}`;
}
