/** @module Tests of the dashboard's ANSI (SGR) parsing of log lines into styled segments. */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseAnsi, stripAnsi } from '../../web/src/ansi.js';

const ESC = '\x1b';

/** One SGR parameter group, as text (`31`, `38;5;196`, `38;2;1;2;3`). */
const sgrCode = fc.oneof(
  fc.constantFrom(0, 1, 2, 3, 4, 22, 23, 24, 39, 49).map(String),
  fc.integer({ min: 30, max: 37 }).map(String),
  fc.integer({ min: 40, max: 47 }).map(String),
  fc.integer({ min: 90, max: 97 }).map(String),
  fc.integer({ min: 100, max: 107 }).map(String),
  fc.integer({ min: 0, max: 255 }).map((n) => `38;5;${n}`),
  fc
    .tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }))
    .map(([r, g, b]) => `38;2;${r};${g};${b}`),
);

/** `ESC [ codes m`, including the empty `ESC [ m`. */
const sgr = fc.array(sgrCode, { maxLength: 4 }).map((codes) => `${ESC}[${codes.join(';')}m`);

/** Text with no escape character. */
const plain = fc.string({ unit: 'grapheme', maxLength: 12 }).map((s) => s.replaceAll(ESC, ''));

const styledLine = fc.array(fc.oneof(plain, sgr), { maxLength: 12 }).map((parts) => parts.join(''));

/** Arbitrary unicode mixed with awkward escapes: lone ESC, OSC titles, cursor moves, unterminated CSI. */
const messyLine = fc
  .array(
    fc.oneof(
      fc.string({ unit: 'binary', maxLength: 10 }),
      sgr,
      fc.constantFrom(
        ESC,
        `${ESC}[`,
        `${ESC}]0;title\x07`,
        `${ESC}]0;title${ESC}\\`,
        `${ESC}]0;unterminated`,
        `${ESC}[2K`,
        `${ESC}[10;20H`,
        `${ESC}[?25l`,
        `${ESC}[38;5m`,
        `${ESC}[38;2;1m`,
        `${ESC}[38;5;999m`,
        `${ESC}[>5m`,
        `${ESC}(B`,
        `${ESC}M`,
      ),
    ),
    { maxLength: 12 },
  )
  .map((parts) => parts.join(''));

const joined = (line: string, style = {}) =>
  parseAnsi(line, style)
    .segments.map((s) => s.text)
    .join('');

describe('parseAnsi and stripAnsi: properties', () => {
  it('segment texts concatenate to stripAnsi(line), with no ESC left', () => {
    fc.assert(
      fc.property(styledLine, (line) => {
        const text = joined(line);
        assert.equal(text, stripAnsi(line));
        assert.ok(!text.includes(ESC));
      }),
    );
  });

  it('holds for messy lines too', () => {
    fc.assert(
      fc.property(messyLine, (line) => {
        const text = joined(line);
        assert.equal(text, stripAnsi(line));
        assert.ok(!text.includes(ESC));
      }),
    );
  });

  it('stripAnsi is idempotent', () => {
    fc.assert(
      fc.property(fc.oneof(styledLine, messyLine), (line) => {
        const once = stripAnsi(line);
        assert.equal(stripAnsi(once), once);
      }),
    );
  });

  it('parseAnsi never throws, and never yields empty segments', () => {
    fc.assert(
      fc.property(fc.oneof(messyLine, fc.string({ unit: 'binary' })), (line) => {
        const { segments, style } = parseAnsi(line);
        assert.equal(typeof style, 'object');
        for (const segment of segments) assert.notEqual(segment.text, '');
      }),
    );
  });

  it('a style never holds undefined keys', () => {
    fc.assert(
      fc.property(styledLine, (line) => {
        const { style } = parseAnsi(line);
        for (const value of Object.values(style)) assert.notEqual(value, undefined);
      }),
    );
  });
});

describe('parseAnsi: examples', () => {
  it('splits a red run from the plain text after a reset', () => {
    const { segments, style } = parseAnsi(`${ESC}[31mred${ESC}[0m plain`);
    assert.deepEqual(segments, [
      { text: 'red', style: { fg: 'var(--ansi-red)' } },
      { text: ' plain', style: {} },
    ]);
    assert.deepEqual(style, {});
  });

  it('reads bold with a 256-colour foreground', () => {
    const { segments } = parseAnsi(`${ESC}[1;38;5;196mhot`);
    assert.deepEqual(segments, [{ text: 'hot', style: { bold: true, fg: 'rgb(255,0,0)' } }]);
    assert.deepEqual(parseAnsi(`${ESC}[38;5;9mx`).segments[0]?.style, { fg: 'var(--ansi-bright-red)' });
    assert.deepEqual(parseAnsi(`${ESC}[38;5;232mx`).segments[0]?.style, { fg: 'rgb(8,8,8)' });
  });

  it('reads true colour and background colours', () => {
    assert.deepEqual(parseAnsi(`${ESC}[38;2;10;20;30;44mx`).segments[0]?.style, {
      fg: 'rgb(10,20,30)',
      bg: 'var(--ansi-blue)',
    });
    assert.deepEqual(parseAnsi(`${ESC}[103mx`).segments[0]?.style, { bg: 'var(--ansi-bright-yellow)' });
  });

  it('turns attributes off one at a time', () => {
    const { style } = parseAnsi(`${ESC}[1;2;3;4;31;41m${ESC}[22;23;39m`);
    assert.deepEqual(style, { underline: true, bg: 'var(--ansi-red)' });
    assert.deepEqual(parseAnsi(`${ESC}[24;49m`, style).style, {});
  });

  it('carries the style across lines until a reset', () => {
    const first = parseAnsi(`start ${ESC}[1;32mgreen`);
    assert.deepEqual(first.style, { bold: true, fg: 'var(--ansi-green)' });
    const second = parseAnsi('still green', first.style);
    assert.deepEqual(second.segments, [{ text: 'still green', style: first.style }]);
    const third = parseAnsi(`more${ESC}[0m done`, second.style);
    assert.deepEqual(third.segments, [
      { text: 'more', style: first.style },
      { text: ' done', style: {} },
    ]);
    assert.deepEqual(third.style, {});
    assert.deepEqual(parseAnsi(`${ESC}[mx`, first.style).segments[0]?.style, {});
  });

  it('merges text either side of a non-SGR escape into one segment', () => {
    const { segments } = parseAnsi(`${ESC}[33mab${ESC}[2Kcd${ESC}]0;title\x07ef`);
    assert.deepEqual(segments, [{ text: 'abcdef', style: { fg: 'var(--ansi-yellow)' } }]);
  });

  it('drops cursor moves and titles from plain lines', () => {
    assert.equal(stripAnsi(`a${ESC}[2K${ESC}[1Gb${ESC}]0;title\x07c`), 'abc');
    assert.equal(stripAnsi('no escapes'), 'no escapes');
  });

  it('gives no segments for an empty line', () => {
    assert.deepEqual(parseAnsi(''), { segments: [], style: {} });
  });
});
