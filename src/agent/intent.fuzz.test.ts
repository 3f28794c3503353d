/**
 * Issue 8, finding 7: the parser must take time linear in its input. It is fed generated long and
 * adversarial messages — repeats of every keyword and character its patterns use (taken from
 * intent.ts itself), alone and mixed with digits, spaces, Han numerals, letters and colons — at
 * the chat limit, and the worst of them at 1 MB directly (the route's length limit is defence in
 * depth, not the only defence). Budgets are generous: a linear parse of 1 MB takes well under
 * 0.3 s here; the quadratic patterns this replaces took 19 s for 120 kB.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { MESSAGE_MAX_CHARS } from '../api/agent-route.ts';
import { parseRequest } from './intent.ts';

const AT_LIMIT_BUDGET_MS = 200;
const MID_BUDGET_MS = 500; // 64 kB: fails fast on a quadratic pattern before the 1 MB run would hang
const MEGABYTE_BUDGET_MS = 3000; // linear: about 1 s for the worst shape (a million quote marks) on a loaded machine

const repeatTo = (unit: string, length: number) => unit.repeat(Math.ceil(length / unit.length)).slice(0, length);

function timed(message: string): number {
  const t0 = performance.now();
  parseRequest(message);
  return performance.now() - t0;
}

// Every word, run of Han characters and punctuation mark in the parser's own source: its keywords
// and the characters of its classes.
const source = readFileSync(new URL('./intent.ts', import.meta.url), 'utf8');
const KEYWORDS = [...new Set(source.match(/[A-Za-z]+|\p{Script=Han}+|[^\sA-Za-z\p{Script=Han}]/gu) ?? [])];

/** Shapes that once took quadratic time, or that exercise one pattern's repetition. */
const ADVERSARIAL = [
  // Issue 9: removals, history and questions (lists of objects, filler words, step counts).
  'remove the ',
  'captions and ',
  'take the captions and music ',
  'no subtitles ',
  '去掉字幕和',
  '把字幕',
  'undo 1 ',
  'reset the ',
  'captoins ',
  '一二三',
  '剪掉前',
  '#',
  '1',
  '1:1:1:',
  ' ',
  '1 ',
  'a一1 ',
  '1.',
  '十',
  '第',
  '前',
  '前三秒',
  '第二个',
  '一 ',
  '“',
  '‘',
  '「',
  '《',
  '"',
  "'a ",
  "' '",
  'a.mp4',
  'a.mp4+',
  '.mp4',
  'x.png ',
  '⟦',
  'clip ',
  'keep the ',
  'burn ',
  'captions ',
  'burn captions ',
  'title: ',
  'video 1 ',
  '#1 ',
  'the second video ',
  '第1个视频',
  'the audio file ',
  '1 s ',
  '1s',
  '1-',
  '1 to 2 ',
  'keep 1 to ',
  '1920x1080 ',
  '9:16 ',
  'at 1 ',
  '1%',
  'volume 1 ',
  'fade in ',
  'add music ',
  'with captions ',
  'translate into english ',
  'into a ',
  'make a ',
  '生成',
  '加字幕',
  '\n',
  '…',
  '-',
  'x',
  'Ⅻ',
  '𝟙',
];

describe('parseRequest is linear in its input', () => {
  it(`every keyword and character class repeated to the ${MESSAGE_MAX_CHARS}-character limit: each under ${AT_LIMIT_BUDGET_MS} ms`, () => {
    const slow: string[] = [];
    for (const unit of new Set([...KEYWORDS, ...ADVERSARIAL])) {
      for (const filler of ['', ' ', '1', '一', ':']) {
        const ms = timed(repeatTo(unit + filler, MESSAGE_MAX_CHARS));
        if (ms > AT_LIMIT_BUDGET_MS) slow.push(`${JSON.stringify(unit + filler)}: ${ms.toFixed(0)} ms`);
      }
    }
    assert.deepEqual(slow, []);
  });

  it('a pseudo-random mix of keywords at the limit, and at 64 kB', () => {
    let seed = 8;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 50; i++) {
      let m = '';
      while (m.length < 64_000) m += KEYWORDS[Math.floor(next() * KEYWORDS.length)]! + (next() < 0.5 ? ' ' : '');
      assert.ok(timed(m.slice(0, MESSAGE_MAX_CHARS)) < AT_LIMIT_BUDGET_MS);
      assert.ok(timed(m) < MID_BUDGET_MS, `mix #${i}`);
    }
  });

  for (const unit of ADVERSARIAL) {
    it(`${JSON.stringify(unit)} repeated to 1 MB: under ${MEGABYTE_BUDGET_MS} ms`, () => {
      const mid = timed(repeatTo(unit, 64_000));
      assert.ok(mid < MID_BUDGET_MS, `64 kB took ${mid.toFixed(0)} ms`);
      const ms = timed(repeatTo(unit, 1_000_000));
      assert.ok(ms < MEGABYTE_BUDGET_MS, `1 MB took ${ms.toFixed(0)} ms`);
    });
  }

  it('a long run of one class inside a request still parses to the request', () => {
    // The bound is on time, not on meaning: the intent around the noise is still found.
    const noise = repeatTo('一二三', 100_000);
    assert.deepEqual(
      parseRequest(`${noise} 转写成文字`).intents.map((i) => i.kind),
      ['transcribe'],
    );
    assert.deepEqual(parseRequest(`cut the first 10 seconds ${' '.repeat(100_000)}`).intents, [{ kind: 'trim', startMs: 10_000 }]);
  });
});
