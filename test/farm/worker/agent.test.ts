/**
 * The worker agent against the real scheduler (a `Farm` over SQLite, in-process), running real jobs: sessions and
 * their reuse, failures, cancels, resets, an unreachable server, lost replies, drains and restarts.
 */
import assert from 'node:assert/strict';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { after, afterEach, before, describe, it, mock } from 'node:test';
import {
  actions,
  FarmAdapter,
  jobState,
  logLines,
  openTestFarm,
  processWith,
  removeAgentDirs,
  sessions,
  startAgent,
  stopAgents,
  submit,
  type TestFarm,
  waitFor,
} from './helpers.js';

const TWO_STEPS = `specificationVersion: jobtemplate-2023-09
name: Two steps
jobEnvironments:
- name: JobEnv
  script:
    actions:
      onEnter: {command: bash, args: ["-c", "echo entered-job-env"]}
      onExit: {command: bash, args: ["-c", "echo exited-job-env"]}
steps:
- name: A
  stepEnvironments:
  - name: StepEnv
    script:
      actions:
        onEnter: {command: bash, args: ["-c", "echo entered-step-env"]}
        onExit: {command: bash, args: ["-c", "echo exited-step-env"]}
  parameterSpace:
    taskParameterDefinitions: [{name: N, type: INT, range: "1-3"}]
  script:
    actions:
      onRun: {command: bash, args: ["-c", "echo 'openjd_progress: 50'; echo 'openjd_status: halfway'; echo A{{Task.Param.N}}"]}
- name: B
  dependencies: [{dependsOn: A}]
  script:
    actions:
      onRun: {command: bash, args: ["-c", "echo \\"corral-vars:$(env | grep -c ^CORRAL_)\\"; echo B-done"]}
`;

let t: TestFarm;
before(async () => {
  t = await openTestFarm();
});
afterEach(stopAgents);
after(async () => {
  await t.close();
  removeAgentDirs();
});

describe('worker agent', () => {
  it('runs a two-step job in one session, entering its environments once, and signs off', async () => {
    const adapter = new FarmAdapter(t.farm);
    const a = startAgent({
      connection: adapter,
      name: 'two-steps',
      environment: { ...process.env, CORRAL_TOKEN: 'corral_agent_secret', CORRAL_SERVER: 'http://x' },
    });
    const jobId = await submit(t.farm, TWO_STEPS);
    await waitFor(async () => (await jobState(t.farm, jobId)) === 'succeeded', 'the job to succeed');
    const exit = await a.stop();
    assert.deepEqual(exit, { reason: 'stopped', undelivered: 0 });

    const list = await actions(t.farm, jobId);
    const summary = list.map((x) => `${x.kind}:${x.name}:${x.state}`);
    assert.deepEqual(summary, [
      'envEnter:JobEnv:SUCCESS',
      'envEnter:StepEnv:SUCCESS',
      'taskRun:A:SUCCESS',
      'taskRun:A:SUCCESS',
      'taskRun:A:SUCCESS',
      'envExit:StepEnv:SUCCESS',
      'taskRun:B:SUCCESS',
      'envExit:JobEnv:SUCCESS',
    ]);
    assert.equal(new Set(list.map((x) => x.session_id)).size, 1, 'one session');
    assert.deepEqual(
      list.map((x) => x.worker_action),
      [1, 2, 3, 4, 5, 6, 7, 8],
    );
    assert.deepEqual(
      (await sessions(t.farm, jobId)).map((s) => s.state),
      ['ended'],
    );
    const lines = await logLines(t.farm, jobId);
    const mine = lines.filter((l) => /^(A\d|B-done|entered|exited|corral-vars)/.test(l));
    assert.deepEqual(mine, [
      'entered-job-env',
      'entered-step-env',
      'A1',
      'A2',
      'A3',
      'exited-step-env',
      'corral-vars:0',
      'B-done',
      'exited-job-env',
    ]);
    assert.ok(lines.some((l) => l.startsWith('==== Entering environment: JobEnv')));
    const { tasks } = await t.farm.listTasks(jobId);
    const a1 = tasks.find((x) => x.stepName === 'A')!;
    assert.equal(a1.statusMessage, 'halfway');
    assert.equal(a1.state, 'succeeded');
    // Logs are attached to their tasks.
    assert.ok((await t.farm.readLogs(jobId, { taskId: a1.id })).flatMap((c) => c.lines).some((l) => l.text === 'A1'));
    // Sequence numbers went up by one per reply; the last sync signed off.
    const seqs = adapter.applied.map((r) => r.seq);
    assert.deepEqual(
      seqs,
      seqs.map((_, i) => i + 1),
    );
    const last = adapter.applied.at(-1)!;
    assert.equal(last.state, 'offline');
    assert.equal(last.wantWork, 0);
    const worker = (await t.farm.listWorkers()).find((w) => w.name === 'two-steps')!;
    assert.equal(worker.state, 'offline');
    assert.equal(worker.capabilities.amounts['amount.worker.vcpu'], 2);
    assert.ok(worker.metrics?.memoryTotalMiB);
  });

  it('reports a failing task with its exit code and ends the session (only exits are allowed after a failure)', async () => {
    const adapter = new FarmAdapter(t.farm);
    const a = startAgent({ connection: adapter, name: 'failing' });
    const jobId = await submit(
      t.farm,
      `specificationVersion: jobtemplate-2023-09
name: Fails
jobEnvironments:
- name: Env
  script:
    actions:
      onEnter: {command: bash, args: ["-c", "echo in"]}
      onExit: {command: bash, args: ["-c", "echo out"]}
steps:
- name: S
  parameterSpace:
    taskParameterDefinitions: [{name: N, type: INT, range: "1-2"}]
  script:
    actions:
      onRun: {command: bash, args: ["-c", "echo 'openjd_fail: frame {{Task.Param.N}} is broken'; exit {{Task.Param.N}}"]}
`,
      { maxRetriesPerTask: 0, continueOnFailure: true },
    );
    await waitFor(async () => (await jobState(t.farm, jobId)) === 'failed', 'the job to fail');
    const { tasks } = await t.farm.listTasks(jobId);
    assert.deepEqual(
      tasks.map((x) => [x.state, x.exitCode, x.failMessage]),
      [
        ['failed', 1, 'frame 1 is broken'],
        ['failed', 2, 'frame 2 is broken'],
      ],
    );
    await waitFor(async () => (await sessions(t.farm, jobId)).every((s) => s.state === 'ended'), 'sessions to end');
    assert.equal((await sessions(t.farm, jobId)).length, 2, 'a new session after the failure');
    const list = await actions(t.farm, jobId);
    assert.deepEqual(
      list.map((x) => `${x.kind}:${x.state}`),
      [
        'envEnter:SUCCESS',
        'taskRun:FAILED',
        'envExit:SUCCESS',
        'envEnter:SUCCESS',
        'taskRun:FAILED',
        'envExit:SUCCESS',
      ],
    );
    await a.stop();
  });

  it('cancels a running task with its own cancel mode when the server says so', async () => {
    const adapter = new FarmAdapter(t.farm);
    const a = startAgent({ connection: adapter, name: 'canceler' });
    const jobId = await submit(
      t.farm,
      `specificationVersion: jobtemplate-2023-09
name: Long
steps:
- name: S
  script:
    actions:
      onRun:
        command: bash
        args: ["-c", "trap 'echo got-term; exit 3' TERM; echo started; sleep 31.4159 & wait"]
        cancelation: {mode: NOTIFY_THEN_TERMINATE, notifyPeriodInSeconds: 10}
`,
    );
    await waitFor(async () => (await logLines(t.farm, jobId)).includes('started'), 'the task to start');
    assert.ok(processWith('31.4159'));
    const canceledAt = Date.now();
    await t.farm.cancel(jobId, {}, 'user:test');
    await waitFor(async () => (await sessions(t.farm, jobId)).every((s) => s.state === 'ended'), 'the session to end');
    assert.ok(Date.now() - canceledAt < 3000, 'canceled promptly');
    const list = await actions(t.farm, jobId);
    assert.deepEqual(
      list.map((x) => `${x.kind}:${x.state}`),
      ['taskRun:CANCELED'],
    );
    assert.ok((await logLines(t.farm, jobId)).includes('got-term'), 'SIGTERM first (NOTIFY_THEN_TERMINATE)');
    await waitFor(() => !processWith('31.4159'), 'no process left');
    assert.equal(await jobState(t.farm, jobId), 'canceled');
    await a.stop();
  });

  it('delivers everything in order after the server was unreachable, and after lost replies', async () => {
    const adapter = new FarmAdapter(t.farm);
    const a = startAgent({ connection: adapter, name: 'offline' });
    const jobId = await submit(
      t.farm,
      `specificationVersion: jobtemplate-2023-09
name: Chatty
steps:
- name: S
  parameterSpace:
    taskParameterDefinitions: [{name: N, type: INT, range: "1-2"}]
  script:
    actions:
      onRun: {command: bash, args: ["-c", "for i in $(seq 1 40); do echo line-{{Task.Param.N}}-$i; [ $i = 5 ] && sleep 0.6; done; echo 'openjd_progress: 100'"]}
`,
    );
    await waitFor(async () => (await logLines(t.farm, jobId)).includes('line-1-1'), 'the first task to print');
    adapter.down = true;
    const downAt = adapter.requests.length;
    await new Promise((resolve) => setTimeout(resolve, 1200));
    assert.ok(adapter.requests.length - downAt >= 3, 'it kept retrying');
    assert.ok(a.agent.undelivered > 0, 'reports wait in the outbox');
    // The same sync is retried: one number throughout the outage.
    const retried = adapter.requests.slice(downAt);
    assert.equal(new Set(retried.map((r) => r.seq)).size, 1);
    assert.deepEqual(retried.at(-1)!.events, retried[0]!.events);
    adapter.loseReplies = 2;
    adapter.down = false;
    await waitFor(async () => (await jobState(t.farm, jobId)) === 'succeeded', 'the job to succeed');
    const lines = (await logLines(t.farm, jobId)).filter((l) => l.startsWith('line-'));
    const expected = [1, 2].flatMap((n) => Array.from({ length: 40 }, (_, i) => `line-${n}-${i + 1}`));
    assert.deepEqual(lines, expected, 'every line once, in order');
    // A lost reply: the sync was applied, then sent again with the same number and the same reports.
    const seqs = adapter.applied.map((r) => r.seq);
    const repeated = seqs.filter((s, i) => seqs.indexOf(s) !== i);
    assert.equal(repeated.length, 2);
    for (const seq of repeated) {
      const [first, again] = adapter.applied.filter((r) => r.seq === seq);
      assert.deepEqual(again!.events, first!.events);
      assert.deepEqual(again!.logs, first!.logs);
    }
    const exit = await a.stop();
    assert.equal(exit.undelivered, 0);
  });

  it('keeps reports in memory, in order, while the outbox cannot be written (a full disk)', async () => {
    const fs = createRequire(import.meta.url)('node:fs') as typeof import('node:fs');
    const original = fs.writeSync;
    let full = false;
    let refused = 0;
    // Only the outbox's records fail: they are the writes of a buffer starting with {"n":.
    mock.method(fs, 'writeSync', (fd: number, data: unknown, ...rest: unknown[]) => {
      if (full && Buffer.isBuffer(data) && data.subarray(0, 5).toString() === '{"n":') {
        refused++;
        throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      }
      return (original as (...args: unknown[]) => number)(fd, data, ...rest);
    });
    syncBuiltinESMExports();
    try {
      const adapter = new FarmAdapter(t.farm);
      const a = startAgent({ connection: adapter, name: 'full-disk' });
      const jobId = await submit(
        t.farm,
        `specificationVersion: jobtemplate-2023-09
name: Full disk
steps:
- name: S
  script:
    actions:
      onRun: {command: bash, args: ["-c", "for i in $(seq 1 30); do echo disk-$i; [ $i = 3 ] && sleep 0.4; done; true"]}
`,
      );
      await waitFor(async () => (await logLines(t.farm, jobId)).includes('disk-1'), 'the task to print');
      full = true;
      await waitFor(() => refused > 0, 'a refused write');
      await new Promise((resolve) => setTimeout(resolve, 600));
      full = false;
      await waitFor(async () => (await jobState(t.farm, jobId)) === 'succeeded', 'the job to succeed');
      assert.deepEqual(
        (await logLines(t.farm, jobId)).filter((l) => l.startsWith('disk-')),
        Array.from({ length: 30 }, (_, i) => `disk-${i + 1}`),
      );
      assert.deepEqual(await a.stop(), { reason: 'stopped', undelivered: 0 });
    } finally {
      mock.restoreAll();
      syncBuiltinESMExports();
    }
  });

  it('on a reset, drops the tasks it held without reporting them and starts clean', async () => {
    const lossy = await openTestFarm({ workerTimeoutMs: 300 });
    try {
      const adapter = new FarmAdapter(lossy.farm);
      const a = startAgent({ connection: adapter, name: 'lost' });
      const jobId = await submit(
        lossy.farm,
        `specificationVersion: jobtemplate-2023-09
name: Reset
steps:
- name: S
  script:
    actions:
      onRun: {command: bash, args: ["-c", "echo run; sleep 1.2718; echo finished"]}
`,
      );
      await waitFor(async () => (await logLines(lossy.farm, jobId)).includes('run'), 'the task to start');
      adapter.down = true;
      await new Promise((resolve) => setTimeout(resolve, 450));
      assert.equal((await lossy.farm.sweep()).length, 1, 'the worker is declared lost');
      adapter.down = false;
      await waitFor(async () => (await jobState(lossy.farm, jobId)) === 'succeeded', 'the job to succeed');
      const list = await actions(lossy.farm, jobId);
      assert.deepEqual(
        list.map((x) => `${x.kind}:${x.state}`),
        ['taskRun:CANCELED', 'taskRun:SUCCESS'],
      );
      assert.equal(new Set(list.map((x) => x.session_id)).size, 2);
      const lines = await logLines(lossy.farm, jobId);
      assert.equal(lines.filter((l) => l === 'finished').length, 1, 'the first run was stopped');
      const { tasks } = await lossy.farm.listTasks(jobId);
      assert.equal(tasks[0]!.state, 'succeeded');
      // The reset: after it, nothing about the dropped run (no taskFinished) until the task was given out again.
      const reset = adapter.replies.findIndex((r) => r.reset);
      assert.ok(reset >= 0, 'a reply said reset');
      const taskId = tasks[0]!.id;
      const reassigned = adapter.replies.findIndex(
        (r, i) => i > reset && r.assignments.some((x) => x.taskId === taskId),
      );
      assert.ok(reassigned > reset);
      for (const request of adapter.applied.slice(reset + 1, reassigned + 1)) {
        assert.ok(!request.events.some((e) => 'taskId' in e && e.taskId === taskId), 'no report of the dropped run');
        assert.ok(!request.running.includes(taskId));
      }
      assert.equal(tasks[0]!.attempts, 1, 'the lost run spent no retry');
      await a.stop();
    } finally {
      await lossy.close();
    }
  });

  it('ends an idle session after the idle timeout', async () => {
    const adapter = new FarmAdapter(t.farm);
    const a = startAgent({ connection: adapter, name: 'idler', settings: { sessionIdleTimeoutMs: 300 } });
    // Step B is suspended: after A the job still runs, but nothing more comes here.
    const jobId = await submit(
      t.farm,
      `specificationVersion: jobtemplate-2023-09
name: Idle
jobEnvironments:
- name: Env
  script:
    actions:
      onEnter: {command: bash, args: ["-c", "echo in"]}
      onExit: {command: bash, args: ["-c", "echo out"]}
steps:
- name: A
  script: {actions: {onRun: {command: bash, args: ["-c", "sleep 0.3; echo a"]}}}
- name: B
  dependencies: [{dependsOn: A}]
  script: {actions: {onRun: {command: echo, args: [b]}}}
`,
    );
    await t.farm.suspend(jobId, { step: 'B' }, 'user:test');
    await waitFor(async () => (await sessions(t.farm, jobId))[0]?.state === 'ended', 'the idle session to end');
    assert.equal(await jobState(t.farm, jobId), 'running');
    const list = await t.farm.db
      .selectFrom('actions')
      .select(['kind', 'started_at', 'ended_at'])
      .where('job_id', '=', jobId)
      .orderBy('worker_action')
      .execute();
    assert.deepEqual(
      list.map((x) => x.kind),
      ['envEnter', 'taskRun', 'envExit'],
    );
    const idle = list[2]!.started_at - list[1]!.ended_at!;
    assert.ok(idle >= 280 && idle < 2000, `idle for ${idle} ms`);
    await t.farm.cancel(jobId, {}, 'user:test');
    await a.stop();
  });

  it('runs sessions side by side with maxConcurrentTasks', async () => {
    const adapter = new FarmAdapter(t.farm);
    const a = startAgent({ connection: adapter, name: 'parallel', settings: { maxConcurrentTasks: 2 } });
    const jobId = await submit(
      t.farm,
      `specificationVersion: jobtemplate-2023-09
name: Parallel
steps:
- name: S
  parameterSpace:
    taskParameterDefinitions: [{name: N, type: INT, range: "1-4"}]
  script: {actions: {onRun: {command: bash, args: ["-c", "sleep 0.4; echo done-{{Task.Param.N}}"]}}}
`,
    );
    let most = 0;
    await waitFor(async () => {
      const { tasks } = await t.farm.listTasks(jobId);
      most = Math.max(most, tasks.filter((x) => x.state === 'running').length);
      return tasks.every((x) => x.state === 'succeeded');
    }, 'the job to succeed');
    assert.equal(most, 2, 'two tasks ran at once');
    assert.ok(adapter.applied.every((r) => r.wantWork <= 1));
    assert.equal((await sessions(t.farm, jobId)).length, 2);
    await a.stop();
  });

  it('registers again when its token is refused', async () => {
    const adapter = new FarmAdapter(t.farm);
    const a = startAgent({ connection: adapter, name: 'revoked' });
    await waitFor(() => a.agent.workerId, 'registration');
    const workerId = a.agent.workerId;
    const token = (await t.farm.listTokens()).find((x) => x.worker_id === workerId)!;
    await t.farm.revokeToken(token.id);
    await waitFor(() => adapter.registrations === 2 && a.agent.workerId !== undefined, 'a second registration');
    assert.equal(a.agent.workerId, workerId, 'the same worker, by name');
    const jobId = await submit(t.farm, TWO_STEPS);
    await waitFor(async () => (await jobState(t.farm, jobId)) === 'succeeded', 'the job to succeed');
    await a.stop();
  });
});

describe('stopping', () => {
  const SLEEPY = (seconds: number, marker: string) => `specificationVersion: jobtemplate-2023-09
name: Sleepy
jobEnvironments:
- name: Env
  script:
    actions:
      onEnter: {command: bash, args: ["-c", "echo in"]}
      onExit: {command: bash, args: ["-c", "echo out; sleep \${EXIT_SLEEP:-0}"]}
steps:
- name: S
  script:
    actions:
      onRun: {command: bash, args: ["-c", "echo started; sleep ${seconds}; echo ${marker}"]}
`;

  it('finishes the running task, exits the environments and signs off', async () => {
    const adapter = new FarmAdapter(t.farm);
    const a = startAgent({ connection: adapter, name: 'drainer' });
    const jobId = await submit(t.farm, SLEEPY(0.8, 'slept'));
    await waitFor(async () => (await logLines(t.farm, jobId)).includes('started'), 'the task to start');
    const exit = await a.stop();
    assert.deepEqual(exit, { reason: 'stopped', undelivered: 0 });
    assert.equal(await jobState(t.farm, jobId), 'succeeded');
    assert.deepEqual(
      (await actions(t.farm, jobId)).map((x) => `${x.kind}:${x.state}`),
      ['envEnter:SUCCESS', 'taskRun:SUCCESS', 'envExit:SUCCESS'],
    );
    assert.equal(adapter.applied.at(-1)!.state, 'offline');
    assert.ok(
      adapter.applied.filter((r) => r.state === 'draining' || r.state === 'offline').every((r) => r.wantWork === 0),
    );
  });

  it('cancels the task when the drain grace is over; the task goes back to ready', async () => {
    const adapter = new FarmAdapter(t.farm);
    const a = startAgent({ connection: adapter, name: 'graceful', settings: { drainGraceMs: 300 } });
    const jobId = await submit(t.farm, SLEEPY(27.1828, 'never'));
    await waitFor(async () => (await logLines(t.farm, jobId)).includes('started'), 'the task to start');
    const stoppedAt = Date.now();
    const exit = await a.stop();
    assert.ok(Date.now() - stoppedAt < 3000);
    assert.equal(exit.undelivered, 0);
    const { tasks } = await t.farm.listTasks(jobId);
    assert.equal(tasks[0]!.state, 'ready', 'canceled by its worker: ready again, no retry spent');
    assert.equal(tasks[0]!.attempts, 0);
    assert.deepEqual(
      (await actions(t.farm, jobId)).map((x) => `${x.kind}:${x.state}`),
      ['envEnter:SUCCESS', 'taskRun:CANCELED', 'envExit:SUCCESS'],
    );
    assert.ok(!processWith('27.1828'));
    await t.farm.cancel(jobId, {}, 'user:test');
  });

  it('hurries on expedite: kills the task now and cuts environment exits short, still cleaning up', async () => {
    const adapter = new FarmAdapter(t.farm);
    const a = startAgent({
      connection: adapter,
      name: 'hurried',
      settings: { expediteExitMs: 300 },
      environment: { ...process.env, EXIT_SLEEP: '16.1803' },
    });
    const jobId = await submit(t.farm, SLEEPY(14.1421, 'never'));
    await waitFor(async () => (await logLines(t.farm, jobId)).includes('started'), 'the task to start');
    const stoppedAt = Date.now();
    a.agent.stop();
    a.agent.expedite();
    const exit = await a.done;
    await a.agent.close();
    assert.ok(Date.now() - stoppedAt < 3000, `stopped in ${Date.now() - stoppedAt} ms`);
    assert.equal(exit.undelivered, 0);
    assert.deepEqual(
      (await actions(t.farm, jobId)).map((x) => `${x.kind}:${x.state}`),
      ['envEnter:SUCCESS', 'taskRun:CANCELED', 'envExit:CANCELED'],
    );
    assert.ok(!processWith('14.1421') && !processWith('16.1803'), 'no process left');
    await t.farm.cancel(jobId, {}, 'user:test');
  });

  it('a restarted agent resumes its identity and delivers what the previous one left', async () => {
    const adapter = new FarmAdapter(t.farm);
    const first = startAgent({ connection: adapter, name: 'phoenix', settings: { flushTimeoutMs: 200 } });
    const jobId = await submit(t.farm, SLEEPY(0.3, 'slept'));
    await waitFor(async () => (await logLines(t.farm, jobId)).includes('started'), 'the task to start');
    adapter.down = true;
    const exit = await first.stop();
    assert.ok(exit.undelivered > 0, 'reports left in the outbox');
    assert.notEqual(await jobState(t.farm, jobId), 'succeeded');
    const seqBefore = adapter.applied.at(-1)!.seq;

    adapter.down = false;
    const second = startAgent({ connection: adapter, name: 'phoenix', dataDir: first.dataDir });
    await waitFor(async () => (await jobState(t.farm, jobId)) === 'succeeded', 'the job to succeed');
    assert.equal(adapter.registrations, 1, 'no new registration');
    assert.ok(adapter.applied.at(-1)!.seq > seqBefore + 1, 'numbers continue past the reservation');
    const lines = await logLines(t.farm, jobId);
    assert.deepEqual(
      lines.filter((l) => ['in', 'started', 'slept', 'out'].includes(l)),
      ['in', 'started', 'slept', 'out'],
    );
    assert.deepEqual(
      (await sessions(t.farm, jobId)).map((s) => s.state),
      ['ended'],
    );
    assert.deepEqual(await second.stop(), { reason: 'stopped', undelivered: 0 });
  });
});
