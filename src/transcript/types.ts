/** One recognised word with its timing (seconds from the start of the media). */
export interface Word {
  word: string;
  start: number;
  end: number;
  /** Model confidence, 0..1. */
  probability: number;
  /** Who said it: an index into `Transcript.speakers` (diarized transcripts only). */
  speaker?: number;
}

/** A stretch of speech as Whisper decoded it, with the decoder's own statistics kept for verbose_json. */
export interface TranscriptSegment {
  id: number;
  start: number;
  end: number;
  text: string;
  words: Word[];
  /** Who said it: an index into `Transcript.speakers`; a diarized segment holds one speaker's words only. */
  speaker?: number;
  seek?: number;
  tokens?: number[];
  temperature?: number;
  avg_logprob?: number;
  compression_ratio?: number;
  no_speech_prob?: number;
}

export interface Transcript {
  /** ISO 639-1 code of the spoken (or, for translate, output) language. */
  language: string;
  /** Duration of the media in seconds. */
  duration: number;
  task?: 'transcribe' | 'translate';
  /** File name the transcript was made from, when known (shown in TXT/DOCX/Markdown headers). */
  source?: string;
  segments: TranscriptSegment[];
  /** The voices diarization found, in order of first appearance; absent when the transcript was not diarized. */
  speakers?: Speaker[];
}

/** One voice in a diarized transcript; `name` is "Speaker 1", "Speaker 2"… until the user renames it. */
export interface Speaker {
  id: number;
  name: string;
}

/** Full text of a transcript: segments joined, whitespace normalised. */
export function transcriptText(t: Transcript): string {
  return t.segments
    .map((s) => s.text.trim())
    .filter(Boolean)
    .join(' ')
    .replace(/\s+/g, ' ')
    .trim();
}
