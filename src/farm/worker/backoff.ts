/**
 * @module Exponential backoff with full jitter (each delay is uniformly random between 0 and the exponential
 * ceiling), for retrying a server that cannot be reached: many workers coming back at once spread out.
 */

export interface BackoffOptions {
  /** The ceiling of the first delay, in ms. Default 250. */
  readonly baseMs?: number;
  /** The largest ceiling, in ms. Default 15 000. */
  readonly capMs?: number;
  /** Random numbers in [0, 1) (tests). Default `Math.random`. */
  readonly random?: () => number;
}

/** A retry schedule: `next()` for each failure, `reset()` after a success. */
export class Backoff {
  readonly #base: number;
  readonly #cap: number;
  readonly #random: () => number;
  #attempt = 0;

  constructor(options: BackoffOptions = {}) {
    this.#base = Math.max(1, options.baseMs ?? 250);
    this.#cap = Math.max(this.#base, options.capMs ?? 15_000);
    this.#random = options.random ?? Math.random;
  }

  /** Failures since the last reset. */
  get attempts(): number {
    return this.#attempt;
  }

  /** The ceiling the next delay is drawn under. */
  get ceiling(): number {
    return Math.min(this.#cap, this.#base * 2 ** Math.min(this.#attempt, 30));
  }

  /** The delay before the next attempt, in whole ms: uniform in [0, min(cap, base · 2^attempt)]. */
  next(): number {
    const delay = Math.floor(this.#random() * (this.ceiling + 1));
    this.#attempt++;
    return delay;
  }

  reset(): void {
    this.#attempt = 0;
  }
}
