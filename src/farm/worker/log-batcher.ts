/**
 * @module Groups a session's log lines into {@link LogBatch}es for the outbox: one batch per run of lines of the same
 * action, cut at a number of lines or bytes, numbered from 1 within the session.
 */
import type { LogBatch } from '../api/types.js';

export interface LogBatcherOptions {
  readonly sessionId: number;
  /** Receives each finished batch. */
  readonly emit: (batch: LogBatch) => void;
  /** Most lines in a batch. Default 1000. */
  readonly maxLines?: number;
  /** A batch is cut once its text passes this many characters. Default 256 KiB. */
  readonly maxChars?: number;
}

export class LogBatcher {
  readonly #options: LogBatcherOptions;
  readonly #maxLines: number;
  readonly #maxChars: number;
  #seq = 0;
  #action: number | undefined;
  #taskId: number | undefined;
  #lines: [number, string][] = [];
  #chars = 0;

  constructor(options: LogBatcherOptions) {
    this.#options = options;
    this.#maxLines = Math.max(1, options.maxLines ?? 1000);
    this.#maxChars = options.maxChars ?? 256 * 1024;
  }

  /** Lines waiting to be emitted. */
  get pending(): number {
    return this.#lines.length;
  }

  /** Adds a line of `action` (undefined: a line of the session itself). */
  add(action: number | undefined, taskId: number | undefined, time: number, text: string): void {
    if (this.#lines.length > 0 && (action !== this.#action || taskId !== this.#taskId)) this.flush();
    this.#action = action;
    this.#taskId = taskId;
    this.#lines.push([time, text]);
    this.#chars += text.length;
    if (this.#lines.length >= this.#maxLines || this.#chars >= this.#maxChars) this.flush();
  }

  /** Emits the lines gathered so far as a batch. */
  flush(): void {
    if (this.#lines.length === 0) return;
    const batch: LogBatch = {
      sessionId: this.#options.sessionId,
      seq: ++this.#seq,
      ...(this.#action !== undefined ? { action: this.#action } : {}),
      ...(this.#taskId !== undefined ? { taskId: this.#taskId } : {}),
      lines: this.#lines,
    };
    this.#lines = [];
    this.#chars = 0;
    this.#options.emit(batch);
  }
}
