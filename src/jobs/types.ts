/**
 * Every kind of job as one union keyed by its type (the way immich's JobItem is): a job's
 * payload and result follow from its type, so handlers and routes read them without casts.
 */
import type { AsrOptions } from '../asr/index.ts';
import type { Draft } from '../render/index.ts';
import type { ExportFormat } from '../transcript/index.ts';

export interface TranscribeJobPayload {
  /** The session's media item, when the job belongs to a session. */
  mediaId: string | null;
  storeKey: string;
  /** The file name the user gave it. */
  name: string;
  /** ffprobe's estimate (a container header's claim): the price is held on it, and settled on the decoded length. */
  durationSec: number;
  /**
   * A one-off upload's stored size (/v1, no media item): the queue counts it in the account's
   * storage quota (the job's kept bytes) until its file is removed (forgetUpload).
   */
  sizeBytes?: number;
  /** The file is stored under a key of its own (putUnshared), removed once the job has ended; older /v1 jobs' files may be shared. */
  ownBlob?: true;
  /** The price per started minute when it was queued; the decoded length is charged at this rate. */
  perMinute?: number;
  /** Model name (bundled base / tiny.en, auto, or a folder); default: the server's (base, for every language). */
  model?: string;
  // diarize: who speaks when (issue 13); absent = none.
  options: Pick<AsrOptions, 'language' | 'task' | 'initialPrompt' | 'temperature' | 'diarize'>;
  /** Also write this export into the session's files. */
  export?: { format: ExportFormat; timestamps: boolean };
}

export interface TranscribeJobResult {
  transcriptId: string;
  /** Spoken language, ISO 639-1: detected, or as given. */
  language: string;
  /** The model that decoded it (tiny.en for English and base for the rest, when none was chosen). */
  model?: string;
  /** The transcript's first lines (up to 3 sentences), for a reply to show. */
  preview?: string;
  durationSec: number;
  words: number;
  fileId?: string;
  fileName?: string;
}

export interface RenderJobPayload {
  draft: Draft;
  /** Output file name, e.g. interview.mp4. */
  name: string;
}

export interface RenderJobResult {
  fileId: string;
  fileName: string;
  durationSec: number;
  sizeBytes: number;
}

export type JobItem =
  | { type: 'transcribe'; payload: TranscribeJobPayload; result: TranscribeJobResult }
  | { type: 'render'; payload: RenderJobPayload; result: RenderJobResult };

export const JobType = { Transcribe: 'transcribe', Render: 'render' } as const satisfies Record<string, JobItem['type']>;
export type JobType = JobItem['type'];
export type PayloadOf<T extends JobType> = Extract<JobItem, { type: T }>['payload'];
export type ResultOf<T extends JobType> = Extract<JobItem, { type: T }>['result'];

export const JOB_TYPES: readonly JobType[] = Object.values(JobType);

export function isJobType(s: string): s is JobType {
  return (JOB_TYPES as readonly string[]).includes(s);
}
