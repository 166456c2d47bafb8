/**
 * @module `corral up`: a whole farm on this machine. Starts `corral server` on SQLite in the data directory and N
 * `corral worker`s as supervised child processes, prints where the farm is, and on Ctrl-C stops it in order:
 * workers drain first (their tasks finish or are canceled and reported), then the server. A second Ctrl-C makes
 * the workers hurry (cancel now) but never skips cleanup. A crashed child is restarted with backoff. Running it
 * again resumes the farm where it was: the database, tokens and worker identities live in the data directory.
 *
 * The children run in their own process groups, so a terminal's Ctrl-C reaches only this supervisor, which then
 * stops them in the right order; each also watches its stdin (a pipe from here) and stops by itself should this
 * process die without telling it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, openSync } from 'node:fs';
import { availableParallelism, hostname } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_LISTEN, dataDirOf, dataFiles, ensureDataDir, readIfExists } from '../../farm/data-dir.js';
import { ExitCode } from '../main.js';
import { stderr, stdout } from '../output.js';

export interface UpOptions {
  readonly dataDir?: string | undefined;
  readonly listen?: string | undefined;
  readonly workers?: string | undefined;
  readonly logLevel?: string | undefined;
}

interface Child {
  readonly name: string;
  args: readonly string[];
  /** Variables set for it (a value of undefined removes one). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  process?: ChildProcess;
  exited?: Promise<number | null>;
  restarts: number;
}

const corralEntry = () => process.argv[1]!;

export async function runUp(options: UpOptions): Promise<number> {
  const dataDir = dataDirOf({ dataDir: options.dataDir, env: process.env });
  const files = dataFiles(dataDir);
  const listen = options.listen ?? DEFAULT_LISTEN;
  const count = options.workers === undefined ? availableParallelism() : Number(options.workers);
  if (!Number.isInteger(count) || count < 0 || count > 256) {
    stderr(`error: --workers must be a whole number from 0 to 256, got '${options.workers}'.\n`);
    return ExitCode.Usage;
  }
  ensureDataDir(dataDir);
  const logs = join(dataDir, 'logs');
  mkdirSync(logs, { recursive: true, mode: 0o700 });
  const level = options.logLevel ? ['--log-level', options.logLevel] : [];

  let stopping = false;
  const start = (child: Child) => {
    const log = openSync(join(logs, `${child.name}.out`), 'a', 0o600);
    const env: NodeJS.ProcessEnv = { ...process.env, CORRAL_EXIT_WITH_STDIN: '1' };
    for (const [key, value] of Object.entries(child.env ?? {})) {
      if (value === undefined) delete env[key];
      else env[key] = value;
    }
    const proc = spawn(process.execPath, [corralEntry(), ...child.args], {
      detached: true,
      stdio: ['pipe', log, log],
      env,
    });
    child.process = proc;
    child.exited = new Promise((resolve) => proc.on('exit', (code) => resolve(code)));
    proc.on('exit', (code, signal) => {
      if (stopping) return;
      // 75: another daemon holds its data directory; 78: bad configuration. Retrying would not help.
      if (code === 75 || code === 78) {
        stderr(`corral up: ${child.name} cannot start (exit ${code}); see ${join(logs, `${child.name}.out`)}\n`);
        return;
      }
      child.restarts++;
      const delay = Math.min(30_000, 500 * 2 ** Math.min(child.restarts, 6));
      stderr(`corral up: ${child.name} exited (${signal ?? code}); restarting in ${delay / 1000}s\n`);
      setTimeout(() => {
        if (!stopping) start(child);
      }, delay).unref();
    });
  };

  const serverArgs = (address: string) =>
    ['server', '--data-dir', dataDir, '--listen', address, '--log-file', files.serverLog, ...level] as const;
  const server: Child = {
    name: 'server',
    args: serverArgs(listen),
    restarts: 0,
  };
  start(server);
  const ready = await waitForServer(files.serverInfo, server);
  if (!ready) {
    stderr(`corral up: the server did not start; see ${join(logs, 'server.out')} and ${files.serverLog}\n`);
    stopping = true;
    server.process?.kill('SIGTERM');
    await server.exited;
    return ExitCode.Failed;
  }
  // A restarted server must come back where the workers (and users) know it: pin the port it got (`:0` picks any).
  const actual = new URL(ready.url);
  server.args = serverArgs(`${actual.hostname}:${actual.port}`);
  const token = readIfExists(files.adminToken)?.trim();
  const workers: Child[] = [];
  for (let i = 1; i <= count; i++) {
    const name = `${hostname().split('.')[0]}-${i}`;
    const workerDir = join(files.workersDir, String(i));
    mkdirSync(workerDir, { recursive: true, mode: 0o700 });
    workers.push({
      name: `worker-${i}`,
      args: [
        'worker',
        '--server',
        ready.url,
        '--name',
        name,
        '--data-dir',
        workerDir,
        '--log-file',
        join(logs, `worker-${i}.log`),
        ...level,
      ],
      // The token's file, not the token: a command line is readable by every user of the machine (ps).
      env: { CORRAL_TOKEN: undefined, CORRAL_TOKEN_FILE: token ? files.adminToken : undefined },
      restarts: 0,
    });
  }
  for (const worker of workers) start(worker);
  stdout(
    [
      `Corral farm up: ${ready.url} with ${count} worker${count === 1 ? '' : 's'} (data in ${dataDir})`,
      token ? `Admin token: ${files.adminToken}` : '',
      // The token rides in the fragment, which browsers never send to a server; the dashboard removes it at once.
      `Dashboard:     ${ready.url}/${token ? `#token=${encodeURIComponent(token)}` : ''}`,
      'Submit a job:  corral submit examples/render-frames.yaml --wait',
      'Press Ctrl-C to stop (workers finish or cancel their tasks first).',
      '',
    ]
      .filter((line, i, all) => line !== '' || i === all.length - 1)
      .join('\n'),
  );

  return new Promise<number>((resolve) => {
    let signals = 0;
    const stop = async () => {
      signals++;
      if (signals > 1) {
        stderr('corral up: hurrying: workers cancel their tasks now (cleanup still runs)\n');
        for (const w of workers) w.process?.kill('SIGTERM');
        return;
      }
      stopping = true;
      stderr('corral up: stopping: workers drain, then the server stops\n');
      for (const w of workers) w.process?.kill('SIGTERM');
      await Promise.all(workers.map((w) => w.exited));
      server.process?.kill('SIGTERM');
      const code = await server.exited;
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve(code === 0 ? ExitCode.Ok : ExitCode.Failed);
    };
    const onSignal = () => void stop();
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

/** Waits until the server wrote its address (it listens then), or it exited, or 30 s passed. */
async function waitForServer(infoFile: string, server: Child): Promise<{ url: string } | undefined> {
  let exited = false;
  void server.exited?.then(() => {
    exited = true;
  });
  const pid = server.process?.pid;
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && !exited) {
    try {
      const info = JSON.parse(readIfExists(infoFile) ?? 'null') as { url?: string; pid?: number } | null;
      if (info?.url && info.pid === pid) return { url: info.url };
    } catch {}
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return undefined;
}
