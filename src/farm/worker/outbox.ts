/**
 * @module The worker's outbox: every report (task and action events, log batches) in the order it was made, kept
 * on disk until the server has acknowledged it, so that neither a server that cannot be reached nor an agent that
 * restarts after a crash loses or reorders anything.
 *
 * Layout (in `<data-dir>/outbox/`): segment files `seg-<first number>.jsonl` of JSON lines, one record per line
 * (`{"n":7,"e":{…event…}}` or `{"n":8,"l":{…log batch…}}`), appended with synchronous writes (a crashed process
 * loses nothing the kernel has) and fsynced in batches (at most `fsyncMs` of reports are at risk from a power cut);
 * and `acked`, the number of the last record the server acknowledged (written after each acknowledgement; records
 * replayed after a lost write are harmless, the server applies reports idempotently).
 *
 * The outbox is bounded: when its files pass `maxBytes`, the oldest unsent log batches are dropped (never events:
 * task results are always delivered) and replaced by one marker line per run saying how many lines were dropped;
 * segments are rewritten to free the space. Records handed out by {@link Outbox.peek} for a sync in flight are
 * never dropped, so a retried sync carries exactly what the first attempt carried.
 */
import {
  closeSync,
  fdatasyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { CorralError } from '../../model/errors.js';
import type { LogBatch, SyncEvent } from '../api/types.js';
import { WorkerErrorCode } from './errors.js';
import { syncDirectory } from './identity.js';

/** One report. */
export type OutboxItem =
  | { readonly kind: 'event'; readonly event: SyncEvent }
  | { readonly kind: 'log'; readonly batch: LogBatch };

export interface OpenOutboxOptions {
  /** The directory (created, mode 0700). */
  readonly directory: string;
  /** Bound of the files' total size; past it the oldest log lines are dropped. Default 256 MiB. */
  readonly maxBytes?: number;
  /** Largest segment file before a new one starts. Default: maxBytes / 8, between 4 KiB and 8 MiB. */
  readonly segmentBytes?: number;
  /** How long an append may wait for its fsync. Default 100 ms (0: fsync every append). */
  readonly fsyncMs?: number;
  /** Told about damaged records skipped at open and about dropped log lines. */
  readonly onWarning?: (message: string) => void;
}

export interface PeekOptions {
  /** Most log lines (all batches together). */
  readonly maxLines: number;
  /** Most bytes (as stored). */
  readonly maxBytes: number;
  /** Most records. Default: no limit. */
  readonly maxItems?: number;
}

export interface Peeked {
  readonly items: readonly OutboxItem[];
  /** The number of the last record handed out (acknowledge it with `ack`); 0 when none. */
  readonly last: number;
  readonly lines: number;
}

interface Segment {
  readonly name: string;
  readonly path: string;
  fd: number;
  size: number;
  /** Highest record number written to it. */
  last: number;
}

interface Entry {
  readonly n: number;
  segment: Segment;
  offset: number;
  length: number;
  readonly kind: 'event' | 'log';
  readonly lines: number;
  readonly sessionId: number;
  readonly seq: number;
  readonly action: number | undefined;
  readonly taskId: number | undefined;
  readonly time: number;
  /** For a marker: how many original lines it stands for. */
  readonly dropped: number;
}

const MIB = 1024 * 1024;
const SEGMENT_PATTERN = /^seg-(\d{16})\.jsonl$/;
const segmentName = (first: number) => `seg-${String(first).padStart(16, '0')}.jsonl`;

const outboxError = (what: string, error: unknown) =>
  new CorralError(WorkerErrorCode.Outbox, `The worker's outbox ${what}: ${(error as Error).message}`, {
    cause: error,
  });

/** The text of the line that replaces dropped log lines. */
export function droppedMarker(count: number, maxBytes: number): string {
  const limit = maxBytes >= MIB ? `${Math.round((maxBytes / MIB) * 10) / 10} MiB` : `${maxBytes} bytes`;
  return `[corral worker: ${count} log line${count === 1 ? ' was' : 's were'} dropped here: the worker's outbox passed its limit of ${limit} while the server could not be reached]`;
}

/** A durable, ordered, bounded queue of reports for the server. */
export class Outbox {
  readonly directory: string;
  readonly maxBytes: number;
  readonly #segmentBytes: number;
  readonly #fsyncMs: number;
  readonly #onWarning: (message: string) => void;
  readonly #segments: Segment[] = [];
  /** Records not yet acknowledged, oldest first, from `#head` on. */
  #entries: Entry[] = [];
  #head = 0;
  #acked: number;
  #next: number;
  #pinned = 0;
  #totalBytes = 0;
  #pendingBytes = 0;
  #fsyncTimer: NodeJS.Timeout | undefined;
  #unsynced = false;
  #closed = false;
  #overWarned = false;
  #droppedLines = 0;

  private constructor(options: OpenOutboxOptions, acked: number) {
    this.directory = options.directory;
    this.maxBytes = options.maxBytes ?? 256 * MIB;
    this.#segmentBytes = options.segmentBytes ?? Math.min(8 * MIB, Math.max(4096, Math.floor(this.maxBytes / 8)));
    this.#fsyncMs = options.fsyncMs ?? 100;
    this.#onWarning = options.onWarning ?? (() => {});
    this.#acked = acked;
    this.#next = acked + 1;
  }

  /**
   * Opens (or creates) an outbox and reads back what was not acknowledged, in order. A record cut short by a crash
   * at the end of a file is removed; a damaged record elsewhere is skipped with a warning.
   * @throws {CorralError} `CORRAL_E_OUTBOX` when the directory or its files cannot be read or written.
   */
  static open(options: OpenOutboxOptions): Outbox {
    try {
      mkdirSync(options.directory, { recursive: true, mode: 0o700 });
    } catch (error) {
      throw outboxError(`directory ${options.directory} cannot be created`, error);
    }
    let acked = 0;
    try {
      const text = readFileSync(join(options.directory, 'acked'), 'utf8').trim();
      if (/^\d+$/.test(text)) acked = Number(text);
    } catch {}
    const outbox = new Outbox(options, acked);
    try {
      outbox.#load();
    } catch (error) {
      outbox.close();
      throw error instanceof CorralError ? error : outboxError(`in ${options.directory} cannot be read`, error);
    }
    return outbox;
  }

  /** Records waiting for the server. */
  get size(): number {
    return this.#entries.length - this.#head;
  }

  /** Bytes of the records waiting. */
  get pendingBytes(): number {
    return this.#pendingBytes;
  }

  /** Bytes of the segment files (what the bound applies to). */
  get totalBytes(): number {
    return this.#totalBytes;
  }

  /** The number of the last record acknowledged. */
  get acked(): number {
    return this.#acked;
  }

  /** Log lines dropped since the outbox was opened. */
  get droppedLines(): number {
    return this.#droppedLines;
  }

  /**
   * Appends a record.
   * @returns its number (numbers grow by one per record, across restarts).
   * @throws {CorralError} `CORRAL_E_OUTBOX` when it cannot be written (a full disk).
   */
  append(item: OutboxItem): number {
    this.#assertOpen();
    const n = this.#next++;
    const text = `${JSON.stringify(item.kind === 'event' ? { n, e: item.event } : { n, l: item.batch })}\n`;
    const buffer = Buffer.from(text);
    let segment = this.#active();
    if (segment === undefined || segment.size >= this.#segmentBytes) segment = this.#newSegment(n);
    try {
      writeSync(segment.fd, buffer);
    } catch (error) {
      throw outboxError('cannot be written', error);
    }
    const entry = makeEntry(n, item, segment, segment.size, buffer.length, 0);
    segment.size += buffer.length;
    segment.last = n;
    this.#entries.push(entry);
    this.#totalBytes += buffer.length;
    this.#pendingBytes += buffer.length;
    this.#scheduleFsync();
    if (this.#totalBytes > this.maxBytes) this.#compact();
    return n;
  }

  /**
   * The oldest records, up to the limits (always at least one when any wait). They stay in the outbox, and cannot
   * be dropped, until acknowledged.
   */
  peek(options: PeekOptions): Peeked {
    this.#assertOpen();
    const items: OutboxItem[] = [];
    let lines = 0;
    let bytes = 0;
    let last = 0;
    for (let i = this.#head; i < this.#entries.length; i++) {
      const entry = this.#entries[i]!;
      if (items.length > 0) {
        if (lines + entry.lines > options.maxLines || bytes + entry.length > options.maxBytes) break;
        if (options.maxItems !== undefined && items.length >= options.maxItems) break;
      }
      items.push(this.#read(entry).item);
      lines += entry.lines;
      bytes += entry.length;
      last = entry.n;
    }
    this.#pinned = Math.max(this.#pinned, last);
    return { items, last, lines };
  }

  /** Every waiting record with its number, oldest first (read from disk). */
  *entries(): Generator<{ readonly n: number; readonly item: OutboxItem }> {
    for (let i = this.#head; i < this.#entries.length; i++) {
      const entry = this.#entries[i]!;
      yield { n: entry.n, item: this.#read(entry).item };
    }
  }

  /** Releases the records handed out by `peek` without acknowledging them (the sync was not sent). */
  unpin(): void {
    this.#pinned = this.#acked;
  }

  /**
   * Removes every record up to `n` (the server acknowledged them) and frees files that hold nothing else.
   * @throws {CorralError} `CORRAL_E_OUTBOX` when the acknowledgement cannot be written.
   */
  ack(n: number): void {
    this.#assertOpen();
    if (n <= this.#acked) return;
    while (this.#head < this.#entries.length && this.#entries[this.#head]!.n <= n) {
      this.#pendingBytes -= this.#entries[this.#head]!.length;
      this.#head++;
    }
    if (this.#head > 1024 && this.#head * 2 > this.#entries.length) {
      this.#entries = this.#entries.slice(this.#head);
      this.#head = 0;
    }
    this.#acked = n;
    this.#pinned = Math.max(this.#pinned, n);
    try {
      const path = join(this.directory, 'acked');
      writeFileSync(`${path}.tmp`, `${n}\n`);
      renameSync(`${path}.tmp`, path);
    } catch (error) {
      throw outboxError('acknowledgement cannot be written', error);
    }
    this.#freeAcknowledged();
  }

  /**
   * Removes the waiting records `predicate` selects (the events of tasks a reset dropped), rewriting the files that
   * held them.
   * @returns how many were removed.
   */
  remove(predicate: (item: OutboxItem) => boolean): number {
    this.#assertOpen();
    const drop = new Set<Entry>();
    for (let i = this.#head; i < this.#entries.length; i++) {
      const entry = this.#entries[i]!;
      if (entry.n > this.#pinned && predicate(this.#read(entry).item)) drop.add(entry);
    }
    if (drop.size === 0) return 0;
    this.#seal();
    this.#rewrite(drop, false);
    return drop.size;
  }

  /** fsyncs what was appended (also done on a timer after each append). */
  flush(): void {
    clearTimeout(this.#fsyncTimer);
    this.#fsyncTimer = undefined;
    if (!this.#unsynced || this.#closed) return;
    this.#unsynced = false;
    const segment = this.#active();
    if (!segment) return;
    try {
      fdatasyncSync(segment.fd);
    } catch (error) {
      this.#onWarning(`The worker's outbox could not be synced to disk: ${(error as Error).message}`);
    }
  }

  /** fsyncs and closes the files. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.flush();
    this.#closed = true;
    for (const segment of this.#segments) {
      try {
        closeSync(segment.fd);
      } catch {}
    }
    this.#segments.length = 0;
  }

  // -----------------------------------------------------------------------------------------------------------

  #assertOpen(): void {
    if (this.#closed) throw new CorralError(WorkerErrorCode.Outbox, "The worker's outbox is closed.");
  }

  #active(): Segment | undefined {
    return this.#segments[this.#segments.length - 1];
  }

  #newSegment(first: number): Segment {
    this.flush();
    const name = segmentName(first);
    const path = join(this.directory, name);
    let fd: number;
    try {
      fd = openSync(path, 'a+', 0o600);
    } catch (error) {
      throw outboxError('cannot create a file', error);
    }
    syncDirectory(this.directory);
    const segment: Segment = { name, path, fd, size: 0, last: first - 1 };
    this.#segments.push(segment);
    return segment;
  }

  /** Starts a new segment at the next append, so that every waiting record is in a sealed file. */
  #seal(): void {
    const active = this.#active();
    if (active && active.size > 0) {
      this.flush();
      this.#newSegment(this.#next);
    }
  }

  #scheduleFsync(): void {
    this.#unsynced = true;
    if (this.#fsyncMs <= 0) {
      this.flush();
      return;
    }
    if (this.#fsyncTimer === undefined) {
      this.#fsyncTimer = setTimeout(() => this.flush(), this.#fsyncMs);
      this.#fsyncTimer.unref?.();
    }
  }

  #read(entry: Entry): { item: OutboxItem; dropped: number } {
    const buffer = Buffer.allocUnsafe(entry.length);
    let read = 0;
    try {
      while (read < entry.length) {
        const got = readSync(entry.segment.fd, buffer, read, entry.length - read, entry.offset + read);
        if (got === 0) throw new Error('the file is shorter than expected');
        read += got;
      }
    } catch (error) {
      throw outboxError('cannot be read', error);
    }
    return parseRecord(buffer.toString('utf8'))!;
  }

  /** Reads the segment files at open. */
  #load(): void {
    const names = readdirSync(this.directory)
      .filter((name) => SEGMENT_PATTERN.test(name))
      .sort();
    let highest = this.#acked;
    for (const name of names) {
      const path = join(this.directory, name);
      const data = readFileSync(path);
      const fd = openSync(path, 'a+', 0o600);
      const segment: Segment = { name, path, fd, size: data.length, last: 0 };
      let offset = 0;
      let pending = 0;
      while (offset < data.length) {
        const end = data.indexOf(10, offset);
        if (end === -1) {
          // A record cut short by a crash: drop it.
          ftruncateSync(fd, offset);
          segment.size = offset;
          break;
        }
        const record = parseRecord(data.toString('utf8', offset, end));
        const length = end + 1 - offset;
        if (!record || record.n <= highest) {
          if (!record) this.#onWarning(`Skipped a damaged record in ${path} at byte ${offset}.`);
        } else {
          highest = record.n;
          segment.last = record.n;
          if (record.n > this.#acked) {
            this.#entries.push(makeEntry(record.n, record.item, segment, offset, length, record.dropped));
            this.#pendingBytes += length;
            pending++;
          }
        }
        offset = end + 1;
      }
      if (pending === 0) {
        closeSync(fd);
        rmSync(path, { force: true });
        continue;
      }
      this.#segments.push(segment);
      this.#totalBytes += segment.size;
    }
    this.#next = highest + 1;
    this.#pinned = this.#acked;
    // Appends go to a new segment: the loaded ones may end anywhere.
    if (this.#totalBytes > this.maxBytes) this.#compact();
  }

  /** Deletes sealed segments whose records are all acknowledged; empties the active one when nothing waits. */
  #freeAcknowledged(): void {
    while (this.#segments.length > 1 && this.#segments[0]!.last <= this.#acked) {
      const segment = this.#segments.shift()!;
      this.#totalBytes -= segment.size;
      closeSync(segment.fd);
      rmSync(segment.path, { force: true });
    }
    const active = this.#active();
    if (active && this.size === 0 && active.last <= this.#acked && active.size > 0) {
      this.flush();
      try {
        ftruncateSync(active.fd, 0);
        this.#totalBytes -= active.size;
        active.size = 0;
      } catch {}
    }
  }

  /** Brings the files under the bound: rewrites them without acknowledged records and, if needed, oldest logs. */
  #compact(): void {
    this.#seal();
    const target = Math.floor(this.maxBytes * 0.75);
    let excess = this.#pendingBytes - target;
    const drop = new Set<Entry>();
    for (let i = this.#head; i < this.#entries.length && excess > 0; i++) {
      const entry = this.#entries[i]!;
      if (entry.kind !== 'log' || entry.n <= this.#pinned) continue;
      drop.add(entry);
      excess -= entry.length;
    }
    this.#rewrite(drop, true);
    if (this.#totalBytes > this.maxBytes) {
      if (!this.#overWarned) {
        this.#overWarned = true;
        this.#onWarning(
          `The worker's outbox holds ${Math.round(this.#totalBytes / MIB)} MiB of reports that cannot be dropped (task results, reports being sent); it stays over its limit until the server takes them.`,
        );
      }
    } else {
      this.#overWarned = false;
    }
  }

  /**
   * Rewrites the sealed segments that hold acknowledged records or records in `drop`; with `mark`, dropped log
   * batches are replaced by marker lines (one per run of a session's batches).
   */
  #rewrite(drop: ReadonlySet<Entry>, mark: boolean): void {
    const active = this.#active();
    const waiting = new Map<Segment, Entry[]>();
    for (let i = this.#head; i < this.#entries.length; i++) {
      const entry = this.#entries[i]!;
      let list = waiting.get(entry.segment);
      if (!list) waiting.set(entry.segment, (list = []));
      list.push(entry);
    }
    const replaced = new Map<Entry, Entry | undefined>();
    for (const segment of [...this.#segments]) {
      if (segment === active && segment.size === 0) continue;
      const entries = waiting.get(segment) ?? [];
      // Bytes that are not waiting records: acknowledged ones, or ones removed before.
      const garbage = entries.reduce((sum, e) => sum + e.length, 0) < segment.size;
      const touched = garbage || entries.some((e) => drop.has(e));
      if (!touched || segment === active) continue;
      this.#rewriteSegment(segment, entries, drop, mark, replaced);
    }
    if (replaced.size > 0) {
      const next: Entry[] = [];
      for (let i = this.#head; i < this.#entries.length; i++) {
        const entry = this.#entries[i]!;
        if (!replaced.has(entry)) next.push(entry);
        else {
          const marker = replaced.get(entry);
          if (marker) next.push(marker);
        }
      }
      this.#entries = next;
      this.#head = 0;
      this.#pendingBytes = next.reduce((sum, e) => sum + e.length, 0);
    }
  }

  #rewriteSegment(
    segment: Segment,
    entries: readonly Entry[],
    drop: ReadonlySet<Entry>,
    mark: boolean,
    replaced: Map<Entry, Entry | undefined>,
  ): void {
    type Run = { readonly first: Entry; count: number };
    const pieces: ({ readonly keep: Entry } | { readonly run: Run })[] = [];
    // Per session, the run of dropped batches a marker is being built for; a kept batch of the session ends it.
    const open = new Map<number, Run>();
    let droppedNow = 0;
    for (const entry of entries) {
      if (!drop.has(entry)) {
        pieces.push({ keep: entry });
        if (entry.kind === 'log') open.delete(entry.sessionId);
        continue;
      }
      replaced.set(entry, undefined);
      if (!mark) continue;
      if (entry.dropped === 0) droppedNow += entry.lines;
      const count = entry.dropped > 0 ? entry.dropped : entry.lines;
      const run = open.get(entry.sessionId);
      if (run) run.count += count;
      else {
        const started: Run = { first: entry, count };
        open.set(entry.sessionId, started);
        pieces.push({ run: started });
      }
    }
    const data = readFileSync(segment.path);
    const chunks: Buffer[] = [];
    const placed: { entry: Entry; offset: number; length: number }[] = [];
    let size = 0;
    for (const piece of pieces) {
      if ('keep' in piece) {
        const { keep: entry } = piece;
        const bytes = data.subarray(entry.offset, entry.offset + entry.length);
        chunks.push(bytes);
        placed.push({ entry, offset: size, length: bytes.length });
        size += bytes.length;
        continue;
      }
      const { first, count } = piece.run;
      const batch: LogBatch = {
        sessionId: first.sessionId,
        seq: first.seq,
        ...(first.action !== undefined ? { action: first.action } : {}),
        ...(first.taskId !== undefined ? { taskId: first.taskId } : {}),
        lines: [[first.time, droppedMarker(count, this.maxBytes)]],
      };
      const bytes = Buffer.from(`${JSON.stringify({ n: first.n, l: batch, d: count })}\n`);
      replaced.set(first, makeEntry(first.n, { kind: 'log', batch }, segment, size, bytes.length, count));
      chunks.push(bytes);
      size += bytes.length;
    }
    const aside = `${segment.path}.tmp`;
    try {
      if (size === 0) {
        closeSync(segment.fd);
        rmSync(segment.path, { force: true });
        this.#segments.splice(this.#segments.indexOf(segment), 1);
        this.#totalBytes -= segment.size;
        return;
      }
      const fd = openSync(aside, 'w', 0o600);
      try {
        writeSync(fd, Buffer.concat(chunks, size));
        fdatasyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(aside, segment.path);
      syncDirectory(this.directory);
      closeSync(segment.fd);
      segment.fd = openSync(segment.path, 'a+', 0o600);
    } catch (error) {
      rmSync(aside, { force: true });
      throw outboxError('cannot be compacted', error);
    }
    this.#totalBytes += size - segment.size;
    segment.size = size;
    for (const { entry, offset, length } of placed) {
      entry.offset = offset;
      entry.length = length;
    }
    if (droppedNow > 0) {
      this.#droppedLines += droppedNow;
      this.#onWarning(`The worker's outbox is over its limit: dropped ${droppedNow} of the oldest log lines.`);
    }
  }
}

function makeEntry(
  n: number,
  item: OutboxItem,
  segment: Segment,
  offset: number,
  length: number,
  dropped: number,
): Entry {
  if (item.kind === 'event') {
    const event = item.event;
    return {
      n,
      segment,
      offset,
      length,
      kind: 'event',
      lines: 0,
      sessionId: 'sessionId' in event ? event.sessionId : 0,
      seq: 0,
      action: undefined,
      taskId: 'taskId' in event ? event.taskId : undefined,
      time: 'time' in event ? event.time : 0,
      dropped: 0,
    };
  }
  const { batch } = item;
  return {
    n,
    segment,
    offset,
    length,
    kind: 'log',
    lines: batch.lines.length,
    sessionId: batch.sessionId,
    seq: batch.seq,
    action: batch.action,
    taskId: batch.taskId,
    time: batch.lines[0]?.[0] ?? 0,
    dropped,
  };
}

function parseRecord(text: string): { n: number; item: OutboxItem; dropped: number } | undefined {
  let value: { n?: unknown; e?: unknown; l?: unknown; d?: unknown };
  try {
    value = JSON.parse(text) as typeof value;
  } catch {
    return undefined;
  }
  if (!value || !Number.isSafeInteger(value.n) || (value.n as number) < 1) return undefined;
  const dropped = Number.isSafeInteger(value.d) ? (value.d as number) : 0;
  if (value.e && typeof value.e === 'object') {
    return { n: value.n as number, item: { kind: 'event', event: value.e as SyncEvent }, dropped };
  }
  if (value.l && typeof value.l === 'object' && Array.isArray((value.l as LogBatch).lines)) {
    return { n: value.n as number, item: { kind: 'log', batch: value.l as LogBatch }, dropped };
  }
  return undefined;
}
