/**
 * The blob store on any S3-compatible object store, for several nodes sharing one set of files.
 * Uploads still arrive in this node's own scratch folder, are checked there, and only then are
 * put under their real key (multipart for large files), so a failed or oversize upload leaves
 * nothing in the bucket. Reads stream from the bucket (a byte range when asked); ffmpeg and the
 * ASR worker need a file, so `localPath` keeps a copy in this node's cache folder, which this node
 * alone sweeps.
 */
import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { ErrorCode, VidscribeError } from '../shared/errors.ts';
import { type BlobStore, type ByteRange, type StoredBlob, checkKey, hashFile, keyOf, receiveInto, safeExt, unsharedKey } from './blob-store.ts';

export interface S3Location {
  bucket: string;
  /** Key prefix inside the bucket ('' or ending in '/'). */
  prefix: string;
  /** An S3-compatible server's URL; absent: AWS itself. */
  endpoint?: string;
  region?: string;
}

/**
 * `s3://bucket[/prefix]?endpoint=http://host:port&region=…`. Credentials never go in the URL
 * (it shows in process lists): they come from the standard AWS environment variables or profile.
 */
export function parseS3Url(url: string): S3Location {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new VidscribeError(ErrorCode.BadRequest, `--blobs must look like s3://bucket?endpoint=…&region=…, got "${url.slice(0, 80)}"`);
  }
  if (u.protocol !== 's3:') throw new VidscribeError(ErrorCode.BadRequest, `--blobs must be an s3:// URL, got "${url.slice(0, 80)}"`);
  if (u.username || u.password)
    throw new VidscribeError(ErrorCode.BadRequest, '--blobs: put credentials in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, not in the URL');
  const bucket = u.hostname;
  // S3 bucket naming rules: 3–63 lower-case letters, digits, dots and hyphens.
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket))
    throw new VidscribeError(ErrorCode.BadRequest, `--blobs: "${bucket.slice(0, 80)}" is not a bucket name`);
  const path = decodeURIComponent(u.pathname).replace(/^\/+|\/+$/g, '');
  if (path && !/^[A-Za-z0-9._\-/]{1,200}$/.test(path)) throw new VidscribeError(ErrorCode.BadRequest, `--blobs: unusual key prefix "${path.slice(0, 80)}"`);
  for (const k of u.searchParams.keys()) {
    if (k !== 'endpoint' && k !== 'region')
      throw new VidscribeError(ErrorCode.BadRequest, `--blobs: unknown parameter "${k.slice(0, 40)}" (known: endpoint, region)`);
  }
  const endpoint = u.searchParams.get('endpoint') ?? undefined;
  if (endpoint !== undefined) {
    const e = URL.canParse(endpoint) ? new URL(endpoint) : undefined;
    if (!e || (e.protocol !== 'http:' && e.protocol !== 'https:'))
      throw new VidscribeError(ErrorCode.BadRequest, `--blobs: endpoint must be an http(s) URL, got "${endpoint.slice(0, 80)}"`);
  }
  const region = u.searchParams.get('region') ?? undefined;
  return { bucket, prefix: path ? `${path}/` : '', ...(endpoint ? { endpoint } : {}), ...(region ? { region } : {}) };
}

/** S3 multipart parts: 8 MB (the minimum is 5 MB), four in flight. */
const PART_BYTES = 8 * 1024 * 1024;

/** Cached copies unused this long are removed by the node's periodic sweep. */
const CACHE_MAX_AGE_MS = 60 * 60_000;

export class S3BlobStore implements BlobStore {
  private readonly s3: S3Client;
  private readonly tmp: string;
  private readonly cache: string;
  private sweeper: NodeJS.Timeout | undefined;

  /** `dir`: this node's own folder (scratch files in tmp/, cached copies in cache/). */
  constructor(
    private readonly loc: S3Location,
    dir: string,
    credentials?: { accessKeyId: string; secretAccessKey: string },
  ) {
    this.tmp = join(dir, 'tmp');
    this.cache = join(dir, 'cache');
    this.s3 = new S3Client({
      region: loc.region ?? 'us-east-1',
      ...(loc.endpoint ? { endpoint: loc.endpoint, forcePathStyle: true } : {}),
      ...(credentials ? { credentials } : {}),
      // Checksums only where S3 requires them: S3-compatible servers do not all know the newer default ones.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  async init(): Promise<void> {
    await mkdir(this.tmp, { recursive: true });
    await mkdir(this.cache, { recursive: true });
    this.sweeper = setInterval(() => void this.sweepCache(CACHE_MAX_AGE_MS).catch(() => undefined), 10 * 60_000);
    this.sweeper.unref();
  }

  close(): void {
    clearInterval(this.sweeper);
    this.s3.destroy();
  }

  private objectKey(key: string): string {
    return this.loc.prefix + checkKey(key);
  }

  scratchPath(ext: string): string {
    return join(this.tmp, `${randomUUID()}.${safeExt(ext)}.partial`);
  }

  async sweepScratch(): Promise<void> {
    for (const f of await readdir(this.tmp).catch(() => [] as string[])) await rm(join(this.tmp, f), { force: true, recursive: true });
    await this.sweepCache(0);
  }

  /** Removes cached copies not used for `maxAgeMs`. */
  async sweepCache(maxAgeMs: number): Promise<void> {
    const cutoff = Date.now() - maxAgeMs;
    for (const f of await readdir(this.cache).catch(() => [] as string[])) {
      const p = join(this.cache, f);
      const s = await stat(p).catch(() => undefined);
      if (s && s.mtimeMs <= cutoff) await rm(p, { force: true });
    }
  }

  async discard(scratchPath: string): Promise<void> {
    await rm(scratchPath, { force: true });
  }

  receive(source: Readable, opts: { ext: string; maxBytes: number; name?: string }): Promise<{ path: string; sizeBytes: number; sha256: string }> {
    return receiveInto(this.scratchPath(opts.ext), source, opts);
  }

  async put(source: Readable, opts: { ext: string; maxBytes: number; name?: string }): Promise<StoredBlob> {
    const r = await this.receive(source, opts);
    return this.putFile(r.path, { ext: opts.ext, sha256: r.sha256 });
  }

  async putFile(path: string, opts: { ext: string; sha256?: string }): Promise<StoredBlob> {
    try {
      const { sha256, sizeBytes } = opts.sha256 ? { sha256: opts.sha256, sizeBytes: (await stat(path)).size } : await hashFile(path);
      const key = keyOf(sha256, opts.ext);
      const existing = await this.head(key);
      if (existing?.sizeBytes !== sizeBytes) await this.upload(path, key, sizeBytes);
      return { key, sizeBytes, sha256 };
    } finally {
      await rm(path, { force: true });
    }
  }

  async putUnshared(path: string, opts: { ext: string; sha256: string }): Promise<StoredBlob> {
    try {
      const key = unsharedKey(opts.ext);
      const { size } = await stat(path);
      await this.upload(path, key, size);
      return { key, sizeBytes: size, sha256: opts.sha256 };
    } finally {
      await rm(path, { force: true });
    }
  }

  /** Upload picks a single PUT for small files and a multipart upload (aborted on failure) for large ones. */
  private async upload(path: string, key: string, sizeBytes: number): Promise<void> {
    await new Upload({
      client: this.s3,
      params: { Bucket: this.loc.bucket, Key: this.objectKey(key), Body: createReadStream(path), ContentLength: sizeBytes },
      partSize: PART_BYTES,
      queueSize: 4,
      leavePartsOnError: false,
    }).done();
  }

  async remove(key: string): Promise<void> {
    // S3 answers a delete of a missing key with success too; this node's cached copy goes with it.
    await this.s3.send(new DeleteObjectCommand({ Bucket: this.loc.bucket, Key: this.objectKey(key) }));
    await rm(join(this.cache, checkKey(key)), { force: true });
  }

  private async head(key: string): Promise<{ sizeBytes: number } | undefined> {
    try {
      const r = await this.s3.send(new HeadObjectCommand({ Bucket: this.loc.bucket, Key: this.objectKey(key) }));
      return { sizeBytes: r.ContentLength ?? 0 };
    } catch (e) {
      if (isMissing(e)) return undefined;
      throw e;
    }
  }

  async stat(key: string): Promise<{ sizeBytes: number }> {
    const h = await this.head(key);
    if (!h) throw new VidscribeError(ErrorCode.NotFound, `stored file ${key} is missing`);
    return h;
  }

  async open(key: string, range?: ByteRange): Promise<{ stream: Readable; sizeBytes: number }> {
    try {
      const r = await this.s3.send(
        new GetObjectCommand({ Bucket: this.loc.bucket, Key: this.objectKey(key), ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}) }),
      );
      // A ranged answer carries the whole size after the slash of Content-Range.
      const total = range && r.ContentRange ? Number(r.ContentRange.split('/')[1]) : r.ContentLength;
      return { stream: r.Body as Readable, sizeBytes: total ?? 0 };
    } catch (e) {
      if (isMissing(e)) throw new VidscribeError(ErrorCode.NotFound, `stored file ${key} is missing`, { cause: e });
      throw e;
    }
  }

  async localPath(key: string): Promise<string> {
    const dest = join(this.cache, checkKey(key));
    const now = new Date();
    // A cached copy is touched on use so the periodic sweep keeps it while it is in use.
    if (
      await utimes(dest, now, now).then(
        () => true,
        () => false,
      )
    )
      return dest;
    const { stream } = await this.open(key);
    const tmp = this.scratchPath(key.slice(key.lastIndexOf('.') + 1));
    try {
      await pipeline(stream, createWriteStream(tmp));
      await rename(tmp, dest);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
    return dest;
  }
}

function isMissing(e: unknown): boolean {
  const err = e as { name?: string; $metadata?: { httpStatusCode?: number } };
  return err?.name === 'NoSuchKey' || err?.name === 'NotFound' || err?.$metadata?.httpStatusCode === 404;
}
