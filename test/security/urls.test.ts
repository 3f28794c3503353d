/**
 * URL uploads (issue 8, finding 18), against a real server and a local HTTP server that plays the
 * remote host:
 * - a link without an extension that serves video/mp4 is judged by its content and accepted;
 * - a body that stalls fails on the idle timeout, not after 10 minutes;
 * - a client that hangs up stops the download (the remote side sees its socket closed);
 * - every IPv6 form that embeds a private IPv4 address is refused, DNS answers included.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fetchUrlToFile, isPublicAddress } from '../../src/media/index.ts';
import { ErrorCode } from '../../src/shared/errors.ts';
import { rejectsWith } from '../helpers/assert.ts';
import { SAMPLE_MP4, tempDir } from '../helpers/media.ts';
import { newUser, startServer, type TestServer } from '../helpers/server.ts';

const work = tempDir('vidscribe-sec-urls-');
const video = readFileSync(SAMPLE_MP4);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What the remote host saw of the slow download: bytes sent and whether its socket was closed under it. */
const slow = { started: false, sent: 0, closed: false, closedAt: 0 };

let remote: Server;
let base = '';

function serve(res: ServerResponse, path: string): void {
  switch (path) {
    case '/media/clip': // no extension: the content type and the content say what it is
      res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': video.length });
      res.end(video);
      return;
    case '/download': // no extension, no useful type: ffprobe alone decides
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end(video);
      return;
    case '/fake-video': // claims video/mp4, is a web page
      res.writeHead(200, { 'content-type': 'video/mp4' });
      res.end('<html><body>not a video</body></html>');
      return;
    case '/stall.mp4': // a little of the body, then nothing, forever
      res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': video.length });
      res.write(video.subarray(0, 64 * 1024));
      return;
    case '/slow.mp4': {
      // A trickle that would take far longer than any test: only a hang-up ends it.
      slow.started = true;
      res.writeHead(200, { 'content-type': 'video/mp4' });
      res.socket?.once('close', () => {
        slow.closed = true;
        slow.closedAt = Date.now();
      });
      const t = setInterval(() => {
        if (res.destroyed) return clearInterval(t);
        res.write(Buffer.alloc(1024, 1));
        slow.sent += 1024;
      }, 50);
      return;
    }
    default:
      res.writeHead(404).end();
  }
}

before(async () => {
  remote = createServer((req, res) => serve(res, new URL(req.url ?? '/', 'http://x').pathname));
  await new Promise<void>((r) => remote.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(remote.address() as AddressInfo).port}`;
});
after(() => {
  remote.closeAllConnections();
  remote.close();
});

describe('18: URL uploads', () => {
  let srv: TestServer;
  let strict: TestServer;
  before(async () => {
    srv = await startServer({ allowPrivateUrls: true, asrSlots: 0, renderSlots: 0 });
    strict = await startServer({ asrSlots: 0, renderSlots: 0 });
  });
  after(async () => {
    await srv.close();
    await strict.close();
  });

  const upload = async (s: TestServer, urls: string[]) => {
    const u = await newUser(s.url);
    return { u, r: await u.api.call('POST', `/api/upload-video/nemo_agent/me/${u.sessionId}`, { urls }) };
  };

  test('a link without an extension is judged by what it serves: video/mp4 and plain bytes that are a video are accepted, a web page that claims video/mp4 is not', async () => {
    const { r } = await upload(srv, [`${base}/media/clip`, `${base}/download`]);
    assert.equal(r.body.code, 0, JSON.stringify(r.body));
    assert.deepEqual(
      r.body.data.media.map((m: any) => [m.name, m.kind]),
      [
        ['clip.mp4', 'video'],
        ['download.mp4', 'video'],
      ],
    );
    const fake = await upload(srv, [`${base}/fake-video`]);
    assert.equal(fake.r.body.code, ErrorCode.CorruptMedia, JSON.stringify(fake.r.body));
  });

  test('a body that stalls mid-way fails on the idle timeout and leaves no partial file', async () => {
    const dest = join(work, 'stalled.part');
    const started = Date.now();
    await rejectsWith(
      fetchUrlToFile(`${base}/stall.mp4`, dest, { maxBytes: 100 * 1024 * 1024, allowPrivate: true, idleTimeoutMs: 500 }),
      ErrorCode.Timeout,
      /stalled/,
    );
    assert.ok(Date.now() - started < 5000, 'gave up on the idle timeout, not the 10-minute limit');
    assert.equal(existsSync(dest), false);
  });

  test('a client that hangs up stops the download: the remote host sees its socket closed', async () => {
    Object.assign(slow, { started: false, sent: 0, closed: false, closedAt: 0 });
    const u = await newUser(srv.url);
    const ac = new AbortController();
    const req = fetch(`${srv.url}/api/upload-video/nemo_agent/me/${u.sessionId}`, {
      method: 'POST',
      signal: ac.signal,
      headers: { authorization: `Bearer ${u.api.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ urls: [`${base}/slow.mp4`] }),
    }).catch((e: Error) => e);
    for (let i = 0; i < 100 && slow.sent < 4096; i++) await sleep(50);
    assert.ok(slow.started && slow.sent >= 4096, 'the download is under way');
    const abortedAt = Date.now();
    ac.abort();
    await req;
    for (let i = 0; i < 40 && !slow.closed; i++) await sleep(50);
    assert.ok(slow.closed, 'the download went on after the client left');
    assert.ok(slow.closedAt - abortedAt < 2000, `closed ${slow.closedAt - abortedAt} ms after the hang-up`);
  });

  const embedding = [
    '[::7f00:1]',
    '[::ffff:127.0.0.1]',
    '[::ffff:7f00:1]',
    '[64:ff9b::7f00:1]',
    '[64:ff9b::a00:1]',
    '[64:ff9b:1::a9fe:a9fe]',
    '[2002:7f00:1::]',
    '[2002:a9fe:a9fe::1]',
    '[2001::1]',
    '[::ffff:0:7f00:1]',
    '[::a9fe:a9fe]',
  ];

  test('every IPv6 form that embeds a private IPv4 address is refused (4007)', async () => {
    for (const host of embedding) assert.equal(isPublicAddress(host), false, host);
    // The same forms carrying a public address stay reachable where they route (NAT64, 6to4).
    for (const host of ['[64:ff9b::808:808]', '[2002:808:808::]', '[2001:4860:4860::8888]']) assert.equal(isPublicAddress(host), true, host);
    const port = (remote.address() as AddressInfo).port;
    for (const host of embedding) {
      const { r } = await upload(strict, [`http://${host}:${port}/clip.mp4`]);
      assert.equal(r.body.code, ErrorCode.UrlRefused, `${host}: ${JSON.stringify(r.body)}`);
    }
  });

  test('a host name that resolves to an IPv4-compatible or NAT64 loopback address is refused before connecting', async () => {
    for (const answer of ['::7f00:1', '64:ff9b::7f00:1', '2002:7f00:1::1']) {
      await rejectsWith(
        fetchUrlToFile('http://media.example/clip.mp4', join(work, 'never'), { maxBytes: 1024, lookup: async () => [answer] }),
        ErrorCode.UrlRefused,
        /public addresses/,
      );
    }
  });
});
