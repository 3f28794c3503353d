import { deflateSync } from 'node:zlib';
import { whisperLanguageName } from '../languages.ts';
import { hasSpeakers, speakerName } from '../speakers.ts';
import { transcriptText, type Transcript, type TranscriptSegment } from '../types.ts';

/** OpenAI `verbose_json` transcription response. */
export interface VerboseJson {
  task: 'transcribe' | 'translate';
  language: string;
  duration: number;
  text: string;
  segments: VerboseJsonSegment[];
  words: VerboseJsonWord[];
}

export interface VerboseJsonSegment {
  id: number;
  seek: number;
  start: number;
  end: number;
  text: string;
  tokens: number[];
  temperature: number;
  avg_logprob: number;
  compression_ratio: number;
  no_speech_prob: number;
  /** The speaker's name (diarized transcripts only). */
  speaker?: string;
}

export interface VerboseJsonWord {
  word: string;
  start: number;
  end: number;
  /** The speaker's name (diarized transcripts only). */
  speaker?: string;
}

export interface JsonOptions {
  /** Report `language` as OpenAI does ("english") instead of the ISO code ("en"). Unknown codes stay as given. Default false. */
  languageName?: boolean;
  /** JSON indentation; 0 for compact. Default 2. */
  indent?: number;
}

// Times to the millisecond: float noise like 1.2300000000000002 helps nobody.
const r3 = (n: number): number => Math.round(n * 1000) / 1000;

/** Whisper's own measure: UTF-8 length over zlib-compressed length (high = repetitive, likely hallucinated). */
export function compressionRatio(text: string): number {
  const bytes = Buffer.from(text, 'utf8');
  return bytes.length === 0 ? 0 : bytes.length / deflateSync(bytes).length;
}

/** Mean log-probability of the segment's words when the decoder's own figure is missing. */
function wordsLogprob(seg: TranscriptSegment): number {
  const ps = seg.words.map((w) => w.probability).filter((p) => Number.isFinite(p) && p > 0);
  if (ps.length === 0) return 0;
  return ps.reduce((a, p) => a + Math.log(Math.min(p, 1)), 0) / ps.length;
}

export function toVerboseJson(t: Transcript, opts: JsonOptions = {}): VerboseJson {
  const language = opts.languageName ? (whisperLanguageName(t.language) ?? t.language) : t.language;
  const out = plainVerboseJson(t, language);
  if (!hasSpeakers(t)) return out;
  // Diarized: the speaker's name on each segment and word (absent keys otherwise, so plain output stays as it was).
  const segs = t.segments;
  out.segments.forEach((s, i) => {
    const sp = segs[i]!.speaker;
    if (sp !== undefined) s.speaker = speakerName(t, sp);
  });
  const wordSpeakers = segs.flatMap((s) => s.words.filter((w) => w.word.trim()).map((w) => w.speaker ?? s.speaker));
  out.words.forEach((w, i) => {
    const sp = wordSpeakers[i];
    if (sp !== undefined) w.speaker = speakerName(t, sp);
  });
  return out;
}

function plainVerboseJson(t: Transcript, language: string): VerboseJson {
  return {
    task: t.task ?? 'transcribe',
    language,
    duration: r3(t.duration),
    text: transcriptText(t),
    segments: t.segments.map((s, i) => ({
      id: Number.isInteger(s.id) ? s.id : i,
      // Whisper's seek is the decoding window offset in 10 ms frames; the segment start is the closest stand-in.
      seek: s.seek ?? Math.round(s.start * 100),
      start: r3(s.start),
      end: r3(s.end),
      text: s.text,
      tokens: s.tokens ?? [],
      temperature: s.temperature ?? 0,
      avg_logprob: s.avg_logprob ?? wordsLogprob(s),
      compression_ratio: s.compression_ratio ?? compressionRatio(s.text.trim()),
      no_speech_prob: s.no_speech_prob ?? 0,
    })),
    // OpenAI's word entries are trimmed ("The", not " The").
    words: t.segments.flatMap((s) => s.words.map((w) => ({ word: w.word.trim(), start: r3(w.start), end: r3(w.end) })).filter((w) => w.word)),
  };
}

export function toJson(t: Transcript, opts: JsonOptions = {}): string {
  const indent = opts.indent ?? 2;
  return JSON.stringify(toVerboseJson(t, opts), null, indent > 0 ? indent : undefined) + '\n';
}
