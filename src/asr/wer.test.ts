import assert from 'node:assert/strict';
import { test } from 'node:test';
import { normalizeForWer, wer, wordErrors } from './wer.ts';

test('normalisation: case, punctuation, numbers, Mr, apostrophes', () => {
  assert.deepEqual(normalizeForWer('Mr. Quilter, in 1813!'), ['mister', 'quilter', 'in', 'eighteen', 'thirteen']);
  assert.deepEqual(normalizeForWer('1900 2005 1905 42'), ['nineteen', 'hundred', 'two', 'thousand', 'five', 'nineteen', 'oh', 'five', 'forty', 'two']);
  assert.deepEqual(normalizeForWer('Beauty’s self-love'), ["beauty's", 'self', 'love']);
  assert.deepEqual(normalizeForWer('the 3rd P2'), ['the', 'third', 'p', 'two']);
});

test('word errors count substitutions, deletions and insertions', () => {
  assert.deepEqual(wordErrors('a b c d', 'a x c d'), { errors: 1, referenceWords: 4 });
  assert.deepEqual(wordErrors('a b c d', 'a c d'), { errors: 1, referenceWords: 4 });
  assert.deepEqual(wordErrors('a b c d', 'a b c d e f'), { errors: 2, referenceWords: 4 });
  assert.equal(wer('ASK NOT what your country', 'ask not, what your country!'), 0);
  assert.equal(wer('', ''), 0);
  assert.equal(wer('', 'hallucinated'), 1);
});
