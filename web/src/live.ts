/**
 * @module One live connection to the server's change stream, shared by every view. A change is a hint to refetch;
 * views subscribe with a filter and get called at most once per {@link Subscription.delayMs} (trailing), so a farm
 * finishing hundreds of tasks a second costs a view a few requests a second, not hundreds.
 */
import { signal } from '@preact/signals';
import type { FarmChange } from '../../src/farm/client/index.js';
import { client, handleAuthError } from './session.js';

export type LiveState = 'connecting' | 'live' | 'offline';
export const liveState = signal<LiveState>('connecting');

interface Subscription {
  readonly matches: (change: FarmChange) => boolean;
  readonly callback: () => void;
  readonly delayMs: number;
  timer?: ReturnType<typeof setTimeout>;
  last: number;
}

const subscriptions = new Set<Subscription>();
let controller: AbortController | undefined;

function deliver(change: FarmChange): void {
  for (const sub of subscriptions) {
    if (!sub.matches(change) || sub.timer) continue;
    const wait = Math.max(0, sub.last + sub.delayMs - performance.now());
    sub.timer = setTimeout(() => {
      sub.timer = undefined;
      sub.last = performance.now();
      if (subscriptions.has(sub)) sub.callback();
    }, wait);
  }
}

/** Starts (or restarts, after a sign-in) the shared stream. */
export function startLive(): void {
  controller?.abort();
  const current = new AbortController();
  controller = current;
  liveState.value = 'connecting';
  void (async () => {
    while (!current.signal.aborted) {
      try {
        const onConnect = () => {
          liveState.value = 'live';
        };
        for await (const change of client.value.stream({ signal: current.signal, onConnect })) {
          liveState.value = 'live';
          deliver(change);
        }
      } catch (error) {
        if (current.signal.aborted || handleAuthError(error)) return;
      }
      if (current.signal.aborted) return;
      // The stream ended or failed to start: everything may be stale; retry, and refresh views once back.
      liveState.value = 'offline';
      await new Promise((resolve) => setTimeout(resolve, 2000));
      deliver({ kind: 'job', jobId: -1 });
      deliver({ kind: 'worker', workerId: -1 });
    }
  })();
}

export function stopLive(): void {
  controller?.abort();
  controller = undefined;
}

/**
 * Calls `callback` after changes that match, at most once per `delayMs`.
 * @returns the unsubscribe function (for a useEffect cleanup).
 */
export function subscribe(matches: (change: FarmChange) => boolean, callback: () => void, delayMs = 250): () => void {
  const sub: Subscription = { matches, callback, delayMs, last: 0 };
  subscriptions.add(sub);
  return () => {
    subscriptions.delete(sub);
    if (sub.timer) clearTimeout(sub.timer);
  };
}
