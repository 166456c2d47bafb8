/**
 * @module `corral worker`: runs a worker agent as a daemon (see src/farm/worker/daemon.ts).
 */
import type { FlagValue } from '../../farm/daemon/config.js';

export interface WorkerCommandOptions {
  readonly config?: string | undefined;
  /**
   * The daemon's flags by configuration key: `server`, `token`, `name`, `dataDir`, `pidFile`, `logFile`,
   * `logLevel` (and any other key of src/farm/worker/config.ts, dotted for sections: `outbox.maxBytes`).
   * Unset flags are left out so the file and the environment apply.
   */
  readonly flags: Readonly<Record<string, FlagValue>>;
}

/** Runs `corral worker`; resolves to the exit code (0 clean stop, 75 data directory in use, 78 configuration). */
export async function runWorker(options: WorkerCommandOptions): Promise<number> {
  const { runWorkerDaemon } = await import('../../farm/worker/daemon.js');
  return runWorkerDaemon({
    ...(options.config !== undefined ? { configFile: options.config } : {}),
    flags: options.flags,
    env: process.env,
  });
}
