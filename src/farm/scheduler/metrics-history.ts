/**
 * @module Recent host metrics per worker, in memory, for the dashboard's small charts: the last `windowMs` of samples,
 * at most one per `intervalMs` per worker. Recording is on the sync hot path, so a report that is not sampled costs a
 * Map lookup and a time comparison; expired samples are dropped when a sample is taken or the history read.
 * Windows and intervals are measured on the server's clock (a sample keeps the worker's own `time` when it has one).
 */
import type { HostMetrics, HostMetricsSample } from '../api/types.js';

interface Ring {
  /** Server time of the newest sample. */
  last: number;
  /** Oldest first; `at` is the server time it was taken. */
  readonly samples: { at: number; sample: HostMetricsSample }[];
}

export interface MetricsHistoryOptions {
  /** How much history is kept. Default 10 minutes. */
  readonly windowMs?: number;
  /** At most one sample per worker this often. Default 5 s. */
  readonly intervalMs?: number;
}

export class MetricsHistory {
  readonly #rings = new Map<number, Ring>();
  readonly #windowMs: number;
  readonly #intervalMs: number;
  readonly #capacity: number;

  constructor(options: MetricsHistoryOptions = {}) {
    this.#windowMs = options.windowMs ?? 10 * 60_000;
    this.#intervalMs = options.intervalMs ?? 5000;
    this.#capacity = Math.ceil(this.#windowMs / this.#intervalMs) + 1;
  }

  /**
   * Takes a sample of a worker's metrics, unless one was taken less than `intervalMs` ago.
   * @returns whether it took one (live views then have something new to draw).
   */
  record(workerId: number, metrics: HostMetrics, now: number): boolean {
    const ring = this.#rings.get(workerId);
    if (ring && now - ring.last < this.#intervalMs && now >= ring.last) return false;
    const sample: HostMetricsSample = {
      time: metrics.time ?? now,
      ...(metrics.cpu !== undefined ? { cpu: metrics.cpu } : {}),
      ...(metrics.load1 !== undefined ? { load1: metrics.load1 } : {}),
      ...(metrics.memoryUsedMiB !== undefined ? { memoryUsedMiB: metrics.memoryUsedMiB } : {}),
      ...(metrics.memoryTotalMiB !== undefined ? { memoryTotalMiB: metrics.memoryTotalMiB } : {}),
    };
    if (!ring) {
      this.#rings.set(workerId, { last: now, samples: [{ at: now, sample }] });
      return true;
    }
    ring.last = now;
    ring.samples.push({ at: now, sample });
    this.#expire(ring, now);
    // A clock that went back could otherwise let the ring grow past what the window holds.
    if (ring.samples.length > this.#capacity) ring.samples.splice(0, ring.samples.length - this.#capacity);
    return true;
  }

  /** A worker's samples taken within the window, oldest first (empty when it has none). */
  read(workerId: number, now: number): HostMetricsSample[] {
    const ring = this.#rings.get(workerId);
    if (!ring) return [];
    this.#expire(ring, now);
    if (ring.samples.length === 0) this.#rings.delete(workerId);
    return ring.samples.map((s) => s.sample);
  }

  forget(workerId: number): void {
    this.#rings.delete(workerId);
  }

  /** Drops the history of workers with no sample within the window (workers gone for good). */
  prune(now: number): void {
    for (const [workerId, ring] of this.#rings) {
      if (now - ring.last > this.#windowMs) this.#rings.delete(workerId);
    }
  }

  #expire(ring: Ring, now: number): void {
    const from = now - this.#windowMs;
    let drop = 0;
    while (drop < ring.samples.length && ring.samples[drop]!.at < from) drop++;
    if (drop > 0) ring.samples.splice(0, drop);
  }
}
