import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ErrorCode, VidscribeError } from '../shared/errors.ts';
import { DEFAULT_CUE_OPTIONS, type Transcript } from '../transcript/index.ts';
import { speak } from '../transcript/test-fixtures.ts';
import {
  addBackgroundMusic,
  addTitle,
  addText,
  canvasFor,
  createDraft,
  draftFromMedia,
  parseDraft,
  seedExampleDraft,
  setAspect,
  setCaptions,
  timelineDuration,
  trimDraft,
  visibleVideo,
  type Draft,
  type TextTrack,
} from './index.ts';

const seed = () => seedExampleDraft({ video: 'city.mp4', music: 'lofi.mp3' });

function rejects(mutate: (d: any) => void, field: string | RegExp): VidscribeError {
  const d: any = structuredClone(seed());
  mutate(d);
  try {
    parseDraft(d);
  } catch (e) {
    assert.ok(e instanceof VidscribeError, String(e));
    assert.equal(e.code, ErrorCode.InvalidDraft);
    const fields = ((e.data?.issues ?? []) as { field: string }[]).map((i) => i.field);
    if (typeof field === 'string') assert.ok(fields.includes(field), `expected ${field} among ${fields.join(', ')}: ${e.message}`);
    else assert.match(e.message, field);
    if (typeof field === 'string') assert.ok(e.message.includes(field), e.message);
    return e;
  }
  assert.fail('the draft was accepted');
}

describe('draft schema', () => {
  test("the seed's example round-trips through JSON exactly", () => {
    const d = seed();
    const back = parseDraft(JSON.parse(JSON.stringify(d)));
    assert.deepEqual(back, d);
    assert.equal(JSON.stringify(back), JSON.stringify(d));
    assert.equal(timelineDuration(back), 10_000);
  });

  test('negative times are rejected naming the field', () => {
    rejects((d) => (d.t[0].sg[0].s = -1), 't[0].sg[0].s');
    rejects((d) => (d.t[0].sg[0].in = -500), 't[0].sg[0].in');
    rejects((d) => (d.t[2].sg[0].d = 0), 't[2].sg[0].d');
    rejects((d) => (d.t[1].sg[0].s = 1.5), 't[1].sg[0].s');
  });

  test('a volume outside 0..1 is rejected naming the field', () => {
    rejects((d) => (d.t[1].sg[0].m.volume = 1.2), 't[1].sg[0].m.volume');
    rejects((d) => (d.t[1].sg[0].m.volume = -0.1), 't[1].sg[0].m.volume');
    rejects((d) => (d.t[0].sg[0].m.volume = 35), 't[0].sg[0].m.volume');
  });

  test('an unknown track type is rejected naming the field', () => {
    const e = rejects((d) => (d.t[1].tt = 5), 't[1].tt');
    assert.match(e.message, /unknown track type/);
  });

  test('a video or audio segment without a source is rejected naming the field', () => {
    rejects((d) => delete d.t[0].sg[0].src, 't[0].sg[0].src');
    rejects((d) => (d.t[1].sg[0].src = ''), 't[1].sg[0].src');
  });

  test('10 000 segments or more are rejected', () => {
    const e = rejects((d) => {
      d.t[2].sg = Array.from({ length: 10_000 }, (_, i) => ({ id: `c${i}`, s: i * 10, d: 10, m: { text: 'x', kind: 'caption', position: 'bottom' } }));
    }, 't');
    assert.match(e.message, /10002 segments; a draft holds at most 9999/);
    const ok = structuredClone(seed());
    (ok.t[2] as TextTrack).sg = Array.from({ length: 9_000 }, (_, i) => ({
      id: `c${i}`,
      s: i * 10,
      d: 10,
      m: { text: 'x', kind: 'caption' as const, position: 'bottom' as const },
    }));
    parseDraft(ok);
  });

  test('a draft of many bad segments, tracks or keys is one short 4101: the first 20 issues, found without reading the rest', () => {
    // 25 000 empty video segments made zod overflow its stack (a 500); 9 999 bad ones a 6 MB error.
    const many = rejects((d) => {
      d.t[0].sg = Array.from({ length: 30_000 }, () => ({}));
    }, 't');
    assert.match(many.message, /30002 segments; a draft holds at most 9999/);
    const bad = rejects((d) => {
      d.t[0].sg = Array.from({ length: 9_000 }, () => ({ id: 1, s: 'x', d: 'x', src: 1, in: 'x', m: { fit: 1, zz: 1 }, q: 1 }));
    }, 't[0].sg[0].id');
    assert.ok(((bad.data?.issues ?? []) as unknown[]).length <= 20);
    assert.ok(JSON.stringify(bad.data).length < 4000, `${JSON.stringify(bad.data).length} bytes of issues`);
    assert.match(bad.message, /and maybe more/);
    const tracks = rejects((d) => {
      d.t = Array.from({ length: 50_000 }, () => ({}));
    }, 't');
    assert.match(tracks.message, /50000 tracks; a draft holds at most 100/);
    const keys = rejects((d) => {
      d.t[2].sg[0] = { ...d.t[2].sg[0], ...Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`k${i}`, 1])) };
    }, 't[2].sg[0].k0');
    assert.ok(keys.message.length < 500, keys.message.slice(0, 200));
    assert.match(keys.message, /unknown fields k0, k1, k2, k3, k4 \(and 99995 more\)/);
  });

  test('a canvas over 1920 on either side (or over 1080p) is rejected naming the field', () => {
    rejects((d) => (d.w = 3840), 'w');
    rejects((d) => {
      d.w = 1080;
      d.h = 2560;
    }, 'h');
    rejects((d) => {
      d.w = 1920;
      d.h = 1920;
    }, 'w');
    rejects((d) => {
      d.w = 1920;
      d.h = 1200;
    }, 'h');
    rejects((d) => (d.w = 1921), 'w');
    for (const a of ['16:9', '9:16', '1:1'] as const) for (const r of ['1080p', '720p'] as const) parseDraft({ ...seed(), ...canvasFor(a, r) });
  });

  test('other mistakes name their field too', () => {
    rejects((d) => (d.t[0].sg[0].m.fit = 'stretch'), 't[0].sg[0].m.fit');
    rejects((d) => (d.t[2].sg[0].m.kind = 'subtitle'), 't[2].sg[0].m.kind');
    rejects((d) => (d.t[2].sg[0].m.text = ''), 't[2].sg[0].m.text');
    rejects((d) => (d.t[1].sg[0].m.volumne = 0.3), 't[1].sg[0].m.volumne');
    rejects((d) => (d.t[1].sg[0].m.fade_in_ms = 11_000), 't[1].sg[0].m.fade_in_ms');
    rejects((d) => (d.fps = 240), 'fps');
    rejects((d) => delete d.version, 'version');
    rejects((d) => (d.t[1].id = 'v1'), 't[1].id');
    assert.throws(
      () => parseDraft('{}'),
      (e: VidscribeError) => e.code === ErrorCode.InvalidDraft,
    );
  });
});

describe('draft operations (pure)', () => {
  const media = { path: '/m/talk.mp4', durationSec: 12.34, video: [{ streamIndex: 0, codec: 'h264', width: 1280, height: 720, fps: 25 }], audio: [] };

  test('create from a media file: one clip covering the file, contain when the shape matches, blur when it does not', () => {
    const d = draftFromMedia(media, { id: 'x' });
    parseDraft(d);
    assert.deepEqual(d.t, [{ id: 'video', tt: 0, name: 'Video', sg: [{ id: 'clip', s: 0, d: 12_340, src: '/m/talk.mp4', m: { fit: 'contain' } }] }]);
    assert.equal((draftFromMedia(media, { aspect: '9:16' }).t[0]!.sg[0]!.m as { fit: string }).fit, 'blur');
    const audioOnly = draftFromMedia({ path: 'a.mp3', durationSec: 5, video: [], audio: [] });
    assert.equal(audioOnly.t[0]!.tt, 1);
  });

  test('canvas by aspect, with 720p variants', () => {
    const d = createDraft({ id: 'x' });
    assert.deepEqual([setAspect(d, '16:9').w, setAspect(d, '16:9').h], [1920, 1080]);
    assert.deepEqual([setAspect(d, '9:16').w, setAspect(d, '9:16').h], [1080, 1920]);
    assert.deepEqual([setAspect(d, '1:1').w, setAspect(d, '1:1').h], [1080, 1080]);
    assert.deepEqual([setAspect(d, '16:9', '720p').w, setAspect(d, '16:9', '720p').h], [1280, 720]);
    assert.deepEqual([setAspect(d, '9:16', '720p').w, setAspect(d, '9:16', '720p').h], [720, 1280]);
    assert.equal(setAspect(d, '1:1').version, d.version + 1);
    assert.equal(d.w, 1920, 'input not mutated');
  });

  const transcript: Transcript = speak(
    [
      { text: 'Welcome back to the channel, today we are looking at how cities change over a single night.' },
      { text: 'The lights come on one by one.', pauseAfter: 2 },
      { text: 'And then the traffic starts moving again before sunrise.' },
    ],
    { seed: 7 },
  );

  test('captions from a transcript: one caption segment per cue, subtitle rules of the core, replaced not duplicated', () => {
    const base = draftFromMedia({ ...media, durationSec: transcript.duration + 1 });
    const d = setCaptions(base, transcript);
    parseDraft(d);
    const caps = d.t.filter((t) => t.tt === 7).flatMap((t) => t.sg);
    assert.ok(caps.length >= 3, `${caps.length} cues`);
    for (const c of caps) {
      assert.equal(c.m.kind, 'caption');
      const lines = c.m.text.split('\n');
      assert.ok(lines.length <= 2 && lines.every((l) => l.length <= DEFAULT_CUE_OPTIONS.maxLineChars), c.m.text);
    }
    assert.ok(
      caps.every((c, i) => i === 0 || c.s >= caps[i - 1]!.s + caps[i - 1]!.d),
      'cues do not overlap',
    );
    const again = setCaptions(addTitle(d, 'Hello'), transcript);
    assert.equal(
      again.t
        .filter((t) => t.tt === 7)
        .flatMap((t) => t.sg)
        .filter((s) => s.m.kind === 'caption').length,
      caps.length,
    );
    assert.ok(
      again.t.some((t) => t.tt === 7 && t.sg.some((s) => s.m.kind === 'title')),
      'titles survive',
    );
    const vertical = setCaptions(setAspect(base, '9:16'), transcript);
    const vcaps = vertical.t.filter((t) => t.tt === 7).flatMap((t) => t.sg);
    assert.ok(vcaps.length >= caps.length, `${vcaps.length} vs ${caps.length}`);
    assert.ok(
      vcaps.every((c) => c.m.text.split('\n').every((l) => l.length <= 28)),
      'vertical lines ≤ 28',
    );
  });

  test('captions follow an offset and are cut to the timeline', () => {
    const base = draftFromMedia({ ...media, durationSec: 3 });
    const d = setCaptions(
      base,
      [
        { index: 1, start: 0.5, end: 2, lines: ['a'] },
        { index: 2, start: 2.5, end: 4, lines: ['b'] },
        { index: 3, start: 5, end: 6, lines: ['c'] },
      ],
      { offsetMs: 200 },
    );
    const caps = d.t.find((t) => t.tt === 7)!.sg;
    assert.deepEqual(
      caps.map((c) => [c.s, c.d, c.m.text]),
      [
        [700, 1500, 'a'],
        [2700, 300, 'b'],
      ],
    );
  });

  test('title, overlay and background music', () => {
    let d = draftFromMedia(media);
    d = addTitle(d, 'Urban Dreams');
    d = addText(d, '@vidscribe', { kind: 'overlay', startMs: 1000, durationMs: 5000 });
    d = addBackgroundMusic(d, 'lofi.mp3', { volume: 0.35, fade_out_ms: 1500, duck: true });
    parseDraft(d);
    const titles = d.t.find((t) => t.id === 'titles') as TextTrack;
    assert.deepEqual(
      titles.sg.map((s) => [s.s, s.d, s.m.kind, s.m.position]),
      [
        [0, 3000, 'title', 'center'],
        [1000, 5000, 'overlay', 'top'],
      ],
    );
    const music = d.t.find((t) => t.tt === 1)!;
    assert.deepEqual(music.sg[0]!.m, { volume: 0.35, fade_out_ms: 1500, duck: true });
    assert.equal(music.sg[0]!.d, 12_340);
    const ids = d.t.flatMap((t) => [t.id, ...t.sg.map((s) => s.id)]);
    assert.equal(new Set(ids).size, ids.length, 'ids are unique');
  });

  test('trim keeps a window of the timeline: cuts, shifts, drops, moves source offsets', () => {
    const d = trimDraft(seed(), 2000, 7000);
    parseDraft(d);
    assert.equal(timelineDuration(d), 5000);
    assert.deepEqual(
      d.t[0]!.sg.map((s) => [s.s, s.d, s.in]),
      [[0, 5000, 2000]],
    );
    assert.deepEqual(
      d.t[2]!.sg.map((s) => [s.s, s.d]),
      [[0, 1000]],
    );
    assert.equal(trimDraft(seed(), 4000, 5000).t[2]!.sg.length, 0);
    assert.throws(() => trimDraft(seed(), 5000, 5000), RangeError);
  });
});

describe('visible video', () => {
  const v = (id: string, s: number, d: number, i = 0) => ({ id, s, d, src: `${id}.mp4`, in: i, m: { fit: 'contain' as const } });
  const draft = (...tracks: ReturnType<typeof v>[][]): Draft => ({
    id: 'x',
    version: 1,
    w: 640,
    h: 360,
    t: tracks.map((sg, i) => ({ id: `t${i}`, tt: 0 as const, sg })),
  });

  test('pieces tile the timeline exactly, with gaps where nothing plays', () => {
    const p = visibleVideo(draft([v('a', 1000, 2000), v('b', 4000, 1000)]), 30, 180);
    assert.deepEqual(
      p.map((x) => [x.kind, x.startFrame, x.frames]),
      [
        ['gap', 0, 30],
        ['clip', 30, 60],
        ['gap', 90, 30],
        ['clip', 120, 30],
        ['gap', 150, 30],
      ],
    );
  });

  test('an upper track covers a lower one, which resumes with the right source offset', () => {
    const p = visibleVideo(draft([v('a', 0, 6000, 500)], [v('b', 2000, 1000)]), 25, 150);
    assert.deepEqual(
      p.map((x) => [x.kind, x.startFrame, x.frames, x.kind === 'clip' ? `${x.segment.id}@${x.inMs}` : '']),
      [
        ['clip', 0, 50, 'a@500'],
        ['clip', 50, 25, 'b@0'],
        ['clip', 75, 75, 'a@3500'],
      ],
    );
    assert.equal(
      p.reduce((n, x) => n + x.frames, 0),
      150,
    );
  });

  test('29.97 fps frames add up with no drift', () => {
    const segs = Array.from({ length: 50 }, (_, i) => v(`s${i}`, i * 1234, 1234));
    const total = Math.round((50 * 1234 * 30000) / 1001 / 1000);
    const p = visibleVideo(draft(segs), 30000 / 1001, total);
    assert.equal(
      p.reduce((n, x) => n + x.frames, 0),
      total,
    );
    assert.ok(p.every((x, i) => i === 0 || x.startFrame === p[i - 1]!.startFrame + p[i - 1]!.frames));
  });
});
