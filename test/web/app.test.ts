/**
 * Issue 10 in a real browser: Debian's chromium (playwright-core, no downloaded browser) against a
 * real `vidscribe serve` with the real model, serving the built app (dist/web, built by the set-up
 * script). A person drops the bundled sample video, asks for a transcript, reads it against the
 * recording, fixes a word, downloads, asks for captions and an export; a bad file and running out
 * of credits end in sentences; the UI speaks Chinese. Every screen is kept as a screenshot under
 * test-output/web/.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, openApp, screenshot, tid, type AppPage } from '../helpers/browser.ts';
import { ROOT, SAMPLE_MP4, tempDir } from '../helpers/media.ts';
import { serveProcess, type ServeProcess } from '../helpers/serve-process.ts';

const BUILT = join(ROOT, 'dist', 'web', 'index.html');
/** Model runs and renders on a busy 2-core machine: generous, but bounded. */
const SLOW = 240_000;

/** The folder for this file's server data and downloads, removed at the end (made here, not in a hook: a hook's own after() would run when the hook ends). */
const work = tempDir('vidscribe-web-');
let serves = 0;

async function startServe(extraArgs: string[] = []): Promise<ServeProcess> {
  assert.ok(existsSync(BUILT), 'the web app is not built: run npm run build:web (npm test does it through the set-up script)');
  const dir = join(work, `serve-${++serves}`);
  mkdirSync(dir);
  return serveProcess(dir, extraArgs);
}

async function stop(s: ServeProcess | undefined): Promise<void> {
  if (!s || s.proc.exitCode !== null) return;
  await new Promise<void>((res) => {
    s.proc.once('exit', () => res());
    s.proc.kill('SIGTERM');
  });
}

/** Picks files through the drop zone's file input, as the file picker does. */
async function pickFiles(page: Page, files: string[]): Promise<void> {
  await page.locator(tid('file-input')).setInputFiles(files);
}

async function say(page: Page, text: string): Promise<void> {
  await page.locator(tid('chat-input')).fill(text);
  await page.locator(tid('chat-send')).click();
}

/** The current time of the transcript's player. */
const playerTime = (page: Page) => page.locator(tid('player')).evaluate((v) => (v as HTMLMediaElement).currentTime);

describe('the web app in a real browser, with the real model', () => {
  let serve: ServeProcess;
  let browser: Browser;
  before(async () => {
    serve = await startServe();
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await stop(serve);
  });

  describe('one person: drop the sample, transcribe, read, fix, download, captions and export', () => {
    let app: AppPage;
    let page: Page;
    before(async () => {
      app = await openApp(browser, serve.url);
      page = app.page;
    });
    after(() => app.context.close());

    test("drop the sample video, ask for a text document: the transcript's words appear", { timeout: SLOW }, async () => {
      await page.locator(tid('credits')).and(page.locator('[data-available]')).waitFor();
      await screenshot(page, '01-start');
      await pickFiles(page, [SAMPLE_MP4]);
      const item = page.locator(tid('upload-item'));
      await item.and(page.locator('[data-status="done"]')).waitFor({ timeout: 60_000 });
      assert.match((await item.textContent()) ?? '', /jfk_inaugural_1961\.mp4/);
      await screenshot(page, '02-uploaded');
      await say(page, 'transcribe the spoken dialogue into a text document');
      await page.locator(tid('word')).nth(10).waitFor({ timeout: SLOW });
      const words = (await page.locator(tid('word')).allInnerTexts()).join(' ');
      assert.match(words, /fellow Americans/i);
      assert.match(words, /your country/i);
      assert.equal(await page.locator(`${tid('chat-message')}[data-role="user"]`).count(), 1);
      await screenshot(page, '03-transcript');
      assert.deepEqual(app.problems, []);
    });

    test('click a word: the player jumps to its start; play: the highlighted word moves on', { timeout: SLOW }, async () => {
      const word = page.locator(tid('word')).nth(8);
      const start = Number(await word.getAttribute('data-start'));
      assert.ok(start > 0, String(start));
      await page.locator(tid('player')).evaluate((v) => (v as HTMLMediaElement).pause());
      await word.click();
      await page.waitForFunction(([sel, s]) => Math.abs((document.querySelector(sel as string) as HTMLMediaElement).currentTime - (s as number)) <= 0.3, [
        tid('player'),
        start,
      ] as const);
      assert.ok(Math.abs((await playerTime(page)) - start) <= 0.3);

      // Play from the first word: the active word follows the recording.
      await page.locator(tid('word')).first().click();
      await page.locator(tid('player')).evaluate((v) => (v as HTMLMediaElement).play());
      const active = page.locator(`${tid('word')}[data-active="true"]`);
      await active.first().waitFor();
      const first = Number(await active.first().getAttribute('data-start'));
      await page.waitForFunction(
        ([sel, s]) => {
          const a = document.querySelector(`${sel}[data-active="true"]`);
          return a !== null && Number(a.getAttribute('data-start')) > (s as number) + 1;
        },
        [tid('word'), first] as const,
        { timeout: 30_000 },
      );
      await page.locator(tid('player')).evaluate((v) => (v as HTMLMediaElement).pause());
      await screenshot(page, '04-playing');
    });

    test('fix a word: saved, kept after a reload, and in the downloaded SRT', { timeout: SLOW }, async () => {
      const word = page.locator(tid('word')).nth(3);
      const [segment, index] = [await word.getAttribute('data-segment'), await word.getAttribute('data-index')];
      await word.dblclick();
      const editor = page.locator(tid('word-editor'));
      await editor.waitFor();
      await editor.fill('Zebrafish');
      await editor.press('Enter');
      await page.locator(tid('save-status')).filter({ hasText: 'Saved' }).waitFor();
      await screenshot(page, '05-edited');

      await page.reload();
      const same = page.locator(`${tid('word')}[data-segment="${segment}"][data-index="${index}"]`);
      await same.waitFor({ timeout: 60_000 });
      assert.equal((await same.textContent())?.trim(), 'Zebrafish');

      await page.locator(tid('download-menu')).click();
      const [download] = await Promise.all([page.waitForEvent('download'), page.locator(tid('download-srt')).click()]);
      const path = join(work, 'transcript.srt');
      await download.saveAs(path);
      const srt = readFileSync(path, 'utf8');
      assert.match(srt, /^1\r?\n\d\d:\d\d:\d\d,\d{3} --> /);
      assert.match(srt, /Zebrafish/);
      await screenshot(page, '06-reloaded');
    });

    test('ask for captions and an export: progress shows, then a preview player with a duration', { timeout: SLOW }, async () => {
      // Progress may come and go between two polls: remember whether it was ever on screen.
      await page.evaluate(
        (sels) => {
          const seen = { progress: false };
          (window as unknown as { __seen: typeof seen }).__seen = seen;
          const look = () => {
            if (sels.some((s) => document.querySelector(s))) seen.progress = true;
          };
          new MutationObserver(look).observe(document.body, { subtree: true, childList: true, attributes: true });
          look();
        },
        [tid('job-progress'), tid('export-progress')],
      );
      await say(page, 'add captions and export the video');
      const preview = page.locator(tid('render-preview')).first();
      await preview.waitFor({ timeout: SLOW });
      const duration = await preview.evaluate(
        (v: HTMLVideoElement) =>
          new Promise<number>((res) => {
            if (v.readyState >= 1) res(v.duration);
            else v.addEventListener('loadedmetadata', () => res(v.duration), { once: true });
          }),
      );
      assert.ok(duration > 10, String(duration));
      assert.equal(await page.evaluate(() => (window as unknown as { __seen: { progress: boolean } }).__seen.progress), true);
      await screenshot(page, '07-rendered');
      assert.deepEqual(app.problems, []);
    });

    test('two tabs fix the same transcript: the second save is refused as changed elsewhere, nothing is overwritten', { timeout: SLOW }, async () => {
      // Same browser profile: the second tab opens the same session.
      const other = await app.context.newPage();
      try {
        await other.goto(serve.url);
        await other.locator(tid('word')).nth(6).waitFor({ timeout: 60_000 });
        await page.reload();
        await page.locator(tid('word')).nth(6).waitFor({ timeout: 60_000 });

        await other.locator(tid('word')).nth(5).dblclick();
        await other.locator(tid('word-editor')).fill('Tabtwo');
        await other.locator(tid('word-editor')).press('Enter');
        await other.locator(`${tid('save-status')}[data-state="saved"]`).waitFor();

        await page.locator(tid('word')).nth(6).dblclick();
        await page.locator(tid('word-editor')).fill('Tabone');
        await page.locator(tid('word-editor')).press('Enter');
        const status = page.locator(`${tid('save-status')}[data-state="conflict"]`);
        await status.waitFor();
        assert.match((await status.textContent()) ?? '', /changed this transcript/);
        await screenshot(page, '12-conflict');

        await other.reload();
        await other.locator(tid('word')).nth(6).waitFor({ timeout: 60_000 });
        const words = (await other.locator(tid('word')).allTextContents()).join(' ');
        assert.match(words, /Tabtwo/);
        assert.doesNotMatch(words, /Tabone/);
      } finally {
        await other.close();
      }
    });
  });

  test('at 360 px wide (a phone) the page fits: no sideways scrolling, the drop zone and the chat usable', { timeout: SLOW }, async () => {
    const app = await openApp(browser, serve.url, { width: 360, height: 740 });
    try {
      const { page } = app;
      await page.locator(`${tid('credits')}[data-available]`).waitFor();
      assert.ok((await page.evaluate(() => document.documentElement.scrollWidth)) <= 360);
      for (const id of ['drop-zone', 'chat-input', 'chat-send', 'quick-transcribe', 'lang-switch']) assert.ok(await page.locator(tid(id)).isVisible(), id);
      await screenshot(page, '11-phone');
    } finally {
      await app.context.close();
    }
  });

  test('a PNG renamed .mp4 is refused in words that list the accepted formats (4001)', { timeout: SLOW }, async () => {
    const app = await openApp(browser, serve.url);
    try {
      const fake = join(work, 'holiday.mp4');
      // A real PNG (8-byte signature and an IHDR chunk) under a video's name.
      writeFileSync(
        fake,
        Buffer.from(
          '89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000201a0e3b7d40000000049454e44ae426082',
          'hex',
        ),
      );
      await pickFiles(app.page, [fake]);
      const err = app.page.locator(tid('upload-error'));
      await err.waitFor({ timeout: 60_000 });
      const text = (await err.textContent()) ?? '';
      assert.match(text, /holiday\.mp4/);
      assert.match(text, /mp4/);
      assert.match(text, /mp3/);
      assert.match(text, /png/);
      assert.doesNotMatch(text, /[{}]/);
      await screenshot(app.page, '08-unsupported');
    } finally {
      await app.context.close();
    }
  });

  test('switching to Chinese: html lang, the chat and the buttons in Chinese', { timeout: SLOW }, async () => {
    const app = await openApp(browser, serve.url);
    try {
      const { page } = app;
      await page.locator(tid('lang-switch')).selectOption('zh');
      await page.waitForFunction(() => document.documentElement.lang === 'zh');
      const han = /\p{Script=Han}/u;
      assert.match((await page.locator(tid('chat-send')).textContent()) ?? '', han);
      assert.match((await page.locator(tid('chat-input')).getAttribute('placeholder')) ?? '', han);
      for (const q of ['quick-transcribe', 'quick-srt', 'quick-docx', 'quick-captions', 'quick-vertical', 'quick-export'])
        assert.match((await page.locator(tid(q)).textContent()) ?? '', han, q);
      assert.match((await page.locator(tid('credits')).textContent()) ?? '', han);
      // The chat answers in Chinese too.
      await say(page, '你好');
      const reply = page.locator(`${tid('chat-message')}[data-role="assistant"]`).last();
      await page.waitForFunction(
        (sel) => /\p{Script=Han}/u.test(document.querySelector(sel)?.textContent ?? ''),
        `${tid('chat-message')}[data-role="assistant"]`,
        {
          timeout: 60_000,
        },
      );
      assert.match((await reply.textContent()) ?? '', han);
      // The choice is kept.
      await page.reload();
      await page.waitForFunction(() => document.documentElement.lang === 'zh');
      await screenshot(page, '09-chinese');
    } finally {
      await app.context.close();
    }
  });
});

describe('out of credits in the browser', () => {
  let serve: ServeProcess;
  let browser: Browser;
  before(async () => {
    // An anonymous account starts with no credits: the first paid step is refused with 2001.
    serve = await startServe(['--prices', '{"anonymousGrant":0}']);
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await stop(serve);
  });

  test('asking for a transcript without credits shows the registration link', { timeout: SLOW }, async () => {
    const app = await openApp(browser, serve.url);
    try {
      const { page } = app;
      await pickFiles(page, [SAMPLE_MP4]);
      await page.locator(`${tid('upload-item')}[data-status="done"]`).waitFor({ timeout: 60_000 });
      await say(page, 'transcribe the spoken dialogue into a text document');
      const link = page.locator(tid('register-link')).first();
      await link.waitFor({ timeout: 60_000 });
      const href = (await link.getAttribute('href')) ?? '';
      assert.match(href, /^\/register\?bind=anon_/);
      await screenshot(page, '10-no-credits');
      // The link opens the server's registration page, bound to this account.
      await link.click();
      await page.waitForURL(/\/register\?bind=/);
      assert.equal((await page.request.get(new URL(href, serve.url).toString())).status(), 200);
    } finally {
      await app.context.close();
    }
  });
});
