/**
 * Rendering (issue 8, findings 8, 9, 10, 11 and 15), with the real ffmpeg and libass, through
 * renderDraft and through a real server's export route:
 * - 8: two clips with the same source, `in` and a duration reaching the end of the file render
 *   (they ran forever); the stall guard watches the output, not ffmpeg's clock; the timeout
 *   scales with the timeline and has a ceiling.
 * - 9: a source is opened once and cut in the graph (200 cuts were 200 ffmpeg inputs); what one
 *   render may use is bounded (inputs, segments, total text, memory) and the rest is 4101 naming
 *   the field; a draft of thousands of bad segments is one short 4101 (25 000 overflowed the
 *   validator's stack: a 500).
 * - 10: a failed job shows a short reason, with no server path or store name; the detail goes to
 *   the server log.
 * - 11: no text reaches libass as script: controls, line separators and override blocks are
 *   shown, not obeyed (the odd-text corpus).
 * - 15: an image in a draft renders (issue 9); a broken one fails naming the field, not the store.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { JobRunner } from '../../src/jobs/runner.ts';
import { JobType } from '../../src/jobs/queue.ts';
import { buildAss } from '../../src/render/ass.ts';
import { compileDraft } from '../../src/render/compile.ts';
import { parseDraft, type Draft } from '../../src/render/draft.ts';
import { renderDraft, resolveSources } from '../../src/render/renderer.ts';
import { ErrorCode, VidscribeError } from '../../src/shared/errors.ts';
import { rejectsWith } from '../helpers/assert.ts';
import { SAMPLE_MP4, ffmpeg, tempDir } from '../helpers/media.ts';
import { bandDifference, frameAt, makeTestVideo, probe, type Frame } from '../helpers/render.ts';
import { form, newUser, oneClipDraft, startServer, type Api, type TestServer } from '../helpers/server.ts';
import { ODD_TEXT } from './odd-text.ts';

const work = tempDir('vidscribe-sec-render-');
const ATTRIBUTION = { 'x-skill-source': 'test', 'x-skill-version': '1.0.0', 'x-skill-platform': 'node' };
/** The sample is 640×360 at 25 fps, 11.76 s of picture and 11.0 s of sound. */
const SAMPLE_MS = 11_000;

function upload(api: Api, sessionId: string, name: string, body: Buffer, type = 'application/octet-stream') {
  const fd = new FormData();
  fd.append('file', new Blob([new Uint8Array(body)], { type }), name);
  return api.call('POST', `/api/upload-video/nemo_agent/me/${sessionId}`, fd);
}

/** Polls a render until it ends or `ms` pass; returns the last status seen. */
async function pollRender(api: Api, id: string, ms: number): Promise<any> {
  const until = Date.now() + ms;
  let status: any;
  while (Date.now() < until) {
    status = (await api.call('GET', `/api/render/proxy/lambda/${id}`)).body.data;
    if (status.status === 'completed' || status.status === 'failed' || status.status === 'cancelled') return status;
    await new Promise((r) => setTimeout(r, 200));
  }
  return status;
}

/** Share of strongly red pixels in a frame. */
function redShare(f: Frame): number {
  let red = 0;
  for (let i = 0; i < f.rgb.length; i += 3) if (f.rgb[i]! > 160 && f.rgb[i + 1]! < 90 && f.rgb[i + 2]! < 90) red++;
  return red / (f.rgb.length / 3);
}

/** Server paths and content-addressed store names: neither may reach a client. */
const INTERNAL = /[0-9a-f]{64}|(^|[\s"'(=:])\/(tmp|var|home|root|work|usr|srv|data)\b|vidscribe-(api|data)|\.partial/i;

const twiceToTheEnd = (src: string): Draft => ({
  id: 'twice',
  version: 1,
  w: 640,
  h: 360,
  t: [{ id: 'v', tt: 0, sg: [0, 1].map((i) => ({ id: `c${i}`, s: i * SAMPLE_MS, d: SAMPLE_MS, src, in: 0, m: { fit: 'contain' as const } })) }],
});

describe('8: a render always finishes', () => {
  test('two clips with the same source, in and a duration reaching the end of the file render in seconds, to the frame', async () => {
    const out = join(work, 'twice.mp4');
    const started = Date.now();
    // The old graph never ended: amix lost its timestamps, so the time-based end after apad never came.
    await renderDraft(twiceToTheEnd(SAMPLE_MP4), { out, timeoutMs: 60_000 });
    const f = probe(out);
    assert.equal(f.video?.frames, 550, '2 × 11 s at 25 fps');
    assert.ok(Math.abs(f.formatDuration - 22) < 0.05, `duration ${f.formatDuration}`);
    assert.ok(Math.abs(f.audio!.duration - 22) < 0.05, `sound ${f.audio!.duration}`);
    assert.ok(Date.now() - started < 60_000);
  });

  test("the stall guard counts output frames and time within the timeline, not ffmpeg's moving clock", async () => {
    const progress = await import('../../src/render/progress.ts');
    assert.equal(typeof (progress as Record<string, unknown>).createOutputWatch, 'function', 'an output-progress watch exists');
    const watch = (progress as any).createOutputWatch(22);
    const report = (frame: number, outTimeSec: number) => ({ percent: 0, frame, outTimeSec, totalSec: 22, done: false });
    assert.equal(watch.advanced(report(100, 4)), true);
    assert.equal(watch.advanced(report(549, 21.96)), true);
    // What the hung render reported twice a second: the picture stuck one frame short, the sound running on.
    for (let t = 22.5; t < 30; t += 0.5) assert.equal(watch.advanced(report(549, t)), false, `out_time ${t} with no new frame is no progress`);
  });

  test('the timeout scales with the timeline, with a floor and a ceiling', async () => {
    const renderer = (await import('../../src/render/renderer.ts')) as Record<string, unknown>;
    const timeout = renderer.renderTimeoutMs as ((ms: number) => number) | undefined;
    assert.equal(typeof timeout, 'function');
    assert.ok(timeout!(1000) >= 60_000 && timeout!(1000) <= 10 * 60_000, `1 s timeline: ${timeout!(1000)} ms`);
    assert.ok(timeout!(3600_000) > 3600_000, 'an hour of 1080p gets more than an hour');
    assert.ok(timeout!(6 * 3600_000) <= 12 * 3600_000, `six hours: ${timeout!(6 * 3600_000)} ms, capped`);
    assert.ok(timeout!(600_000) > timeout!(60_000) || timeout!(60_000) === timeout!(1000), 'grows with the timeline past the floor');
  });
});

describe('9: one credit cannot buy gigabytes', () => {
  const cuts = (n: number, inOf: (i: number) => number, src = SAMPLE_MP4): Draft => ({
    id: 'cuts',
    version: 1,
    w: 640,
    h: 360,
    t: [{ id: 'v', tt: 0, sg: Array.from({ length: n }, (_, i) => ({ id: `c${i}`, s: i * 40, d: 40, src, in: inOf(i), m: { fit: 'contain' as const } })) }],
  });

  test('200 cuts of 40 ms from one file are one ffmpeg input (it was 200), and render every frame', async () => {
    const draft = parseDraft(cuts(200, (i) => i * 50));
    const c = compileDraft(draft, { sources: await resolveSources(draft, {}), output: join(work, 'x.mp4') });
    assert.equal(c.args.filter((a) => a === '-i').length, 1, 'the file is opened once and cut in the graph');
    const out = join(work, 'cuts.mp4');
    await renderDraft(draft, { out, timeoutMs: 120_000 });
    const f = probe(out);
    assert.equal(f.video?.frames, 200, '8 s at 25 fps: one frame per cut');
    assert.ok(Math.abs(f.formatDuration - 8) < 0.05, `duration ${f.formatDuration}`);
  });

  test('a draft that jumps back and forth too often is 4101 naming the segment; so are too many segments and too much text', async () => {
    // Every cut goes back in the file: each needs its own read.
    const back = parseDraft(cuts(40, (i) => 10_000 - i * 250));
    const e = await rejectsWith(renderDraft(back, { out: join(work, 'x.mp4') }), ErrorCode.InvalidDraft, /t\[0\]\.sg\[\d+\]\.in: /);
    assert.match(String(e.data?.field), /^t\[0\]\.sg\[\d+\]\.in$/);

    const many = cuts(501, (i) => i * 10);
    assert.throws(
      () => parseDraft(many),
      (x: VidscribeError) => x.code === ErrorCode.InvalidDraft && /t\[0\]\.sg\[500\]: more than 500/.test(x.message),
    );

    const text = (n: number): Draft => ({
      id: 'text',
      version: 1,
      w: 640,
      h: 360,
      t: [
        {
          id: 'x',
          tt: 7,
          sg: Array.from({ length: n }, (_, i) => ({
            id: `t${i}`,
            s: i * 100,
            d: 100,
            m: { text: 'w'.repeat(1000), kind: 'caption' as const, position: 'bottom' as const },
          })),
        },
      ],
    });
    parseDraft(text(250));
    assert.throws(
      () => parseDraft(text(251)),
      (x: VidscribeError) => x.code === ErrorCode.InvalidDraft && /t\[0\]\.sg\[250\]\.m\.text: /.test(x.message),
    );
    assert.throws(
      () =>
        parseDraft({
          ...text(1),
          t: [{ ...text(1).t[0]!, sg: [{ id: 'long', s: 0, d: 100, m: { text: 'w'.repeat(1001), kind: 'title', position: 'top' } }] }],
        }),
      /t\[0\]\.sg\[0\]\.m\.text: must be at most 1000 characters/,
    );
  });

  test("ffmpeg's memory is capped: a render that needs more than it may have fails instead of taking the host", async () => {
    await rejectsWith(
      renderDraft({ id: 'm', version: 1, w: 1920, h: 1080, t: [{ id: 'v', tt: 0, sg: [{ id: 'c', s: 0, d: 2000, src: SAMPLE_MP4, m: { fit: 'blur' } }] }] }, {
        out: join(work, 'capped.mp4'),
        memoryLimitBytes: 48 * 1024 * 1024,
        timeoutMs: 60_000,
      } as Parameters<typeof renderDraft>[1]),
      ErrorCode.RenderFailed,
    );
  });
});

describe('11: text is shown, never obeyed as script', () => {
  const still = makeTestVideo(join(work, 'still.mp4'), { seconds: 3, pattern: 'color=c=0x336699:s=320x180:r=25' });
  const textDraft = (texts: { text: string; s: number; d: number; position?: 'top' | 'center' | 'bottom'; color?: string }[]): Draft => ({
    id: 'odd',
    version: 1,
    w: 320,
    h: 180,
    t: [
      { id: 'v', tt: 0, sg: [{ id: 'c', s: 0, d: 3000, src: still, m: { fit: 'contain' } }] },
      {
        id: 'x',
        tt: 7,
        sg: texts.map((t, i) => ({
          id: `t${i}`,
          s: t.s,
          d: t.d,
          m: { text: t.text, kind: 'title' as const, position: t.position ?? 'center', ...(t.color ? { style: { color: t.color } } : {}) },
        })),
      },
    ],
  });

  test('every odd text becomes one Dialogue line with no control character and no open override block', () => {
    for (const { what, text } of ODD_TEXT) {
      const ass = buildAss(parseDraft(textDraft([{ text, s: 0, d: 1000 }])))!;
      const events = ass.split('\n').filter((l) => l.startsWith('Dialogue:'));
      assert.equal(events.length, 1, `${what}: one event`);
      assert.equal(ass.split('\n').filter((l) => /^(Style|Dialogue|Format|\[)/.test(l)).length, 6 + 2 + 3 + 1, `${what}: no injected script line`);
      assert.doesNotMatch(ass, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029]/, `${what}: no control character or separator`);
      const body = events[0]!.replace(/^(?:[^,]*,){9}\{[^}]*\}/, '');
      assert.doesNotMatch(body, /(^|[^\\])\{/, `${what}: every brace escaped`);
    }
  });

  test('a CR-injected red drawing and style draw nothing red; a NUL does not hide the later titles', async () => {
    const red = ODD_TEXT.find((o) => o.what.startsWith('a lone CR starting'))!.text;
    const style = ODD_TEXT.find((o) => o.what === 'a lone CR injecting a style')!.text;
    const out = join(work, 'injected.mp4');
    await renderDraft(
      textDraft([
        { text: red, s: 0, d: 1000 },
        { text: style, s: 0, d: 1000, position: 'top' },
        { text: 'before\u0000after', s: 1000, d: 500 },
        { text: 'SECOND TITLE', s: 1500, d: 1000, position: 'top' },
      ]),
      { out, timeoutMs: 60_000 },
    );
    assert.ok(redShare(frameAt(out, 0.5)) < 0.001, `red share ${redShare(frameAt(out, 0.5))}`);
    const withSecond = frameAt(out, 2);
    const plain = frameAt(out, 2.8);
    assert.ok(bandDifference(withSecond, plain, 0, 0.4) > 2, `the title after the NUL is drawn: ${bandDifference(withSecond, plain, 0, 0.4)}`);
  });

  test('the whole corpus on screen at once renders quickly, draws nothing red, and a green title after it still shows', async () => {
    const out = join(work, 'corpus.mp4');
    const started = Date.now();
    const texts = [...ODD_TEXT.map(({ text }) => ({ text, s: 0, d: 1000 })), { text: 'END', s: 0, d: 1000, position: 'top' as const, color: '#00FF00' }];
    await renderDraft(textDraft(texts), { out, timeoutMs: 60_000 });
    assert.ok(Date.now() - started < 60_000);
    const f = frameAt(out, 0.5);
    assert.ok(redShare(f) < 0.001, `red share ${redShare(f)}`);
    let green = 0;
    for (let i = 0; i < f.rgb.length; i += 3) if (f.rgb[i + 1]! > 180 && f.rgb[i]! < 100 && f.rgb[i + 2]! < 100) green++;
    assert.ok(green > 20, `the last title is drawn (${green} green pixels)`);
  });
});

describe('through the export route', () => {
  let srv: TestServer;
  const logged: string[] = [];
  before(async () => {
    srv = await startServer({ asrSlots: 0, renderSlots: 1 });
  });
  after(() => srv.close());

  test('8: the export of two clips to the end of the file completes', async () => {
    const u = await newUser(srv.url);
    const up = await upload(u.api, u.sessionId, 'jfk.mp4', readFileSync(SAMPLE_MP4));
    const started = await u.api.call(
      'POST',
      '/api/render/proxy/lambda',
      { session_id: u.sessionId, draft: twiceToTheEnd(up.body.data.media[0].id) },
      ATTRIBUTION,
    );
    assert.equal(started.body.code, 0, JSON.stringify(started.body));
    const status = await pollRender(u.api, started.body.data.render_id, 60_000);
    assert.equal(status.status, 'completed', JSON.stringify(status));
  });

  test('9: a draft of 25 000 empty segments (75 kB) is a short 4101, not a 500; the server answers on', async () => {
    const u = await newUser(srv.url);
    const draft = { id: 'x', version: 0, w: 16, h: 16, t: [{ id: 'a', tt: 0, sg: Array.from({ length: 25_000 }, () => ({})) }] };
    const r = await u.api.call('POST', '/api/render/proxy/lambda', { session_id: u.sessionId, draft }, ATTRIBUTION);
    assert.equal(r.body.code, ErrorCode.InvalidDraft, JSON.stringify(r.body).slice(0, 300));
    assert.ok(JSON.stringify(r.body).length < 4000, `${JSON.stringify(r.body).length} bytes`);
    // 9 999 bad segments: within the count, each checked until 20 issues are found.
    draft.t[0]!.sg = Array.from({ length: 9_999 }, () => ({ id: 1, s: 'x' }) as object);
    const bad = await u.api.call('POST', '/api/render/proxy/lambda', { session_id: u.sessionId, draft }, ATTRIBUTION);
    assert.equal(bad.body.code, ErrorCode.InvalidDraft);
    assert.ok(bad.body.data.issues.length <= 20 && JSON.stringify(bad.body).length < 4000, `${JSON.stringify(bad.body).length} bytes`);
    assert.equal((await u.api.call('GET', '/api/credits/balance/simple')).body.code, 0);
  });

  test('10: a failed export shows a short reason naming the field, with no store name or server path', async () => {
    const u = await newUser(srv.url);
    const up = await upload(u.api, u.sessionId, 'jfk.mp4', readFileSync(SAMPLE_MP4));
    const id = up.body.data.media[0].id;
    const draft = {
      id: 'late',
      version: 1,
      w: 640,
      h: 360,
      t: [{ id: 'v', tt: 0, sg: [{ id: 'c', s: 0, d: 1000, src: id, in: 60_000, m: { fit: 'contain' } }] }],
    };
    const started = await u.api.call('POST', '/api/render/proxy/lambda', { session_id: u.sessionId, draft }, ATTRIBUTION);
    const status = await pollRender(u.api, started.body.data.render_id, 60_000);
    assert.equal(status.status, 'failed');
    assert.equal(status.error.code, ErrorCode.InvalidDraft);
    assert.match(status.error.message, /t\[0\]\.sg\[0\]\.in/);
    assert.doesNotMatch(status.error.message, INTERNAL, status.error.message);
  });

  test('10: whatever a job fails with, the client gets at most a short line with no paths; the server log gets the detail', async () => {
    // A second server with no render slot of its own; its queue is served by a runner whose render fails the way a killed ffmpeg did.
    const quiet = await startServer({ asrSlots: 0, renderSlots: 0 });
    const runner = new JobRunner(quiet.svc.queue, {
      slots: { [JobType.Render]: 1 },
      handlers: {
        [JobType.Render]: async () => {
          const graph = `[0:v]trim=start=0:end=1,setpts=PTS-STARTPTS[v0];`.repeat(12_000);
          throw new VidscribeError(
            ErrorCode.RenderFailed,
            `Failed rendering ${quiet.dataDir}/tmp/1f2e.partial.mp4: Command was killed with SIGKILL: ffmpeg -i ${quiet.dataDir}/blobs/ab/${'ab'.repeat(32)}.mp4 -filter_complex ${graph}`,
          );
        },
      },
      onError: (e) => logged.push(String((e as Error)?.message ?? e)),
    });
    runner.start();
    try {
      const u = await newUser(quiet.url);
      const up = await upload(u.api, u.sessionId, 'jfk.mp4', readFileSync(SAMPLE_MP4));
      const draft = oneClipDraft(up.body.data.media[0].id, { id: 'd', w: 640, h: 360, d: 1000, fit: 'contain' });
      const started = await u.api.call('POST', '/api/render/proxy/lambda', { session_id: u.sessionId, draft }, ATTRIBUTION);
      const status = await pollRender(u.api, started.body.data.render_id, 30_000);
      assert.equal(status.status, 'failed');
      assert.equal(status.error.code, ErrorCode.RenderFailed);
      assert.ok(status.error.message.length <= 300, `${status.error.message.length} characters shown to the client`);
      assert.doesNotMatch(status.error.message, INTERNAL, status.error.message);
      assert.ok(
        logged.some((l) => l.includes(`${'ab'.repeat(32)}.mp4`) && l.length > 500_000),
        'the full detail is logged on the server',
      );
    } finally {
      await runner.stop();
      await quiet.close();
    }
  });

  test("15: an image in a draft renders now (issue 9); a broken one fails naming the field, never with the store's name", async () => {
    const u = await newUser(srv.url);
    const png = join(work, 'pixel.png');
    ffmpeg('-f', 'lavfi', '-i', 'color=c=red:s=64x64', '-frames:v', '1', png);
    const up = await upload(u.api, u.sessionId, 'poster.png', readFileSync(png), 'image/png');
    assert.equal(up.body.code, 0, JSON.stringify(up.body));
    const id = up.body.data.media[0].id;
    const draft = oneClipDraft(id, { id: 'img', w: 640, h: 360, d: 1000, fit: 'contain' });
    const r = await u.api.call('POST', '/api/render/proxy/lambda', { session_id: u.sessionId, draft }, ATTRIBUTION);
    assert.equal(r.body.code, 0, JSON.stringify(r.body));
    const done = await pollRender(u.api, r.body.data.render_id, 60_000);
    assert.equal(done.status, 'completed', JSON.stringify(done));
    // A picture has no sound: on an audio track it is still 4101 naming the field, before anything is held.
    const onAudio = { ...draft, t: [{ id: 'a', tt: 1, sg: [{ id: 'c', s: 0, d: 1000, src: id, m: { volume: 1 } }] }] };
    const r2 = await u.api.call('POST', '/api/render/proxy/lambda', { session_id: u.sessionId, draft: onAudio }, ATTRIBUTION);
    assert.equal(r2.body.code, ErrorCode.InvalidDraft, JSON.stringify(r2.body));
    assert.match(r2.body.message, /t\[0\]\.sg\[0\]\.src: .*image/);
    assert.doesNotMatch(r2.body.message, INTERNAL);
    // The stored picture broken behind the service's back: the failed job names the field, not the store.
    const [media] = await srv.svc.sessions.media(u.sessionId);
    writeFileSync(await srv.svc.blobs.localPath(media!.storeKey), Buffer.from('not a picture at all '.repeat(50)));
    const r3 = await u.api.call('POST', '/api/render/proxy/lambda', { session_id: u.sessionId, draft: { ...draft, id: 'img2' } }, ATTRIBUTION);
    assert.equal(r3.body.code, 0, JSON.stringify(r3.body));
    const failed = await pollRender(u.api, r3.body.data.render_id, 60_000);
    assert.equal(failed.status, 'failed', JSON.stringify(failed));
    assert.match(failed.error.message, /t\[0\]\.sg\[0\]\.src/);
    assert.doesNotMatch(failed.error.message, INTERNAL, failed.error.message);
    // The renderer itself (the CLI's path) draws a picture too, and names a broken one by the draft's own src.
    const cli = (src: string) => ({ ...draft, t: [{ ...draft.t[0]!, sg: [{ ...draft.t[0]!.sg[0]!, src }] }] }) as Draft;
    const ok = await renderDraft(cli(png), { out: join(work, 'x.mp4') });
    assert.equal(ok.frames, 30, 'a second at the default 30 fps');
    const broken = join(work, 'broken.png');
    writeFileSync(broken, Buffer.from('garbage '.repeat(100)));
    await rejectsWith(renderDraft(cli(broken), { out: join(work, 'y.mp4') }), ErrorCode.CorruptMedia, /t\[0\]\.sg\[0\]\.src: .*broken\.png/);
  });
});

describe("a render's sources are the caller's own uploads, checked before any credit is held", () => {
  test("another account's media id, or a path, is 4101 naming the field; nothing is queued or held; an upload of the caller's other session is taken", async () => {
    const srv = await startServer({ asrSlots: 0, renderSlots: 0 });
    try {
      const alice = await newUser(srv.url);
      const up = await alice.api.call(
        'POST',
        `/api/upload-video/nemo_agent/me/${alice.sessionId}`,
        form([{ name: 'jfk.mp4', body: readFileSync(SAMPLE_MP4) }]),
      );
      assert.equal(up.body.code, 0, JSON.stringify(up.body));
      const aliceMedia = up.body.data.media[0].id as string;
      const bob = await newUser(srv.url);
      for (const src of [aliceMedia, '/etc/passwd']) {
        const r = await bob.api.call('POST', '/api/render/proxy/lambda', { session_id: bob.sessionId, draft: oneClipDraft(src) }, ATTRIBUTION);
        assert.equal(r.body.code, ErrorCode.InvalidDraft, JSON.stringify(r.body));
        assert.match(r.body.message, /t\[0\]\.sg\[0\]\.src: .* is not one of your uploaded media/);
      }
      assert.deepEqual((await bob.api.call('GET', '/api/credits/balance/simple')).body.data, { available: 100, frozen: 0, total: 100 });
      assert.deepEqual(await srv.svc.queue.listForSession(bob.sessionId), [], 'nothing queued');
      // Alice's own upload, from a session other than the one she renders in: taken.
      const other = await alice.api.call('POST', '/api/tasks/me/with-session/nemo_agent', { task_name: 'second' });
      const mine = await alice.api.call(
        'POST',
        '/api/render/proxy/lambda',
        { session_id: other.body.data.session_id, draft: oneClipDraft(aliceMedia) },
        ATTRIBUTION,
      );
      assert.equal(mine.body.code, 0, JSON.stringify(mine.body));
    } finally {
      await srv.close();
    }
  });
});
