/**
 * Speakers on a transcript: merging diarization turns into the words and segments, and naming
 * the voices. Pure functions; the diarization itself runs in the ASR worker.
 */
import { ErrorCode, VidscribeError } from '../shared/errors.ts';
import type { Speaker, Transcript, TranscriptSegment, Word } from './types.ts';

/** One stretch of one voice, as diarization reports it (seconds; `speaker` is the diarizer's own label). */
export interface SpeakerTurn {
  start: number;
  end: number;
  speaker: number;
}

/** Longest speaker name we accept: long enough for "Dr. Ana María García-López (host)", short enough for a subtitle line. */
export const MAX_SPEAKER_NAME_CHARS = 64;

/** Default name of the speaker with this id: "Speaker 1" for id 0. */
export const defaultSpeakerName = (id: number): string => `Speaker ${id + 1}`;

/** True when the transcript was diarized and has at least one speaker. */
export function hasSpeakers(t: Transcript): boolean {
  return (t.speakers?.length ?? 0) > 0;
}

/** The name of speaker `id` in this transcript ("Speaker N" when it has not been named). */
export function speakerName(t: Transcript, id: number): string {
  return t.speakers?.find((s) => s.id === id)?.name ?? defaultSpeakerName(id);
}

/**
 * Turns sorted by start, with a running maximum of their ends, so the turns around a time are
 * found by binary search instead of a scan of every turn for every word.
 */
interface TurnIndex {
  turns: SpeakerTurn[];
  /** maxEndIdx[i]: index of the turn with the latest end among turns[0..i]. */
  maxEndIdx: number[];
}

function indexTurns(turns: readonly SpeakerTurn[]): TurnIndex {
  const sorted = turns
    .filter((tu) => Number.isFinite(tu.start) && Number.isFinite(tu.end) && Number.isInteger(tu.speaker) && tu.end >= tu.start)
    .sort((a, b) => a.start - b.start || a.end - b.end);
  const maxEndIdx: number[] = [];
  sorted.forEach((tu, i) => {
    const prev = i > 0 ? maxEndIdx[i - 1]! : -1;
    maxEndIdx.push(prev >= 0 && sorted[prev]!.end >= tu.end ? prev : i);
  });
  return { turns: sorted, maxEndIdx };
}

/** Number of turns whose start is before `t` (turns[0..k) start < t). */
function countStartingBefore(turns: readonly SpeakerTurn[], t: number): number {
  let lo = 0;
  let hi = turns.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (turns[mid]!.start < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The diarizer's label for the span [start, end]: the turn overlapping it most; on a tie, the
 * turn holding the span's midpoint (a word centred on a boundary goes to the turn that starts there);
 * when no turn overlaps, the nearest turn.
 */
function labelFor(ix: TurnIndex, start: number, end: number): number | undefined {
  const { turns, maxEndIdx } = ix;
  if (turns.length === 0) return undefined;
  const mid = (start + end) / 2;
  const holds = (tu: SpeakerTurn): boolean => tu.start <= mid && mid < tu.end;
  // Candidates start before the span ends (or at its start, for a zero-length word).
  const k = countStartingBefore(turns, Math.max(end, start + 1e-9));
  let best: SpeakerTurn | undefined;
  let bestOverlap = 0;
  // Walk back while some earlier turn still reaches into the span (the running max end says so).
  for (let i = k - 1; i >= 0 && turns[maxEndIdx[i]!]!.end > start; i--) {
    const tu = turns[i]!;
    const overlap = Math.min(end, tu.end) - Math.max(start, tu.start);
    if (overlap < 0 || (overlap === 0 && !holds(tu))) continue;
    if (!best || overlap > bestOverlap + 1e-9 || (Math.abs(overlap - bestOverlap) <= 1e-9 && holds(tu) && !holds(best))) {
      best = tu;
      bestOverlap = overlap;
    }
  }
  if (best) return best.speaker;
  // Nothing overlaps: the turn that ended last before the span, or the first one after it.
  const before = k > 0 ? turns[maxEndIdx[k - 1]!] : undefined;
  const after = turns[k];
  if (!before) return after?.speaker;
  if (!after) return before.speaker;
  return start - before.end <= after.start - end ? before.speaker : after.speaker;
}

/** Segment statistics kept on every piece of a split segment (tokens belong to the whole text, so they stay only on an unsplit one). */
function pieceOf(seg: TranscriptSegment, words: Word[], first: boolean, last: boolean, speaker: number): TranscriptSegment {
  const { tokens: _tokens, ...rest } = seg;
  return {
    ...rest,
    id: 0,
    start: first ? Math.min(seg.start, words[0]!.start) : words[0]!.start,
    end: last ? Math.max(seg.end, words[words.length - 1]!.end) : words[words.length - 1]!.end,
    text: words.map((w) => w.word).join(''),
    words,
    speaker,
  };
}

/**
 * Give each word the speaker whose turn overlaps it most (the nearest turn when none does), split
 * segments where the speaker changes (ids renumbered, text rebuilt from the words), and number the
 * speakers in order of first appearance as "Speaker 1", "Speaker 2"… With no turns at all, the whole
 * transcript is one speaker. Names already on `t` are replaced by the defaults.
 */
export function assignSpeakers(t: Transcript, turns: readonly SpeakerTurn[]): Transcript {
  const ix = indexTurns(turns);
  // Diarizer label -> our id, in order of first appearance.
  const ids = new Map<number, number>();
  const idOf = (label: number | undefined): number => {
    const key = label ?? 0;
    let id = ids.get(key);
    if (id === undefined) {
      id = ids.size;
      ids.set(key, id);
    }
    return id;
  };

  const segments: TranscriptSegment[] = [];
  for (const seg of t.segments) {
    if (seg.words.length === 0) {
      segments.push({ ...seg, speaker: idOf(labelFor(ix, seg.start, seg.end)) });
      continue;
    }
    const words = seg.words.map((w) => ({ ...w, speaker: idOf(labelFor(ix, w.start, w.end)) }));
    const runs: Word[][] = [];
    for (const w of words) {
      const run = runs[runs.length - 1];
      if (run && run[0]!.speaker === w.speaker) run.push(w);
      else runs.push([w]);
    }
    if (runs.length === 1) segments.push({ ...seg, words, speaker: words[0]!.speaker });
    else {
      runs.forEach((run, i) => {
        segments.push(pieceOf(seg, run, i === 0, i === runs.length - 1, run[0]!.speaker!));
      });
    }
  }
  segments.forEach((s, i) => {
    s.id = i;
  });
  const speakers: Speaker[] = [...ids.values()].map((id) => ({ id, name: defaultSpeakerName(id) }));
  return { ...t, segments, speakers };
}

// C0 and C1 controls, DEL, and the Unicode line/paragraph separators: a name is one line of text.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

/** A speaker name as given by a user, made safe: one line, trimmed, 1–64 characters; a clear error otherwise. */
export function cleanSpeakerName(raw: unknown): string {
  if (typeof raw !== 'string') throw new VidscribeError(ErrorCode.BadRequest, 'A speaker name must be text.');
  const name = raw.replace(CONTROL, ' ').replace(/\s+/g, ' ').trim();
  const chars = Array.from(name).length;
  if (chars === 0) throw new VidscribeError(ErrorCode.BadRequest, 'A speaker name cannot be empty.');
  if (chars > MAX_SPEAKER_NAME_CHARS) {
    throw new VidscribeError(ErrorCode.BadRequest, `A speaker name can have at most ${MAX_SPEAKER_NAME_CHARS} characters (got ${chars}).`, {
      data: { maxChars: MAX_SPEAKER_NAME_CHARS },
    });
  }
  return name;
}

/**
 * Rename speakers. An array names them in order of first appearance (speaker 0 first; extra names
 * are ignored, an empty entry keeps that speaker's name); an object maps speaker ids to names (an
 * unknown id is an error). Two speakers cannot end up with the same name.
 */
export function renameSpeakers(t: Transcript, names: readonly string[] | Readonly<Record<number, string>>): Transcript {
  const speakers = t.speakers;
  if (!speakers || speakers.length === 0) {
    throw new VidscribeError(ErrorCode.BadRequest, 'This transcript has no speakers to rename: transcribe it with speaker diarization first.');
  }
  const renamed = speakers.map((s) => ({ ...s }));
  if (Array.isArray(names)) {
    (names as readonly string[]).forEach((raw, i) => {
      const s = renamed[i];
      if (s && !(typeof raw === 'string' && raw.trim() === '')) s.name = cleanSpeakerName(raw);
    });
  } else {
    for (const [key, raw] of Object.entries(names)) {
      const s = renamed.find((x) => String(x.id) === key);
      if (!s) {
        throw new VidscribeError(ErrorCode.BadRequest, `No speaker with id ${JSON.stringify(key)} in this transcript.`, {
          data: { speakers: speakers.map((x) => x.id) },
        });
      }
      s.name = cleanSpeakerName(raw);
    }
  }
  const seen = new Set<string>();
  for (const s of renamed) {
    const key = s.name.toLocaleLowerCase();
    if (seen.has(key)) throw new VidscribeError(ErrorCode.BadRequest, `Two speakers cannot both be named ${JSON.stringify(s.name)}.`);
    seen.add(key);
  }
  return { ...t, speakers: renamed };
}

/** Most voices we look for: more than a panel, far fewer than clustering noise would invent. */
export const MAX_SPEAKERS = 16;

/** How many speakers to look for: exactly `speakers`, or between `minSpeakers` and `maxSpeakers`, or (all absent) found automatically. */
export interface SpeakerCountHint {
  speakers?: number;
  minSpeakers?: number;
  maxSpeakers?: number;
}

type HintKey = keyof SpeakerCountHint;

/**
 * Validate a speaker count from a user (CLI flags, form fields, JSON): whole numbers 1–16, given
 * as numbers or digit strings; `speakers` excludes the range; min ≤ max. `label` names each option
 * in the error as the user wrote it ("--min-speakers", "min_speakers").
 */
export function speakerCountHint(raw: { [K in HintKey]?: unknown }, label: (k: HintKey) => string = (k) => k): SpeakerCountHint {
  const out: SpeakerCountHint = {};
  for (const k of ['speakers', 'minSpeakers', 'maxSpeakers'] as const) {
    const v = raw[k];
    if (v === undefined || v === null || v === '') continue;
    const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*\d{1,3}\s*$/.test(v) ? Number(v) : Number.NaN;
    if (!Number.isInteger(n) || n < 1 || n > MAX_SPEAKERS) {
      throw new VidscribeError(
        ErrorCode.BadRequest,
        `${label(k)} must be a whole number from 1 to ${MAX_SPEAKERS}, got ${JSON.stringify(String(v).slice(0, 20))}.`,
        {
          data: { min: 1, max: MAX_SPEAKERS },
        },
      );
    }
    out[k] = n;
  }
  if (out.speakers !== undefined && (out.minSpeakers !== undefined || out.maxSpeakers !== undefined)) {
    throw new VidscribeError(ErrorCode.BadRequest, `Give either ${label('speakers')} or ${label('minSpeakers')}/${label('maxSpeakers')}, not both.`);
  }
  if (out.minSpeakers !== undefined && out.maxSpeakers !== undefined && out.minSpeakers > out.maxSpeakers) {
    throw new VidscribeError(ErrorCode.BadRequest, `${label('minSpeakers')} (${out.minSpeakers}) is more than ${label('maxSpeakers')} (${out.maxSpeakers}).`);
  }
  return out;
}

/** "Ana, Ben" → ["Ana", "Ben"]: comma-separated names, each cleaned (an empty entry keeps that speaker's default name); at most 16. */
export function parseSpeakerNames(list: string): string[] {
  const names = list.split(',').map((n) => (n.trim() === '' ? '' : cleanSpeakerName(n)));
  if (names.length > MAX_SPEAKERS) throw new VidscribeError(ErrorCode.BadRequest, `At most ${MAX_SPEAKERS} speaker names, got ${names.length}.`);
  if (names.every((n) => n === '')) throw new VidscribeError(ErrorCode.BadRequest, 'No speaker names given.');
  return names;
}
