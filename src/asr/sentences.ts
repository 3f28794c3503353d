import type { TranscriptSegment, Word } from '../transcript/types.ts';
import { joinWords } from './repetition.ts';

/** A pause this long between two words starts a new segment even mid-sentence. */
export const SEGMENT_PAUSE_SEC = 1.0;
/** A segment without sentence punctuation is still cut after this many words. */
export const SEGMENT_MAX_WORDS = 40;

const SENTENCE_END = /[.?!。？！…]["')\]」』]*$/;

/**
 * The worker decodes whole clips of up to 30 s, so one decoded segment can hold several
 * sentences. Users read transcripts by sentence (TXT paragraphs, JSON segments), so segments are
 * split after sentence punctuation and at long pauses, using the word timings. A split piece
 * keeps its parent's decoder statistics; its `tokens` are left empty, since Whisper's tokens
 * cannot be apportioned to the pieces exactly.
 */
export function splitIntoSentences(segments: readonly TranscriptSegment[]): TranscriptSegment[] {
  const out: TranscriptSegment[] = [];
  for (const seg of segments) {
    const pieces = sentencePieces(seg.words);
    if (pieces.length <= 1) {
      out.push(seg);
      continue;
    }
    for (const words of pieces) {
      out.push({
        ...seg,
        start: words[0]!.start,
        end: words.at(-1)!.end,
        text: joinWords(words),
        words,
        tokens: [],
      });
    }
  }
  return out.map((s, id) => ({ ...s, id }));
}

function sentencePieces(words: readonly Word[]): Word[][] {
  const pieces: Word[][] = [];
  let current: Word[] = [];
  for (const [i, w] of words.entries()) {
    current.push(w);
    const next = words[i + 1];
    const endsSentence = SENTENCE_END.test(w.word.trim());
    const pause = next !== undefined && next.start - w.end >= SEGMENT_PAUSE_SEC;
    if (next !== undefined && (endsSentence || pause || current.length >= SEGMENT_MAX_WORDS)) {
      pieces.push(current);
      current = [];
    }
  }
  if (current.length) pieces.push(current);
  return pieces;
}
