/**
 * The worker's outbox: order, acknowledgement, replay after a restart (reopening the files, a record torn by a
 * crash), fsync batching, and the size bound that drops the oldest log lines (with a marker) but never events.
 */
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, it, mock } from 'node:test';
import type { LogBatch, SyncEvent } from '../../../src/farm/api/types.js';
import { Outbox, type OutboxItem } from '../../../src/farm/worker/outbox.js';

/** The CommonJS face of node:fs, whose functions can be replaced (ESM namespaces are frozen). */
const fs = createRequire(import.meta.url)('node:fs') as typeof import('node:fs');

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'corral-outbox-'));
  dirs.push(dir);
  return join(dir, 'outbox');
};

const started = (taskId: number): OutboxItem => ({ kind: 'event', event: { kind: 'taskStarted', taskId, time: 1 } });
const finished = (taskId: number): OutboxItem => ({
  kind: 'event',
  event: { kind: 'taskFinished', taskId, state: 'succeeded', time: 2 },
});
const log = (seq: number, lines: number, sessionId = 1, width = 10): OutboxItem => ({
  kind: 'log',
  batch: {
    sessionId,
    seq,
    action: 1,
    lines: Array.from({ length: lines }, (_, i) => [1000 + i, `${seq}:${i}:${'x'.repeat(width)}`] as const),
  },
});
const all = (outbox: Outbox) => [...outbox.entries()].map((e) => e.item);

describe('outbox', () => {
  it('hands out the oldest records within the limits and removes what is acknowledged', () => {
    const outbox = Outbox.open({ directory: tempDir(), fsyncMs: 0 });
    const items = [started(1), log(1, 600), log(2, 600), finished(1), started(2)];
    const numbers = items.map((item) => outbox.append(item));
    assert.deepEqual(numbers, [1, 2, 3, 4, 5]);
    const first = outbox.peek({ maxLines: 1000, maxBytes: 1 << 20 });
    assert.deepEqual(first.items, items.slice(0, 2), 'stops before the batch that would pass 1000 lines');
    assert.equal(first.last, 2);
    // Not acknowledged: the same records again.
    assert.deepEqual(outbox.peek({ maxLines: 1000, maxBytes: 1 << 20 }).items, items.slice(0, 2));
    outbox.ack(first.last);
    assert.equal(outbox.size, 3);
    const second = outbox.peek({ maxLines: 1000, maxBytes: 1 << 20 });
    assert.deepEqual(second.items, items.slice(2));
    assert.deepEqual(outbox.peek({ maxLines: 1, maxBytes: 10 }).items, [items[2]], 'always at least one record');
    outbox.ack(second.last);
    assert.equal(outbox.size, 0);
    assert.equal(outbox.peek({ maxLines: 1000, maxBytes: 1 << 20 }).last, 0);
    outbox.close();
  });

  it('replays unacknowledged records in order after reopening, numbering on', () => {
    const directory = tempDir();
    let outbox = Outbox.open({ directory, fsyncMs: 0, segmentBytes: 4096 });
    const items: OutboxItem[] = [];
    for (let i = 1; i <= 200; i++) items.push(i % 10 === 0 ? finished(i) : log(i, 3));
    for (const item of items) outbox.append(item);
    assert.ok(readdirSync(directory).filter((f) => f.startsWith('seg-')).length > 1, 'several segments');
    outbox.ack(50);
    outbox.close();

    outbox = Outbox.open({ directory, fsyncMs: 0, segmentBytes: 4096 });
    assert.deepEqual(all(outbox), items.slice(50));
    assert.equal(outbox.append(started(999)), 201);
    outbox.ack(150);
    // A crash: the files are left as they are, the process never closes them.
    const crashed = [...items.slice(150), started(999)];
    outbox = Outbox.open({ directory, fsyncMs: 0, segmentBytes: 4096 });
    assert.deepEqual(all(outbox), crashed);
    outbox.ack(201);
    outbox.close();
    assert.equal(Outbox.open({ directory }).size, 0);
    assert.deepEqual(
      readdirSync(directory).filter((f) => f.startsWith('seg-') && statSync(join(directory, f)).size > 0),
      [],
      'acknowledged files are freed',
    );
  });

  it('drops a record torn by a crash at the end of a file, and skips a damaged one elsewhere', () => {
    const directory = tempDir();
    const warnings: string[] = [];
    const outbox = Outbox.open({ directory, fsyncMs: 0 });
    outbox.append(started(1));
    outbox.append(started(2));
    const segment = join(directory, readdirSync(directory).find((f) => f.startsWith('seg-'))!);
    appendFileSync(segment, '{"n":3,"e":{"kind":"taskSta');
    let reopened = Outbox.open({ directory, fsyncMs: 0, onWarning: (w) => warnings.push(w) });
    assert.deepEqual(all(reopened), [started(1), started(2)]);
    assert.equal(reopened.append(started(3)), 3, 'the torn record is gone, its number reused');
    reopened.close();
    const text = readFileSync(segment, 'utf8');
    writeFileSync(segment, text.replace('"n":2,', '"n":2,,'));
    reopened = Outbox.open({ directory, fsyncMs: 0, onWarning: (w) => warnings.push(w) });
    assert.deepEqual(all(reopened), [started(1), started(3)]);
    assert.match(warnings.join('\n'), /damaged record/);
    reopened.close();
    outbox.close();
  });

  it('fsyncs in batches, and at once on flush', async () => {
    const fdatasync = mock.method(fs, 'fdatasyncSync');
    syncBuiltinESMExports();
    try {
      const outbox = Outbox.open({ directory: tempDir(), fsyncMs: 40 });
      for (let i = 1; i <= 100; i++) outbox.append(log(i, 2));
      assert.equal(fdatasync.mock.callCount(), 0, 'not on each append');
      await new Promise((resolve) => setTimeout(resolve, 120));
      assert.equal(fdatasync.mock.callCount(), 1, 'one fsync for the batch');
      outbox.append(started(1));
      outbox.flush();
      assert.equal(fdatasync.mock.callCount(), 2);
      outbox.close();
      const eager = Outbox.open({ directory: tempDir(), fsyncMs: 0 });
      eager.append(started(1));
      eager.append(started(2));
      assert.equal(fdatasync.mock.callCount(), 4, 'fsyncMs 0: every append');
      eager.close();
    } finally {
      fdatasync.mock.restore();
      syncBuiltinESMExports();
    }
  });

  it('stays within its bound by dropping the oldest log lines, with a marker, never events', () => {
    const directory = tempDir();
    const maxBytes = 64 * 1024;
    const warnings: string[] = [];
    const outbox = Outbox.open({ directory, maxBytes, fsyncMs: 0, onWarning: (w) => warnings.push(w) });
    const events: SyncEvent[] = [];
    let lines = 0;
    for (let i = 1; i <= 400; i++) {
      outbox.append(log(i, 5, 1 + (i % 2), 40));
      lines += 5;
      if (i % 20 === 0) {
        const item = finished(i);
        events.push((item as { event: SyncEvent }).event);
        outbox.append(item);
      }
      assert.ok(outbox.totalBytes <= maxBytes, `within the bound after record ${i}: ${outbox.totalBytes}`);
    }
    const items = all(outbox);
    assert.deepEqual(
      items.flatMap((item) => (item.kind === 'event' ? [item.event] : [])),
      events,
      'every event kept, in order',
    );
    const batches = items.flatMap((item) => (item.kind === 'log' ? [item.batch] : []));
    const markers = batches.filter((b) => b.lines[0]![1].includes('were dropped'));
    assert.ok(markers.length > 0);
    const dropped = markers.reduce((sum, b) => sum + Number(/(\d+) log lines/.exec(b.lines[0]![1])![1]), 0);
    const kept = batches.filter((b) => !markers.includes(b)).reduce((sum, b) => sum + b.lines.length, 0);
    assert.equal(dropped + kept, lines, 'the markers account for every dropped line');
    assert.equal(outbox.droppedLines, dropped);
    // The newest logs survive; per session, batch numbers still increase.
    assert.equal((items.at(-1) as { batch: LogBatch }).batch?.seq ?? 400, 400);
    for (const session of [1, 2]) {
      const seqs = batches.filter((b) => b.sessionId === session).map((b) => b.seq);
      assert.deepEqual(
        seqs,
        [...seqs].sort((a, b) => a - b),
      );
    }
    assert.match(warnings.join('\n'), /dropped/);
    // Reopened, the same records come back (markers included).
    outbox.close();
    assert.deepEqual(all(Outbox.open({ directory, maxBytes })), items);
  });

  it('never drops records handed out for a sync in flight', () => {
    const outbox = Outbox.open({ directory: tempDir(), maxBytes: 64 * 1024, fsyncMs: 0 });
    outbox.append(log(1, 5, 1, 40));
    outbox.append(log(2, 5, 1, 40));
    const inFlight = outbox.peek({ maxLines: 100, maxBytes: 1 << 20 });
    for (let i = 3; i <= 400; i++) outbox.append(log(i, 5, 1, 40));
    const head = all(outbox).slice(0, 2);
    assert.deepEqual(head, inFlight.items, 'the sync in flight can be sent again unchanged');
    outbox.close();
  });

  it('removes records a predicate selects (a reset drops its tasks)', () => {
    const directory = tempDir();
    const outbox = Outbox.open({ directory, fsyncMs: 0 });
    outbox.append(started(1));
    outbox.append(log(1, 2));
    outbox.append(started(2));
    outbox.append(finished(1));
    const removed = outbox.remove((item) => item.kind === 'event' && 'taskId' in item.event && item.event.taskId === 1);
    assert.equal(removed, 2);
    assert.deepEqual(all(outbox), [log(1, 2), started(2)]);
    outbox.append(finished(2));
    outbox.close();
    assert.deepEqual(all(Outbox.open({ directory })), [log(1, 2), started(2), finished(2)]);
  });
});
