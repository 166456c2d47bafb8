/// <reference lib="dom" />
/**
 * @module Measuring the dashboard's job page in the browser (Performance API), shared by its test (which bounds the
 * figures) and bench/dashboard.ts (which prints them beside a small job's): how long after navigation the first tasks
 * are shown, how long the main thread was blocked, and the frame times of a fast scroll through the task grid.
 */
import type { BrowserContext, Page } from 'playwright-core';

export interface OpenFigures {
  /** The first page of tasks on screen, ms after navigation started (the app's `corral:tasks-shown` mark). */
  readonly shownMs: number;
  readonly domContentLoadedMs: number;
  /** The longest main-thread task, and the time over 50 ms summed over all (total blocking time). */
  readonly longestTaskMs: number;
  readonly blockingMs: number;
}

export interface ScrollFigures {
  readonly frames: number;
  readonly p50: number;
  readonly p95: number;
  readonly max: number;
  readonly over50: number;
  /** Task rows in the page at the end (the grid keeps only those in view). */
  readonly rowsInDom: number;
}

/** Makes every page of the context record its long tasks from its first moment. */
export async function watchLongTasks(context: BrowserContext): Promise<void> {
  await context.addInitScript(() => {
    const w = window as unknown as { longTasks: number[] };
    w.longTasks = [];
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) w.longTasks.push(entry.duration);
    }).observe({ type: 'longtask', buffered: true });
  });
}

/** Navigates to a job page (its URL may carry `#token=`) and measures until its first task row is filled. */
export async function measureJobOpen(page: Page, url: string): Promise<OpenFigures> {
  await page.goto(url);
  await page.locator('.task-body [role=row]:not(.placeholder)').first().waitFor();
  await page.waitForFunction(() => performance.getEntriesByName('corral:tasks-shown').length > 0);
  return page.evaluate(() => {
    const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
    const longTasks = (window as unknown as { longTasks?: number[] }).longTasks ?? [];
    return {
      shownMs: performance.getEntriesByName('corral:tasks-shown')[0]!.startTime,
      domContentLoadedMs: nav.domContentLoadedEventEnd,
      longestTaskMs: Math.max(0, ...longTasks),
      blockingMs: longTasks.reduce((sum, d) => sum + Math.max(0, d - 50), 0),
    };
  });
}

const percentile = (values: readonly number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
};

/** A fast fling through the task grid: `pixels` a frame for `frames` frames, recording each frame's length. */
export async function measureScroll(
  page: Page,
  options: { frames?: number; pixels?: number } = {},
): Promise<ScrollFigures> {
  const grid = page.getByRole('grid', { name: 'Tasks' });
  const { deltas, rowsInDom } = await grid.evaluate(
    async (el, { frames, pixels }) => {
      const deltas: number[] = [];
      let last = performance.now();
      for (let i = 0; i < frames; i++) {
        await new Promise<void>((resolve) =>
          requestAnimationFrame((now) => {
            deltas.push(now - last);
            last = now;
            el.scrollTop += pixels;
            resolve();
          }),
        );
      }
      // The first frame's length includes the wait before the loop started.
      return { deltas: deltas.slice(1), rowsInDom: el.querySelectorAll('.task-body [role=row]').length };
    },
    { frames: options.frames ?? 300, pixels: options.pixels ?? 400 },
  );
  return {
    frames: deltas.length,
    p50: percentile(deltas, 50),
    p95: percentile(deltas, 95),
    max: Math.max(...deltas),
    over50: deltas.filter((d) => d > 50).length,
    rowsInDom,
  };
}

export const describeOpen = (f: OpenFigures) =>
  `tasks shown ${f.shownMs.toFixed(0)} ms after navigation (DOMContentLoaded ${f.domContentLoadedMs.toFixed(0)} ms), ` +
  `longest main-thread task ${f.longestTaskMs.toFixed(0)} ms, total blocking ${f.blockingMs.toFixed(0)} ms`;

export const describeScroll = (f: ScrollFigures) =>
  `${f.frames} frames, frame time p50 ${f.p50.toFixed(1)} ms, p95 ${f.p95.toFixed(1)} ms, max ${f.max.toFixed(1)} ms, ` +
  `${f.over50} over 50 ms; ${f.rowsInDom} task rows in the page`;
