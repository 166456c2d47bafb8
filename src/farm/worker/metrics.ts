/**
 * @module Host metrics for the heartbeat: CPU share since the previous sample, 1-minute load, memory total and used
 * (MiB; "used" is total minus what the kernel says is available, so page cache does not count).
 */
import { readFileSync } from 'node:fs';
import { cpus, freemem, loadavg, totalmem } from 'node:os';
import type { HostMetrics } from '../api/types.js';

const MIB = 1024 * 1024;

interface CpuTimes {
  readonly busy: number;
  readonly total: number;
}

function cpuTimes(): CpuTimes {
  let busy = 0;
  let total = 0;
  for (const cpu of cpus()) {
    const { user, nice, sys, idle, irq } = cpu.times;
    busy += user + nice + sys + irq;
    total += user + nice + sys + idle + irq;
  }
  return { busy, total };
}

/** Bytes of memory available to new work: `MemAvailable` on Linux, else what the OS calls free. */
function availableMemory(): number {
  if (process.platform === 'linux') {
    try {
      const match = /^MemAvailable:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'));
      if (match) return Number(match[1]) * 1024;
    } catch {}
  }
  return freemem();
}

export interface MetricsSamplerOptions {
  /** A sample younger than this is reused. Default 1000 ms. */
  readonly minIntervalMs?: number;
}

/** Samples host metrics; the CPU share covers the time since the previous sample. */
export class MetricsSampler {
  readonly #minInterval: number;
  #previous: CpuTimes = cpuTimes();
  #last: HostMetrics | undefined;
  #lastAt = 0;

  constructor(options: MetricsSamplerOptions = {}) {
    this.#minInterval = options.minIntervalMs ?? 1000;
  }

  /** The current metrics (cached for `minIntervalMs`). */
  sample(now = Date.now()): HostMetrics {
    if (this.#last && now - this.#lastAt < this.#minInterval) return this.#last;
    const times = cpuTimes();
    const total = times.total - this.#previous.total;
    const busy = times.busy - this.#previous.busy;
    this.#previous = times;
    const memoryTotal = totalmem();
    const metrics: HostMetrics = {
      ...(total > 0 ? { cpu: Math.round(Math.min(1, Math.max(0, busy / total)) * 1000) / 1000 } : {}),
      load1: Math.round(loadavg()[0]! * 100) / 100,
      memoryTotalMiB: Math.floor(memoryTotal / MIB),
      memoryUsedMiB: Math.max(0, Math.floor((memoryTotal - availableMemory()) / MIB)),
      time: now,
    };
    this.#last = metrics;
    this.#lastAt = now;
    return metrics;
  }
}
