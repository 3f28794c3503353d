/**
 * One error type for the whole product. Inside the domain it is thrown; at the
 * API and CLI edges it becomes a value `{ code, message }`. The numeric codes are
 * the public contract shared with the cloud API our users' agents speak.
 */
export const ErrorCode = {
  BadRequest: 400,
  ExportBlocked: 402,
  RateLimited: 429,
  BadToken: 1001,
  SessionNotFound: 1002,
  NoCredits: 2001,
  UnsupportedFormat: 4001,
  FileTooLarge: 4002,
  NoAudioStream: 4003,
  EmptyFile: 4004,
  CorruptMedia: 4005,
  FileNotFound: 4006,
  /** A URL upload that is not allowed: not http(s), or a private, loopback or link-local address. */
  UrlRefused: 4007,
  /** A URL upload whose download failed (unreachable, HTTP error, timed out). */
  UrlFetchFailed: 4008,
  /** An edit made on an older version of a transcript (changed elsewhere, e.g. in another tab): reload and edit again. */
  VersionConflict: 4009,
  InvalidDraft: 4101,
  /** The thing asked for (a media item, a job, a file) does not exist for this user. */
  NotFound: 4104,
  /** A fault of ours (a bug): logged, and reported without internals. */
  Internal: 5000,
  AsrFailed: 5001,
  ModelUnavailable: 5002,
  Timeout: 5003,
  Cancelled: 5004,
  MediaToolFailed: 5005,
  RenderFailed: 5101,
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export interface VidscribeErrorDetails {
  /** Tail of the child process's stderr, when a tool (ffmpeg, the ASR worker) failed. */
  stderr?: string;
  /** Exit code of the child process, when there was one. */
  exitCode?: number | null;
  cause?: unknown;
  /** Extra facts a client can act on (allowed formats, limits...). */
  data?: Record<string, unknown>;
}

export class VidscribeError extends Error {
  readonly code: ErrorCode;
  readonly stderr?: string;
  readonly exitCode?: number | null;
  readonly data?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, details: VidscribeErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'VidscribeError';
    this.code = code;
    if (details.stderr !== undefined) this.stderr = details.stderr;
    if (details.exitCode !== undefined) this.exitCode = details.exitCode;
    if (details.data !== undefined) this.data = details.data;
  }

  toJSON(): { code: number; message: string; data?: Record<string, unknown> } {
    return this.data ? { code: this.code, message: this.message, data: this.data } : { code: this.code, message: this.message };
  }
}

export function isVidscribeError(e: unknown, code?: ErrorCode): e is VidscribeError {
  return e instanceof VidscribeError && (code === undefined || e.code === code);
}

/** Keep the last `maxChars` of a tool's stderr: the end is where ffmpeg says what went wrong. */
export function stderrTail(stderr: string, maxChars = 2000): string {
  const s = stderr.trimEnd();
  return s.length <= maxChars ? s : '…' + s.slice(s.length - maxChars);
}
