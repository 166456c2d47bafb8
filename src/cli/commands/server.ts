/**
 * @module `corral server`: runs the farm server as a daemon (see src/farm/server/daemon.ts).
 */
import type { FlagValue } from '../../farm/daemon/config.js';
import { corralVersion } from '../main.js';

export interface ServerCommandOptions {
  readonly config?: string | undefined;
  /** The daemon's flags by configuration key (`dataDir`, `db`, `listen`, `pidFile`, `logFile`, `logLevel`). */
  readonly flags: Readonly<Record<string, FlagValue>>;
}

export async function runServerCommand(options: ServerCommandOptions): Promise<number> {
  const { runServer } = await import('../../farm/server/daemon.js');
  return runServer({
    ...(options.config !== undefined ? { configFile: options.config } : {}),
    flags: options.flags,
    env: process.env,
    version: corralVersion(),
  });
}
