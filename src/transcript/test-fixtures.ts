/**
 * Test-only helpers: realistic Whisper-like transcripts built from a script, so tests can
 * vary speaking rate, pauses and missing word timings without hand-typing hundreds of numbers.
 */
import assert from 'node:assert/strict';
import { DEFAULT_CUE_OPTIONS, type CueOptions } from './cues.ts';
import type { Transcript, TranscriptSegment, Word } from './types.ts';

export interface Line {
  text: string;
  /** Speaking rate in characters per second (typical speech ~14, a fast speaker 25+). */
  cps?: number;
  /** Silence after this segment, seconds. */
  pauseAfter?: number;
  /** Drop the word timings (forces the proportional fallback). */
  noWords?: boolean;
}

/** Small deterministic PRNG (mulberry32) so fixtures are realistic yet reproducible. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const r3 = (n: number): number => Math.round(n * 1000) / 1000;

/** Speak the lines one after another: one segment per line, Whisper-style words with a leading space. */
export function speak(lines: Line[], opts: { start?: number; tail?: number; language?: string; source?: string; seed?: number } = {}): Transcript {
  const rand = rng(opts.seed ?? 1);
  let t = opts.start ?? 0.5;
  const segments: TranscriptSegment[] = lines.map((line, id) => {
    const cps = line.cps ?? 14;
    const words: Word[] = line.text
      .split(/\s+/)
      .filter(Boolean)
      .map((w) => {
        // Word length drives its duration, with ±15% jitter and a short breath between words.
        const dur = ((w.length + 1) / cps) * (0.85 + rand() * 0.3);
        const start = t;
        const end = t + dur * 0.88;
        t += dur;
        return { word: ' ' + w, start: r3(start), end: r3(end), probability: r3(0.6 + rand() * 0.39) };
      });
    const seg: TranscriptSegment = {
      id,
      start: words[0]!.start,
      end: words[words.length - 1]!.end,
      text: ' ' + line.text,
      words: line.noWords ? [] : words,
    };
    t += line.pauseAfter ?? 0.3;
    return seg;
  });
  const last = segments[segments.length - 1];
  return {
    language: opts.language ?? 'en',
    duration: r3((last?.end ?? 0) + (opts.tail ?? 0.3)),
    source: opts.source,
    segments,
  };
}

/** About a minute of a community meeting: normal pace, run-on sentence, long pauses, a very fast speaker, a huge word, heavy punctuation, a segment without word timings. */
export const MEETING_SCRIPT: Line[] = [
  { text: 'Good evening, everyone, and welcome to the annual meeting of the Riverside Community Garden.', pauseAfter: 0.4 },
  { text: "Tonight we have a lot to cover, so let's get started.", pauseAfter: 0.3 },
  {
    text: 'The committee spent most of the spring looking at ways to expand the north beds without losing the paths that the older members rely on every single day of the week',
    pauseAfter: 1.5,
  },
  { text: 'Okay.', pauseAfter: 0.9 },
  {
    text: 'So basically what happened was the water main burst on Tuesday and nobody told us until Thursday, which meant the seedlings sat in two inches of mud for two whole days and we lost almost everything in the greenhouse.',
    cps: 28,
    pauseAfter: 3.2,
  },
  { text: 'The soil report mentioned Pneumonoultramicroscopicsilicovolcanoconiosis, which is not a garden problem at all.', pauseAfter: 0.5 },
  { text: "Questions? Comments? Let's hear them now, because we are running short on time.", noWords: true, pauseAfter: 2.5 },
  { text: 'Yes: compost, mulch, seeds; tools, gloves, and hoses! Who volunteers? Anyone? Great.', cps: 16, pauseAfter: 0.6 },
  { text: 'Thanks.', pauseAfter: 0 },
];

export const meeting = (): Transcript => speak(MEETING_SCRIPT, { source: 'media/Riverside Garden Meeting.mp4', seed: 7 });

/** Every word of the transcript in order, as a subtitle should show them (timed words, else segment text). */
export function spokenWords(t: Transcript): string[] {
  return t.segments.flatMap((s) => (s.words.length ? s.words.map((w) => w.word.trim()) : s.text.trim().split(/\s+/)).filter(Boolean));
}

const EPS = 1e-6;
const chars = (s: string): number => Array.from(s).length;

/** A cue as any parser sees it: times in seconds and its text lines. */
export interface PlainCue {
  start: number;
  end: number;
  lines: string[];
}

/**
 * The subtitle rules every exporter's cues must obey (shared with the export tests).
 * `mediaEnd` lets the last cue be shorter than the minimum when the media ends.
 */
export function assertCueRules(cues: readonly PlainCue[], words: readonly string[], opts: CueOptions & { mediaEnd: number }): void {
  const o = { ...DEFAULT_CUE_OPTIONS, ...opts };
  const gap = o.minGapFrames / o.fps;
  assert.ok(cues.length > 0, 'no cues');
  cues.forEach((c, i) => {
    const where = `cue ${i + 1} ${JSON.stringify(c.lines)}`;
    assert.ok(c.lines.length >= 1 && c.lines.length <= o.maxLines, `${where}: ${c.lines.length} lines`);
    for (const line of c.lines) {
      assert.ok(line.trim() === line && line.length > 0, `${where}: empty or padded line`);
      // Only a single word longer than a line may overflow it (never split inside a word).
      assert.ok(chars(line) <= o.maxLineChars || !line.includes(' '), `${where}: line of ${chars(line)} chars > ${o.maxLineChars}`);
    }
    const dur = c.end - c.start;
    assert.ok(dur <= o.maxDuration + EPS, `${where}: ${dur.toFixed(3)} s > max`);
    const isLastAtMediaEnd = i === cues.length - 1 && Math.abs(c.end - opts.mediaEnd) < 0.002;
    assert.ok(dur >= o.minDuration - 0.001 || isLastAtMediaEnd, `${where}: ${dur.toFixed(3)} s < min`);
    const prev = cues[i - 1];
    if (prev) assert.ok(c.start - prev.end >= gap - EPS, `${where}: gap ${(c.start - prev.end).toFixed(3)} s < ${gap} s`);
  });
  // Every word, once, in order: joining the lines gives back the word sequence exactly.
  const shown = cues
    .flatMap((c) => c.lines)
    .join(' ')
    .split(' ');
  assert.deepEqual(shown, [...words]);
}
