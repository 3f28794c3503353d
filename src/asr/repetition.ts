import type { TranscriptSegment, Word } from '../transcript/types.ts';

/**
 * Whisper's best-known failure is a loop: the same phrase decoded again and again over noise or
 * silence. Real speech repeats too ("words words words"), so only loops that real speech almost
 * never makes are collapsed: a phrase of 3+ words said 3+ times in a row, or a 1–2 word phrase
 * said more than 5 times in a row, and the same short segment ("Thank you.") more than twice in
 * a row. Long segments may repeat for real (a chorus, a rerun announcement), so they are kept.
 */
export const SHORT_SEGMENT_MAX_WORDS = 6;
export const LONG_PHRASE_MIN_WORDS = 3;
export const LONG_PHRASE_MAX_REPEATS = 2;
export const SHORT_PHRASE_MAX_REPEATS = 5;
const MAX_PHRASE_WORDS = 12;

const norm = (w: string) => w.toLowerCase().replace(/[^\p{L}\p{N}']/gu, '');

/** Returns the words with runaway repeated phrases reduced to a single occurrence. */
export function collapseRepeatedWords(words: readonly Word[]): Word[] {
  const out: Word[] = [];
  const keys = words.map((w) => norm(w.word));
  let i = 0;
  while (i < words.length) {
    let collapsedTo = -1;
    for (let n = 1; n <= MAX_PHRASE_WORDS && i + n * 2 <= words.length; n++) {
      let reps = 1;
      while (i + (reps + 1) * n <= words.length && samePhrase(keys, i, i + reps * n, n)) reps++;
      const limit = n >= LONG_PHRASE_MIN_WORDS ? LONG_PHRASE_MAX_REPEATS : SHORT_PHRASE_MAX_REPEATS;
      if (reps > limit && keys.slice(i, i + n).some(Boolean)) {
        collapsedTo = i + reps * n;
        out.push(...words.slice(i, i + n));
        break;
      }
    }
    if (collapsedTo >= 0) {
      i = collapsedTo;
    } else {
      out.push(words[i]!);
      i++;
    }
  }
  return out;
}

function samePhrase(keys: string[], a: number, b: number, n: number): boolean {
  for (let k = 0; k < n; k++) if (keys[a + k] !== keys[b + k]) return false;
  return true;
}

/** Longest a word may last and still count as no sound (the aligner's step is 20 ms). */
const SOUNDLESS_SEC = 0.02;
/** Words in a row, each soundless and all at one instant, that are dropped. */
export const UNHEARD_RUN_MIN_WORDS = 3;

/**
 * Drops words the aligner found no sound for. Whisper now and then decodes a window's whole text
 * a second time; its words then line up with nothing, and the aligner stacks each of them, 0 s
 * long, on one instant (the window's end). A word takes time to say, so 3 or more words in a row
 * at one instant were not heard. Over the English, other-language and synthetic items, and their
 * copies shifted by a few ms (bench:asr --shifts), 3 such runs with base, of 9, 10 and 22 words,
 * each a repeat of its window's text; no other run of 2 or more among 6 559 words.
 */
export function dropUnheardWords(words: readonly Word[]): Word[] {
  const out: Word[] = [];
  let i = 0;
  while (i < words.length) {
    let j = i;
    while (j < words.length && soundless(words[j]!) && Math.abs(words[j]!.start - words[i]!.start) <= SOUNDLESS_SEC) j++;
    if (j - i >= UNHEARD_RUN_MIN_WORDS) {
      i = j;
      continue;
    }
    out.push(words[i]!);
    i++;
  }
  return out;
}

const soundless = (w: Word) => w.end - w.start <= SOUNDLESS_SEC;

/** Applies the guards to decoded segments; ids are renumbered from 0. */
export function collapseRepetitions(segments: readonly TranscriptSegment[]): TranscriptSegment[] {
  const kept: TranscriptSegment[] = [];
  let run = 0;
  for (const s of segments) {
    const prev = kept.at(-1);
    const text = normText(s.text);
    const short = text !== '' && text.split(' ').length <= SHORT_SEGMENT_MAX_WORDS;
    const same = short && prev !== undefined && normText(prev.text) === text;
    run = same ? run + 1 : 0;
    if (same && run >= 2) continue; // third identical segment in a row and beyond
    if (s.words.length === 0) {
      kept.push(s);
      continue;
    }
    const heard = dropUnheardWords(s.words);
    if (heard.length === 0) continue; // not one word of it was heard
    const words = collapseRepeatedWords(heard);
    if (words.length === s.words.length) {
      kept.push(s);
    } else {
      kept.push({ ...s, words, text: joinWords(words), start: Math.max(s.start, words[0]!.start), end: Math.min(s.end, words.at(-1)!.end) });
    }
  }
  return kept.map((s, id) => ({ ...s, id }));
}

function normText(t: string): string {
  return t.split(/\s+/).map(norm).filter(Boolean).join(' ');
}

/** Whisper words carry their own leading space, so joining them restores the text. */
export function joinWords(words: readonly Word[]): string {
  return words.map((w) => w.word).join('');
}
