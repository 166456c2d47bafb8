/**
 * @module The browser for the dashboard's tests: playwright-core driving Debian's chromium (never a downloaded
 * browser), pages that record every console error and warning and every uncaught exception, and screenshots for the
 * docs (written to docs/images only with CORRAL_SCREENSHOTS=1, so an ordinary test run changes no files).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { repoRoot } from './cli.js';

export const CHROMIUM = process.env.CORRAL_CHROMIUM ?? '/usr/bin/chromium';

/** Why the browser tests cannot run here, or undefined when they can (CI installs chromium, so there they run). */
export function browserSkipReason(): string | undefined {
  if (existsSync(CHROMIUM)) return undefined;
  if (process.env.CI) throw new Error(`chromium is missing at ${CHROMIUM}; .ci/run installs it`);
  return `no chromium at ${CHROMIUM} (apt-get install chromium)`;
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

export interface WatchedPage {
  readonly page: Page;
  readonly context: BrowserContext;
  /** Console errors and warnings and uncaught exceptions so far. */
  readonly problems: string[];
}

/** A new page (its own context: its own sessionStorage) at the given size, recording problems. */
export async function openPage(
  browser: Browser,
  options: { width?: number; height?: number; acceptDownloads?: boolean } = {},
): Promise<WatchedPage> {
  const context = await browser.newContext({
    viewport: { width: options.width ?? 1280, height: options.height ?? 800 },
    acceptDownloads: options.acceptDownloads ?? false,
    reducedMotion: 'reduce',
  });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') {
      problems.push(`console ${message.type()}: ${message.text()} (${message.location().url})`);
    }
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  return { page, context, problems };
}

/** Saves a screenshot as docs/images/<name>.png when CORRAL_SCREENSHOTS=1. */
export async function screenshot(page: Page, name: string, options: { fullPage?: boolean } = {}): Promise<void> {
  if (process.env.CORRAL_SCREENSHOTS !== '1') return;
  const dir = join(repoRoot, 'docs', 'images');
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: join(dir, `${name}.png`), fullPage: options.fullPage ?? false });
}
