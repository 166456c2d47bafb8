/**
 * @module A session's log on a terminal or in a file: each line with a timestamp, written in large batches (an
 * action printing a million lines must cost little), plus a live progress line on a terminal's stderr, never in
 * files or pipes.
 */

import { isatty } from 'node:tty';
import type { ActionRef, LogSink } from '../session/types.js';
import { writeAll } from './output.js';

export type TimestampFormat = 'relative' | 'local' | 'utc';

const FLUSH_BYTES = 256 * 1024;

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** Formats a timestamp: `relative` is H:MM:SS.mmm since `start`; `local` and `utc` are dates. */
export function formatTimestamp(time: number, format: TimestampFormat, start: number): string {
  if (format === 'utc') return new Date(time).toISOString();
  if (format === 'local') {
    const d = new Date(time);
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
  }
  const ms = Math.max(0, time - start);
  const h = Math.floor(ms / 3_600_000);
  return `${h}:${pad(Math.floor(ms / 60_000) % 60)}:${pad(Math.floor(ms / 1000) % 60)}.${pad(ms % 1000, 3)}`;
}

export class TerminalLog implements LogSink {
  readonly #fd: number;
  readonly #format: TimestampFormat;
  readonly #verbose: boolean;
  readonly debug: boolean;
  readonly #start: number;
  readonly #progressOnTerminal: boolean;
  readonly #sameTerminal: boolean;
  #parts: string[] = [];
  #bytes = 0;
  #scheduled = false;
  #lastTime = -1;
  #lastStamp = '';
  #progress = '';

  constructor(options: {
    fd?: number;
    timestampFormat?: TimestampFormat;
    verbose?: boolean;
    start?: number;
    progress?: boolean;
  }) {
    this.#fd = options.fd ?? 1;
    this.#format = options.timestampFormat ?? 'relative';
    this.#verbose = options.verbose ?? false;
    this.debug = this.#verbose;
    this.#start = options.start ?? Date.now();
    this.#progressOnTerminal = (options.progress ?? true) && isatty(2);
    this.#sameTerminal = this.#progressOnTerminal && isatty(this.#fd);
  }

  #stamp(time: number): string {
    if (time !== this.#lastTime) {
      this.#lastTime = time;
      this.#lastStamp = formatTimestamp(time, this.#format, this.#start);
    }
    return this.#lastStamp;
  }

  #append(text: string): void {
    this.#parts.push(text);
    this.#bytes += text.length;
    if (this.#bytes >= FLUSH_BYTES) this.flush();
    else if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  output(line: string, time: number, _action: ActionRef): void {
    this.#append(`${this.#stamp(time)} ${line}\n`);
  }

  info(message: string, time: number, level: 'info' | 'debug' | 'warn' | 'error'): void {
    if (level === 'debug' && !this.#verbose) return;
    const prefix = level === 'error' ? 'ERROR: ' : level === 'warn' ? 'WARNING: ' : '';
    this.#append(`${this.#stamp(time)} ${prefix}${message}\n`);
  }

  /** Writes a line that is not a log entry (the closing summary). */
  plain(text: string): void {
    this.#append(`${text}\n`);
  }

  /** Shows `text` as the live progress line (terminal only). */
  progress(text: string): void {
    if (!this.#progressOnTerminal) return;
    this.#progress = text;
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  flush(): void {
    this.#scheduled = false;
    const text = this.#parts.join('');
    this.#parts = [];
    this.#bytes = 0;
    if (this.#sameTerminal && this.#progress) writeAll(2, '\r\x1b[K');
    if (text) writeAll(this.#fd, text);
    if (this.#progressOnTerminal && this.#progress) writeAll(2, `\r\x1b[K${this.#progress}`);
  }

  /** Flushes and removes the progress line. */
  close(): void {
    const hadProgress = this.#progress !== '';
    this.#progress = '';
    this.flush();
    if (this.#progressOnTerminal && hadProgress) writeAll(2, '\r\x1b[K');
  }
}
