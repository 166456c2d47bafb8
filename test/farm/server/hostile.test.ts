/**
 * Hostile and malformed input: size limits (body, template, log lines), bad JSON, wrong types, missing and extra
 * fields, negative and huge numbers, deep nesting, prototype-pollution keys. Each gets a 4xx in the error shape and
 * leaves every stored row as it was.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FarmErrorCode } from '../../../src/farm/errors.js';
import { errorOf, HELLO, raw, registerWorker, snapshot, startFarm, syncRequest, type TestFarm } from './helpers.js';

const LIMITS = { bodyBytes: 64 * 1024, templateBytes: 16 * 1024, logBatchLines: 100, logLineBytes: 1000 };

describe('hostile input', () => {
  let test: TestFarm;
  let worker: Awaited<ReturnType<typeof registerWorker>>;
  let jobId: number;
  before(async () => {
    test = await startFarm({ limits: LIMITS });
    ({ jobId } = await test.client().submitJob({ template: HELLO }));
    worker = await registerWorker(test, 'w-hostile');
  });
  after(async () => {
    await test.close();
  });
  after(() => assert.deepEqual(test.problems, []));

  /** Sends each request, expects its status and code, and that nothing stored changed. */
  async function refused(
    cases: readonly {
      name: string;
      path: string;
      init: RequestInit & { token?: string | null };
      status: number;
      code?: string;
      field?: RegExp;
    }[],
  ) {
    const before = await snapshot(test.farm);
    for (const c of cases) {
      const response = await raw(test, c.path, c.init);
      const text = await response.text();
      assert.equal(response.status, c.status, `${c.name}: ${response.status} ${text.slice(0, 300)}`);
      const body = JSON.parse(text) as { error: { code: string; message: string } };
      if (c.code) assert.equal(body.error.code, c.code, c.name);
      if (c.field) assert.match(body.error.message, c.field, c.name);
    }
    assert.deepEqual(await snapshot(test.farm), before, 'stored state unchanged');
  }

  const post = (path: string, body: string, extra: RequestInit = {}) => ({
    name: `${path} ${body.slice(0, 60)}`,
    path,
    init: { method: 'POST', body, ...extra },
  });

  it('should refuse malformed submissions with 400 naming the field', async () => {
    const bad = (body: string, field?: RegExp) => ({
      ...post('/api/v1/jobs', body),
      status: 400,
      code: FarmErrorCode.BadRequest,
      ...(field ? { field } : {}),
    });
    await refused([
      bad('{"template": '),
      bad('not json at all'),
      bad('[]', /body/),
      bad('null', /body\.template is required/),
      bad('{}', /body\.template is required/),
      bad('{"template": 5}', /body\.template must be string/),
      bad(JSON.stringify({ template: HELLO, priority: '50' }), /body\.priority must be integer/),
      bad(JSON.stringify({ template: HELLO, priority: true }), /body\.priority/),
      bad(JSON.stringify({ template: HELLO, priority: 101 }), /body\.priority must be <= 100/),
      bad(JSON.stringify({ template: HELLO, priority: -1 }), /body\.priority/),
      bad(JSON.stringify({ template: HELLO, priority: 1.5 }), /body\.priority must be integer/),
      bad(`{"template": ${JSON.stringify(HELLO)}, "priority": 1e400}`, /body\.priority/),
      bad(`{"template": ${JSON.stringify(HELLO)}, "maxRetriesPerTask": 99999999999999999999999}`, /maxRetriesPerTask/),
      bad(JSON.stringify({ template: HELLO, bogus: 1 }), /body\.bogus is not a known field/),
      bad(JSON.stringify({ template: HELLO, parameters: { Greeting: { nested: 1 } } }), /parameters\.Greeting/),
      bad(JSON.stringify({ template: HELLO, parameters: { Greeting: null } }), /parameters\.Greeting/),
      bad(
        JSON.stringify({ template: HELLO, environmentTemplates: [{ name: 'e' }] }),
        /environmentTemplates\[0\]\.text is required/,
      ),
      bad(JSON.stringify({ template: HELLO, queue: 'q'.repeat(65) }), /body\.queue/),
      bad(`{"template": ${JSON.stringify(HELLO)}, "parameters": ${'{"a":'.repeat(8000)}1${'}'.repeat(8000)}}`),
      bad(`{"template": ${JSON.stringify(HELLO)}, "environmentTemplates": ${'['.repeat(25_000)}${']'.repeat(25_000)}}`),
      // Prototype pollution: refused outright, wherever the key is.
      bad(`{"template": ${JSON.stringify(HELLO)}, "__proto__": {"polluted": true}}`),
      bad(`{"template": ${JSON.stringify(HELLO)}, "parameters": {"__proto__": {"polluted": true}}}`),
      bad(`{"template": ${JSON.stringify(HELLO)}, "constructor": {"prototype": {"polluted": true}}}`),
      {
        ...post('/api/v1/jobs', JSON.stringify({ template: HELLO }), { headers: { 'content-type': 'text/plain' } }),
        status: 415,
      },
    ]);
    assert.equal(({} as { polluted?: boolean }).polluted, undefined);
    assert.equal(Object.hasOwn(Object.prototype, 'polluted'), false);
  });

  it('should refuse bad ids and query values in paths and query strings', async () => {
    const get = (path: string, field?: RegExp) => ({
      name: path,
      path,
      init: {},
      status: 400,
      code: FarmErrorCode.BadRequest,
      ...(field ? { field } : {}),
    });
    await refused([
      get('/api/v1/jobs/-1', /path\.jobId must be >= 1/),
      get('/api/v1/jobs/0', /path\.jobId must be >= 1/),
      get('/api/v1/jobs/abc', /path\.jobId must be integer/),
      get('/api/v1/jobs/1.5', /path\.jobId must be integer/),
      get('/api/v1/jobs/99999999999999999999', /path\.jobId must be <=/),
      get(`/api/v1/jobs/${'9'.repeat(500)}`),
      get('/api/v1/jobs/1e3', /path\.jobId must be integer/),
      get('/api/v1/jobs?limit=0', /query\.limit/),
      get('/api/v1/jobs?limit=1&limit=2', /query\.limit/),
      get('/api/v1/jobs?state=running,bogus', /query\.state/),
      get('/api/v1/jobs?bogus=1', /query\.bogus is not a known field/),
      get('/api/v1/jobs?__proto__=1'),
      get(`/api/v1/jobs?search=${'x'.repeat(300)}`, /query\.search/),
      get(`/api/v1/jobs/${jobId}/tasks?offset=-5`, /query\.offset/),
      get(`/api/v1/jobs/${jobId}/logs?taskId=x`, /query\.taskId/),
      get('/api/v1/events?after=-1', /query\.after/),
      { ...post(`/api/v1/jobs/${jobId}/cancel`, '{"taskId": -3}'), status: 400, field: /body\.taskId/ },
      { ...post(`/api/v1/jobs/${jobId}/cancel`, '{"step": ""}'), status: 400, field: /body\.step/ },
      { ...post(`/api/v1/jobs/${jobId}/requeue`, '{"includeSucceeded": "yes"}'), status: 400 },
      {
        name: 'priority',
        path: `/api/v1/jobs/${jobId}/priority`,
        init: { method: 'PUT', body: '{"priority": "high"}' },
        status: 400,
      },
      {
        name: 'priority missing',
        path: `/api/v1/jobs/${jobId}/priority`,
        init: { method: 'PUT', body: '{}' },
        status: 400,
        field: /body\.priority is required/,
      },
      { ...post('/api/v1/queues', '{"name": "../etc"}'), status: 400, field: /body\.name/ },
      { name: 'queue patch', path: '/api/v1/queues/default', init: { method: 'PATCH', body: '{}' }, status: 400 },
      { ...post('/api/v1/tokens', '{"name": "x", "kind": "worker"}'), status: 400, field: /body\.kind/ },
      { ...post('/api/v1/tokens', '{"name": "x", "kind": "admin", "workerId": 1}'), status: 400 },
      {
        ...post(
          '/api/v1/workers',
          '{"name": "w", "host": "h", "capabilities": {"amounts": {"x": "many"}, "attributes": {}}}',
        ),
        status: 400,
      },
      { name: 'revoke', path: '/api/v1/tokens/abc', init: { method: 'DELETE' }, status: 400 },
    ]);
  });

  it('should refuse malformed syncs without touching the worker', async () => {
    const sync = `/api/v1/workers/${worker.workerId}/sync`;
    const bad = (body: unknown, field?: RegExp) => ({
      ...post(sync, typeof body === 'string' ? body : JSON.stringify(body), {}),
      init: { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body), token: worker.token },
      status: 400,
      ...(field ? { field } : {}),
    });
    await refused([
      bad({ ...syncRequest(1), seq: '1' }, /body\.seq must be integer/),
      bad({ ...syncRequest(1), seq: 0 }, /body\.seq/),
      bad({ ...syncRequest(1), state: 'sleeping' }, /body\.state/),
      bad({ ...syncRequest(1), events: [{ kind: 'taskExploded', taskId: 1, time: 1 }] }, /body\.events\[0\]/),
      bad({ ...syncRequest(1), events: [{ kind: 'taskStarted', taskId: 1 }] }, /body\.events\[0\]\.time is required/),
      bad(
        { ...syncRequest(1), logs: [{ sessionId: 1, seq: 1, lines: [['now', 'x']] }] },
        /body\.logs\[0\]\.lines\[0\]/,
      ),
      bad({ ...syncRequest(1), logs: [{ sessionId: 1, seq: 1, lines: [[1, 'x', 'extra']] }] }, /lines\[0\]/),
      bad({ ...syncRequest(1), waitMs: 3_600_000 }, /body\.waitMs/),
      bad({ ...syncRequest(1), running: [-1] }, /body\.running\[0\]/),
      bad({ ...syncRequest(1), metrics: { cpu: 'high' } }, /body\.metrics\.cpu/),
      bad({ seq: 1 }, /is required/),
      { ...bad(syncRequest(1)), path: '/api/v1/workers/0/sync', init: { method: 'POST', body: '{}' } },
    ]);
  });

  it('should refuse bodies, templates and log batches over the limits with 413', async () => {
    const big = JSON.stringify({
      template: HELLO,
      name: 'x'.repeat(200),
      parameters: { Greeting: 'y'.repeat(70_000) },
    });
    await refused([
      {
        ...post('/api/v1/jobs', big),
        status: 413,
        code: FarmErrorCode.TooLarge,
        field: /larger than the server accepts \(65536 bytes\)/,
      },
      {
        ...post('/api/v1/jobs', JSON.stringify({ template: `${HELLO}\n#${'x'.repeat(20_000)}` })),
        status: 413,
        code: FarmErrorCode.TooLarge,
        field: /job template is .* up to 16384 bytes/,
      },
      {
        ...post(
          '/api/v1/jobs',
          JSON.stringify({ template: HELLO, environmentTemplates: [{ name: 'env.yaml', text: 'é'.repeat(9000) }] }),
        ),
        status: 413,
        code: FarmErrorCode.TooLarge,
        field: /environment template 'env.yaml'/,
      },
      {
        ...post(
          '/api/v1/queues',
          JSON.stringify({ name: 'big', environments: [{ name: 'env.yaml', text: 'x'.repeat(17_000) }] }),
        ),
        status: 413,
        code: FarmErrorCode.TooLarge,
      },
      {
        name: 'too many log lines',
        path: `/api/v1/workers/${worker.workerId}/sync`,
        init: {
          method: 'POST',
          token: worker.token,
          body: JSON.stringify(
            syncRequest(1, {
              logs: [{ sessionId: 1, seq: 1, lines: Array.from({ length: 101 }, (_, i) => [i, 'x'] as const) }],
            }),
          ),
        },
        status: 413,
        code: FarmErrorCode.TooLarge,
        field: /101 log lines; the server accepts at most 100/,
      },
    ]);
    // A body without a declared length (chunked) is counted as it streams in.
    const before = await snapshot(test.farm);
    const chunks = [big.slice(0, 40_000), big.slice(40_000)];
    const streamed = await raw(test, '/api/v1/jobs', {
      method: 'POST',
      body: new ReadableStream({
        pull(controller) {
          const chunk = chunks.shift();
          if (chunk === undefined) controller.close();
          else controller.enqueue(new TextEncoder().encode(chunk));
        },
      }),
      duplex: 'half',
    } as RequestInit);
    assert.equal((await errorOf(streamed)).status, 413);
    assert.deepEqual(await snapshot(test.farm), before);
  });

  it('should apply new limits on configure(), without a restart', async () => {
    const body = JSON.stringify({ template: `${HELLO}\n#${'x'.repeat(20_000)}` });
    assert.equal((await raw(test, '/api/v1/jobs', { method: 'POST', body })).status, 413);
    test.server.configure({ limits: { templateBytes: 64 * 1024 } });
    try {
      assert.equal((await raw(test, '/api/v1/jobs', { method: 'POST', body })).status, 201);
      assert.equal((await test.client().health()).limits.templateBytes, 64 * 1024);
    } finally {
      test.server.configure({ limits: { templateBytes: LIMITS.templateBytes } });
    }
    assert.throws(() => test.server.configure({ limits: { bodyBytes: -1 } }), { code: 'CORRAL_E_INVALID_ARGUMENT' });
    assert.equal((await test.client().health()).limits.bodyBytes, LIMITS.bodyBytes, 'a bad reload changes nothing');
  });

  it('should cut overlong log lines instead of refusing the sync', async () => {
    const { jobId: logJob } = await test.client().submitJob({ template: HELLO, priority: 100 });
    const first = await worker.client.sync({ workerId: worker.workerId, request: syncRequest(1) });
    const a = first.assignments[0]!;
    assert.equal(a.jobId, logJob);
    const long = 'ä'.repeat(3000); // 6000 bytes
    await worker.client.sync({
      workerId: worker.workerId,
      request: syncRequest(2, {
        wantWork: 0,
        running: [a.taskId],
        logs: [
          {
            sessionId: a.sessionId,
            seq: 1,
            taskId: a.taskId,
            lines: [
              [Date.now(), long],
              [Date.now(), 'short'],
            ],
          },
        ],
      }),
    });
    const lines = (await test.client().readLogs({ jobId: logJob })).flatMap((c) => c.lines.map((l) => l.text));
    assert.equal(lines.length, 2);
    assert.ok(Buffer.byteLength(lines[0]!) <= LIMITS.logLineBytes, `${Buffer.byteLength(lines[0]!)} bytes`);
    assert.match(lines[0]!, /^ä+… \[truncated\]$/);
    assert.equal(lines[1], 'short');
  });
});

describe('hostile input at the default limits', () => {
  let test: TestFarm;
  before(async () => {
    test = await startFarm();
  });
  after(async () => {
    await test.close();
  });

  it('should refuse a million levels of nesting and a body over 8 MiB, changing nothing', async () => {
    const before = await snapshot(test.farm);
    const deep = `{"template": "x", "parameters": {"a": ${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}}}`;
    const nested = await errorOf(await raw(test, '/api/v1/jobs', { method: 'POST', body: deep }));
    assert.equal(nested.status, 400);
    assert.match(nested.message, /body\.parameters\.a/);
    const huge = JSON.stringify({ template: `#${'x'.repeat(9 * 1024 * 1024)}` });
    const tooLarge = await errorOf(await raw(test, '/api/v1/jobs', { method: 'POST', body: huge }));
    assert.equal(tooLarge.status, 413);
    assert.equal(tooLarge.code, FarmErrorCode.TooLarge);
    assert.deepEqual(await snapshot(test.farm), before);
    // The server is still fine.
    assert.equal((await test.client().health()).ok, true);
  });
});
