/**
 * @module Server-sent events: the farm's change notifications for live views.
 *
 * A change is a hint to refetch, not data: a busy farm finishes hundreds of tasks a second, so each stream sends at
 * most one message per kind and subject every {@link COALESCE_MS} (the first at once, the last of a burst at the end
 * of the window). Messages carry `id:` lines; a client that reconnects with `Last-Event-ID` may have missed some, so
 * it first gets a change telling it to refetch. Comment lines every {@link HEARTBEAT_MS} keep proxies from closing
 * an idle stream. A client that does not read (its buffer passes {@link MAX_BUFFERED}) is disconnected.
 */
import type { ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FarmChange } from '../api/types.js';
import type { Farm } from '../scheduler/farm.js';

export const COALESCE_MS = 100;
export const HEARTBEAT_MS = 15_000;
const MAX_BUFFERED = 1024 * 1024;
/** Tells EventSource how long to wait before reconnecting. */
const RETRY_MS = 1000;

const keyOf = (change: FarmChange): string => {
  switch (change.kind) {
    case 'worker':
      return `worker:${change.workerId}`;
    case 'queue':
      return 'queue';
    case 'log':
      return `log:${change.jobId}:${change.taskId ?? ''}`;
    default:
      return `${change.kind}:${change.jobId}`;
  }
};

interface Stream {
  readonly response: ServerResponse;
  end(): void;
}

export class StreamHub {
  readonly #farm: Farm;
  readonly #streams = new Set<Stream>();
  #nextId = 1;
  #heartbeat: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(farm: Farm) {
    this.#farm = farm;
  }

  get size(): number {
    return this.#streams.size;
  }

  /** Takes over the reply and streams changes (of one job when `jobId` is given) until either side ends. */
  open(request: FastifyRequest, reply: FastifyReply, options: { jobId?: number }): void {
    reply.hijack();
    const response = reply.raw;
    if (this.#closed) {
      response.writeHead(503, { 'content-type': 'text/plain' }).end();
      return;
    }
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      // nginx buffers responses unless told not to.
      'x-accel-buffering': 'no',
    });
    response.write(`retry: ${RETRY_MS}\n\n`);
    const { jobId } = options;
    const timers = new Map<string, { timer: NodeJS.Timeout; pending?: FarmChange }>();

    const send = (change: FarmChange) => {
      if (response.writableEnded || response.destroyed) return stream.end();
      response.write(`id: ${this.#nextId++}\ndata: ${JSON.stringify(change)}\n\n`);
      if (response.writableLength > MAX_BUFFERED) stream.end();
    };
    // Leading and trailing throttle per key: the first change goes out at once, a burst's last at the window's end.
    const flush = (key: string) => {
      const slot = timers.get(key);
      if (!slot?.pending) {
        timers.delete(key);
        return;
      }
      send(slot.pending);
      timers.set(key, { timer: setTimeout(() => flush(key), COALESCE_MS) });
    };
    const onChange = (change: FarmChange) => {
      if (jobId !== undefined && (!('jobId' in change) || (change.jobId !== jobId && change.jobId !== -1))) return;
      const key = keyOf(change);
      const slot = timers.get(key);
      if (slot) {
        slot.pending = change;
        return;
      }
      send(change);
      timers.set(key, { timer: setTimeout(() => flush(key), COALESCE_MS) });
    };

    let ended = false;
    const stream: Stream = {
      response,
      end: () => {
        if (ended) return;
        ended = true;
        this.#farm.events.off('change', onChange);
        for (const { timer } of timers.values()) clearTimeout(timer);
        timers.clear();
        this.#streams.delete(stream);
        if (this.#streams.size === 0) {
          clearInterval(this.#heartbeat);
          this.#heartbeat = undefined;
        }
        if (!response.writableEnded) response.end();
      },
    };
    this.#streams.add(stream);
    this.#farm.events.on('change', onChange);
    response.on('close', stream.end);
    response.on('error', stream.end);
    request.raw.on('error', stream.end);
    this.#heartbeat ??= setInterval(() => {
      for (const s of this.#streams) if (!s.response.destroyed) s.response.write(': heartbeat\n\n');
    }, HEARTBEAT_MS).unref();

    // A reconnecting client may have missed changes while it was away: have it refetch.
    if (request.headers['last-event-id'] !== undefined)
      send(jobId !== undefined ? { kind: 'job', jobId } : { kind: 'tasks', jobId: -1 });
  }

  /** Ends every stream (the server is closing); later requests get 503. */
  closeAll(): void {
    this.#closed = true;
    for (const stream of [...this.#streams]) {
      // End the message stream, then the connection: it would otherwise idle in keep-alive and hold up the close.
      stream.response.once('finish', () => stream.response.socket?.destroy());
      stream.end();
    }
  }
}
