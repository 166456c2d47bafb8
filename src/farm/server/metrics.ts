/**
 * @module Prometheus metrics, in a registry of the server's own (never prom-client's global one, so two servers in
 * one process, as in tests, do not collide).
 *
 * Farm gauges (jobs, tasks, workers by state; workers' host metrics) are read from the database at scrape time.
 * `corral_dispatch_latency_seconds` is the time from a task becoming ready (`tasks.ready_at`) to its assignment in a
 * worker's sync; `corral_sync_duration_seconds` is how long the sync call took, long-poll wait included (label
 * `long_poll`: look at `long_poll="false"` for the cost of the work itself).
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { JOB_STATES, TASK_STATES, WORKER_STATES } from '../api/types.js';
import type { Farm } from '../scheduler/farm.js';

export interface ServerMetrics {
  readonly registry: Registry;
  observeRequest(method: string, route: string, status: number, seconds: number): void;
  observeSync(seconds: number, longPoll: boolean): void;
  /** Stops listening to the farm (the server is closing). */
  close(): void;
}

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];
const MIB = 1024 * 1024;

export function createMetrics(farm: Farm): ServerMetrics {
  const registry = new Registry();
  const byState = (name: string, help: string, states: readonly string[], read: () => Promise<object>) =>
    new Gauge({
      name,
      help,
      labelNames: ['state'],
      registers: [registry],
      async collect() {
        const counts = (await read()) as Record<string, number>;
        for (const state of new Set([...states, ...Object.keys(counts)])) this.set({ state }, counts[state] ?? 0);
      },
    });
  byState('corral_jobs', 'Jobs by state.', JOB_STATES, async () => (await farm.totals()).jobs);
  byState('corral_tasks', 'Tasks by state.', TASK_STATES, async () => (await farm.totals()).tasks);
  byState('corral_workers', 'Workers by state.', WORKER_STATES, async () => (await farm.totals()).workers);

  // Host metrics of the workers that are up, as they last reported them; one query serves the four gauges.
  let hosts: Promise<{ name: string; cpu?: number; load1?: number; used?: number; total?: number }[]> | undefined;
  const readHosts = () => {
    hosts ??= farm
      .listWorkers()
      .then((workers) =>
        workers
          .filter((w) => w.metrics && w.state !== 'lost' && w.state !== 'offline')
          .map((w) => ({
            name: w.name,
            ...(w.metrics?.cpu !== undefined ? { cpu: w.metrics.cpu } : {}),
            ...(w.metrics?.load1 !== undefined ? { load1: w.metrics.load1 } : {}),
            ...(w.metrics?.memoryUsedMiB !== undefined ? { used: w.metrics.memoryUsedMiB * MIB } : {}),
            ...(w.metrics?.memoryTotalMiB !== undefined ? { total: w.metrics.memoryTotalMiB * MIB } : {}),
          })),
      )
      .finally(() => setImmediate(() => (hosts = undefined)));
    return hosts;
  };
  const hostGauge = (name: string, help: string, field: 'cpu' | 'load1' | 'used' | 'total') =>
    new Gauge({
      name,
      help,
      labelNames: ['worker'],
      registers: [registry],
      async collect() {
        this.reset();
        for (const host of await readHosts()) {
          const value = host[field];
          if (value !== undefined) this.set({ worker: host.name }, value);
        }
      },
    });
  hostGauge('corral_worker_cpu_ratio', "Share of a worker host's CPU time in use (0–1).", 'cpu');
  hostGauge('corral_worker_load1', "A worker host's one-minute load average.", 'load1');
  hostGauge('corral_worker_memory_used_bytes', "A worker host's memory in use.", 'used');
  hostGauge('corral_worker_memory_total_bytes', "A worker host's total memory.", 'total');

  const dispatch = new Histogram({
    name: 'corral_dispatch_latency_seconds',
    help: 'Time from a task becoming ready to its assignment to a worker.',
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const sync = new Histogram({
    name: 'corral_sync_duration_seconds',
    help: 'Duration of worker syncs, long-poll wait included (see the long_poll label).',
    labelNames: ['long_poll'],
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const requests = new Counter({
    name: 'corral_http_requests_total',
    help: 'HTTP requests answered.',
    labelNames: ['method', 'route', 'status'],
    registers: [registry],
  });
  const durations = new Histogram({
    name: 'corral_http_request_duration_seconds',
    help: 'Duration of HTTP requests.',
    labelNames: ['method', 'route'],
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });

  // The scheduler reports each committed assignment's wait with the claim itself (no query of its own; a retried
  // sync's stored reply claims nothing, so it is not counted again).
  const onDispatched = (waitedMs: readonly number[]) => {
    for (const ms of waitedMs) dispatch.observe(ms / 1000);
  };
  farm.events.on('dispatched', onDispatched);
  return {
    registry,
    observeRequest(method, route, status, seconds) {
      requests.inc({ method, route, status: String(status) });
      durations.observe({ method, route }, seconds);
    },
    observeSync(seconds, longPoll) {
      sync.observe({ long_poll: String(longPoll) }, seconds);
    },
    close() {
      farm.events.off('dispatched', onDispatched);
    },
  };
}
