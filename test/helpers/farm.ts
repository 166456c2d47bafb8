/**
 * @module A whole local farm for end-to-end tests: `corral up` (server on SQLite and N workers, as users run it) in a
 * temporary data directory on a free loopback port, with a client holding the farm's admin token.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CorralClient, createClient } from '../../src/farm/client/index.js';
import { corralBin } from './cli.js';

export interface LocalFarm {
  readonly url: string;
  readonly token: string;
  readonly dataDir: string;
  readonly client: CorralClient;
  /** The dashboard link `corral up` printed (it signs the browser in). */
  readonly dashboard: string;
  /** Everything `corral up` printed so far (for failure messages). */
  output(): string;
  /** Stops the farm as Ctrl-C would (workers drain, then the server) and removes its directory. */
  stop(): Promise<void>;
}

const waitForExit = (child: ChildProcess, ms: number) =>
  new Promise<boolean>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve(true);
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });

/**
 * Starts `corral up --workers N` and waits until it says where the farm is.
 * @throws when the farm does not come up within 30 s (with what it printed).
 */
export async function startLocalFarm(options: { workers?: number; env?: NodeJS.ProcessEnv } = {}): Promise<LocalFarm> {
  const dataDir = mkdtempSync(join(tmpdir(), 'corral-farm-'));
  const child = spawn(
    process.execPath,
    [corralBin, 'up', '--data-dir', dataDir, '--listen', '127.0.0.1:0', '--workers', String(options.workers ?? 2)],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.env } },
  );
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`corral up did not start within 30 s:\n${output}`)), 30_000);
    const check = () => {
      const match = /Corral farm up: (http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`corral up exited (${code}):\n${output}`));
    });
  });
  const token = readFileSync(join(dataDir, 'admin.token'), 'utf8').trim();
  const dashboard = /Dashboard: +(\S+)/.exec(output)?.[1] ?? '';
  let stopped: Promise<void> | undefined;
  return {
    url,
    token,
    dataDir,
    client: createClient({ url, token }),
    dashboard,
    output: () => output,
    stop() {
      stopped ??= (async () => {
        child.kill('SIGINT');
        if (!(await waitForExit(child, 20_000))) {
          // Ctrl-C twice makes the workers hurry; cleanup still runs.
          child.kill('SIGINT');
          if (!(await waitForExit(child, 10_000))) child.kill('SIGKILL');
        }
        rmSync(dataDir, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}
