/**
 * @module A staged, idempotent shutdown: components register releasers as they start, and `run()` calls them in
 * reverse order (last started, first released), so the HTTP listener closes before the store it uses.
 *
 * Every releaser runs even when an earlier one failed (the semantics of `Promise.allSettled`, but one after the
 * other); failures are gathered into one `AggregateError`. `run()` returns the same promise however often it is
 * called, so a second signal or a fatal error during shutdown cannot start a second one. Whether to wait for it or
 * to exit at once on a second signal is the daemon's choice (see `signals.ts`).
 */
import { CorralError } from '../../model/errors.js';
import { DaemonErrorCode } from './errors.js';

/** Releases one component; receives the shutdown's reason. */
export type Releaser = (reason: string) => void | Promise<void>;

/** Reported for each releaser as it starts and finishes. */
export type ShutdownEvent =
  | { readonly type: 'start'; readonly name: string }
  | { readonly type: 'done'; readonly name: string; readonly ms: number }
  | { readonly type: 'failed'; readonly name: string; readonly ms: number; readonly error: Error };

export interface CreateShutdownOptions {
  /** Called as each releaser starts and ends (for logging). Exceptions it throws are ignored. Default: none. */
  readonly onEvent?: (event: ShutdownEvent) => void;
}

/** A daemon's shutdown sequence. */
export interface Shutdown {
  /**
   * Registers a releaser. Releasers added while `run()` is under way still run (next, being the newest).
   * @returns a function that unregisters it (for a component that closed on its own).
   * @throws {CorralError} `CORRAL_E_SHUTTING_DOWN` once the shutdown has finished.
   */
  add(name: string, releaser: Releaser): () => void;
  /**
   * Runs every releaser, newest first, each after the previous settled. Idempotent: later calls return the first
   * call's promise (and their reasons are ignored).
   * @returns a promise that resolves when all succeeded, or rejects with an `AggregateError` of the failures, each
   *   an `Error` whose message starts with the releaser's name.
   */
  run(reason: string): Promise<void>;
  /** Aborted (with the reason) as soon as `run()` is first called: loops stop taking new work. */
  readonly signal: AbortSignal;
  /** Whether `run()` has been called. */
  readonly started: boolean;
}

/** Turns anything thrown into an Error with a non-empty message, keeping the original as `cause`. */
function coerceError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown.message === '' ? new Error(thrown.name, { cause: thrown }) : thrown;
  let text: string;
  try {
    text = typeof thrown === 'string' ? thrown : JSON.stringify(thrown);
  } catch {
    text = String(thrown);
  }
  return new Error(text === undefined || text === '' ? `non-error thrown: ${String(thrown)}` : text, { cause: thrown });
}

/**
 * Creates an empty shutdown sequence.
 * @returns the sequence; hand its `add` to components as they start and call `run` once to stop.
 * @example
 * const shutdown = createShutdown({ onEvent: (e) => log.debug(e, 'shutdown') });
 * shutdown.add('store', () => store.close());
 * shutdown.add('http', () => server.close());
 * await shutdown.run('SIGTERM'); // closes http, then store
 */
export function createShutdown(options: CreateShutdownOptions = {}): Shutdown {
  const stack: { readonly name: string; readonly releaser: Releaser }[] = [];
  const controller = new AbortController();
  let running: Promise<void> | undefined;
  let finished = false;
  const emit = (event: ShutdownEvent) => {
    try {
      options.onEvent?.(event);
    } catch {
      // A logging callback must not stop the releasers; it has no better place to report to.
    }
  };

  async function release(reason: string): Promise<void> {
    const errors: Error[] = [];
    const failed: string[] = [];
    for (let entry = stack.pop(); entry !== undefined; entry = stack.pop()) {
      const { name, releaser } = entry;
      const started = performance.now();
      emit({ type: 'start', name });
      try {
        await releaser(reason);
        emit({ type: 'done', name, ms: performance.now() - started });
      } catch (thrown) {
        const cause = coerceError(thrown);
        const error = new Error(`${name}: ${cause.message}`, { cause });
        errors.push(error);
        failed.push(name);
        emit({ type: 'failed', name, ms: performance.now() - started, error: cause });
      }
    }
    finished = true;
    if (errors.length > 0) {
      throw new AggregateError(
        errors,
        `Shutdown (${reason}): ${errors.length} releaser(s) failed: ${failed.join(', ')}`,
      );
    }
  }

  return {
    add(name, releaser) {
      if (finished) {
        throw new CorralError(
          DaemonErrorCode.ShuttingDown,
          `Cannot register '${name}' for shutdown: the shutdown has already finished.`,
        );
      }
      const entry = { name, releaser };
      stack.push(entry);
      return () => {
        const index = stack.indexOf(entry);
        if (index !== -1) stack.splice(index, 1);
      };
    },
    run(reason) {
      if (running === undefined) {
        controller.abort(reason);
        // Started on the next microtask, so a releaser that calls run() again gets this same promise.
        running = Promise.resolve().then(() => release(reason));
      }
      return running;
    },
    get signal() {
      return controller.signal;
    },
    get started() {
      return running !== undefined;
    },
  };
}
