/**
 * @module Runs a fixture script from `fixtures/` in a child process (`node --import tsx`) and reads the JSON lines
 * it prints, for tests that need real processes: locks, signals, exits.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface Fixture {
  readonly child: ChildProcess;
  readonly pid: number;
  /** The next JSON line printed (after those already taken), or a rejection after `timeoutMs`. */
  next(timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Resolves when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
  /** Writes a line to its stdin. */
  send(line: string): void;
}

/** Starts `fixtures/<name>.ts` with `args`. */
export function startFixture(name: string, args: readonly string[] = []): Fixture {
  const script = fileURLToPath(new URL(`./fixtures/${name}.ts`, import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  const lines: Record<string, unknown>[] = [];
  const waiters: ((line: Record<string, unknown>) => void)[] = [];
  let buffered = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    for (let at = buffered.indexOf('\n'); at !== -1; at = buffered.indexOf('\n')) {
      const line = JSON.parse(buffered.slice(0, at)) as Record<string, unknown>;
      buffered = buffered.slice(at + 1);
      const waiter = waiters.shift();
      if (waiter) waiter(line);
      else lines.push(line);
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stderr })),
  );
  return {
    child,
    pid: child.pid!,
    exited,
    next(timeoutMs = 20_000) {
      const ready = lines.shift();
      if (ready) return Promise.resolve(ready);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no line from fixture ${name} within ${timeoutMs} ms; stderr: ${stderr}`)),
          timeoutMs,
        );
        waiters.push((line) => {
          clearTimeout(timer);
          resolve(line);
        });
        void exited.then(({ code, signal }) => {
          clearTimeout(timer);
          reject(new Error(`fixture ${name} exited (${code ?? signal}) before printing; stderr: ${stderr}`));
        });
      });
    },
    send(line) {
      child.stdin!.write(`${line}\n`);
    },
  };
}
