/**
 * Issue 9, parts 1 and 2, over real HTTP with the real ffmpeg: the session's draft follows its
 * media (an upload puts a video on the main track, a second one after it, photos alone make a
 * slideshow), export with just the session renders it at 1080p; pictures render as stills (fit
 * blur on a vertical canvas), an animated gif loops, a png overlay sits in its corner.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { addOverlay } from '../../src/render/operations.ts';
import type { Draft } from '../../src/render/draft.ts';
import { ffmpeg, makeLongClaimM4a, tempDir } from '../helpers/media.ts';
import { frameAt, makeTestVideo, probe, type Frame } from '../helpers/render.ts';
import { ATTRIBUTION, newUser, runSse, startServer, type Api, type TestServer } from '../helpers/server.ts';

const work = tempDir('vidscribe-draft-media-');

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

function upload(api: Api, sessionId: string, files: { name: string; path: string; type?: string }[]) {
  const fd = new FormData();
  for (const f of files) fd.append('file', new Blob([new Uint8Array(readFileSync(f.path))], { type: f.type ?? 'application/octet-stream' }), f.name);
  return api.call('POST', `/api/upload-video/nemo_agent/me/${sessionId}`, fd);
}

async function state(api: Api, sessionId: string): Promise<{ draft: Draft | null; media: { id: string; kind: string }[] }> {
  const r = await api.call('GET', `/api/state/nemo_agent/me/${sessionId}/latest`);
  assert.equal(r.body.code, 0, JSON.stringify(r.body));
  return r.body.data;
}

/** Exports (the session's draft, or the one given), waits for the render and downloads the MP4. */
async function exportMp4(api: Api, sessionId: string, name: string, draft?: Draft): Promise<string> {
  const r = await api.call('POST', '/api/render/proxy/lambda', { session_id: sessionId, ...(draft ? { draft } : {}) }, ATTRIBUTION);
  assert.equal(r.body.code, 0, JSON.stringify(r.body));
  const until = Date.now() + 180_000;
  let st: any;
  while (Date.now() < until) {
    st = (await api.call('GET', `/api/render/proxy/lambda/${r.body.data.render_id}`)).body.data;
    if (st.status === 'completed' || st.status === 'failed') break;
    await new Promise((res) => setTimeout(res, 250));
  }
  assert.equal(st.status, 'completed', JSON.stringify(st));
  const out = join(work, name);
  writeFileSync(out, Buffer.from(await (await fetch(st.url)).arrayBuffer()));
  return out;
}

const isRed = (f: Frame, i: number) => f.rgb[i]! > 180 && f.rgb[i + 1]! < 80 && f.rgb[i + 2]! < 80;

/** Share of red pixels in a region given as fractions of the frame. */
function redShare(f: Frame, x0: number, x1: number, y0: number, y1: number): number {
  let red = 0;
  let all = 0;
  for (let y = Math.floor(y0 * f.height); y < Math.floor(y1 * f.height); y++) {
    for (let x = Math.floor(x0 * f.width); x < Math.floor(x1 * f.width); x++) {
      all++;
      if (isRed(f, (y * f.width + x) * 3)) red++;
    }
  }
  return red / all;
}

function meanDiff(a: Frame, b: Frame): number {
  let sum = 0;
  for (let i = 0; i < a.rgb.length; i++) sum += Math.abs(a.rgb[i]! - b.rgb[i]!);
  return sum / a.rgb.length;
}

describe('the draft follows the media; pictures as media', () => {
  let srv: TestServer;
  let clip: string;
  let clip2: string;
  const png = join(work, 'logo.png');
  const photo = join(work, 'photo.jpg');
  const gif = join(work, 'anim.gif');
  before(async () => {
    srv = await startServer();
    clip = makeTestVideo(join(work, 'talk.mp4'), { seconds: 3, size: '640x360', fps: 25, speech: true, pattern: 'testsrc2=s=640x360:r=25' });
    clip2 = makeTestVideo(join(work, 'second.mp4'), { seconds: 2, size: '640x360', fps: 25, speech: true });
    ffmpeg('-f', 'lavfi', '-i', 'color=c=red:s=120x120', '-frames:v', '1', png);
    ffmpeg('-f', 'lavfi', '-i', 'testsrc=s=400x300', '-frames:v', '1', photo);
    // A 1 s animation of a moving pattern, which must loop through a 4 s segment.
    ffmpeg('-f', 'lavfi', '-i', 'testsrc=s=160x120:r=10', '-t', '1', gif);
  });
  after(async () => {
    await srv.close();
  });

  test('an upload puts the video on the main track; export with just the session renders it at 1080p; a second video is appended', async () => {
    const u = await newUser(srv.url);
    const up = await upload(u.api, u.sessionId, [{ name: 'talk.mp4', path: clip, type: 'video/mp4' }]);
    assert.equal(up.body.code, 0, JSON.stringify(up.body));
    const id = up.body.data.media[0].id;
    const s1 = await state(u.api, u.sessionId);
    assert.ok(s1.draft, 'state shows a draft once a video is in the session');
    assert.deepEqual([s1.draft.w, s1.draft.h], [1920, 1080]);
    const main = s1.draft.t.find((t) => t.tt === 0)!;
    assert.deepEqual(
      main.sg.map((sg) => [sg.src, sg.s, sg.d]),
      [[id, 0, 3000]],
    );

    // The document's quick edit: upload → "transcribe the spoken dialogue into a text document" → export.
    await runSse(srv.url, u.api.token!, u.sessionId, 'transcribe the spoken dialogue into a text document');
    const afterTranscript = await state(u.api, u.sessionId);
    assert.deepEqual(afterTranscript.draft, s1.draft, 'a transcription leaves the draft as it was');
    const mp4 = await exportMp4(u.api, u.sessionId, 'quick.mp4');
    const facts = probe(mp4);
    assert.deepEqual([facts.video?.codec, facts.video?.width, facts.video?.height, facts.audio?.codec], ['h264', 1920, 1080, 'aac']);
    assert.ok(Math.abs(facts.formatDuration - 3) < 0.1, `duration ${facts.formatDuration}`);

    const up2 = await upload(u.api, u.sessionId, [{ name: 'second.mp4', path: clip2, type: 'video/mp4' }]);
    const id2 = up2.body.data.media[0].id;
    const s2 = await state(u.api, u.sessionId);
    assert.deepEqual(
      s2.draft!.t.find((t) => t.tt === 0)!.sg.map((sg) => [sg.src, sg.s, sg.d]),
      [
        [id, 0, 3000],
        [id2, 3000, 2000],
      ],
      'appended after the existing clip, nothing moved',
    );
    assert.ok(s2.draft!.version > s1.draft.version);

    // Captions asked for come from the transcript already made, on the draft that export renders.
    await runSse(srv.url, u.api.token!, u.sessionId, 'add captions');
    const captioned = (await state(u.api, u.sessionId)).draft!;
    assert.ok(
      captioned.t.some((t) => t.tt === 7 && t.sg.length > 0),
      JSON.stringify(captioned.t.map((t) => t.tt)),
    );
    s2.draft = captioned;

    // An audio file and a photo beside the video are available, not placed.
    await upload(u.api, u.sessionId, [{ name: 'logo.png', path: png, type: 'image/png' }]);
    const s3 = await state(u.api, u.sessionId);
    assert.deepEqual(s3.draft, s2.draft);
  });

  test('a file longer than the draft can hold is kept, unplaced; the draft stays as it was and its file is not orphaned', async () => {
    // An M4A whose headers claim 596 hours: past the draft's 6 h timeline.
    const m4a = makeLongClaimM4a(clip, join(work, 'claims-596h.m4a'));
    // Audio is placed on a draft without video: a new session.
    const u = await newUser(srv.url);
    const before = await state(u.api, u.sessionId);
    const blobsBefore = filesUnder(join(srv.dataDir, 'blobs')).length;
    const r = await upload(u.api, u.sessionId, [{ name: 'claims-596h.m4a', path: m4a }]);
    assert.equal(r.body.code, 0, JSON.stringify(r.body));
    const after = await state(u.api, u.sessionId);
    assert.deepEqual(
      after.media.map((m) => m.kind),
      ['audio'],
      'the upload is in the session',
    );
    assert.deepEqual(after.draft, before.draft, 'the draft is unchanged');
    assert.equal(filesUnder(join(srv.dataDir, 'blobs')).length, blobsBefore + 1, 'its file is stored once, and recorded');
  });

  test("a vertical video's draft takes its shape", async () => {
    const u = await newUser(srv.url);
    const tall = makeTestVideo(join(work, 'tall.mp4'), { seconds: 1, size: '360x640', fps: 25 });
    await upload(u.api, u.sessionId, [{ name: 'tall.mp4', path: tall, type: 'video/mp4' }]);
    const s = await state(u.api, u.sessionId);
    assert.deepEqual([s.draft?.w, s.draft?.h], [1080, 1920]);
    assert.equal((s.draft!.t[0]!.sg[0]!.m as { fit: string }).fit, 'contain');
  });

  test('photos alone make a slideshow of 3 s stills that renders', async () => {
    const u = await newUser(srv.url);
    const up = await upload(u.api, u.sessionId, [
      { name: 'photo.jpg', path: photo, type: 'image/jpeg' },
      { name: 'logo.png', path: png, type: 'image/png' },
    ]);
    assert.equal(up.body.code, 0, JSON.stringify(up.body));
    const [a, b] = up.body.data.media.map((m: { id: string }) => m.id);
    const s = await state(u.api, u.sessionId);
    assert.deepEqual(
      s.draft!.t[0]!.sg.map((sg) => [sg.src, sg.s, sg.d]),
      [
        [a, 0, 3000],
        [b, 3000, 3000],
      ],
    );
    // The agent edits and exports a slideshow too (it has no video to transcribe).
    const sse = await runSse(srv.url, u.api.token!, u.sessionId, 'put the logo in the top right corner');
    assert.ok(
      sse.events.some((e) => e.content?.parts?.some((p: any) => p.functionCall?.name === 'add_overlay')),
      JSON.stringify(sse.events.at(-1)),
    );
    const mp4 = await exportMp4(u.api, u.sessionId, 'slides.mp4');
    const facts = probe(mp4);
    assert.deepEqual([facts.video?.width, facts.video?.height, facts.audio?.codec], [1920, 1080, 'aac']);
    assert.ok(redShare(frameAt(mp4, 1.5), 0.85, 0.95, 0.08, 0.2) > 0.8, 'the logo is in the top-right corner');
    assert.ok(Math.abs(facts.formatDuration - 6) < 0.1, `duration ${facts.formatDuration}`);
    // The second slide is the red square (blurred around it), the first is not.
    assert.ok(redShare(frameAt(mp4, 4.5), 0.45, 0.55, 0.45, 0.55) > 0.9);
    assert.ok(redShare(frameAt(mp4, 1.5), 0.45, 0.55, 0.45, 0.55) < 0.5);
  });

  test('a png overlay renders in the top-right corner, and only there', async () => {
    const u = await newUser(srv.url);
    const blue = makeTestVideo(join(work, 'blue.mp4'), { seconds: 2, fps: 25, pattern: 'color=c=0x2040a0:s=640x360:r=25' });
    const up = await upload(u.api, u.sessionId, [
      { name: 'blue.mp4', path: blue, type: 'video/mp4' },
      { name: 'logo.png', path: png, type: 'image/png' },
    ]);
    const [, logo] = up.body.data.media.map((m: { id: string }) => m.id);
    const draft = addOverlay((await state(u.api, u.sessionId)).draft!, { src: logo }, { corner: 'top-right', widthPct: 15, marginPct: 3 });
    const mp4 = await exportMp4(u.api, u.sessionId, 'logo.mp4', { ...draft, w: 640, h: 360 });
    const f = frameAt(mp4, 1);
    // 15 % of 640 = 96 px wide, 11 px from the top and right edges.
    assert.ok(redShare(f, 0.83, 0.97, 0.05, 0.3) > 0.8, `top-right red ${redShare(f, 0.83, 0.97, 0.05, 0.3)}`);
    assert.equal(redShare(f, 0, 0.8, 0, 1), 0, 'no red left of it');
    assert.equal(redShare(f, 0.8, 1, 0.4, 1), 0, 'no red below it');
  });

  test('the agent: "put the logo in the top right corner", "use the photo as the first 3 seconds", no credits spent', async () => {
    const u = await newUser(srv.url);
    const up = await upload(u.api, u.sessionId, [
      { name: 'talk.mp4', path: clip, type: 'video/mp4' },
      { name: 'logo.png', path: png, type: 'image/png' },
      { name: 'photo.jpg', path: photo, type: 'image/jpeg' },
    ]);
    const [v, logo, pic] = up.body.data.media.map((m: { id: string }) => m.id);
    await runSse(srv.url, u.api.token!, u.sessionId, 'put the logo in the top right corner');
    await runSse(srv.url, u.api.token!, u.sessionId, 'use the photo as the first 3 seconds');
    const d = (await state(u.api, u.sessionId)).draft!;
    assert.deepEqual(
      d.t[0]!.sg.map((sg) => [sg.src, sg.s, sg.d]),
      [
        [pic, 0, 3000],
        [v, 3000, 3000],
      ],
    );
    const overlay = d.t.flatMap((t) => t.sg as { src?: string; s: number; d: number; m: unknown }[]).find((sg) => (sg.m as { overlay?: unknown }).overlay);
    assert.ok(overlay, 'the logo is on the draft');
    assert.deepEqual([overlay.src, overlay.s, overlay.d, (overlay.m as any).overlay.corner], [logo, 0, 6000, 'top-right']);
    assert.equal((await u.api.call('GET', '/api/credits/balance/simple')).body.data.available, 100);
  });

  test('an animated gif loops through a 4 s segment; a jpg still with fit blur fills a 9:16 canvas', async () => {
    const u = await newUser(srv.url);
    const up = await upload(u.api, u.sessionId, [
      { name: 'anim.gif', path: gif, type: 'image/gif' },
      { name: 'photo.jpg', path: photo, type: 'image/jpeg' },
    ]);
    assert.equal(up.body.code, 0, JSON.stringify(up.body));
    const [g, p] = up.body.data.media.map((m: { id: string }) => m.id);
    const gifDraft: Draft = {
      id: 'gif',
      version: 1,
      w: 320,
      h: 240,
      fps: 10,
      t: [{ id: 'v', tt: 0, sg: [{ id: 'g', s: 0, d: 4000, src: g, m: { fit: 'contain' } }] }],
    };
    const looped = await exportMp4(u.api, u.sessionId, 'gif.mp4', gifDraft);
    assert.ok(Math.abs(probe(looped).formatDuration - 4) < 0.1);
    // Frames differ within a loop, and the loop comes back: 0.35 s and 2.35 s show the same picture.
    const a = frameAt(looped, 0.35);
    assert.ok(meanDiff(a, frameAt(looped, 0.75)) > 3, 'it moves');
    assert.ok(meanDiff(frameAt(looped, 3.35), frameAt(looped, 3.75)) > 3, 'it still moves in its last second');
    assert.ok(meanDiff(a, frameAt(looped, 2.35)) < 3, 'it loops');

    const stillDraft: Draft = {
      id: 'still',
      version: 1,
      w: 360,
      h: 640,
      t: [{ id: 'v', tt: 0, sg: [{ id: 's', s: 0, d: 1000, src: p, m: { fit: 'blur' } }] }],
    };
    const still = await exportMp4(u.api, u.sessionId, 'still.mp4', stillDraft);
    const f = frameAt(still, 0.5);
    assert.deepEqual([f.width, f.height], [360, 640]);
    // Blur fills the bands above and below the photo: no black rows at the top or bottom.
    let dark = 0;
    for (const y of [5, 50, 590, 635])
      for (let x = 0; x < f.width; x++) if (f.rgb.subarray((y * f.width + x) * 3, (y * f.width + x) * 3 + 3).every((c) => c < 20)) dark++;
    assert.ok(dark < f.width * 0.2, `${dark} dark pixels in the bands`);
  });
});
