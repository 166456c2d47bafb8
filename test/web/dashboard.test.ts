/// <reference lib="dom" />
/**
 * The dashboard in a real browser (Debian's chromium through playwright-core) against a real local farm
 * (`corral up` with two workers): sign in, submit through the generated form, watch live, read a streaming log,
 * cancel, requeue, drain, keyboard use and phone width, with no console errors anywhere.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Locator, Page } from 'playwright-core';
import { browserSkipReason, launchBrowser, openPage, screenshot, type WatchedPage } from '../helpers/browser.js';
import { type LocalFarm, startLocalFarm } from '../helpers/farm.js';

const FORM_TEMPLATE = `specificationVersion: jobtemplate-2023-09
name: "Greet {{Param.Who}}"
parameterDefinitions:
- name: Who
  type: STRING
  default: world
  description: Whom the job greets.
  userInterface: {control: LINE_EDIT, label: Who to greet, groupLabel: Greeting}
- name: Style
  type: STRING
  allowedValues: [plain, shout]
  default: plain
  userInterface: {control: DROPDOWN_LIST, groupLabel: Greeting}
- name: Times
  type: INT
  default: 2
  minValue: 1
  maxValue: 5
  userInterface: {control: SPIN_BOX, label: Repeat}
- name: Loud
  type: STRING
  allowedValues: ['yes', 'no']
  default: 'no'
  userInterface: {control: CHECK_BOX}
steps:
- name: Greet
  parameterSpace:
    taskParameterDefinitions:
    - {name: N, type: INT, range: "1-{{Param.Times}}"}
  script:
    actions:
      onRun:
        command: sh
        args: ["-c", "echo 'hello {{Param.Who}} style={{Param.Style}} loud={{Param.Loud}} n={{Task.Param.N}}'"]
`;

const STREAM_TEMPLATE = `specificationVersion: jobtemplate-2023-09
name: Streamer
steps:
- name: Stream
  script:
    actions:
      onRun:
        command: sh
        args: ["-c", "for i in $(seq 1 24); do printf '\\\\033[32mtick %s\\\\033[0m done\\\\n' $i; sleep 0.25; done"]
`;

const LOUD_TEMPLATE = `specificationVersion: jobtemplate-2023-09
name: Loud
steps:
- name: Print
  script:
    actions:
      onRun: {command: sh, args: ["-c", "seq -f 'line %g' 1 12000"]}
`;

const SLEEP_TEMPLATE = `specificationVersion: jobtemplate-2023-09
name: Sleepers
steps:
- name: Sleep
  parameterSpace:
    taskParameterDefinitions:
    - {name: N, type: INT, range: "1-4"}
  script:
    actions:
      onRun: {command: sleep, args: ["60"]}
`;

const failUnless = (marker: string) => `specificationVersion: jobtemplate-2023-09
name: Needs a marker
steps:
- name: Check
  parameterSpace:
    taskParameterDefinitions:
    - {name: N, type: INT, range: "1-2"}
  script:
    actions:
      onRun: {command: sh, args: ["-c", "test -e '${marker}' || { echo 'no marker yet' >&2; exit 3; }"]}
`;

/** Waits until the elements' texts are exactly these (a list refetches: it is briefly empty or stale). */
async function untilTexts(locator: Locator, expected: readonly string[], ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  let texts = await locator.allInnerTexts();
  while (JSON.stringify(texts) !== JSON.stringify(expected) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    texts = await locator.allInnerTexts();
  }
  assert.deepEqual(texts, expected);
}

const skip = browserSkipReason();

describe('the dashboard', { skip, timeout: 240_000 }, () => {
  let farm: LocalFarm;
  let browser: Browser;
  let tab: WatchedPage;
  let page: Page;
  /** Problems the test caused on purpose (a wrong token's 401), removed from the final check. */
  const expected: string[] = [];

  before(async () => {
    [farm, browser] = await Promise.all([startLocalFarm({ workers: 2 }), launchBrowser()]);
    tab = await openPage(browser, { acceptDownloads: true });
    page = tab.page;
    page.setDefaultTimeout(20_000);
  });
  after(async () => {
    await browser?.close();
    await farm?.stop();
  });

  it('should ask for a token, refuse a wrong one and sign in with the right one', async () => {
    await page.goto(farm.url);
    await page.getByLabel('Access token').waitFor();
    await screenshot(page, 'sign-in');
    await page.getByLabel('Access token').fill('not-a-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: /token/i }).waitFor();
    // The refused request is logged by the browser as a failed resource: that one is expected.
    expected.push(...tab.problems.splice(0).filter((p) => /401/.test(p)));
    await page.getByLabel('Access token').fill(farm.token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Jobs' }).waitFor();
    await page.getByText('No jobs yet.').waitFor();
    await page.getByRole('status').filter({ hasText: 'Live' }).waitFor();
  });

  it('should generate the form from the parameters, show the server’s complaint at the field, and submit', async () => {
    await page.getByRole('link', { name: 'Submit', exact: true }).click();
    await page.getByLabel('Job template (YAML or JSON)').fill(FORM_TEMPLATE);
    // The form follows the definitions: labels, groups, controls, defaults and constraints.
    const who = page.getByLabel('Who to greet');
    assert.equal(await who.inputValue(), 'world');
    assert.equal(await page.getByRole('group', { name: 'Greeting' }).getByRole('combobox').inputValue(), 'plain');
    const repeat = page.getByLabel('Repeat');
    assert.equal(await repeat.getAttribute('type'), 'number');
    assert.equal(await repeat.getAttribute('max'), '5');
    assert.equal(await page.getByLabel('Loud').isChecked(), false);
    await screenshot(page, 'submit', { fullPage: true });

    await who.fill('Ada');
    await page.getByRole('combobox', { name: 'Style' }).selectOption('shout');
    await page.getByLabel('Loud').check();
    await repeat.fill('9');
    await page.getByRole('button', { name: 'Submit', exact: true }).click();
    const complaint = page.locator('#param-Times-error');
    await complaint.waitFor();
    assert.match(await complaint.innerText(), /5/);
    assert.equal(await repeat.getAttribute('aria-invalid'), 'true');
    expected.push(...tab.problems.splice(0).filter((p) => /422|400/.test(p)));

    // A template mistake is shown with its line:col, and the button selects that line in the editor.
    const editor = page.getByLabel('Job template (YAML or JSON)');
    const broken = FORM_TEMPLATE.replace('  script:\n', '  scirpt:\n');
    assert.notEqual(broken, FORM_TEMPLATE);
    await editor.fill(broken);
    await repeat.fill('3');
    await page.getByRole('button', { name: 'Submit', exact: true }).click();
    const where = page
      .getByRole('alert')
      .getByRole('button', { name: /^line \d+:\d+$/ })
      .first();
    await where.waitFor();
    const line = Number(/line (\d+)/.exec(await where.innerText())![1]);
    await where.click();
    const selected = await editor.evaluate((el) => {
      const area = el as HTMLTextAreaElement;
      return {
        focused: document.activeElement === area,
        text: area.value.slice(area.selectionStart, area.selectionEnd),
      };
    });
    assert.equal(selected.focused, true);
    // From the column to the end of its line.
    const lineText = broken.split('\n')[line - 1]!;
    assert.ok(
      selected.text.length > 0 && lineText.endsWith(selected.text),
      `selected '${selected.text}' of '${lineText}'`,
    );
    expected.push(...tab.problems.splice(0).filter((p) => /422|400/.test(p)));

    await editor.fill(FORM_TEMPLATE);
    await page.getByRole('button', { name: 'Submit', exact: true }).click();
    await page.waitForURL(/\/jobs\/\d+$/);
    await page.getByRole('heading', { name: 'Greet Ada' }).waitFor();
  });

  it('should show the job finishing live, without reloading the page', async () => {
    await page.evaluate(() => {
      (window as unknown as { stillHere: boolean }).stillHere = true;
    });
    await page.locator('.page-head .state-succeeded').waitFor({ timeout: 60_000 });
    await page.getByRole('grid', { name: 'Tasks' }).getByText('succeeded').first().waitFor();
    assert.equal(await page.evaluate(() => (window as unknown as { stillHere?: boolean }).stillHere), true);
    const rows = page.getByRole('grid', { name: 'Tasks' }).locator('.task-body [role=row]');
    assert.equal(await rows.count(), 3);
    await screenshot(page, 'job');
    // The parameters reached the task: its log says so.
    await rows.first().getByRole('link').click();
    await page.getByRole('log').getByText('hello Ada style=shout loud=yes n=1').waitFor();
    await page.getByRole('link', { name: 'Jobs', exact: true }).first().click();
    await page.getByRole('link', { name: 'Greet Ada' }).waitFor();
    await screenshot(page, 'jobs');
  });

  it('should stream a running task’s log, with colours, search and download', async () => {
    const { jobId } = await farm.client.submitJob({ template: STREAM_TEMPLATE });
    await page.goto(`${farm.url}/jobs/${jobId}`);
    const task = page.getByRole('grid', { name: 'Tasks' }).locator('.task-body [role=row]').first();
    await task.getByText('running').waitFor();
    await task.getByRole('link').click();
    const log = page.getByRole('log');
    await log.getByText('tick 2 done').waitFor();
    const early = await log.locator('.log-line').count();
    await log.getByText('tick 12 done').waitFor();
    assert.ok((await log.locator('.log-line').count()) > early, 'lines arrived while the page was open');
    const colour = await log.getByText('tick 2', { exact: true }).evaluate((el) => (el as HTMLElement).style.color);
    assert.equal(colour, 'var(--ansi-green)');
    await page.getByLabel('Search the log').fill('tick 1');
    await page.getByText(/^1 of \d+$/).waitFor();
    await screenshot(page, 'log');
    await log.getByText('tick 24 done').waitFor({ timeout: 30_000 });
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download' }).click(),
    ]);
    const text = readFileSync((await download.path())!, 'utf8');
    assert.match(text, /tick 24 done/);
    assert.doesNotMatch(text, /\x1b/, 'the download is plain text');
  });

  it('should keep a long log light: the last lines shown, earlier ones on request or when a search finds them', async () => {
    const { jobId } = await farm.client.submitJob({ template: LOUD_TEMPLATE });
    const deadline = Date.now() + 60_000;
    while ((await farm.client.getJob({ jobId })).state !== 'succeeded' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const [task] = (await farm.client.listTasks({ jobId })).tasks;
    await page.goto(`${farm.url}/jobs/${jobId}/tasks/${task!.id}`);
    const log = page.getByRole('log');
    await log.getByText('line 12000', { exact: true }).waitFor();
    const shown = await log.locator('.log-line').count();
    assert.ok(shown <= 5000, `${shown} lines in the page`);
    assert.equal(await log.getByText('line 1', { exact: true }).count(), 0);
    // A search reaching back brings that part in.
    await page.getByLabel('Search the log').fill('line 17');
    await page.getByText(/^1 of \d+$/).waitFor();
    await log
      .locator('.log-line.current')
      .filter({ hasText: /^line 17\s*$/ })
      .waitFor();
    await page.getByLabel('Search the log').fill('');
    await log.getByRole('button', { name: /^Show the [\d,]+ earlier lines$/ }).click();
    await log.getByText('line 1', { exact: true }).waitFor();
    assert.ok((await log.locator('.log-line').count()) >= 12000);
  });

  it('should cancel a running job and show its tasks canceled', async () => {
    const { jobId } = await farm.client.submitJob({ template: SLEEP_TEMPLATE });
    await page.goto(`${farm.url}/jobs/${jobId}`);
    const grid = page.getByRole('grid', { name: 'Tasks' });
    await grid.getByText('running').first().waitFor({ timeout: 30_000 });
    await page.getByRole('button', { name: 'Cancel job' }).click();
    await page.getByRole('button', { name: 'Yes' }).click();
    await page.locator('.page-head .state-canceled').waitFor();
    await grid.locator('.task-body [role=row]').filter({ hasText: 'canceled' }).nth(3).waitFor();
    assert.equal(await grid.getByText('running').count(), 0);
    const job = await farm.client.getJob({ jobId });
    assert.equal(job.counts.canceled, 4);
  });

  it('should requeue failed tasks and see them succeed', async () => {
    const marker = join(farm.dataDir, 'marker');
    const { jobId } = await farm.client.submitJob({ template: failUnless(marker), maxRetriesPerTask: 0 });
    await page.goto(`${farm.url}/jobs/${jobId}`);
    await page.locator('.page-head .state-failed').waitFor({ timeout: 30_000 });
    writeFileSync(marker, '');
    await page.getByRole('toolbar', { name: 'Job actions' }).getByRole('button', { name: 'Requeue failed' }).click();
    await page.locator('.page-head .state-succeeded').waitFor({ timeout: 30_000 });
    const job = await farm.client.getJob({ jobId });
    assert.equal(job.counts.succeeded, 2);
    rmSync(marker);
  });

  it('should drain a worker and let it take work again', async () => {
    await page.getByRole('link', { name: 'Workers' }).click();
    const row = page.getByRole('row').filter({ hasText: '-1' }).first();
    await row.getByText('idle').waitFor({ timeout: 30_000 });
    await screenshot(page, 'workers');
    await row.getByRole('button', { name: 'Drain' }).click();
    await row.getByRole('button', { name: 'Yes' }).click();
    await row.getByText('draining').waitFor();
    const drained = (await farm.client.listWorkers()).workers.find((w) => w.name.endsWith('-1'))!;
    assert.equal(drained.drainRequested, true);
    await row.getByRole('button', { name: 'Resume' }).click();
    await row.getByText('idle').waitFor({ timeout: 30_000 });
    assert.equal((await farm.client.listWorkers()).workers.find((w) => w.id === drained.id)!.drainRequested, false);
  });

  it('should filter and search the jobs, and act on the selected ones', async () => {
    await page.getByRole('link', { name: 'Jobs', exact: true }).first().click();
    const table = page.locator('table.jobs');
    await table.getByRole('link', { name: 'Sleepers' }).waitFor();
    await page.getByRole('checkbox', { name: 'canceled' }).check();
    await page.waitForURL(/state=canceled/);
    await untilTexts(table.locator('tbody tr a'), ['Sleepers']);
    await page.getByRole('checkbox', { name: 'canceled' }).uncheck();
    await page.getByRole('searchbox', { name: 'Search jobs' }).fill('Greet');
    await page.getByRole('searchbox', { name: 'Search jobs' }).press('Enter');
    await page.waitForURL(/q=Greet/);
    await untilTexts(table.locator('tbody tr a'), ['Greet Ada']);
    await page.getByRole('searchbox', { name: 'Search jobs' }).fill('');
    await page.getByRole('searchbox', { name: 'Search jobs' }).press('Enter');
    await table.getByRole('link', { name: 'Sleepers' }).waitFor();

    await page.getByRole('checkbox', { name: 'Select Sleepers' }).check();
    await page.getByRole('checkbox', { name: 'Select Needs a marker' }).check();
    const actions = page.getByRole('toolbar', { name: 'Actions on the selected jobs' });
    await actions.getByText('2 selected').waitFor();
    await actions.getByLabel('Priority').fill('77');
    await actions.getByRole('button', { name: 'Set' }).click();
    await page.getByText('Priority 77 for 2 jobs.').waitFor();
    const { jobs } = await farm.client.listJobs();
    const priorities = Object.fromEntries(jobs.map((j) => [j.name, j.priority]));
    assert.equal(priorities.Sleepers, 77);
    assert.equal(priorities['Needs a marker'], 77);
    assert.equal(priorities['Greet Ada'], 50);
  });

  it('should be usable from the keyboard: the task grid moves with arrows and opens a log with Enter', async () => {
    const { jobs } = await farm.client.listJobs({ search: 'Greet' });
    await page.goto(`${farm.url}/jobs/${jobs[0]!.id}`);
    const grid = page.getByRole('grid', { name: 'Tasks' });
    await grid.getByText('succeeded').first().waitFor();
    await grid.focus();
    await page.keyboard.press('ArrowDown');
    assert.equal(await grid.getAttribute('aria-activedescendant'), 'task-row-1');
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/tasks\/\d+$/);
    await page.getByRole('log').getByText('hello Ada style=shout loud=yes n=2').waitFor();
    // The skip link is the first stop and leads to the content.
    await page.keyboard.press('Tab');
    await page.goto(`${farm.url}/jobs`);
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Skip to content');
  });

  it('should fit a phone’s width', async () => {
    const phone = await openPage(browser, { width: 390, height: 844 });
    try {
      // The link `corral up` printed signs the browser in.
      assert.equal(farm.dashboard, `${farm.url}/#token=${encodeURIComponent(farm.token)}`);
      await phone.page.goto(farm.dashboard);
      await phone.page.getByRole('heading', { name: 'Jobs' }).waitFor();
      assert.equal(new URL(phone.page.url()).hash, '', 'the token left the address bar');
      for (const path of ['/jobs', '/workers', '/submit']) {
        await phone.page.goto(`${farm.url}${path}`);
        await phone.page.locator('main h1').waitFor();
        const overflow = await phone.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        assert.ok(overflow <= 0, `${path} is ${overflow}px wider than the phone`);
      }
      const { jobs } = await farm.client.listJobs({ search: 'Greet' });
      await phone.page.goto(`${farm.url}/jobs/${jobs[0]!.id}`);
      await phone.page.getByRole('grid', { name: 'Tasks' }).getByText('succeeded').first().waitFor();
      const overflow = await phone.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `the job page is ${overflow}px wider than the phone`);
      await screenshot(phone.page, 'job-phone');
      assert.deepEqual(phone.problems, []);
    } finally {
      await phone.context.close();
    }
  });

  it('should have logged no console errors or warnings', () => {
    assert.deepEqual(tab.problems, []);
    assert.ok(
      expected.every((p) => /401|422|400/.test(p)),
      expected.join('\n'),
    );
    assert.ok(existsSync(farm.dataDir));
  });
});
