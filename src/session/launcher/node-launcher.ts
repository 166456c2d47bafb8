/**
 * @module The pure-Node launcher: the same contract as the native one, for machines without a C compiler.
 *
 * Merging stdout and stderr: Node cannot create a pipe, and two separate stdio pipes would lose the order between
 * the streams. Each launch therefore gets a connected pair of Unix stream sockets (from a private listening socket
 * in a 0700 directory) and passes one end as both fd 1 and fd 2 of the child. Measured on the reference machine
 * (500 sequential /bin/true): plain spawn with two pipes 3.0-4.4 ms, socket pair 3.3-3.8 ms, a
 * `/bin/sh -c 'exec "$0" "$@" 2>&1'` wrapper 3.5-4.5 ms; the socket pair also keeps Node's exact semantics for
 * `env`, PATH lookup and start errors, which a shell wrapper would bend (dash exports PWD). Node's own `'pipe'`
 * stdio is a socketpair too, so children see the same kind of stdout either way.
 *
 * Running as another user: `sudo -n -u <user> -- setsid -w /bin/sh -c WRAPPER …`. The wrapper changes directory,
 * reads the environment from its stdin (so secrets never sit in a command line), checks the command (so start
 * errors are reported as such), writes a `P<pid>` header line to the output (the pid is the new session's pgid,
 * which only the child can know), and execs the program through `env -i` with exactly the requested environment. Signals to such a group go through `sudo -n -u <user> kill -s SIG -- -<pgid>`.
 *
 * Limits compared with the native launcher: Node is not a child subreaper, so orphaned descendants are re-parented
 * to init; until init reaps them (about a second later on the reference VM; never with some minimal inits) killed
 * orphans stay zombies, which are ignored when deciding that a group is gone. A script without `#!` fails with
 * ENOEXEC instead of running under /bin/sh. Children's stdout is a socket, so `> /dev/stdout` fails (ENXIO), as it
 * does for any child Node spawns with piped stdio.
 */

import { Buffer } from 'node:buffer';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CorralError } from '../../model/errors.js';
import { LauncherErrorCode } from './errors.js';
import { groupAlive } from './groups.js';
import { TrackedProcess } from './launched.js';
import { checkLaunchRequest } from './request.js';
import { exitOf } from './signals.js';
import type { LaunchedProcess, Launcher, LaunchOptions, LaunchRequest, LaunchSignal, ProcessExit } from './types.js';

/** After SIGKILL, how often to look again whether the group is empty, and when to give up. */
const KILL_RECHECK_MS = 10;
const KILL_GIVE_UP_MS = 10_000;
/** How long close() waits for the killed processes to be reported gone. */
const CLOSE_TIMEOUT_MS = 15_000;
/** Once the group is gone, how long to wait for EOF of output still buffered in the socket. */
const FINAL_READ_MS = 100;

/**
 * Runs as the target user under sudo and setsid. Arguments: $1 cwd, $2 command, then the program's arguments. The
 * environment arrives on stdin, never on a command line (sudo's argv stays visible in /proc for the whole run): one
 * entry per record, `<number of lines> NAME=value` followed by the value's further lines. Writes exactly one header
 * line first: `P<pid>` when the program is about to be exec'd, or `E<code> <message>` when it cannot be started.
 * Only builtins run before the exec (no fork); the wrapper's own variables never reach the program, whose
 * environment `env -i` builds from the entries alone (they are on env's command line only for the instant before it
 * execs).
 */
const USER_WRAPPER = [
  'cd -- "$1" 2>/dev/null || { printf "E127 cannot change directory to \'%s\': No such file or directory\\n" "$1"; exit 127; }',
  'c=$2',
  'shift 2',
  'n=$#',
  'p=/bin:/usr/bin',
  'while IFS= read -r h; do',
  '  k=${h%% *}',
  '  e=${h#* }',
  '  while [ "$k" -gt 1 ]; do',
  '    IFS= read -r l',
  '    e="$e',
  '$l"',
  '    k=$((k - 1))',
  '  done',
  '  case $e in PATH=*) p=${e#PATH=} ;; esac',
  '  set -- "$@" "$e"',
  'done',
  'exec </dev/null',
  'case $c in',
  '  */*) if [ ! -e "$c" ]; then printf "E127 %s: No such file or directory\\n" "$c"; exit 127;',
  '       elif [ -d "$c" ] || [ ! -x "$c" ]; then printf "E126 %s: Permission denied\\n" "$c"; exit 126; fi ;;',
  '  "") printf "E127 : No such file or directory\\n"; exit 127 ;;',
  '  *) PATH=$p; command -v -- "$c" >/dev/null 2>&1 || { printf "E127 %s: No such file or directory\\n" "$c"; exit 127; } ;;',
  'esac',
  'set -- "$@" "$c"',
  'while [ "$n" -gt 0 ]; do',
  '  set -- "$@" "$1"',
  '  shift',
  '  n=$((n - 1))',
  'done',
  'printf "P%d\\n" "$$"',
  'exec /usr/bin/env -i "$@"',
].join('\n');

/** Encodes the environment for {@link USER_WRAPPER}'s stdin. */
function encodeEnvForWrapper(env: Readonly<Record<string, string>>): string {
  let out = '';
  for (const name of Object.keys(env)) {
    const entry = `${name}=${env[name]}`;
    out += `${entry.split('\n').length} ${entry}\n`;
  }
  return out;
}

/** Options of {@link NodeLauncher.start}. */
export interface NodeLauncherOptions {
  /** Run actions as this user through `sudo -n -u`. */
  readonly user?: string;
  /** How long to wait for output EOF after the main process exited. */
  readonly drainGraceMs: number;
}

/** A {@link Launcher} built on child_process.spawn. */
export class NodeLauncher implements Launcher {
  readonly kind = 'node' as const;
  private readonly live = new Set<NodeProcess>();
  private readonly waiting: ((socket: Socket) => void)[] = [];
  private open = true;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly server: Server,
    private readonly dir: string,
    private readonly options: NodeLauncherOptions,
  ) {
    server.on('connection', (socket) => {
      const take = this.waiting.shift();
      if (take === undefined) socket.destroy();
      else take(socket);
    });
    // A launcher never closed must still not leave its socket directory behind.
    process.once('exit', this.removeDir);
  }

  private readonly removeDir = (): void => {
    rmSync(this.dir, { recursive: true, force: true });
  };

  /** Starts the fallback launcher; with `user`, first checks that sudo lets us run commands as that user. */
  static async start(options: NodeLauncherOptions): Promise<NodeLauncher> {
    if (options.user !== undefined) await checkSudo(options.user);
    const dir = mkdtempSync(join(tmpdir(), 'corral-launcher-'));
    const server = createServer({ allowHalfOpen: false, pauseOnConnect: false });
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(join(dir, 'out.sock'), () => resolve());
      });
    } catch (error) {
      rmSync(dir, { recursive: true, force: true });
      throw new CorralError(LauncherErrorCode.Unavailable, `cannot listen on ${dir}: ${(error as Error).message}`);
    }
    // An idle launcher must not keep Node alive; running children do by themselves.
    server.unref();
    return new NodeLauncher(server, dir, options);
  }

  async launch(request: LaunchRequest, options: LaunchOptions): Promise<LaunchedProcess> {
    checkLaunchRequest(request);
    if (!this.open) throw new CorralError(LauncherErrorCode.Unavailable, 'the launcher is closed');
    if (request.command === '') {
      // spawn() refuses an empty file name outright; execve would say ENOENT, and so do we.
      const failed = new TrackedProcess(0, () => {});
      failed.settle({ exitCode: 127, signal: null, startError: `: ${REASONS.ENOENT}` });
      return failed;
    }
    if (this.options.user !== undefined && request.command.includes('=')) {
      // `env -i NAME=value… command` would take such a command for one more variable.
      const failed = new TrackedProcess(0, () => {});
      failed.settle({
        exitCode: 126,
        signal: null,
        startError: `${request.command}: the Node launcher cannot run a command containing '=' as another user`,
      });
      return failed;
    }
    const [ours, theirs] = await this.socketPair();
    if (!this.open) {
      // close() ran while we waited for the sockets: it has not seen this launch, so do not start it.
      ours.destroy();
      theirs.destroy();
      throw new CorralError(LauncherErrorCode.Unavailable, 'the launcher is closed');
    }
    const user = this.options.user;
    let child: ChildProcess;
    try {
      child =
        user === undefined
          ? spawn(request.command, [...request.args], {
              cwd: request.cwd,
              env: { ...request.env },
              detached: true,
              stdio: ['ignore', theirs, theirs],
            })
          : spawn(
              'sudo',
              [
                '-n',
                '-u',
                user,
                '--',
                'setsid',
                '-w',
                '/bin/sh',
                '-c',
                USER_WRAPPER,
                'corral-launch',
                request.cwd,
              ].concat([request.command], request.args),
              { cwd: '/', env: process.env, detached: true, stdio: ['pipe', theirs, theirs] },
            );
    } catch (error) {
      ours.destroy();
      throw error;
    } finally {
      // The child has its own copy now (spawn returns after exec); ours would hide EOF.
      theirs.destroy();
    }
    if (user !== undefined && child.stdin) {
      child.stdin.on('error', () => {}); // the wrapper may be gone already (sudo refused): its exit tells
      child.stdin.end(encodeEnvForWrapper(request.env));
    }
    const launched = new NodeProcess(child, ours, request, options, this.options);
    this.live.add(launched);
    void launched.done.then(() => this.live.delete(launched));
    return launched.started;
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.open = false;
      const running = [...this.live];
      for (const launched of running) launched.kill();
      // Bounded: a process stuck in uninterruptible sleep must not hang close() forever.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.all(running.map((launched) => launched.done)),
        new Promise((resolve) => {
          timer = setTimeout(resolve, CLOSE_TIMEOUT_MS);
        }),
      ]);
      clearTimeout(timer);
      await new Promise<void>((resolve) => this.server.close(() => resolve()));
      process.removeListener('exit', this.removeDir);
      this.removeDir();
    })();
    return this.closing;
  }

  /** A connected pair of Unix stream sockets: `[ours, theirs]`. Accepts arrive in connect order, so FIFO pairs them. */
  private socketPair(): Promise<[Socket, Socket]> {
    return new Promise((resolve, reject) => {
      let ours: Socket | undefined;
      let connected = false;
      const theirs = connect(join(this.dir, 'out.sock'), () => {
        connected = true;
        if (ours !== undefined) resolve([ours, theirs]);
      });
      const take = (socket: Socket) => {
        ours = socket;
        if (connected) resolve([ours, theirs]);
      };
      this.waiting.push(take);
      theirs.once('error', (error) => {
        // A failed connect is never accepted: give up its place in the queue, or it would take the next one's.
        const at = this.waiting.indexOf(take);
        if (at >= 0) this.waiting.splice(at, 1);
        reject(new CorralError(LauncherErrorCode.Unavailable, `cannot create an output socket: ${error.message}`));
      });
    });
  }
}

/** One launched child and the bookkeeping that turns its events into the launcher contract. */
class NodeProcess {
  /** Resolves with the handed-out process once its pid (or its failure to start) is known. */
  readonly started: Promise<LaunchedProcess>;
  /** Resolves once the exit is settled. */
  readonly done: Promise<void>;
  private resolveStarted!: (process: LaunchedProcess) => void;
  private markDone!: () => void;
  private tracked: TrackedProcess | undefined;
  private pgid = 0;
  private mainExit: ProcessExit | undefined;
  private outputEnded = false;
  private drainTimer: NodeJS.Timeout | undefined;
  private finishing = false;
  private killRequested = false;
  /** User mode: the header line, while it is still being read. */
  private header: Buffer | undefined;

  constructor(
    private readonly child: ChildProcess,
    private readonly output: Socket,
    private readonly request: LaunchRequest,
    private readonly launch: LaunchOptions,
    private readonly options: NodeLauncherOptions,
  ) {
    this.started = new Promise((resolve) => {
      this.resolveStarted = resolve;
    });
    this.done = new Promise((resolve) => {
      this.markDone = resolve;
    });
    if (options.user !== undefined) this.header = Buffer.alloc(0);
    else if (child.pid !== undefined) this.announce(child.pid); // detached: the child leads its own group

    output.on('data', (chunk: Buffer) => this.onData(chunk));
    output.on('end', () => this.onOutputEnd());
    output.on('close', () => this.onOutputEnd());
    output.on('error', () => this.onOutputEnd());
    child.on('error', (error: NodeJS.ErrnoException) => this.onSpawnError(error));
    child.on('exit', (code, signal) => this.onMainExit(exitOf(code, signal)));
  }

  /** SIGKILLs the group now, or as soon as it is known (used by close()). */
  kill(): void {
    this.killRequested = true;
    if (this.pgid > 0 && !this.finishing) void this.signalGroup('SIGKILL');
  }

  private announce(pgid: number): void {
    this.pgid = pgid;
    this.tracked = new TrackedProcess(pgid, (_number, name) => void this.signalGroup(name));
    this.resolveStarted(this.tracked);
    if (this.killRequested) void this.signalGroup('SIGKILL');
  }

  private settle(exit: ProcessExit): void {
    if (this.tracked === undefined) {
      this.tracked = new TrackedProcess(0, () => {});
      this.resolveStarted(this.tracked);
    }
    this.tracked.settle(exit);
    this.markDone();
  }

  private onData(chunk: Buffer): void {
    if (this.header === undefined) {
      this.deliver(chunk);
      return;
    }
    this.header = Buffer.concat([this.header, chunk]);
    // Complete lines before the wrapper's `P<pid>` are sudo's own chatter (e.g. "unable to resolve host"); they are
    // kept for the error message in case the program never starts.
    let lineStart = 0;
    for (let newline = this.header.indexOf(0x0a); newline >= 0; newline = this.header.indexOf(0x0a, lineStart)) {
      const line = this.header.toString('latin1', lineStart, newline);
      lineStart = newline + 1;
      const pid = /^P(\d+)$/.exec(line);
      if (pid === null) continue;
      const rest = this.header.subarray(lineStart);
      this.header = undefined;
      // setsid made the wrapper a session leader and it execs the program: its pid is the program's pid and pgid.
      this.announce(Number(pid[1]));
      if (rest.length > 0) this.deliver(rest);
      if (this.mainExit !== undefined) this.afterMainExit();
      return;
    }
  }

  private deliver(chunk: Buffer): void {
    try {
      this.launch.onOutput(chunk);
    } catch (error) {
      // Keep our own state consistent; surface the callback's bug as an uncaught exception.
      queueMicrotask(() => {
        throw error;
      });
    }
  }

  private onSpawnError(error: NodeJS.ErrnoException): void {
    // spawn failed (program or cwd missing, not executable…): there is no process and no group.
    this.finishing = true;
    this.output.destroy();
    this.settle(startFailure(error, this.request));
  }

  private onMainExit(exit: ProcessExit): void {
    this.mainExit = exit;
    // User mode without a header yet: the header may still be in the socket, or the start failed; the output's
    // EOF or the header decides.
    if (this.header === undefined) this.afterMainExit();
  }

  private afterMainExit(): void {
    if (this.outputEnded) void this.finish();
    else this.drainTimer ??= setTimeout(() => void this.finish(), this.options.drainGraceMs);
  }

  private onOutputEnd(): void {
    if (this.outputEnded) return;
    this.outputEnded = true;
    if (this.header !== undefined) this.failedToStart();
    else if (this.mainExit !== undefined) void this.finish();
  }

  /** User mode, output ended without a `P` header: report the wrapper's (or sudo's) message as a start error. */
  private failedToStart(): void {
    const text = this.header!.toString('utf8').trim();
    this.header = undefined;
    this.finishing = true;
    const match = /^E(12[67]) (.*)$/ms.exec(text);
    const exit: ProcessExit = {
      exitCode: match ? Number(match[1]) : 126,
      signal: null,
      startError: match ? match[2]! : text || 'could not start the program through sudo',
    };
    if (this.mainExit !== undefined) this.settle(exit);
    else this.child.once('exit', () => this.settle(exit));
  }

  /** Output ended or the drain grace passed: kill what is left of the group, wait until it is empty, settle. */
  private async finish(): Promise<void> {
    if (this.finishing) return;
    this.finishing = true;
    clearTimeout(this.drainTimer);
    const pgid = this.pgid;
    const deadline = Date.now() + KILL_GIVE_UP_MS;
    // Through sudo a kill costs a process start: re-send it less often.
    const resend = this.options.user === undefined ? 0 : 200;
    let lastKill = -Infinity;
    while (pgid > 0 && groupAlive(pgid)) {
      if (Date.now() - lastKill >= resend) {
        lastKill = Date.now();
        await this.signalGroup('SIGKILL');
      }
      if (Date.now() > deadline) {
        process.emitWarning(`process group ${pgid} did not die within ${KILL_GIVE_UP_MS} ms`, 'CorralLauncherWarning');
        break;
      }
      await sleep(KILL_RECHECK_MS);
    }
    if (!this.outputEnded) {
      // Everything in the group is gone; collect what is still buffered in the socket, unless a process outside
      // the group (one that called setsid) holds it open.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, FINAL_READ_MS);
        this.output.once('end', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    this.output.destroy();
    this.settle(this.mainExit ?? { exitCode: null, signal: 'SIGKILL' });
  }

  /** kill(-pgid) directly for our own user, through `sudo -u <user> kill` for another. */
  private signalGroup(name: LaunchSignal): Promise<void> {
    const user = this.options.user;
    if (user === undefined) {
      try {
        process.kill(-this.pgid, name);
      } catch {
        // ESRCH: the group is already gone.
      }
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const kill = spawn('sudo', ['-n', '-u', user, '--', 'kill', '-s', name.slice(3), '--', `-${this.pgid}`], {
        stdio: 'ignore',
      });
      kill.on('error', () => resolve());
      kill.on('close', () => resolve());
    });
  }
}

/** The exit reported when spawn itself failed, worded like the native launcher's. */
function startFailure(error: NodeJS.ErrnoException, request: LaunchRequest): ProcessExit {
  const code = error.code ?? 'UNKNOWN';
  let cwdMissing = false;
  if (code === 'ENOENT' || code === 'ENOTDIR') {
    try {
      cwdMissing = !statSync(request.cwd).isDirectory();
    } catch {
      cwdMissing = true;
    }
  }
  const reason = REASONS[code] ?? error.message;
  return {
    exitCode: code === 'ENOENT' || code === 'ENOTDIR' ? 127 : 126,
    signal: null,
    startError: cwdMissing
      ? `cannot change directory to '${request.cwd}': ${REASONS.ENOENT}`
      : `${request.command}: ${reason}`,
  };
}

const REASONS: Readonly<Record<string, string>> = {
  ENOENT: 'No such file or directory',
  ENOTDIR: 'Not a directory',
  EACCES: 'Permission denied',
  ENOEXEC: 'Exec format error',
  EISDIR: 'Is a directory',
  E2BIG: 'Argument list too long',
};

/** Fails with `CORRAL_E_LAUNCHER_UNAVAILABLE` unless `sudo -n -u <user>` runs a command. */
async function checkSudo(user: string): Promise<void> {
  const result = await new Promise<{ code: number | null; text: string; error?: Error }>((resolve) => {
    const child = spawn('sudo', ['-n', '-u', user, '--', 'true'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let text = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (t: string) => {
      text += t;
    });
    child.on('error', (error) => resolve({ code: null, text, error }));
    child.on('close', (code) => resolve({ code, text }));
  });
  if (result.code !== 0) {
    const why = result.error?.message ?? (result.text.trim() || `exit code ${result.code}`);
    throw new CorralError(LauncherErrorCode.Unavailable, `cannot run commands as ${user} through sudo: ${why}`);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
