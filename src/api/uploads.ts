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
import { ErrorCode, VidscribeError, isVidscribeError } from '../shared/errors.ts';
import { MIN_COUNTED_BYTES, checkQuota, countedBytes, quotaExceeded, type MediaItem, type Session } from '../sessions/sessions.ts';
import { type Job, JobType, isEnded } from '../jobs/queue.ts';
import { isOfType } from '../jobs/wait.ts';
import type { Services } from './services.ts';

interface CheckedUpload {
  name: string;
  path: string;
  sha256?: string;
  kind: UploadKind;
  info: MediaInfo;
}

/**
 * Upload requests one account may have in progress at once, in this process. Files wait in
 * scratch until their whole request is checked: without a bound, three requests of 20 links each
 * (downloaded by the server, so costing the sender nothing) held 332 MB of scratch at once.
 */
export const UPLOADS_AT_ONCE_PER_ACCOUNT = 3;
/**
 * /v1 files one account may be sending at once, in this process: an API client transcribing a
 * batch sends several at once (a request's place is free again once its file is stored and queued).
 */
export const ONE_OFF_UPLOADS_AT_ONCE_PER_ACCOUNT = 8;

/** Requests of one kind each account has in progress in this process, at most `max` at once. */
class InProgress {
  private readonly counts = new Map<string, number>();
  constructor(
    private readonly max: number,
    private readonly what: string,
  ) {}

  of(accountId: string): number {
    return this.counts.get(accountId) ?? 0;
  }

  /** A place (429 when all are taken); returns its release (safe to call twice). */
  take(accountId: string): () => void {
    const n = this.of(accountId);
    if (n >= this.max)
      throw new VidscribeError(ErrorCode.RateLimited, `This account has ${n} ${this.what} in progress, the most at once: wait for one to finish`);
    this.counts.set(accountId, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = this.of(accountId) - 1;
      if (left > 0) this.counts.set(accountId, left);
      else this.counts.delete(accountId);
    };
  }
}

const sessionUploads = new InProgress(UPLOADS_AT_ONCE_PER_ACCOUNT, 'uploads');
const oneOffUploads = new InProgress(ONE_OFF_UPLOADS_AT_ONCE_PER_ACCOUNT, '/v1 uploads');

/** Upload requests the account has in progress in this process now (for tests and diagnostics). */
export const uploadsInProgressOf = (accountId: string): number => sessionUploads.of(accountId);
/** /v1 files the account is sending now (for tests and diagnostics). */
export const oneOffUploadsInProgressOf = (accountId: string): number => oneOffUploads.of(accountId);
/** A place among the account's /v1 files in progress (429 when all are taken); returns its release. */
export const takeOneOffUploadSlot = (accountId: string): (() => void) => oneOffUploads.take(accountId);

/** What the account's storage quota counts: its sessions' uploads, and the files its one-off transcriptions (/v1) keep. */
export async function keptUploadBytes(svc: Services, accountId: string): Promise<{ total: number; oneOff: number }> {
  const [media, oneOff] = await Promise.all([svc.sessions.uploadedBytes(accountId), svc.queue.oneOffUploads(accountId, MIN_COUNTED_BYTES)]);
  return { total: media + oneOff.bytes, oneOff: oneOff.bytes };
}

/**
 * A one-off transcription's file (/v1), once its job has ended: removed from the store, then no
 * longer counted in the quota (in that order: a crash in between leaves it counted, not uncounted).
 * Only a file stored under a key of its own (ownBlob) is removed; one of before may be shared with
 * a session's upload, so it is only no longer counted. Nothing for a job not ended (`job` as last read).
 */
export async function releaseOneOffUpload(svc: Services, job: Job): Promise<void> {
  if (!isOfType(job, JobType.Transcribe) || !isEnded(job.state) || job.sessionId !== null) return;
  if (job.payload.ownBlob && job.payload.mediaId === null) await svc.blobs.remove(job.payload.storeKey);
  await svc.queue.forgetUpload(job.id);
}

/**
 * The files of every ended /v1 job that are still counted: those whose request was no longer
 * waiting when the job ended (its server stopped meanwhile, or its wait ran out). One that fails
 * is logged (`onError`) and left for the next sweep; `signal` stops it between jobs.
 */
export async function releaseEndedOneOffUploads(svc: Services, opts: { signal?: AbortSignal; onError: (e: unknown, jobId: string) => void }): Promise<void> {
  const BATCH = 100;
  let after = '';
  for (;;) {
    const ids = await svc.queue.endedOneOffUploads(BATCH, after);
    for (const id of ids) {
      if (opts.signal?.aborted) return;
      const job = await svc.queue.get(id);
      if (job) await releaseOneOffUpload(svc, job).catch((e) => opts.onError(e, id));
    }
    if (ids.length < BATCH) return;
    after = ids.at(-1)!;
  }
}

/** How much the next file of a request may be: the size limit, or what is left of the account's quota. */
export interface Room {
  next(): number;
  took(bytes: number): void;
  /** `e`, or the quota's own 4002 when `e` is a file cut off at a limit the quota set. */
  explain(e: unknown, limit: number): unknown;
  /** The /v1 files the account keeps, in bytes, as counted when the room was opened. */
  readonly oneOff: number;
}

/**
 * The room a request's files have in the account's quota (a session's upload or a /v1 file): a
 * full account is refused with 4002 before a byte is read; the exact count is made as the upload
 * is recorded.
 */
export async function openRoom(svc: Services, accountId: string): Promise<Room> {
  const quotaBytes = svc.config.quotaBytes;
  const maxBytes = svc.config.maxUploadBytes;
  const kept = quotaBytes === undefined ? { total: 0, oneOff: 0 } : await keptUploadBytes(svc, accountId);
  const used = kept.total;
  if (quotaBytes !== undefined) checkQuota(used, undefined, quotaBytes);
  let received = 0;
  return {
    oneOff: kept.oneOff,
    next: () => (quotaBytes === undefined ? maxBytes : Math.max(0, Math.min(maxBytes, quotaBytes - used - received))),
    took: (bytes) => {
      received += countedBytes(bytes);
    },
    // Cut off where the quota, not the size limit, set the end: said as the quota.
    explain: (e, limit) =>
      quotaBytes !== undefined && limit < maxBytes && isVidscribeError(e) && e.code === ErrorCode.FileTooLarge
        ? quotaExceeded(used, quotaBytes, { moreThan: quotaBytes - used })
        : e,
  };
}

/**
 * One request is all or nothing: every file is received and checked (ffprobe) in scratch first,
 * and only when all are good are they moved into the store and recorded as media items. A bad
 * file anywhere in the request leaves the session as it was.
 */
async function admitAll(
  svc: Services,
  session: Session,
  receive: (checked: CheckedUpload[], room: Room) => Promise<void>,
  onReceived: () => void = () => {},
): Promise<MediaItem[]> {
  const accountId = session.accountId;
  const releaseSlot = sessionUploads.take(accountId);
  const checked: CheckedUpload[] = [];
  const quotaBytes = svc.config.quotaBytes;
  try {
    const room = await openRoom(svc, accountId);
    // A full session, too, is refused before a byte is read.
    svc.sessions.checkMediaRoom(await svc.sessions.mediaCount(session.id), 1);
    await receive(checked, room);
    onReceived();
    if (checked.length === 0)
      throw new VidscribeError(ErrorCode.BadRequest, 'No file in the upload: send multipart/form-data with one or more file fields, or JSON { "urls": [...] }');
    // Counted before anything enters the store: a refused upload leaves no blob behind.
    svc.sessions.checkMediaRoom(await svc.sessions.mediaCount(session.id), checked.length);
    if (quotaBytes !== undefined) {
      let adding = 0;
      for (const c of checked) adding += countedBytes((await stat(c.path)).size);
      checkQuota((await keptUploadBytes(svc, accountId)).total, adding, quotaBytes);
    }
    const stored = [];
    for (const c of checked) {
      const blob = await svc.blobs.putFile(c.path, { ext: extensionOf(c.name), sha256: c.sha256 });
      stored.push({ name: c.name, kind: c.kind, storeKey: blob.key, sizeBytes: blob.sizeBytes, info: c.info });
    }
    // Recorded with the draft that follows them, in one step.
    // Counted again as they are recorded, exactly: the sessions' uploads within what /v1's files leave.
    return (await svc.sessions.addMediaToDraft(session, stored, { ...(quotaBytes !== undefined ? { quotaBytes: quotaBytes - room.oneOff } : {}) })).items;
  } finally {
    for (const c of checked) await svc.blobs.discard(c.path);
    releaseSlot();
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

/** `received`: called once the request's body is read whole (the checks and the store follow). */
export function receiveMultipart(
  svc: Services,
  session: Session,
  parts: AsyncIterableIterator<MultipartFile | { type: 'field' }>,
  received?: () => void,
): Promise<MediaItem[]> {
  return admitAll(
    svc,
    session,
    async (checked, room) => {
      for await (const part of parts) {
        if (part.type !== 'file') continue;
        const file = part as MultipartFile;
        // Refuse a wrong format before reading a byte of it.
        const name = checkName(file.filename);
        const limit = room.next();
        const scratch = await svc.blobs.receive(file.file as Readable, { ext: extensionOf(name), maxBytes: limit, name }).catch((e) => {
          throw room.explain(e, limit);
        });
        room.took(scratch.sizeBytes);
        await check(scratch, name, checked);
      }
    },
    received,
  );
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
  return admitAll(svc, session, async (checked, room) => {
    for (const url of urls as string[]) {
      const scratch = svc.blobs.scratchPath('download');
      const limit = room.next();
      // Listed before the download, so a file cut off part-way is discarded too.
      const entry = { name: 'download', path: scratch } as CheckedUpload;
      checked.push(entry);
      const got = await fetchUrlToFile(url, scratch, { maxBytes: limit, allowPrivate: svc.config.allowPrivateUrls, signal }).catch((e) => {
        throw room.explain(e, limit);
      });
      room.took((await stat(scratch)).size);
      const clean = cleanFileName(got.fileName) || 'download';
      entry.name = clean;
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
