/**
 * Turning uploads into media items: multipart files streamed to scratch (never buffered
 * whole, cut off at the size limit), or URLs downloaded with the SSRF guard; each checked by
 * content (ffprobe) and only then moved into the blob store and recorded.
 */
import type { Readable } from 'node:stream';
import type { MultipartFile } from '@fastify/multipart';
import { extensionOf, fetchUrlToFile, identifyUpload, unsupportedUploadMessage, uploadKindOf } from '../media/index.ts';
import { ErrorCode, VidscribeError } from '../shared/errors.ts';
import type { MediaItem, Session } from '../sessions/sessions.ts';
import type { Services } from './services.ts';

/** Checks a scratch file and records it as the session's media item; the scratch file is gone either way. */
async function admit(svc: Services, session: Session, scratch: { path: string; sizeBytes: number; sha256?: string }, name: string): Promise<MediaItem> {
  try {
    const { kind, info } = await identifyUpload(scratch.path, name);
    const blob = await svc.blobs.putFile(scratch.path, { ext: extensionOf(name), sha256: scratch.sha256 });
    return await svc.sessions.addMedia(session, { name, kind, storeKey: blob.key, sizeBytes: blob.sizeBytes, info });
  } finally {
    await svc.blobs.discard(scratch.path);
  }
}

function checkName(name: string): string {
  const clean = (name.split(/[\\/]/).pop() ?? '').replace(/[\u0000-\u001f]/g, '').slice(0, 200);
  if (!clean || !uploadKindOf(clean)) throw new VidscribeError(ErrorCode.UnsupportedFormat, unsupportedUploadMessage(clean || '(unnamed file)'));
  return clean;
}

export async function receiveMultipart(svc: Services, session: Session, parts: AsyncIterableIterator<MultipartFile | { type: 'field' }>): Promise<MediaItem[]> {
  const items: MediaItem[] = [];
  for await (const part of parts) {
    if (part.type !== 'file') continue;
    const file = part as MultipartFile;
    // Refuse a wrong format before reading a byte of it.
    const name = checkName(file.filename);
    const scratch = await svc.blobs.receive(file.file as Readable, { ext: extensionOf(name), maxBytes: svc.config.maxUploadBytes, name });
    items.push(await admit(svc, session, scratch, name));
  }
  if (items.length === 0) throw new VidscribeError(ErrorCode.BadRequest, 'No file in the upload: send multipart/form-data with one or more file fields, or JSON { "urls": [...] }');
  return items;
}

export async function receiveUrls(svc: Services, session: Session, urls: unknown): Promise<MediaItem[]> {
  if (!Array.isArray(urls) || urls.length === 0 || urls.length > 20 || !urls.every((u) => typeof u === 'string')) {
    throw new VidscribeError(ErrorCode.BadRequest, 'urls must be a list of 1 to 20 http(s) URLs');
  }
  const items: MediaItem[] = [];
  for (const url of urls as string[]) {
    const scratch = svc.blobs.scratchPath('download');
    const got = await fetchUrlToFile(url, scratch, { maxBytes: svc.config.maxUploadBytes, allowPrivate: svc.config.allowPrivateUrls });
    let name: string;
    try {
      name = checkName(got.fileName);
    } catch (e) {
      await svc.blobs.discard(scratch);
      throw e;
    }
    items.push(await admit(svc, session, { path: got.path, sizeBytes: got.bytes }, name));
  }
  return items;
}

/** The public view of a media item. */
export function mediaView(m: MediaItem) {
  const v = m.info.video[0];
  return {
    id: m.id, name: m.name, kind: m.kind, size_bytes: m.sizeBytes, duration: m.durationSec,
    ...(v ? { width: v.width, height: v.height, fps: v.fps } : {}),
    audio_streams: m.info.audio.length, container: m.info.container, created_at: new Date(m.createdAt).toISOString(),
  };
}
