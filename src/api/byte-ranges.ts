/**
 * Serving a stored file with HTTP Range support, so a <video> or <audio> element can seek (it asks
 * for `bytes=N-` and expects 206). One range per request: a multi-range request is answered whole
 * (200), which RFC 9110 allows. Stored blobs are content-addressed and never change, so the key
 * doubles as a strong ETag and If-Range needs no date logic.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { BlobStore } from '../storage/blob-store.ts';

/** The byte span a Range header asks for (inclusive), 'unsatisfiable', or undefined to send the whole file. */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | 'unsatisfiable' | undefined {
  if (!header || header.length > 100) return undefined;
  const m = /^bytes=(\d{0,15})-(\d{0,15})$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    // The last N bytes.
    const n = Number(m[2]);
    if (n === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size) return 'unsatisfiable';
  if (end < start) return undefined;
  return { start, end };
}

const CONTENT_TYPES: Record<string, string> = {
  mp4: 'video/mp4',
  mov: 'video/quicktime',
  avi: 'video/x-msvideo',
  webm: 'video/webm',
  mkv: 'video/x-matroska',
  mp3: 'audio/mpeg',
  wav: 'audio/wav',
  m4a: 'audio/mp4',
  aac: 'audio/aac',
  flac: 'audio/flac',
  ogg: 'audio/ogg',
  jpg: 'image/jpeg',
  png: 'image/png',
  gif: 'image/gif',
  webp: 'image/webp',
};

/** The content type of a stored media file, from its key's extension. */
export function contentTypeOfKey(key: string): string {
  return CONTENT_TYPES[key.slice(key.lastIndexOf('.') + 1).toLowerCase()] ?? 'application/octet-stream';
}

/**
 * Sends a stored blob, whole or the one range asked for, read straight from the blob store (on S3
 * a ranged GetObject: nothing is copied to this node's disk). The key's hash is the strong ETag.
 * Headers the caller set before (Content-Disposition) are kept.
 */
export async function sendBlobRange(
  req: FastifyRequest,
  reply: FastifyReply,
  blobs: Pick<BlobStore, 'stat' | 'open'>,
  file: { key: string; contentType: string },
): Promise<FastifyReply> {
  const { sizeBytes: size } = await blobs.stat(file.key);
  const etag = `"${file.key.replace(/\..*$/, '')}"`;
  reply.header('accept-ranges', 'bytes').header('etag', etag).header('content-type', file.contentType);
  const ifRange = req.headers['if-range'];
  const range = ifRange === undefined || ifRange === etag ? parseRange(req.headers.range, size) : undefined;
  if (range === 'unsatisfiable') return reply.code(416).header('content-range', `bytes */${size}`).send();
  if (!range) {
    if (req.headers['if-none-match'] === etag) return reply.code(304).send();
    return reply.header('content-length', size).send((await blobs.open(file.key)).stream);
  }
  return reply
    .code(206)
    .header('content-range', `bytes ${range.start}-${range.end}/${size}`)
    .header('content-length', range.end - range.start + 1)
    .send((await blobs.open(file.key, range)).stream);
}
