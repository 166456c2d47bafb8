/**
 * @module What the worker agent needs from the server — register and sync — as a narrow interface, so the agent's
 * loop runs the same against the HTTP client and against a farm in the same process (tests).
 */
import type { RegisterWorkerReply, RegisterWorkerRequest, SyncReply, SyncRequest } from '../api/types.js';
import { type CorralClient, createClient } from '../client/index.js';

export interface FarmConnection {
  /**
   * Registers the worker (again, by name) with the agent's token.
   * @throws {CorralError} `CORRAL_E_UNAUTHORIZED` / `CORRAL_E_FORBIDDEN` when the token may not register,
   *   `CORRAL_E_BAD_REQUEST` for an invalid name, `CORRAL_E_SERVER_UNAVAILABLE` when the server cannot be reached.
   */
  register(request: RegisterWorkerRequest): Promise<RegisterWorkerReply>;
  /**
   * One sync, with the worker's own token. `signal` aborts a long-poll (the agent then repeats the same sync).
   * @throws {CorralError} `CORRAL_E_UNAUTHORIZED` / `CORRAL_E_FORBIDDEN` / `CORRAL_E_NOT_FOUND` when the worker
   *   token or id is no longer valid, `CORRAL_E_CONFLICT` for a stale sequence number, `CORRAL_E_TOO_LARGE` when
   *   the sync carries more than the server accepts, `CORRAL_E_SERVER_UNAVAILABLE` and others for faults.
   */
  sync(options: {
    readonly workerId: number;
    readonly token: string;
    readonly request: SyncRequest;
    readonly signal?: AbortSignal;
  }): Promise<SyncReply>;
}

export interface ClientConnectionOptions {
  /** The server's URL. */
  readonly url: string;
  /** The agent (or admin) token that registers workers; none when the server runs without authentication. */
  readonly token?: string | undefined;
  /** How long a request may take (a long-poll's wait is added). Default: the client's 30 s. */
  readonly timeoutMs?: number;
  /** The fetch to use (tests). */
  readonly fetch?: typeof fetch;
}

/** A connection through the farm's HTTP client (`src/farm/client`). */
export function clientConnection(options: ClientConnectionOptions): FarmConnection {
  const common = {
    url: options.url,
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    ...(options.fetch !== undefined ? { fetch: options.fetch } : {}),
  };
  const agent = createClient({ ...common, ...(options.token ? { token: options.token } : {}) });
  let worker: { token: string; client: CorralClient } | undefined;
  return {
    register: (request) => agent.registerWorker(request),
    sync: ({ workerId, token, request, signal }) => {
      if (worker?.token !== token) worker = { token, client: createClient({ ...common, token }) };
      return worker.client.sync({ workerId, request, ...(signal ? { signal } : {}) });
    },
  };
}
