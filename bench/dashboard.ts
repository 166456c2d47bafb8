/**
 * The dashboard's job page in Debian's chromium: how soon after navigation a 100,000-task job's tasks are on screen,
 * beside a 10-task job's (the baseline: a job page should not get slower with the size of the job), and the frame
 * times of a fast scroll through the big job's task grid.
 *
 * Usage: node --import tsx bench/dashboard.ts [--tasks 100000] [--runs 5]
 */
import { parseArgs } from 'node:util';
import { manyTasks } from '../test/farm/server/helpers.js';
import { launchBrowser, openPage } from '../test/helpers/browser.js';
import {
  describeScroll,
  measureJobOpen,
  measureScroll,
  type OpenFigures,
  watchLongTasks,
} from '../test/helpers/dashboard-perf.js';
import { startLocalFarm } from '../test/helpers/farm.js';

const { values } = parseArgs({
  options: { tasks: { type: 'string', default: '100000' }, runs: { type: 'string', default: '5' } },
});
const tasks = Number(values.tasks);
const runs = Number(values.runs);

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const farm = await startLocalFarm({ workers: 0 });
const browser = await launchBrowser();
try {
  const small = await farm.client.submitJob({ template: manyTasks(10, 'Frames 10') });
  const big = await farm.client.submitJob({ template: manyTasks(tasks, 'Frames') });
  const results: { name: string; cold: OpenFigures[]; warm: OpenFigures[] }[] = [];
  for (const [name, jobId] of [
    ['10 tasks', small.jobId],
    [`${tasks.toLocaleString('en-US')} tasks`, big.jobId],
  ] as const) {
    const result = { name, cold: [] as OpenFigures[], warm: [] as OpenFigures[] };
    for (let run = 0; run < runs; run++) {
      // Cold: a new context (empty cache, no session) opening a link with the token; warm: the same page reloaded.
      const tab = await openPage(browser);
      await watchLongTasks(tab.context);
      result.cold.push(
        await measureJobOpen(tab.page, `${farm.url}/jobs/${jobId}#token=${encodeURIComponent(farm.token)}`),
      );
      result.warm.push(await measureJobOpen(tab.page, `${farm.url}/jobs/${jobId}`));
      await tab.context.close();
    }
    results.push(result);
  }
  console.log(`job page, median of ${runs} runs (tasks on screen after navigation; total blocking time)`);
  for (const r of results) {
    const line = (figures: OpenFigures[]) =>
      `${median(figures.map((f) => f.shownMs)).toFixed(0)} ms (blocking ${median(figures.map((f) => f.blockingMs)).toFixed(0)} ms)`;
    console.log(`  ${r.name.padEnd(16)} cold ${line(r.cold)}, warm ${line(r.warm)}`);
  }
  const tab = await openPage(browser);
  await measureJobOpen(tab.page, `${farm.url}/jobs/${big.jobId}#token=${encodeURIComponent(farm.token)}`);
  console.log(
    `scrolling the ${tasks.toLocaleString('en-US')}-task grid, 400 px a frame: ${describeScroll(await measureScroll(tab.page))}`,
  );
  console.log('(a display refreshes every 16.7 ms: a p95 at that figure means no frame was dropped)');
  if (tab.problems.length > 0) console.log(`browser problems: ${tab.problems.join('; ')}`);
} finally {
  await browser.close();
  await farm.stop();
}
