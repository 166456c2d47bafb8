/**
 * @module The Node side of the native launcher: starts `corral-launcher` (directly, or as another user through
 * `sudo -n -u <user>`), speaks its binary protocol (see protocol.ts and native/launcher.c) and turns frames into
 * {@link LaunchedProcess} objects.
 *
 * One launcher process serves every launch; each launch gets an id in the protocol. The launcher does the
 * process-level work (vfork/exec, setsid, merged output pipe, reaping as a subreaper, drain grace, killing the
 * group, waiting for it to be empty); this side only encodes requests and routes frames.
 */

import type { Buffer } from 'node:buffer';
import { type ChildProcess, spawn } from 'node:child_process';
import { CorralError } from '../../model/errors.js';
import { LauncherErrorCode } from './errors.js';
import { TrackedProcess } from './launched.js';
import { encodeLaunch, encodeSignal, Frame, FrameDecoder, PROTOCOL_VERSION } from './protocol.js';
import { checkLaunchRequest } from './request.js';
import { exitOf } from './signals.js';
import type { LaunchedProcess, Launcher, LaunchOptions, LaunchRequest } from './types.js';

/** How long the launcher (or sudo) may take to say hello before it counts as unavailable. */
const START_TIMEOUT_MS = 15_000;
/** How long close() waits for the launcher to kill its groups and exit before killing it. */
const CLOSE_TIMEOUT_MS = 15_000;
/** How much of the launcher's stderr to keep for error messages. */
const STDERR_TAIL = 4096;

/** Options of {@link NativeLauncher.start}. */
export interface NativeLauncherOptions {
  /** Path of the `corral-launcher` binary. */
  readonly binary: string;
  /** Run the launcher, hence every action, as this user through `sudo -n -u`. */
  readonly user?: string;
  /** Drain grace sent with every launch. */
  readonly drainGraceMs: number;
}

/** A launch in flight: waiting for `S`/`F`, then for `X`. */
interface Entry {
  readonly onOutput: (chunk: Buffer) => void;
  readonly resolveLaunch: (process: LaunchedProcess) => void;
  readonly rejectLaunch: (error: Error) => void;
  process?: TrackedProcess;
}

type State = 'starting' | 'open' | 'closing' | 'closed' | 'crashed';

/** A {@link Launcher} backed by one `corral-launcher` process. */
export class NativeLauncher implements Launcher {
  readonly kind = 'native' as const;
  private readonly entries = new Map<number, Entry>();
  private readonly decoder: FrameDecoder;
  private readonly drainGraceMs: number;
  private readonly user: string | undefined;
  private state: State = 'starting';
  private nextId = 1;
  private pid = 0;
  private stderrTail = '';
  private refed = true;
  private crashError: CorralError | undefined;
  private closing: Promise<void> | undefined;
  private readonly closed: Promise<void>;
  private markClosed!: () => void;
  private readonly ready: Promise<void>;
  private markReady!: () => void;
  private failStart!: (error: Error) => void;

  private constructor(
    private readonly child: ChildProcess,
    options: NativeLauncherOptions,
  ) {
    this.drainGraceMs = options.drainGraceMs;
    this.user = options.user;
    this.closed = new Promise((resolve) => {
      this.markClosed = resolve;
    });
    this.ready = new Promise((resolve, reject) => {
      this.markReady = resolve;
      this.failStart = reject;
    });
    this.ready.catch(() => {});
    this.decoder = new FrameDecoder({
      output: (id, bytes) => this.onOutput(id, bytes),
      control: (type, id, payload) => this.onControl(type, id, payload),
    });
    child.stdout!.on('data', (chunk: Buffer) => this.decoder.push(chunk));
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (text: string) => this.onStderr(text));
    // Writes after the launcher died fail with EPIPE; the death itself is reported through 'close'.
    child.stdin!.on('error', () => {});
    child.stdout!.on('error', () => {});
    child.stderr!.on('error', () => {});
    child.on('error', (error) => this.onSpawnError(error));
    child.on('close', (code, signal) => this.onClose(code, signal));
  }

  /**
   * Starts a launcher and waits for its hello. Throws `CORRAL_E_LAUNCHER_UNAVAILABLE` when the binary or sudo cannot
   * be run, sudo refuses, or the launcher exits or stays silent instead of greeting.
   */
  static async start(options: NativeLauncherOptions): Promise<NativeLauncher> {
    const [file, args] =
      options.user === undefined ? [options.binary, []] : ['sudo', ['-n', '-u', options.user, '--', options.binary]];
    // detached: the launcher (or sudo) gets its own session without a controlling terminal. Terminal signals
    // (Ctrl-C) then reach only Corral, which decides how to cancel; and sudo, having no tty, never interposes a
    // pseudo-terminal (Debian's `Defaults use_pty`) that would mangle binary frames.
    const child = spawn(file, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
      cwd: '/',
      // The launcher needs no environment (each request carries its own); sudo needs PATH to be found.
      env: options.user === undefined ? {} : process.env,
    });
    const launcher = new NativeLauncher(child, options);
    const timer = setTimeout(() => {
      launcher.failStart(
        new CorralError(LauncherErrorCode.Unavailable, `${file} did not start within ${START_TIMEOUT_MS} ms`),
      );
      child.kill('SIGKILL');
    }, START_TIMEOUT_MS);
    try {
      await launcher.ready;
    } finally {
      clearTimeout(timer);
    }
    return launcher;
  }

  /** Pid of the `corral-launcher` process itself (not of sudo). */
  get processId(): number {
    return this.pid;
  }

  async launch(request: LaunchRequest, options: LaunchOptions): Promise<LaunchedProcess> {
    checkLaunchRequest(request);
    if (this.state === 'crashed') throw this.crashError!;
    if (this.state !== 'open') throw new CorralError(LauncherErrorCode.Unavailable, 'the launcher is closed');
    const id = this.allocateId();
    const frame = encodeLaunch(id, request, this.drainGraceMs);
    return new Promise<LaunchedProcess>((resolveLaunch, rejectLaunch) => {
      this.entries.set(id, { onOutput: options.onOutput, resolveLaunch, rejectLaunch });
      this.updateRef();
      this.child.stdin!.write(frame);
    });
  }

  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    if (this.state === 'starting') await this.ready.catch(() => {});
    if (this.state !== 'open') return;
    this.state = 'closing';
    this.updateRef();
    // EOF on its stdin tells the launcher to SIGKILL every group, report their exits and exit.
    this.child.stdin!.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), CLOSE_TIMEOUT_MS);
    await this.closed;
    clearTimeout(timer);
  }

  private allocateId(): number {
    for (;;) {
      const id = this.nextId;
      this.nextId = id >= 0xffffffff ? 1 : id + 1;
      if (!this.entries.has(id)) return id;
    }
  }

  private sendSignal(id: number, signal: number): void {
    if (this.state === 'open' || this.state === 'closing') this.child.stdin!.write(encodeSignal(id, signal));
  }

  private onOutput(id: number, bytes: Buffer): void {
    const entry = this.entries.get(id);
    if (entry === undefined) return;
    try {
      entry.onOutput(bytes);
    } catch (error) {
      // Keep the frame decoder consistent; surface the callback's bug as an uncaught exception.
      queueMicrotask(() => {
        throw error;
      });
    }
  }

  private onControl(type: number, id: number, payload: Buffer): void {
    if (type === Frame.Hello) {
      const version = payload.readUInt32LE(0);
      if (version !== PROTOCOL_VERSION) {
        this.failStart(
          new CorralError(
            LauncherErrorCode.Unavailable,
            `corral-launcher speaks protocol ${version}, expected ${PROTOCOL_VERSION}: rebuild it (npm run build)`,
          ),
        );
        this.child.kill('SIGKILL');
        return;
      }
      this.pid = payload.readUInt32LE(4);
      this.state = 'open';
      this.markReady();
      this.updateRef();
      return;
    }
    const entry = this.entries.get(id);
    if (entry === undefined) return;
    if (type === Frame.Started) {
      entry.process = new TrackedProcess(payload.readUInt32LE(0), (signal) => this.sendSignal(id, signal));
      entry.resolveLaunch(entry.process);
    } else if (type === Frame.Failed) {
      this.entries.delete(id);
      const failed = new TrackedProcess(0, () => {});
      failed.settle({ exitCode: payload.readUInt32LE(0), signal: null, startError: payload.toString('utf8', 4) });
      entry.resolveLaunch(failed);
      this.updateRef();
    } else if (type === Frame.Exited) {
      this.entries.delete(id);
      const code = payload.readInt32LE(0);
      entry.process?.settle(exitOf(code < 0 ? null : code, payload.readUInt32LE(4)));
      this.updateRef();
    }
  }

  private onStderr(text: string): void {
    this.stderrTail = (this.stderrTail + text).slice(-STDERR_TAIL);
    if (this.state === 'open' || this.state === 'closing') process.emitWarning(text.trim(), 'CorralLauncherWarning');
  }

  private onSpawnError(error: Error): void {
    if (this.state === 'starting') {
      this.failStart(
        new CorralError(LauncherErrorCode.Unavailable, `cannot start the launcher: ${error.message}`, {
          cause: error,
        }),
      );
    }
  }

  private onClose(code: number | null, signal: NodeJS.Signals | null): void {
    const how = signal === null ? `exit code ${code}` : `signal ${signal}`;
    const detail = this.stderrTail.trim() === '' ? '' : `: ${this.stderrTail.trim()}`;
    if (this.state === 'starting') {
      this.state = 'crashed';
      this.crashError = new CorralError(
        LauncherErrorCode.Unavailable,
        `the launcher exited at start (${how})${detail}`,
      );
      this.failStart(this.crashError);
    } else if (this.state === 'closing') {
      this.state = 'closed';
      this.failAll(new CorralError(LauncherErrorCode.Crashed, `the launcher closed before reporting an exit (${how})`));
    } else if (this.state === 'open') {
      this.state = 'crashed';
      this.crashError = new CorralError(LauncherErrorCode.Crashed, `corral-launcher died (${how})${detail}`);
      this.failAll(this.crashError);
    }
    this.markClosed();
  }

  /** Rejects everything pending and kills what is left of its groups (best effort: the launcher cannot now). */
  private failAll(error: CorralError): void {
    for (const entry of this.entries.values()) {
      if (entry.process === undefined) {
        entry.rejectLaunch(error);
      } else {
        killGroupBestEffort(entry.process.pid, this.user);
        entry.process.fail(error);
      }
    }
    this.entries.clear();
  }

  /** An idle launcher does not keep Node alive; launches in flight and closing do. */
  private updateRef(): void {
    const want = this.state === 'starting' || this.state === 'closing' || this.entries.size > 0;
    if (want === this.refed) return;
    this.refed = want;
    for (const handle of [this.child, this.child.stdin, this.child.stdout, this.child.stderr]) {
      const h = handle as { ref?: () => void; unref?: () => void } | null;
      if (want) h?.ref?.();
      else h?.unref?.();
    }
  }
}

/** SIGKILLs a group directly, or through sudo when it belongs to another user and we are not allowed. */
function killGroupBestEffort(pgid: number, user: string | undefined): void {
  if (pgid <= 0) return;
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EPERM' && user !== undefined) {
      spawn('sudo', ['-n', '-u', user, '--', 'kill', '-s', 'KILL', '--', `-${pgid}`], {
        stdio: 'ignore',
        detached: true,
      }).unref();
    }
  }
}
