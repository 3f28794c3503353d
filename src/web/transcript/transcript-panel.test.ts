/**
 * The transcript panel's pure parts in Node: paragraphs grouped from segments, the word at a
 * playback time, search across words, uncertain-word navigation, the undo stack and the windowing
 * arithmetic. (The panel in a real browser is exercised by test/web/.)
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { SegmentView } from '../../api/views.ts';
import {
  cleanEdit,
  findMatches,
  firstMatchFrom,
  formatTimestamp,
  layoutTranscript,
  matchIndex,
  nextUncertain,
  paragraphOf,
  popEdit,
  pushEdit,
  startsOf,
  step,
  UNDO_DEPTH,
  uncertainWords,
  withWord,
  wordAt,
  type WordEdit,
} from './model.ts';
import { panelDictionaries } from './strings.ts';
import { estimateHeight, itemAt, prefixOffsets, visibleRange } from './virtual.ts';

/** A segment whose words are spread evenly over [start, end). */
function seg(id: number, start: number, end: number, text: string, extra: Partial<SegmentView> = {}, probs: number[] = []): SegmentView {
  const parts = text.split(' ');
  const d = (end - start) / parts.length;
  return {
    id,
    start,
    end,
    text: ` ${text}`,
    words: parts.map((w, i) => ({ word: ` ${w}`, start: start + i * d, end: start + (i + 1) * d, probability: probs[i] ?? 0.9 })),
    ...extra,
  };
}

describe('paragraphs', () => {
  test('segments run together until a pause, and words keep their segment address', () => {
    const { words, paragraphs } = layoutTranscript([seg(0, 0, 2, 'Hello there'), seg(1, 2.2, 4, 'how are you'), seg(2, 7, 8, 'After a pause')]);
    assert.equal(paragraphs.length, 2);
    assert.deepEqual(
      paragraphs.map((p) => [p.first, p.last, p.start]),
      [
        [0, 5, 0],
        [5, 8, 7],
      ],
    );
    assert.deepEqual(
      words.slice(4, 6).map((w) => [w.segment, w.index, w.text, w.lead, w.paragraph]),
      [
        [1, 2, 'you', ' ', 0],
        [2, 0, 'After', '', 1],
      ],
    );
  });

  test('a new paragraph after four sentences, and at every speaker change', () => {
    const sentences = [0, 1, 2, 3, 4].map((i) => seg(i, i * 2, i * 2 + 1.9, `Sentence number ${i}.`));
    assert.equal(layoutTranscript(sentences).paragraphs.length, 2);
    const talk = [seg(0, 0, 1, 'Hi', { speaker: 0 }), seg(1, 1.1, 2, 'Hello', { speaker: 1 }), seg(2, 2.1, 3, 'Yes', { speaker: 1 })];
    const { paragraphs } = layoutTranscript(talk);
    assert.deepEqual(
      paragraphs.map((p) => p.speaker),
      [0, 1],
    );
  });

  test('Chinese words keep no space; empty segments are skipped', () => {
    const zh: SegmentView = {
      id: 0,
      start: 0,
      end: 1,
      text: '你好世界',
      words: [
        { word: '你好', start: 0, end: 0.5, probability: 0.9 },
        { word: '世界', start: 0.5, end: 1, probability: 0.9 },
      ],
    };
    const { words, paragraphs } = layoutTranscript([{ id: 9, start: 0, end: 0, text: '', words: [] }, zh]);
    assert.equal(paragraphs.length, 1);
    assert.equal(words.map((w) => w.lead + w.text).join(''), '你好世界');
  });

  test('paragraphOf finds the paragraph holding a word', () => {
    const { paragraphs } = layoutTranscript([seg(0, 0, 1, 'a b'), seg(1, 5, 6, 'c d e'), seg(2, 10, 11, 'f')]);
    assert.deepEqual(
      [0, 1, 2, 4, 5].map((w) => paragraphOf(paragraphs, w)),
      [0, 0, 1, 1, 2],
    );
  });

  test('timestamps', () => {
    assert.equal(formatTimestamp(0), '00:00');
    assert.equal(formatTimestamp(75.9), '01:15');
    assert.equal(formatTimestamp(3725), '1:02:05');
  });
});

describe('the word at a time', () => {
  const { words } = layoutTranscript([seg(0, 1, 4, 'one two three'), seg(1, 10, 12, 'four five')]);
  const starts = startsOf(words);
  test('the last word that started, through the gaps between words', () => {
    assert.equal(wordAt(starts, 0.5), -1);
    assert.equal(wordAt(starts, 1), 0);
    assert.equal(wordAt(starts, 2.5), 1);
    assert.equal(wordAt(starts, 8), 2);
    assert.equal(wordAt(starts, 11.5), 4);
    assert.equal(wordAt(starts, 1e9), 4);
    assert.equal(wordAt(new Float64Array(0), 3), -1);
  });

  test('agrees with a linear scan over 10 000 words', () => {
    const many = Float64Array.from({ length: 10_000 }, (_, i) => i * 0.36 + (i % 7) * 0.01);
    for (const t of [0, 0.37, 17.3, 1800.05, 3599.99, 3600]) {
      let linear = -1;
      for (let i = 0; i < many.length; i++) if (many[i]! <= t) linear = i;
      assert.equal(wordAt(many, t), linear, `t=${t}`);
    }
  });
});

describe('search', () => {
  const { words } = layoutTranscript([seg(0, 0, 3, 'We went to New York.'), seg(1, 3, 6, 'new york, new york!'), seg(2, 6, 8, 'Newark is near')]);
  test('case and punctuation do not matter, and a match can span words', () => {
    const m = findMatches(words, 'NEW YORK');
    assert.deepEqual(m, [
      { first: 3, last: 4 },
      { first: 5, last: 6 },
      { first: 7, last: 8 },
    ]);
    assert.equal(findMatches(words, 'york,').length, 3);
    assert.deepEqual(findMatches(words, 'new').length, 4);
    assert.deepEqual(findMatches(words, '   '), []);
    assert.deepEqual(findMatches(words, '!?'), [], 'punctuation alone matches nothing');
    assert.deepEqual(findMatches(words, 'boston'), []);
  });

  test('part of a word matches, and Chinese matches across words', () => {
    assert.deepEqual(findMatches(words, 'ewar'), [{ first: 9, last: 9 }]);
    const zh = layoutTranscript([
      {
        id: 0,
        start: 0,
        end: 2,
        text: '我们去北京吧',
        words: ['我们', '去北', '京吧'].map((w, i) => ({ word: w, start: i * 0.5, end: i * 0.5 + 0.5, probability: 0.9 })),
      },
    ]).words;
    assert.deepEqual(findMatches(zh, '北京'), [{ first: 1, last: 2 }]);
  });

  test('highlight index, the first match from where the reader is, and stepping with wrap-around', () => {
    const m = findMatches(words, 'new york');
    const idx = matchIndex(words.length, m);
    assert.deepEqual([...idx.slice(2, 9)], [-1, 0, 0, 1, 1, 2, 2]);
    assert.equal(firstMatchFrom(m, 6), 1);
    assert.equal(firstMatchFrom(m, 100), 0);
    assert.equal(firstMatchFrom([], 0), -1);
    assert.equal(step(2, 3, 1), 0);
    assert.equal(step(0, 3, -1), 2);
    assert.equal(step(-1, 3, -1), 2);
    assert.equal(step(0, 0, 1), -1);
  });
});

describe('uncertain words', () => {
  const { words } = layoutTranscript([seg(0, 0, 5, 'a b c d e', {}, [0.9, 0.3, 0.95, 0.49, 0.5]), seg(1, 5, 7, 'f g', {}, [0.1, 0.99])]);
  const u = uncertainWords(words);
  test('below 0.5 is uncertain', () => assert.deepEqual(u, [1, 3, 5]));
  test('next and previous wrap around; none when there are none', () => {
    assert.equal(nextUncertain(u, -1, 1), 1);
    assert.equal(nextUncertain(u, 1, 1), 3);
    assert.equal(nextUncertain(u, 5, 1), 1);
    assert.equal(nextUncertain(u, 3, -1), 1);
    assert.equal(nextUncertain(u, 1, -1), 5);
    assert.equal(nextUncertain(u, 4, -1), 3);
    assert.equal(nextUncertain([], 0, 1), -1);
  });
});

describe('edits and undo', () => {
  const e = (n: number): WordEdit => ({ word: n, segment: 0, index: n, before: `b${n}`, after: `a${n}` });
  test('undo reverts the newest edit first, swapping before and after', () => {
    let stack = pushEdit(pushEdit([], e(1)), e(2));
    const first = popEdit(stack)!;
    assert.deepEqual(first.revert, { word: 2, segment: 0, index: 2, before: 'a2', after: 'b2' });
    stack = first.rest;
    assert.equal(popEdit(stack)!.revert.after, 'b1');
    assert.equal(popEdit([]), undefined);
  });
  test('the stack keeps the newest UNDO_DEPTH edits', () => {
    let stack: WordEdit[] = [];
    for (let i = 0; i < UNDO_DEPTH + 5; i++) stack = pushEdit(stack, e(i));
    assert.equal(stack.length, UNDO_DEPTH);
    assert.equal(stack[0]!.word, 5);
  });
  test('a typed word is one trimmed line; empty or unchanged is no edit', () => {
    assert.equal(cleanEdit('  Kubernetes ', 'Cubanetes'), 'Kubernetes');
    assert.equal(cleanEdit('new\nline', 'x'), 'new line');
    assert.equal(cleanEdit('   ', 'x'), undefined);
    assert.equal(cleanEdit('same', 'same'), undefined);
  });
  test('withWord changes one word and keeps its timing', () => {
    const { words } = layoutTranscript([seg(0, 0, 2, 'teh cat')]);
    const out = withWord(words, 0, 'the');
    assert.equal(out[0]!.text, 'the');
    assert.equal(out[0]!.start, words[0]!.start);
    assert.equal(words[0]!.text, 'teh');
  });
});

describe('windowing', () => {
  const offsets = prefixOffsets([100, 50, 200, 100]);
  test('offsets and the item at a position', () => {
    assert.deepEqual([...offsets], [0, 100, 150, 350, 450]);
    assert.equal(itemAt(offsets, 0), 0);
    assert.equal(itemAt(offsets, 149), 1);
    assert.equal(itemAt(offsets, 150), 2);
    assert.equal(itemAt(offsets, 10_000), 3);
  });
  test('only the items that reach into the viewport (plus overscan) are drawn', () => {
    assert.deepEqual(visibleRange(offsets, 120, 40, 0), { start: 1, end: 3 });
    assert.deepEqual(visibleRange(offsets, 0, 90, 0), { start: 0, end: 1 });
    assert.deepEqual(visibleRange(offsets, 120, 40, 200), { start: 0, end: 4 });
    assert.deepEqual(visibleRange(prefixOffsets([]), 0, 100, 0), { start: 0, end: 0 });
  });
  test('an estimate grows with the text and shrinks with the width', () => {
    assert.ok(estimateHeight(2000, 400) > estimateHeight(2000, 800));
    assert.ok(estimateHeight(2000, 600) > estimateHeight(200, 600));
  });
});

test('both languages have every panel string', () => {
  assert.deepEqual(Object.keys(panelDictionaries.zh).sort(), Object.keys(panelDictionaries.en).sort());
  for (const v of Object.values(panelDictionaries.zh)) assert.ok(v.trim());
});
