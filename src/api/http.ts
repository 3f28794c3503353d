/**
 * The API's edge rules in one place: the `{ code, message, data }` envelope, which HTTP status
 * each error code travels with, and the turning of every thrown error into a value.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ErrorCode, VidscribeError, isVidscribeError } from '../shared/errors.ts';

export interface Envelope<T = unknown> {
  code: number;
  message: string;
  data?: T;
}

export const ok = <T>(data: T): Envelope<T> => ({ code: 0, message: 'ok', data });

const HTTP_STATUS: Record<number, number> = {
  [ErrorCode.BadRequest]: 400,
  [ErrorCode.ExportBlocked]: 402,
  [ErrorCode.RateLimited]: 429,
  [ErrorCode.BadToken]: 401,
  [ErrorCode.SessionNotFound]: 404,
  [ErrorCode.NoCredits]: 402,
  [ErrorCode.UnsupportedFormat]: 415,
  [ErrorCode.FileTooLarge]: 413,
  [ErrorCode.NoAudioStream]: 422,
  [ErrorCode.EmptyFile]: 400,
  [ErrorCode.CorruptMedia]: 422,
  [ErrorCode.FileNotFound]: 404,
  [ErrorCode.UrlRefused]: 400,
  [ErrorCode.UrlFetchFailed]: 502,
  [ErrorCode.InvalidDraft]: 422,
  [ErrorCode.NotFound]: 404,
  [ErrorCode.Internal]: 500,
  [ErrorCode.AsrFailed]: 500,
  [ErrorCode.ModelUnavailable]: 503,
  [ErrorCode.Timeout]: 504,
  [ErrorCode.Cancelled]: 409,
  [ErrorCode.MediaToolFailed]: 500,
  [ErrorCode.RenderFailed]: 500,
};

export function httpStatusOf(code: number): number {
  return HTTP_STATUS[code] ?? 500;
}

/** Any error → a VidscribeError with a code: Fastify's own (bad JSON, schema, body size) become 400/413. */
export function toApiError(e: unknown): VidscribeError {
  if (isVidscribeError(e)) return e;
  const fe = e as Partial<FastifyError> & { part?: unknown };
  if (fe?.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || fe?.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || (fe?.statusCode === 400 && fe?.message?.includes('JSON'))) {
    return new VidscribeError(ErrorCode.BadRequest, `Malformed JSON body: ${fe.message}`);
  }
  if (fe?.validation) return new VidscribeError(ErrorCode.BadRequest, `Invalid request: ${fe.message}`);
  if (fe?.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || fe?.code === 'FST_REQ_FILE_TOO_LARGE') return new VidscribeError(ErrorCode.FileTooLarge, fe.message ?? 'Request body too large');
  if (fe?.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return new VidscribeError(ErrorCode.UnsupportedFormat, fe.message ?? 'Unsupported content type');
  if (fe?.code === 'FST_INVALID_MULTIPART_CONTENT_TYPE' || fe?.code === 'FST_FILES_LIMIT' || fe?.code === 'FST_PARTS_LIMIT' || fe?.code === 'FST_FIELDS_LIMIT') {
    return new VidscribeError(ErrorCode.BadRequest, fe.message ?? 'Bad multipart request');
  }
  // The multipart parser's own complaints about a malformed body (no boundary, cut short).
  if (e instanceof Error && /^(Multipart: |Boundary required|Unexpected end of multipart data|\w+ terminated early)/.test(e.message)) {
    return new VidscribeError(ErrorCode.BadRequest, `Malformed multipart body: ${e.message}`);
  }
  if (typeof fe?.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return new VidscribeError(fe.statusCode === 404 ? ErrorCode.NotFound : ErrorCode.BadRequest, fe.message ?? 'Bad request');
  }
  return new VidscribeError(ErrorCode.Internal, 'Internal error: the server logged the details', { cause: e });
}

/** The one error handler: logs faults, answers `{ code, message, data? }` with the code's HTTP status. */
export function sendError(req: FastifyRequest, reply: FastifyReply, e: unknown): FastifyReply {
  const err = toApiError(e);
  if (!isVidscribeError(e) && !(typeof (e as FastifyError)?.statusCode === 'number' && (e as FastifyError).statusCode! < 500)) req.log.error({ err: e }, 'unhandled error');
  closeIfBodyUnread(req, reply);
  return reply.code(httpStatusOf(err.code)).send(err.toJSON());
}

/** A body refused half-way (an upload over the limit): hang up instead of draining the rest of it. */
export function closeIfBodyUnread(req: FastifyRequest, reply: FastifyReply): void {
  const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
  if (hasBody && !req.raw.readableEnded) reply.header('connection', 'close');
}

/** Signed, expiring download links: HMAC over the file id and expiry. */
export function signDownload(secret: Buffer, fileId: string, expiresAt: number): string {
  const sig = createHmac('sha256', secret).update(`${fileId}.${expiresAt}`).digest('base64url');
  return `/api/files/${encodeURIComponent(fileId)}?expires=${expiresAt}&sig=${sig}`;
}

export function verifyDownload(secret: Buffer, fileId: string, expires: string | undefined, sig: string | undefined, now: number): void {
  const exp = Number(expires);
  if (!sig || !Number.isFinite(exp)) throw new VidscribeError(ErrorCode.BadToken, 'This download link is not signed');
  const want = createHmac('sha256', secret).update(`${fileId}.${exp}`).digest();
  const got = Buffer.from(sig, 'base64url');
  if (got.length !== want.length || !timingSafeEqual(got, want)) throw new VidscribeError(ErrorCode.BadToken, 'This download link is not valid');
  if (exp <= now) throw new VidscribeError(ErrorCode.BadToken, 'This download link has expired: ask for the job status again for a fresh one');
}
