/**
 * Subtitle cue building: turns word timings into readable cues that follow common
 * broadcast conventions (line length, two lines, reading speed, min/max duration,
 * frame gaps, linguistic break points). Pure: no I/O, no clock.
 */
import { speakerName } from './speakers.ts';
import type { Speaker, Transcript, TranscriptSegment } from './types.ts';

export { formatTimestamp, formatClock } from './time.ts';

/** One subtitle cue. Times in seconds (whole milliseconds), `index` counts from 1. */
export interface Cue {
  index: number;
  start: number;
  end: number;
  lines: string[];
  /** Who speaks in this cue (diarized transcripts only; a cue never holds two speakers). */
  speaker?: Speaker;
}

/** How cues show who speaks; kept apart from CueOptions, whose keys are all numeric layout limits. */
export interface CueSpeakerOptions {
  /** Open the first cue after each speaker change with "[Name] " (SRT, burned-in captions). The prefix counts towards the line length. */
  speakerPrefix?: boolean;
}

export interface CueOptions {
  /** Characters per line. 42 is the usual landscape limit; use ~28 for vertical (9:16) video. */
  maxLineChars?: number;
  /** Lines per cue. */
  maxLines?: number;
  /** Seconds a cue stays at least on screen (5/6 s ≈ 20 frames at 24 fps). */
  minDuration?: number;
  /** Seconds a cue stays at most on screen. */
  maxDuration?: number;
  /** Target reading speed, characters per second; cues are held into following silence to reach it. */
  maxCps?: number;
  /** Frame rate used for the minimum gap between cues. */
  fps?: number;
  /** Minimum gap between consecutive cues, in frames (2 lets the viewer see the change). */
  minGapFrames?: number;
  /** A silence longer than this (seconds) between two words always starts a new cue. */
  maxPause?: number;
}

export const DEFAULT_CUE_OPTIONS: Readonly<Required<CueOptions>> = {
  maxLineChars: 42,
  maxLines: 2,
  minDuration: 5 / 6,
  maxDuration: 7,
  maxCps: 17,
  fps: 25,
  minGapFrames: 2,
  maxPause: 1,
};

/** Narrow frames (9:16 shorts/reels) fit far fewer characters per line. */
export const VERTICAL_CUE_OPTIONS: Readonly<CueOptions> = { maxLineChars: 28 };

/**
 * Line length and reading speed for languages written in wide characters, from the broadcast
 * guides' (Netflix's timed-text style guides): 16 characters a line and 9 a second for Chinese,
 * 13 and 4 for Japanese, 16 and 12 for Korean. A wide character takes about two Latin ones'
 * room, so 42 of them overflowed the frame; a vertical frame takes two thirds of these lines, as
 * 28 is of 42.
 */
const WIDE_SCRIPT_CUES: Readonly<Record<string, { maxLineChars: number; maxCps: number }>> = {
  zh: { maxLineChars: 16, maxCps: 9 },
  yue: { maxLineChars: 16, maxCps: 9 },
  ja: { maxLineChars: 13, maxCps: 4 },
  ko: { maxLineChars: 16, maxCps: 12 },
};

/** The layout defaults for a transcript's language (and a vertical frame); explicit options win over them. */
export function cueDefaultsFor(language: string, o: { vertical?: boolean } = {}): CueOptions {
  const base = language.toLowerCase().split(/[-_]/)[0] ?? '';
  const wide = Object.hasOwn(WIDE_SCRIPT_CUES, base) ? WIDE_SCRIPT_CUES[base] : undefined;
  const line = wide?.maxLineChars ?? DEFAULT_CUE_OPTIONS.maxLineChars;
  const vertical = o.vertical ? Math.round((line * (VERTICAL_CUE_OPTIONS.maxLineChars ?? 28)) / DEFAULT_CUE_OPTIONS.maxLineChars) : line;
  return { maxLineChars: vertical, ...(wide ? { maxCps: wide.maxCps } : {}) };
}

/** A word ready for layout: trimmed text, sane times, and whether a space separates it from the previous word. */
interface Token {
  text: string;
  start: number;
  end: number;
  space: boolean;
  /** Speaker id, in a diarized transcript. */
  speaker?: number;
}

// Languages written without spaces between words: joining their tokens with spaces would corrupt the text.
const NO_SPACE_LANGUAGES = new Set(['zh', 'ja', 'th', 'lo', 'km', 'my', 'bo', 'yue']);

const SENTENCE_END = /[.?!…。？！]["'”’»)\]]*$/u;
const CLAUSE_END = /[,;:，；：、—–]["'”’»)\]]*$/u;
// Tokens made only of closing punctuation (some ASR engines emit "," as its own word).
const BARE_CLOSING_PUNCT = /^[.,?!;:…%)\]}"'”’»。，？！；：、]+$/u;
const CONJUNCTIONS = new Set([
  'and',
  'but',
  'or',
  'nor',
  'so',
  'yet',
  'because',
  'that',
  'which',
  'who',
  'whom',
  'whose',
  'where',
  'when',
  'while',
  'if',
  'although',
  'though',
  'unless',
  'until',
  'since',
  'whereas',
  'whether',
  'than',
  'then',
]);
// Words that bind to what follows; ending a line or cue on them strands them.
const CLINGY = new Set([
  'a',
  'an',
  'the',
  'of',
  'to',
  'in',
  'on',
  'at',
  'by',
  'for',
  'with',
  'from',
  'into',
  'my',
  'your',
  'our',
  'their',
  'his',
  'her',
  'its',
  'this',
  'these',
  'those',
  'very',
  'mr.',
  'mrs.',
  'ms.',
  'dr.',
  'st.',
]);
const ABBREVIATIONS = new Set(['mr.', 'mrs.', 'ms.', 'dr.', 'st.', 'vs.', 'etc.', 'e.g.', 'i.e.']);

const charLen = (s: string): number => Array.from(s).length;
const bare = (s: string): string => s.toLowerCase().replace(/^[^\p{L}\p{N}]+|[^\p{L}\p{N}.]+$/gu, '');

function baseLanguage(lang: string): string {
  return lang.toLowerCase().split(/[-_]/)[0] ?? '';
}

/** Words of a segment without word timings: text split up and timed in proportion to length. */
function proportionalWords(seg: TranscriptSegment, spaced: boolean): { text: string; start: number; end: number }[] {
  const pieces = spaced ? seg.text.trim().split(/\s+/).filter(Boolean) : Array.from(seg.text.replace(/\s+/g, ''));
  const weights = pieces.map((p) => charLen(p) + (spaced ? 1 : 0));
  const total = weights.reduce((a, b) => a + b, 0);
  const span = Math.max(0, seg.end - seg.start);
  let cum = 0;
  return pieces.map((p, i) => {
    const w = weights[i] ?? 1;
    const start = seg.start + (span * cum) / total;
    // The space's share of time becomes a tiny gap, so the word ends before the next begins.
    const end = seg.start + (span * (cum + w - (spaced ? 1 : 0))) / total;
    cum += w;
    return { text: (spaced ? ' ' : '') + p, start, end };
  });
}

/** Flatten a transcript into layout tokens with monotonic, finite times. */
function tokenize(t: Transcript, speakerPrefix: boolean): Token[] {
  const diarized = (t.speakers?.length ?? 0) > 0;
  const spaced = !NO_SPACE_LANGUAGES.has(baseLanguage(t.language));
  // Whisper-style words carry their own leading space; if any does, trust that signal over the language.
  const leadingSpaceSignal = t.segments.some((s) => s.words.some((w) => /^\s/.test(w.word)));
  const out: Token[] = [];
  let lastSpeaker: number | undefined;
  for (const seg of t.segments) {
    const raw =
      seg.words.length > 0
        ? seg.words.map((w) => ({ text: w.word, start: w.start, end: w.end, speaker: w.speaker ?? seg.speaker }))
        : proportionalWords(seg, spaced).map((w) => ({ ...w, speaker: seg.speaker }));
    for (const r of raw) {
      const text = r.text.trim().replace(/\s+/g, ' ');
      if (!text) continue;
      const prev = out[out.length - 1];
      const floor = prev ? prev.start : 0;
      const start = Number.isFinite(r.start) ? Math.max(r.start, floor) : (prev?.end ?? 0);
      const end = Number.isFinite(r.end) ? Math.max(r.end, start) : start;
      if (prev && BARE_CLOSING_PUNCT.test(text)) {
        // Glue stray punctuation to its word so it never opens a line.
        prev.text += text;
        prev.end = Math.max(prev.end, end);
        continue;
      }
      const space = leadingSpaceSignal ? /^\s/.test(r.text) || (spaced && out.length === 0) : spaced;
      if (!diarized) {
        out.push({ text, start, end, space });
        continue;
      }
      const speaker = r.speaker ?? 0;
      // The prefix is glued to the first word of the turn, so no line or cue can leave it on its own.
      const prefix = speakerPrefix && (lastSpeaker !== speaker || out.length === 0) ? `[${speakerName(t, speaker).replace(/\s+/g, ' ').trim()}] ` : '';
      out.push({ text: prefix + text, start, end, space, speaker });
      lastSpeaker = speaker;
    }
  }
  return out;
}

function joinTokens(tokens: readonly Token[]): string {
  return tokens.map((tk, i) => (i > 0 && tk.space ? ' ' + tk.text : tk.text)).join('');
}

/** Width in characters of tokens[a..b) as printed on one line, in O(1) via prefix sums. */
type Measure = (a: number, b: number) => number;

function measure(tokens: readonly Token[]): Measure {
  const prefix = [0];
  tokens.forEach((tk, i) => {
    prefix.push(prefix[i]! + charLen(tk.text) + (i > 0 && tk.space ? 1 : 0));
  });
  // The separator before tokens[a] belongs to the previous line, not this one.
  return (a, b) => (b <= a ? 0 : prefix[b]! - prefix[a]! - (a > 0 && tokens[a]!.space ? 1 : 0));
}

/** Fewest lines tokens[from..to) need (greedy fill is optimal for the count). A word longer than a line gets a line of its own. */
function minLines(width: Measure, from: number, to: number, maxChars: number): number {
  let lines = 0;
  let lineStart = from;
  for (let i = from; i < to; i++) {
    if (lines === 0) {
      lines = 1;
      lineStart = i;
    } else if (width(lineStart, i + 1) > maxChars) {
      lines++;
      lineStart = i;
    }
  }
  return lines;
}

/**
 * How bad it is to break between tokens[k] and tokens[k+1], judged on the text alone:
 * after sentence/clause punctuation is best, before a conjunction is good, after an article,
 * preposition or conjunction is poor (it strands a word that belongs with what follows).
 */
function textBreakPenalty(tokens: readonly Token[], k: number): number {
  const here = tokens[k];
  const next = tokens[k + 1];
  if (!here || !next) return 0;
  const word = here.text.toLowerCase();
  let p: number;
  if (SENTENCE_END.test(here.text) && !ABBREVIATIONS.has(word)) p = 0;
  else if (CLAUSE_END.test(here.text)) p = 0.5;
  else if (CONJUNCTIONS.has(bare(next.text))) p = 1;
  else p = 3;
  if (p > 0.5 && (CLINGY.has(bare(here.text)) || CONJUNCTIONS.has(bare(here.text)))) p += 3;
  // "…Garden. Tonight|": the first word of a new sentence left dangling at the end.
  const before = tokens[k - 1];
  if (p > 0.5 && before && SENTENCE_END.test(before.text)) p += 2;
  return p;
}

interface Layout {
  /** Index of the first token of each line. */
  starts: number[];
  cost: number;
}

/**
 * Lay tokens[a..b) out in as few lines as needed, balanced around the middle and preferring
 * linguistic break points over a greedy fill (which leaves a long top line and a stub below).
 */
function layout(tokens: readonly Token[], width: Measure, a: number, b: number, maxChars: number): Layout {
  const k = minLines(width, a, b, maxChars);
  if (k <= 1) return { starts: [a], cost: 0 };
  const target = width(a, b) / k;
  const lineCost = (x: number, y: number): number =>
    width(x, y) > maxChars && y - x > 1 ? Infinity : (Math.abs(width(x, y) - target) / maxChars) * 6 + (y < b ? textBreakPenalty(tokens, y - 1) : 0);
  if (k === 2) {
    // The common case, kept linear: try every split point.
    let best: Layout = { starts: [a], cost: Infinity };
    for (let m = a + 1; m < b; m++) {
      const c = lineCost(a, m) + lineCost(m, b);
      if (c < best.cost) best = { starts: [a, m], cost: c };
    }
    return best;
  }
  // General case (maxLines > 2): best[l][i] = cost of tokens[a..i) in l lines.
  const n = b - a;
  const best: number[][] = Array.from({ length: k + 1 }, () => new Array<number>(n + 1).fill(Infinity));
  const from: number[][] = Array.from({ length: k + 1 }, () => new Array<number>(n + 1).fill(-1));
  best[0]![0] = 0;
  for (let l = 1; l <= k; l++) {
    for (let y = 1; y <= n; y++) {
      for (let x = y - 1; x >= l - 1; x--) {
        const prior = best[l - 1]![x]!;
        const c = prior + lineCost(a + x, a + y);
        if (c < best[l]![y]!) {
          best[l]![y] = c;
          from[l]![y] = x;
        }
      }
    }
  }
  const starts: number[] = [];
  for (let l = k, y = n; l >= 1; l--) {
    const x = from[l]![y]!;
    starts.unshift(a + Math.max(x, 0));
    y = x;
  }
  return { starts, cost: best[k]![n]! };
}

function layoutText(tokens: readonly Token[], l: Layout, end: number): string[] {
  return l.starts.map((s, i) => joinTokens(tokens.slice(s, l.starts[i + 1] ?? end)));
}

/** Choose cue boundaries over the whole token stream by dynamic programming (best global layout, not greedy). */
function groupTokens(tokens: readonly Token[], width: Measure, o: Required<CueOptions>, mediaEnd: number): [number, number][] {
  const n = tokens.length;
  const gap = o.minGapFrames / o.fps;
  const cost = new Array<number>(n + 1).fill(Infinity);
  const from = new Array<number>(n + 1).fill(0);
  cost[0] = 0;

  const cueCost = (i: number, j: number): number => {
    const first = tokens[i]!;
    const last = tokens[j - 1]!;
    const w = width(i, j);
    let c = 1; // every cue costs something, so cues fill up instead of flickering
    const next = tokens[j];
    if (next) {
      const pause = next.start - last.end;
      let b = textBreakPenalty(tokens, j - 1);
      // A pause is a natural break even without punctuation.
      if (pause >= 0.5) b -= 1.5;
      else if (pause >= 0.25) b -= 0.75;
      c += Math.max(0, b);
    }
    const half = o.maxLineChars / 2;
    if (w < half) c += 1.5 * (1 - w / half);
    // Prefer cues whose lines can be broken well. Scored only up to two lines: the general
    // layout is cubic, too slow to run for every candidate cue of an hour-long transcript.
    if (o.maxLines <= 2) c += layout(tokens, width, i, j, o.maxLineChars).cost * 0.5;
    // Reading speed over the time this cue could stay up (until the next word, within max duration).
    const until = Math.min(first.start + o.maxDuration, next ? next.start - gap : mediaEnd);
    const cps = w / Math.max(until - first.start, o.minDuration);
    if (cps > o.maxCps) c += (cps - o.maxCps) * 0.1;
    return c;
  };

  for (let j = 1; j <= n; j++) {
    for (let i = j - 1; i >= 0; i--) {
      if (i < j - 1) {
        // Each check only gets worse as the cue grows to the left, so stop at the first failure.
        if (tokens[i + 1]!.start - tokens[i]!.end > o.maxPause) break;
        if (tokens[j - 1]!.end - tokens[i]!.start > o.maxDuration) break;
        // One speaker per cue.
        if (tokens[i]!.speaker !== tokens[i + 1]!.speaker) break;
        if (minLines(width, i, j, o.maxLineChars) > o.maxLines) break;
      }
      const c = cost[i]! + cueCost(i, j);
      if (c < cost[j]!) {
        cost[j] = c;
        from[j] = i;
      }
    }
  }
  const groups: [number, number][] = [];
  for (let j = n; j > 0; j = from[j]!) groups.unshift([from[j]!, j]);
  return groups;
}

/** The options given a value: an undefined one must not hide a language's default. */
export function definedOnly(opts: CueOptions | undefined): CueOptions {
  return Object.fromEntries(Object.entries(opts ?? {}).filter(([, v]) => v !== undefined)) as CueOptions;
}

function resolveOptions(opts: CueOptions | undefined): Required<CueOptions> {
  const o = { ...DEFAULT_CUE_OPTIONS };
  // Only our own keys: callers may pass a wider options bag (see ExportOptions).
  for (const k of Object.keys(DEFAULT_CUE_OPTIONS) as (keyof CueOptions)[]) {
    const v = opts?.[k];
    if (v === undefined) continue;
    const ok = typeof v === 'number' && Number.isFinite(v) && (k === 'minGapFrames' ? v >= 0 : v > 0);
    if (!ok) throw new RangeError(`CueOptions.${k} must be a ${k === 'minGapFrames' ? 'non-negative' : 'positive'} number, got ${String(v)}`);
    o[k] = v;
  }
  o.maxLines = Math.floor(o.maxLines);
  if (o.maxLines < 1) throw new RangeError('CueOptions.maxLines must be at least 1');
  if (o.minDuration > o.maxDuration) throw new RangeError('CueOptions.minDuration exceeds maxDuration');
  return o;
}

/**
 * Build subtitle cues from a transcript's word timings (segment text with proportional timing
 * where a segment has no words). Guarantees: cues in order, no overlaps, at least `minGapFrames`
 * between cues, duration in [minDuration, maxDuration] (only the last cue may be shorter, when the
 * media ends), every word exactly once and never split; lines exceed `maxLineChars` only when a
 * single word is longer than a line.
 */
export function buildCues(t: Transcript, opts?: CueOptions & CueSpeakerOptions): Cue[] {
  const o = resolveOptions({ ...cueDefaultsFor(t.language ?? ''), ...definedOnly(opts) });
  const tokens = tokenize(t, opts?.speakerPrefix === true);
  if (tokens.length === 0) return [];
  const lastWordEnd = tokens[tokens.length - 1]!.end;
  const mediaEnd = t.duration > 0 ? Math.max(t.duration, lastWordEnd) : Infinity;
  const width = measure(tokens);
  const groups = groupTokens(tokens, width, o, mediaEnd);

  // Timing in whole milliseconds so the printed timestamps keep the exact gaps computed here.
  const ms = (s: number): number => Math.round(s * 1000);
  const gapMs = Math.ceil((o.minGapFrames / o.fps) * 1000);
  const minMs = Math.ceil(o.minDuration * 1000);
  const maxMs = Math.floor(o.maxDuration * 1000);
  const mediaEndMs = Number.isFinite(mediaEnd) ? ms(mediaEnd) : Infinity;

  const cues: Cue[] = [];
  let prevEnd = -Infinity;
  groups.forEach(([i, j], g) => {
    const lines = layoutText(tokens, layout(tokens, width, i, j, o.maxLineChars), j);
    const chars = charLen(lines.join(' '));
    const start = Math.max(ms(tokens[i]!.start), prevEnd + gapMs, 0);
    const nextGroup = groups[g + 1];
    const nextStart = nextGroup ? ms(tokens[nextGroup[0]]!.start) : Infinity;
    // Hold the cue past the last word when it is too short or too fast to read, into the silence before the next cue.
    const wanted = Math.max(ms(tokens[j - 1]!.end), start + minMs, start + Math.ceil((chars / o.maxCps) * 1000));
    let end = Math.min(wanted, start + maxMs, nextStart - gapMs);
    // Minimum duration wins over exact sync: the next cue is pushed back instead.
    end = Math.max(end, start + minMs);
    // ...except that nothing outlives the media.
    end = Math.min(end, mediaEndMs);
    if (end <= start) end = start + minMs; // only when earlier cues were pushed past the media end
    prevEnd = end;
    const speaker = tokens[i]!.speaker;
    const cue: Cue = { index: g + 1, start: start / 1000, end: end / 1000, lines };
    if (speaker !== undefined) cue.speaker = { id: speaker, name: speakerName(t, speaker) };
    cues.push(cue);
  });
  return cues;
}
