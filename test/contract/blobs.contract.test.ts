/**
 * The blob store contract, run against the local folder store and the S3 store (on s3rver, a real
 * S3 API server in this process — no MinIO package is available here), and the download route's
 * byte ranges over HTTP on both.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, type Readable as ReadableT } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { type BlobStore, LocalBlobStore } from '../../src/storage/blob-store.ts';
import { S3BlobStore, parseS3Url } from '../../src/storage/s3-blob-store.ts';
import { signLink } from '../../src/api/http.ts';
import { startS3, type S3Server } from '../helpers/s3.ts';
import { newUser, startServer, type TestServer } from '../helpers/server.ts';

interface Subject {
  name: string;
  store: BlobStore;
  /** This node's own folder (scratch lives under it). */
  dir: string;
  /** Every key stored under a real name. */
  storedKeys(): Promise<string[]>;
  /** S3 only: how each write of `key` reached the server. */
  writesOf?(key: string): ('put' | 'multipart')[];
  close(): Promise<void>;
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    if (e.isDirectory()) out.push(...(await walk(join(dir, e.name))));
    else out.push(e.name);
  }
  return out;
}

async function localSubject(): Promise<Subject> {
  const dir = mkdtempSync(join(tmpdir(), 'vidscribe-blobs-local-'));
  const store = new LocalBlobStore(dir);
  await store.init();
  return { name: 'local', store, dir, storedKeys: () => walk(join(dir, 'blobs')), close: async () => rmSync(dir, { recursive: true, force: true }) };
}

async function s3Subject(): Promise<Subject> {
  const server: S3Server = await startS3();
  const dir = mkdtempSync(join(tmpdir(), 'vidscribe-blobs-s3-'));
  const store = new S3BlobStore(parseS3Url(server.url), dir, server.credentials);
  await store.init();
  const client = new S3Client({ region: server.region, endpoint: server.endpoint, forcePathStyle: true, credentials: server.credentials });
  return {
    name: 's3',
    store,
    dir,
    async storedKeys() {
      const r = await client.send(new ListObjectsV2Command({ Bucket: server.bucket }));
      return (r.Contents ?? []).map((o) => o.Key ?? '');
    },
    writesOf: (key) => server.writes.filter((w) => w.key === key).map((w) => w.how),
    async close() {
      store.close();
      client.destroy();
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function readAll(s: ReadableT): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks);
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

for (const make of [localSubject, s3Subject]) {
  describe(`blob store contract: ${make.name.replace('Subject', '')}`, () => {
    let s: Subject;
    before(async () => {
      s = await make();
    });
    after(async () => s?.close());

    test('put, then open returns the same bytes under a content-addressed key', async () => {
      const bytes = randomBytes(10_000);
      const blob = await s.store.put(Readable.from([bytes]), { ext: 'MP4', maxBytes: 1e6 });
      assert.equal(blob.key, `${sha(bytes)}.mp4`);
      assert.equal(blob.sizeBytes, bytes.length);
      const { stream, sizeBytes } = await s.store.open(blob.key);
      assert.equal(sizeBytes, bytes.length);
      assert.deepEqual(await readAll(stream), bytes);
      assert.deepEqual(await s.store.stat(blob.key), { sizeBytes: bytes.length });
    });

    test('receive into scratch, then putFile stores it and leaves no scratch file', async () => {
      const bytes = randomBytes(3000);
      const r = await s.store.receive(Readable.from([bytes]), { ext: 'wav', maxBytes: 1e6 });
      assert.equal(r.sha256, sha(bytes));
      assert.deepEqual(readFileSync(r.path), bytes);
      assert.ok(!(await s.storedKeys()).includes(`${r.sha256}.wav`), 'nothing under the real key before putFile');
      const blob = await s.store.putFile(r.path, { ext: 'wav', sha256: r.sha256 });
      assert.equal(blob.key, `${sha(bytes)}.wav`);
      assert.deepEqual(await readAll((await s.store.open(blob.key)).stream), bytes);
      assert.deepEqual(await readdir(join(s.dir, 'tmp')), []);
    });

    test('putFile without a hash computes it', async () => {
      const bytes = randomBytes(500);
      const p = s.store.scratchPath('srt');
      writeFileSync(p, bytes);
      const blob = await s.store.putFile(p, { ext: 'srt' });
      assert.equal(blob.key, `${sha(bytes)}.srt`);
    });

    test('the same bytes are stored once', async () => {
      const bytes = randomBytes(2000);
      const a = await s.store.put(Readable.from([bytes]), { ext: 'mp3', maxBytes: 1e6 });
      const b = await s.store.put(Readable.from([bytes]), { ext: 'mp3', maxBytes: 1e6 });
      assert.equal(a.key, b.key);
      assert.equal((await s.storedKeys()).filter((k) => k.endsWith(a.key)).length, 1);
      if (s.writesOf) assert.deepEqual(s.writesOf(a.key), ['put'], 'the second put of the same bytes sends nothing');
    });

    test('past maxBytes: 4002, and nothing is left under a real key or in scratch', async () => {
      const before = (await s.storedKeys()).sort();
      const bytes = randomBytes(5000);
      await assert.rejects(
        s.store.put(Readable.from([bytes.subarray(0, 2500), bytes.subarray(2500)]), { ext: 'mp4', maxBytes: 4000, name: 'big.mp4' }),
        (e: Error & { code?: number }) => {
          assert.equal(e.code, 4002);
          assert.match(e.message, /big\.mp4/);
          return true;
        },
      );
      assert.deepEqual((await s.storedKeys()).sort(), before);
      assert.deepEqual(await readdir(join(s.dir, 'tmp')), []);
    });

    test('a missing key is NotFound (4104); a key that is not a content hash is refused the same way', async () => {
      const missing = `${'0'.repeat(64)}.mp4`;
      for (const key of [missing, '../../etc/passwd', 'a/b.mp4', `${'A'.repeat(64)}.mp4`]) {
        for (const op of [() => s.store.open(key), () => s.store.localPath(key), () => s.store.stat(key)]) {
          await assert.rejects(op(), (e: Error & { code?: number }) => {
            assert.equal(e.code, 4104, `${key}: ${e.message}`);
            return true;
          });
        }
      }
    });

    test('putUnshared: a key of its own for the same bytes each time, which remove deletes without touching the content-addressed copy', async () => {
      const bytes = randomBytes(3000);
      const shared = await s.store.put(Readable.from([bytes]), { ext: 'wav', maxBytes: 1e6 });
      const own = async () => {
        const r = await s.store.receive(Readable.from([bytes]), { ext: 'wav', maxBytes: 1e6 });
        return s.store.putUnshared(r.path, { ext: 'wav', sha256: r.sha256 });
      };
      const [a, b] = [await own(), await own()];
      for (const blob of [a, b]) {
        assert.match(blob.key, /^[0-9a-f]{64}\.wav$/);
        assert.notEqual(blob.key, shared.key);
        assert.equal(blob.sizeBytes, bytes.length);
        assert.equal(blob.sha256, sha(bytes), "the content's hash, though the key is not");
        assert.deepEqual(await readAll((await s.store.open(blob.key)).stream), bytes);
      }
      assert.notEqual(a.key, b.key);
      assert.deepEqual(await readdir(join(s.dir, 'tmp')), [], 'no scratch file left');
      const cached = await s.store.localPath(a.key);
      await s.store.remove(a.key);
      await assert.rejects(s.store.open(a.key), (e: Error & { code?: number }) => e.code === 4104);
      await assert.rejects(s.store.stat(a.key), (e: Error & { code?: number }) => e.code === 4104);
      assert.ok(!existsSync(cached), 'no copy of it is left on this node (S3: its cached copy)');
      assert.ok(!(await s.storedKeys()).some((k) => k.endsWith(a.key)));
      assert.deepEqual(await readAll((await s.store.open(b.key)).stream), bytes, 'the other copy stays');
      assert.deepEqual(await readAll((await s.store.open(shared.key)).stream), bytes, 'the shared copy stays');
      await s.store.remove(a.key); // removing what is gone is no error
      await assert.rejects(s.store.remove('../../etc/passwd'), (e: Error & { code?: number }) => e.code === 4104, 'a key that names a path is refused');
    });

    test('open with a byte range streams only that range and reports the whole size', async () => {
      const bytes = randomBytes(100_000);
      const blob = await s.store.put(Readable.from([bytes]), { ext: 'mp4', maxBytes: 1e6 });
      const { stream, sizeBytes } = await s.store.open(blob.key, { start: 1000, end: 1999 });
      assert.equal(sizeBytes, bytes.length);
      assert.deepEqual(await readAll(stream), bytes.subarray(1000, 2000));
      const tail = await s.store.open(blob.key, { start: bytes.length - 10, end: bytes.length - 1 });
      assert.deepEqual(await readAll(tail.stream), bytes.subarray(bytes.length - 10));
    });

    test('a large file (several multipart parts) round-trips', async () => {
      // 20 MB: three parts of the S3 store's 8 MB (the S3 minimum part is 5 MB).
      const bytes = randomBytes(20 * 1024 * 1024);
      const blob = await s.store.put(Readable.from([bytes.subarray(0, 7e6), bytes.subarray(7e6)]), { ext: 'mov', maxBytes: 50 * 1024 * 1024 });
      assert.equal(blob.sizeBytes, bytes.length);
      const back = await readAll((await s.store.open(blob.key)).stream);
      assert.equal(back.length, bytes.length);
      assert.equal(sha(back), sha(bytes));
      if (s.writesOf) assert.deepEqual(s.writesOf(blob.key), ['multipart']);
    });

    test('localPath gives a readable file with the stored bytes, in this node’s folder', async () => {
      const bytes = randomBytes(4096);
      const blob = await s.store.put(Readable.from([bytes]), { ext: 'wav', maxBytes: 1e6 });
      const p = await s.store.localPath(blob.key);
      assert.ok(p.startsWith(s.dir), p);
      assert.deepEqual(readFileSync(p), bytes);
      assert.equal(await s.store.localPath(blob.key), p, 'a second call reuses the copy');
    });

    test('sweepScratch removes scratch debris and this node’s cached copies; the stored blobs stay', async () => {
      const blob = await s.store.put(Readable.from([randomBytes(100)]), { ext: 'wav', maxBytes: 1e6 });
      await s.store.localPath(blob.key);
      writeFileSync(s.store.scratchPath('mp4'), 'debris');
      await s.store.sweepScratch();
      assert.deepEqual(await readdir(join(s.dir, 'tmp')), []);
      assert.deepEqual(await readdir(join(s.dir, 'cache')).catch(() => []), []);
      assert.equal((await s.store.stat(blob.key)).sizeBytes, 100);
      assert.equal(readFileSync(await s.store.localPath(blob.key)).length, 100);
    });

    // The local store reads its blobs in place: it keeps no cache to sweep.
    if (make === s3Subject)
      test('the periodic cache sweep removes copies unused for the age given and keeps the rest', async () => {
        const store = s.store as S3BlobStore;
        const [a, b] = await Promise.all([1, 2].map((n) => store.put(Readable.from([randomBytes(50 + n)]), { ext: 'wav', maxBytes: 1e6 })));
        const old = await store.localPath(a!.key);
        const fresh = await store.localPath(b!.key);
        const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
        utimesSync(old, twoHoursAgo, twoHoursAgo);
        await store.sweepCache(3600_000);
        assert.ok(!existsSync(old), 'the copy unused for two hours is gone');
        assert.ok(existsSync(fresh), 'the fresh copy stays');
      });
  });
}

describe('parseS3Url (--blobs)', () => {
  test('bucket, prefix, endpoint and region', () => {
    assert.deepEqual(parseS3Url('s3://media-bucket?endpoint=http%3A%2F%2F127.0.0.1%3A9000&region=eu-west-1'), {
      bucket: 'media-bucket',
      prefix: '',
      endpoint: 'http://127.0.0.1:9000',
      region: 'eu-west-1',
    });
    assert.deepEqual(parseS3Url('s3://media-bucket/vidscribe/prod/?region=us-east-2'), {
      bucket: 'media-bucket',
      prefix: 'vidscribe/prod/',
      region: 'us-east-2',
    });
    assert.deepEqual(parseS3Url('s3://abc?endpoint=https://s3.example.org'), { bucket: 'abc', prefix: '', endpoint: 'https://s3.example.org' });
  });

  test('refuses what is not an S3 location, credentials in the URL, unknown parameters and odd endpoints', () => {
    for (const bad of [
      'http://bucket',
      'not a url',
      's3://Bad_Bucket',
      's3://ab',
      's3://key:secret@bucket',
      's3://bucket?acl=public',
      's3://bucket?endpoint=file:///etc',
      's3://bucket?endpoint=nonsense',
      's3://bucket/a%20b?region=a',
    ]) {
      assert.throws(
        () => parseS3Url(bad),
        (e: Error & { code?: number }) => e.code === 400,
        bad,
      );
    }
  });
});

for (const kind of ['local', 's3'] as const) {
  describe(`GET /api/files/:id over HTTP, ${kind} blobs: one byte range (206), the whole file otherwise`, () => {
    let srv: TestServer;
    let s3: S3Server | undefined;
    let url: string;
    const bytes = randomBytes(300_000);
    before(async () => {
      if (kind === 's3') {
        s3 = await startS3();
        // The S3 store takes its credentials the standard AWS way, as a deployment would.
        Object.assign(process.env, s3.env);
      }
      srv = await startServer({ noWorkers: true, ...(s3 ? { blobs: s3.url } : {}) });
      const u = await newUser(srv.url);
      const blob = await srv.svc.blobs.put(Readable.from([bytes]), { ext: 'mp4', maxBytes: 1e6 });
      const f = await srv.svc.sessions.addFile({
        accountId: u.accountId,
        sessionId: u.sessionId,
        jobId: null,
        name: 'export.mp4',
        contentType: 'video/mp4',
        storeKey: blob.key,
        sizeBytes: blob.sizeBytes,
      });
      url = srv.url + signLink(srv.svc.secret, 'file', f.id, srv.svc.now() + 60_000);
    });
    after(async () => {
      await srv?.close();
      await s3?.stop();
    });

    test('whole file: 200, Accept-Ranges, the bytes', async () => {
      const r = await fetch(url);
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('accept-ranges'), 'bytes');
      assert.equal(r.headers.get('content-type'), 'video/mp4');
      assert.match(r.headers.get('content-disposition') ?? '', /export\.mp4/);
      assert.deepEqual(Buffer.from(await r.arrayBuffer()), bytes);
    });

    test('bytes=N-M, bytes=N- and bytes=-N: 206 with Content-Range and only those bytes', async () => {
      for (const [header, start, end] of [
        ['bytes=100-199', 100, 199],
        ['bytes=299990-', 299_990, 299_999],
        ['bytes=-5', 299_995, 299_999],
        ['bytes=0-999999', 0, 299_999],
      ] as const) {
        const r = await fetch(url, { headers: { range: header } });
        assert.equal(r.status, 206, header);
        assert.equal(r.headers.get('content-range'), `bytes ${start}-${end}/300000`, header);
        assert.equal(Number(r.headers.get('content-length')), end - start + 1, header);
        assert.deepEqual(Buffer.from(await r.arrayBuffer()), bytes.subarray(start, end + 1), header);
      }
    });

    test('a range past the end is 416; several ranges get the whole file (one range per request)', async () => {
      const past = await fetch(url, { headers: { range: 'bytes=300000-' } });
      assert.equal(past.status, 416);
      assert.equal(past.headers.get('content-range'), 'bytes */300000');
      await past.arrayBuffer();
      const multi = await fetch(url, { headers: { range: 'bytes=0-10,20-30' } });
      assert.equal(multi.status, 200);
      assert.equal((await multi.arrayBuffer()).byteLength, bytes.length);
    });

    test('the link still decides: a bad signature gets no bytes, range or not', async () => {
      const forged = new URL(url);
      forged.searchParams.set('sig', Buffer.alloc(32, 7).toString('base64url'));
      const r = await fetch(forged, { headers: { range: 'bytes=0-9' } });
      assert.notEqual(r.status, 206);
      assert.equal(((await r.json()) as { code: number }).code, 1001);
    });
  });
}
