import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { TranscriptSegment, Word } from '../transcript/types.ts';
import { collapseRepeatedWords, collapseRepetitions, dropUnheardWords } from './repetition.ts';
import { splitIntoSentences } from './sentences.ts';

/** Words spoken one after another, 0.3 s each, with an optional pause before chosen indexes. */
function words(text: string, start = 0, pauses: Record<number, number> = {}): Word[] {
  let t = start;
  return text.split(' ').map((w, i) => {
    t += pauses[i] ?? 0;
    const word = { word: ` ${w}`, start: t, end: t + 0.3, probability: 0.9 };
    t += 0.3;
    return word;
  });
}

function segment(id: number, ws: Word[]): TranscriptSegment {
  return {
    id,
    start: ws[0]!.start,
    end: ws.at(-1)!.end,
    text: ws.map((w) => w.word).join(''),
    words: ws,
    tokens: [1, 2, 3],
    avg_logprob: -0.2,
    no_speech_prob: 0.1,
  };
}

describe('repetition guard', () => {
  test('a phrase looped many times collapses to one', () => {
    const looped = words('I am going to I am going to I am going to I am going to see');
    assert.equal(
      collapseRepeatedWords(looped)
        .map((w) => w.word.trim())
        .join(' '),
      'I am going to see',
    );
  });

  test('real repetition survives: "words words words words", "word" five times', () => {
    const real = words('more words words words words and word word word word word');
    assert.equal(collapseRepeatedWords(real).length, real.length);
  });

  test('a 1-word loop beyond five repeats collapses', () => {
    assert.equal(collapseRepeatedWords(words('you you you you you you you you')).length, 1);
  });

  test('a short segment repeated more than twice keeps two; long repeated segments all stay', () => {
    const thanks = [0, 1, 2, 3].map((i) => segment(i, words('Thank you.', i * 2)));
    assert.equal(collapseRepetitions(thanks).length, 2);
    const long = [0, 1, 2].map((i) => segment(i, words('he hoped there would be stew for dinner tonight', i * 5)));
    assert.equal(collapseRepetitions(long).length, 3);
  });
});

describe('sentence segments', () => {
  test('a decoded clip is split after sentence punctuation and at long pauses', () => {
    const ws = words('He hoped. There would be stew for dinner? Turnips and carrots then potatoes', 10, { 11: 1.5 });
    const out = splitIntoSentences([segment(0, ws)]);
    assert.deepEqual(
      out.map((s) => s.text.trim()),
      ['He hoped.', 'There would be stew for dinner?', 'Turnips and carrots', 'then potatoes'],
    );
    assert.deepEqual(
      out.map((s) => s.id),
      [0, 1, 2, 3],
    );
    for (const s of out) {
      assert.equal(s.start, s.words[0]!.start);
      assert.equal(s.end, s.words.at(-1)!.end);
      assert.deepEqual(s.tokens, [], 'split pieces cannot claim the parent tokens');
      assert.equal(s.avg_logprob, -0.2);
    }
    assert.deepEqual(
      out.flatMap((s) => s.words),
      ws,
      'no word lost or duplicated',
    );
  });

  test('a one-sentence segment is left as it is', () => {
    const seg = segment(0, words('just one sentence here.'));
    assert.deepEqual(splitIntoSentences([seg]), [seg]);
  });
});

describe('words the aligner heard no sound for', () => {
  const sentence = 'The river ran quietly past the old mill where the children played';
  /** The window's text decoded a second time: each word 0 s long, all stacked at the window's end. */
  const stacked = (text: string, at: number): Word[] => text.split(' ').map((w) => ({ word: ` ${w}`, start: at, end: at, probability: 0.5 }));

  test("a window's text decoded twice: the second copy, stacked 0 s long on the window's end, is dropped", () => {
    const heard = words(sentence);
    const s = segment(0, [...heard, ...stacked(sentence, 9.32)]);
    const [kept, ...rest] = collapseRepetitions([s]);
    assert.deepEqual(rest, []);
    assert.equal(kept!.text.trim(), sentence);
    assert.deepEqual(kept!.words, heard);
    assert.equal(kept!.end, heard.at(-1)!.end);
  });

  test('one or two soundless words in a row stay (a short word can come out 0 s long); three at one instant go', () => {
    const w = words('a b c d e f');
    const flat = (i: number, at: number) => ({ ...w[i]!, start: at, end: at });
    const two = [w[0]!, flat(1, 0.6), flat(2, 0.6), w[3]!];
    assert.deepEqual(dropUnheardWords(two), two);
    const three = [w[0]!, flat(1, 0.6), flat(2, 0.6), flat(3, 0.61), w[4]!];
    assert.deepEqual(dropUnheardWords(three), [w[0]!, w[4]!]);
    // Soundless but each at its own moment: not a stack.
    const spread = [flat(0, 0), flat(1, 0.3), flat(2, 0.6), flat(3, 0.9)];
    assert.deepEqual(dropUnheardWords(spread), spread);
  });

  test('a segment none of whose words was heard is dropped, and the ids are renumbered', () => {
    const first = segment(0, words('one two three four'));
    const unheard = segment(1, stacked('one two three four', 5));
    const last = segment(2, words('five six seven', 6));
    const kept = collapseRepetitions([first, unheard, last]);
    assert.deepEqual(
      kept.map((s) => [s.id, s.text.trim()]),
      [
        [0, 'one two three four'],
        [1, 'five six seven'],
      ],
    );
  });

  test('a stack at the start moves the segment start to the first word heard', () => {
    const heard = words('five six seven', 2);
    const [kept] = collapseRepetitions([{ ...segment(0, [...stacked('x y z', 0), ...heard]), start: 0 }]);
    assert.equal(kept!.start, 2);
    assert.equal(kept!.text.trim(), 'five six seven');
  });
});
