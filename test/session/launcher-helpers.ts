/** @module Helpers shared by the launcher tests: running a request to completion, and /proc inspection. */

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { LaunchedProcess, Launcher, LaunchRequest, ProcessExit } from '../../src/session/launcher/index.js';
import { nativeLauncherAvailable } from '../../src/session/launcher/index.js';

/** Absolute path of a file in test/session/fixtures. */
export function fixture(name: string): string {
  return fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
}

/** The environment most tests give their processes. */
export const ENV: Readonly<Record<string, string>> = { PATH: '/usr/bin:/bin', LC_ALL: 'C' };

/** Both launcher kinds, with a reason to skip the native one where it cannot exist. */
export const KINDS = ['native', 'node'] as const;
export type Kind = (typeof KINDS)[number];

/**
 * Why the native launcher's tests are skipped, or undefined when they run. A machine without a C compiler
 * legitimately has no binary; with a compiler, a missing binary is a failure (the build was skipped).
 */
export function nativeSkipReason(): string | undefined {
  if (nativeLauncherAvailable()) return undefined;
  const cc = spawnSync('cc', ['--version'], { stdio: 'ignore' });
  if (cc.error) return 'no C compiler on this machine, so no native launcher (the Node fallback is tested)';
  assert.fail('the native launcher is not built although cc exists: run `node scripts/build.mjs`');
}

/** A launched process with its output collected. */
export interface Run {
  readonly process: LaunchedProcess;
  /** Output received so far. */
  output(): Buffer;
  /** Output received so far, as text. */
  text(): string;
  /** Resolves once the output contains `marker`. */
  waitFor(marker: string, timeoutMs?: number): Promise<void>;
}

/** Launches a request and collects its output. */
export async function start(launcher: Launcher, request: Partial<LaunchRequest> & { command: string }): Promise<Run> {
  const chunks: Buffer[] = [];
  const watchers: (() => void)[] = [];
  const process = await launcher.launch(
    { args: [], cwd: '/tmp', env: ENV, ...request },
    {
      onOutput(chunk) {
        assert.ok(Buffer.isBuffer(chunk) && chunk.length > 0, 'output arrives as non-empty Buffers');
        chunks.push(Buffer.from(chunk));
        for (const watch of watchers.splice(0)) watch();
      },
    },
  );
  const output = () => Buffer.concat(chunks);
  const text = () => output().toString('utf8');
  return {
    process,
    output,
    text,
    waitFor(marker, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no ${JSON.stringify(marker)} in ${JSON.stringify(text())}`)),
          timeoutMs,
        );
        const check = () => {
          if (text().includes(marker)) {
            clearTimeout(timer);
            resolve();
          } else {
            watchers.push(check);
          }
        };
        check();
      });
    },
  };
}

/** Launches a request and waits for its exit. */
export async function run(
  launcher: Launcher,
  request: Partial<LaunchRequest> & { command: string },
): Promise<{ exit: ProcessExit; output: Buffer; text: string; pid: number }> {
  const started = await start(launcher, request);
  const exit = await started.process.exit;
  return { exit, output: started.output(), text: started.text(), pid: started.process.pid };
}

/** One process as /proc/<pid>/stat shows it (parsed independently of the code under test). */
export interface ProcEntry {
  readonly pid: number;
  readonly state: string;
  readonly pgid: number;
  readonly session: number;
  readonly ttyNr: number;
}

/** Reads /proc/<pid>/stat: fields after the command name, which ends at the last ')'. */
export function procStat(pid: number): ProcEntry | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { pid, state: f[0]!, pgid: Number(f[2]), session: Number(f[3]), ttyNr: Number(f[4]) };
}

/**
 * Processes in group `pgid` (field 5 of /proc/<pid>/stat). Zombies are counted unless `includeZombies` is false:
 * the native launcher reaps everything it adopts, the Node fallback cannot (see node-launcher.ts).
 */
export function groupMembers(pgid: number, includeZombies = true): ProcEntry[] {
  const out: ProcEntry[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = procStat(Number(name));
    if (stat && stat.pgid === pgid && (includeZombies || stat.state !== 'Z')) out.push(stat);
  }
  return out;
}

/** The real uid of a process, from /proc/<pid>/status. */
export function procUid(pid: number): number | undefined {
  try {
    const match = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Polls `predicate` until true or `timeoutMs` passes. */
export async function eventually(predicate: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Starts fixtures/owner.ts (a Node process owning a native launcher with a sleeping group), SIGKILLs that Node
 * process, and checks that the launcher noticed (stdin EOF), killed the group and exited.
 */
export async function assertOwnerDeathCleansUp(user?: string): Promise<void> {
  const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
  const owner = spawn(process.execPath, ['--import', 'tsx', fixture('owner.ts'), 'native', ...(user ? [user] : [])], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((resolve, reject) => {
    let text = '';
    owner.stdout.setEncoding('utf8');
    owner.stdout.on('data', (chunk: string) => {
      text += chunk;
      if (text.includes('\n')) resolve(text.slice(0, text.indexOf('\n')));
    });
    owner.on('exit', (code) => reject(new Error(`owner exited early (${code}): ${text}`)));
  });
  const { launcherPid, pgid } = JSON.parse(line) as { launcherPid: number; pgid: number };
  assert.ok(groupMembers(pgid, false).length >= 2, 'the sleeper and its child run');
  owner.kill('SIGKILL');
  // The launcher's parent died too, so nobody may reap it here: gone or a zombie both mean it exited.
  const running = (pid: number) => {
    const stat = procStat(pid);
    return stat !== undefined && stat.state !== 'Z';
  };
  await eventually(() => groupMembers(pgid).length === 0, 5000, 'the orphaned group to be killed');
  await eventually(() => !running(launcherPid), 5000, 'the launcher to exit');
}
