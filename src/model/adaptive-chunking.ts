/**
 * @module Adaptive chunk sizes for TASK_CHUNKING's `targetRuntimeSeconds`: after each chunk, the next chunk's size
 * moves toward what the measured time per task says would take the target time. The first chunks blend the current
 * size with the ideal one (so one odd chunk does not swing the size), later chunks follow the ideal.
 */

export interface AdaptiveChunkSizer {
  /** The size to use for the next chunk. */
  readonly next: number;
  /** Records a finished chunk: how many tasks it held and how long it took. */
  record(tasks: number, seconds: number): void;
}

/** Chunks that blend current and ideal sizes before the ideal is trusted alone. */
const BLENDED_CHUNKS = 10;

export function adaptiveChunkSizer(options: { initialSize: number; targetRuntimeSeconds: number }): AdaptiveChunkSizer {
  let size = Math.max(1, Math.floor(options.initialSize));
  let totalTasks = 0;
  let totalSeconds = 0;
  let chunks = 0;
  return {
    get next() {
      return size;
    },
    record(tasks, seconds) {
      chunks++;
      totalTasks += tasks;
      totalSeconds += seconds;
      // Too fast to measure: keep the size rather than divide by (nearly) zero.
      if (options.targetRuntimeSeconds <= 0 || totalSeconds <= 0.001 || totalTasks === 0) return;
      const ideal = options.targetRuntimeSeconds / (totalSeconds / totalTasks);
      const blended = chunks <= BLENDED_CHUNKS ? 0.75 * size + 0.25 * ideal : ideal;
      size = Math.max(1, Math.round(blended));
    },
  };
}
