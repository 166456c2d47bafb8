/**
 * The API through real HTTP with the typed client: every route's ordinary use, the replies against their declared
 * schemas, model errors with their located issues, and the client's error mapping.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createClient } from '../../../src/farm/client/index.js';
import { FarmErrorCode } from '../../../src/farm/errors.js';
import { CorralError, TemplateError } from '../../../src/model/errors.js';
import { HELLO, manyTasks, raw, registerWorker, startFarm, syncRequest, type TestFarm } from './helpers.js';

describe('farm API', () => {
  let test: TestFarm;
  before(async () => {
    test = await startFarm();
  });
  after(async () => {
    await test.close();
  });
  // Runs last in this suite: every reply seen so far matched its route's schema.
  after(() => {
    assert.deepEqual(test.problems, []);
    assert.ok(test.checked() > 40, `checked ${test.checked()} replies`);
  });

  it('should report health without a token', async () => {
    const health = await createClient({ url: test.url }).health();
    assert.equal(health.ok, true);
    assert.equal(health.version, '9.9.9-test');
    assert.equal(health.database, 'sqlite');
    assert.equal(health.limits.bodyBytes, 8 * 1024 * 1024);
    assert.equal(health.auth, 'tokens');
  });

  it('should submit, list, read and steer jobs', async () => {
    const client = test.client(test.tokens.user);
    const { jobId, taskCount } = await client.submitJob({ template: HELLO, parameters: { Greeting: 'Howdy' } });
    assert.equal(taskCount, 3);
    const other = await client.submitJob({ template: manyTasks(5), priority: 80 });

    const { jobs } = await client.listJobs();
    assert.deepEqual(
      jobs.map((j) => j.id),
      [other.jobId, jobId],
    );
    assert.equal(jobs[1]!.submitter, 'user:alice');
    assert.deepEqual(
      (await client.listJobs({ search: 'hello' })).jobs.map((j) => j.id),
      [jobId],
    );
    assert.deepEqual(
      (await client.listJobs({ states: ['queued'], limit: 1 })).jobs.map((j) => j.id),
      [other.jobId],
    );
    assert.deepEqual(
      (await client.listJobs({ before: other.jobId })).jobs.map((j) => j.id),
      [jobId],
    );

    const job = await client.getJob({ jobId });
    assert.equal(job.name, 'Hello');
    assert.deepEqual(job.parameters.Greeting, { type: 'STRING', value: 'Howdy' });
    assert.equal(job.steps[0]!.name, 'Greet');
    const source = await client.getJobSource({ jobId });
    assert.equal(source.template, HELLO);
    assert.deepEqual(source.parameterValues, { Greeting: 'Howdy' });

    const { tasks, total } = await client.listTasks({ jobId, limit: 2 });
    assert.equal(total, 3);
    assert.equal(tasks.length, 2);
    assert.equal((await client.listTasks({ jobId, offset: 2 })).tasks[0]!.index, 2);
    assert.equal((await client.listTasks({ jobId, states: ['succeeded'] })).total, 0);
    const task = await client.getTask({ jobId, taskId: tasks[0]!.id });
    assert.equal(task.stepName, 'Greet');

    await client.setPriority({ jobId, priority: 90 });
    assert.equal((await client.getJob({ jobId })).priority, 90);
    assert.deepEqual(await client.suspend({ jobId }), { suspended: 3 });
    assert.equal((await client.getJob({ jobId })).state, 'suspended');
    assert.deepEqual(await client.resume({ jobId }), {});
    assert.deepEqual(await client.cancel({ jobId, taskId: task.id }), { canceled: 1 });
    assert.deepEqual(await client.requeue({ jobId, taskId: task.id }), { requeued: 1 });
    assert.deepEqual(await client.cancel({ jobId, step: 'Greet' }), { canceled: 3 });
    assert.deepEqual(await client.requeue({ jobId, includeSucceeded: true }), { requeued: 3 });

    const { events } = await client.listEvents({ jobId });
    assert.ok(events.some((e) => e.kind === 'job' && e.reason === 'priority 50 → 90' && e.actor === 'user:alice'));
    const page = await client.listEvents({ jobId, after: events[0]!.id, limit: 2 });
    assert.equal(page.events[0]!.id, events[1]!.id);
    assert.equal(page.events.length, 2);

    const totals = await client.totals();
    assert.equal(totals.jobs.queued, 2);
    assert.equal(totals.tasks.pending! + totals.tasks.ready!, 8);

    // Deleting: refused while the job can still run; once canceled, the job and its tasks and events go.
    await assert.rejects(client.deleteJob({ jobId }), { code: FarmErrorCode.Conflict });
    await client.cancel({ jobId });
    assert.deepEqual(await client.deleteJob({ jobId }), {});
    await assert.rejects(client.getJob({ jobId }), { code: FarmErrorCode.NotFound });
    assert.deepEqual((await client.listEvents({ jobId })).events, []);
    await assert.rejects(client.deleteJob({ jobId }), { code: FarmErrorCode.NotFound });
  });

  it('should run the worker protocol: register, sync, report, logs', async () => {
    const client = test.client();
    const { jobId } = await client.submitJob({ template: manyTasks(2, 'Logs') });
    const worker = await registerWorker(test, 'w-logs');
    const first = await worker.client.sync({ workerId: worker.workerId, request: syncRequest(1, { wantWork: 1 }) });
    const assignment = first.assignments.find((a) => a.jobId === jobId) ?? first.assignments[0]!;
    assert.ok(assignment, 'gets work');
    const now = Date.now();
    const second = await worker.client.sync({
      workerId: worker.workerId,
      request: syncRequest(2, {
        state: 'busy',
        wantWork: 0,
        running: [assignment.taskId],
        events: [{ kind: 'taskStarted', taskId: assignment.taskId, time: now }],
        logs: [{ sessionId: assignment.sessionId, seq: 1, taskId: assignment.taskId, lines: [[now, 'hello, log']] }],
        metrics: { cpu: 0.25, load1: 1.5, memoryTotalMiB: 2048, memoryUsedMiB: 512 },
      }),
    });
    assert.equal(second.seq, 2);
    const chunks = await client.readLogs({ jobId: assignment.jobId, taskId: assignment.taskId });
    assert.deepEqual(
      chunks.flatMap((c) => c.lines.map((l) => l.text)),
      ['hello, log'],
    );
    assert.deepEqual(await client.readLogs({ jobId: assignment.jobId, after: chunks.at(-1)!.cursor }), []);
    const { workers } = await client.listWorkers();
    const listed = workers.find((w) => w.id === worker.workerId)!;
    assert.equal(listed.metrics?.cpu, 0.25);
    assert.deepEqual(
      listed.tasks.map((t) => t.taskId),
      [assignment.taskId],
    );
    await client.setDraining({ workerId: worker.workerId, draining: true });
    assert.equal((await client.listWorkers()).workers.find((w) => w.id === worker.workerId)!.drainRequested, true);
  });

  it("should keep a worker's recent host metrics and serve them", async () => {
    const client = test.client(test.tokens.user);
    const worker = await registerWorker(test, 'w-metrics');
    assert.deepEqual(await client.workerMetrics({ workerId: worker.workerId }), {
      workerId: worker.workerId,
      samples: [],
    });
    const time = Date.now() - 1000;
    const metrics = { cpu: 0.5, load1: 2, memoryTotalMiB: 4096, memoryUsedMiB: 1024, time };
    await worker.client.sync({ workerId: worker.workerId, request: syncRequest(1, { wantWork: 0, metrics }) });
    // Within 5 s of the first: not sampled.
    await worker.client.sync({
      workerId: worker.workerId,
      request: syncRequest(2, { wantWork: 0, metrics: { cpu: 0.9, memoryUsedMiB: 2048 } }),
    });
    const history = await client.workerMetrics({ workerId: worker.workerId });
    assert.deepEqual(history, {
      workerId: worker.workerId,
      samples: [{ time, cpu: 0.5, load1: 2, memoryUsedMiB: 1024, memoryTotalMiB: 4096 }],
    });

    await assert.rejects(client.workerMetrics({ workerId: 999_999 }), (e: unknown) => {
      assert.ok(e instanceof CorralError);
      assert.equal(e.code, FarmErrorCode.NotFound);
      assert.match(e.message, /Worker 999999 does not exist/);
      return true;
    });
    const response = await raw(test, '/api/v1/workers/999999/metrics');
    assert.equal(response.status, 404);
    assert.equal(((await response.json()) as { error: { code: string } }).error.code, FarmErrorCode.NotFound);
  });

  it('should manage queues and tokens', async () => {
    const client = test.client();
    assert.deepEqual(await client.createQueue({ name: 'render', description: 'Frames' }), { id: 2 });
    await client.configureQueue({ name: 'render', description: null, runAsUser: 'renderer' });
    const queue = (await client.listQueues()).queues.find((q) => q.name === 'render')!;
    assert.equal(queue.description, undefined);
    assert.equal(queue.runAsUser, 'renderer');
    const { jobId } = await client.submitJob({ template: HELLO, queue: 'render' });
    assert.equal((await client.getJob({ jobId })).queue, 'render');

    const created = await client.createToken({ name: 'bob', kind: 'user' });
    assert.match(created.token, /^corral_user_/);
    const bob = test.client(created.token);
    assert.ok(Array.isArray((await bob.listJobs()).jobs));
    const listed = (await client.listTokens()).tokens.find((t) => t.id === created.id)!;
    assert.deepEqual([listed.name, listed.kind, listed.revokedAt], ['bob', 'user', undefined]);
    assert.ok(!JSON.stringify(await client.listTokens()).includes(created.token), 'never lists token values');
    await client.revokeToken({ id: created.id });
    await assert.rejects(bob.listJobs(), { code: FarmErrorCode.Unauthorized });
    assert.ok((await client.listTokens()).tokens.find((t) => t.id === created.id)!.revokedAt);
  });

  it('should answer model errors with 422 and located issues the client turns back into TemplateError', async () => {
    const client = test.client();
    const broken = 'specificationVersion: jobtemplate-2023-09\nname: Broken\nsteps:\n- name: A\n  script: {}\n';
    const error = await client.submitJob({ template: broken }).then(
      () => assert.fail('accepted a broken template'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof TemplateError, `a TemplateError, got ${String(error)}`);
    assert.equal(error.code, 'CORRAL_E_TEMPLATE_INVALID');
    assert.ok(error.issues.length > 0);
    assert.ok(error.issues.every((issue) => typeof issue.line === 'number' && typeof issue.column === 'number'));
    const response = await raw(test, '/api/v1/jobs', { method: 'POST', body: JSON.stringify({ template: broken }) });
    assert.equal(response.status, 422);
    const body = (await response.json()) as { error: { message: string } };
    assert.equal(error.message, body.error.message, 'keeps the message as sent');

    await assert.rejects(client.submitJob({ template: HELLO, parameters: { Nope: 1 } }), {
      name: 'ParameterError',
      code: 'CORRAL_E_PARAMETER_INVALID',
    });
    await assert.rejects(client.submitJob({ template: HELLO, queue: 'missing' }), { code: FarmErrorCode.NotFound });
    await assert.rejects(client.getJob({ jobId: 999_999 }), (e: unknown) => {
      assert.ok(e instanceof CorralError);
      assert.equal(e.code, FarmErrorCode.NotFound);
      assert.match(e.message, /Job 999999 does not exist/);
      return true;
    });
    await assert.rejects(client.resume({ jobId: 1, step: 'Nope' }), { code: FarmErrorCode.NotFound });
  });

  it('should answer unknown routes with 404 in the error shape', async () => {
    const response = await raw(test, '/api/v1/nothing-here');
    assert.equal(response.status, 404);
    assert.equal(((await response.json()) as { error: { code: string } }).error.code, FarmErrorCode.NotFound);
  });
});

describe('client errors', () => {
  it('should name the URL when nothing listens there', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise((resolve) => probe.close(resolve));
    const url = `http://127.0.0.1:${port}`;
    await assert.rejects(createClient({ url }).health(), (e: unknown) => {
      assert.ok(e instanceof CorralError);
      assert.equal(e.code, FarmErrorCode.ServerUnavailable);
      assert.ok(e.message.includes(url) && e.message.includes('ECONNREFUSED'), e.message);
      return true;
    });
  });

  it('should refuse answers that are not Corral and time out on silent servers', async () => {
    let mode = 'html';
    const other = createServer((_req, res) => {
      if (mode === 'html') res.writeHead(502, { 'content-type': 'text/html' }).end('<h1>Bad gateway</h1>');
      else if (mode === 'text') res.writeHead(200, { 'content-type': 'text/plain' }).end('hello');
      else if (mode === 'json') res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"boom"}');
      // 'silent': never answers
    });
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
    try {
      const client = createClient({ url, timeoutMs: 300 });
      for (const m of ['html', 'text', 'json']) {
        mode = m;
        await assert.rejects(client.listJobs(), (e: unknown) => {
          assert.ok(e instanceof CorralError);
          assert.equal(e.code, FarmErrorCode.ServerUnavailable, `${m}: ${e.message}`);
          assert.ok(e.message.includes(url));
          return true;
        });
      }
      mode = 'silent';
      const started = performance.now();
      await assert.rejects(client.health(), { code: FarmErrorCode.ServerUnavailable, message: /did not answer/ });
      assert.ok(performance.now() - started < 3000);
      mode = 'text';
      await assert.rejects(
        (async () => {
          for await (const _ of client.stream()) break;
        })(),
        { code: FarmErrorCode.ServerUnavailable },
      );
    } finally {
      other.closeAllConnections();
      await new Promise((resolve) => other.close(resolve));
    }
  });

  it('should refuse a URL that is not http(s)', () => {
    assert.throws(() => createClient({ url: 'ftp://x' }), { code: 'CORRAL_E_INVALID_ARGUMENT' });
  });
});
