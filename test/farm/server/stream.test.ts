/**
 * Server-sent events: job, task and log changes reach a client's stream, bursts are coalesced, event ids let a
 * reconnecting client know to refetch, and the client reconnects by itself.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it, mock } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FarmChange } from '../../../src/farm/api/types.js';
import { parseSse } from '../../../src/farm/client/sse.js';
import { HELLO, registerWorker, startFarm, syncRequest, type TestFarm } from './helpers.js';

/** Collects a stream's changes in the background. */
function collect(test: TestFarm, options: { jobId?: number } = {}) {
  const controller = new AbortController();
  const changes: FarmChange[] = [];
  const done = (async () => {
    for await (const change of test.client(test.tokens.user).stream({ ...options, signal: controller.signal })) {
      changes.push(change);
    }
  })();
  return {
    changes,
    /** Waits until a change matches (or fails after `ms`). */
    async waitFor(match: (change: FarmChange) => boolean, ms = 2000) {
      const deadline = Date.now() + ms;
      while (!changes.some(match)) {
        if (Date.now() > deadline) assert.fail(`no matching change in ${JSON.stringify(changes)}`);
        await sleep(5);
      }
    },
    /** Ends the stream, and waits until the server noticed (each test here has one stream at a time). */
    async stop() {
      controller.abort();
      await done;
      const deadline = Date.now() + 2000;
      while (test.farm.events.listenerCount('change') > 0 && Date.now() < deadline) await sleep(2);
    },
  };
}

/** Waits until the server has `count` streams open. */
async function streamsOpen(test: TestFarm, count: number) {
  const deadline = Date.now() + 2000;
  while (test.farm.events.listenerCount('change') < count) {
    if (Date.now() > deadline) assert.fail('the stream did not open');
    await sleep(5);
  }
}

describe('event stream', () => {
  let test: TestFarm;
  before(async () => {
    test = await startFarm();
  });
  after(async () => {
    await test.close();
  });

  it('should say when the stream is connected, before any change arrives', async () => {
    const controller = new AbortController();
    let connects = 0;
    const done = (async () => {
      for await (const _ of test.client(test.tokens.user).stream({
        signal: controller.signal,
        onConnect: () => connects++,
      })) {
        // No change is expected while this test runs.
      }
    })();
    await streamsOpen(test, 1);
    const deadline = Date.now() + 2000;
    while (connects === 0 && Date.now() < deadline) await sleep(5);
    assert.equal(connects, 1);
    controller.abort();
    await done;
    while (test.farm.events.listenerCount('change') > 0) await sleep(2);
  });

  it('should deliver job, task and log changes of the job it follows', async () => {
    const client = test.client();
    const { jobId } = await client.submitJob({ template: HELLO });
    const { jobId: otherJob } = await client.submitJob({ template: HELLO, name: 'Other' });
    const listeners = 0;
    const stream = collect(test, { jobId });
    await streamsOpen(test, listeners + 1);

    await client.setPriority({ jobId: otherJob, priority: 10 });
    await client.setPriority({ jobId, priority: 60 });
    await stream.waitFor((c) => c.kind === 'job' && c.jobId === jobId);
    await stream.waitFor((c) => c.kind === 'tasks' && c.jobId === jobId);

    const worker = await registerWorker(test, 'w-stream');
    const reply = await worker.client.sync({ workerId: worker.workerId, request: syncRequest(1, { wantWork: 1 }) });
    const a = reply.assignments.find((x) => x.jobId === jobId)!;
    await worker.client.sync({
      workerId: worker.workerId,
      request: syncRequest(2, {
        wantWork: 0,
        running: [a.taskId],
        events: [{ kind: 'taskStarted', taskId: a.taskId, time: Date.now() }],
        logs: [{ sessionId: a.sessionId, seq: 1, taskId: a.taskId, lines: [[Date.now(), 'streamed']] }],
      }),
    });
    await stream.waitFor((c) => c.kind === 'log' && c.taskId === a.taskId);
    await stream.stop();
    assert.ok(
      stream.changes.every((c) => 'jobId' in c && (c.jobId === jobId || c.jobId === -1)),
      `only this job's changes: ${JSON.stringify(stream.changes)}`,
    );
  });

  it('should deliver every kind of change to an unfiltered stream', async () => {
    const listeners = 0;
    const stream = collect(test);
    await streamsOpen(test, listeners + 1);
    await test.client().createQueue({ name: 'streamed' });
    await registerWorker(test, 'w-stream-2');
    await stream.waitFor((c) => c.kind === 'queue');
    await stream.waitFor((c) => c.kind === 'worker');
    await stream.stop();
  });

  it('should coalesce bursts to at most one message per subject per 100 ms', async () => {
    const listeners = 0;
    const stream = collect(test, { jobId: 4242 });
    await streamsOpen(test, listeners + 1);
    for (let i = 0; i < 200; i++) test.farm.events.emit('change', { kind: 'tasks', jobId: 4242 });
    test.farm.events.emit('change', { kind: 'job', jobId: 4242 });
    await sleep(300);
    await stream.stop();
    const tasks = stream.changes.filter((c) => c.kind === 'tasks').length;
    assert.equal(tasks, 2, 'the first at once, the burst once more at the end of the window');
    assert.equal(stream.changes.filter((c) => c.kind === 'job').length, 1, 'other subjects are not held back');
  });

  it('should number events and ask a reconnecting client to refetch', async () => {
    const controller = new AbortController();
    const response = await fetch(`${test.url}/api/v1/stream?jobId=7`, {
      headers: { authorization: `Bearer ${test.tokens.user}`, 'last-event-id': '12' },
      signal: controller.signal,
    });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('cache-control'), 'no-cache, no-transform');
    const events = parseSse(response.body!);
    const first = await events.next();
    assert.equal(first.value?.retry, 1000);
    const hint = await events.next();
    assert.match(hint.value?.id ?? '', /^\d+$/);
    assert.deepEqual(JSON.parse(hint.value!.data), { kind: 'job', jobId: 7 });
    test.farm.events.emit('change', { kind: 'job', jobId: 7 });
    const next = await events.next();
    assert.ok(Number(next.value?.id) > Number(hint.value?.id), 'ids increase');
    controller.abort();
    await events.return(undefined);
    const deadline = Date.now() + 2000;
    while (test.farm.events.listenerCount('change') > 0 && Date.now() < deadline) await sleep(2);
  });

  it('should send a comment line every 15 s to keep idle streams open', async () => {
    mock.timers.enable({ apis: ['setInterval'] });
    const controller = new AbortController();
    try {
      const response = await fetch(`${test.url}/api/v1/stream`, {
        headers: { authorization: `Bearer ${test.tokens.user}` },
        signal: controller.signal,
      });
      const reader = response.body!.getReader();
      const decoder = new TextDecoder();
      let text = decoder.decode((await reader.read()).value);
      mock.timers.tick(15_000);
      while (!text.includes(': heartbeat')) text += decoder.decode((await reader.read()).value);
      assert.match(text, /^retry: 1000\n\n: heartbeat\n\n$/);
    } finally {
      controller.abort();
      mock.timers.reset();
    }
    const deadline = Date.now() + 2000;
    while (test.farm.events.listenerCount('change') > 0 && Date.now() < deadline) await sleep(2);
  });

  it('should reconnect by itself when the connection drops', async () => {
    const listeners = 0;
    const stream = collect(test, { jobId: 99 });
    await streamsOpen(test, listeners + 1);
    test.farm.events.emit('change', { kind: 'job', jobId: 99 });
    await stream.waitFor((c) => c.kind === 'job' && c.jobId === 99);
    const before = stream.changes.length;
    // End every event stream's connection (as a proxy timing out would).
    test.server.app.server.closeAllConnections();
    const deadline = Date.now() + 2000;
    while (test.farm.events.listenerCount('change') > listeners && Date.now() < deadline) await sleep(2);
    // It comes back, and its first message after the gap asks it to refetch.
    await streamsOpen(test, listeners + 1);
    await stream.waitFor(() => stream.changes.length > before, 3000);
    assert.deepEqual(stream.changes[before], { kind: 'job', jobId: 99 });
    await stream.stop();
  });
});
