/**
 * The core routes against PostgreSQL (a private test cluster): submit, read, steer, the worker protocol with a
 * long-poll, logs and the event stream.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { postgresAvailable, sharedPostgres } from '../../helpers/postgres.js';
import { HELLO, manyTasks, registerWorker, startFarm, syncRequest, type TestFarm } from './helpers.js';

const unavailable = postgresAvailable();

describe('farm API on PostgreSQL', { skip: unavailable }, () => {
  let test: TestFarm;
  before(async () => {
    const cluster = await sharedPostgres();
    test = await startFarm({ database: await cluster.createDatabase('server_api') });
  });
  after(async () => {
    await test?.close();
  });
  after(() => assert.deepEqual(test.problems, []));

  it('should report PostgreSQL in health', async () => {
    assert.equal((await test.client().health()).database, 'postgres');
  });

  it('should submit, read and steer jobs', async () => {
    const client = test.client(test.tokens.user);
    const { jobId, taskCount } = await client.submitJob({ template: HELLO });
    assert.equal(taskCount, 3);
    assert.deepEqual(
      (await client.listJobs({ search: 'HELLO' })).jobs.map((j) => j.id),
      [jobId],
    );
    assert.equal((await client.listTasks({ jobId })).total, 3);
    assert.deepEqual(await client.suspend({ jobId }), { suspended: 3 });
    await client.resume({ jobId });
    await client.setPriority({ jobId, priority: 70 });
    assert.equal((await client.getJob({ jobId })).priority, 70);
    assert.ok((await client.listEvents({ jobId })).events.length > 0);
    assert.equal((await client.totals()).jobs.queued, 1);
  });

  it('should run the worker protocol with a long-poll, logs and the event stream', async () => {
    const client = test.client();
    const worker = await registerWorker(test, 'w-pg');
    // Take what is ready first, so the next poll has to wait.
    const first = await worker.client.sync({ workerId: worker.workerId, request: syncRequest(1, { wantWork: 10 }) });
    assert.equal(first.assignments.length, 3);

    const controller = new AbortController();
    const changes: string[] = [];
    const streaming = (async () => {
      for await (const change of client.stream({ signal: controller.signal })) changes.push(change.kind);
    })();

    const poll = worker.client.sync({
      workerId: worker.workerId,
      request: syncRequest(2, { wantWork: 1, waitMs: 10_000, running: first.assignments.map((a) => a.taskId) }),
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const submitted = performance.now();
    const { jobId } = await client.submitJob({ template: manyTasks(1, 'PgWake') });
    const reply = await poll;
    const latency = performance.now() - submitted;
    console.log(`PostgreSQL long-poll woke ${latency.toFixed(1)} ms after the submission was sent`);
    assert.equal(reply.assignments[0]?.jobId, jobId);
    assert.ok(latency < 500, `${latency} ms`);

    const a = reply.assignments[0]!;
    const same = await worker.client.sync({
      workerId: worker.workerId,
      request: syncRequest(3, {
        wantWork: 0,
        running: [a.taskId],
        events: [{ kind: 'taskStarted', taskId: a.taskId, time: Date.now() }],
        logs: [{ sessionId: a.sessionId, seq: 1, taskId: a.taskId, lines: [[Date.now(), 'from postgres']] }],
      }),
    });
    assert.equal(same.seq, 3);
    const lines = (await client.readLogs({ jobId })).flatMap((c) => c.lines.map((l) => l.text));
    assert.deepEqual(lines, ['from postgres']);
    const deadline = Date.now() + 2000;
    while (!changes.includes('log') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    controller.abort();
    await streaming;
    assert.ok(changes.includes('job') && changes.includes('log'), JSON.stringify(changes));
  });
});
