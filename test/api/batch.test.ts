/**
 * Issue 9's batch workflow over HTTP: several uploaded videos, the same treatment on each, one
 * MP4 per video ("export each video separately", "分别导出每个视频"). Real server, real ffmpeg;
 * the main cases have no captions, so no model runs.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SAMPLE_MP4, ffmpeg, tempDir } from '../helpers/media.ts';
import { makeTestVideo, probe } from '../helpers/render.ts';
import { newUser, runSse, startServer, type TestServer } from '../helpers/server.ts';

const work = tempDir('vidscribe-batch-');

/** A short test pattern with a tone, so each render's duration names its source. */
const clip = (name: string, size: string, seconds: number, hz: number): string => makeTestVideo(join(work, name), { seconds, size, fps: 25, tone: hz });

async function upload(base: string, token: string, sid: string, files: { path: string; name: string }[]) {
  const fd = new FormData();
  for (const f of files) fd.append('file', new Blob([new Uint8Array(readFileSync(f.path))]), f.name);
  const r = await fetch(`${base}/api/upload-video/nemo_agent/me/${sid}`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: fd });
  const body = (await r.json()) as any;
  assert.equal(body.code, 0, JSON.stringify(body));
  return body.data;
}

const parts = (events: any[], key: string) => events.flatMap((e) => e.content.parts.filter((p: any) => p[key]).map((p: any) => p[key]));
const finalText = (events: any[]) => {
  const last = events.at(-1);
  assert.ok(last && !last.partial, 'every request ends with a final reply');
  return last.content.parts.map((p: any) => p.text).join('');
};
const balance = async (u: Awaited<ReturnType<typeof newUser>>) => (await u.api.call('GET', '/api/credits/balance/simple')).body.data.available as number;

describe('batch export: one render per video', () => {
  let srv: TestServer;
  let wide: string;
  let tall: string;
  before(async () => {
    srv = await startServer({ asrSlots: 1, renderSlots: 1 });
    wide = clip('wide.mp4', '640x360', 2, 440);
    tall = clip('tall.mp4', '360x640', 3, 660);
  });
  after(() => srv.close());

  /** Uploads both clips, asks, and checks one probed MP4 per video, the charge and the untouched session draft. */
  async function batch(message: string, files: { path: string; name: string; seconds: number }[]) {
    const u = await newUser(srv.url);
    const up = await upload(srv.url, u.api.token!, u.sessionId, files);
    const stateOf = async () => (await u.api.call('GET', `/api/state/nemo_agent/me/${u.sessionId}/latest`)).body.data;
    const draftBefore = (await stateOf()).draft;
    const credits = await balance(u);

    const sse = await runSse(srv.url, u.api.token!, u.sessionId, message);
    assert.equal(sse.status, 200);
    const calls = parts(sse.events, 'functionCall').filter((c: any) => c.name === 'export_video');
    const responses = parts(sse.events, 'functionResponse').filter((r: any) => r.name === 'export_video');
    assert.equal(calls.length, files.length, 'one export call per video');
    assert.deepEqual(
      responses.map((r: any) => r.id),
      calls.map((c: any) => c.id),
      'each call has its response',
    );
    assert.deepEqual(
      calls.map((c: any) => c.args.media_id),
      up.media.map((m: any) => m.id),
      'in upload order',
    );
    const reply = finalText(sse.events);
    let price = 0;
    for (const [i, r] of responses.entries()) {
      assert.equal(r.response.status, 'ok', JSON.stringify(r));
      assert.ok(reply.includes(r.response.url), 'the reply links every file');
      const mp4 = join(work, `${u.sessionId}-${i}.mp4`);
      writeFileSync(mp4, Buffer.from(await (await fetch(r.response.url)).arrayBuffer()));
      const facts = probe(mp4);
      assert.deepEqual([facts.video?.width, facts.video?.height], [draftBefore.w, draftBefore.h], 'the session draft’s canvas');
      assert.equal(Math.min(facts.video!.width, facts.video!.height), 1080, '1080p');
      assert.ok(Math.abs(facts.formatDuration - files[i]!.seconds) < 0.25, `${files[i]!.name}: ${facts.formatDuration} s`);
      assert.equal(facts.audio?.codec, 'aac');
      price += r.response.credits;
    }
    const state = await stateOf();
    const renders = state.jobs.filter((j: any) => j.type === 'render');
    assert.equal(renders.length, files.length, JSON.stringify(state.jobs));
    assert.equal(
      renders.reduce((n: number, j: any) => n + j.price, 0),
      price,
    );
    // Transcriptions only when captions were asked for (each video without a transcript: one).
    const transcribed = parts(sse.events, 'functionResponse')
      .filter((r: any) => r.name === 'transcribe_media')
      .reduce((n: number, r: any) => n + r.response.credits, 0);
    assert.equal(credits - (await balance(u)), price + transcribed, 'charged the sum of the renders’ prices');
    assert.equal(price, 2 * files.length, 'a started 1080p minute each');
    assert.deepEqual(state.draft, draftBefore, 'the session draft is unchanged');
    return reply;
  }

  test('"export each video separately": two videos, two MP4s, each its own duration', async () => {
    const reply = await batch('export each video separately', [
      { path: wide, name: 'wide.mp4', seconds: 2 },
      { path: tall, name: 'tall.mp4', seconds: 3 },
    ]);
    assert.match(reply, /This used 4 credits; \d+ left\./);
  });

  test('"分别导出每个视频" does the same in Chinese', async () => {
    const reply = await batch('分别导出每个视频', [
      { path: wide, name: '横屏.mp4', seconds: 2 },
      { path: tall, name: '竖屏.mp4', seconds: 3 },
    ]);
    assert.match(reply, /已渲染/);
  });

  test('"add captions to each video and export them separately": each video transcribed, captioned from its own words, rendered', async () => {
    const speech = join(work, 'speech.mp4');
    ffmpeg('-i', SAMPLE_MP4, '-t', '3', '-c:v', 'libx264', '-preset', 'ultrafast', '-c:a', 'aac', speech);
    const reply = await batch('add captions to each video and export them separately', [
      { path: speech, name: 'speech.mp4', seconds: 3 },
      { path: wide, name: 'tone.mp4', seconds: 2 },
    ]);
    assert.match(reply, /speech\.mp4: burned in captions \([1-9]\d* cues\)/);
    assert.match(reply, /This used 6 credits/, 'two transcriptions (1 each) and two renders (2 each)');
  });

  test('with one video, "export each" is just one render', async () => {
    await batch('render each file', [{ path: tall, name: 'only.mp4', seconds: 3 }]);
  });
});

test('credits run out part-way: the render already queued stands, the reply names the video left out with the 2001 message', async () => {
  const poor = await startServer({ asrSlots: 1, renderSlots: 1, prices: { anonymousGrant: 3 } });
  try {
    const u = await newUser(poor.url);
    await upload(poor.url, u.api.token!, u.sessionId, [
      { path: clip('a.mp4', '640x360', 2, 440), name: 'first.mp4' },
      { path: clip('b.mp4', '640x360', 2, 550), name: 'second.mp4' },
    ]);
    const sse = await runSse(poor.url, u.api.token!, u.sessionId, 'export each video separately');
    const responses = parts(sse.events, 'functionResponse').filter((r: any) => r.name === 'export_video');
    assert.deepEqual(responses.map((r: any) => [r.response.status, r.response.code]).sort(), [
      ['error', 2001],
      ['ok', undefined],
    ]);
    const reply = finalText(sse.events);
    assert.match(reply, /first\.\d+x\d+\.mp4/, 'the first render is delivered');
    assert.match(reply, /second\.mp4 was not rendered: Not enough credits to render second\.mp4\. Register/);
    assert.match(reply, /This used 2 credits; 1 left\./);
    assert.equal(await balance(u), 1);
  } finally {
    await poor.close();
  }
});
