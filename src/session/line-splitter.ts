/**
 * @module Turns an action's output bytes into lines: UTF-8 decoded as it streams (invalid bytes become U+FFFD),
 * split on `\n` (a trailing `\r` is dropped), and cut into pieces of at most {@link MAX_LINE_LENGTH} characters, so a
 * process that never prints a newline cannot make the runtime hold unbounded memory.
 */

export const MAX_LINE_LENGTH = 64 * 1024;

export class LineSplitter {
  // Made on first output: most short actions print little or nothing.
  #decoder: InstanceType<typeof TextDecoder> | undefined;
  readonly #onLine: (line: string) => void;
  #partial = '';

  constructor(onLine: (line: string) => void) {
    this.#onLine = onLine;
  }

  /** Feeds a chunk of bytes; complete lines are delivered at once. */
  push(chunk: Uint8Array): void {
    this.#decoder ??= new TextDecoder('utf-8', { fatal: false });
    this.#feed(this.#decoder.decode(chunk, { stream: true }));
  }

  /** Delivers whatever is left as a last line. */
  end(): void {
    if (this.#decoder) this.#feed(this.#decoder.decode());
    if (this.#partial.length > 0) this.#emit(this.#partial);
    this.#partial = '';
  }

  #feed(text: string): void {
    if (text.length === 0) return;
    let start = 0;
    let data = text;
    if (this.#partial.length > 0) {
      data = this.#partial + text;
      this.#partial = '';
    }
    for (let newline = data.indexOf('\n'); newline !== -1; newline = data.indexOf('\n', start)) {
      this.#emit(data.slice(start, newline));
      start = newline + 1;
    }
    let rest = data.slice(start);
    while (rest.length > MAX_LINE_LENGTH) {
      this.#onLine(rest.slice(0, MAX_LINE_LENGTH));
      rest = rest.slice(MAX_LINE_LENGTH);
    }
    this.#partial = rest;
  }

  #emit(line: string): void {
    let text = line.charCodeAt(line.length - 1) === 0x0d ? line.slice(0, -1) : line;
    while (text.length > MAX_LINE_LENGTH) {
      this.#onLine(text.slice(0, MAX_LINE_LENGTH));
      text = text.slice(MAX_LINE_LENGTH);
    }
    this.#onLine(text);
  }
}
