/**
 * The farm end to end on this machine: `corral up` with 2 workers runs a job of 2,000 tasks of `true`; printed beside
 * a bare loop spawning `true` from Node in the same run (the cost of process creation alone). Also: the time from
 * submitting a 1-task job to its task's start, and an idle worker's memory.
 *
 *   node --import tsx bench/farm.ts [--tasks 2000] [--workers 2]
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createClient } from '../src/farm/client/index.js';

const { values } = parseArgs({
  options: { tasks: { type: 'string', default: '2000' }, workers: { type: 'string', default: '2' } },
});
const TASKS = Number(values.tasks);
const WORKERS = Number(values.workers);
const root = new URL('..', import.meta.url).pathname;

const job = (n: number, name: string) => `specificationVersion: jobtemplate-2023-09
name: ${name}
steps:
- name: Nothing
  parameterSpace:
    taskParameterDefinitions: [{ name: N, type: INT, range: "1-${n}" }]
  script: { actions: { onRun: { command: "true" } } }
`;

/** Processes spawned per second by a plain sequential loop (Node's spawnSync of `true`). */
function spawnRate(count: number): number {
  const started = performance.now();
  for (let i = 0; i < count; i++) spawnSync('true');
  return count / ((performance.now() - started) / 1000);
}

const rssMiB = (pid: number) =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? Number.NaN) / 1024;

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'corral-bench-farm-'));
  const up: ChildProcess = spawn(
    process.execPath,
    [join(root, 'bin/corral.js'), 'up', '--data-dir', dataDir, '--listen', '127.0.0.1:0', '--workers', String(WORKERS)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let output = '';
  up.stdout!.setEncoding('utf8').on('data', (d: string) => {
    output += d;
  });
  const exited = new Promise((resolve) => up.on('exit', resolve));
  try {
    const deadline = Date.now() + 30_000;
    while (!output.includes('Corral farm up') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const url = /Corral farm up: (\S+)/.exec(output)?.[1];
    if (!url) throw new Error(`corral up did not start: ${output}`);
    const client = createClient({ url, token: readFileSync(join(dataDir, 'admin.token'), 'utf8').trim() });
    // Let the workers register and settle into their idle long-poll.
    while ((await client.listWorkers()).workers.length < WORKERS) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 2000));
    const workerPids = Array.from({ length: WORKERS }, (_, i) =>
      Number(readFileSync(join(dataDir, 'workers', String(i + 1), 'worker.pid'), 'utf8')),
    );
    const idleRss = Math.max(...workerPids.map(rssMiB));

    // Submission to the first task's start, on an idle farm (median of 5).
    const latencies: number[] = [];
    for (let i = 0; i < 5; i++) {
      const submitted = Date.now();
      const { jobId } = await client.submitJob({ template: job(1, `first ${i}`) });
      let startedAt: number | undefined;
      while (startedAt === undefined) {
        const { tasks } = await client.listTasks({ jobId });
        startedAt = tasks[0]?.startedAt;
        if (startedAt === undefined) await new Promise((r) => setTimeout(r, 5));
      }
      latencies.push(startedAt - submitted);
      while ((await client.getJob({ jobId })).state !== 'succeeded') await new Promise((r) => setTimeout(r, 20));
    }
    latencies.sort((a, b) => a - b);

    const started = performance.now();
    const { jobId } = await client.submitJob({ template: job(TASKS, 'many') });
    for (;;) {
      const detail = await client.getJob({ jobId });
      if (detail.state === 'succeeded' || detail.state === 'failed') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const farmRate = TASKS / ((performance.now() - started) / 1000);
    const bare = spawnRate(Math.min(TASKS, 1000));
    console.log(
      `farm: ${WORKERS} workers ran ${TASKS} tasks of 'true' at ${farmRate.toFixed(0)} tasks/s; ` +
        `a bare spawn loop: ${bare.toFixed(0)} processes/s; farm/spawn ${((100 * farmRate) / bare).toFixed(0)}% (target ≥ 40%)`,
    );
    console.log(
      `submit → first task start: median ${latencies[2]} ms (min ${latencies[0]}, max ${latencies[4]}) (target ≤ 100 ms)`,
    );
    console.log(`idle worker RSS: ${idleRss.toFixed(0)} MiB (target ≤ 80 MiB)`);
  } finally {
    up.kill('SIGINT');
    await exited;
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
