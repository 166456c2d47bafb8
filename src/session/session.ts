/**
 * @module The OpenJD session: a working directory on a host in which a job's environments are entered, its tasks
 * run and its environments exited, one action at a time (OpenJD "How Jobs Are Run").
 *
 * State machine: READY → RUNNING → READY after a success, or READY_ENDING after any failure, timeout or cancel
 * (RUNNING → CANCELING on the way). In READY_ENDING only environment exits and cleanup are allowed; every
 * environment entered — or whose entering was attempted — must be exited, innermost first. `cleanup()` ends the
 * session (ENDED) and removes the working directory.
 */
import { join } from 'node:path';
import type { ResolvedAction, ResolvedEnvironment, ResolvedStepScript } from '../model/create-job.js';
import { CorralError, ExpressionError } from '../model/errors.js';
import { resolveFormatString } from '../model/format-string.js';
import type { JobParameterValues } from '../model/job-parameters.js';
import type { TaskParameterSet } from '../model/parameter-space.js';
import type { EmbeddedFile, Environment } from '../model/types.js';
import { type ActionSpec, type CancelMethod, type CancelRequest, RunningAction } from './action.js';
import { embeddedFilePaths, writeEmbeddedFiles } from './embedded-files.js';
import { actionEnvironment, EnvironmentLayer, sessionBaseEnvironment } from './environment-variables.js';
import { SessionErrorCode } from './errors.js';
import { createLauncher } from './launcher/index.js';
import type { Launcher } from './launcher/types.js';
import { PathMapper, type PathMappingRule, pathMappingDocument } from './path-mapping.js';
import { Redactor } from './redaction.js';
import { type SessionValues, symbolLookup } from './symbols.js';
import {
  type ActionKind,
  type ActionRef,
  ActionState,
  type ActionStatus,
  type LogSink,
  SessionState,
} from './types.js';
import {
  createWorkingDirectory,
  primaryGroupOf,
  removeWorkingDirectory,
  type WorkingDirectory,
  writeSessionFile,
} from './working-directory.js';

/** onExit actions without a timeout get this one (OpenJD §5: sessions must end in bounded time). */
export const DEFAULT_ON_EXIT_TIMEOUT_SECONDS = 300;

export interface SessionOptions {
  /** Identifies the session in logs and in its directory's name. */
  readonly sessionId: string;
  /** The job's parameter values (from `createJob` or `preprocessJobParameterValues`). */
  readonly jobParameters?: JobParameterValues;
  /** Path mapping rules applied to PATH values, and written to `Session.PathMappingRulesFile`. */
  readonly pathMappingRules?: readonly PathMappingRule[];
  /** Run actions as this OS user (through sudo); default: the current user. */
  readonly user?: string;
  /** Variables every action starts from; default: this process's environment. */
  readonly baseEnvironment?: Readonly<Record<string, string | undefined>>;
  /** Changes to the base: a value sets, `undefined` removes. */
  readonly environmentOverrides?: Readonly<Record<string, string | undefined>>;
  /** Variables that must never reach actions (an agent's credentials). */
  readonly removeVariables?: readonly string[];
  /** Where the working directory is created; default: `<tmpdir>/corral-sessions`. */
  readonly rootDirectory?: string;
  /** Keep the working directory after cleanup (for debugging). Default: false. */
  readonly retainWorkingDirectory?: boolean;
  /** Receives every output line and runtime message. Default: nowhere. */
  readonly logSink?: LogSink;
  /** Called when an action starts, reports progress/status/fail, and ends. Keep it fast. */
  readonly onActionStatus?: (status: ActionStatus) => void;
  /** A launcher to share; by default the session starts its own and stops it on cleanup. */
  readonly launcher?: Launcher;
}

interface EnteredEnvironment {
  readonly identifier: string;
  readonly environment: Environment;
  readonly layer: EnvironmentLayer;
  readonly filesDirectory: string;
}

const NO_SINK: LogSink = { output() {}, info() {} };

export class Session implements AsyncDisposable {
  readonly id: string;
  readonly #options: SessionOptions;
  readonly #directory: WorkingDirectory;
  readonly #launcher: Launcher;
  readonly #ownsLauncher: boolean;
  readonly #values: SessionValues;
  readonly #base: Readonly<Record<string, string>>;
  readonly #sink: LogSink;
  readonly #redactor = new Redactor();
  readonly #entered: EnteredEnvironment[] = [];
  readonly #scriptDirectories = new Map<object, string>();
  #state: SessionState = SessionState.Ready;
  /** The last computed action environment and what it was computed from (actions mostly share one). */
  #environmentCache: { layers: EnvironmentLayer[]; versions: number[]; env: Record<string, string> } | undefined;
  #running: RunningAction | undefined;
  #nextAction = 1;
  #cleanup: Promise<void> | undefined;

  private constructor(
    options: SessionOptions,
    directory: WorkingDirectory,
    launcher: Launcher,
    ownsLauncher: boolean,
    values: SessionValues,
  ) {
    this.id = options.sessionId;
    this.#options = options;
    this.#directory = directory;
    this.#launcher = launcher;
    this.#ownsLauncher = ownsLauncher;
    this.#values = values;
    this.#sink = options.logSink ?? NO_SINK;
    this.#base = sessionBaseEnvironment(
      options.baseEnvironment ?? process.env,
      options.environmentOverrides,
      options.removeVariables,
    );
  }

  /**
   * Creates a session: its working directory, the path-mapping rules file and (unless one is given) a launcher.
   * @throws {CorralError} `CORRAL_E_WORKING_DIRECTORY` when the directory cannot be made or the user is unknown;
   *   `CORRAL_E_LAUNCHER_UNAVAILABLE` when actions cannot be started (for another user: sudo refused).
   */
  static async create(options: SessionOptions): Promise<Session> {
    const gid = options.user === undefined ? undefined : await primaryGroupOf(options.user);
    const directory = await createWorkingDirectory({
      sessionId: options.sessionId,
      ...(options.rootDirectory !== undefined ? { root: options.rootDirectory } : {}),
      ...(gid !== undefined ? { gid } : {}),
    });
    const rules = options.pathMappingRules ?? [];
    const rulesFile = join(directory.path, 'path-mapping.json');
    let launcher = options.launcher;
    try {
      await writeSessionFile(directory, rulesFile, JSON.stringify(pathMappingDocument(rules), null, 2));
      launcher ??= await createLauncher(options.user !== undefined ? { user: options.user } : {});
    } catch (error) {
      await removeWorkingDirectory(directory, options.user).catch(() => {});
      throw error;
    }
    options.logSink?.info(
      `Session ${options.sessionId} in ${directory.path}, starting actions with the ${launcher.kind} launcher${options.user ? ` as ${options.user}` : ''}`,
      Date.now(),
      'debug',
    );
    return new Session(options, directory, launcher, options.launcher === undefined, {
      workingDirectory: directory.path,
      pathMappingRulesFile: rulesFile,
      mapper: new PathMapper(rules),
      jobParameters: options.jobParameters ?? {},
    });
  }

  get state(): SessionState {
    return this.#state;
  }

  /** The session's scratch directory, also every action's current directory. */
  get workingDirectory(): string {
    return this.#directory.path;
  }

  /** Identifiers of the environments entered (or attempted), outermost first. */
  get environments(): readonly string[] {
    return this.#entered.map((e) => e.identifier);
  }

  /** The running action's latest status, if one runs. */
  get actionStatus(): ActionStatus | undefined {
    return this.#running?.status;
  }

  /**
   * Enters an environment: sets its variables, writes its embedded files and runs its `onEnter`. The environment
   * counts as entered even if `onEnter` fails, so that it is exited.
   * @param options.identifier Names this entry for `exitEnvironment`; default: the environment's name.
   * @throws {CorralError} `CORRAL_E_SESSION_STATE` unless READY; `CORRAL_E_ENVIRONMENT_ORDER` if already entered.
   */
  async enterEnvironment(options: {
    environment: ResolvedEnvironment | Environment;
    identifier?: string;
  }): Promise<ActionStatus> {
    this.#require([SessionState.Ready], 'enter an environment');
    const { environment } = options;
    const identifier = options.identifier ?? environment.name;
    if (this.#entered.some((e) => e.identifier === identifier)) {
      throw new CorralError(SessionErrorCode.EnvironmentOrder, `The environment '${identifier}' is already entered.`);
    }
    const filesDirectory = this.#scriptDirectory(environment, `env-${identifier}`);
    const files = environment.script?.embeddedFiles ?? [];
    const paths = embeddedFilePaths(files, filesDirectory);
    const lookup = symbolLookup(this.#values, { files: paths, filePrefix: 'Env.File' });
    const ref = this.#ref('envEnter', environment.name);
    this.#sink.info(`==== Entering environment: ${environment.name}`, Date.now(), 'info', ref);
    const layer = new EnvironmentLayer({});
    const entry: EnteredEnvironment = { identifier, environment, layer, filesDirectory };
    this.#entered.push(entry);
    let variables: Record<string, string>;
    try {
      variables = Object.fromEntries(
        Object.entries(environment.variables ?? {}).map(([name, value]) => [
          name,
          resolveFormatString({ format: value, lookup }),
        ]),
      );
    } catch (error) {
      return this.#prepareFailed(ref, error);
    }
    const resolvedEntry: EnteredEnvironment = { ...entry, layer: new EnvironmentLayer(variables) };
    this.#entered[this.#entered.length - 1] = resolvedEntry;
    for (const [name, value] of Object.entries(variables)) {
      this.#sink.info(`Setting ${name}=${this.#redactor.redact(value)}`, Date.now(), 'debug', ref);
    }
    const onEnter = environment.script?.actions.onEnter;
    if (!onEnter) return this.#noAction(ref);
    return this.#runAction(ref, onEnter as ResolvedAction, {
      files,
      paths,
      directory: filesDirectory,
      lookup,
      layer: resolvedEntry.layer,
      defaultTimeout: undefined,
      defaultNotifySeconds: 30,
    });
  }

  /**
   * Exits the innermost entered environment: runs its `onExit` (300 s timeout unless it sets one), then drops its
   * variables. Allowed after failures too (READY_ENDING).
   * @throws {CorralError} `CORRAL_E_SESSION_STATE` while an action runs or after cleanup;
   *   `CORRAL_E_ENVIRONMENT_ORDER` when `identifier` is not the innermost entered environment.
   */
  async exitEnvironment(options: { identifier: string }): Promise<ActionStatus> {
    this.#require([SessionState.Ready, SessionState.ReadyEnding], 'exit an environment');
    const entry = this.#entered[this.#entered.length - 1];
    if (!entry || entry.identifier !== options.identifier) {
      throw new CorralError(
        SessionErrorCode.EnvironmentOrder,
        entry
          ? `Environments are exited innermost first: '${entry.identifier}' must be exited before '${options.identifier}'.`
          : `No environment is entered, so '${options.identifier}' cannot be exited.`,
      );
    }
    const { environment } = entry;
    const ref = this.#ref('envExit', environment.name);
    this.#sink.info(`==== Exiting environment: ${environment.name}`, Date.now(), 'info', ref);
    const onExit = environment.script?.actions.onExit;
    let status: ActionStatus;
    if (!onExit) status = this.#noAction(ref, false);
    else {
      const files = environment.script?.embeddedFiles ?? [];
      const paths = embeddedFilePaths(files, entry.filesDirectory);
      status = await this.#runAction(ref, onExit as ResolvedAction, {
        files,
        paths,
        directory: entry.filesDirectory,
        lookup: symbolLookup(this.#values, { files: paths, filePrefix: 'Env.File' }),
        layer: undefined,
        defaultTimeout: DEFAULT_ON_EXIT_TIMEOUT_SECONDS,
        defaultNotifySeconds: 30,
        keepEnding: true,
      });
    }
    this.#entered.pop();
    return status;
  }

  /**
   * Runs one task of a step: writes the script's embedded files and runs its `onRun` with the task's parameters.
   * @param options.stepName Names the step in logs.
   * @param options.taskParameters The task's values (from the step's parameter space); none for a step without one.
   * @throws {CorralError} `CORRAL_E_SESSION_STATE` unless READY.
   */
  async runTask(options: {
    stepName: string;
    script: ResolvedStepScript;
    taskParameters?: TaskParameterSet;
  }): Promise<ActionStatus> {
    this.#require([SessionState.Ready], 'run a task');
    const { script } = options;
    const task = options.taskParameters ?? {};
    const ref = this.#ref('taskRun', options.stepName);
    const described = Object.entries(task)
      .map(([name, value]) => `${name}=${value.value}`)
      .join(', ');
    this.#sink.info(
      `---- Running task of '${options.stepName}'${described ? ` (${described})` : ''}`,
      Date.now(),
      'info',
      ref,
    );
    const directory = this.#scriptDirectory(script, `step-${options.stepName}`);
    const files = script.embeddedFiles ?? [];
    const paths = embeddedFilePaths(files, directory);
    return this.#runAction(ref, script.actions.onRun, {
      files,
      paths,
      directory,
      lookup: symbolLookup(this.#values, { task, files: paths, filePrefix: 'Task.File' }),
      layer: undefined,
      defaultTimeout: undefined,
      defaultNotifySeconds: 120,
    });
  }

  /**
   * Cancels the running action with its own cancelation method. Calling again can shorten the grace period.
   * Does nothing when no action runs.
   * @param options.timeLimitSeconds At most this long before the process group is killed (0: now).
   * @param options.markFailed End the action as FAILED instead of CANCELED.
   */
  cancelAction(options: CancelRequest = {}): void {
    if (!this.#running) return;
    this.#state = SessionState.Canceling;
    this.#running.cancel(options);
  }

  /**
   * Ends the session: cancels a running action, stops its own launcher and removes the working directory (unless
   * kept). Environments not exited stay unexited: exit them first. Idempotent.
   * @throws {CorralError} `CORRAL_E_WORKING_DIRECTORY` when the directory cannot be removed.
   */
  cleanup(): Promise<void> {
    this.#cleanup ??= (async () => {
      if (this.#running) {
        this.#running.cancel({ timeLimitSeconds: 0 });
        await this.#running.done.catch(() => {});
      }
      this.#state = SessionState.Ended;
      if (this.#ownsLauncher) await this.#launcher.close();
      if (this.#options.retainWorkingDirectory) {
        this.#sink.info(`Working directory preserved at: ${this.#directory.path}`, Date.now(), 'info');
      } else {
        await removeWorkingDirectory(this.#directory, this.#options.user);
      }
    })();
    return this.#cleanup;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.cleanup();
  }

  #require(states: readonly SessionState[], what: string): void {
    if (!states.includes(this.#state)) {
      throw new CorralError(
        SessionErrorCode.WrongState,
        `The session must be ${states.join(' or ')} to ${what}; it is ${this.#state}.`,
      );
    }
  }

  /** The environment of the next action, reused while no environment was entered, exited or changed. */
  #actionEnvironment(): Record<string, string> {
    const layers = this.#entered.map((e) => e.layer);
    const cache = this.#environmentCache;
    if (
      cache &&
      cache.layers.length === layers.length &&
      layers.every((layer, i) => layer === cache.layers[i] && layer.version === cache.versions[i])
    ) {
      return cache.env;
    }
    const env = actionEnvironment(this.#base, layers, this.#directory.path);
    this.#environmentCache = { layers, versions: layers.map((l) => l.version), env };
    return env;
  }

  #ref(kind: ActionKind, name: string): ActionRef {
    return { id: this.#nextAction++, kind, name };
  }

  #scriptDirectory(script: object, label: string): string {
    let directory = this.#scriptDirectories.get(script);
    if (!directory) {
      const safe = label.replace(/[^A-Za-z0-9_.-]+/g, '_').slice(0, 60);
      directory = join(this.#directory.filesPath, `${this.#scriptDirectories.size + 1}-${safe}`);
      this.#scriptDirectories.set(script, directory);
    }
    return directory;
  }

  /** An environment without the action asked for: nothing runs, it succeeds. */
  #noAction(ref: ActionRef, report = true): ActionStatus {
    const status: ActionStatus = { action: ref, state: ActionState.Success, durationSeconds: 0 };
    if (report) this.#options.onActionStatus?.(status);
    return status;
  }

  /** An action that could not even be prepared (a value that does not resolve, a file that cannot be written). */
  #prepareFailed(ref: ActionRef, error: unknown): ActionStatus {
    if (!(error instanceof ExpressionError) && !(error instanceof Error && 'code' in error)) throw error;
    const message = `Could not prepare the action: ${(error as Error).message}`;
    this.#sink.info(message, Date.now(), 'error', ref);
    const status: ActionStatus = { action: ref, state: ActionState.Failed, failMessage: message, durationSeconds: 0 };
    this.#state = SessionState.ReadyEnding;
    this.#options.onActionStatus?.(status);
    return status;
  }

  async #runAction(
    ref: ActionRef,
    action: ResolvedAction,
    context: {
      files: readonly EmbeddedFile[];
      paths: ReadonlyMap<string, string>;
      directory: string;
      lookup: (name: string) => string | undefined;
      /** The layer of the environment being entered (its onEnter's openjd_env messages land here). */
      layer: EnvironmentLayer | undefined;
      defaultTimeout: number | undefined;
      defaultNotifySeconds: number;
      /** An exit keeps READY_ENDING even when it succeeds. */
      keepEnding?: boolean;
    },
  ): Promise<ActionStatus> {
    const wasEnding = this.#state === SessionState.ReadyEnding;
    let spec: ActionSpec;
    try {
      const resolve = (text: string) => resolveFormatString({ format: text, lookup: context.lookup });
      if (context.files.length > 0) {
        await writeEmbeddedFiles({
          files: context.files,
          paths: context.paths,
          directory: context.directory,
          workingDirectory: this.#directory,
          resolve,
        });
      }
      const cancelation: CancelMethod =
        action.cancelation?.mode === 'NOTIFY_THEN_TERMINATE'
          ? {
              mode: 'NOTIFY_THEN_TERMINATE',
              notifyPeriodSeconds: action.cancelation.notifyPeriodInSeconds ?? context.defaultNotifySeconds,
            }
          : { mode: 'TERMINATE' };
      const timeout = typeof action.timeout === 'number' ? action.timeout : context.defaultTimeout;
      spec = {
        ref,
        command: resolve(action.command),
        args: (action.args ?? []).map(resolve),
        cwd: this.#directory.path,
        env: this.#actionEnvironment(),
        ...(timeout !== undefined ? { timeoutSeconds: timeout } : {}),
        cancelation,
        acceptsEnvironmentMessages: context.layer !== undefined,
      };
    } catch (error) {
      return this.#prepareFailed(ref, error);
    }
    this.#state = SessionState.Running;
    const layer = context.layer;
    const running = new RunningAction(spec, {
      launcher: this.#launcher,
      sink: this.#sink,
      redactor: this.#redactor,
      onStatus: (status) => this.#options.onActionStatus?.(status),
      onSetVariable: (name, value) => layer?.set(name, value),
      onUnsetVariable: (name) => layer?.unset(name),
      writeCancelInfo: (notifyEnd) =>
        writeSessionFile(
          this.#directory,
          join(this.#directory.path, 'cancel_info.json'),
          JSON.stringify({ NotifyEnd: `${notifyEnd.toISOString().slice(0, 19)}Z` }),
        ),
    });
    this.#running = running;
    const status = await running.done;
    this.#running = undefined;
    // cleanup() may have ended the session while the action ran.
    if ((this.#state as SessionState) !== SessionState.Ended) {
      this.#state =
        status.state === ActionState.Success && !(context.keepEnding && wasEnding)
          ? SessionState.Ready
          : SessionState.ReadyEnding;
    }
    return status;
  }
}
