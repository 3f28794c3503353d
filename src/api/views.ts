/**
 * The JSON shapes the API answers with, as the web app reads them (it imports these with
 * `import type`, so server and browser cannot drift apart). Names are the wire names (snake_case).
 * Every body travels inside the usual envelope `{ code, message, data }`.
 */
import type { Draft } from '../render/draft.ts';
import type { Speaker } from '../transcript/types.ts';

/** The envelope every JSON reply travels in; `code` 0 is success, anything else an ErrorCode. */
export interface EnvelopeView<T> {
  code: number;
  message: string;
  data?: T;
}

/** A media item of a session. `url` is a signed, expiring, same-origin link (no Authorization header needed) that answers HTTP Range requests, so a <video> can seek. */
export interface MediaView {
  id: string;
  name: string;
  kind: 'video' | 'audio' | 'image';
  size_bytes: number;
  /** Seconds. */
  duration: number;
  width?: number;
  height?: number;
  fps?: number;
  audio_streams: number;
  container: string;
  created_at: string;
  url: string;
}

/** One session in the caller's list (GET /api/sessions). */
export interface SessionSummary {
  session_id: string;
  /** The session's task name. */
  name: string;
  created_at: string;
  updated_at: string;
  media: { id: string; name: string; kind: 'video' | 'audio' | 'image' }[];
}

export interface SessionsListView {
  sessions: SessionSummary[];
}

/** A transcript as listed in the session state (text only). */
export interface TranscriptSummaryView {
  id: string;
  media_id: string | null;
  job_id: string;
  language: string;
  text: string;
  version: number;
  created_at: string;
}

/** A job as the state lists it; `url` is the signed link to its result file. */
export interface JobView {
  id: string;
  type: string;
  status: string;
  /** 0–100. */
  progress: number;
  price: number;
  created_at: string;
  file_id?: string;
  file_name?: string;
  url?: string;
  transcript_id?: string;
  error?: string;
}

/** A result file (an export, a rendered MP4); `url` is a signed link that answers Range requests. */
export interface FileView {
  id: string;
  name: string;
  content_type: string;
  size_bytes: number;
  url: string;
}

/** GET /api/state/:agent/me/:sid/latest */
export interface SessionStateView {
  session_id: string;
  draft: Draft | null;
  media: MediaView[];
  transcripts: TranscriptSummaryView[];
  jobs: JobView[];
  files: FileView[];
}

/** One recognised word: seconds from the start of the media, the model's confidence 0..1, and the speaker index when diarized. */
export interface WordView {
  word: string;
  start: number;
  end: number;
  probability: number;
  speaker?: number;
}

export interface SegmentView {
  id: number;
  start: number;
  end: number;
  text: string;
  speaker?: number;
  words: WordView[];
}

/** GET /api/state/:agent/me/:sid/transcripts/:tid — the transcript with its words and the version an edit must name. */
export interface TranscriptView {
  id: string;
  media_id: string | null;
  language: string;
  text: string;
  /** Starts at 1; each accepted edit adds one. */
  version: number;
  /** Seconds. */
  duration: number;
  speakers?: Speaker[];
  segments: SegmentView[];
}

/** The body of PATCH /api/state/:agent/me/:sid/transcripts/:tid. A stale base_version is refused with 4009. */
export interface TranscriptPatch {
  base_version: number;
  /** `segment` is a segment id, `index` the word's index within that segment. */
  words?: { segment: number; index: number; word: string }[];
  speakers?: { id: number; name: string }[];
}

export interface TranscriptPatchResult {
  version: number;
}

/** Limits on one PATCH, so an edit stays small. */
export { TRANSCRIPT_EDIT_LIMITS as TRANSCRIPT_PATCH_LIMITS } from '../sessions/transcript-edits.ts';
