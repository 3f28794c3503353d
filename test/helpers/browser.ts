/**
 * A real browser for the web app's tests: Debian's chromium (installed by the set-up script)
 * driven by playwright-core, which never downloads a browser of its own. Every page's console
 * errors and uncaught exceptions are collected so a test can say the page stayed healthy, and
 * screenshots go to test-output/web/ (git-ignored) for a person to look at.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { ROOT } from './media.ts';

export const CHROMIUM = process.env.VIDSCRIBE_CHROMIUM ?? '/usr/bin/chromium';
export const SHOTS_DIR = join(ROOT, 'test-output', 'web');

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Root in a container has no user namespace for the sandbox; media plays without a click.
    args: ['--no-sandbox', '--autoplay-policy=no-user-gesture-required', '--mute-audio'],
  });
}

export interface AppPage {
  context: BrowserContext;
  page: Page;
  /** Uncaught exceptions and console errors seen so far. */
  problems: string[];
}

/** A fresh browser profile (its own localStorage, so its own anonymous account) on the app. */
export async function openApp(browser: Browser, base: string, o: { locale?: string; width?: number; height?: number } = {}): Promise<AppPage> {
  const context = await browser.newContext({
    locale: o.locale ?? 'en-US',
    viewport: { width: o.width ?? 1280, height: o.height ?? 860 },
    acceptDownloads: true,
  });
  // tsx compiles the functions tests pass to page.evaluate with esbuild's keepNames, which calls a
  // `__name` helper that exists in Node but not in the page: give the page a no-op one.
  await context.addInitScript({ content: 'globalThis.__name = (f) => f;' });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  await page.goto(base);
  return { context, page, problems };
}

/** A full-page screenshot under test-output/web/<name>.png. */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SHOTS_DIR, { recursive: true });
  await page.screenshot({ path: join(SHOTS_DIR, `${name}.png`), fullPage: true });
}

/** A selector for a data-testid. */
export const tid = (id: string) => `[data-testid="${id}"]`;
