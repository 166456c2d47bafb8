/**
 * @module `corral worker` as a daemon: configuration (file < `CORRAL_*` < flags), a pidfile held with a lock in the
 * data directory (a second agent on the same directory is refused, exit 75), a log, and the signals: the first
 * SIGTERM/SIGINT drains (no new work, running tasks get `drainGrace`, everything is reported, then it signs off and
 * exits 0), a second one hurries (actions are killed now, environment exits are cut short, cleanup still runs),
 * SIGHUP reloads the configuration (capabilities, log level, limits) without interrupting work, SIGUSR2 reopens
 * the log file.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CorralError } from '../../model/errors.js';
import { type FlagValue, type LoadedConfig, loadConfig, reloadConfig } from '../daemon/config.js';
import { ConfigError, DaemonErrorCode } from '../daemon/errors.js';
import { createLogger, type LogLevel } from '../daemon/logger.js';
import { acquirePidfile, type Pidfile } from '../daemon/pidfile.js';
import { createShutdown } from '../daemon/shutdown.js';
import { DaemonExitCode, installSignalHandlers, type SignalTarget } from '../daemon/signals.js';
import { ensureDataDir } from '../data-dir.js';
import { type AgentExit, WorkerAgent } from './agent.js';
import {
  agentSettings,
  normaliseServerUrl,
  WORKER_CONFIG_SCHEMA,
  type WorkerConfig,
  type WorkerConfigSchema,
} from './config.js';
import { clientConnection, type FarmConnection } from './connection.js';
import { WorkerErrorCode } from './errors.js';

export interface RunWorkerDaemonOptions {
  /** The configuration file (`--config`). */
  readonly configFile?: string;
  /** Parsed flags by camelCase key (`server`, `token`, `name`, `dataDir`, `pidFile`, `logFile`, `logLevel`, …). */
  readonly flags: Readonly<Record<string, FlagValue>>;
  readonly env: NodeJS.ProcessEnv;
  /** Messages for the operator (configuration errors, where it works). Default: standard error. */
  readonly print?: (line: string) => void;
  /** Called once the worker is registered (or resumed its identity). */
  readonly onReady?: (info: { readonly workerId: number; readonly dataDir: string }) => void;
  /** The server connection (tests). Default: the HTTP client. */
  readonly connection?: FarmConnection;
  /** Where signals come from (tests). Default: `process`. */
  readonly signals?: SignalTarget;
}

/**
 * Runs the worker until it is told to stop.
 * @returns the exit code: 0 after a clean stop, 75 when another agent holds the data directory, 78 for a bad
 *   configuration or a token the server refuses, 1 when it cannot start or fails.
 */
export async function runWorkerDaemon(options: RunWorkerDaemonOptions): Promise<number> {
  const print = options.print ?? ((line: string) => process.stderr.write(`${line}\n`));
  const loadOptions = {
    schema: WORKER_CONFIG_SCHEMA,
    ...(options.configFile !== undefined ? { file: options.configFile } : {}),
    env: options.env,
    flags: options.flags,
    ignoreEnv: ['CORRAL_CONFIG', 'CORRAL_EXIT_WITH_STDIN'],
  };
  let loaded: LoadedConfig<WorkerConfigSchema>;
  try {
    loaded = loadConfig(loadOptions);
  } catch (error) {
    if (error instanceof ConfigError) {
      print(`corral worker: ${error.message}`);
      return DaemonExitCode.Config;
    }
    throw error;
  }
  const config = loaded.config;
  const serverUrl = normaliseServerUrl(config.server);
  let token: string | undefined;
  let settings: ReturnType<typeof agentSettings>;
  try {
    token = config.token ?? (config.tokenFile !== undefined ? readToken(config.tokenFile) : undefined);
    settings = agentSettings(config, serverUrl);
  } catch (error) {
    print(`corral worker: ${(error as Error).message}`);
    return DaemonExitCode.Config;
  }

  const dataDir = resolve(config.dataDir);
  const shutdown = createShutdown();
  let pidfile: Pidfile;
  try {
    ensureDataDir(dataDir);
    pidfile = acquirePidfile({ path: config.pidFile ?? join(dataDir, 'worker.pid') });
  } catch (error) {
    const running = error instanceof CorralError && error.code === DaemonErrorCode.AlreadyRunning;
    print(
      `corral worker: ${(error as Error).message}${running ? ` Another worker agent uses the data directory ${dataDir}; give each agent its own --data-dir.` : ''}`,
    );
    return running ? DaemonExitCode.AlreadyRunning : DaemonExitCode.Failure;
  }
  shutdown.add('pidfile', () => pidfile.release());

  let log: ReturnType<typeof createLogger>;
  try {
    log = createLogger({
      name: 'corral-worker',
      level: config.logLevel as LogLevel,
      ...(config.logFile !== undefined ? { file: config.logFile } : {}),
      bindings: { worker: settings.name },
    });
  } catch (error) {
    print(`corral worker: ${(error as Error).message}`);
    await shutdown.run('start failed').catch(() => {});
    return DaemonExitCode.Failure;
  }
  shutdown.add('log', () => log.close());
  for (const warning of loaded.warnings) log.logger.warn(warning);

  let agent: WorkerAgent;
  try {
    agent = WorkerAgent.open({
      connection: options.connection ?? clientConnection({ url: serverUrl, token }),
      dataDir,
      settings,
      logger: log.child('agent'),
      outbox: { maxBytes: config.outbox.maxBytes, fsyncMs: config.outbox.fsyncInterval },
      onRegistered: ({ workerId, resumed }) => {
        print(
          `Corral worker '${settings.name}' (id ${workerId}${resumed ? '' : ', newly registered'}) working for ${serverUrl}`,
        );
        options.onReady?.({ workerId, dataDir });
      },
    });
  } catch (error) {
    print(`corral worker: ${(error as Error).message}`);
    log.logger.fatal({ err: error }, 'cannot start');
    await shutdown.run('start failed').catch(() => {});
    return DaemonExitCode.Failure;
  }
  shutdown.add('agent', () => agent.close());

  const reload = () => {
    const result = reloadConfig({ ...loadOptions, current: loaded });
    if (!result.ok) {
      log.logger.error({ problems: result.error.problems }, 'reload refused: the configuration is invalid');
      return;
    }
    let next: ReturnType<typeof agentSettings>;
    try {
      next = agentSettings(result.loaded.config as WorkerConfig, serverUrl);
    } catch (error) {
      log.logger.error({ err: error }, 'reload refused');
      return;
    }
    loaded = result.loaded;
    log.setLevel(loaded.config.logLevel as LogLevel);
    agent.configure(next);
    log.logger.info({ changed: result.changed, restartRequired: result.restartRequired }, 'configuration reloaded');
  };
  const uninstall = installSignalHandlers({
    onShutdown: (signal, count) => {
      if (count === 1) {
        log.logger.info({ signal }, 'stopping: finishing the running work (a second signal hurries)');
        agent.stop();
      } else if (count === 2) {
        log.logger.warn({ signal }, 'hurrying: canceling now; environment exits and cleanup still run');
        agent.expedite();
      } else {
        log.logger.warn({ signal }, 'already hurrying; cleanup continues (SIGKILL would stop it now)');
      }
    },
    onReload: reload,
    onReopenLogs: () => log.reopen(),
    onError: (error) => log.logger.error({ err: error }, 'signal handler failed'),
    ...(options.signals ? { target: options.signals } : {}),
  });
  shutdown.add('signals', () => uninstall());
  if (options.env.CORRAL_EXIT_WITH_STDIN === '1') {
    // Supervised by `corral up` through a pipe: should the supervisor die, stop as if told to.
    const stop = () => agent.stop();
    process.stdin.on('end', stop);
    process.stdin.on('error', stop);
    process.stdin.resume();
    shutdown.add('stdin', () => {
      process.stdin.off('end', stop);
      process.stdin.off('error', stop);
      process.stdin.pause();
    });
  }

  let code: number = DaemonExitCode.Ok;
  let exit: AgentExit | undefined;
  try {
    exit = await agent.run();
    log.logger.info({ reason: exit.reason, undelivered: exit.undelivered }, 'stopped');
  } catch (error) {
    const refused = error instanceof CorralError && error.code === WorkerErrorCode.RegistrationRefused;
    print(`corral worker: ${(error as Error).message}`);
    log.logger.fatal({ err: error }, refused ? 'registration refused' : 'the worker failed');
    code = refused ? DaemonExitCode.Config : DaemonExitCode.Failure;
  }
  try {
    await shutdown.run(exit ? exit.reason : 'failed');
  } catch (error) {
    print(`corral worker: stopping failed: ${(error as Error).message}`);
    code = DaemonExitCode.Failure;
  }
  return code;
}

function readToken(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (error) {
    throw new CorralError(
      DaemonErrorCode.ConfigInvalid,
      `Cannot read the token file ${file}: ${(error as Error).message}`,
      { cause: error },
    );
  }
}
