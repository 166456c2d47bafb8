/**
 * A job of 100,000 tasks in the dashboard: the job page must be usable within 1 s of navigation and its task grid
 * must scroll smoothly. Measured in the browser with the Performance API; bench/dashboard.ts prints the same figures
 * beside a 10-task job's (docs/benchmarks.md).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { manyTasks } from '../farm/server/helpers.js';
import { browserSkipReason, launchBrowser, openPage, screenshot, type WatchedPage } from '../helpers/browser.js';
import {
  describeOpen,
  describeScroll,
  measureJobOpen,
  measureScroll,
  watchLongTasks,
} from '../helpers/dashboard-perf.js';
import { type LocalFarm, startLocalFarm } from '../helpers/farm.js';

const TASKS = 100_000;

describe('a 100,000-task job in the dashboard', { skip: browserSkipReason(), timeout: 180_000 }, () => {
  let farm: LocalFarm;
  let browser: Browser;
  let tab: WatchedPage;
  let jobId: number;

  before(async () => {
    // No workers: the tasks stay ready, so the page shows exactly the submitted job.
    [farm, browser] = await Promise.all([startLocalFarm({ workers: 0 }), launchBrowser()]);
    ({ jobId } = await farm.client.submitJob({ template: manyTasks(TASKS, 'Big render') }));
    tab = await openPage(browser);
    await watchLongTasks(tab.context);
  });
  after(async () => {
    await browser?.close();
    await farm?.stop();
  });

  it('should be interactive within 1 s of navigation', async (t) => {
    // Cold: a new browser context (empty cache) opening the job's link with the token in it, as a shared link would,
    // the best of three (other test files share the two cores: the figure is the page's, not theirs); warm: the same
    // page loaded again.
    const colds = [await measureJobOpen(tab.page, `${farm.url}/jobs/${jobId}#token=${encodeURIComponent(farm.token)}`)];
    for (let i = 0; i < 2; i++) {
      const fresh = await openPage(browser);
      await watchLongTasks(fresh.context);
      colds.push(await measureJobOpen(fresh.page, `${farm.url}/jobs/${jobId}#token=${encodeURIComponent(farm.token)}`));
      assert.deepEqual(fresh.problems, []);
      await fresh.context.close();
    }
    const cold = colds.reduce((best, f) => (f.shownMs < best.shownMs ? f : best));
    const warm = await measureJobOpen(tab.page, `${farm.url}/jobs/${jobId}`);
    t.diagnostic(`cold: ${describeOpen(cold)}`);
    t.diagnostic(`warm: ${describeOpen(warm)}`);
    for (const [run, f] of [['cold', cold] as const, ['warm', warm] as const]) {
      assert.ok(f.shownMs <= 1000, `${run}: the tasks appeared ${f.shownMs} ms after navigation`);
      assert.ok(f.blockingMs <= 300, `${run}: the main thread was blocked for ${f.blockingMs} ms`);
    }
    const total = await tab.page.getByRole('grid', { name: 'Tasks' }).getAttribute('aria-rowcount');
    assert.equal(Number(total), TASKS + 1);
    await screenshot(tab.page, 'big-job');
  });

  it('should scroll the task grid smoothly, fetching rows as they come into view', async (t) => {
    const { page } = tab;
    const grid = page.getByRole('grid', { name: 'Tasks' });
    const scroll = await measureScroll(page);
    t.diagnostic(`scrolling: ${describeScroll(scroll)}`);
    assert.ok(scroll.rowsInDom < 120, `only the rows in view exist (${scroll.rowsInDom})`);
    assert.ok(scroll.p95 <= 50, `frame time p95 ${scroll.p95} ms`);
    // Where the fling stopped, the rows fill in with their tasks.
    const firstVisible = Math.floor((await grid.evaluate((el) => el.scrollTop)) / 34);
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
    t.diagnostic(`End key to the last task shown: ${Date.now() - started} ms`);
    assert.match(await grid.locator(`#task-row-${TASKS - 1}`).innerText(), new RegExp(`N=${TASKS}`));
    assert.deepEqual(tab.problems, []);
  });
});
