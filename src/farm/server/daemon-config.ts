/**
 * @module The configuration of `corral server`: every key, its default, and whether a reload (SIGHUP) can change it.
 * Written in a YAML file (`--config`), as `CORRAL_*` variables, or as flags; see src/farm/daemon/config.ts.
 */
import type { ConfigSchema } from '../daemon/config.js';
import { LOG_LEVELS } from '../daemon/logger.js';

export const SERVER_CONFIG_SCHEMA = {
  dataDir: {
    type: 'string',
    description: 'directory of the farm database (SQLite), pidfile and admin token',
    default: '.corral',
    reloadable: false,
  },
  db: {
    type: 'string',
    description: 'database URL: postgres://… or sqlite:///path (default: SQLite in the data directory)',
    reloadable: false,
    secret: true,
  },
  listen: {
    type: 'string',
    description: 'HOST:PORT to listen on; beyond loopback only with token authentication',
    default: '127.0.0.1:8470',
    reloadable: false,
  },
  pidFile: { type: 'string', description: 'pidfile (default: server.pid in the data directory)', reloadable: false },
  logFile: { type: 'string', description: 'log file (default: standard error)', reloadable: false },
  logLevel: { type: 'string', description: 'log level', values: LOG_LEVELS, default: 'info' },
  auth: {
    type: 'string',
    description: "'tokens' (bearer tokens; an admin token is made at first start) or 'none' (loopback only)",
    values: ['tokens', 'none'],
    default: 'tokens',
  },
  metricsPublic: { type: 'boolean', description: 'serve /metrics without a token', default: false },
  workerTimeout: {
    type: 'duration',
    description: 'a worker silent this long is lost and its tasks go back to ready',
    default: '60s',
    min: 1000,
  },
  retryAvoid: {
    type: 'duration',
    description: 'how long a failed task is kept from the worker it failed on',
    default: '30s',
  },
  jobRetention: {
    type: 'duration',
    description: 'finished jobs are deleted with their logs and events this long after they finished; 0 keeps them',
    default: '0s',
  },
  limits: {
    bodyBytes: {
      type: 'number',
      description: 'largest request body',
      default: 8 * 1024 * 1024,
      integer: true,
      min: 1024,
    },
    templateBytes: {
      type: 'number',
      description: 'largest job template',
      default: 1024 * 1024,
      integer: true,
      min: 1024,
    },
    logBatchLines: {
      type: 'number',
      description: 'most log lines in one worker sync',
      default: 10_000,
      integer: true,
      min: 1,
    },
    tasksPerJob: {
      type: 'number',
      description: 'most tasks in one job',
      default: 1_000_000,
      integer: true,
      min: 1,
    },
  },
} as const satisfies ConfigSchema;

export type ServerConfigSchema = typeof SERVER_CONFIG_SCHEMA;
