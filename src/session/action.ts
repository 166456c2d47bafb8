/**
 * @module One running action: its process, its output (split into lines, read for `openjd_*` messages, redacted,
 * logged), its timeout, and its cancelation (TERMINATE: SIGKILL to the process group; NOTIFY_THEN_TERMINATE:
 * `cancel_info.json`, SIGTERM, the notify period, then SIGKILL). The launcher guarantees that when the process's
 * exit is reported, its output is delivered and no process of its group is left.
 */
import type { LaunchedProcess, Launcher, ProcessExit } from './launcher/types.js';
import { LineSplitter } from './line-splitter.js';
import { mayBeMessage, parseMessage } from './protocol.js';
import type { Redactor } from './redaction.js';
import { type ActionRef, ActionState, type ActionStatus, type LogSink } from './types.js';

export type CancelMethod =
  | { readonly mode: 'TERMINATE' }
  | { readonly mode: 'NOTIFY_THEN_TERMINATE'; readonly notifyPeriodSeconds: number };

export interface ActionSpec {
  readonly ref: ActionRef;
  readonly command: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly cwd: string;
  readonly timeoutSeconds?: number;
  readonly cancelation: CancelMethod;
  /** `openjd_env`/`openjd_unset_env` count only for an environment's `onEnter`. */
  readonly acceptsEnvironmentMessages: boolean;
}

export interface ActionHooks {
  readonly launcher: Launcher;
  readonly sink: LogSink;
  readonly redactor: Redactor;
  onStatus(status: ActionStatus): void;
  onSetVariable(name: string, value: string): void;
  onUnsetVariable(name: string): void;
  /** Writes `cancel_info.json` before the first signal of a NOTIFY_THEN_TERMINATE cancel. */
  writeCancelInfo(notifyEnd: Date): Promise<void>;
}

export interface CancelRequest {
  /** Seconds the action may take to stop at most; shortens the notify period (0: kill now). */
  readonly timeLimitSeconds?: number;
  /** End as FAILED rather than CANCELED. */
  readonly markFailed?: boolean;
  /** Why, for the log and the fail message. */
  readonly reason?: string;
}

/** Renders a command line for people: arguments quoted only when they need it. */
export function renderCommandLine(command: string, args: readonly string[]): string {
  const quote = (s: string) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
  return [command, ...args].map(quote).join(' ');
}

const SIGNAL_NUMBERS: Record<string, number> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGABRT: 6,
  SIGKILL: 9,
  SIGSEGV: 11,
  SIGPIPE: 13,
  SIGTERM: 15,
};

export class RunningAction {
  readonly done: Promise<ActionStatus>;
  readonly #spec: ActionSpec;
  readonly #hooks: ActionHooks;
  readonly #started = Date.now();
  #process: LaunchedProcess | undefined;
  #status: ActionStatus;
  #cancel: { markFailed: boolean; reason: string } | undefined;
  #timedOut = false;
  #protocolError: string | undefined;
  #killTimer: NodeJS.Timeout | undefined;
  #killAt = Number.POSITIVE_INFINITY;
  #timeoutTimer: NodeJS.Timeout | undefined;
  #finished = false;
  #termRequested = false;

  constructor(spec: ActionSpec, hooks: ActionHooks) {
    this.#spec = spec;
    this.#hooks = hooks;
    this.#status = { action: spec.ref, state: ActionState.Running };
    this.done = this.#run();
  }

  get status(): ActionStatus {
    return this.#status;
  }

  /** Cancels the action with its own method; a second call can only shorten the grace. */
  cancel(request: CancelRequest = {}): void {
    if (this.#finished) return;
    const first = this.#cancel === undefined;
    if (first) this.#cancel = { markFailed: request.markFailed ?? false, reason: request.reason ?? 'canceled' };
    else if (request.markFailed) this.#cancel!.markFailed = true;
    const method = this.#spec.cancelation;
    const limit = request.timeLimitSeconds;
    if (method.mode === 'TERMINATE' || limit === 0) {
      this.#log(
        'info',
        `${first ? 'Canceling' : 'Still canceling'}: killing process group ${this.#process?.pid ?? '(not started)'}`,
      );
      this.#kill();
      return;
    }
    const grace = Math.min(method.notifyPeriodSeconds, limit ?? Number.POSITIVE_INFINITY);
    const killAt = Date.now() + grace * 1000;
    if (killAt >= this.#killAt) return;
    this.#killAt = killAt;
    this.#log(
      'info',
      `Canceling: sending SIGTERM to process group ${this.#process?.pid ?? '(not started)'}; SIGKILL in ${grace} s`,
    );
    clearTimeout(this.#killTimer);
    this.#killTimer = setTimeout(() => {
      this.#log('info', `The notify period ended; killing process group ${this.#process?.pid}`);
      this.#kill();
    }, grace * 1000);
    this.#killTimer.unref?.();
    void this.#hooks.writeCancelInfo(new Date(killAt)).then(
      () => this.#terminate(),
      (error: unknown) => {
        this.#log('warn', `Could not write cancel_info.json: ${(error as Error).message}`);
        this.#terminate();
      },
    );
  }

  #terminate(): void {
    this.#termRequested = true;
    this.#process?.signal('SIGTERM');
  }

  #kill(): void {
    clearTimeout(this.#killTimer);
    this.#killAt = 0;
    this.#process?.signal('SIGKILL');
  }

  #log(level: 'info' | 'debug' | 'warn' | 'error', message: string): void {
    const { redactor, sink } = this.#hooks;
    sink.info(redactor.active ? redactor.redact(message) : message, Date.now(), level, this.#spec.ref);
  }

  get #debug(): boolean {
    return this.#hooks.sink.debug !== false;
  }

  #update(patch: Partial<ActionStatus>): void {
    this.#status = { ...this.#status, ...patch };
    this.#hooks.onStatus(this.#status);
  }

  #onLine(line: string, time: number): void {
    const hooks = this.#hooks;
    if (mayBeMessage(line)) {
      const message = parseMessage(line);
      switch (message?.kind) {
        case 'progress':
          this.#update({ progress: message.percent });
          break;
        case 'status':
          this.#update({ statusMessage: hooks.redactor.redact(message.message) });
          break;
        case 'fail':
          this.#update({ failMessage: hooks.redactor.redact(message.message) });
          break;
        case 'env':
          // Secrets are redacted even outside onEnter and without the extension: a secret is a secret.
          if (message.redacted) hooks.redactor.add(message.value);
          if (this.#spec.acceptsEnvironmentMessages) hooks.onSetVariable(message.name, message.value);
          break;
        case 'unset_env':
          if (this.#spec.acceptsEnvironmentMessages) hooks.onUnsetVariable(message.name);
          break;
        case 'malformed_env':
          if (this.#protocolError === undefined) {
            this.#protocolError = `Open Job Description: incorrectly formatted openjd env command: ${message.reason}`;
            hooks.sink.output(hooks.redactor.redact(line), time, this.#spec.ref);
            this.#log('error', this.#protocolError);
            this.cancel({ markFailed: true, reason: this.#protocolError, timeLimitSeconds: 0 });
            return;
          }
          break;
        case 'invalid':
          this.#log('warn', `Ignored: ${message.reason}`);
          break;
      }
    }
    hooks.sink.output(hooks.redactor.active ? hooks.redactor.redact(line) : line, time, this.#spec.ref);
  }

  async #run(): Promise<ActionStatus> {
    const spec = this.#spec;
    const hooks = this.#hooks;
    let chunkTime = Date.now();
    const splitter = new LineSplitter((line) => this.#onLine(line, chunkTime));
    this.#log('info', `Running command ${spec.command}`);
    if (this.#debug) this.#log('debug', `Command line: ${renderCommandLine(spec.command, spec.args)}`);
    hooks.onStatus(this.#status);
    let exit: ProcessExit;
    try {
      this.#process = await hooks.launcher.launch(
        { command: spec.command, args: spec.args, cwd: spec.cwd, env: spec.env },
        {
          onOutput: (chunk) => {
            chunkTime = Date.now();
            splitter.push(chunk);
          },
        },
      );
      if (this.#process.pid > 0 && this.#debug) this.#log('debug', `Command started as pid ${this.#process.pid}`);
      if (spec.timeoutSeconds !== undefined) {
        this.#timeoutTimer = setTimeout(() => {
          this.#timedOut = true;
          this.#log('warn', `The action ran longer than its timeout of ${spec.timeoutSeconds} s; canceling it`);
          this.cancel({ reason: `timed out after ${spec.timeoutSeconds} s` });
        }, spec.timeoutSeconds * 1000);
      }
      // Signals asked for while the launch was in flight are sent now.
      if (this.#killAt === 0) this.#process.signal('SIGKILL');
      else if (this.#termRequested) this.#process.signal('SIGTERM');
      exit = await this.#process.exit;
    } catch (error) {
      exit = { exitCode: null, signal: null, startError: (error as Error).message };
    } finally {
      clearTimeout(this.#timeoutTimer);
      clearTimeout(this.#killTimer);
      this.#finished = true;
    }
    chunkTime = Date.now();
    splitter.end();
    return this.#finish(exit);
  }

  #finish(exit: ProcessExit): ActionStatus {
    const code = exit.exitCode ?? (exit.signal ? -(SIGNAL_NUMBERS[exit.signal] ?? 1) : -1);
    const pid = this.#process?.pid || '(none)';
    if (exit.startError) this.#log('error', `Could not start '${this.#spec.command}': ${exit.startError}`);
    this.#log(
      'info',
      `Process pid ${pid} exited with code: ${code}${exit.signal ? ` (killed by ${exit.signal})` : ''}`,
    );
    const durationSeconds = (Date.now() - this.#started) / 1000;
    let state: ActionState;
    let failMessage = this.#status.failMessage;
    if (this.#protocolError) {
      state = ActionState.Failed;
      failMessage = this.#protocolError;
    } else if (this.#timedOut) {
      state = ActionState.Timeout;
      failMessage ??= `timed out after ${this.#spec.timeoutSeconds} s`;
    } else if (this.#cancel) {
      state = this.#cancel.markFailed ? ActionState.Failed : ActionState.Canceled;
      failMessage ??= this.#cancel.reason;
    } else if (code === 0) {
      state = ActionState.Success;
    } else {
      state = ActionState.Failed;
      failMessage ??= exit.startError ?? `exited with code ${code}`;
    }
    this.#status = {
      action: this.#spec.ref,
      state,
      ...(this.#status.progress !== undefined ? { progress: this.#status.progress } : {}),
      ...(this.#status.statusMessage !== undefined ? { statusMessage: this.#status.statusMessage } : {}),
      ...(state !== ActionState.Success && failMessage !== undefined ? { failMessage } : {}),
      exitCode: code,
      durationSeconds,
    };
    this.#hooks.onStatus(this.#status);
    return this.#status;
  }
}
