/** @module Small pieces the views share: state badges, progress bars, sparklines, action buttons. */
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import type { TaskCounts } from '../../src/farm/client/index.js';
import { count } from './format.js';
import { notify, reportError } from './notices.js';

export function StateBadge({ state }: { state: string }) {
  return <span class={`state state-${state}`}>{state}</span>;
}

const BAR_ORDER = ['succeeded', 'failed', 'canceled', 'running', 'assigned', 'ready', 'pending'] as const;

/** Tasks by state as one stacked bar, with the share done as text for screen readers and the tooltip. */
export function ProgressBar({ counts }: { counts: TaskCounts }) {
  const total = counts.total || 1;
  const done = counts.succeeded + counts.failed + counts.canceled;
  const summary = BAR_ORDER.filter((s) => counts[s] > 0)
    .map((s) => `${count(counts[s])} ${s}`)
    .join(', ');
  return (
    <div
      class="progress"
      role="progressbar"
      aria-valuemin={0}
      aria-valuemax={counts.total}
      aria-valuenow={done}
      aria-valuetext={summary || 'no tasks'}
      title={summary}
    >
      {BAR_ORDER.map((s) =>
        counts[s] > 0 ? <span key={s} class={`bar-${s}`} style={{ width: `${(counts[s] / total) * 100}%` }} /> : null,
      )}
    </div>
  );
}

/** A small line chart of the last minutes; `max` fixes the scale (1 for CPU shares). */
export function Sparkline({ values, max, label }: { values: readonly number[]; max?: number; label: string }) {
  const width = 120;
  const height = 28;
  if (values.length < 2) {
    return (
      <svg class="spark" width={width} height={height} role="img" aria-label={`${label}: not enough samples yet`} />
    );
  }
  const top = max ?? Math.max(...values, 1e-9);
  const step = width / (values.length - 1);
  const points = values.map((v, i) => `${(i * step).toFixed(1)},${(height - 1 - (v / top) * (height - 2)).toFixed(1)}`);
  return (
    <svg class="spark" width={width} height={height} viewBox={`0 0 ${width} ${height}`} role="img" aria-label={label}>
      <polyline points={`0,${height} ${points.join(' ')} ${width},${height}`} class="spark-fill" />
      <polyline points={points.join(' ')} class="spark-line" />
    </svg>
  );
}

/**
 * A button that runs a request, shows it is busy, and reports the outcome. With `confirm`, the first press asks
 * ("Cancel 3 jobs?") and a second press on Yes does it; Escape or No steps back.
 */
export function ActionButton(props: {
  label: string;
  run: () => Promise<string | undefined>;
  confirm?: string;
  danger?: boolean;
  disabled?: boolean;
  title?: string;
}) {
  const [busy, setBusy] = useState(false);
  const [asking, setAsking] = useState(false);
  const go = async () => {
    setAsking(false);
    setBusy(true);
    try {
      const message = await props.run();
      if (message) notify('ok', message);
    } catch (error) {
      reportError(error, props.label);
    } finally {
      setBusy(false);
    }
  };
  if (asking) {
    return (
      <span class="confirm">
        <span>{props.confirm}</span>
        <button
          type="button"
          class={props.danger ? 'danger' : 'primary'}
          ref={(el) => el?.focus()}
          onClick={go}
          onKeyDown={(e) => e.key === 'Escape' && setAsking(false)}
        >
          Yes
        </button>
        <button type="button" onClick={() => setAsking(false)}>
          No
        </button>
      </span>
    );
  }
  return (
    <button
      type="button"
      class={props.danger ? 'danger' : undefined}
      disabled={props.disabled || busy}
      aria-busy={busy}
      title={props.title}
      onClick={() => (props.confirm ? setAsking(true) : go())}
    >
      {props.label}
    </button>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="empty">{children}</p>;
}

/** Shown while the first answer is on its way (a later refresh keeps the old content instead). */
export function Loading({ what }: { what: string }) {
  return (
    <p class="loading" aria-live="polite">
      Loading {what}…
    </p>
  );
}
