/**
 * The worker protocol over HTTP: retried syncs are answered identically and applied once; a long-poll wakes as soon
 * as work is submitted and stops when the worker goes away; closing the server answers long-polls and refuses new
 * connections.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { FarmErrorCode } from '../../../src/farm/errors.js';
import { manyTasks, registerWorker, snapshot, startFarm, syncRequest, type TestFarm } from './helpers.js';

describe('worker sync', () => {
  let test: TestFarm;
  before(async () => {
    test = await startFarm();
  });
  after(async () => {
    await test.close();
  });
  after(() => assert.deepEqual(test.problems, []));

  it('should answer a retried sync identically and apply it once', async () => {
    const { jobId } = await test.client().submitJob({ template: manyTasks(3, 'Retry') });
    const worker = await registerWorker(test, 'w-retry');
    const sync = (request: ReturnType<typeof syncRequest>) =>
      worker.client.sync({ workerId: worker.workerId, request });

    const first = await sync(syncRequest(1, { wantWork: 1 }));
    assert.equal(first.assignments.length, 1);
    const again = await sync(syncRequest(1, { wantWork: 1 }));
    assert.deepEqual(again, first, 'the same reply');
    const assigned = (await test.client().listTasks({ jobId, states: ['assigned'] })).total;
    assert.equal(assigned, 1, 'assigned once');

    const a = first.assignments[0]!;
    const now = Date.now();
    const report = syncRequest(2, {
      wantWork: 0,
      events: [
        { kind: 'taskStarted', taskId: a.taskId, time: now },
        { kind: 'taskFinished', taskId: a.taskId, state: 'succeeded', exitCode: 0, time: now + 1 },
      ],
      logs: [{ sessionId: a.sessionId, seq: 1, taskId: a.taskId, lines: [[now, 'done']] }],
    });
    const reported = await sync(report);
    const state = await snapshot(test.farm);
    const retried = await sync(report);
    assert.deepEqual(retried, reported);
    const after = await snapshot(test.farm);
    // Only the worker's last_seen may move on a retry.
    const strip = (rows: string[]) => rows.map((r) => r.replace(/"last_seen":\d+/, ''));
    assert.deepEqual({ ...after, workers: strip(after.workers!) }, { ...state, workers: strip(state.workers!) });
    assert.equal((await test.client().getTask({ jobId, taskId: a.taskId })).state, 'succeeded');
    assert.equal((await test.client().readLogs({ jobId })).length, 1, 'the log batch stored once');

    await assert.rejects(sync(syncRequest(1)), { code: FarmErrorCode.Conflict });
  });

  it('should wake a long-poll within milliseconds of a submission', async () => {
    const worker = await registerWorker(test, 'w-poll');
    // Drain what earlier tests left ready, so the poll has to wait.
    await test
      .client()
      .listJobs()
      .then(async ({ jobs }) => {
        for (const job of jobs)
          if (job.state === 'queued' || job.state === 'running') await test.client().cancel({ jobId: job.id });
      });
    const started = performance.now();
    const poll = worker.client.sync({
      workerId: worker.workerId,
      request: syncRequest(1, { wantWork: 1, waitMs: 10_000 }),
    });
    let answeredEarly = false;
    void poll.then(() => {
      answeredEarly = performance.now() - started < 250;
    });
    await sleep(250);
    assert.equal(answeredEarly, false, 'waits while there is no work');
    const submitted = performance.now();
    const { jobId } = await test.client().submitJob({ template: manyTasks(1, 'Wake') });
    const reply = await poll;
    const latency = performance.now() - submitted;
    console.log(`long-poll woke ${latency.toFixed(1)} ms after the submission was sent`);
    assert.equal(reply.assignments[0]?.jobId, jobId);
    assert.ok(latency < 500, `${latency} ms`);
  });

  it('should stop waiting when the worker goes away', async () => {
    const worker = await registerWorker(test, 'w-gone');
    const listeners = test.farm.events.listenerCount('work');
    const controller = new AbortController();
    const poll = worker.client.sync({
      workerId: worker.workerId,
      request: syncRequest(1, { wantWork: 1, waitMs: 30_000 }),
      signal: controller.signal,
    });
    await sleep(150);
    assert.equal(test.farm.events.listenerCount('work'), listeners + 1, 'the server waits');
    controller.abort();
    await assert.rejects(poll, { name: 'AbortError' });
    const deadline = Date.now() + 2000;
    while (test.farm.events.listenerCount('work') > listeners && Date.now() < deadline) await sleep(10);
    assert.equal(test.farm.events.listenerCount('work'), listeners, 'the server stopped waiting');
  });
});

describe('closing the server', () => {
  it('should answer an in-flight long-poll, end streams, and refuse new connections', async () => {
    const test = await startFarm();
    try {
      const worker = await registerWorker(test, 'w-close');
      const started = performance.now();
      const poll = worker.client.sync({
        workerId: worker.workerId,
        request: syncRequest(1, { wantWork: 1, waitMs: 30_000 }),
      });
      const controller = new AbortController();
      const stream = await fetch(`${test.url}/api/v1/stream`, {
        headers: { authorization: `Bearer ${test.tokens.user}` },
        signal: controller.signal,
      });
      const streamEnded = stream.text();
      await sleep(150);
      await test.server.close();
      const closedIn = performance.now() - started;
      const reply = await poll;
      assert.equal(reply.assignments.length, 0);
      assert.equal(reply.seq, 1);
      await streamEnded;
      assert.ok(closedIn < 5000, `closed in ${closedIn} ms`);
      await assert.rejects(test.client().health(), (e: unknown) => {
        assert.equal((e as { code?: string }).code, FarmErrorCode.ServerUnavailable);
        assert.ok((e as Error).message.includes(test.url));
        return true;
      });
      controller.abort();
    } finally {
      await test.close();
    }
  });
});
