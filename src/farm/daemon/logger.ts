/**
 * @module The daemons' logger: pino writing JSON lines to a file or to stderr, with a level that can change at run
 * time (SIGHUP reload) and a file that can be reopened after logrotate moved it (SIGUSR2 or reload).
 *
 * Writes are synchronous (`pino.destination({ sync: true })`): a daemon's log volume is modest, and a line logged
 * just before `process.exit()` or a crash is never lost in a buffer. Child loggers (`child({ component })`) follow
 * level changes, because pino children created without options read their level through the parent.
 *
 * Log fields never use the name `pid`: pino writes this process's pid under it on every line. Use `processId` or
 * `childPid`; a stray `pid` in a log call is renamed `processId`, and `pid` in child bindings is refused.
 */
import { pino } from 'pino';
import { CorralError, ModelErrorCode } from '../../model/errors.js';
import { DaemonErrorCode } from './errors.js';

/** The levels a daemon logs at, most severe first; `silent` logs nothing. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** A pino logger (the type daemons pass around). */
export type Logger = pino.Logger;

export interface CreateLoggerOptions {
  /** Written as `name` on every line (`corral-server`, `corral-worker`). */
  readonly name: string;
  /** The initial level. */
  readonly level: LogLevel;
  /** Append to this file (created with mode 0640; its directory must exist). Default: stderr. */
  readonly file?: string;
  /** Fields written on every line (a worker's `workerId`). Must not contain `pid`. Default: none. */
  readonly bindings?: Readonly<Record<string, unknown>>;
  /**
   * Called when writing or reopening the log fails after creation (a full disk, a removed directory): the logger
   * cannot report its own failures. Default: `process.emitWarning`.
   */
  readonly onError?: (error: Error) => void;
}

/** A daemon's logger and its controls. */
export interface DaemonLogger {
  /** The root logger. */
  readonly logger: Logger;
  /** The file written to, or undefined for stderr. */
  readonly file: string | undefined;
  /** The current level. */
  readonly level: LogLevel;
  /**
   * A logger for one component (`scheduler`, `http`, `session`): lines carry `component` and `bindings`. It follows
   * later `setLevel` calls.
   * @throws {CorralError} `CORRAL_E_INVALID_ARGUMENT` when `bindings` has a `pid` field.
   */
  child(component: string, bindings?: Readonly<Record<string, unknown>>): Logger;
  /**
   * Changes the level of the logger and of every child.
   * @throws {CorralError} `CORRAL_E_INVALID_ARGUMENT` for an unknown level.
   */
  setLevel(level: LogLevel): void;
  /**
   * Reopens the file by its path (after logrotate moved it); lines go to the new file from now on. Does nothing when
   * logging to stderr.
   * @throws {CorralError} `CORRAL_E_LOG_FILE` when the file cannot be opened; lines keep going to the old file.
   */
  reopen(): void;
  /** Closes the file (at the very end of a shutdown). Later lines are dropped. Idempotent. */
  close(): void;
}

function checkLevel(level: string): asserts level is LogLevel {
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new CorralError(
      ModelErrorCode.InvalidArgument,
      `Unknown log level '${level}'; levels are ${LOG_LEVELS.join(', ')}.`,
    );
  }
}

function checkBindings(bindings: Readonly<Record<string, unknown>> | undefined): void {
  if (bindings !== undefined && Object.hasOwn(bindings, 'pid')) {
    throw new CorralError(
      ModelErrorCode.InvalidArgument,
      "A log binding is named 'pid', which pino uses for this process's pid; name it processId or childPid.",
    );
  }
}

/**
 * Creates a daemon's logger.
 * @returns the logger and its controls.
 * @throws {CorralError} `CORRAL_E_LOG_FILE` when the file cannot be opened; `CORRAL_E_INVALID_ARGUMENT` for an
 *   unknown level or a `pid` binding.
 * @example
 * const log = createLogger({ name: 'corral-server', level: config.logLevel, file: config.logFile });
 * const http = log.child('http');
 */
export function createLogger(options: CreateLoggerOptions): DaemonLogger {
  checkLevel(options.level);
  checkBindings(options.bindings);
  const { file } = options;
  const onError = options.onError ?? ((error: Error) => process.emitWarning(error));
  let destination: pino.DestinationStream & ReturnType<typeof pino.destination>;
  try {
    destination =
      file === undefined
        ? pino.destination({ dest: 2, sync: true })
        : pino.destination({ dest: file, sync: true, append: true, mode: 0o640, mkdir: false });
  } catch (error) {
    throw new CorralError(DaemonErrorCode.LogFile, `Cannot open the log file ${file}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  // A failed reopen both throws (reported to the caller) and emits the same error on the next tick: report it once.
  let thrown: unknown;
  destination.on('error', (error: Error) => {
    if (error !== thrown) onError(error);
  });

  const logger = pino(
    {
      name: options.name,
      level: options.level,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        log(object) {
          if (!Object.hasOwn(object, 'pid')) return object;
          const { pid, ...rest } = object;
          return { ...rest, processId: pid };
        },
      },
    },
    destination,
  );
  const root = options.bindings === undefined ? logger : logger.child({ ...options.bindings });
  let closed = false;

  return {
    logger: root,
    file,
    get level() {
      return logger.level as LogLevel;
    },
    child(component, bindings) {
      checkBindings(bindings);
      // No child options: the child then reads its level through the parent and follows setLevel.
      return root.child({ component, ...bindings });
    },
    setLevel(level) {
      checkLevel(level);
      logger.level = level;
    },
    reopen() {
      if (file === undefined || closed) return;
      try {
        destination.reopen();
      } catch (error) {
        thrown = error;
        throw new CorralError(
          DaemonErrorCode.LogFile,
          `Cannot reopen the log file ${file}: ${(error as Error).message}`,
          { cause: error },
        );
      }
    },
    close() {
      if (closed) return;
      closed = true;
      logger.level = 'silent';
      if (file !== undefined) destination.end();
    },
  };
}
