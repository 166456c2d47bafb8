/**
 * A server outage with real processes: `corral server` and `corral worker` run separately; while a task prints a
 * line every 50 ms the server is killed with SIGKILL and stays away for a while. The task keeps running, the worker
 * keeps its results and lines in its outbox, and once the server is back on the same address every line arrives, in
 * order, exactly once, and the task is recorded succeeded. Then SIGTERM drains the worker: exit 0, nothing left.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createClient } from '../../src/farm/client/index.js';
import { corralBin, repoRoot } from '../helpers/cli.js';
import { processesMatching } from '../helpers/processes.js';

// As long as the issue asks: the server stays away longer than the task runs, so its result waits in the outbox.
const OUTAGE_MS = 30_000;

const freePort = () =>
  new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });

function daemon(args: string[]): { child: ChildProcess; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [corralBin, ...args], {
    cwd: repoRoot,
    env: { ...process.env, CORRAL_SERVER: '', CORRAL_TOKEN: '', CORRAL_DATA_DIR: '' },
    stdio: 'ignore',
  });
  return { child, exited: new Promise((resolve) => child.on('exit', (code) => resolve(code))) };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('a server outage under a running task', { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'corral-outage-'));
  const serverDir = join(dir, 'server');
  const workerDir = join(dir, 'worker');
  const children: ChildProcess[] = [];
  after(() => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('loses no line and no result, and the worker drains cleanly afterwards', async () => {
    const listen = `127.0.0.1:${await freePort()}`;
    const startServer = () => {
      const server = daemon(['server', '--data-dir', serverDir, '--listen', listen, '--log-level', 'warn']);
      children.push(server.child);
      return server;
    };
    let server = startServer();
    const url = `http://${listen}`;
    const token = await until('the admin token', async () =>
      readFileSync(join(serverDir, 'admin.token'), 'utf8').trim(),
    );
    const client = createClient({ url, token });
    await until('the server', () => client.health());
    const worker = daemon(['worker', '--server', url, '--token', token, '--name', 'steady', '--data-dir', workerDir]);
    children.push(worker.child);

    const { jobId } = await client.submitJob({
      template: `specificationVersion: jobtemplate-2023-09
name: Printer
steps:
- name: Print
  script: {actions: {onRun: {command: sh, args: ["-c", "i=1; while [ $i -le 200 ]; do echo line $i; i=$((i+1)); sleep 0.05; done"]}}}
`,
    });
    await until('the task to print', async () => ((await client.readLogs({ jobId })).length > 0 ? true : undefined));
    server.child.kill('SIGKILL');
    await server.exited;
    await new Promise((r) => setTimeout(r, OUTAGE_MS));
    server = startServer();
    await until('the server back', () => client.health());
    const job = await until(
      'the job to finish',
      async () => {
        const detail = await client.getJob({ jobId });
        return detail.state === 'succeeded' || detail.state === 'failed' ? detail : undefined;
      },
      60_000,
    );
    assert.equal(job.state, 'succeeded');
    const lines: string[] = [];
    let after: number | undefined;
    for (;;) {
      const chunks = await client.readLogs({ jobId, ...(after !== undefined ? { after } : {}), limit: 1000 });
      if (chunks.length === 0) break;
      for (const chunk of chunks) for (const line of chunk.lines) lines.push(line.text);
      after = chunks[chunks.length - 1]!.cursor;
    }
    const printed = lines.filter((l) => /^line \d+$/.test(l));
    assert.deepEqual(
      printed,
      Array.from({ length: 200 }, (_, i) => `line ${i + 1}`),
    );
    const [task] = (await client.listTasks({ jobId })).tasks;
    assert.equal(task!.attempts, 1, 'the task ran once');

    worker.child.kill('SIGTERM');
    assert.equal(await worker.exited, 0);
    const { workers } = await client.listWorkers();
    assert.equal(workers[0]!.state, 'offline');
    // No process of the job or the worker is left.
    const left = processesMatching((commandLine) => commandLine.includes(workerDir));
    assert.deepEqual(left, []);
    server.child.kill('SIGTERM');
    assert.equal(await server.exited, 0);
  });

  it('a second SIGTERM hurries a draining worker: its task is canceled at once, no process is left', async () => {
    const listen = `127.0.0.1:${await freePort()}`;
    const dataDir = join(dir, 'server2');
    const server = daemon(['server', '--data-dir', dataDir, '--listen', listen, '--log-level', 'warn']);
    children.push(server.child);
    const url = `http://${listen}`;
    const token = await until('the admin token', async () => readFileSync(join(dataDir, 'admin.token'), 'utf8').trim());
    const client = createClient({ url, token });
    await until('the server', () => client.health());
    const worker = daemon([
      'worker',
      '--server',
      url,
      '--token',
      token,
      '--name',
      'hurried',
      '--data-dir',
      join(dir, 'w2'),
    ]);
    children.push(worker.child);
    const { jobId } = await client.submitJob({
      template: `specificationVersion: jobtemplate-2023-09
name: Long
steps:
- name: Wait
  script: {actions: {onRun: {command: sleep, args: ["31.7"]}}}
`,
    });
    await until('the task to run', async () =>
      (await client.listTasks({ jobId })).tasks[0]?.state === 'running' ? true : undefined,
    );
    const sleepers = () => processesMatching((commandLine) => commandLine === 'sleep\u000031.7\u0000');
    // Reported running as it starts: the process may still be on its way to exec.
    await until('the sleep process', async () => (sleepers().length === 1 ? true : undefined));
    worker.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(worker.child.exitCode, null, 'the first signal drains: the task may finish');
    const hurried = Date.now();
    worker.child.kill('SIGTERM');
    const code = await worker.exited;
    assert.ok(Date.now() - hurried < 15_000, 'the second signal cut the wait short');
    assert.ok(code === 0 || code === 143, `exit ${code}`);
    assert.deepEqual(sleepers(), []);
    // The canceled task goes back to ready for another worker, without spending a retry.
    const [task] = (await client.listTasks({ jobId })).tasks;
    assert.equal(task!.state, 'ready');
    server.child.kill('SIGTERM');
    assert.equal(await server.exited, 0);
  });
});
