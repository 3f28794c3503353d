/**
 * The agent's optional language-model planner (issue 9, "a brain for requests that keywords
 * miss"), against real servers configured with `llm` pointing at a small fake chat-completions
 * server (node:http) that answers canned plans per request and counts the calls it gets:
 * (a) a request the parser does not understand is planned, and the draft shows the plan;
 * (b) an invalid plan — unknown tool, out-of-range value, a media id not in the session, a
 *     transcription nobody asked for — is refused: no tool runs, nothing is charged;
 * (c) the endpoint down, hanging or answering 10 MB: the parser's answer, within the timeout;
 * (d) a request the parser understands never reaches the planner.
 * No real model is installed here, so no test runs one.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseRequest } from '../../src/agent/intent.ts';
import { ffmpeg, tempDir } from '../helpers/media.ts';
import { form, newUser, runSse, startServer, type Api, type TestServer } from '../helpers/server.ts';

const TIMEOUT_MS = 2500;
const work = tempDir('vidscribe-planner-');

interface Seen {
  request: string;
  media: { id: string; name: string; kind: string }[];
  body: any;
}
type Answer = { content: string } | { hang: true } | { huge: true };

/** The fake chat-completions server: `plans` maps a request (as the model sees it) to its answer. */
function fakeLlm(plans: (seen: Seen) => Answer | undefined): Promise<{ url: string; calls: Seen[]; server: Server }> {
  const calls: Seen[] = [];
  const server = createServer(async (req, res) => {
    let raw = '';
    for await (const chunk of req) raw += chunk;
    if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
      res.writeHead(404).end();
      return;
    }
    const body = JSON.parse(raw);
    const user = JSON.parse(body.messages.find((m: any) => m.role === 'user').content);
    const seen: Seen = { request: user.request, media: user.media, body };
    calls.push(seen);
    const answer = plans(seen) ?? { content: '{"calls":[]}' };
    if ('hang' in answer) return; // never answers
    res.writeHead(200, { 'content-type': 'application/json' });
    if ('huge' in answer) {
      // 10 MB of "content", streamed: the reader must stop long before the end.
      res.write('{"choices":[{"message":{"role":"assistant","content":"');
      const mb = 'x'.repeat(1024 * 1024);
      for (let i = 0; i < 10; i++) if (!res.write(mb)) await new Promise((r) => res.once('drain', r));
      res.end('"}}]}');
      return;
    }
    res.end(
      JSON.stringify({
        id: 'c1',
        object: 'chat.completion',
        choices: [{ index: 0, message: { role: 'assistant', content: answer.content }, finish_reason: 'stop' }],
      }),
    );
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, calls, server })),
  );
}

const plan = (...calls: { tool: string; args: Record<string, unknown> }[]) => ({ content: JSON.stringify({ calls }) });
const balance = async (api: Api) => (await api.call('GET', '/api/credits/balance/simple')).body.data as { available: number; frozen: number };
const state = async (api: Api, sid: string) => (await api.call('GET', `/api/state/nemo_agent/me/${sid}/latest`)).body.data;
const toolCalls = (events: any[]) => events.flatMap((e) => e.content.parts).filter((p: any) => p.functionCall);
const finalText = (events: any[]) => events.at(-1)?.content.parts[0].text as string;

// Requests the parser does not understand (checked below), each with its canned plan.
const PORTRAIT_HELLO = "flip it so it fits a phone and pop 'Hello' up for the first two seconds";
const SPARKLES = 'sprinkle some sparkles over it';
const LOUD = 'crank the tune way up';
const NOT_HERE = 'lay the other track under it';
const UNASKED = 'what does he say around the middle';
const HANG = 'take your time thinking about this one';
const HUGE = 'tell me everything you know';

let fake: Awaited<ReturnType<typeof fakeLlm>>;
let server: TestServer;
let down: TestServer;
let clipPath: string;
let songPath: string;

before(async () => {
  fake = await fakeLlm(({ request, media }) => {
    const video = media.find((m) => m.kind === 'video');
    switch (request) {
      case PORTRAIT_HELLO:
        return plan({ tool: 'set_aspect', args: { aspect: '9:16' } }, { tool: 'add_title', args: { text: 'Hello', start_sec: 0, duration_sec: 2 } });
      case SPARKLES:
        return plan({ tool: 'set_aspect', args: { aspect: '1:1' } }, { tool: 'add_sparkles', args: {} });
      case LOUD:
        return plan({ tool: 'add_background_music', args: { volume: 5 } });
      case NOT_HERE:
        return plan({ tool: 'add_background_music', args: { volume: 0.3, media_id: 'med_not_in_this_session' } });
      case UNASKED:
        return plan({ tool: 'transcribe_media', args: { format: 'txt', timestamps: false, media_id: video?.id } });
      case HANG:
        return { hang: true };
      case HUGE:
        return { huge: true };
    }
    return undefined;
  });
  // A nothing-listening port for the endpoint that is down.
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const deadPort = (probe.address() as AddressInfo).port;
  await new Promise((r) => probe.close(r));

  server = await startServer({ llm: { url: fake.url, model: 'fake-planner', timeoutMs: TIMEOUT_MS } });
  down = await startServer({ llm: { url: `http://127.0.0.1:${deadPort}/v1`, model: 'fake-planner', timeoutMs: TIMEOUT_MS } });

  clipPath = join(work, 'clip.mp4');
  songPath = join(work, 'song.mp3');
  ffmpeg(
    '-f',
    'lavfi',
    '-i',
    'testsrc=size=320x180:rate=10',
    '-f',
    'lavfi',
    '-i',
    'sine=frequency=440',
    '-t',
    '4',
    '-c:v',
    'libx264',
    '-pix_fmt',
    'yuv420p',
    '-c:a',
    'aac',
    '-shortest',
    clipPath,
  );
  ffmpeg('-f', 'lavfi', '-i', 'sine=frequency=220', '-t', '4', songPath);
});

after(async () => {
  await server?.close();
  await down?.close();
  fake?.server.closeAllConnections();
  await new Promise((r) => fake?.server.close(r));
});

/** A new user with the clip (and the song) in a fresh session on `srv`. */
async function userWithClip(srv: TestServer) {
  const u = await newUser(srv.url);
  const up = await u.api.call(
    'POST',
    `/api/upload-video/nemo_agent/me/${u.sessionId}`,
    form([
      { name: 'clip.mp4', body: readFileSync(clipPath) },
      { name: 'song.mp3', body: readFileSync(songPath) },
    ]),
  );
  assert.equal(up.body.code, 0, JSON.stringify(up.body));
  return u;
}

test('the requests given to the fake planner are ones the parser does not understand', () => {
  for (const m of [PORTRAIT_HELLO, SPARKLES, LOUD, NOT_HERE, UNASKED, HANG, HUGE]) assert.equal(parseRequest(m).unknown, true, m);
});

describe('(a) a request the parser does not understand is planned', () => {
  test(`"${PORTRAIT_HELLO}": aspect and title from the plan, on the draft; the model saw the tools, the media and the request`, async () => {
    const u = await userWithClip(server);
    const before = await balance(u.api);
    const n = fake.calls.length;
    const r = await runSse(server.url, u.api.token!, u.sessionId, PORTRAIT_HELLO);
    assert.equal(r.status, 200);
    assert.equal(fake.calls.length, n + 1, 'the planner was asked once');
    assert.deepEqual(
      toolCalls(r.events).map((p: any) => p.functionCall.name),
      ['set_aspect', 'add_title'],
    );
    const draft = (await state(u.api, u.sessionId)).draft;
    assert.ok(draft.h > draft.w, `portrait canvas, got ${draft.w}x${draft.h}`);
    const titles = draft.t.filter((t: any) => t.tt === 7).flatMap((t: any) => t.sg);
    assert.ok(
      titles.some((s: any) => s.m.text === 'Hello' && s.s === 0 && s.d === 2000),
      JSON.stringify(titles),
    );
    assert.deepEqual(await balance(u.api), before, 'nothing charged');

    const seen = fake.calls.at(-1)!;
    assert.equal(seen.body.model, 'fake-planner');
    assert.equal(seen.body.response_format.type, 'json_schema');
    const tools = seen.body.response_format.json_schema.schema.properties.calls.items.anyOf.map((s: any) => s.properties.tool.const);
    assert.ok(tools.includes('set_aspect') && tools.includes('add_title') && tools.includes('export_video'), tools.join());
    assert.deepEqual(seen.media.map((m) => m.name).sort(), ['clip.mp4', 'song.mp3']);
  });

  test('times and ratios reach the model in seconds and shapes, as the parser reads them', async () => {
    const u = await userWithClip(server);
    const r = await runSse(server.url, u.api.token!, u.sessionId, "jazz up 0:01–0:03 with 'Hi' and go 4:5");
    assert.equal(r.status, 200);
    assert.equal(fake.calls.at(-1)!.request, "jazz up 1 s to 3 s with 'Hi' and go vertical 4:5 aspect ratio");
  });
});

describe('(b) an invalid plan is refused whole: no tool runs, nothing is charged', () => {
  const cases: [string, string][] = [
    [SPARKLES, 'an unknown tool (after a valid call)'],
    [LOUD, 'a volume out of range'],
    [NOT_HERE, 'a media id not in the session'],
    [UNASKED, 'a transcription the message does not ask for'],
  ];
  for (const [message, what] of cases) {
    test(`${what}: "${message}" gets the parser's answer`, async () => {
      const u = await userWithClip(server);
      const credits = await balance(u.api);
      const draftBefore = (await state(u.api, u.sessionId)).draft;
      const n = fake.calls.length;
      const r = await runSse(server.url, u.api.token!, u.sessionId, message);
      assert.equal(r.status, 200);
      assert.equal(fake.calls.length, n + 1, 'the planner was asked');
      assert.deepEqual(toolCalls(r.events), [], 'no tool was called');
      assert.match(finalText(r.events), /^I can't do that here/);
      const after = await state(u.api, u.sessionId);
      assert.deepEqual(after.jobs, [], 'no job was queued');
      assert.deepEqual(after.draft, draftBefore, 'the draft is unchanged');
      assert.deepEqual(await balance(u.api), credits, 'nothing charged');
    });
  }
});

describe("(c) a planner that fails gives the parser's answer, within the timeout", () => {
  const cases: [() => TestServer, string, string, number][] = [
    [() => down, 'the endpoint is down', PORTRAIT_HELLO, TIMEOUT_MS],
    [() => server, 'the endpoint never answers', HANG, TIMEOUT_MS + 2000],
    [() => server, 'the endpoint answers 10 MB', HUGE, TIMEOUT_MS],
  ];
  for (const [srv, what, message, withinMs] of cases) {
    test(`${what}: answered in under ${withinMs} ms, nothing done`, async () => {
      const u = await userWithClip(srv());
      const t0 = performance.now();
      const r = await runSse(srv().url, u.api.token!, u.sessionId, message);
      const ms = performance.now() - t0;
      assert.equal(r.status, 200);
      assert.deepEqual(toolCalls(r.events), []);
      assert.match(finalText(r.events), /^I can't do that here/);
      assert.ok(ms < withinMs, `answered in ${Math.round(ms)} ms`);
    });
  }
});

describe('(d) a request the parser understands never reaches the planner', () => {
  for (const message of ['make it vertical', "make the clip portrait and put 'Hello' on screen for the first two seconds", 'add a title "Hi" for 2 seconds']) {
    test(`"${message}"`, async () => {
      const u = await userWithClip(server);
      const n = fake.calls.length;
      const r = await runSse(server.url, u.api.token!, u.sessionId, message);
      assert.equal(r.status, 200);
      assert.ok(toolCalls(r.events).length > 0, 'the parser acted');
      assert.equal(fake.calls.length, n, 'the planner was not asked');
    });
  }
});
