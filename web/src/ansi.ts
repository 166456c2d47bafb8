/**
 * @module ANSI colour and style sequences (SGR) in log lines, as styled segments. Other escape sequences (cursor
 * movement, titles) are dropped; the text of a line is exactly the line without its escapes.
 */

export interface Style {
  readonly fg?: string;
  readonly bg?: string;
  readonly bold?: boolean;
  readonly dim?: boolean;
  readonly italic?: boolean;
  readonly underline?: boolean;
}

export interface Segment {
  readonly text: string;
  readonly style: Style;
}

const BASIC = ['black', 'red', 'green', 'yellow', 'blue', 'magenta', 'cyan', 'white'];

/** Colour of the 256-colour palette entry `n`, as CSS. */
function palette(n: number): string | undefined {
  if (!Number.isInteger(n) || n < 0 || n > 255) return undefined;
  if (n < 8) return `var(--ansi-${BASIC[n]})`;
  if (n < 16) return `var(--ansi-bright-${BASIC[n - 8]})`;
  if (n < 232) {
    const i = n - 16;
    const level = (v: number) => (v === 0 ? 0 : 55 + v * 40);
    return `rgb(${level(Math.floor(i / 36))},${level(Math.floor(i / 6) % 6)},${level(i % 6)})`;
  }
  const grey = 8 + (n - 232) * 10;
  return `rgb(${grey},${grey},${grey})`;
}

function apply(style: Style, codes: number[]): Style {
  let next: { -readonly [K in keyof Style]: Style[K] } = { ...style };
  for (let i = 0; i < codes.length; i++) {
    const c = codes[i]!;
    if (c === 0) next = {};
    else if (c === 1) next.bold = true;
    else if (c === 2) next.dim = true;
    else if (c === 3) next.italic = true;
    else if (c === 4) next.underline = true;
    else if (c === 22) next.bold = next.dim = undefined;
    else if (c === 23) next.italic = undefined;
    else if (c === 24) next.underline = undefined;
    else if (c >= 30 && c <= 37) next.fg = `var(--ansi-${BASIC[c - 30]})`;
    else if (c >= 90 && c <= 97) next.fg = `var(--ansi-bright-${BASIC[c - 90]})`;
    else if (c >= 40 && c <= 47) next.bg = `var(--ansi-${BASIC[c - 40]})`;
    else if (c >= 100 && c <= 107) next.bg = `var(--ansi-bright-${BASIC[c - 100]})`;
    else if (c === 39) next.fg = undefined;
    else if (c === 49) next.bg = undefined;
    else if (c === 38 || c === 48) {
      let colour: string | undefined;
      if (codes[i + 1] === 5) {
        colour = palette(codes[i + 2] ?? -1);
        i += 2;
      } else if (codes[i + 1] === 2) {
        const [r, g, b] = [codes[i + 2], codes[i + 3], codes[i + 4]];
        if ([r, g, b].every((v) => v !== undefined && v >= 0 && v <= 255)) colour = `rgb(${r},${g},${b})`;
        i += 4;
      }
      if (c === 38) next.fg = colour;
      else next.bg = colour;
    }
  }
  for (const key of Object.keys(next) as (keyof Style)[]) if (next[key] === undefined) delete next[key];
  return next;
}

// CSI sequences (ESC [ params final), OSC sequences (ESC ] … BEL or ESC \), and other two-byte escapes.
const ESCAPE = /\x1b\[([0-9;:?]*)([@-~])|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]?/g;

/**
 * Splits a line into styled segments, carrying `style` in from the previous line (a colour set on one line lasts
 * until reset, as on a terminal).
 * @returns the segments and the style in force at the end of the line.
 */
export function parseAnsi(line: string, style: Style = {}): { segments: Segment[]; style: Style } {
  const segments: Segment[] = [];
  let current = style;
  let last = 0;
  const push = (text: string) => {
    if (text === '') return;
    const previous = segments[segments.length - 1];
    if (previous && previous.style === current)
      segments[segments.length - 1] = { text: previous.text + text, style: current };
    else segments.push({ text, style: current });
  };
  for (const match of line.matchAll(ESCAPE)) {
    push(line.slice(last, match.index));
    last = match.index + match[0].length;
    if (match[2] === 'm') {
      const codes = (match[1] ?? '').split(/[;:]/).map((part) => (part === '' ? 0 : Number(part)));
      current = apply(current, codes);
    }
  }
  push(line.slice(last));
  return { segments, style: current };
}

/** The line without its escape sequences (for search and download). */
export function stripAnsi(line: string): string {
  return line.includes('\x1b') ? line.replace(ESCAPE, '') : line;
}
