/**
 * `vidscribe mcp` and `/mcp` on serve, driven by an MCP client from the official SDK against a
 * real server (real model, real ffmpeg): over stdio (the CLI spawned as an assistant spawns it)
 * and over streamable HTTP with a bearer token.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, readFileSync, createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ROOT, SAMPLE_MP4 } from '../helpers/media.ts';
import { newUser, startServer, type TestServer } from '../helpers/server.ts';
import { sessionToClose } from '../../src/mcp/http.ts';

const TOOLS = ['credits', 'edit_video', 'export_video', 'read_transcript', 'search_transcript', 'session_state', 'transcribe'];
const work = mkdtempSync(join(tmpdir(), 'vidscribe-mcp-'));
const textOf = (r: any): string =>
  (r.content as any[])
    .filter((c) => c.type === 'text')
    .map((c) => c.text as string)
    .join('\n');

/** An MCP client of the SDK, connected over stdio to a `vidscribe mcp` process with its own config folder. */
async function stdioClient(args: string[], configHome: string): Promise<Client> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [join(ROOT, 'bin', 'vidscribe.js'), 'mcp', ...args],
    cwd: ROOT,
    env: { ...process.env, XDG_CONFIG_HOME: configHome, VIDSCRIBE_TOKEN: '' } as Record<string, string>,
    stderr: 'pipe',
  });
  const client = new Client({ name: 'test', version: '1.0.0' });
  await client.connect(transport);
  return client;
}

describe('the MCP server', () => {
  let srv: TestServer;
  let files: Server;
  let filesUrl: string;
  let png: string;
  before(async () => {
    srv = await startServer({ asrSlots: 1, renderSlots: 1, allowPrivateUrls: true });
    png = join(work, 'x.png');
    execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'color=red:s=64x64', '-frames:v', '1', png]);
    // A file server for URL uploads (the /mcp server cannot read the assistant's paths).
    files = createServer((req, res) => {
      const path = req.url === '/x.mp4' ? png : SAMPLE_MP4;
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      createReadStream(path).pipe(res);
    });
    await new Promise<void>((ok) => files.listen(0, '127.0.0.1', ok));
    filesUrl = `http://127.0.0.1:${(files.address() as AddressInfo).port}`;
  });
  after(async () => {
    files.close();
    await srv.close();
    rmSync(work, { recursive: true, force: true });
  });

  async function listsTools(client: Client) {
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((t) => t.name).sort(), TOOLS);
    for (const t of tools) {
      assert.equal(t.inputSchema.type, 'object', t.name);
      assert.ok((t.description ?? '').length > 20, t.name);
    }
  }

  test('stdio: `vidscribe mcp --server URL` transcribes a local file, serves the transcript, and reports a PNG renamed .mp4 as 4001', async () => {
    const fakeMp4 = join(work, 'not-a-video.mp4');
    copyFileSync(png, fakeMp4);
    const client = await stdioClient(['--server', srv.url], join(work, 'config'));
    try {
      await listsTools(client);
      const r = await client.callTool({ name: 'transcribe', arguments: { path: SAMPLE_MP4 } }, undefined, { timeout: 60_000 });
      assert.ok(!r.isError, textOf(r));
      assert.match(textOf(r), /country/i);
      const link = (r.content as any[]).find((c) => c.type === 'resource_link');
      assert.match(link.uri, /^vidscribe:\/\/transcript\//);
      const { resources } = await client.listResources();
      assert.ok(resources.some((x) => x.uri === link.uri));
      const read = await client.readResource({ uri: link.uri });
      assert.match((read.contents[0] as { text: string }).text, /ask not what your country/i);

      const bad = await client.callTool({ name: 'transcribe', arguments: { path: fakeMp4 } });
      assert.equal(bad.isError, true);
      assert.match(textOf(bad), /4001/);
    } finally {
      await client.close();
    }
  });

  test('stdio: a second `vidscribe mcp` run reuses its anonymous token (the server issues one per client id a week)', async () => {
    const config = join(work, 'config-twice');
    for (let run = 0; run < 2; run++) {
      const client = await stdioClient(['--server', srv.url], config);
      try {
        const r = await client.callTool({ name: 'credits', arguments: {} });
        assert.ok(!r.isError, `run ${run + 1}: ${textOf(r)}`);
      } finally {
        await client.close();
      }
    }
    const kept = JSON.parse(readFileSync(join(config, 'vidscribe', 'tokens.json'), 'utf8'));
    assert.ok(kept[srv.url]?.token, "the token is kept per server in the user's config folder");
  });

  test('stdio, local mode: `vidscribe mcp` runs the engine in-process; read_transcript with timestamps and search_transcript find the words', async () => {
    const client = await stdioClient(['--data', join(work, 'local-data')], join(work, 'config'));
    try {
      await listsTools(client);
      const r = await client.callTool({ name: 'transcribe', arguments: { path: SAMPLE_MP4 } }, undefined, { timeout: 60_000 });
      assert.ok(!r.isError, textOf(r));
      assert.match(textOf(r), /country/i);
      const credits = async () => JSON.parse(textOf(await client.callTool({ name: 'credits', arguments: {} }))).available as number;
      const before = await credits();
      const stamped = await client.callTool({ name: 'read_transcript', arguments: { mode: 'timestamps' } });
      assert.ok(!stamped.isError, textOf(stamped));
      assert.match(textOf(stamped), /^\[00:00:\d\d\] /m);
      const found = await client.callTool({ name: 'search_transcript', arguments: { query: 'COUNTRY' } });
      assert.ok(!found.isError, textOf(found));
      assert.match(textOf(found), /\[00:00:\d\d–00:00:\d\d\].*country/i);
      const missing = await client.callTool({ name: 'search_transcript', arguments: { query: 'moon landing' } });
      assert.match(textOf(missing), /not said/);
      assert.equal(await credits(), before, 'reading and searching a transcript costs nothing');
      const window = await client.callTool({ name: 'read_transcript', arguments: { mode: 'plain', from: 100, to: 200 } });
      assert.equal(textOf(window), '');
      // The same file again, with speakers: a second upload of the name, diarized, the text by
      // speaker turns ("Speaker 1: …"), and the transcript returned is this one, not the first.
      const first = /transcript_id: (\S+)/.exec(textOf(r))![1];
      const labelled = await client.callTool({ name: 'transcribe', arguments: { path: SAMPLE_MP4, speakers: true } }, undefined, { timeout: 60_000 });
      assert.ok(!labelled.isError, textOf(labelled));
      assert.match(textOf(labelled), /^Speaker 1: And so my fellow Americans/);
      assert.match(textOf(labelled), /\d speakers?, /);
      const second = /transcript_id: (\S+)/.exec(textOf(labelled))![1];
      assert.notEqual(second, first);
      const read = await client.callTool({ name: 'read_transcript', arguments: { transcript_id: second, mode: 'timestamps' } });
      assert.match(textOf(read), /country/i);
    } finally {
      await client.close();
    }
  });

  test('/mcp needs a valid bearer token', async () => {
    for (const authorization of [undefined, 'Bearer not-a-token']) {
      const res = await fetch(`${srv.url}/mcp`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...(authorization ? { authorization } : {}) },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'initialize',
          params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } },
        }),
      });
      assert.equal(res.status, 401);
      assert.equal(((await res.json()) as { code: number }).code, 1001);
    }
  });

  test('/mcp over streamable HTTP: transcribe a URL, edit, export with progress, cancel an export (credits released)', async () => {
    const u = await newUser(srv.url);
    const transport = new StreamableHTTPClientTransport(new URL(`${srv.url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${u.api.token}` } } });
    const client = new Client({ name: 'test', version: '1.0.0' });
    await client.connect(transport);
    try {
      await listsTools(client);
      const r = await client.callTool({ name: 'transcribe', arguments: { url: `${filesUrl}/jfk.mp4`, format: 'srt', language: 'en' } }, undefined, {
        timeout: 60_000,
      });
      assert.ok(!r.isError, textOf(r));
      assert.match(textOf(r), /country/i);

      const bad = await client.callTool({ name: 'transcribe', arguments: { url: `${filesUrl}/x.mp4` } });
      assert.equal(bad.isError, true);
      assert.match(textOf(bad), /4001/);
      // The server never reads a path an assistant names: that is for `vidscribe mcp` on the assistant's machine.
      const path = await client.callTool({ name: 'transcribe', arguments: { path: SAMPLE_MP4 } });
      assert.equal(path.isError, true);
      assert.match(textOf(path), /cannot read local paths/);
      const klingon = await client.callTool({ name: 'transcribe', arguments: { url: `${filesUrl}/jfk.mp4`, language: 'klingon' } });
      assert.equal(klingon.isError, true);
      assert.match(textOf(klingon), /400.*language/);

      // The MCP session is the caller's: another account's token cannot use it.
      const other = await newUser(srv.url);
      const stolen = await fetch(`${srv.url}/mcp`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${other.api.token}`,
          'mcp-session-id': transport.sessionId!,
          'mcp-protocol-version': '2025-06-18',
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 99, method: 'tools/call', params: { name: 'credits', arguments: {} } }),
      });
      assert.equal(stolen.status, 404);
      assert.equal(((await stolen.json()) as { code: number }).code, 4104);

      let progress = 0;
      const done = await client.callTool({ name: 'export_video', arguments: {} }, undefined, { timeout: 60_000, onprogress: () => progress++ });
      assert.ok(!done.isError, textOf(done));
      assert.ok(progress >= 1, 'progress notifications');
      const video = (done.content as any[]).find((c) => c.type === 'resource_link' && /^vidscribe:\/\/file\//.test(c.uri));
      assert.ok(video, 'the render is linked');
      // Read as resources: the SRT as its text, the MP4 as its download link (inlined, each read of
      // a large render held it whole in the server's memory).
      const { resources } = await client.listResources();
      const srt = resources.find((x) => x.mimeType === 'application/x-subrip' || /\.srt$/.test(x.name));
      assert.ok(srt, JSON.stringify(resources));
      const srtText = (await client.readResource({ uri: srt.uri })).contents[0] as { text?: string };
      assert.match(srtText.text ?? '', /^1\r?\n00:00:0\d,\d{3} --> /);
      const mp4 = (await client.readResource({ uri: video.uri })).contents[0] as { mimeType?: string; text?: string; blob?: string };
      assert.equal(mp4.blob, undefined, 'no video inline');
      assert.equal(mp4.mimeType, 'text/uri-list');
      const got = await fetch(mp4.text!);
      assert.equal(got.status, 200);
      assert.equal(got.headers.get('content-type'), 'video/mp4');

      const edit = await client.callTool({ name: 'edit_video', arguments: { request: 'make it vertical' } });
      assert.ok(!edit.isError, textOf(edit));
      const state = JSON.parse(textOf(await client.callTool({ name: 'session_state', arguments: {} })));
      assert.deepEqual([state.draft.w, state.draft.h], [1080, 1920]);

      // A 1080p blurred vertical render: cancelled as soon as it reports progress.
      const stop = new AbortController();
      await assert.rejects(
        client.callTool({ name: 'export_video', arguments: {} }, undefined, { timeout: 60_000, signal: stop.signal, onprogress: () => stop.abort() }),
      );
      let render: any;
      for (let i = 0; i < 100; i++) {
        const st = JSON.parse(textOf(await client.callTool({ name: 'session_state', arguments: {} })));
        render = (st.jobs as any[]).filter((j) => j.type === 'render').find((j) => j.status === 'cancelled');
        if (render) break;
        await new Promise((ok) => setTimeout(ok, 200));
      }
      assert.ok(render, 'the render was cancelled');
      const credits = JSON.parse(textOf(await client.callTool({ name: 'credits', arguments: {} })));
      assert.equal(credits.frozen, 0);
    } finally {
      await client.close();
    }
  });

  test('/mcp: out of credits, a tool error carries 2001 and the registration link', async () => {
    const u = await newUser(srv.url);
    const { available } = await srv.svc.ledger.balance(srv.svc.db, u.accountId);
    await srv.svc.ledger.grant(srv.svc.db, u.accountId, -available, 'test: spent');
    const transport = new StreamableHTTPClientTransport(new URL(`${srv.url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${u.api.token}` } } });
    const client = new Client({ name: 'test', version: '1.0.0' });
    await client.connect(transport);
    try {
      const r = await client.callTool({ name: 'transcribe', arguments: { url: `${filesUrl}/jfk.mp4` } }, undefined, { timeout: 60_000 });
      assert.equal(r.isError, true);
      assert.match(textOf(r), /2001/);
      assert.match(textOf(r), new RegExp(`/register\\?bind=${u.accountId}`));
    } finally {
      await client.close();
    }
  });
});

describe("/mcp sessions: one account cannot close another's", () => {
  const limits = { max: 6, perAccount: 3, idleToEvictMs: 60_000 };
  let srv: TestServer;
  before(async () => {
    srv = await startServer({ asrSlots: 0, renderSlots: 0 }, { mcpSessions: limits });
  });
  after(() => srv.close());

  const headers = (token: string, sid?: string) => ({
    authorization: `Bearer ${token}`,
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    ...(sid ? { 'mcp-session-id': sid, 'mcp-protocol-version': '2025-06-18' } : {}),
  });
  /** An initialize over raw HTTP: the session id, or the status and error code it was refused with. */
  async function open(token: string): Promise<{ sid?: string; status: number; code?: number }> {
    const res = await fetch(`${srv.url}/mcp`, {
      method: 'POST',
      headers: headers(token),
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } },
      }),
    });
    const sid = res.headers.get('mcp-session-id') ?? undefined;
    const body = await res.text();
    return { status: res.status, ...(sid ? { sid } : { code: (JSON.parse(body) as { code: number }).code }) };
  }
  async function ping(token: string, sid: string): Promise<number> {
    const res = await fetch(`${srv.url}/mcp`, {
      method: 'POST',
      headers: headers(token, sid),
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'ping' }),
    });
    await res.text();
    return res.status;
  }

  test("an account's own least recently used session makes room for its next; another's in use is never closed, a newcomer is refused with 429", async () => {
    const [a, b, c, d] = await Promise.all([newUser(srv.url), newUser(srv.url), newUser(srv.url), newUser(srv.url)]);
    const tok = (u: typeof a) => u.api.token!;
    const sidA = (await open(tok(a))).sid!;
    assert.ok(sidA);
    const bs = [];
    for (let i = 0; i < 4; i++) bs.push((await open(tok(b))).sid!);
    assert.equal(await ping(tok(b), bs[0]!), 404, "B's fourth session closed B's first (3 per account)");
    for (const sid of bs.slice(1)) assert.equal(await ping(tok(b), sid), 200);
    assert.equal(await ping(tok(a), sidA), 200, "A's session is untouched");
    // 4 open; C fills the server to 6, then a third of C's takes the place of C's own oldest.
    const cs = [];
    for (let i = 0; i < 3; i++) cs.push((await open(tok(c))).sid!);
    assert.equal(await ping(tok(c), cs[0]!), 404);
    assert.equal(await ping(tok(c), cs[2]!), 200);
    // Full, every session used within the last minute: D, with none of its own, is refused.
    const refused = await open(tok(d));
    assert.equal(refused.status, 429);
    assert.equal(refused.code, 429);
    assert.equal(await ping(tok(a), sidA), 200, "A's session survives a full server");
    for (const sid of bs.slice(1)) assert.equal(await ping(tok(b), sid), 200);
  });

  test('when full, a session unused for idleToEvictMs makes room for another account; the least recently used goes first', () => {
    const s = (accountId: string, lastUsed: number) => ({ transport: {} as never, accountId, lastUsed });
    const full = new Map([
      ['x1', s('x', 1000)],
      ['y1', s('y', 2000)],
      ['x2', s('x', 3000)],
    ]);
    const lim = { max: 3, perAccount: 2, idleToEvictMs: 60_000 };
    assert.equal(sessionToClose(full, 'z', 50_000, lim), 'full', 'nothing idle long enough');
    assert.equal(sessionToClose(full, 'z', 61_000, lim), 'x1', "x1's minute is up");
    assert.equal(sessionToClose(full, 'x', 50_000, lim), 'x1', 'x at its own limit closes its own oldest');
    assert.equal(sessionToClose(full, 'y', 50_000, lim), 'y1', 'y, on a full server, closes its own');
    assert.equal(sessionToClose(new Map([['x1', s('x', 0)]]), 'y', 0, lim), undefined, 'room');
  });
});
