/**
 * Turning uploads into media items: multipart files streamed to scratch (never buffered
 * whole, cut off at the size limit), or URLs downloaded with the SSRF guard; each checked by
 * content (ffprobe) and only then moved into the blob store and recorded.
 */
import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { MultipartFile } from '@fastify/multipart';
import {
  extensionForContent,
  extensionOf,
  extensionOfContentType,
  fetchUrlToFile,
  identifyUpload,
  unsupportedUploadMessage,
  uploadKindOf,
  type MediaInfo,
  type UploadKind,
} from '../media/index.ts';
import { ErrorCode, VidscribeError } from '../shared/errors.ts';
import { checkQuota, countedBytes, type MediaItem, type Session } from '../sessions/sessions.ts';
import type { Services } from './services.ts';

interface CheckedUpload {
  name: string;
  path: string;
  sha256?: string;
  kind: UploadKind;
  info: MediaInfo;
}

/**
 * One request is all or nothing: every file is received and checked (ffprobe) in scratch first,
 * and only when all are good are they moved into the store and recorded as media items. A bad
 * file anywhere in the request leaves the session as it was.
 */
async function admitAll(svc: Services, session: Session, receive: (checked: CheckedUpload[]) => Promise<void>): Promise<MediaItem[]> {
  const checked: CheckedUpload[] = [];
  const quotaBytes = svc.config.quotaBytes;
  // A full account is refused before a byte is read; the exact count is made as the upload is recorded.
  if (quotaBytes !== undefined) checkQuota(await svc.sessions.uploadedBytes(session.accountId), undefined, quotaBytes);
  try {
    await receive(checked);
    if (checked.length === 0)
      throw new VidscribeError(ErrorCode.BadRequest, 'No file in the upload: send multipart/form-data with one or more file fields, or JSON { "urls": [...] }');
    // Counted before anything enters the store: a refused upload leaves no blob behind.
    if (quotaBytes !== undefined) {
      let adding = 0;
      for (const c of checked) adding += countedBytes((await stat(c.path)).size);
      checkQuota(await svc.sessions.uploadedBytes(session.accountId), adding, quotaBytes);
    }
    const stored = [];
    for (const c of checked) {
      const blob = await svc.blobs.putFile(c.path, { ext: extensionOf(c.name), sha256: c.sha256 });
      stored.push({ name: c.name, kind: c.kind, storeKey: blob.key, sizeBytes: blob.sizeBytes, info: c.info });
    }
    // Recorded with the draft that follows them, in one step.
    return (await svc.sessions.addMediaToDraft(session, stored, { ...(quotaBytes !== undefined ? { quotaBytes } : {}) })).items;
  } finally {
    for (const c of checked) await svc.blobs.discard(c.path);
  }
}

async function check(scratch: { path: string; sha256?: string }, name: string, into: CheckedUpload[]): Promise<void> {
  // Listed first, so the scratch file is discarded whatever identifyUpload says.
  const entry = { name, path: scratch.path, sha256: scratch.sha256 } as CheckedUpload;
  into.push(entry);
  Object.assign(entry, await identifyUpload(scratch.path, name));
}

/** Longest file name kept; a longer one keeps its extension and loses the end of its stem. */
export const MAX_NAME_CHARS = 200;

/** The name a user gave a file, made safe to store and show: no folders, no control characters, bounded, extension kept. */
export function cleanFileName(name: string): string {
  const base = (name.slice(-4096).split(/[\\/]/).pop() ?? '').replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, '').trim();
  const chars = Array.from(base);
  if (chars.length <= MAX_NAME_CHARS) return base;
  const dot = base.lastIndexOf('.');
  const ext = dot > 0 && base.length - dot <= 10 ? base.slice(dot) : '';
  return (
    Array.from(base.slice(0, base.length - ext.length))
      .slice(0, MAX_NAME_CHARS - ext.length)
      .join('') + ext
  );
}

function checkName(name: string): string {
  const clean = cleanFileName(name);
  if (!clean || !uploadKindOf(clean)) throw new VidscribeError(ErrorCode.UnsupportedFormat, unsupportedUploadMessage(clean || '(unnamed file)'));
  return clean;
}

export function receiveMultipart(svc: Services, session: Session, parts: AsyncIterableIterator<MultipartFile | { type: 'field' }>): Promise<MediaItem[]> {
  return admitAll(svc, session, async (checked) => {
    for await (const part of parts) {
      if (part.type !== 'file') continue;
      const file = part as MultipartFile;
      // Refuse a wrong format before reading a byte of it.
      const name = checkName(file.filename);
      const scratch = await svc.blobs.receive(file.file as Readable, { ext: extensionOf(name), maxBytes: svc.config.maxUploadBytes, name });
      await check(scratch, name, checked);
    }
  });
}

/**
 * `signal`: the request's own (aborted when the client goes): every download and probe stops with it.
 * A link is judged by what it serves: its name's extension when it has one we accept, else its
 * Content-Type, and in every case by its content (ffprobe); an extensionless name gets the
 * content's extension.
 */
export function receiveUrls(svc: Services, session: Session, urls: unknown, signal?: AbortSignal): Promise<MediaItem[]> {
  if (!Array.isArray(urls) || urls.length === 0 || urls.length > 20 || !urls.every((u) => typeof u === 'string')) {
    return Promise.reject(new VidscribeError(ErrorCode.BadRequest, 'urls must be a list of 1 to 20 http(s) URLs'));
  }
  return admitAll(svc, session, async (checked) => {
    for (const url of urls as string[]) {
      const scratch = svc.blobs.scratchPath('download');
      const got = await fetchUrlToFile(url, scratch, { maxBytes: svc.config.maxUploadBytes, allowPrivate: svc.config.allowPrivateUrls, signal });
      const clean = cleanFileName(got.fileName) || 'download';
      // Listed first, so the scratch file is discarded whatever the checks say.
      const entry = { name: clean, path: scratch } as CheckedUpload;
      checked.push(entry);
      const named = uploadKindOf(clean) !== undefined;
      const typeExt = extensionOfContentType(got.contentType);
      const claimed = named ? undefined : typeExt ? uploadKindOf(`x.${typeExt}`) : 'any';
      Object.assign(entry, await identifyUpload(scratch, clean, { signal, claimed }));
      if (!named) {
        const ext = extensionForContent(entry.info.container, typeExt);
        if (!ext) throw new VidscribeError(ErrorCode.UnsupportedFormat, unsupportedUploadMessage(clean));
        entry.name = cleanFileName(`${clean}.${ext}`);
      }
    }
  });
}

/** The public view of a media item. */
export function mediaView(m: MediaItem) {
  const v = m.info.video[0];
  return {
    id: m.id,
    name: m.name,
    kind: m.kind,
    size_bytes: m.sizeBytes,
    duration: m.durationSec,
    ...(v ? { width: v.width, height: v.height, fps: v.fps } : {}),
    audio_streams: m.info.audio.length,
    container: m.info.container,
    created_at: new Date(m.createdAt).toISOString(),
  };
}
