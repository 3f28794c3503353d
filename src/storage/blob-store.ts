/**
 * Where uploaded media and results live. The embedded default is a content-addressed folder on
 * local disk; an S3 store implements the same interface. Bytes always arrive under a temporary
 * name and are moved into place only when complete, so a crash never leaves half a file under a
 * real key and nothing already stored is overwritten by a failed upload.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ErrorCode, VidscribeError } from '../shared/errors.ts';

export interface StoredBlob {
  /** `<sha256>.<ext>`: the same bytes are stored once (putUnshared: a random name of that form). */
  key: string;
  sizeBytes: number;
  sha256: string;
}

export interface BlobStore {
  /**
   * Streams `source` into the store. Past `maxBytes` it stops reading and fails with 4002
   * (FileTooLarge); on any failure nothing is left behind.
   */
  put(source: Readable, opts: { ext: string; maxBytes: number; name?: string }): Promise<StoredBlob>;
  /** Like put, but into a scratch file the caller inspects first, then passes to putFile (with its hash) or discards. */
  receive(source: Readable, opts: { ext: string; maxBytes: number; name?: string }): Promise<{ path: string; sizeBytes: number; sha256: string }>;
  /** Moves a finished local scratch file (a checked upload, a render) into the store; the scratch file is gone afterwards. */
  putFile(path: string, opts: { ext: string; sha256?: string }): Promise<StoredBlob>;
  /**
   * Like putFile, but under a key of its own (random, not the content's hash) that no other bytes
   * or record will share, so its one owner can remove it when done with it (a /v1 upload, once its
   * job has ended). A content-addressed blob is shared by every record of the same bytes.
   */
  putUnshared(path: string, opts: { ext: string; sha256: string }): Promise<StoredBlob>;
  /** Removes a blob putUnshared stored (a content-addressed one may be shared); a key not stored is no error. */
  remove(key: string): Promise<void>;
  discard(scratchPath: string): Promise<void>;
  /** A local path ffmpeg can read (for a remote store, a copy in this node's cache folder). */
  localPath(key: string): Promise<string>;
  /** The stored size; 4104 (NotFound) for a key that is not stored. */
  stat(key: string): Promise<{ sizeBytes: number }>;
  /** Streams the stored bytes, or only `range` (inclusive byte offsets) of them; `sizeBytes` is the whole blob's size. */
  open(key: string, range?: ByteRange): Promise<{ stream: Readable; sizeBytes: number }>;
  /** A scratch file path for work in progress (downloads, renders), in this node's own scratch folder. */
  scratchPath(ext: string): string;
  /** Removes scratch files a killed process left behind (this node's folder only). */
  sweepScratch(): Promise<void>;
}

/** Inclusive byte offsets, as in an HTTP Range header. */
export interface ByteRange {
  start: number;
  end: number;
}

const KEY_RE = /^[0-9a-f]{64}\.[a-z0-9]{1,8}$/;

/** Refuses anything that is not a key this store hands out (`<sha256>.<ext>`), so no key names a path or another prefix. */
export function checkKey(key: string): string {
  if (!KEY_RE.test(key)) throw new VidscribeError(ErrorCode.NotFound, `no stored file ${key.slice(0, 80)}`);
  return key;
}

/** A key no content hashes to in practice: 32 random bytes in the place of a sha256 (putUnshared). */
export const unsharedKey = (ext: string): string => keyOf(randomBytes(32).toString('hex'), ext);

export function keyOf(sha256: string, ext: string): string {
  return `${sha256}.${safeExt(ext)}`;
}

/** Streams `source` into the file `tmp`, counting and hashing; past maxBytes it fails with 4002 and removes the file. */
export async function receiveInto(
  tmp: string,
  source: Readable,
  opts: { maxBytes: number; name?: string },
): Promise<{ path: string; sizeBytes: number; sha256: string }> {
  const hash = createHash('sha256');
  let size = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      size += chunk.length;
      if (size > opts.maxBytes) {
        const mb = (opts.maxBytes / 1024 / 1024).toFixed(0);
        cb(new VidscribeError(ErrorCode.FileTooLarge, `${opts.name ?? 'the file'} is larger than the ${mb} MB limit`, { data: { maxBytes: opts.maxBytes } }));
        return;
      }
      hash.update(chunk);
      cb(null, chunk);
    },
  });
  try {
    await pipeline(source, counter, createWriteStream(tmp));
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  return { path: tmp, sizeBytes: size, sha256: hash.digest('hex') };
}

/** The sha256 and size of a local file. */
export async function hashFile(path: string): Promise<{ sha256: string; sizeBytes: number }> {
  const hash = createHash('sha256');
  let size = 0;
  await pipeline(
    createReadStream(path),
    new Transform({
      transform(chunk: Buffer, _e, cb) {
        size += chunk.length;
        hash.update(chunk);
        cb();
      },
    }),
  );
  return { sha256: hash.digest('hex'), sizeBytes: size };
}

export function safeExt(ext: string): string {
  const e = ext.toLowerCase().replace(/^\./, '');
  return /^[a-z0-9]{1,8}$/.test(e) ? e : 'bin';
}

export class LocalBlobStore implements BlobStore {
  private readonly root: string;
  private readonly tmp: string;

  constructor(dir: string) {
    this.root = join(dir, 'blobs');
    this.tmp = join(dir, 'tmp');
  }

  async init(): Promise<void> {
    await mkdir(this.root, { recursive: true });
    await mkdir(this.tmp, { recursive: true });
  }

  scratchPath(ext: string): string {
    return join(this.tmp, `${randomUUID()}.${safeExt(ext)}.partial`);
  }

  async sweepScratch(): Promise<void> {
    for (const f of await readdir(this.tmp).catch(() => [] as string[])) await rm(join(this.tmp, f), { force: true, recursive: true });
  }

  async put(source: Readable, opts: { ext: string; maxBytes: number; name?: string }): Promise<StoredBlob> {
    const r = await this.receive(source, opts);
    return this.commit(r.path, r.sha256, r.sizeBytes, opts.ext);
  }

  async discard(scratchPath: string): Promise<void> {
    await rm(scratchPath, { force: true });
  }

  async receive(source: Readable, opts: { ext: string; maxBytes: number; name?: string }): Promise<{ path: string; sizeBytes: number; sha256: string }> {
    return receiveInto(this.scratchPath(opts.ext), source, opts);
  }

  async putFile(path: string, opts: { ext: string; sha256?: string }): Promise<StoredBlob> {
    if (opts.sha256) return this.commit(path, opts.sha256, (await stat(path)).size, opts.ext);
    const h = await hashFile(path);
    return this.commit(path, h.sha256, h.sizeBytes, opts.ext);
  }

  async putUnshared(path: string, opts: { ext: string; sha256: string }): Promise<StoredBlob> {
    const key = unsharedKey(opts.ext);
    const { size } = await stat(path);
    await mkdir(join(this.root, key.slice(0, 2)), { recursive: true });
    await rename(path, this.pathOf(key));
    return { key, sizeBytes: size, sha256: opts.sha256 };
  }

  async remove(key: string): Promise<void> {
    await rm(this.pathOf(key), { force: true });
  }

  private async commit(tmp: string, sha256: string, sizeBytes: number, ext: string): Promise<StoredBlob> {
    const key = keyOf(sha256, ext);
    const dest = this.pathOf(key);
    await mkdir(join(this.root, key.slice(0, 2)), { recursive: true });
    const existing = await stat(dest).catch(() => undefined);
    if (existing?.size === sizeBytes) await rm(tmp, { force: true });
    else await rename(tmp, dest);
    return { key, sizeBytes, sha256 };
  }

  private pathOf(key: string): string {
    checkKey(key);
    return join(this.root, key.slice(0, 2), key);
  }

  async localPath(key: string): Promise<string> {
    const p = this.pathOf(key);
    await stat(p).catch((e) => {
      throw new VidscribeError(ErrorCode.NotFound, `stored file ${key} is missing`, { cause: e });
    });
    return p;
  }

  async stat(key: string): Promise<{ sizeBytes: number }> {
    const { size } = await stat(await this.localPath(key));
    return { sizeBytes: size };
  }

  async open(key: string, range?: ByteRange): Promise<{ stream: Readable; sizeBytes: number }> {
    const p = await this.localPath(key);
    const { size } = await stat(p);
    return { stream: createReadStream(p, range ? { start: range.start, end: range.end } : {}), sizeBytes: size };
  }
}
