/**
 * @module `corral server` as a daemon: configuration (file < `CORRAL_*` < flags), a pidfile held with a lock, a log,
 * the first admin token, and the signals: SIGHUP reloads, SIGUSR2 reopens the log, SIGTERM/SIGINT drain: stop
 * accepting, finish in-flight requests, close the database. A further signal during the drain is logged and
 * ignored: cleanup is never cut short (SIGKILL remains, and loses nothing committed).
 */
import { rmSync } from 'node:fs';
import { CorralError } from '../../model/errors.js';
import { type Config, type FlagValue, type LoadedConfig, loadConfig, reloadConfig } from '../daemon/config.js';
import { ConfigError, DaemonErrorCode } from '../daemon/errors.js';
import { createLogger, type LogLevel } from '../daemon/logger.js';
import { acquirePidfile } from '../daemon/pidfile.js';
import { createShutdown } from '../daemon/shutdown.js';
import { DaemonExitCode, installSignalHandlers } from '../daemon/signals.js';
import { dataFiles, ensureDataDir, parseListen, writePrivateFile } from '../data-dir.js';
import { FarmErrorCode } from '../errors.js';
import { Farm } from '../scheduler/farm.js';
import { SERVER_CONFIG_SCHEMA, type ServerConfigSchema } from './daemon-config.js';
import { assertSafeListen, createFarmServer } from './index.js';

export interface RunServerOptions {
  /** The configuration file (`--config`). */
  readonly configFile?: string;
  /** Parsed flags by camelCase key (`logLevel`, `dataDir`). */
  readonly flags: Readonly<Record<string, FlagValue>>;
  readonly env: NodeJS.ProcessEnv;
  readonly version: string;
  /** Messages for the operator (where it listens, configuration errors). Default: standard error. */
  readonly print?: (line: string) => void;
  /** Called once the server listens. */
  readonly onReady?: (info: { readonly url: string; readonly adminTokenFile?: string }) => void;
}

type ServerConfig = Config<ServerConfigSchema>;

const farmSettings = (config: ServerConfig) => ({
  workerTimeoutMs: config.workerTimeout,
  avoidMs: config.retryAvoid,
  jobRetentionMs: config.jobRetention,
  limits: { maxTasksPerJob: config.limits.tasksPerJob },
});

const serverSettings = (config: ServerConfig) => ({
  auth: config.auth,
  metricsPublic: config.metricsPublic,
  limits: {
    bodyBytes: config.limits.bodyBytes,
    templateBytes: config.limits.templateBytes,
    logBatchLines: config.limits.logBatchLines,
  },
});

/**
 * Runs the server until it is told to stop.
 * @returns the exit code: 0 after a clean stop, 75 when another server holds the data directory, 78 for a bad
 *   configuration, 1 when it cannot start (database, address in use, unsafe listen address).
 */
export async function runServer(options: RunServerOptions): Promise<number> {
  const print = options.print ?? ((line: string) => process.stderr.write(`${line}\n`));
  const loadOptions = {
    schema: SERVER_CONFIG_SCHEMA,
    ...(options.configFile !== undefined ? { file: options.configFile } : {}),
    env: options.env,
    flags: options.flags,
    ignoreEnv: ['CORRAL_TOKEN', 'CORRAL_SERVER', 'CORRAL_CONFIG'],
  };
  let loaded: LoadedConfig<ServerConfigSchema>;
  try {
    loaded = loadConfig(loadOptions);
  } catch (error) {
    if (error instanceof ConfigError) {
      print(`corral server: ${error.message}`);
      return DaemonExitCode.Config;
    }
    throw error;
  }
  const config = loaded.config;
  const listen = parseListen(config.listen);
  if (!listen) {
    print(`corral server: --listen '${config.listen}' is not HOST:PORT.`);
    return DaemonExitCode.Config;
  }

  const files = dataFiles(config.dataDir);
  const shutdown = createShutdown();
  let pidfile: ReturnType<typeof acquirePidfile>;
  try {
    ensureDataDir(config.dataDir);
    pidfile = acquirePidfile({ path: config.pidFile ?? files.serverPid });
  } catch (error) {
    print(`corral server: ${(error as Error).message}`);
    return error instanceof CorralError && error.code === DaemonErrorCode.AlreadyRunning
      ? DaemonExitCode.AlreadyRunning
      : DaemonExitCode.Failure;
  }
  shutdown.add('pidfile', () => pidfile.release());

  const log = createLogger({
    name: 'corral-server',
    level: config.logLevel as LogLevel,
    ...(config.logFile !== undefined ? { file: config.logFile } : {}),
  });
  shutdown.add('log', () => log.close());
  for (const warning of loaded.warnings) log.logger.warn(warning);

  let farm: Farm;
  try {
    farm = await Farm.open({ database: config.db ?? `sqlite://${files.database}`, ...farmSettings(config) });
  } catch (error) {
    print(`corral server: ${(error as Error).message}`);
    log.logger.fatal({ err: error }, 'cannot open the database');
    await shutdown.run('start failed').catch(() => {});
    return DaemonExitCode.Failure;
  }
  shutdown.add('database', () => farm.close());

  let server: ReturnType<typeof createFarmServer>;
  let url: string;
  let adminTokenFile: string | undefined;
  try {
    if (config.auth === 'tokens' && !(await farm.hasTokens())) {
      // The farm's first start: an admin token for its owner, readable only by them; the farm commands find it.
      const { token } = await farm.createToken('admin', 'admin');
      writePrivateFile(files.adminToken, `${token}\n`);
      adminTokenFile = files.adminToken;
      log.logger.info({ file: files.adminToken }, 'created the first admin token');
    }
    assertSafeListen({ host: listen.host, auth: config.auth, hasTokens: await farm.hasTokens() });
    server = createFarmServer({
      farm,
      version: options.version,
      logger: log.child('http'),
      ...serverSettings(config),
    });
    ({ url } = await server.listen(listen));
  } catch (error) {
    const message =
      (error as NodeJS.ErrnoException).code === 'EADDRINUSE'
        ? `${config.listen} is in use by another program (choose another with --listen).`
        : (error as Error).message;
    print(`corral server: ${message}`);
    log.logger.fatal({ err: error }, 'cannot start');
    await shutdown.run('start failed').catch(() => {});
    return error instanceof CorralError && error.code === FarmErrorCode.Insecure
      ? DaemonExitCode.Config
      : DaemonExitCode.Failure;
  }
  shutdown.add('http', () => server.close());
  writePrivateFile(files.serverInfo, `${JSON.stringify({ url, pid: process.pid })}\n`);
  shutdown.add('server.json', () => rmSync(files.serverInfo, { force: true }));
  farm.startSweeper();
  log.logger.info({ url, database: farm.database.location, dialect: farm.database.dialect }, 'listening');
  print(`Corral server listening on ${url} (database: ${farm.database.location})`);
  options.onReady?.({ url, ...(adminTokenFile ? { adminTokenFile } : {}) });

  const reload = () => {
    const result = reloadConfig({ ...loadOptions, current: loaded });
    if (!result.ok) {
      log.logger.error({ problems: result.error.problems }, 'reload refused: the configuration is invalid');
      return;
    }
    loaded = result.loaded;
    const next = loaded.config;
    log.setLevel(next.logLevel as LogLevel);
    farm.configure(farmSettings(next));
    server.configure(serverSettings(next));
    log.logger.info({ changed: result.changed, restartRequired: result.restartRequired }, 'configuration reloaded');
  };

  const stopped = new Promise<number>((resolve) => {
    const uninstall = installSignalHandlers({
      onShutdown: (signal, count) => {
        if (count > 1) {
          log.logger.warn({ signal }, 'already stopping; cleanup continues (SIGKILL would stop it now)');
          return;
        }
        log.logger.info({ signal }, 'stopping: finishing in-flight requests');
        shutdown
          .run(signal)
          .then(
            () => resolve(DaemonExitCode.Ok),
            (error: unknown) => {
              print(`corral server: stopping failed: ${(error as Error).message}`);
              resolve(DaemonExitCode.Failure);
            },
          )
          .finally(uninstall);
      },
      onReload: reload,
      onReopenLogs: () => log.reopen(),
      onError: (error) => log.logger.error({ err: error }, 'signal handler failed'),
    });
  });
  if (options.env.CORRAL_EXIT_WITH_STDIN === '1') {
    // Supervised by `corral up` through a pipe: should the supervisor die, stop as if told to.
    process.stdin.on('end', () => process.kill(process.pid, 'SIGTERM'));
    process.stdin.on('error', () => process.kill(process.pid, 'SIGTERM'));
    process.stdin.resume();
  }
  return stopped;
}
