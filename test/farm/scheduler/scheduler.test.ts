/**
 * The scheduler on SQLite and PostgreSQL: states and counters, dependencies, host requirements, priorities, retries,
 * blocking, leases, cancel/suspend/requeue, idempotent syncs, and many concurrent workers without double assignment.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BACKENDS, job, openFarm, ScriptedWorker, skipReason } from './backends.js';

const chain = job(`name: Chain
steps:
- name: A
  parameterSpace:
    taskParameterDefinitions: [{name: N, type: INT, range: "1-3"}]
  script: {actions: {onRun: {command: echo}}}
- name: B
  dependencies: [{dependsOn: A}]
  script: {actions: {onRun: {command: echo}}}
- name: C
  dependencies: [{dependsOn: A}]
  script: {actions: {onRun: {command: echo}}}
- name: D
  dependencies: [{dependsOn: B}, {dependsOn: C}]
  script: {actions: {onRun: {command: echo}}}
`);

const many = (n: number, name = 'Many') =>
  job(`name: ${name}
steps:
- name: Work
  parameterSpace:
    taskParameterDefinitions: [{name: N, type: INT, range: "1-${n}"}]
  script: {actions: {onRun: {command: echo}}}
`);

for (const backend of BACKENDS) {
  describe(`scheduler on ${backend}`, { skip: skipReason(backend) }, () => {
    it('runs a diamond of dependencies in order and keeps every counter exact', async () => {
      const { farm, done } = await openFarm(backend);
      try {
        const { jobId, taskCount } = await farm.submitJob({ template: chain }, 'user:test');
        assert.equal(taskCount, 6);
        let detail = await farm.getJob(jobId);
        assert.equal(detail.state, 'queued');
        assert.deepEqual(
          detail.steps.map((s) => [s.name, s.state]),
          [
            ['A', 'ready'],
            ['B', 'pending'],
            ['C', 'pending'],
            ['D', 'pending'],
          ],
        );
        const worker = await ScriptedWorker.register(farm, 'w1');
        const order: string[] = [];
        let reply = await worker.sync({ wantWork: 8 });
        while (worker.held.length > 0) {
          for (const a of reply.assignments) order.push(a.stepName);
          const finish = Object.fromEntries(worker.held.map((id) => [id, 'succeeded' as const]));
          reply = await worker.sync({ finish, running: [], wantWork: 8 });
        }
        assert.deepEqual(order.slice(0, 3), ['A', 'A', 'A']);
        assert.deepEqual(order.slice(3, 5).sort(), ['B', 'C']);
        assert.equal(order[5], 'D');
        detail = await farm.getJob(jobId);
        assert.equal(detail.state, 'succeeded');
        assert.ok(detail.steps.every((s) => s.state === 'succeeded'));
        const events = await farm.listEvents({ jobId, limit: 5000 });
        assert.ok(events.some((e) => e.kind === 'job' && e.from === 'queued' && e.to === 'running'));
        assert.ok(events.some((e) => e.kind === 'job' && e.to === 'succeeded'));
        assert.ok(
          events.filter((e) => e.kind === 'task' && e.to === 'succeeded').every((e) => e.actor === 'worker:w1'),
        );
      } finally {
        await done();
      }
    });

    it('gives a step with host requirements only to workers that meet them', async () => {
      const { farm, done } = await openFarm(backend);
      try {
        const { jobId } = await farm.submitJob(
          {
            template: job(`name: GPU
steps:
- name: Render
  hostRequirements:
    amounts: [{name: amount.worker.gpu, min: 1}, {name: amount.worker.vcpu, min: 4, max: 64}]
    attributes: [{name: attr.worker.os.family, anyOf: [linux]}, {name: attr.studio.site, allOf: [paris, night]}]
  script: {actions: {onRun: {command: echo}}}
`),
          },
          'user:test',
        );
        const small = await ScriptedWorker.register(farm, 'small', {
          amounts: { 'amount.worker.vcpu': 2, 'amount.worker.gpu': 1 },
          attributes: { 'attr.worker.os.family': ['linux'], 'attr.studio.site': ['paris', 'night'] },
        });
        const wrongSite = await ScriptedWorker.register(farm, 'day', {
          amounts: { 'amount.worker.vcpu': 8, 'amount.worker.gpu': 1 },
          attributes: { 'attr.worker.os.family': ['linux'], 'attr.studio.site': ['paris'] },
        });
        const good = await ScriptedWorker.register(farm, 'good', {
          amounts: { 'amount.worker.vcpu': 8, 'amount.worker.gpu': 2 },
          attributes: { 'attr.worker.os.family': ['linux'], 'attr.studio.site': ['paris', 'night', 'extra'] },
        });
        assert.equal((await small.sync()).assignments.length, 0);
        assert.equal((await wrongSite.sync()).assignments.length, 0);
        const reply = await good.sync();
        assert.equal(reply.assignments.length, 1);
        assert.equal(reply.assignments[0]!.jobId, jobId);
      } finally {
        await done();
      }
    });

    it('never hands a step that just became ready to a worker its host requirements were not checked against', async () => {
      const { farm, done } = await openFarm(backend);
      try {
        const { jobId } = await farm.submitJob(
          {
            template: job(`name: Then big
steps:
- name: Small
  script: {actions: {onRun: {command: echo}}}
- name: Big
  dependencies: [{dependsOn: Small}]
  hostRequirements:
    amounts: [{name: amount.worker.vcpu, min: 64}]
  script: {actions: {onRun: {command: echo}}}
`),
          },
          'user:test',
        );
        const small = await ScriptedWorker.register(farm, 'small', {
          amounts: { 'amount.worker.vcpu': 2 },
          attributes: {},
        });
        const [a] = (await small.sync()).assignments;
        assert.equal(a!.stepName, 'Small');
        // Its report makes Big ready in the same sync that asks for more work.
        const reply = await small.sync({ finish: { [a!.taskId]: 'succeeded' }, running: [], wantWork: 2 });
        assert.deepEqual(reply.assignments, []);
        const big = await ScriptedWorker.register(farm, 'big', {
          amounts: { 'amount.worker.vcpu': 96 },
          attributes: {},
        });
        assert.equal((await big.sync()).assignments[0]?.stepName, 'Big');
        assert.equal((await farm.getJob(jobId)).steps[1]!.state, 'running');
      } finally {
        await done();
      }
    });

    it('hands out the highest priority first, then the oldest job, and follows priority changes', async () => {
      const { farm, done } = await openFarm(backend);
      try {
        const low = await farm.submitJob({ template: many(2, 'Low'), priority: 10 }, 'user:test');
        const older = await farm.submitJob({ template: many(2, 'Older'), priority: 50 }, 'user:test');
        const newer = await farm.submitJob({ template: many(2, 'Newer'), priority: 50 }, 'user:test');
        const w = await ScriptedWorker.register(farm, 'w');
        const first = await w.sync();
        assert.equal(first.assignments[0]!.jobId, older.jobId);
        await farm.setPriority(low.jobId, 90, 'user:test');
        const other = await ScriptedWorker.register(farm, 'other');
        assert.equal((await other.sync()).assignments[0]!.jobId, low.jobId);
        await farm.setPriority(low.jobId, 0, 'user:test');
        const third = await ScriptedWorker.register(farm, 'third');
        const got = (await third.sync({ wantWork: 3 })).assignments.map((a) => a.jobId);
        assert.deepEqual(got, [older.jobId, newer.jobId, newer.jobId]);
      } finally {
        await done();
      }
    });

    it('retries a failed task on another worker, blocks a worker that keeps failing, and fails the job at the end', async () => {
      const { farm, done } = await openFarm(backend, { avoidMs: 60_000 });
      try {
        const { jobId } = await farm.submitJob(
          {
            template: job(`name: Flaky
steps:
- name: A
  script: {actions: {onRun: {command: echo}}}
- name: B
  dependencies: [{dependsOn: A}]
  script: {actions: {onRun: {command: echo}}}
`),
            maxRetriesPerTask: 1,
            maxWorkerFailures: 1,
          },
          'user:test',
        );
        const w1 = await ScriptedWorker.register(farm, 'w1');
        const w2 = await ScriptedWorker.register(farm, 'w2');
        const task = (await w1.sync()).assignments[0]!.taskId;
        await w1.sync({ finish: { [task]: 'failed' }, running: [] });
        // w1 failed it (and is now blocked from the job): the retry goes to w2.
        assert.equal((await w1.sync({ running: [] })).assignments.length, 0);
        const retry = (await w2.sync()).assignments[0]!;
        assert.equal(retry.taskId, task);
        assert.equal(retry.attempt, 2);
        await w2.sync({ finish: { [task]: 'failed' }, running: [] });
        const detail = await farm.getJob(jobId);
        assert.equal(detail.state, 'failed');
        assert.deepEqual(
          detail.steps.map((s) => [s.name, s.state]),
          [
            ['A', 'failed'],
            ['B', 'canceled'],
          ],
        );
        const t = await farm.getTask(jobId, task);
        assert.equal(t.state, 'failed');
        assert.equal(t.attempts, 2);
      } finally {
        await done();
      }
    });

    it('hands a batch of syncs distinct tasks in order, and a task that failed on one worker to another of the batch', async () => {
      const { farm, done } = await openFarm(backend, { avoidMs: 60_000 });
      try {
        await farm.submitJob({ template: many(6), maxRetriesPerTask: 2, maxWorkerFailures: 5 }, 'user:test');
        const workers = await Promise.all(['b1', 'b2', 'b3'].map((name) => ScriptedWorker.register(farm, name)));
        const [w1, w2, w3] = workers as [ScriptedWorker, ScriptedWorker, ScriptedWorker];
        const first = (await w1.sync()).assignments[0]!;
        await w1.sync({ finish: { [first.taskId]: 'failed' }, running: [] });
        // The three sync together (one batch): w1 must not get back the task it just failed; the others share the
        // rest, each a task of its own, the failed one (first in order) to the first worker it is not kept from.
        const replies = await Promise.all([w1.sync({ running: [] }), w2.sync(), w3.sync()]);
        const given = replies.map((r) => r.assignments.map((a) => a.taskId));
        assert.ok(
          given.every((ids) => ids.length === 1),
          JSON.stringify(given),
        );
        assert.equal(new Set(given.flat()).size, 3, 'distinct tasks');
        assert.notEqual(given[0]![0], first.taskId, 'not back to the worker it failed on');
        assert.ok(given.flat().includes(first.taskId), 'the failed task went to another worker of the batch');
      } finally {
        await done();
      }
    });

    it('lets other tasks finish when the job continues on failure', async () => {
      const { farm, done } = await openFarm(backend);
      try {
        const { jobId } = await farm.submitJob(
          { template: many(3), maxRetriesPerTask: 0, continueOnFailure: true },
          'user:test',
        );
        const w = await ScriptedWorker.register(farm, 'w');
        const [a, b, c] = (await w.sync({ wantWork: 3 })).assignments.map((x) => x.taskId);
        await w.sync({ finish: { [a!]: 'failed' }, running: [b!, c!] });
        assert.equal((await farm.getJob(jobId)).state, 'running');
        await w.sync({ finish: { [b!]: 'succeeded', [c!]: 'succeeded' }, running: [] });
        const detail = await farm.getJob(jobId);
        assert.equal(detail.state, 'failed');
        assert.equal(detail.counts.succeeded, 2);
        assert.equal(detail.counts.failed, 1);
      } finally {
        await done();
      }
    });

    it('declares a silent worker lost and gives its tasks back without spending a retry, within a bound', async () => {
      let clock = 1_000_000;
      const { farm, done } = await openFarm(backend, { workerTimeoutMs: 60_000, now: () => clock });
      try {
        const { jobId } = await farm.submitJob({ template: many(1) }, 'user:test');
        for (let round = 1; round <= 3; round++) {
          const w = await ScriptedWorker.register(farm, `doomed-${round}`);
          const reply = await w.sync();
          assert.equal(reply.assignments.length, 1, `round ${round}`);
          clock += 61_000;
          const lost = await farm.sweep();
          assert.ok(lost.includes(w.workerId));
          const task = await farm.getTask(jobId, reply.assignments[0]!.taskId);
          if (round < 3) {
            assert.equal(task.state, 'ready');
          } else {
            // A task that loses its worker again and again fails instead of looping forever.
            assert.equal(task.state, 'failed');
          }
          // The lost worker comes back: it is told to drop everything.
          assert.equal((await w.sync()).reset, true);
        }
      } finally {
        await done();
      }
    });

    it('keeps a worker that signed off offline, not lost', async () => {
      let clock = 1_000_000;
      const { farm, done } = await openFarm(backend, { workerTimeoutMs: 60_000, now: () => clock });
      try {
        await farm.submitJob({ template: many(1) }, 'user:test');
        const w = await ScriptedWorker.register(farm, 'leaving');
        const reply = await w.sync({ running: [], wantWork: 1, extra: { state: 'offline' } });
        assert.deepEqual(reply.assignments, []);
        clock += 120_000;
        assert.deepEqual(await farm.sweep(), []);
        assert.equal((await farm.listWorkers())[0]!.state, 'offline');
        // Back again: it takes work as before.
        assert.equal((await w.sync()).assignments.length, 1);
      } finally {
        await done();
      }
    });

    it('cancels, suspends, resumes and requeues; the worker hears it at its next sync', async () => {
      const { farm, done } = await openFarm(backend);
      try {
        const { jobId } = await farm.submitJob({ template: many(4) }, 'user:test');
        const w = await ScriptedWorker.register(farm, 'w');
        const [first] = (await w.sync()).assignments;
        await farm.suspend(jobId, {}, 'user:test');
        const afterSuspend = await w.sync({ wantWork: 2 });
        assert.deepEqual(afterSuspend.cancel, [first!.taskId]);
        assert.equal(afterSuspend.assignments.length, 0);
        assert.equal((await farm.getJob(jobId)).state, 'suspended');
        await farm.resume(jobId, {}, 'user:test');
        const resumed = await w.sync({ running: [], wantWork: 1 });
        assert.equal(resumed.assignments.length, 1);
        const running = resumed.assignments[0]!.taskId;
        const { canceled } = await farm.cancel(jobId, {}, 'user:test');
        assert.equal(canceled, 4);
        const afterCancel = await w.sync({ running: [running] });
        assert.deepEqual(afterCancel.cancel, [running]);
        w.held = []; // it stopped the task, as told
        assert.equal((await farm.getJob(jobId)).state, 'canceled');
        const { requeued } = await farm.requeue(jobId, {}, 'user:test');
        assert.equal(requeued, 4);
        assert.equal((await farm.getJob(jobId)).state, 'queued');
        const done4 = await w.runAll();
        assert.equal(done4.length, 4);
        assert.equal((await farm.getJob(jobId)).state, 'succeeded');
      } finally {
        await done();
      }
    });

    it('answers a repeated sync with the same reply and applies it once; refuses an older one', async () => {
      const { farm, done } = await openFarm(backend);
      try {
        const { jobId } = await farm.submitJob({ template: many(3) }, 'user:test');
        const w = await ScriptedWorker.register(farm, 'w');
        const first = await w.sync();
        const task = first.assignments[0]!.taskId;
        const session = first.assignments[0]!.sessionId;
        const request = {
          seq: 2,
          state: 'idle' as const,
          running: [],
          events: [
            { kind: 'taskStarted' as const, taskId: task, time: 1 },
            { kind: 'taskFinished' as const, taskId: task, state: 'succeeded' as const, time: 2 },
          ],
          logs: [{ sessionId: session, seq: 1, taskId: task, lines: [[1, 'hello'] as const] }],
          wantWork: 1,
        };
        const a = await farm.sync(w.workerId, request);
        const b = await farm.sync(w.workerId, request);
        assert.deepEqual(b, a);
        const detail = await farm.getJob(jobId);
        assert.equal(detail.counts.succeeded, 1);
        assert.equal(detail.counts.assigned, 1);
        const logs = await farm.readLogs(jobId);
        assert.equal(logs.length, 1);
        await assert.rejects(farm.sync(w.workerId, { ...request, seq: 1 }), { code: 'CORRAL_E_CONFLICT' });
      } finally {
        await done();
      }
    });

    it('refuses an invalid template with located issues and stores nothing', async () => {
      const { farm, done } = await openFarm(backend);
      try {
        await assert.rejects(
          farm.submitJob({ template: job('name: Bad\nsteps:\n- name: A\n  script: {actions: {onRun: {}}}\n') }, 'u'),
          (error: { code: string; issues: { line?: number }[] }) =>
            error.code === 'CORRAL_E_TEMPLATE_INVALID' && error.issues.some((i) => i.line === 5),
        );
        assert.deepEqual(await farm.listJobs(), []);
      } finally {
        await done();
      }
    });

    it('accepts a 100,000-task job quickly', async () => {
      const { farm, done } = await openFarm(backend);
      try {
        const started = performance.now();
        const { taskCount } = await farm.submitJob({ template: many(100_000) }, 'user:test');
        const ms = performance.now() - started;
        console.log(`${backend}: 100,000-task job accepted in ${ms.toFixed(0)} ms`);
        assert.equal(taskCount, 100_000);
        assert.ok(ms < 15_000, `took ${ms} ms`);
      } finally {
        await done();
      }
    });

    it('never gives one task to two of many concurrent workers', async () => {
      const { farm, done } = await openFarm(backend);
      try {
        const { jobId } = await farm.submitJob({ template: many(600) }, 'user:test');
        const assignedTo = new Map<number, string>();
        const workers = await Promise.all(Array.from({ length: 24 }, (_, i) => ScriptedWorker.register(farm, `c${i}`)));
        await Promise.all(
          workers.map(async (w, i) => {
            let reply = await w.sync({ wantWork: 1 + (i % 4) });
            while (w.held.length > 0) {
              for (const a of reply.assignments) {
                assert.equal(assignedTo.get(a.taskId), undefined, `task ${a.taskId} given twice`);
                assignedTo.set(a.taskId, `c${i}`);
              }
              const finish = Object.fromEntries(w.held.map((id) => [id, 'succeeded' as const]));
              reply = await w.sync({ finish, running: [], wantWork: 1 + (i % 4) });
            }
          }),
        );
        assert.equal(assignedTo.size, 600);
        const detail = await farm.getJob(jobId);
        assert.equal(detail.state, 'succeeded');
        assert.equal(detail.counts.succeeded, 600);
      } finally {
        await done();
      }
    });
  });
}
