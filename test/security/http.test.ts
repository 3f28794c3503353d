/**
 * Issue 8, findings 17, 19 and 20 — the HTTP edge, attacked against a real server:
 * error replies that must reach a client still sending (under CPU load, with Node's fetch and
 * with curl), a /v1 client that hangs up while its job is queued, security headers, links that
 * must not follow a stranger's Host header, client mistakes that are not logged as faults, and
 * long file names.
 */
import assert from 'node:assert/strict';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { SAMPLE_MP4 } from '../helpers/media.ts';
import { serveProcess, type ServeProcess } from '../helpers/serve-process.ts';
import { form, newUser, startLoggedServer, startServer, type TestServer } from '../helpers/server.ts';

const run = promisify(execFile);
const work = mkdtempSync(join(tmpdir(), 'vidscribe-sec-http-'));

/** Two x264 encodes that keep both cores busy, as two renders would. */
function cpuLoad(): ChildProcess[] {
  return [0, 1].map(() =>
    spawn(
      'ffmpeg',
      [
        '-hide_banner',
        '-loglevel',
        'error',
        '-f',
        'lavfi',
        '-i',
        'testsrc2=s=1280x720:r=60',
        '-t',
        '600',
        '-c:v',
        'libx264',
        '-preset',
        'medium',
        '-f',
        'null',
        '-',
      ],
      { stdio: 'ignore' },
    ),
  );
}

const balance = async (api: Awaited<ReturnType<typeof newUser>>['api']) =>
  (await api.call('GET', '/api/credits/balance/simple')).body.data as { available: number; frozen: number };

async function until<T>(what: string, probe: () => Promise<T>, ok: (v: T) => boolean, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('finding 20: an error reply reaches a client that is still sending, under load', () => {
  // A separate server process: in the test's own event loop the client always finishes sending
  // before the server gets to answer, and the race never shows.
  let srv: ServeProcess;
  let load: ChildProcess[] = [];
  before(async () => {
    srv = await serveProcess(mkdtempSync(join(work, 'data-')), ['--asr-slots', '0', '--render-slots', '0', '--max-upload-mb', '2']);
    load = cpuLoad();
    await new Promise((r) => setTimeout(r, 500));
  });
  after(async () => {
    for (const p of load) p.kill('SIGKILL');
    srv.proc.kill('SIGTERM');
  });

  test("Node's fetch: a 20-byte setup.exe gets its 4001 every time", async () => {
    const u = await newUser(srv.url);
    for (let i = 0; i < 30; i++) {
      const res = await fetch(`${srv.url}/api/upload-video/nemo_agent/me/${u.sessionId}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${u.api.token}` },
        body: form([{ name: 'setup.exe', body: Buffer.alloc(20, 0x4d) }]),
      });
      assert.equal(res.status, 415);
      assert.equal((await res.json()).code, 4001);
    }
  });

  test('curl: the same, every time', async () => {
    const u = await newUser(srv.url);
    const exe = join(work, 'setup.exe');
    writeFileSync(exe, Buffer.alloc(20, 0x4d));
    for (let i = 0; i < 6; i++) {
      const { stdout } = await run('curl', [
        '-sS',
        '-H',
        `authorization: Bearer ${u.api.token}`,
        '-F',
        `file=@${exe}`,
        `${srv.url}/api/upload-video/nemo_agent/me/${u.sessionId}`,
      ]);
      assert.equal(JSON.parse(stdout).code, 4001, stdout);
    }
  });

  test("Node's fetch: 6 MB offered against a 2 MB limit gets its 4002, not a reset", async () => {
    const u = await newUser(srv.url);
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${srv.url}/api/upload-video/nemo_agent/me/${u.sessionId}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${u.api.token}` },
        body: form([{ name: 'big.mp4', body: Buffer.alloc(6 * 1024 * 1024, 7) }]),
      });
      assert.equal(res.status, 413);
      assert.equal((await res.json()).code, 4002);
    }
  });

  test('a refused small upload keeps the connection usable (the rest of the body was read, not left to reset)', async () => {
    const u = await newUser(srv.url);
    const body = Buffer.concat([
      Buffer.from('--b\r\nContent-Disposition: form-data; name="file"; filename="setup.exe"\r\nContent-Type: application/octet-stream\r\n\r\n'),
      Buffer.alloc(200_000, 0x4d),
      Buffer.from('\r\n--b--\r\n'),
    ]);
    const agent = new (await import('node:http')).Agent({ keepAlive: true, maxSockets: 1 });
    const url = new URL(`${srv.url}/api/upload-video/nemo_agent/me/${u.sessionId}`);
    const send = () =>
      new Promise<{ status: number; connection: string | undefined; body: string }>((resolve, reject) => {
        const req = request(
          {
            agent,
            host: url.hostname,
            port: url.port,
            path: url.pathname,
            method: 'POST',
            headers: { authorization: `Bearer ${u.api.token}`, 'content-type': 'multipart/form-data; boundary=b', 'content-length': body.length },
          },
          (res) => {
            let text = '';
            res
              .setEncoding('utf8')
              .on('data', (d) => (text += d))
              .on('end', () => resolve({ status: res.statusCode!, connection: res.headers.connection, body: text }));
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    const first = await send();
    const second = await send();
    agent.destroy();
    assert.equal(JSON.parse(first.body).code, 4001);
    assert.notEqual(first.connection, 'close');
    assert.equal(JSON.parse(second.body).code, 4001);
  });
});

describe('finding 17: /v1 stops charging when the client hangs up while its job is queued', () => {
  let srv: TestServer;
  before(async () => {
    // No ASR slot: the job stays queued, as it does behind a busy worker.
    srv = await startServer({ asrSlots: 0, renderSlots: 0 });
  });
  after(() => srv.close());

  test('the hold is released and nothing is charged', async () => {
    const u = await newUser(srv.url);
    const gone = new AbortController();
    const fd = new FormData();
    fd.append('file', new Blob([new Uint8Array(readFileSync(SAMPLE_MP4))], { type: 'video/mp4' }), 'jfk.mp4');
    fd.append('model', 'whisper-1');
    const pending = fetch(`${srv.url}/v1/audio/transcriptions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${u.api.token}` },
      body: fd,
      signal: gone.signal,
    }).catch((e) => e);
    await until(
      'the hold',
      () => balance(u.api),
      (b) => b.frozen > 0,
    );
    gone.abort();
    await pending;
    const b = await until(
      'the release',
      () => balance(u.api),
      (v) => v.frozen === 0,
      5000,
    );
    assert.deepEqual(b, { available: 100, frozen: 0, total: 100 });
    const jobs = await srv.svc.db.selectFrom('jobs').select(['state']).execute();
    assert.deepEqual(
      jobs.map((j) => j.state),
      ['cancelled'],
    );
  });
  test('siblings: an unknown language or a 60 kB prompt is a 400, before any job or hold', async () => {
    const u = await newUser(srv.url);
    for (const [field, value] of [
      ['language', 'xx-evil'],
      ['prompt', 'p'.repeat(60_000)],
    ] as const) {
      const fd = new FormData();
      fd.append('file', new Blob([new Uint8Array(readFileSync(SAMPLE_MP4))], { type: 'video/mp4' }), 'jfk.mp4');
      fd.append(field, value);
      const res = await fetch(`${srv.url}/v1/audio/transcriptions`, { method: 'POST', headers: { authorization: `Bearer ${u.api.token}` }, body: fd });
      assert.equal(res.status, 400, field);
      assert.equal((await res.json()).error.code, 400, field);
    }
    assert.deepEqual(await balance(u.api), { available: 100, frozen: 0, total: 100 });
  });
});

describe('finding 19: headers, links, logs, names', () => {
  let srv: Awaited<ReturnType<typeof startLoggedServer>>;
  before(async () => {
    srv = await startLoggedServer({ asrSlots: 0, renderSlots: 0 });
  });
  after(() => srv.close());

  test('security headers on the API, /register and /docs: no sniffing, no framing', async () => {
    for (const path of ['/register', '/docs/', '/healthz', '/api/credits/balance/simple']) {
      const res = await fetch(srv.url + path);
      await res.arrayBuffer();
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff', path);
      assert.equal(res.headers.get('x-frame-options'), 'DENY', path);
      assert.match(res.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/, path);
    }
  });

  test("links never carry a stranger's Host header", async () => {
    const u = await newUser(srv.url);
    // fetch will not send a Host header of our choosing; node:http will.
    const url = new URL(`${srv.url}/api/render/proxy/lambda`);
    const body = await new Promise<any>((resolve, reject) => {
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          method: 'POST',
          headers: { authorization: `Bearer ${u.api.token}`, 'content-type': 'application/json', host: 'evil.example' },
        },
        (res) => {
          let text = '';
          res
            .setEncoding('utf8')
            .on('data', (d) => (text += d))
            .on('end', () => resolve(JSON.parse(text)));
        },
      );
      req.on('error', reject);
      req.end(JSON.stringify({ session_id: u.sessionId }));
    });
    assert.equal(body.code, 402);
    assert.ok(!body.data.register_url.includes('evil.example'), body.data.register_url);
    assert.ok(body.data.register_url.startsWith(srv.url.replace('localhost', '127.0.0.1')), body.data.register_url);
  });

  test('a configured public URL is what links use', async () => {
    const pub = await startServer({ asrSlots: 0, renderSlots: 0, publicUrl: 'https://media.example.org' });
    try {
      const u = await newUser(pub.url);
      const r = await u.api.call('POST', '/api/render/proxy/lambda', { session_id: u.sessionId });
      assert.equal(r.body.data.register_url, `https://media.example.org/register?bind=${u.accountId}`);
    } finally {
      await pub.close();
    }
  });

  test("a URL the router refuses (bad percent-encoding, an overlong id) is answered in the API's envelope with the security headers", async () => {
    const u = await newUser(srv.url);
    const auth = { authorization: `Bearer ${u.api.token}` };
    for (const path of ['/api/files/%ZZ?expires=1&sig=a', '/api/state/nemo_agent/me/%ZZ/latest', `/api/files/${'a'.repeat(300)}?expires=1&sig=a`]) {
      const res = await fetch(srv.url + path, { headers: auth });
      const body = (await res.json()) as { code: unknown; message: string };
      assert.equal(res.status, 400, path);
      assert.equal(body.code, 400, path);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff', path);
      assert.ok(!body.message.includes('aaaa'), 'the path is not echoed');
    }
    // Ids of 101–128 characters reach their route (Fastify's default limit of 100 gave its own 414).
    const res = await fetch(`${srv.url}/api/state/nemo_agent/me/${'s'.repeat(120)}/latest`, { headers: auth });
    assert.equal(res.status, 404);
    assert.equal(((await res.json()) as { code: number }).code, 1002);
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(!srv.log().includes('unhandled error'), srv.log());
  });

  test('a malformed multipart body is a 400 for the client, not an "unhandled error" in the log', async () => {
    const u = await newUser(srv.url);
    const res = await fetch(`${srv.url}/api/upload-video/nemo_agent/me/${u.sessionId}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${u.api.token}`, 'content-type': 'multipart/form-data; boundary=x' },
      body: '--x\r\nContent-Disposition: form-data; name="file"; filename="a.mp4"\r\n\r\nabc',
    });
    assert.equal(res.status, 400);
    assert.equal((await res.json()).code, 400);
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(!srv.log().includes('unhandled error'), srv.log());
  });

  test('a 300-character name keeps its .mp4 and is accepted', async () => {
    const u = await newUser(srv.url);
    const name = `${'interview-'.repeat(30)}final.mp4`;
    const r = await u.api.call('POST', `/api/upload-video/nemo_agent/me/${u.sessionId}`, form([{ name, body: readFileSync(SAMPLE_MP4) }]));
    assert.equal(r.body.code, 0, JSON.stringify(r.body));
    const stored = r.body.data.media[0].name as string;
    assert.ok(stored.endsWith('.mp4') && stored.length <= 200, stored);
  });
});

describe('JSON bodies are bounded per route', () => {
  test('2 MB of JSON to /run_sse, /mcp or login is 413 (4002) before it is parsed; a render may send a larger draft', async () => {
    const srv = await startServer({ asrSlots: 0, renderSlots: 0 });
    try {
      const u = await newUser(srv.url);
      // Nested arrays: what made the parse slow (1.5 s for 8 MB on /run_sse).
      const nested = `{"pad":${'['.repeat(1000)}${']'.repeat(1000)},"x":"${'a'.repeat(2 * 1024 * 1024)}"}`;
      for (const path of ['/run_sse', '/mcp', '/api/auth/login']) {
        const r = await fetch(`${srv.url}${path}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${u.api.token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
          body: nested,
        });
        const body = (await r.json()) as { code?: number };
        assert.deepEqual([r.status, body.code], [413, 4002], `${path}: ${JSON.stringify(body).slice(0, 200)}`);
      }
      // A render's body may be larger: this one is read, and refused for what it says.
      const render = await fetch(`${srv.url}/api/render/proxy/lambda`, {
        method: 'POST',
        headers: { authorization: `Bearer ${u.api.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ session_id: u.sessionId, pad: 'a'.repeat(2 * 1024 * 1024) }),
      });
      assert.notEqual(render.status, 413);
      // Transcript edits up to their bounds (1 000 words of 200 characters, escaped): 1.2 MB, read.
      const word = '\\u00e9'.repeat(200);
      const edits = `{"base_version":1,"words":[${Array.from({ length: 1000 }, (_, i) => `{"segment":0,"index":${i},"word":"${word}"}`).join(',')}]}`;
      assert.ok(edits.length > 1024 * 1024);
      const patch = await fetch(`${srv.url}/api/state/nemo_agent/me/${u.sessionId}/transcripts/tr_none`, {
        method: 'PATCH',
        headers: { authorization: `Bearer ${u.api.token}`, 'content-type': 'application/json' },
        body: edits,
      });
      assert.notEqual(patch.status, 413, 'transcript edits may take 2 MB');
    } finally {
      await srv.close();
    }
  });
});
