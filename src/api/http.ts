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
  [ErrorCode.VersionConflict]: 409,
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
  if (fe?.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || fe?.code === 'FST_REQ_FILE_TOO_LARGE')
    return new VidscribeError(ErrorCode.FileTooLarge, fe.message ?? 'Request body too large');
  if (fe?.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return new VidscribeError(ErrorCode.UnsupportedFormat, fe.message ?? 'Unsupported content type');
  if (
    fe?.code === 'FST_INVALID_MULTIPART_CONTENT_TYPE' ||
    fe?.code === 'FST_FILES_LIMIT' ||
    fe?.code === 'FST_PARTS_LIMIT' ||
    fe?.code === 'FST_FIELDS_LIMIT'
  ) {
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

/** The one error handler: logs faults only, answers `{ code, message, data? }` with the code's HTTP status. */
export async function sendError(req: FastifyRequest, reply: FastifyReply, e: unknown): Promise<FastifyReply> {
  const err = toApiError(e);
  // A client's mistake (bad multipart, a wrong format) is answered, not logged; only our faults are.
  if (err.code === ErrorCode.Internal) req.log.error({ err: e }, 'unhandled error');
  await settleUnreadBody(req, reply);
  return reply.code(httpStatusOf(err.code)).send(err.toJSON());
}

/** An unread rest of a body up to this size is read and thrown away before an error reply, keeping the connection. */
export const DRAIN_MAX_BYTES = 1024 * 1024;
/** How long a slow client may take to send that rest. */
const DRAIN_MAX_MS = 3000;
/** After an error reply on a connection we hang up, how long we keep reading so the client sees the reply (a "lingering close"). */
const LINGER_MS = 2000;

/**
 * A request answered before its body was read (a refused upload): an error reply must still
 * reach the client. Closing a socket with unread input makes the kernel send a reset, which can
 * destroy the reply before the client reads it — exactly what a busy server does to a client still
 * sending. So a small rest is read and discarded first (the connection stays usable); a large or
 * slow one gets `Connection: close`, and the socket keeps reading for a moment after the reply is
 * flushed, then closes.
 */
export async function settleUnreadBody(req: FastifyRequest, reply: FastifyReply): Promise<void> {
  const raw = req.raw;
  const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
  if (!hasBody || raw.readableEnded || raw.destroyed) return;
  const declared = Number(req.headers['content-length']);
  // Whoever was reading it (a multipart parser) has given up: the rest goes nowhere.
  raw.unpipe();
  const drained = Number.isFinite(declared) && declared > DRAIN_MAX_BYTES ? false : await drain(raw, DRAIN_MAX_BYTES, DRAIN_MAX_MS);
  if (drained) return;
  reply.header('connection', 'close');
  const socket = raw.socket;
  // Node calls destroySoon() once the last reply is written; linger instead of closing at once.
  socket.destroySoon = function lingeringClose(this: typeof socket) {
    this.end();
    raw.resume();
    const timer = setTimeout(() => this.destroy(), LINGER_MS);
    timer.unref();
    this.once('close', () => clearTimeout(timer));
    this.once('end', () => this.destroy());
  };
}

/** Reads and discards a stream to its end: true if it ended within the byte and time bounds. */
function drain(stream: NodeJS.ReadableStream & { readableEnded: boolean; destroyed: boolean }, maxBytes: number, maxMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    let seen = 0;
    const finish = (ended: boolean) => {
      clearTimeout(timer);
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('close', onClose);
      if (!ended) stream.pause();
      resolve(ended);
    };
    const onData = (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > maxBytes) finish(false);
    };
    const onEnd = () => finish(true);
    const onClose = () => finish(stream.readableEnded);
    const timer = setTimeout(() => finish(false), maxMs);
    stream.on('data', onData);
    stream.once('end', onEnd);
    stream.once('close', onClose);
    stream.resume();
  });
}

/**
 * When a signed link handed out now expires: at least `ttlMs` away, rounded up to a 10-minute step
 * (or the TTL, if shorter), so a page polling the session state gets the same link each time and
 * its player is not given a "new" src to reload.
 */
export function linkExpiry(now: number, ttlMs: number): number {
  const step = Math.max(1000, Math.min(10 * 60_000, ttlMs));
  return Math.ceil((now + ttlMs) / step) * step;
}

/** What a signed link opens: its signature covers "<kind>.<id>.<expiry>", so a media link never opens a file, nor the reverse. */
export type LinkKind = 'file' | 'media';

const linkSignature = (secret: Buffer, kind: LinkKind, id: string, expiresAt: number) =>
  createHmac('sha256', secret).update(`${kind}.${id}.${expiresAt}`).digest();

/** A signed, expiring link to a file (a download) or a media item (playback), e.g. `/api/files/<id>?expires=…&sig=…`. */
export function signLink(secret: Buffer, kind: LinkKind, id: string, expiresAt: number): string {
  const path = kind === 'file' ? 'files' : 'media';
  return `/api/${path}/${encodeURIComponent(id)}?expires=${expiresAt}&sig=${linkSignature(secret, kind, id, expiresAt).toString('base64url')}`;
}

/** The query of a signed link, bounded: anyone holding a link (or guessing at one) sends it. */
export const SIGNED_LINK_QUERY = {
  type: 'object',
  properties: { expires: { type: 'string', maxLength: 20 }, sig: { type: 'string', maxLength: 64 } },
} as const;

/** The id a signed link to /api/<kind>/:id opens, once its signature and expiry hold (a coded error otherwise). */
export function signedLinkId(req: FastifyRequest, secret: Buffer, kind: LinkKind, now: number): string {
  const { id } = req.params as { id: string };
  const q = req.query as { expires?: string; sig?: string };
  verifyLink(secret, kind, id, q.expires, q.sig, now);
  return id;
}

export function verifyLink(secret: Buffer, kind: LinkKind, id: string, expires: string | undefined, sig: string | undefined, now: number): void {
  const exp = Number(expires);
  if (!sig || !Number.isFinite(exp)) throw new VidscribeError(ErrorCode.BadToken, 'This download link is not signed');
  const want = linkSignature(secret, kind, id, exp);
  const got = Buffer.from(sig, 'base64url');
  if (got.length !== want.length || !timingSafeEqual(got, want)) throw new VidscribeError(ErrorCode.BadToken, 'This download link is not valid');
  if (exp <= now) throw new VidscribeError(ErrorCode.BadToken, 'This download link has expired: ask for the job status again for a fresh one');
}
