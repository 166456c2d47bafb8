/**
 * @module The configuration of `corral worker`: every key, its default, and whether a reload (SIGHUP) can change it.
 * Written in a YAML file (`--config`), as `CORRAL_*` variables, or as flags; see src/farm/daemon/config.ts.
 */
import { hostname } from 'node:os';
import type { Config, ConfigSchema } from '../daemon/config.js';
import { LOG_LEVELS } from '../daemon/logger.js';
import type { AgentSettings } from './agent.js';
import { detectCapabilities } from './capabilities.js';

const MIB = 1024 * 1024;

export const WORKER_CONFIG_SCHEMA = {
  server: {
    type: 'string',
    description: 'the farm server URL',
    default: 'http://127.0.0.1:8470',
    reloadable: false,
  },
  token: {
    type: 'string',
    description: 'an agent (or admin) token to register with; only needed until the worker has its own',
    secret: true,
    reloadable: false,
  },
  tokenFile: {
    type: 'string',
    description: 'a file holding the agent token (instead of token)',
    reloadable: false,
  },
  name: { type: 'string', description: "the worker's name on the farm (default: the host's name)", reloadable: false },
  dataDir: {
    type: 'string',
    description: "the worker's own directory: identity, outbox of undelivered reports, pidfile",
    default: '.corral/worker',
    reloadable: false,
  },
  pidFile: { type: 'string', description: 'pidfile (default: worker.pid in the data directory)', reloadable: false },
  logFile: { type: 'string', description: 'log file (default: standard error)', reloadable: false },
  logLevel: { type: 'string', description: 'log level', values: LOG_LEVELS, default: 'info' },
  maxConcurrentTasks: {
    type: 'number',
    description: 'sessions run side by side (each runs one task at a time)',
    default: 1,
    integer: true,
    min: 1,
    max: 256,
  },
  sessionIdleTimeout: {
    type: 'duration',
    description: 'an open session without work ends (its environments are exited) after this long',
    default: '30s',
  },
  drainGrace: {
    type: 'duration',
    description: 'when stopping, how long running tasks may take before they are canceled',
    default: '5m',
  },
  expediteExitTimeout: {
    type: 'duration',
    description: 'after a second stop signal, how long each environment exit may take',
    default: '10s',
  },
  pollWait: {
    type: 'duration',
    description: 'how long an idle sync waits at the server for work (long-poll)',
    default: '20s',
    max: 30_000,
  },
  syncInterval: {
    type: 'duration',
    description: 'how soon a busy worker delivers new logs and progress',
    default: '500ms',
    min: 10,
  },
  heartbeatInterval: {
    type: 'duration',
    description: 'how often a busy worker syncs when it has nothing to deliver',
    default: '2s',
    min: 10,
  },
  flushTimeout: {
    type: 'duration',
    description: 'when stopping, how long to keep trying to deliver reports once nothing runs',
    default: '30s',
  },
  logLinesPerSync: {
    type: 'number',
    description: 'most log lines in one sync',
    default: 1000,
    integer: true,
    min: 1,
  },
  exitWhenDrained: {
    type: 'boolean',
    description: 'exit once a drain the server asked for is complete (default: stay connected until it is lifted)',
    default: false,
  },
  sessionRoot: {
    type: 'string',
    description: 'where session working directories are made (default: <tmpdir>/corral-sessions)',
  },
  retainSessionDirectories: {
    type: 'boolean',
    description: 'keep session working directories after sessions end (debugging)',
    default: false,
  },
  capabilities: {
    amounts: {
      type: 'string[]',
      description: 'custom or overriding amounts, amount.name=NUMBER (amount.worker.vcpu=4 offers 4 CPUs)',
      default: [],
    },
    attributes: {
      type: 'string[]',
      description: 'custom or overriding attributes, attr.name=VALUE; repeat a name for more values',
      default: [],
    },
  },
  outbox: {
    maxBytes: {
      type: 'number',
      description: 'bound of undelivered reports on disk; past it the oldest log lines are dropped (never results)',
      default: 256 * MIB,
      integer: true,
      min: 64 * 1024,
      reloadable: false,
    },
    fsyncInterval: {
      type: 'duration',
      description: 'how long a report may wait to be synced to disk',
      default: '100ms',
      reloadable: false,
    },
  },
} as const satisfies ConfigSchema;

export type WorkerConfigSchema = typeof WORKER_CONFIG_SCHEMA;
export type WorkerConfig = Config<WorkerConfigSchema>;

/** The default worker name: the host's name up to its first dot, made a valid worker name. */
export function defaultWorkerName(): string {
  const name = hostname()
    .split('.')[0]!
    .replace(/[^A-Za-z0-9_.@-]/g, '-');
  return /^[A-Za-z0-9]/.test(name) ? name.slice(0, 128) : `worker-${name}`.slice(0, 128);
}

/**
 * The agent's settings from a configuration.
 * @throws {CorralError} `CORRAL_E_CAPABILITY_INVALID` for malformed custom capabilities.
 */
export function agentSettings(config: WorkerConfig, serverUrl: string): AgentSettings {
  return {
    name: config.name ?? defaultWorkerName(),
    serverUrl,
    capabilities: detectCapabilities({
      amounts: config.capabilities.amounts,
      attributes: config.capabilities.attributes,
    }),
    maxConcurrentTasks: config.maxConcurrentTasks,
    sessionIdleTimeoutMs: config.sessionIdleTimeout,
    drainGraceMs: config.drainGrace,
    expediteExitMs: config.expediteExitTimeout,
    pollWaitMs: config.pollWait,
    syncIntervalMs: config.syncInterval,
    heartbeatIntervalMs: config.heartbeatInterval,
    flushTimeoutMs: config.flushTimeout,
    logLinesPerSync: config.logLinesPerSync,
    exitWhenDrained: config.exitWhenDrained,
    retainSessionDirectories: config.retainSessionDirectories,
    ...(config.sessionRoot !== undefined ? { sessionRoot: config.sessionRoot } : {}),
  };
}

/** The server URL as given, with `http://` added to a bare `host:port` and no trailing slash. */
export function normaliseServerUrl(url: string): string {
  const withScheme = /^https?:\/\//i.test(url) ? url : `http://${url}`;
  return withScheme.replace(/\/+$/, '');
}
