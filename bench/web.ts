/**
 * `npm run bench:web` (not a test): the web app as a person's browser sees it, in Debian's
 * headless chromium against a real server serving the built app (dist/web: run `npm run build:web`
 * first).
 *
 *   1. The JavaScript the first page loads, gzipped (target ≤ 200 kB).
 *   2. Time until a session with a 1-hour transcript (~10 000 words) is interactive: from
 *      navigation to the words on screen and the main thread free (target ≤ 1 s).
 *   3. Frame time while scrolling that transcript.
 *
 * The 1-hour transcript is seeded straight through the sessions domain (no model run). Figures are
 * printed with a baseline measured in the same run — the same session with a 20-word transcript —
 * so a slow machine shows as a slow baseline, not as a regression.
 */
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Page, Response } from 'playwright-core';
import { identifyUpload } from '../src/media/index.ts';
import type { Transcript, TranscriptSegment } from '../src/transcript/index.ts';
import { launchBrowser, openApp, tid } from '../test/helpers/browser.ts';
import { ROOT, SAMPLE_MP4 } from '../test/helpers/media.ts';
import { startServer } from '../test/helpers/server.ts';

const WEB_ROOT = join(ROOT, 'dist', 'web');
const SCROLL_FRAMES = 240;
const RUNS = 3;

/** A transcript of `words` words spread over `seconds`, in sentences of 12 words, segments of 3 sentences. */
function syntheticTranscript(words: number, seconds: number): Transcript {
  const vocab = 'the quick brown fox jumps over a lazy dog while seven wise owls quietly watch from old oak branches'.split(' ');
  const step = seconds / words;
  const segments: TranscriptSegment[] = [];
  const per = 36;
  for (let i = 0, id = 0; i < words; i += per, id++) {
    const ws = [];
    for (let j = i; j < Math.min(words, i + per); j++) {
      const end = (j - i + 1) % 12 === 0;
      const w = vocab[j % vocab.length]!;
      ws.push({
        word: ` ${end ? `${w}.` : w}`,
        start: Math.round(j * step * 100) / 100,
        end: Math.round((j + 0.8) * step * 100) / 100,
        probability: j % 97 === 0 ? 0.3 : 0.95,
      });
    }
    segments.push({ id, start: ws[0]!.start, end: ws.at(-1)!.end, text: ws.map((w) => w.word).join(''), words: ws });
  }
  return { language: 'en', duration: seconds, source: 'lecture.mp4', segments };
}

interface Measure {
  ttiMs: number;
  wordsInDom: number;
  frame: { medianMs: number; p95Ms: number; maxMs: number; over50: number; scrolledPx: number };
}

/** Loads the session afresh and measures time to interactive, then scrolls the transcript. */
async function measure(page: Page, base: string, sid: string): Promise<Measure> {
  await page.goto(`${base}/?fresh=${Date.now()}#session=${encodeURIComponent(sid)}`);
  // Interactive: a word is on screen, and after it two animation frames ran (the main thread was free to paint and answer).
  const ttiMs = await page.evaluate(async (sel) => {
    const word = () => document.querySelector(sel);
    while (!word()) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    return performance.now();
  }, tid('word'));
  const wordsInDom = await page.locator(tid('word')).count();
  const frame = await page.evaluate(
    async ({ sel, frames }) => {
      const first = document.querySelector(sel)!;
      let el: Element | null = first.parentElement;
      while (el && !(el.scrollHeight > el.clientHeight + 10 && /(auto|scroll)/.test(getComputedStyle(el).overflowY))) el = el.parentElement;
      const box = el ?? document.scrollingElement!;
      const gaps: number[] = [];
      let last = performance.now();
      for (let i = 0; i < frames; i++) {
        box.scrollTop += 120;
        await new Promise((r) => requestAnimationFrame(r));
        const now = performance.now();
        gaps.push(now - last);
        last = now;
      }
      gaps.sort((a, b) => a - b);
      const q = (p: number) => gaps[Math.min(gaps.length - 1, Math.floor(p * gaps.length))]!;
      return { medianMs: q(0.5), p95Ms: q(0.95), maxMs: gaps.at(-1)!, over50: gaps.filter((g) => g > 50).length, scrolledPx: box.scrollTop };
    },
    { sel: tid('word'), frames: SCROLL_FRAMES },
  );
  return { ttiMs, wordsInDom, frame };
}

async function main() {
  const srv = await startServer({}, { webRoot: WEB_ROOT });
  const browser = await launchBrowser();
  try {
    const { page, context, problems } = await openApp(browser, srv.url);

    // 1. The first page's JavaScript, as sent (gzipped here at the default level).
    const scripts: Response[] = [];
    const onResponse = (r: Response) => {
      if (r.request().resourceType() === 'script') scripts.push(r);
    };
    page.on('response', onResponse);
    await page.goto(`${srv.url}/?first=1`);
    await page.waitForLoadState('networkidle');
    page.off('response', onResponse);
    const sizes = await Promise.all(scripts.map(async (r) => gzipSync(await r.body()).length));
    const firstJs = sizes.reduce((a, b) => a + b, 0);
    const firstFiles = scripts.length;
    await page.locator('[data-testid="credits"][data-available]').waitFor();

    // The browser's own anonymous account owns the seeded sessions.
    const token = await page.evaluate(() => localStorage.getItem('vidscribe.token'));
    if (!token) throw new Error('the page did not keep a token');
    const caller = await srv.svc.accounts.authenticate(token);
    const scratch = srv.svc.blobs.scratchPath('mp4');
    copyFileSync(SAMPLE_MP4, scratch);
    const checked = await identifyUpload(scratch, 'lecture.mp4');
    const blob = await srv.svc.blobs.putFile(scratch, { ext: 'mp4' });
    const seed = async (name: string, t: Transcript) => {
      const s = await srv.svc.sessions.create(caller.accountId, { agent: 'nemo_agent', taskName: name });
      const { items } = await srv.svc.sessions.addMediaToDraft(s, [
        { name: 'lecture.mp4', kind: 'video', storeKey: blob.key, sizeBytes: blob.sizeBytes, info: checked.info },
      ]);
      await srv.svc.sessions.addTranscript({
        accountId: caller.accountId,
        sessionId: s.id,
        mediaId: items[0]!.id,
        jobId: `job_${name}`,
        transcript: t,
        text: name,
      });
      return s.id;
    };
    const small = await seed('baseline', syntheticTranscript(20, 10));
    const hour = await seed('hour', syntheticTranscript(10_000, 3600));

    // A first visit warms the lazily loaded transcript chunk and the HTTP cache; then the median of three runs each.
    await measure(page, srv.url, small);
    const median = async (sid: string) => {
      const runs: Measure[] = [];
      for (let i = 0; i < RUNS; i++) runs.push(await measure(page, srv.url, sid));
      return runs.sort((a, b) => a.ttiMs - b.ttiMs)[Math.floor(RUNS / 2)]!;
    };
    const base = await median(small);
    const big = await median(hour);

    const hourRec = (await srv.svc.sessions.transcripts(hour))[0]!;
    const body = await fetch(`${srv.url}/api/state/nemo_agent/me/${hour}/transcripts/${hourRec.id}`, { headers: { authorization: `Bearer ${token}` } });
    const transcriptBytes = (await body.arrayBuffer()).byteLength;

    const r = (x: number, y: number) => (y > 0 ? `${(x / y).toFixed(2)}×` : 'n/a');
    const kb = (n: number) => `${(n / 1024).toFixed(1)} kB`;
    console.log('bench:web — headless chromium, real server, built app (dist/web)');
    console.log(`first page JavaScript: ${kb(firstJs)} gzipped in ${firstFiles} file(s)  (target ≤ 200 kB)`);
    console.log(`the 1-hour transcript's JSON (GET …/transcripts/:tid): ${kb(transcriptBytes)}, as sent (the server does not compress)`);
    console.log(`time to interactive (median of ${RUNS}), 20-word session (baseline): ${base.ttiMs.toFixed(0)} ms, ${base.wordsInDom} words in the DOM`);
    console.log(
      `time to interactive, 1-hour session (10 000 words): ${big.ttiMs.toFixed(0)} ms, ${big.wordsInDom} words in the DOM  (${r(big.ttiMs, base.ttiMs)} baseline; target ≤ 1000 ms)`,
    );
    for (const [name, m] of [
      ['baseline', base],
      ['1-hour', big],
    ] as const) {
      console.log(
        `scrolling ${SCROLL_FRAMES} frames (${m.frame.scrolledPx} px), ${name}: median ${m.frame.medianMs.toFixed(1)} ms, p95 ${m.frame.p95Ms.toFixed(1)} ms, max ${m.frame.maxMs.toFixed(1)} ms, ${m.frame.over50} frames over 50 ms`,
      );
    }
    console.log(`scroll frame time, 1-hour vs baseline: median ${r(big.frame.medianMs, base.frame.medianMs)}, p95 ${r(big.frame.p95Ms, base.frame.p95Ms)}`);
    if (problems.length) console.log(`page problems: ${problems.join(' | ')}`);
    await context.close();
  } finally {
    await browser.close();
    await srv.close();
  }
}

await main();
