/**
 * Authentication and authorisation: every route refuses requests without a token (401) and with a token of the
 * wrong kind (403); worker tokens sync only their own worker; `auth: 'none'` acts as admin on loopback only.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FarmErrorCode } from '../../../src/farm/errors.js';
import { assertSafeListen, createFarmServer, isLoopback, ROUTES } from '../../../src/farm/server/index.js';
import { errorOf, raw, registerWorker, startFarm, type TestFarm } from './helpers.js';

type Kind = 'none' | 'unknown' | 'admin' | 'user' | 'agent' | 'worker' | 'otherWorker';

/** Which token kinds a route's access lets through. */
const ALLOWED: Record<string, readonly Kind[]> = {
  public: ['none', 'unknown', 'admin', 'user', 'agent', 'worker', 'otherWorker'],
  user: ['admin', 'user'],
  metrics: ['admin', 'user'],
  admin: ['admin'],
  agent: ['admin', 'agent'],
  worker: ['admin', 'worker'],
};

describe('authentication', () => {
  let test: TestFarm;
  let tokens: Record<Kind, string | null>;
  let workerId: number;
  before(async () => {
    test = await startFarm();
    const mine = await registerWorker(test, 'w-auth');
    const other = await registerWorker(test, 'w-other');
    workerId = mine.workerId;
    tokens = {
      none: null,
      unknown: 'corral_admin_thisisnotarealtokenatallbutlooksabitlikeone000000',
      admin: test.tokens.admin,
      user: test.tokens.user,
      agent: test.tokens.agent,
      worker: mine.token,
      otherWorker: other.token,
    };
  });
  after(async () => {
    await test.close();
  });

  /** A route's URL with its parameters filled in. */
  const urlOf = (url: string) =>
    url
      .replace(':jobId', '1')
      .replace(':taskId', '1')
      .replace(':workerId', String(workerId))
      .replace(':name', 'default')
      .replace(':id', '999');

  it('should let each route through for exactly the token kinds its access allows', async () => {
    const outcomes: string[] = [];
    for (const route of ROUTES) {
      for (const kind of Object.keys(tokens) as Kind[]) {
        const controller = new AbortController();
        const response = await raw(test, urlOf(route.url), {
          method: route.method,
          token: tokens[kind],
          ...(route.method !== 'GET' && route.method !== 'DELETE' ? { body: '{}' } : {}),
          signal: controller.signal,
        });
        const allowed = ALLOWED[route.access]!.includes(kind);
        const status = response.status;
        controller.abort(); // the event stream would go on
        const expected = allowed ? 'through' : kind === 'none' || kind === 'unknown' ? 401 : 403;
        const got = status === 401 || status === 403 ? status : 'through';
        if (got !== expected)
          outcomes.push(`${route.method} ${route.url} with ${kind}: ${status}, expected ${expected}`);
        if (status === 401) assert.match(response.headers.get('www-authenticate') ?? '', /^Bearer/);
      }
    }
    assert.deepEqual(outcomes, []);
  });

  it('should say why a token is refused', async () => {
    const forWorker = await errorOf(
      await raw(test, `/api/v1/workers/${workerId}/sync`, { method: 'POST', token: tokens.otherWorker, body: '{}' }),
    );
    assert.equal(forWorker.code, FarmErrorCode.Forbidden);
    assert.match(forWorker.message, /may only sync that worker/);
    const agent = await errorOf(await raw(test, '/api/v1/jobs', { token: tokens.agent }));
    assert.equal(agent.status, 403);
    assert.match(agent.message, /agent token may only register workers/);
    const malformed = await errorOf(
      await raw(test, '/api/v1/jobs', { headers: { authorization: 'Basic abc' }, token: null }),
    );
    assert.equal(malformed.status, 401);
    assert.equal(malformed.code, FarmErrorCode.Unauthorized);
  });

  it('should take ?access_token= on the event stream only', async () => {
    const controller = new AbortController();
    const stream = await fetch(`${test.url}/api/v1/stream?access_token=${test.tokens.user}`, {
      signal: controller.signal,
    });
    assert.equal(stream.status, 200);
    assert.match(stream.headers.get('content-type') ?? '', /^text\/event-stream/);
    controller.abort();
    const jobs = await fetch(`${test.url}/api/v1/jobs?access_token=${test.tokens.user}`);
    assert.equal(jobs.status, 401);
    const wrong = await fetch(`${test.url}/api/v1/stream?access_token=${tokens.agent}`);
    assert.equal(wrong.status, 403);
  });

  it('should not accept a revoked worker token after the worker registers again', async () => {
    const again = await registerWorker(test, 'w-auth');
    assert.equal(again.workerId, workerId);
    const stale = await raw(test, `/api/v1/workers/${workerId}/sync`, {
      method: 'POST',
      token: tokens.worker,
      body: '{}',
    });
    assert.equal(stale.status, 401);
    tokens.worker = again.token;
  });
});

describe('without authentication', () => {
  let test: TestFarm;
  before(async () => {
    test = await startFarm({ auth: 'none', noTokens: true });
  });
  after(async () => {
    await test.close();
  });

  it('should act as an admin for every request', async () => {
    const client = test.client('');
    const { jobId } = await client.submitJob({
      template:
        'specificationVersion: jobtemplate-2023-09\nname: N\nsteps:\n- name: S\n  script: {actions: {onRun: {command: "true"}}}\n',
    });
    assert.equal((await client.getJob({ jobId })).submitter, 'user:local');
    assert.ok((await client.createToken({ name: 'first', kind: 'admin' })).token);
    assert.equal((await raw(test, '/metrics', { token: null })).status, 200);
  });

  it('should switch authentication on with a reload, without a restart', async () => {
    test.server.configure({ auth: 'tokens' });
    assert.equal((await raw(test, '/api/v1/jobs', { token: null })).status, 401);
    test.server.configure({ auth: 'none' });
    assert.equal((await raw(test, '/api/v1/jobs', { token: null })).status, 200);
  });
});

describe('safe listening', () => {
  it('should tell loopback hosts apart', () => {
    for (const host of ['127.0.0.1', '127.8.9.10', '::1', '[::1]', 'localhost', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1'])
      assert.ok(isLoopback(host), host);
    for (const host of ['0.0.0.0', '::', '', '10.0.0.1', '192.168.1.2', 'example.com', '128.0.0.1', '::ffff:10.0.0.1'])
      assert.ok(!isLoopback(host), host);
  });

  it('should refuse 0.0.0.0 without authentication or without tokens', () => {
    assert.throws(() => assertSafeListen({ host: '0.0.0.0', auth: 'none', hasTokens: true }), {
      code: FarmErrorCode.Insecure,
    });
    assert.throws(() => assertSafeListen({ host: '0.0.0.0', auth: 'tokens', hasTokens: false }), {
      code: FarmErrorCode.Insecure,
    });
    assert.throws(() => assertSafeListen({ host: '::', auth: 'none', hasTokens: false }), {
      code: FarmErrorCode.Insecure,
    });
    assertSafeListen({ host: '0.0.0.0', auth: 'tokens', hasTokens: true });
    assertSafeListen({ host: '127.0.0.1', auth: 'none', hasTokens: false });
    assertSafeListen({ host: 'localhost', auth: 'tokens', hasTokens: false });
  });

  it('should check at listen() too, and refuse to drop authentication while exposed', async () => {
    const test = await startFarm({ noTokens: true });
    try {
      const exposed = createFarmServer({ farm: test.farm, auth: 'tokens', version: 'x' });
      await assert.rejects(exposed.listen({ host: '0.0.0.0', port: 0 }), { code: FarmErrorCode.Insecure });
      await exposed.close();
      await test.farm.createToken('root', 'admin');
      const open = createFarmServer({ farm: test.farm, auth: 'tokens', version: 'x' });
      await open.listen({ host: '0.0.0.0', port: 0 });
      try {
        assert.throws(() => open.configure({ auth: 'none' }), { code: FarmErrorCode.Insecure });
        open.configure({ metricsPublic: true });
      } finally {
        await open.close();
      }
    } finally {
      await test.close();
    }
  });
});
