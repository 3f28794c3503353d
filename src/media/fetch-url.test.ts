import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { ErrorCode, isVidscribeError, type VidscribeError } from '../shared/errors.ts';
import { downloadFileName, fetchUrlToFile, isPublicAddress } from './fetch-url.ts';

const MB = 1024 * 1024;
const body = randomBytes(3 * MB + 12345);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let server: Server;
let port = 0;
let dir = '';
const requests: string[] = [];
/** Bytes the /huge handler managed to write and whether it saw the socket close before finishing. */
const huge = { written: 0, finished: false, closedEarly: false };

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://x');
  requests.push(url.pathname);
  switch (url.pathname) {
    case '/file.bin':
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
      res.end(body);
      return;
    case '/named':
      res.writeHead(200, { 'content-type': 'video/mp4', 'content-disposition': 'attachment; filename="talk.mp4"' });
      res.end(body.subarray(0, 1000));
      return;
    case '/big-declared':
      res.writeHead(200, { 'content-length': 5 * MB });
      res.write(Buffer.alloc(1024));
      return; // never finishes; the client must give up on the header alone
    case '/huge': {
      res.writeHead(200, { 'content-type': 'application/octet-stream' }); // chunked, no Content-Length
      res.on('close', () => {
        if (!huge.finished) huge.closedEarly = true;
      });
      const chunk = Buffer.alloc(64 * 1024, 7);
      while (huge.written < 50 * MB && !res.destroyed) {
        huge.written += chunk.length;
        if (!res.write(chunk)) {
          await new Promise<void>((r) => {
            res.once('drain', r);
            res.once('close', r);
          });
        }
      }
      if (!res.destroyed) {
        huge.finished = true;
        res.end();
      }
      return;
    }
    case '/missing':
      res.writeHead(404);
      res.end('nope');
      return;
    case '/loop':
      res.writeHead(302, { location: '/loop' });
      res.end();
      return;
    case '/redirect-ok':
      res.writeHead(301, { location: 'named' });
      res.end();
      return;
    case '/redirect-private':
      res.writeHead(302, { location: `http://127.0.0.2:${port}/private-target` });
      res.end();
      return;
    case '/redirect-ftp':
      res.writeHead(302, { location: 'ftp://example.com/x' });
      res.end();
      return;
    case '/hang':
      res.writeHead(200, { 'content-type': 'video/mp4' });
      res.write('partial');
      return; // never ends
    default:
      res.writeHead(200);
      res.end('ok');
  }
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fetch-url-test-'));
  server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});

after(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  await rm(dir, { recursive: true, force: true });
});

let n = 0;
const dest = () => join(dir, `out-${++n}.partial`);
const base = () => `http://127.0.0.1:${port}`;
const local = { maxBytes: 100 * MB, allowPrivate: true };

async function rejectsWith(p: Promise<unknown>, code: number, re?: RegExp): Promise<VidscribeError> {
  try {
    await p;
  } catch (e) {
    assert.ok(isVidscribeError(e), `expected a VidscribeError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (re) assert.match(e.message, re);
    return e;
  }
  assert.fail(`expected rejection with ${code}`);
}

describe('fetchUrlToFile: downloads', () => {
  test('streams a few MB exactly; name from the URL path', async () => {
    const out = dest();
    const r = await fetchUrlToFile(`${base()}/file.bin?x=1`, out, local);
    assert.equal(r.bytes, body.length);
    assert.equal(r.path, out);
    assert.equal(r.fileName, 'file.bin');
    assert.equal(r.contentType, 'application/octet-stream');
    assert.equal(r.finalUrl, `${base()}/file.bin?x=1`);
    assert.equal(sha(readFileSync(out)), sha(body));
  });

  test('name from Content-Disposition; relative redirect followed', async () => {
    const r = await fetchUrlToFile(`${base()}/redirect-ok`, dest(), local);
    assert.equal(r.fileName, 'talk.mp4');
    assert.equal(r.contentType, 'video/mp4');
    assert.equal(r.bytes, 1000);
    assert.equal(r.finalUrl, `${base()}/named`);
  });
});

describe('fetchUrlToFile: size cap', () => {
  test('Content-Length over the cap → 4002 before reading, no file', async () => {
    const out = dest();
    await rejectsWith(fetchUrlToFile(`${base()}/big-declared`, out, { ...local, maxBytes: 1 * MB }), ErrorCode.FileTooLarge, /1 MB limit/);
    assert.equal(existsSync(out), false);
  });

  test('chunked body over the cap → 4002, stops early, no file', async () => {
    const out = dest();
    await rejectsWith(fetchUrlToFile(`${base()}/huge`, out, { ...local, maxBytes: 1 * MB }), ErrorCode.FileTooLarge, /1 MB limit/);
    assert.equal(existsSync(out), false);
    // Give the server a moment to notice the closed socket.
    for (let i = 0; i < 100 && !huge.closedEarly; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(huge.closedEarly, true, 'server saw the socket close before finishing');
    assert.equal(huge.finished, false);
    assert.ok(huge.written < 20 * MB, `server wrote ${huge.written} bytes`);
  });

  test('an existing file at destPath is removed on failure', async () => {
    const out = dest();
    writeFileSync(out, 'old');
    await rejectsWith(fetchUrlToFile(`${base()}/missing`, out, local), ErrorCode.UrlFetchFailed);
    // Not opened before the 404: left alone.
    assert.equal(existsSync(out), true);
    await rejectsWith(fetchUrlToFile(`${base()}/huge`, out, { ...local, maxBytes: 64 * 1024 }), ErrorCode.FileTooLarge);
    assert.equal(existsSync(out), false);
  });
});

describe('fetchUrlToFile: SSRF', () => {
  test('private and special addresses are refused without any request', async () => {
    const before = requests.length;
    const cases: Array<[string, RegExp]> = [
      [`http://127.0.0.1:${port}/`, /127\.0\.0\.1 is a loopback address; URL uploads may only reach public addresses/],
      [`http://localhost:${port}/`, /localhost resolves to .*loopback/],
      [`http://[::1]:${port}/`, /::1 is a loopback address/],
      ['http://169.254.169.254/latest/meta-data', /cloud metadata/],
      ['http://10.0.0.1/', /private-network/],
      ['http://192.168.1.1/', /private-network/],
      [`http://[::ffff:127.0.0.1]:${port}/`, /loopback address \(IPv4-mapped\)/],
      [`http://2130706433:${port}/`, /127\.0\.0\.1 is a loopback/],
      ['http://100.64.0.1/', /carrier-grade NAT/],
      ['http://0.0.0.0/', /unspecified/],
    ];
    for (const [url, re] of cases) {
      const out = dest();
      const e = await rejectsWith(fetchUrlToFile(url, out, { maxBytes: MB, timeoutMs: 5000 }), ErrorCode.UrlRefused, re);
      assert.ok(e.message.startsWith('http'), e.message);
      assert.equal(existsSync(out), false);
    }
    assert.equal(requests.length, before, 'the local server received no request');
  });

  test('DNS rebinding: a public-looking name resolving to loopback is refused', async () => {
    const before = requests.length;
    const lookup = async (host: string) => (host === 'public.test' ? ['93.184.216.34', '127.0.0.1'] : []);
    await rejectsWith(
      fetchUrlToFile(`http://public.test:${port}/`, dest(), { maxBytes: MB, lookup }),
      ErrorCode.UrlRefused,
      /public\.test resolves to 127\.0\.0\.1, a loopback address/,
    );
    assert.equal(requests.length, before);
  });

  test('connects to the checked address (pinned), not to a second resolution', async () => {
    let calls = 0;
    const lookup = async () => {
      calls++;
      return calls === 1 ? ['127.0.0.1'] : ['10.9.9.9'];
    };
    const r = await fetchUrlToFile(`http://media.test:${port}/named`, dest(), { maxBytes: MB, lookup, isAllowedAddress: (ip) => ip === '127.0.0.1' });
    assert.equal(calls, 1);
    assert.equal(r.fileName, 'talk.mp4');
    assert.equal(r.finalUrl, `http://media.test:${port}/named`);
  });

  test('every redirect hop is re-checked: a redirect to a forbidden address is refused and never requested', async () => {
    const before = requests.length;
    await rejectsWith(
      fetchUrlToFile(`${base()}/redirect-private`, dest(), { maxBytes: MB, isAllowedAddress: (ip) => ip === '127.0.0.1' }),
      ErrorCode.UrlRefused,
      /redirects to http:\/\/127\.0\.0\.2:\d+\/private-target, and 127\.0\.0\.2 is a loopback address/,
    );
    assert.deepEqual(requests.slice(before), ['/redirect-private']);
  });

  test('a redirect to another scheme is refused', async () => {
    await rejectsWith(fetchUrlToFile(`${base()}/redirect-ftp`, dest(), local), ErrorCode.UrlRefused, /ftp: scheme/);
  });

  test('schemes, credentials and invalid URLs are refused', async () => {
    await rejectsWith(fetchUrlToFile('ftp://example.com/a.mp4', dest(), local), ErrorCode.UrlRefused, /ftp: scheme is not allowed/);
    await rejectsWith(fetchUrlToFile('file:///etc/passwd', dest(), local), ErrorCode.UrlRefused, /file: scheme is not allowed/);
    await rejectsWith(fetchUrlToFile(`http://u:p@127.0.0.1:${port}/`, dest(), local), ErrorCode.UrlRefused, /credentials/);
    await rejectsWith(fetchUrlToFile('not a url', dest(), local), ErrorCode.UrlRefused, /not a valid URL/);
  });
});

describe('fetchUrlToFile: failures', () => {
  test('404 → 4008 with the status', async () => {
    await rejectsWith(fetchUrlToFile(`${base()}/missing`, dest(), local), ErrorCode.UrlFetchFailed, /HTTP 404/);
  });

  test('redirect loop → 4008', async () => {
    await rejectsWith(fetchUrlToFile(`${base()}/loop`, dest(), { ...local, maxRedirects: 3 }), ErrorCode.UrlFetchFailed, /too many redirects \(more than 3\)/);
  });

  test('unresolvable host → 4008', async () => {
    const lookup = async () => {
      throw Object.assign(new Error('getaddrinfo ENOTFOUND nowhere.test'), { code: 'ENOTFOUND' });
    };
    await rejectsWith(fetchUrlToFile('http://nowhere.test/', dest(), { maxBytes: MB, lookup }), ErrorCode.UrlFetchFailed, /could not resolve nowhere\.test/);
  });

  test('connection refused → 4008', async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const closedPort = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    await rejectsWith(fetchUrlToFile(`http://127.0.0.1:${closedPort}/`, dest(), local), ErrorCode.UrlFetchFailed, /could not connect/);
  });

  test('server hanging after the headers → 5003, no file', async () => {
    const out = dest();
    const t0 = Date.now();
    await rejectsWith(fetchUrlToFile(`${base()}/hang`, out, { ...local, timeoutMs: 500 }), ErrorCode.Timeout, /within 0\.5 s/);
    assert.ok(Date.now() - t0 < 5000);
    assert.equal(existsSync(out), false);
  });

  test('abort signal → 5004, no file', async () => {
    const out = dest();
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 200);
    await rejectsWith(fetchUrlToFile(`${base()}/hang`, out, { ...local, signal: ac.signal }), ErrorCode.Cancelled);
    assert.equal(existsSync(out), false);
    await rejectsWith(fetchUrlToFile(`${base()}/file.bin`, dest(), { ...local, signal: AbortSignal.abort() }), ErrorCode.Cancelled);
  });
});

test('isPublicAddress', () => {
  const table: Array<[string, boolean]> = [
    ['8.8.8.8', true],
    ['93.184.216.34', true],
    ['2606:4700::1111', true],
    ['::ffff:8.8.8.8', true],
    ['127.0.0.1', false],
    ['10.1.2.3', false],
    ['172.16.0.1', false],
    ['172.31.255.255', false],
    ['192.168.0.1', false],
    ['169.254.169.254', false],
    ['100.64.0.1', false],
    ['0.0.0.0', false],
    ['::', false],
    ['::1', false],
    ['[::1]', false],
    ['fe80::1', false],
    ['fc00::1', false],
    ['fd12:3456::1', false],
    ['::ffff:10.0.0.1', false],
    ['::ffff:127.0.0.1', false],
    ['224.0.0.1', false],
    ['255.255.255.255', false],
    ['not-an-ip', false],
    ['0x7f.1', false],
  ];
  for (const [ip, want] of table) assert.equal(isPublicAddress(ip), want, ip);
});

test('downloadFileName', () => {
  const table: Array<[string, string | undefined, string]> = [
    ['https://x/a', "attachment; filename*=UTF-8''%E4%B8%AD.mp4", '中.mp4'],
    ['https://x/a', 'attachment; filename="fallback.mp4"; filename*=UTF-8\'\'%E4%B8%AD.mp4', '中.mp4'],
    ['https://x/a', 'attachment; filename="my talk.mp4"', 'my talk.mp4'],
    ['https://x/a', 'attachment; filename="say \\"hi\\".mp4"', 'say "hi".mp4'],
    ['https://x/a', 'attachment; filename=plain.mov', 'plain.mov'],
    ['https://x/a', 'attachment; filename="../../etc/passwd"', 'passwd'],
    ['https://x/a', 'attachment; filename="..\\..\\win.ini"', 'win.ini'],
    ['https://x/a', 'attachment; filename=".."', 'a'],
    ['https://x/a/b/clip%20one.mp4?x=1', undefined, 'clip one.mp4'],
    ['https://x/a/..%2F..%2Fetc%2Fpasswd', undefined, 'passwd'],
    ['https://x/a/bad%E0name.mp4', undefined, 'bad%E0name.mp4'],
    ['https://x/a/ctl%0A%07name.mp4', undefined, 'ctlname.mp4'],
    ['https://x/', undefined, 'download'],
    ['https://x', 'inline', 'download'],
    ['not a url', undefined, 'download'],
  ];
  for (const [url, cd, want] of table) assert.equal(downloadFileName(url, cd), want, `${url} | ${cd}`);
  const long = downloadFileName(`https://x/${'a'.repeat(500)}.mp4`);
  assert.equal(long.length, 200);
  assert.ok(long.endsWith('.mp4'));
  const wide = downloadFileName(`https://x/${encodeURIComponent('中'.repeat(150))}.mp4`);
  assert.ok(Buffer.byteLength(wide) <= 240 && wide.endsWith('.mp4'));
});
