import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildCues, cueDefaultsFor, DEFAULT_CUE_OPTIONS, VERTICAL_CUE_OPTIONS, formatTimestamp, formatClock, type Cue, type CueOptions } from './cues.ts';
import { assertCueRules, meeting, rng, speak, spokenWords, type Line, type PlainCue } from './test-fixtures.ts';
import type { Transcript } from './types.ts';

const EPS = 1e-6;
const chars = (s: string): number => Array.from(s).length;

const plain = (cues: readonly Cue[]): PlainCue[] => cues.map(({ start, end, lines }) => ({ start, end, lines }));

/** Map each cue to the word timings it shows (null for words of a segment without timings). */
function wordsPerCue(t: Transcript, cues: readonly Cue[]): ({ start: number; end: number } | null)[][] {
  const timed = t.segments.flatMap((s) =>
    s.words.length
      ? s.words
      : s.text
          .trim()
          .split(/\s+/)
          .map(() => null),
  );
  assert.equal(timed.length, spokenWords(t).length);
  let k = 0;
  return cues.map((c) => {
    const n = c.lines.join(' ').split(' ').length;
    const ws = timed.slice(k, k + n);
    k += n;
    return ws;
  });
}

describe('buildCues on a realistic minute of speech', () => {
  const t = meeting();
  const words = spokenWords(t);

  test('default (landscape) cues obey the subtitle rules', () => {
    const cues = buildCues(t);
    assertCueRules(plain(cues), words, { mediaEnd: t.duration });
    assert.deepEqual(
      cues.map((c) => c.index),
      cues.map((_, i) => i + 1),
    );
    // Greedy two-line packing would need far fewer cues; far more means the layout is fragmenting.
    const totalChars = words.join(' ').length;
    assert.ok(cues.length >= Math.ceil(totalChars / 84) && cues.length <= Math.ceil(totalChars / 30), `${cues.length} cues`);
  });

  test('vertical video (28 chars a line) obeys the rules and needs more cues', () => {
    const landscape = buildCues(t);
    const vertical = buildCues(t, VERTICAL_CUE_OPTIONS);
    assertCueRules(plain(vertical), words, { ...VERTICAL_CUE_OPTIONS, mediaEnd: t.duration });
    assert.ok(vertical.length > landscape.length);
    assert.ok(vertical.flatMap((c) => c.lines).every((l) => chars(l) <= 28 || !l.includes(' ')));
  });

  test('a word longer than a line sits alone on its line, unbroken', () => {
    for (const opts of [{}, VERTICAL_CUE_OPTIONS]) {
      const lines = buildCues(t, opts).flatMap((c) => c.lines);
      assert.ok(lines.includes('Pneumonoultramicroscopicsilicovolcanoconiosis,'), JSON.stringify(lines));
    }
  });

  test('no cue spans a silence longer than maxPause', () => {
    for (const maxPause of [1, 0.35]) {
      const cues = buildCues(t, { maxPause });
      for (const ws of wordsPerCue(t, cues)) {
        for (let i = 1; i < ws.length; i++) {
          const [a, b] = [ws[i - 1], ws[i]];
          if (a && b) assert.ok(b.start - a.end <= maxPause + EPS, `${b.start - a.end} s pause inside a cue`);
        }
      }
    }
    // The 1.5 s pause after "week" ends a cue in both layouts.
    for (const opts of [{}, VERTICAL_CUE_OPTIONS]) {
      assert.ok(buildCues(t, opts).some((c) => c.lines.at(-1)!.endsWith('day of the week')));
    }
  });

  test('reading speed: a cue above maxCps is only one that could not be held longer', () => {
    const o = DEFAULT_CUE_OPTIONS;
    const gap = o.minGapFrames / o.fps;
    const cues = buildCues(t);
    let fast = 0;
    cues.forEach((c, i) => {
      const cps = chars(c.lines.join(' ')) / (c.end - c.start);
      if (cps <= o.maxCps + 0.05) return;
      fast++;
      const next = cues[i + 1];
      const limit = Math.min(c.start + o.maxDuration, next ? next.start - gap : t.duration);
      assert.ok(c.end >= limit - 0.002, `cue ${i + 1} at ${cps.toFixed(1)} cps ends at ${c.end} before its limit ${limit}`);
    });
    // The fast speaker (28 cps) cannot be slowed down: the fixture must actually exercise this.
    assert.ok(fast > 0);
  });

  test('cue times follow the words: starts at its first word (or just after the previous cue)', () => {
    const cues = buildCues(t);
    const gap = 0.08;
    wordsPerCue(t, cues).forEach((ws, i) => {
      const c = cues[i]!;
      const first = ws[0];
      if (!first) return; // the segment without word timings
      const prevEnd = cues[i - 1]?.end ?? -Infinity;
      assert.ok(Math.abs(c.start - Math.max(first.start, prevEnd + gap)) < 0.002, `cue ${i + 1} start ${c.start} vs word ${first.start}`);
    });
  });
});

describe('buildCues break points and line balance', () => {
  test('a too-long sentence is split at punctuation or before a conjunction, not greedily', () => {
    const text = 'We planted tomatoes, peppers and beans in the north beds this spring because the south side floods every year.';
    const t = speak([{ text }]);
    const cues = buildCues(t);
    assert.equal(cues.length, 2, JSON.stringify(cues));
    const first = cues[0]!.lines.join(' ');
    const next = cues[1]!.lines[0]!.split(' ')[0]!;
    // Greedy filling of 2 x 42 characters would end the first cue on "...because the".
    assert.ok(/[,.]$/.test(first) || ['and', 'because'].includes(next), `break between "${first}" and "${next}"`);
    assert.ok(!/\b(the|because)$/.test(first));
  });

  test('two lines are balanced near the middle and never end on a preposition', () => {
    const t = speak([{ text: 'I think that the most important thing for all of us here is to keep going.' }]);
    const [cue, ...rest] = buildCues(t);
    assert.equal(rest.length, 0);
    const [l1, l2] = cue!.lines;
    assert.ok(l1 && l2, JSON.stringify(cue));
    assert.ok(Math.abs(l1.length - l2.length) <= 10, JSON.stringify(cue!.lines));
    assert.ok(!/\b(for|of|the)$/.test(l1));
  });

  test('lines break after punctuation when it is close to the middle', () => {
    const t = speak([{ text: 'We built the first prototype in a garage, and it barely worked at all.' }]);
    assert.deepEqual(buildCues(t)[0]!.lines, ['We built the first prototype in a garage,', 'and it barely worked at all.']);
  });

  test('short text stays on one line', () => {
    const t = speak([{ text: 'Good morning to you all.' }]);
    assert.deepEqual(buildCues(t)[0]!.lines, ['Good morning to you all.']);
  });

  test('maxLines 1 gives single-line cues', () => {
    const t = meeting();
    const cues = buildCues(t, { maxLines: 1 });
    assertCueRules(plain(cues), spokenWords(t), { maxLines: 1, mediaEnd: t.duration });
  });

  test('maxLines 3 uses the general layout and still obeys the rules', () => {
    const t = meeting();
    const cues = buildCues(t, { maxLines: 3, maxLineChars: 28 });
    assertCueRules(plain(cues), spokenWords(t), { maxLines: 3, maxLineChars: 28, mediaEnd: t.duration });
    assert.ok(cues.some((c) => c.lines.length === 3));
  });
});

describe('buildCues timing', () => {
  test('a lone short word is held for the minimum duration, starting with the word', () => {
    const t = speak([{ text: 'Right.', pauseAfter: 2 }, { text: 'Now the next part of the talk begins here.' }]);
    const [first] = buildCues(t);
    assert.equal(first!.start, t.segments[0]!.words[0]!.start);
    assert.ok(first!.end - first!.start >= 5 / 6 - 0.001);
  });

  test('a quick phrase before silence is held until it can be read at 17 cps', () => {
    const t = speak([{ text: "Right, let's go, everybody, quickly now.", cps: 40, pauseAfter: 4 }, { text: 'Next.' }]);
    const [c] = buildCues(t);
    const n = chars(c!.lines.join(' '));
    const spoken = t.segments[0]!.end - t.segments[0]!.start;
    assert.ok(spoken < n / 17, 'fixture must be spoken faster than 17 cps');
    assert.ok(c!.end - c!.start >= n / 17 - 0.001, `${c!.end - c!.start} s for ${n} chars`);
  });

  test('the hold into silence stops short of the next cue and of maxDuration', () => {
    const t = speak([{ text: 'Right, let us go, everybody, quickly now, come on.', cps: 40, pauseAfter: 0.6 }, { text: 'Next thing.' }]);
    const cues = buildCues(t, { maxCps: 5, maxDuration: 2.5 });
    const [a, b] = cues;
    assert.ok(b!.start - a!.end >= 0.08 - EPS);
    assert.ok(a!.end - a!.start <= 2.5 + EPS);
    assert.ok(a!.end >= b!.start - 0.08 - 0.002 || a!.end - a!.start >= 2.5 - 0.002, 'held as long as allowed');
  });

  test('gap follows fps: 2 frames at 10 fps is 0.2 s', () => {
    const t = meeting();
    const cues = buildCues(t, { fps: 10 });
    assertCueRules(plain(cues), spokenWords(t), { fps: 10, mediaEnd: t.duration });
    assert.ok(cues.slice(1).every((c, i) => c.start - cues[i]!.end >= 0.2 - EPS));
    // ...and the default really is tighter somewhere, so the option is doing something.
    const d = buildCues(t);
    assert.ok(d.slice(1).some((c, i) => c.start - d[i]!.end < 0.2));
  });

  test('the last cue may be cut short by the end of the media', () => {
    const t = speak([{ text: 'Hello there friends and neighbours.', pauseAfter: 0.5 }, { text: 'Bye.' }], { tail: 0.05 });
    const cues = buildCues(t);
    const last = cues.at(-1)!;
    assert.ok(last.end <= t.duration + EPS);
    assertCueRules(plain(cues), spokenWords(t), { mediaEnd: t.duration });
  });

  test('abutting and overlapping word timings still give separated cues', () => {
    // ASR words often share boundaries or overlap slightly; cues must not.
    const words = Array.from({ length: 60 }, (_, i) => ({ word: ` word${i}${i % 9 === 8 ? '.' : ''}`, start: i * 0.3, end: i * 0.3 + 0.35, probability: 0.9 }));
    const t: Transcript = { language: 'en', duration: 18.5, segments: [{ id: 0, start: 0, end: 18.05, text: words.map((w) => w.word).join(''), words }] };
    assertCueRules(
      plain(buildCues(t)),
      words.map((w) => w.word.trim()),
      { mediaEnd: t.duration },
    );
  });

  test('random transcripts always satisfy the rules (property check over seeds)', () => {
    const vocab = ['the', 'a', 'garden', 'water,', 'and', 'because', 'tomorrow.', 'we', 'extraordinarily', 'it', 'is?', 'so', 'yes!', 'Mississippi', 'x'];
    for (let seed = 1; seed <= 25; seed++) {
      const r = rng(seed);
      const lines: Line[] = Array.from({ length: 4 + Math.floor(r() * 8) }, () => ({
        text: Array.from({ length: 1 + Math.floor(r() * 25) }, () => vocab[Math.floor(r() * vocab.length)]!).join(' '),
        cps: 8 + r() * 30,
        pauseAfter: r() < 0.3 ? r() * 3 : r() * 0.4,
        noWords: r() < 0.15,
      }));
      const t = speak(lines, { seed, tail: r() });
      const opts: CueOptions = r() < 0.5 ? {} : { maxLineChars: 20 + Math.floor(r() * 30), fps: [24, 25, 30, 60][seed % 4]! };
      assertCueRules(plain(buildCues(t, opts)), spokenWords(t), { ...opts, mediaEnd: t.duration });
    }
  });
});

describe('buildCues input handling', () => {
  test('segments without word timings are timed proportionally within the segment', () => {
    const t = speak([{ text: 'Alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma.', noWords: true }]);
    const seg = t.segments[0]!;
    const cues = buildCues(t);
    assertCueRules(plain(cues), spokenWords(t), { mediaEnd: t.duration });
    assert.equal(cues[0]!.start, seg.start);
    assert.ok(cues.at(-1)!.end <= t.duration + EPS);
    assert.ok(cues.every((c) => c.start >= seg.start && c.start < seg.end));
  });

  test('punctuation emitted as separate words is glued to the word before', () => {
    const w = (word: string, start: number) => ({ word, start, end: start + 0.3, probability: 1 });
    const t: Transcript = {
      language: 'en',
      duration: 3,
      segments: [{ id: 0, start: 0, end: 2, text: 'Hello, world.', words: [w(' Hello', 0), w(',', 0.3), w(' world', 0.6), w('.', 0.9)] }],
    };
    assert.deepEqual(buildCues(t)[0]!.lines, ['Hello, world.']);
  });

  test('languages without spaces are not spaced out; trimmed English words are', () => {
    const w = (word: string, i: number) => ({ word, start: i * 0.3, end: i * 0.3 + 0.25, probability: 1 });
    const zh: Transcript = { language: 'zh', duration: 2, segments: [{ id: 0, start: 0, end: 1, text: '你好世界。', words: ['你好', '世界', '。'].map(w) }] };
    assert.deepEqual(buildCues(zh)[0]!.lines, ['你好世界。']);
    const en: Transcript = { language: 'en', duration: 2, segments: [{ id: 0, start: 0, end: 1, text: 'Hello world', words: ['Hello', 'world'].map(w) }] };
    assert.deepEqual(buildCues(en)[0]!.lines, ['Hello world']);
  });

  test('Chinese lines hold at most 16 characters, Japanese 13 (42 overflowed the frame); an explicit length still wins', () => {
    // 60 two-character words, 0.25 s each: a sentence of 120 characters read at speaking pace.
    const text = '我们今天讨论城市交通问题以及未来发展方向大家意见不同但是目标一致希望更好生活'.repeat(3);
    const pairs = Array.from({ length: Array.from(text).length / 2 }, (_, i) =>
      Array.from(text)
        .slice(2 * i, 2 * i + 2)
        .join(''),
    );
    const words = pairs.map((word, i) => ({ word, start: i * 0.25, end: i * 0.25 + 0.24, probability: 1 }));
    const of = (language: string): Transcript => ({ language, duration: 20, segments: [{ id: 0, start: 0, end: 15, text, words }] });
    const longest = (cues: readonly Cue[]) => Math.max(...cues.flatMap((c) => c.lines.map(chars)));
    const zh = buildCues(of('zh'));
    assert.ok(longest(zh) <= 16 && longest(zh) >= 12, `zh: ${longest(zh)}`);
    assert.equal(zh.flatMap((c) => c.lines).join(''), text, 'every character once, in order');
    assert.ok(longest(buildCues(of('ja'))) <= 13, 'ja');
    assert.ok(longest(buildCues(of('zh-TW'))) <= 16, 'a region does not change the script');
    assert.ok(longest(buildCues(of('zh'), { maxLineChars: 30 })) > 16, 'an explicit length wins');
    assert.ok(longest(buildCues(of('zh'), { maxLineChars: undefined })) <= 16, 'an undefined one does not');
    assert.deepEqual(cueDefaultsFor('zh', { vertical: true }), { maxLineChars: 11, maxCps: 9 });
    assert.deepEqual(cueDefaultsFor('en', { vertical: true }), { maxLineChars: 28 });
    assert.deepEqual(cueDefaultsFor('en'), { maxLineChars: 42 });
  });

  test('empty transcripts give no cues', () => {
    assert.deepEqual(buildCues({ language: 'en', duration: 0, segments: [] }), []);
    assert.deepEqual(buildCues({ language: 'en', duration: 5, segments: [{ id: 0, start: 0, end: 1, text: '  ', words: [] }] }), []);
  });

  test('invalid options are rejected', () => {
    const t = meeting();
    assert.throws(() => buildCues(t, { maxLineChars: 0 }), RangeError);
    assert.throws(() => buildCues(t, { fps: Number.NaN }), RangeError);
    assert.throws(() => buildCues(t, { minDuration: 8, maxDuration: 7 }), RangeError);
    assert.throws(() => buildCues(t, { maxPause: -1 }), RangeError);
    // A zero gap is a legitimate choice (back-to-back cues), and then cues may touch.
    const touching = buildCues(t, { minGapFrames: 0 });
    assertCueRules(plain(touching), spokenWords(t), { minGapFrames: 0, mediaEnd: t.duration });
  });
});

describe('timestamps', () => {
  test('formatTimestamp', () => {
    assert.equal(formatTimestamp(0, ','), '00:00:00,000');
    assert.equal(formatTimestamp(3661.5, ','), '01:01:01,500');
    assert.equal(formatTimestamp(3661.5, '.'), '01:01:01.500');
    assert.equal(formatTimestamp(59.9996, ','), '00:01:00,000');
    assert.equal(formatTimestamp(1.0005, '.'), '00:00:01.001');
    assert.equal(formatTimestamp(-3, ','), '00:00:00,000');
    assert.equal(formatTimestamp(100 * 3600, '.'), '100:00:00.000');
  });

  test('formatClock truncates to the second', () => {
    assert.equal(formatClock(0), '00:00:00');
    assert.equal(formatClock(4.9), '00:00:04');
    assert.equal(formatClock(3725), '01:02:05');
    assert.equal(formatClock(Number.NaN), '00:00:00');
  });
});
