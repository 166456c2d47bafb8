/**
 * /metrics: Prometheus text from the server's own registry, with the farm's gauges, worker host metrics, dispatch and
 * sync latencies and HTTP counters; a user token unless the metrics are public.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createClient } from '../../../src/farm/client/index.js';
import { FarmErrorCode } from '../../../src/farm/errors.js';
import { HELLO, raw, registerWorker, startFarm, syncRequest, type TestFarm } from './helpers.js';

/** The value of one series (`name{labels}`) in Prometheus text. */
function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('metrics', () => {
  let test: TestFarm;
  before(async () => {
    test = await startFarm();
  });
  after(async () => {
    await test.close();
  });

  it('should expose the farm, worker, dispatch, sync and HTTP series', async () => {
    await test.client().submitJob({ template: HELLO });
    const worker = await registerWorker(test, 'w-metrics');
    await worker.client.sync({
      workerId: worker.workerId,
      request: syncRequest(1, { metrics: { cpu: 0.5, load1: 2.25, memoryTotalMiB: 1024, memoryUsedMiB: 256 } }),
    });
    await new Promise((resolve) => setTimeout(resolve, 50)); // the dispatch latency is read after the reply
    const text = await test.client(test.tokens.user).metrics();
    assert.equal(value(text, 'corral_jobs{state="queued"}'), 0);
    assert.equal(value(text, 'corral_jobs{state="running"}'), 1);
    assert.equal(value(text, 'corral_tasks{state="assigned"}'), 1);
    assert.equal(value(text, 'corral_tasks{state="ready"}'), 2);
    assert.equal(value(text, 'corral_workers{state="idle"}'), 1);
    assert.equal(value(text, 'corral_worker_cpu_ratio{worker="w-metrics"}'), 0.5);
    assert.equal(value(text, 'corral_worker_load1{worker="w-metrics"}'), 2.25);
    assert.equal(value(text, 'corral_worker_memory_used_bytes{worker="w-metrics"}'), 256 * 1024 * 1024);
    assert.equal(value(text, 'corral_worker_memory_total_bytes{worker="w-metrics"}'), 1024 * 1024 * 1024);
    assert.equal(value(text, 'corral_dispatch_latency_seconds_count'), 1);
    assert.equal(value(text, 'corral_sync_duration_seconds_count{long_poll="false"}'), 1);
    assert.equal(value(text, 'corral_http_requests_total{method="POST",route="/api/v1/jobs",status="201"}'), 1);
    assert.ok(
      text.includes('corral_http_request_duration_seconds_bucket{le="0.005",method="POST",route="/api/v1/jobs"}'),
    );
    assert.ok(!text.includes('nodejs_'), 'not the global registry');
  });

  it('should need a user token unless public', async () => {
    const anonymous = createClient({ url: test.url });
    await assert.rejects(anonymous.metrics(), { code: FarmErrorCode.Unauthorized });
    assert.equal((await raw(test, '/metrics', { token: test.tokens.agent })).status, 403);
    test.server.configure({ metricsPublic: true });
    assert.match(await anonymous.metrics(), /corral_jobs/);
    test.server.configure({ metricsPublic: false });
    await assert.rejects(anonymous.metrics(), { code: FarmErrorCode.Unauthorized });
  });

  it('should count unknown routes under one label', async () => {
    await raw(test, '/api/v1/no/such/route/123');
    const text = await test.client().metrics();
    assert.equal(value(text, 'corral_http_requests_total{method="GET",route="unmatched",status="404"}'), 1);
  });
});
