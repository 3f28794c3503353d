/**
 * The transcript panel's pure parts, kept free of the DOM so Node's test runner checks them: words
 * flattened into one array (a global index is how the panel names a word), paragraphs grouped from
 * segments, the word at a playback time, search matches, uncertain-word navigation and the undo stack.
 */
import type { SegmentView, TranscriptView } from '../../api/views.ts';

/** One word of the transcript as the panel shows it. `segment` is the segment id, `index` its position there (the PATCH address). */
export interface PanelWord {
  segment: number;
  index: number;
  /** The word without the space Whisper puts before it. */
  text: string;
  /** The whitespace before the word ('' in Chinese and Japanese), kept so the text reads as the recogniser wrote it. */
  lead: string;
  start: number;
  end: number;
  probability: number;
  speaker?: number;
  paragraph: number;
}

/** Consecutive segments shown as one block with a timestamp; words `first` .. `last - 1` of the flat array. */
export interface Paragraph {
  first: number;
  last: number;
  start: number;
  end: number;
  speaker?: number;
}

export interface GroupingOptions {
  /** A silence at least this long (seconds) between segments starts a new paragraph. */
  pause: number;
  /** A paragraph ends at the first segment boundary after this many sentences… */
  maxSentences: number;
  /** …or after this many words (long unpunctuated speech). */
  maxWords: number;
}

export const GROUPING: GroupingOptions = { pause: 2, maxSentences: 4, maxWords: 90 };

/** Below this word probability a word is marked for review. Whisper's wrong words mostly sit under 0.5. */
export const UNCERTAIN_BELOW = 0.5;

const SENTENCE_END = /[.!?。！？…]["'”’)）]*$/u;

function splitLead(word: string): { lead: string; text: string } {
  const lead = /^\s*/u.exec(word)![0];
  return { lead: lead ? ' ' : '', text: word.slice(lead.length).trimEnd() };
}

/**
 * Words and paragraphs of a transcript. A new paragraph starts where the speaker changes (diarized
 * transcripts), after a pause, or at a segment boundary once the paragraph has enough sentences or
 * words. Segments without words are skipped: there is nothing to point at in them.
 */
export function layoutTranscript(segments: readonly SegmentView[], options: GroupingOptions = GROUPING): { words: PanelWord[]; paragraphs: Paragraph[] } {
  const words: PanelWord[] = [];
  const paragraphs: Paragraph[] = [];
  let current: Paragraph | undefined;
  let sentences = 0;
  for (const seg of segments) {
    if (seg.words.length === 0) continue;
    const speaker = seg.speaker ?? seg.words[0]?.speaker;
    const segStart = seg.words[0]!.start;
    const newParagraph =
      !current ||
      speaker !== current.speaker ||
      segStart - current.end >= options.pause ||
      sentences >= options.maxSentences ||
      current.last - current.first >= options.maxWords;
    if (newParagraph) {
      current = { first: words.length, last: words.length, start: segStart, end: segStart, ...(speaker !== undefined ? { speaker } : {}) };
      paragraphs.push(current);
      sentences = 0;
    }
    const p = current!;
    for (const [index, w] of seg.words.entries()) {
      const { lead, text } = splitLead(w.word);
      // The first word of a paragraph needs no space before it; elsewhere CJK words keep none.
      words.push({
        segment: seg.id,
        index,
        text,
        lead: p.last === p.first ? '' : lead,
        start: w.start,
        end: w.end,
        probability: w.probability,
        ...(w.speaker !== undefined ? { speaker: w.speaker } : {}),
        paragraph: paragraphs.length - 1,
      });
      p.last++;
      p.end = Math.max(p.end, w.end);
    }
    if (SENTENCE_END.test(seg.text.trim()) || SENTENCE_END.test(seg.words.at(-1)!.word.trim())) sentences++;
  }
  return { words, paragraphs };
}

/** The flat layout of a whole transcript view. */
export function layoutOf(t: Pick<TranscriptView, 'segments'>, options?: GroupingOptions) {
  return layoutTranscript(t.segments, options);
}

/** Word start times as one typed array, for the binary search below. */
export function startsOf(words: readonly PanelWord[]): Float64Array {
  const out = new Float64Array(words.length);
  for (let i = 0; i < words.length; i++) out[i] = words[i]!.start;
  return out;
}

/** The word being spoken at `time`: the last one that started at or before it, or -1 before the first. O(log n). */
export function wordAt(starts: Float64Array, time: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (starts[mid]! <= time) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

/** The paragraph whose first word is at or before `word`. O(log n). */
export function paragraphOf(paragraphs: readonly Paragraph[], word: number): number {
  let lo = 0;
  let hi = paragraphs.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (paragraphs[mid]!.first <= word) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** [h:]mm:ss, as a paragraph's timestamp. */
export function formatTimestamp(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${String(m).padStart(2, '0')}:${ss}`;
}

// ─── search ───

/** Case, width and punctuation do not matter to a search; letters and digits of any script do. */
function normaliseChar(ch: string): string {
  return /[\p{P}\p{S}]/u.test(ch) ? '' : ch.normalize('NFKC').toLocaleLowerCase();
}

export function normaliseQuery(q: string): string {
  return [...q.trim()]
    .map((ch) => (/\s/u.test(ch) ? ' ' : normaliseChar(ch)))
    .join('')
    .replace(/ +/g, ' ')
    .trim();
}

/** One search hit: words `first` .. `last` (inclusive). */
export interface Match {
  first: number;
  last: number;
}

/**
 * Every occurrence of `query` in the words, across word boundaries ("new york" finds two words,
 * "york," finds "York."), in reading order, non-overlapping. Empty query → none.
 */
export function findMatches(words: readonly PanelWord[], query: string): Match[] {
  const q = normaliseQuery(query);
  if (!q) return [];
  // One normalised string of the whole transcript, each character remembering its word.
  let text = '';
  const owner: number[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w.lead && text && !text.endsWith(' ')) {
      text += ' ';
      owner.push(i);
    }
    for (const ch of w.text) {
      const n = normaliseChar(ch);
      for (let k = 0; k < n.length; k++) owner.push(i);
      text += n;
    }
  }
  const out: Match[] = [];
  let from = 0;
  for (;;) {
    const at = text.indexOf(q, from);
    if (at < 0) break;
    out.push({ first: owner[at]!, last: owner[at + q.length - 1]! });
    from = at + q.length;
  }
  return out;
}

/** Word index → its match number (or -1), for highlighting. */
export function matchIndex(wordCount: number, matches: readonly Match[]): Int32Array {
  const out = new Int32Array(wordCount).fill(-1);
  for (const [n, m] of matches.entries()) out.fill(n, m.first, m.last + 1);
  return out;
}

/** The match to show first: the first at or after the word the reader is at, else the first. */
export function firstMatchFrom(matches: readonly Match[], word: number): number {
  if (matches.length === 0) return -1;
  const i = matches.findIndex((m) => m.last >= word);
  return Math.max(i, 0);
}

/** Next (+1) or previous (-1) of `count` items after `current`, wrapping around. */
export function step(current: number, count: number, dir: 1 | -1): number {
  if (count === 0) return -1;
  if (current < 0) return dir === 1 ? 0 : count - 1;
  return (current + dir + count) % count;
}

// ─── uncertain words ───

export function isUncertain(w: Pick<PanelWord, 'probability'>, below: number = UNCERTAIN_BELOW): boolean {
  return w.probability < below;
}

/** Indexes of the uncertain words, ascending. */
export function uncertainWords(words: readonly PanelWord[], below: number = UNCERTAIN_BELOW): number[] {
  const out: number[] = [];
  for (let i = 0; i < words.length; i++) if (isUncertain(words[i]!, below)) out.push(i);
  return out;
}

/**
 * The uncertain word after (+1) or before (-1) word `from`, wrapping around the transcript; -1 when
 * there is none. `from` -1 means "from the start".
 */
export function nextUncertain(uncertain: readonly number[], from: number, dir: 1 | -1): number {
  if (uncertain.length === 0) return -1;
  if (dir === 1) {
    for (const i of uncertain) if (i > from) return i;
    return uncertain[0]!;
  }
  for (let k = uncertain.length - 1; k >= 0; k--) if (uncertain[k]! < from) return uncertain[k]!;
  return uncertain.at(-1)!;
}

// ─── edits and undo ───

/** One retyped word: what it said before and after (trimmed text), addressed as the PATCH addresses it. */
export interface WordEdit {
  word: number;
  segment: number;
  index: number;
  before: string;
  after: string;
}

export const UNDO_DEPTH = 100;

/** The stack after an edit was accepted: newest last, the oldest dropped past UNDO_DEPTH. */
export function pushEdit(stack: readonly WordEdit[], edit: WordEdit): WordEdit[] {
  const out = [...stack, edit];
  return out.length > UNDO_DEPTH ? out.slice(out.length - UNDO_DEPTH) : out;
}

/** The edit that undoes the last one (its before and after swapped), and the stack without it; undefined when there is nothing to undo. */
export function popEdit(stack: readonly WordEdit[]): { revert: WordEdit; rest: WordEdit[] } | undefined {
  const last = stack.at(-1);
  if (!last) return undefined;
  return { revert: { ...last, before: last.after, after: last.before }, rest: stack.slice(0, -1) };
}

/** A word typed into the editor as it can be saved: one line, trimmed; undefined when empty or unchanged. */
export function cleanEdit(typed: string, current: string): string | undefined {
  const t = typed.replace(/[\p{Cc}\u2028\u2029]/gu, ' ').trim();
  return t && t !== current ? t : undefined;
}

/** The words with word `i` retyped (a new array; the word keeps its timing). */
export function withWord(words: readonly PanelWord[], i: number, text: string): PanelWord[] {
  const out = words.slice();
  out[i] = { ...out[i]!, text };
  return out;
}
