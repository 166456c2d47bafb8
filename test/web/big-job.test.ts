/// <reference lib="dom" />
/**
 * A job of 100,000 tasks in the dashboard: the job page must be usable within 1 s of navigation and its task grid
 * must scroll smoothly. Measured in the browser with the Performance API (the figures are printed as diagnostics
 * and recorded in docs/benchmarks.md).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { browserSkipReason, launchBrowser, openPage, screenshot, type WatchedPage } from '../helpers/browser.js';
import { type LocalFarm, startLocalFarm } from '../helpers/farm.js';

const TASKS = 100_000;
const BIG = `specificationVersion: jobtemplate-2023-09
name: Big render
steps:
- name: Frames
  parameterSpace:
    taskParameterDefinitions:
    - {name: Frame, type: INT, range: "1-${TASKS}"}
  script:
    actions:
      onRun: {command: echo, args: ["{{Task.Param.Frame}}"]}
`;

interface ScrollFigures {
  frames: number;
  p50: number;
  p95: number;
  max: number;
  over50: number;
  rowsInDom: number;
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
};

describe('a 100,000-task job in the dashboard', { skip: browserSkipReason(), timeout: 180_000 }, () => {
  let farm: LocalFarm;
  let browser: Browser;
  let tab: WatchedPage;
  let jobId: number;

  /** Records long tasks (main-thread work over 50 ms) from the first moment of every page of the context. */
  const watchLongTasks = (context: WatchedPage['context']) =>
    context.addInitScript(() => {
      const w = window as unknown as { longTasks: number[] };
      w.longTasks = [];
      new PerformanceObserver((list) => {
        for (const entry of list.getEntries()) w.longTasks.push(entry.duration);
      }).observe({ type: 'longtask', buffered: true });
    });

  before(async () => {
    // No workers: the tasks stay ready, so the page shows exactly the submitted job.
    [farm, browser] = await Promise.all([startLocalFarm({ workers: 0 }), launchBrowser()]);
    ({ jobId } = await farm.client.submitJob({ template: BIG }));
    tab = await openPage(browser);
    await watchLongTasks(tab.context);
  });
  after(async () => {
    await browser?.close();
    await farm?.stop();
  });

  it('should be interactive within 1 s of navigation', async (t) => {
    // Cold: a new browser context (empty cache) opening the job's link with the token in it, as a shared link
    // would; warm: the same page loaded again.
    const { page } = tab;
    for (const run of ['cold', 'warm']) {
      await page.goto(
        run === 'cold'
          ? `${farm.url}/jobs/${jobId}#token=${encodeURIComponent(farm.token)}`
          : `${farm.url}/jobs/${jobId}`,
      );
      await page
        .getByRole('grid', { name: 'Tasks' })
        .locator('.task-body [role=row]')
        .first()
        .getByText('ready')
        .waitFor();
      const figures = await page.evaluate(() => {
        const shown = performance.getEntriesByName('corral:tasks-shown')[0]?.startTime ?? Number.NaN;
        const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
        const longTasks = (window as unknown as { longTasks: number[] }).longTasks;
        return {
          shown,
          domContentLoaded: nav.domContentLoadedEventEnd,
          longest: Math.max(0, ...longTasks),
          blocking: longTasks.reduce((sum, d) => sum + Math.max(0, d - 50), 0),
        };
      });
      t.diagnostic(
        `${run}: tasks shown ${figures.shown.toFixed(0)} ms after navigation (DOMContentLoaded ${figures.domContentLoaded.toFixed(0)} ms), ` +
          `longest main-thread task ${figures.longest.toFixed(0)} ms, total blocking ${figures.blocking.toFixed(0)} ms`,
      );
      assert.ok(figures.shown <= 1000, `${run}: the tasks appeared ${figures.shown} ms after navigation`);
      assert.ok(figures.blocking <= 300, `${run}: the main thread was blocked for ${figures.blocking} ms`);
    }
    const total = await page.getByRole('grid', { name: 'Tasks' }).getAttribute('aria-rowcount');
    assert.equal(Number(total), TASKS + 1);
    await screenshot(page, 'big-job');
  });

  it('should scroll the task grid smoothly, fetching rows as they come into view', async (t) => {
    const { page } = tab;
    const grid = page.getByRole('grid', { name: 'Tasks' });
    // A fast fling: 400 px a frame for 300 frames (12,000 tasks' worth), recording each frame's length.
    const figures = await grid.evaluate(
      async (el): Promise<Omit<ScrollFigures, 'p50' | 'p95' | 'max' | 'over50'> & { deltas: number[] }> => {
        const deltas: number[] = [];
        let last = performance.now();
        for (let i = 0; i < 300; i++) {
          await new Promise<void>((resolve) =>
            requestAnimationFrame((now) => {
              deltas.push(now - last);
              last = now;
              el.scrollTop += 400;
              resolve();
            }),
          );
        }
        return {
          frames: deltas.length,
          deltas: deltas.slice(1),
          rowsInDom: el.querySelectorAll('.task-body [role=row]').length,
        };
      },
    );
    const result: ScrollFigures = {
      frames: figures.frames,
      p50: percentile(figures.deltas, 50),
      p95: percentile(figures.deltas, 95),
      max: Math.max(...figures.deltas),
      over50: figures.deltas.filter((d) => d > 50).length,
      rowsInDom: figures.rowsInDom,
    };
    t.diagnostic(
      `scrolling: ${result.frames} frames, frame time p50 ${result.p50.toFixed(1)} ms, p95 ${result.p95.toFixed(1)} ms, ` +
        `max ${result.max.toFixed(1)} ms, ${result.over50} frames over 50 ms; ${result.rowsInDom} rows in the page`,
    );
    assert.ok(result.rowsInDom < 120, `only the rows in view exist (${result.rowsInDom})`);
    assert.ok(result.p95 <= 50, `frame time p95 ${result.p95} ms`);
    // Where the fling stopped, the rows fill in with their tasks.
    const firstVisible = Math.floor(((await grid.evaluate((el) => el.scrollTop)) as number) / 34);
    await grid
      .locator(`#task-row-${firstVisible + 5}`)
      .getByText('ready')
      .waitFor();

    // The end of the job, from the keyboard: End jumps there and the last task's row fills in.
    await grid.focus();
    const started = Date.now();
    await page.keyboard.press('End');
    await grid
      .locator(`#task-row-${TASKS - 1}`)
      .getByText('ready')
      .waitFor();
    const endMs = Date.now() - started;
    t.diagnostic(`End key to the last task shown: ${endMs} ms`);
    assert.match(await grid.locator(`#task-row-${TASKS - 1}`).innerText(), new RegExp(`Frame=${TASKS}`));
    assert.deepEqual(tab.problems, []);
  });
});
