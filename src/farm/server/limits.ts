/**
 * @module Size limits: request bodies (checked while they stream in, so a reload can change the limit without
 * re-registering routes), templates, and the log lines of a worker's sync.
 */
import { Transform } from 'node:stream';
import type { FastifyRequest } from 'fastify';
import { CorralError } from '../../model/errors.js';
import type { LogBatch, ServerLimits, SyncRequest } from '../api/types.js';
import { FarmErrorCode } from '../errors.js';
import type { ServerSettings } from './context.js';

export const DEFAULT_LIMITS: ServerLimits = {
  bodyBytes: 8 * 1024 * 1024,
  templateBytes: 1024 * 1024,
  logBatchLines: 10_000,
  logLineBytes: 64 * 1024,
};

/** fastify's own cap, above any configurable limit; the real one is enforced by {@link limitBody}. */
export const HARD_BODY_LIMIT = 2 ** 31 - 1;

const TRUNCATED = '… [truncated]';

const tooLarge = (message: string) => new CorralError(FarmErrorCode.TooLarge, message);
const mib = (bytes: number) => (bytes >= 1024 * 1024 ? `${+(bytes / 1024 / 1024).toFixed(2)} MiB` : `${bytes} bytes`);

/**
 * A preParsing hook: refuses a body declared larger than the limit at once, and counts the bytes of one that is
 * not declared (chunked), failing as soon as it passes the limit.
 * @throws {CorralError} `CORRAL_E_TOO_LARGE` (413).
 */
export function limitBody(settings: ServerSettings) {
  return async (request: FastifyRequest, _reply: unknown, payload: NodeJS.ReadableStream) => {
    const limit = settings.limits.bodyBytes;
    const message = `The request body is larger than the server accepts (${mib(limit)}).`;
    const declared = Number(request.headers['content-length']);
    if (declared > limit) throw tooLarge(message);
    // A declared length within the limit is enforced by fastify itself (it refuses a body longer than declared).
    if (request.headers['transfer-encoding'] === undefined) return payload;
    let seen = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        seen += chunk.length;
        callback(seen > limit ? tooLarge(message) : null, chunk);
      },
    });
    payload.on('error', (error) => counter.destroy(error));
    return payload.pipe(counter);
  };
}

/**
 * Checks templates (a job's, environment templates) against the template limit, in UTF-8 bytes.
 * @throws {CorralError} `CORRAL_E_TOO_LARGE` naming the template.
 */
export function checkTemplates(
  settings: ServerSettings,
  templates: readonly { readonly what: string; readonly text: string }[],
): void {
  const limit = settings.limits.templateBytes;
  for (const { what, text } of templates) {
    // A UTF-16 unit is at most 3 UTF-8 bytes: most texts need no byte count.
    if (text.length * 3 <= limit) continue;
    const bytes = Buffer.byteLength(text);
    if (bytes > limit)
      throw tooLarge(`The ${what} is ${mib(bytes)}; the server accepts templates up to ${mib(limit)}.`);
  }
}

/** Cuts a line to at most `max` UTF-8 bytes (marker included) on a character boundary. */
function truncateLine(line: string, max: number): string {
  if (line.length * 3 <= max) return line;
  const bytes = Buffer.from(line);
  if (bytes.length <= max) return line;
  let end = Math.max(0, max - Buffer.byteLength(TRUNCATED));
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return bytes.toString('utf8', 0, end) + TRUNCATED;
}

/**
 * Applies the log limits to a sync: too many lines in one sync are refused (the worker sends them in smaller
 * syncs), overlong lines are cut (refusing them would stall the worker on a line it cannot change).
 * @returns the request, with long lines cut (the same object when nothing was cut).
 * @throws {CorralError} `CORRAL_E_TOO_LARGE` when the sync carries more lines than `logBatchLines`.
 */
export function limitLogs(settings: ServerSettings, request: SyncRequest): SyncRequest {
  const { logBatchLines, logLineBytes } = settings.limits;
  let lines = 0;
  for (const batch of request.logs) lines += batch.lines.length;
  if (lines > logBatchLines) {
    throw tooLarge(
      `The sync carries ${lines} log lines; the server accepts at most ${logBatchLines} per sync: send them in parts.`,
    );
  }
  let cut = false;
  const logs = request.logs.map((batch): LogBatch => {
    if (batch.lines.every(([, text]) => text.length * 3 <= logLineBytes)) return batch;
    cut = true;
    return { ...batch, lines: batch.lines.map(([time, text]) => [time, truncateLine(text, logLineBytes)] as const) };
  });
  return cut ? { ...request, logs } : request;
}
