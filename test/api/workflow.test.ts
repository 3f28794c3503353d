/**
 * The seed's whole workflow end to end, as its agents run it: a real server, the real model on
 * real speech, the SSE stream parsed the way a client parses it, and the exported MP4 probed.
 * Then the agent's edits over HTTP: English and Chinese requests, iterative, with the draft
 * checked after each.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseSync } from 'subtitle';
import { wer } from '../../src/asr/wer.ts';
import { JFK_REFERENCE, SAMPLE_MP4, ffmpeg } from '../helpers/media.ts';
import { probe } from '../helpers/render.ts';
import { newUser, runSse, startServer, type TestServer } from '../helpers/server.ts';

const work = mkdtempSync(join(tmpdir(), 'vidscribe-workflow-'));
const ATTRIBUTION = { 'x-skill-source': 'test', 'x-skill-version': '1.0.0', 'x-skill-platform': 'node' };

function upload(base: string, token: string, sid: string, files: { path: string; name: string }[]) {
  const fd = new FormData();
  for (const f of files) fd.append('file', new Blob([new Uint8Array(readFileSync(f.path))]), f.name);
  return fetch(`${base}/api/upload-video/nemo_agent/me/${sid}`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: fd }).then(
    (r) => r.json() as Promise<any>,
  );
}

const texts = (events: any[]) => events.flatMap((e) => e.content.parts.filter((p: any) => typeof p.text === 'string').map((p: any) => p.text as string));
const calls = (events: any[]) => events.flatMap((e) => e.content.parts.filter((p: any) => p.functionCall).map((p: any) => p.functionCall));
const responses = (events: any[]) => events.flatMap((e) => e.content.parts.filter((p: any) => p.functionResponse).map((p: any) => p.functionResponse));
const finalText = (events: any[]) => {
  const last = events.at(-1);
  assert.ok(
    last && !last.partial && last.content.parts.some((p: any) => typeof p.text === 'string' && p.text.length > 0),
    'every request ends with a text reply',
  );
  return last.content.parts.map((p: any) => p.text).join('');
};

describe('the seed workflow, end to end', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startServer({ asrSlots: 1, renderSlots: 1 });
  });
  after(() => srv.close());

  test('token → session → upload → "transcribe…" over SSE → transcript in state → credits charged → export → poll → download → ffprobe', async () => {
    const u = await newUser(srv.url);
    const up = await upload(srv.url, u.api.token!, u.sessionId, [{ path: SAMPLE_MP4, name: 'jfk_inaugural_1961.mp4' }]);
    assert.equal(up.code, 0, JSON.stringify(up));

    const sse = await runSse(srv.url, u.api.token!, u.sessionId, 'transcribe the spoken dialogue into a text document');
    assert.equal(sse.status, 200);
    assert.match(sse.contentType ?? '', /^text\/event-stream/);
    for (const e of sse.events) {
      assert.equal(e.author, 'nemo_agent');
      assert.equal(typeof e.id, 'string');
      assert.equal(typeof e.invocationId, 'string');
      assert.equal(typeof e.timestamp, 'number');
      assert.ok(Array.isArray(e.content.parts));
    }
    const [call] = calls(sse.events);
    assert.equal(call.name, 'transcribe_media');
    assert.equal(call.args.format, 'txt');
    const [resp] = responses(sse.events);
    assert.equal(resp.id, call.id);
    assert.equal(resp.response.status, 'ok', JSON.stringify(resp));
    assert.ok(
      texts(sse.events).some((t) => /Transcribing jfk_inaugural_1961\.mp4: \d+ %/.test(t)),
      'progress streamed as text',
    );
    const reply = finalText(sse.events);
    assert.match(reply, /jfk_inaugural_1961\.txt/);
    assert.match(reply, /ask not what your country can do for you/i);

    const state = (await u.api.call('GET', `/api/state/nemo_agent/me/${u.sessionId}/latest`)).body.data;
    assert.equal(state.transcripts.length, 1);
    assert.ok(wer(JFK_REFERENCE, state.transcripts[0].text) < 0.15, state.transcripts[0].text);
    assert.equal(state.jobs[0].status, 'completed');
    // No model named anywhere: the agent's transcription reached the worker as base (issue 15), English too.
    const job = await srv.svc.db.selectFrom('jobs').select('result').where('id', '=', state.jobs[0].id).executeTakeFirst();
    assert.equal((JSON.parse(job?.result ?? 'null') as { model?: string } | null)?.model, 'base', job?.result ?? 'no job row');
    const txt = state.files.find((f: any) => f.name === 'jfk_inaugural_1961.txt');
    assert.ok(txt, 'the document is a file in the session');
    const doc = await (await fetch(txt.url)).text();
    assert.match(doc, /ask what you can do for your country/i);

    // 11.76 s is one started minute: 1 credit.
    assert.deepEqual((await u.api.call('GET', '/api/credits/balance/simple')).body.data, { available: 99, frozen: 0, total: 99 });

    const exp = await u.api.call(
      'POST',
      '/api/render/proxy/lambda',
      {
        session_id: u.sessionId,
        draft: {
          id: 'export',
          version: 1,
          w: 1920,
          h: 1080,
          t: [{ id: 'v', tt: 0, sg: [{ id: 'c', s: 0, d: 11_000, src: up.data.media[0].id, m: { fit: 'contain' } }] }],
        },
      },
      ATTRIBUTION,
    );
    assert.equal(exp.body.code, 0, JSON.stringify(exp.body));
    let st: any;
    const seen = new Set<string>();
    for (let i = 0; i < 1200; i++) {
      st = (await u.api.call('GET', `/api/render/proxy/lambda/${exp.body.data.render_id}`)).body.data;
      seen.add(st.status);
      if (st.status === 'completed' || st.status === 'failed') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(st.status, 'completed', JSON.stringify(st));
    assert.equal(st.progress, 100);
    const mp4 = join(work, 'export.mp4');
    writeFileSync(mp4, Buffer.from(await (await fetch(st.url)).arrayBuffer()));
    const facts = probe(mp4);
    assert.equal(facts.video?.codec, 'h264');
    assert.deepEqual([facts.video?.width, facts.video?.height], [1920, 1080]);
    assert.equal(facts.audio?.codec, 'aac');
    assert.ok(Math.abs(facts.formatDuration - 11) < 0.2, String(facts.formatDuration));
    // 1 for the transcript, 2 for a started 1080p minute.
    assert.deepEqual((await u.api.call('GET', '/api/credits/balance/simple')).body.data, { available: 97, frozen: 0, total: 97 });
  });

  test('"get me an SRT" gives a valid SubRip file; 转写成文字 gives text; a question it cannot answer gets a helpful reply', async () => {
    const u = await newUser(srv.url);
    await upload(srv.url, u.api.token!, u.sessionId, [{ path: SAMPLE_MP4, name: 'talk.mp4' }]);
    const srt = await runSse(srv.url, u.api.token!, u.sessionId, 'get me an SRT');
    assert.match(finalText(srt.events), /talk\.srt/);
    const files = (await u.api.call('GET', `/api/state/nemo_agent/me/${u.sessionId}/latest`)).body.data.files;
    const body = await (await fetch(files.find((f: any) => f.name === 'talk.srt').url)).text();
    const cues = parseSync(body).filter((n) => n.type === 'cue');
    assert.ok(cues.length >= 1);
    assert.match(cues.map((c) => (c.data as { text: string }).text).join(' '), /country/i);

    const zh = await runSse(srv.url, u.api.token!, u.sessionId, '请把这个视频转写成文字');
    assert.equal(calls(zh.events)[0].args.format, 'txt');
    assert.match(finalText(zh.events), /已把 talk\.mp4 转写为 talk\.txt/, 'a Chinese request gets a Chinese reply');
    assert.ok(
      texts(zh.events).some((t) => /正在转写 talk\.mp4：\d+%/.test(t)),
      'progress in Chinese too',
    );
    assert.match(finalText((await runSse(srv.url, u.api.token!, u.sessionId, '你好')).events), /我可以/);

    const huh = await runSse(srv.url, u.api.token!, u.sessionId, "what's the weather in Paris?");
    assert.deepEqual(calls(huh.events), []);
    assert.match(finalText(huh.events), /transcribe/i);
    assert.match(finalText(huh.events), /captions/i);

    const es = await runSse(srv.url, u.api.token!, u.sessionId, 'subtitles in Spanish');
    assert.match(finalText(es.events), /only into English/);
  });

  test("no credits: the agent answers with 2001's message and a registration link, and nothing is charged", async () => {
    const poor = await startServer({ asrSlots: 1, renderSlots: 0, prices: { anonymousGrant: 0 } });
    try {
      const u = await newUser(poor.url);
      await upload(poor.url, u.api.token!, u.sessionId, [{ path: SAMPLE_MP4, name: 'talk.mp4' }]);
      const r = await runSse(poor.url, u.api.token!, u.sessionId, 'transcribe this');
      const [resp] = responses(r.events);
      assert.equal(resp.response.code, 2001);
      assert.match(finalText(r.events), /register\?bind=anon_/);
      assert.deepEqual((await u.api.call('GET', '/api/credits/balance/simple')).body.data, { available: 0, frozen: 0, total: 0 });
    } finally {
      await poor.close();
    }
  });
});

describe('the agent edits the session draft (English and Chinese, iterative)', () => {
  let srv: TestServer;
  let music: string;
  before(async () => {
    srv = await startServer({ asrSlots: 1, renderSlots: 1 });
    music = join(work, 'lofi.mp3');
    ffmpeg('-f', 'lavfi', '-i', 'sine=frequency=440:duration=20', '-c:a', 'libmp3lame', '-b:a', '64k', music);
  });
  after(() => srv.close());

  const draftOf = async (u: Awaited<ReturnType<typeof newUser>>) => (await u.api.call('GET', `/api/state/nemo_agent/me/${u.sessionId}/latest`)).body.data.draft;

  test('title, vertical, music at 35 %, trim — each message builds on the last', async () => {
    const u = await newUser(srv.url);
    const up = await upload(srv.url, u.api.token!, u.sessionId, [
      { path: SAMPLE_MP4, name: 'city.mp4' },
      { path: music, name: 'lofi.mp3' },
    ]);
    const [video, song] = up.data.media;

    finalText((await runSse(srv.url, u.api.token!, u.sessionId, "add a title 'Urban Dreams' for the first 3 seconds")).events);
    let d = await draftOf(u);
    const title = d.t.find((t: any) => t.tt === 7).sg[0];
    assert.deepEqual([title.s, title.d, title.m.text], [0, 3000, 'Urban Dreams']);
    assert.equal(d.t.find((t: any) => t.tt === 0).sg[0].src, video.id);

    finalText((await runSse(srv.url, u.api.token!, u.sessionId, 'make it vertical for TikTok')).events);
    d = await draftOf(u);
    assert.deepEqual([d.w, d.h], [1080, 1920]);
    assert.ok(
      d.t.some((t: any) => t.tt === 7 && t.sg[0].m.text === 'Urban Dreams'),
      'the title is still there',
    );

    finalText((await runSse(srv.url, u.api.token!, u.sessionId, 'add lo-fi music at 35%')).events);
    d = await draftOf(u);
    const bgm = d.t.find((t: any) => t.tt === 1).sg[0];
    assert.equal(bgm.m.volume, 0.35);
    assert.equal(bgm.src, song.id);

    finalText((await runSse(srv.url, u.api.token!, u.sessionId, 'cut the first 2 seconds')).events);
    d = await draftOf(u);
    const clip = d.t.find((t: any) => t.tt === 0).sg[0];
    assert.deepEqual([clip.s, clip.in, clip.d], [0, 2000, Math.round(11.76 * 1000) - 2000]);

    // An edit that cannot apply is answered in words, and the draft stays as it was.
    const tooFar = await runSse(srv.url, u.api.token!, u.sessionId, 'cut the first 5 minutes');
    assert.match(finalText(tooFar.events), /only 9\.8 s long/);
    assert.deepEqual(await draftOf(u), d);
    const noMusic = await newUser(srv.url);
    await upload(srv.url, noMusic.api.token!, noMusic.sessionId, [{ path: SAMPLE_MP4, name: 'solo.mp4' }]);
    assert.match(
      finalText((await runSse(srv.url, noMusic.api.token!, noMusic.sessionId, 'add background music at 20%')).events),
      /no audio file to use as background music/,
    );
  });

  test('中文: 竖屏、加标题「城市之梦」前3秒、背景音乐音量35%、加字幕, then export a 1080p MP4 with the captions burned in', async () => {
    const u = await newUser(srv.url);
    await upload(srv.url, u.api.token!, u.sessionId, [
      { path: SAMPLE_MP4, name: 'jfk.mp4' },
      { path: music, name: 'song.mp3' },
    ]);
    const r1 = await runSse(srv.url, u.api.token!, u.sessionId, '改成竖屏，加标题「城市之梦」前3秒，背景音乐音量35%');
    finalText(r1.events);
    let d = await draftOf(u);
    assert.deepEqual([d.w, d.h], [1080, 1920]);
    assert.ok(d.t.some((t: any) => t.tt === 7 && t.sg.some((s: any) => s.m.text === '城市之梦' && s.s === 0 && s.d === 3000)));
    assert.equal(d.t.find((t: any) => t.tt === 1).sg[0].m.volume, 0.35);

    const r2 = await runSse(srv.url, u.api.token!, u.sessionId, '加字幕，导出视频');
    const names = calls(r2.events).map((c: any) => c.name);
    assert.deepEqual(names, ['transcribe_media', 'add_captions', 'export_video']);
    const reply = finalText(r2.events);
    assert.match(reply, /完成/);
    d = await draftOf(u);
    const captions = d.t
      .filter((t: any) => t.tt === 7)
      .flatMap((t: any) => t.sg)
      .filter((s: any) => s.m.kind === 'caption');
    assert.ok(captions.length >= 2, 'captions are in the draft');
    assert.ok(
      captions.every((c: any) => c.m.text.split('\n').every((line: string) => line.length <= 28)),
      '28 characters a line on vertical video',
    );
    const url = /(http:\/\/\S+\/api\/files\/\S+)/.exec(reply)?.[1];
    assert.ok(url, reply);
    const mp4 = join(work, 'zh.mp4');
    writeFileSync(mp4, Buffer.from(await (await fetch(url)).arrayBuffer()));
    const facts = probe(mp4);
    assert.deepEqual([facts.video?.width, facts.video?.height], [1080, 1920]);
  });

  test('iterative: a rough cut exported as a preview, refined, exported again; the preview stays downloadable; undo takes the refinement back', async () => {
    const u = await newUser(srv.url);
    await upload(srv.url, u.api.token!, u.sessionId, [{ path: SAMPLE_MP4, name: 'jfk.mp4' }]);
    const download = async (reply: string, name: string) => {
      const url = /(http:\/\/\S+\/api\/files\/\S+)/.exec(reply)?.[1];
      assert.ok(url, reply);
      const file = join(work, name);
      const res = await fetch(url);
      assert.equal(res.status, 200, url);
      writeFileSync(file, Buffer.from(await res.arrayBuffer()));
      return { url, facts: probe(file) };
    };

    const rough = finalText((await runSse(srv.url, u.api.token!, u.sessionId, 'keep 0:02 to 0:08 and export')).events);
    const preview = await download(rough, 'rough.mp4');
    assert.ok(Math.abs(preview.facts.formatDuration - 6) < 0.2, `rough cut is 6 s, got ${preview.facts.formatDuration}`);

    const refine = await runSse(srv.url, u.api.token!, u.sessionId, "add a title 'Take two' for the first 2 seconds and export again");
    assert.deepEqual(
      calls(refine.events).map((c: any) => c.name),
      ['add_title', 'export_video'],
    );
    const final = await download(finalText(refine.events), 'refined.mp4');
    assert.notEqual(final.url, preview.url, 'a new file for the refined cut');
    assert.ok(Math.abs(final.facts.formatDuration - 6) < 0.2);
    assert.equal((await fetch(preview.url)).status, 200, 'the preview is still there');
    assert.ok((await draftOf(u)).t.some((t: any) => t.tt === 7 && t.sg.some((sg: any) => sg.m.text === 'Take two')));

    finalText((await runSse(srv.url, u.api.token!, u.sessionId, 'undo')).events);
    const undone = await draftOf(u);
    assert.ok(!undone.t.some((t: any) => t.tt === 7 && t.sg.some((sg: any) => sg.m.text === 'Take two')), 'undo removed the title');
    assert.equal(
      undone.t.find((t: any) => t.tt === 0).sg.reduce((n: number, sg: any) => n + sg.d, 0),
      6000,
      'and kept the rough cut',
    );
  });

  test('batch: two videos in one session, "the second video" is the one transcribed', async () => {
    const u = await newUser(srv.url);
    const short = join(work, 'short.mp4');
    ffmpeg('-i', SAMPLE_MP4, '-t', '4', '-c', 'copy', short);
    const up = await upload(srv.url, u.api.token!, u.sessionId, [
      { path: short, name: 'first.mp4' },
      { path: SAMPLE_MP4, name: 'second.mp4' },
    ]);
    const r = await runSse(srv.url, u.api.token!, u.sessionId, 'transcribe the second video with timestamps');
    const [call] = calls(r.events);
    assert.equal(call.args.media_id, up.data.media[1].id);
    assert.equal(call.args.timestamps, true);
    assert.match(finalText(r.events), /second\.txt/);
    const byName = await runSse(srv.url, u.api.token!, u.sessionId, 'transcribe first.mp4 into a Word document');
    assert.equal(calls(byName.events)[0].args.media_id, up.data.media[0].id);
    assert.equal(calls(byName.events)[0].args.format, 'docx');
  });
});
