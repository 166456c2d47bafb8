/**
 * @module Group commit for workers' syncs: syncs that arrive while a transaction runs wait, and the next transaction
 * applies them together (see `applySyncs`). An idle farm answers a lone sync at once; a busy one amortises the commit
 * and the counter and event writes over every sync that queued meanwhile.
 *
 * A worker has at most one sync in flight in the batches (a second one waits for the next batch), so batches never
 * hold two syncs of one worker. When a batch fails as a whole (a database error, a deadlock between servers), its
 * syncs are applied again one by one, so one bad sync costs only itself.
 */
import type { SyncRequest } from '../api/types.js';
import type { SyncApplied, SyncOutcome } from './sync.js';

export interface SyncBatcherOptions {
  /** Batches run at once: 1 for SQLite (one writer), a few for PostgreSQL (claims skip each other's locked rows). */
  readonly lanes: number;
  /** Syncs per batch at most (bounds a transaction's length, so a batch's own replies are not held too long). */
  readonly maxBatch: number;
  /** Applies syncs of distinct workers in one transaction; throws when the transaction failed. */
  readonly apply: (items: readonly QueuedSync[]) => Promise<readonly SyncOutcome[]>;
}

export interface QueuedSync {
  readonly workerId: number;
  readonly request: SyncRequest;
}

interface Waiting extends QueuedSync {
  readonly resolve: (applied: SyncApplied) => void;
  readonly reject: (error: unknown) => void;
}

export class SyncBatcher {
  #queue: Waiting[] = [];
  readonly #inFlight = new Set<number>();
  #running = 0;
  #scheduled = false;

  constructor(private readonly options: SyncBatcherOptions) {}

  /** Applies a sync with the next batch; resolves with its reply, or rejects with why it was refused. */
  submit(workerId: number, request: SyncRequest): Promise<SyncApplied> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ workerId, request, resolve, reject });
      this.#schedule();
    });
  }

  /**
   * Starts batches after the current round of I/O: requests whose bytes arrived together are each handled in their
   * own callback, and a batch started in the first would run (SQLite's work is synchronous) before the others even
   * queue. setImmediate runs once the event loop has handled every pending I/O callback.
   */
  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#pump();
    });
  }

  #pump(): void {
    while (this.#running < this.options.lanes && this.#queue.length > 0) {
      const batch: Waiting[] = [];
      const later: Waiting[] = [];
      const workers = new Set<number>();
      for (const item of this.#queue) {
        if (batch.length < this.options.maxBatch && !this.#inFlight.has(item.workerId) && !workers.has(item.workerId)) {
          batch.push(item);
          workers.add(item.workerId);
        } else {
          later.push(item);
        }
      }
      if (batch.length === 0) return;
      this.#queue = later;
      for (const id of workers) this.#inFlight.add(id);
      this.#running++;
      void this.#run(batch).finally(() => {
        for (const id of workers) this.#inFlight.delete(id);
        this.#running--;
        this.#schedule();
      });
    }
  }

  async #run(batch: readonly Waiting[]): Promise<void> {
    let outcomes: readonly SyncOutcome[];
    try {
      outcomes = await this.options.apply(batch);
    } catch (error) {
      if (batch.length === 1) {
        batch[0]!.reject(error);
        return;
      }
      // The batch was rolled back: each sync on its own, so only a sync that fails by itself is refused.
      await Promise.all(batch.map((item) => this.#run([item])));
      return;
    }
    batch.forEach((item, i) => {
      const outcome = outcomes[i]!;
      if ('reply' in outcome) item.resolve(outcome);
      else item.reject(outcome.error);
    });
  }
}
