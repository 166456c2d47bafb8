/**
 * The scheduler across processes: two schedulers on one PostgreSQL database with many concurrent claimers never
 * hand one task to two workers, and a scheduler killed with SIGKILL between a claim and its report loses nothing.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Farm } from '../../../src/farm/scheduler/farm.js';
import { assertCountersExact, BACKENDS, freshDatabase, job, ScriptedWorker, skipReason } from './backends.js';

const fixture = fileURLToPath(new URL('./fixtures/claimer.ts', import.meta.url));

const many = (n: number) =>
  job(`name: Many
steps:
- name: Work
  parameterSpace:
    taskParameterDefinitions: [{name: N, type: INT, range: "1-${n}"}]
  script: {actions: {onRun: {command: echo}}}
`);

/** Starts the fixture; resolves its JSON lines once it exits, or at the first line with `untilFirstLine`. */
function claimer(args: string[], untilFirstLine = false) {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: unknown[] = [];
  let buffer = '';
  const result = new Promise<unknown[]>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      buffer += chunk;
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        lines.push(JSON.parse(buffer.slice(0, nl)));
        buffer = buffer.slice(nl + 1);
        if (untilFirstLine) resolve(lines);
      }
    });
    child.on('exit', (code, signal) =>
      code === 0 || untilFirstLine ? resolve(lines) : reject(new Error(`claimer exited ${code ?? signal}`)),
    );
  });
  return { child, result };
}

describe('two schedulers on one PostgreSQL database', { skip: skipReason('postgres') }, () => {
  it('never give one task to two workers', { timeout: 120_000 }, async () => {
    const { url } = await freshDatabase('postgres');
    const setup = await Farm.open({ database: url });
    const { jobId } = await setup.submitJob({ template: many(1500) }, 'user:test');
    const [a, b] = await Promise.all([
      claimer([url, 'run', 'a', '20']).result,
      claimer([url, 'run', 'b', '20']).result,
    ]);
    const assignments = [...a!, ...b!].filter((l): l is { worker: string; task: number; attempt: number } =>
      Object.hasOwn(l as object, 'task'),
    );
    const byTask = new Map<number, string[]>();
    for (const { task, worker } of assignments) byTask.set(task, [...(byTask.get(task) ?? []), worker]);
    const twice = [...byTask].filter(([, workers]) => workers.length > 1);
    assert.deepEqual(twice, [], 'tasks given to more than one worker');
    assert.equal(byTask.size, 1500);
    assert.ok(new Set(a!.map((l) => (l as { worker?: string }).worker?.[0])).has('a'));
    assert.ok(new Set(b!.map((l) => (l as { worker?: string }).worker?.[0])).has('b'), 'both schedulers claimed');
    const detail = await setup.getJob(jobId);
    assert.equal(detail.state, 'succeeded');
    assert.equal(detail.counts.succeeded, 1500);
    await assertCountersExact(setup);
    await setup.close();
  });
});

for (const backend of BACKENDS) {
  describe(`a scheduler killed between a claim and its report, on ${backend}`, { skip: skipReason(backend) }, () => {
    it('loses nothing: the claimed tasks return to ready and complete', { timeout: 60_000 }, async () => {
      const { url, cleanup } = await freshDatabase(backend);
      const setup = await Farm.open({ database: url });
      const { jobId } = await setup.submitJob({ template: many(5) }, 'user:test');
      await setup.close();
      const { child, result } = claimer([url, 'claim', 'victim', '3'], true);
      const [first] = (await result) as [{ workerId: number; claimed: number[] }];
      assert.equal(first.claimed.length, 3);
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));

      const farm = await Farm.open({ database: url, workerTimeoutMs: 1000 });
      try {
        for (const taskId of first.claimed) assert.equal((await farm.getTask(jobId, taskId)).state, 'assigned');
        await assertCountersExact(farm);
        // The victim's worker falls silent: after its lease its tasks go back to ready, attempts not spent.
        await new Promise((resolve) => setTimeout(resolve, 1100));
        assert.deepEqual(await farm.sweep(), [first.workerId]);
        for (const taskId of first.claimed) {
          const task = await farm.getTask(jobId, taskId);
          assert.equal(task.state, 'ready');
        }
        const rescuer = await ScriptedWorker.register(farm, 'rescuer');
        const done = await rescuer.runAll();
        assert.equal(done.length, 5);
        const detail = await farm.getJob(jobId);
        assert.equal(detail.state, 'succeeded');
        await assertCountersExact(farm);
      } finally {
        await farm.close();
        cleanup();
      }
    });
  });
}
