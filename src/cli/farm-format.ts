/**
 * @module How the farm commands show things to people: aligned tables, ages, progress bars, task counts.
 */
import type { JobDetail, JobSummary, StepSummary, TaskCounts } from '../farm/api/types.js';

/** Left-aligned columns, two spaces apart; the last column is not padded. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}

/** `5s`, `3m`, `2h`, `4d` ago. */
export function age(time: number, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - time) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}

/** `1m05s`, `2h03m`: how long something took. */
export function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** `12/40` with failures and cancellations noted. */
export function progressText(c: TaskCounts): string {
  const extra = [
    c.running + c.assigned > 0 ? `${c.running + c.assigned} running` : '',
    c.failed > 0 ? `${c.failed} failed` : '',
    c.canceled > 0 ? `${c.canceled} canceled` : '',
  ].filter(Boolean);
  return `${c.succeeded}/${c.total}${extra.length ? ` (${extra.join(', ')})` : ''}`;
}

/** A bar of `width` cells: done, running, failed. */
export function bar(c: TaskCounts, width = 30): string {
  if (c.total === 0) return ' '.repeat(width);
  const cells = (n: number) => Math.round((n / c.total) * width);
  const done = cells(c.succeeded);
  const failed = Math.min(width - done, cells(c.failed + c.canceled));
  const running = Math.min(width - done - failed, cells(c.running + c.assigned));
  return `${'█'.repeat(done)}${'▒'.repeat(running)}${'×'.repeat(failed)}${'·'.repeat(width - done - failed - running)}`;
}

export function jobRows(jobs: readonly JobSummary[]): string {
  return table(
    ['ID', 'NAME', 'STATE', 'PRI', 'TASKS', 'QUEUE', 'AGE'],
    jobs.map((j) => [
      String(j.id),
      j.name,
      j.state,
      String(j.priority),
      progressText(j.counts),
      j.queue,
      age(j.createdAt),
    ]),
  );
}

function stepLine(step: StepSummary, nameWidth: number, withBar: boolean): string {
  const deps = step.dependsOn.length ? `  after ${step.dependsOn.join(', ')}` : '';
  return `  ${step.name.padEnd(nameWidth)}  ${withBar ? `${bar(step.counts)}  ` : ''}${step.state.padEnd(9)}  ${progressText(step.counts)}${deps}`;
}

/** A job and its steps; `withBars` draws progress bars (for a terminal). */
export function jobDetailText(job: JobDetail, withBars: boolean): string {
  const times = [
    `submitted ${age(job.createdAt)} ago by ${job.submitter}`,
    job.startedAt ? `ran ${duration((job.finishedAt ?? Date.now()) - job.startedAt)}` : '',
  ].filter(Boolean);
  const nameWidth = Math.max(4, ...job.steps.map((s) => s.name.length));
  return [
    `Job ${job.id}: ${job.name}  [${job.state}]`,
    `  queue ${job.queue}, priority ${job.priority}, ${times.join(', ')}`,
    `  tasks ${progressText(job.counts)}`,
    ...(Object.keys(job.parameters).length
      ? [
          `  parameters: ${Object.entries(job.parameters)
            .map(([k, v]) => `${k}=${JSON.stringify((v as { value?: unknown }).value ?? v)}`)
            .join(', ')}`,
        ]
      : []),
    'Steps:',
    ...job.steps.map((s) => stepLine(s, nameWidth, withBars)),
    '',
  ].join('\n');
}

export const isFinished = (state: string) => state === 'succeeded' || state === 'failed' || state === 'canceled';
