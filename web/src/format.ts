/** @module How times, durations and counts read in the dashboard. */

export function duration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms) || ms < 0) return '';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.round(s)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(Math.floor(s % 60)).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

/** How long something ran: to its end, or until now while it runs; undefined before it started. */
export function runTime(item: { readonly startedAt?: number; readonly finishedAt?: number }): number | undefined {
  return item.startedAt === undefined ? undefined : (item.finishedAt ?? Date.now()) - item.startedAt;
}

/** Whether a job's, step's or task's state is final (nothing more will run unless it is requeued). */
export const isFinished = (state: string) => state === 'succeeded' || state === 'failed' || state === 'canceled';

/** "3 min ago", relative to `now`. */
export function age(time: number | undefined, now = Date.now()): string {
  if (time === undefined) return '';
  const s = Math.max(0, (now - time) / 1000);
  if (s < 10) return 'just now';
  if (s < 60) return `${Math.floor(s)} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86_400)} d ago`;
}

export function dateTime(time: number | undefined): string {
  return time === undefined ? '' : new Date(time).toLocaleString();
}

export const count = (n: number) => n.toLocaleString('en-US');

/** A task's parameters as `Frame=12, Layer=bg`. */
export function parameters(values: Readonly<Record<string, { readonly value: string } | unknown>>): string {
  return Object.entries(values)
    .map(([name, v]) => `${name}=${typeof v === 'object' && v !== null && 'value' in v ? String(v.value) : String(v)}`)
    .join(', ');
}
