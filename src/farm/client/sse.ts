/**
 * @module Reading server-sent events over fetch (EventSource cannot send an Authorization header), with
 * reconnection: after a dropped connection the client waits (the server's `retry:`, doubling on repeated failures,
 * at most {@link MAX_BACKOFF_MS}) and reconnects with `Last-Event-ID`.
 */

import { CorralError } from '../../model/errors.js';
import type { FarmChange } from '../api/types.js';
import { FarmErrorCode } from '../errors.js';
import { fetchFailure, headers, responseError, type Transport, withQuery } from './http.js';

const MAX_BACKOFF_MS = 10_000;

export interface SseEvent {
  readonly id?: string;
  readonly data: string;
  readonly retry?: number;
}

/** Splits a byte stream into events, per the HTML specification's parsing rules (comments, `data`, `id`, `retry`). */
export async function* parseSse(body: ReadableStream<Uint8Array>): AsyncGenerator<SseEvent> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let data: string[] = [];
  let id: string | undefined;
  let retry: number | undefined;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      const lines = buffer.split(/\r\n|\r|\n/);
      buffer = lines.pop() ?? '';
      for (const line of lines) {
        if (line === '') {
          if (data.length > 0 || retry !== undefined) {
            yield {
              data: data.join('\n'),
              ...(id !== undefined ? { id } : {}),
              ...(retry !== undefined ? { retry } : {}),
            };
          }
          data = [];
          retry = undefined;
          continue;
        }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon === -1 ? line : line.slice(0, colon);
        const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'data') data.push(value);
        else if (field === 'id') id = value;
        else if (field === 'retry' && /^\d+$/.test(value)) retry = Number(value);
      }
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}

const sleep = (ms: number, signal: AbortSignal | undefined) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });

/** Changes from `GET /api/v1/stream`; see `CorralClient.stream`. */
export async function* streamChanges(
  transport: Transport,
  options: { jobId?: number; signal?: AbortSignal; onConnect?: () => void },
): AsyncGenerator<FarmChange> {
  const { signal } = options;
  const url = `${transport.url}${withQuery('/api/v1/stream', { jobId: options.jobId })}`;
  let lastEventId: string | undefined;
  let retryMs = 1000;
  let failures = 0;
  let connected = false;
  while (!signal?.aborted) {
    let response: Response;
    try {
      response = await transport.fetch(url, {
        headers: headers(transport, {
          accept: 'text/event-stream',
          ...(lastEventId !== undefined ? { 'last-event-id': lastEventId } : {}),
        }),
        ...(signal ? { signal } : {}),
      });
    } catch (error) {
      if (signal?.aborted) return;
      if (!connected) throw fetchFailure(transport, error, { caller: signal });
      failures++;
      await sleep(Math.min(retryMs * 2 ** failures, MAX_BACKOFF_MS), signal);
      continue;
    }
    if (!response.ok) {
      const error = await responseError(transport, response);
      // A closing or overloaded server (503) is worth waiting for; a refused token or a wrong URL is not.
      if (!connected || response.status < 500) throw error;
      failures++;
      await sleep(Math.min(retryMs * 2 ** failures, MAX_BACKOFF_MS), signal);
      continue;
    }
    if (!response.body || !(response.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
      response.body?.cancel().catch(() => {});
      throw new CorralError(
        FarmErrorCode.ServerUnavailable,
        `The server at ${transport.url} did not answer with an event stream, which is not Corral's API.`,
      );
    }
    connected = true;
    failures = 0;
    options.onConnect?.();
    try {
      for await (const event of parseSse(response.body)) {
        if (event.id !== undefined) lastEventId = event.id;
        if (event.retry !== undefined) retryMs = event.retry;
        if (event.data === '') continue;
        let change: FarmChange;
        try {
          change = JSON.parse(event.data) as FarmChange;
        } catch {
          continue;
        }
        yield change;
      }
    } catch {
      // The connection dropped (or the signal aborted it): reconnect below unless aborted.
    }
    if (signal?.aborted) return;
    await sleep(retryMs, signal);
  }
}
