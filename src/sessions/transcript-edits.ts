/**
 * A person's corrections to a transcript: words retyped in place and speakers renamed. Timings
 * never change (a corrected word keeps its start and end, so captions and exports keep their
 * sync); an edited segment's text is rebuilt from its words. Bounded and checked before anything
 * is stored: an edit names words that exist, and holds no control characters.
 */
import { ErrorCode, VidscribeError } from '../shared/errors.ts';
import { MAX_SPEAKER_NAME_CHARS, renameSpeakers, type Transcript } from '../transcript/index.ts';

export interface TranscriptEdits {
  /** `segment` is a segment id, `index` the word's position in that segment. */
  words?: readonly { segment: number; index: number; word: string }[];
  speakers?: readonly { id: number; name: string }[];
}

export const TRANSCRIPT_EDIT_LIMITS = { maxWordEdits: 1000, maxWordChars: 200, maxSpeakerEdits: 100, maxSpeakerNameChars: MAX_SPEAKER_NAME_CHARS } as const;

/** Control characters (line breaks, tabs, escapes) and the Unicode line separators: a word is one line of visible text. */
const CONTROL = /[\p{Cc}\u2028\u2029]/u;

function cleanText(s: unknown, what: string, max: number): string {
  if (typeof s !== 'string') throw new VidscribeError(ErrorCode.BadRequest, `${what} must be a string`);
  if (CONTROL.test(s)) throw new VidscribeError(ErrorCode.BadRequest, `${what} contains a control character (a line break or tab, say)`);
  const t = s.trim();
  if (!t) throw new VidscribeError(ErrorCode.BadRequest, `${what} is empty`);
  if ([...t].length > max) throw new VidscribeError(ErrorCode.BadRequest, `${what} is longer than ${max} characters`);
  return t;
}

/** The edited transcript (a copy; the input is not changed), or 400 naming the first bad edit. */
export function applyTranscriptEdits(t: Transcript, edits: TranscriptEdits): Transcript {
  const words = edits.words ?? [];
  const speakers = edits.speakers ?? [];
  const L = TRANSCRIPT_EDIT_LIMITS;
  if (words.length > L.maxWordEdits) throw new VidscribeError(ErrorCode.BadRequest, `At most ${L.maxWordEdits} word edits at once`);
  if (speakers.length > L.maxSpeakerEdits) throw new VidscribeError(ErrorCode.BadRequest, `At most ${L.maxSpeakerEdits} speaker renames at once`);
  if (words.length === 0 && speakers.length === 0) throw new VidscribeError(ErrorCode.BadRequest, 'Nothing to change: send words or speakers');

  // Speakers are renamed by the transcript domain's rules (bounded names, no two alike).
  const out: Transcript = structuredClone(speakers.length > 0 ? renameSpeakers(t, Object.fromEntries(speakers.map((e) => [e.id, e.name]))) : t);
  const byId = new Map(out.segments.map((s) => [s.id, s]));
  const touched = new Set<number>();
  for (const [i, e] of words.entries()) {
    const seg = byId.get(e.segment);
    const w = seg?.words[e.index];
    if (!seg || !w) throw new VidscribeError(ErrorCode.BadRequest, `Edit ${i + 1}: segment ${e.segment} has no word ${e.index}`);
    // Whisper's words carry the space before them: keep it, so the rebuilt text reads as before.
    const lead = /^\s*/.exec(w.word)![0];
    w.word = lead + cleanText(e.word, `Edit ${i + 1}: the word`, L.maxWordChars);
    touched.add(seg.id);
  }
  for (const seg of out.segments) {
    if (!touched.has(seg.id)) continue;
    seg.text = seg.words.map((w) => w.word).join('');
  }
  return out;
}
