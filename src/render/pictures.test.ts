/** Pictures in drafts (issue 9): stills, looping gifs and overlays, and the draft that follows a session's uploads. Pure. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ErrorCode, VidscribeError } from '../shared/errors.ts';
import { compileDraft, RENDER_LIMITS, type SourceInfo } from './compile.ts';
import { parseDraft, type Draft, type VideoTrack } from './draft.ts';
import { addOverlay, addStill, addTitle, placeUploads, removeOverlays, type UploadedMedia } from './operations.ts';
import { visibleVideo } from './timeline.ts';

const sources = new Map<string, SourceInfo>([
  ['talk.mp4', { path: '/m/talk.mp4', durationSec: 10, hasVideo: true, hasAudio: true, width: 1920, height: 1080, fps: 30 }],
  ['photo.jpg', { path: '/m/photo.jpg', durationSec: 0, hasVideo: true, hasAudio: false, width: 4000, height: 3000, fps: 25, image: 'still' }],
  ['logo.png', { path: '/m/logo.png', durationSec: 0, hasVideo: true, hasAudio: false, width: 200, height: 100, fps: 25, image: 'still' }],
  ['dance.gif', { path: '/m/dance.gif', durationSec: 1.2, hasVideo: true, hasAudio: false, width: 320, height: 240, fps: 10, image: 'animated' }],
]);

const talk = (): Draft => ({
  id: 'd',
  version: 1,
  w: 1920,
  h: 1080,
  t: [
    {
      id: 'video',
      tt: 0,
      sg: [
        { id: 'clip', s: 0, d: 6000, src: 'talk.mp4', m: { fit: 'contain' } },
        { id: 'clip-2', s: 6000, d: 4000, src: 'talk.mp4', in: 6000, m: { fit: 'contain' } },
      ],
    },
    { id: 'music', tt: 1, sg: [{ id: 'bgm', s: 0, d: 10_000, src: 'song.mp3', m: { volume: 0.3 } }] },
  ],
});

function issueField(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof VidscribeError && e.code === ErrorCode.InvalidDraft, String(e));
    return (e.data as { issues: { field: string }[] }).issues[0]!.field;
  }
  assert.fail('accepted');
}

describe('overlays in the draft schema', () => {
  test('an overlay names its corner and size; mistakes are 4101 naming the field', () => {
    const d = addOverlay(talk(), { src: 'logo.png' }, { corner: 'top-right', widthPct: 15, marginPct: 3 });
    assert.deepEqual(parseDraft(JSON.parse(JSON.stringify(d))), d);
    const bad = (o: object) => {
      const x = structuredClone(d) as any;
      Object.assign(x.t[2].sg[0].m.overlay, o);
      return issueField(() => parseDraft(x));
    };
    assert.equal(bad({ corner: 'upper-right' }), 't[2].sg[0].m.overlay.corner');
    assert.equal(bad({ widthPct: 0 }), 't[2].sg[0].m.overlay.widthPct');
    assert.equal(bad({ marginPct: 90 }), 't[2].sg[0].m.overlay.marginPct');
    assert.equal(bad({ x: 3 }), 't[2].sg[0].m.overlay.x');
  });
});

describe('picture operations', () => {
  test('"use the photo as the first 3 seconds": a still at 0 for 3 s, everything else 3 s later', () => {
    const d = addStill(talk(), { src: 'photo.jpg', width: 4000, height: 3000 }, { atMs: 0, durationMs: 3000 });
    const main = d.t[0] as VideoTrack;
    assert.deepEqual(
      main.sg.map((s) => [s.src, s.s, s.d, s.in ?? 0, s.m.fit]),
      [
        ['photo.jpg', 0, 3000, 0, 'blur'],
        ['talk.mp4', 3000, 6000, 0, 'contain'],
        ['talk.mp4', 9000, 4000, 6000, 'contain'],
      ],
    );
    assert.deepEqual(
      d.t[1]!.sg.map((s) => [s.s, s.d]),
      [[3000, 10_000]],
    );
    assert.equal(d.version, 2);
    assert.deepEqual(talk(), talk(), 'the input is not mutated');
  });

  test('a still inside a clip splits it, and the second part resumes where the first stopped', () => {
    const d = addStill(talk(), { src: 'photo.jpg' }, { atMs: 2000, durationMs: 1000, fit: 'cover' });
    assert.deepEqual(
      (d.t[0] as VideoTrack).sg.map((s) => [s.src, s.s, s.d, s.in ?? 0]),
      [
        ['talk.mp4', 0, 2000, 0],
        ['photo.jpg', 2000, 1000, 0],
        ['talk.mp4', 3000, 4000, 2000],
        ['talk.mp4', 7000, 4000, 6000],
      ],
    );
    assert.equal(new Set((d.t[0] as VideoTrack).sg.map((s) => s.id)).size, 4, 'ids stay unique');
    parseDraft(d);
  });

  test('"put the logo in the top right corner": for the whole timeline by default; removeOverlays takes it away', () => {
    const d = addOverlay(talk(), { src: 'logo.png' });
    const ov = d.t.at(-1) as VideoTrack;
    assert.equal(ov.tt, 0);
    assert.deepEqual(ov.sg[0], { id: 'overlay', s: 0, d: 10_000, src: 'logo.png', m: { fit: 'contain', overlay: { corner: 'top-right', widthPct: 15 } } });
    const two = addOverlay(d, { src: 'logo.png' }, { corner: 'bottom-left', startMs: 1000, durationMs: 2000 });
    assert.equal(two.t.length, d.t.length, 'overlays share their track');
    assert.deepEqual(
      (two.t.at(-1) as VideoTrack).sg.map((s) => [s.s, s.d, s.m.overlay?.corner]),
      [
        [0, 10_000, 'top-right'],
        [1000, 2000, 'bottom-left'],
      ],
    );
    // An overlay hides nothing: the video below plays through.
    assert.deepEqual(
      visibleVideo(two, 30, 300).map((p) => p.kind),
      ['clip', 'clip'],
    );
    const none = removeOverlays(two);
    assert.deepEqual(none.t, talk().t);
    // A still added later stretches a whole-timeline overlay over it.
    assert.deepEqual(addStill(d, { src: 'photo.jpg' }, { atMs: 0, durationMs: 3000 }).t.at(-1)!.sg[0]!.d, 13_000);
  });
});

describe('the draft follows the uploads', () => {
  const video = (src: string, durationSec: number, width = 1920, height = 1080): UploadedMedia => ({ src, kind: 'video', durationSec, width, height });
  const image = (src: string): UploadedMedia => ({ src, kind: 'image', durationSec: 0, width: 800, height: 600 });
  const audio = (src: string, durationSec: number): UploadedMedia => ({ src, kind: 'audio', durationSec });

  test('the first video starts the main track (1080p in its shape); later ones are appended, user edits kept', () => {
    const d1 = placeUploads(null, [video('a', 4.5)])!;
    assert.deepEqual([d1.w, d1.h, d1.version], [1920, 1080, 1]);
    assert.deepEqual(d1.t, [{ id: 'video', tt: 0, name: 'Video', sg: [{ id: 'clip', s: 0, d: 4500, src: 'a', m: { fit: 'contain' } }] }]);
    const edited = addTitle(d1, 'Hello');
    const d2 = placeUploads(edited, [video('b', 2, 1280, 720), video('c', 1, 720, 1280)], { earlier: [video('a', 4.5)] })!;
    assert.deepEqual(
      (d2.t[0] as VideoTrack).sg.map((s) => [s.src, s.s, s.d, s.m.fit]),
      [
        ['a', 0, 4500, 'contain'],
        ['b', 4500, 2000, 'contain'],
        ['c', 6500, 1000, 'blur'],
      ],
    );
    assert.deepEqual(d2.t.slice(1), edited.t.slice(1), 'the title is kept');
    assert.equal(d2.version, edited.version + 1);
    assert.deepEqual([placeUploads(null, [video('v', 1, 1080, 1920)])!.h, placeUploads(null, [video('s', 1, 1080, 1080)])!.w], [1920, 1080]);
  });

  test('beside a video, photos and audio are left for the user: nothing placed, same draft back', () => {
    const d1 = placeUploads(null, [video('a', 3)])!;
    assert.equal(placeUploads(d1, [image('p'), audio('m', 60)], { earlier: [video('a', 3)] }), d1);
    const both = placeUploads(null, [image('p'), video('a', 3), audio('m', 60)])!;
    assert.deepEqual(
      both.t.map((t) => [t.tt, t.sg.map((s) => s.src)]),
      [[0, ['a']]],
    );
  });

  test('photos alone make a slideshow of 3 s stills (at most one render of them); audio alone plays over black', () => {
    const show = placeUploads(null, [image('p1'), image('p2')])!;
    assert.deepEqual([show.w, show.h], [1920, 1080]);
    assert.deepEqual(
      show.t[0]!.sg.map((s) => [s.src, s.s, s.d]),
      [
        ['p1', 0, 3000],
        ['p2', 3000, 3000],
      ],
    );
    const more = placeUploads(show, [image('p3')], { earlier: [image('p1'), image('p2')] })!;
    assert.deepEqual(
      more.t[0]!.sg.map((s) => [s.src, s.s]),
      [
        ['p1', 0],
        ['p2', 3000],
        ['p3', 6000],
      ],
    );
    const many = placeUploads(
      null,
      Array.from({ length: 20 }, (_, i) => image(`p${i}`)),
    )!;
    assert.equal(many.t[0]!.sg.length, RENDER_LIMITS.inputs);
    const podcast = placeUploads(null, [audio('m', 90)])!;
    assert.deepEqual(podcast.t, [{ id: 'audio', tt: 1, name: 'Audio', sg: [{ id: 'clip', s: 0, d: 90_000, src: 'm', m: { volume: 1 } }] }]);
    // A video after photos goes after them on the main track.
    assert.deepEqual(
      placeUploads(show, [video('v', 2)], { earlier: [image('p1'), image('p2')] })!.t[0]!.sg.map((s) => [s.src, s.s]),
      [
        ['p1', 0],
        ['p2', 3000],
        ['v', 6000],
      ],
    );
    assert.equal(placeUploads(null, []), null);
  });
});

describe('compiling pictures', () => {
  test('a draft without pictures gets no picture filters', () => {
    const c = compileDraft(talk(), {
      sources: new Map([...sources, ['song.mp3', { path: '/m/song.mp3', durationSec: 60, hasVideo: false, hasAudio: true }]]),
      output: '/o.mp4',
    });
    assert.doesNotMatch(c.filterGraph, /loop=|overlay=x/);
  });

  test('a still is read once (no -t), fitted once, and each use repeats the fitted frame for its exact frames', () => {
    let d = addStill(talk(), { src: 'photo.jpg' }, { atMs: 0, durationMs: 2000 });
    d = addStill(d, { src: 'photo.jpg' }, { atMs: 5000, durationMs: 1000 });
    const c = compileDraft({ ...d, t: [d.t[0]!] }, { sources, output: '/o.mp4' });
    const i = c.args.indexOf('/m/photo.jpg');
    assert.equal(c.args.filter((a) => a === '/m/photo.jpg').length, 1, 'one input for both uses');
    assert.equal(c.args[i - 1], '-i');
    assert.notEqual(c.args[i - 3], '-t');
    assert.ok(c.args.slice(0, i).includes('-format_whitelist'), 'the demuxer allow-list applies to pictures too');
    assert.equal(c.fps, '30', "the photo's 25 fps does not set the rate");
    assert.match(c.filterGraph, /boxblur.*split=2/s);
    assert.match(c.filterGraph, /loop=loop=-1:size=1,trim=end_frame=60,/);
    assert.match(c.filterGraph, /loop=loop=-1:size=1,trim=end_frame=30,/);
    assert.equal(c.frames, 390);
  });

  test('an animated gif is a looping read as long as its segment', () => {
    const d: Draft = {
      id: 'g',
      version: 1,
      w: 640,
      h: 360,
      t: [{ id: 'v', tt: 0, sg: [{ id: 'g', s: 0, d: 4000, src: 'dance.gif', m: { fit: 'contain' } }] }],
    };
    const c = compileDraft(d, { sources, output: '/o.mp4' });
    const i = c.args.indexOf('/m/dance.gif');
    assert.deepEqual(
      c.args.slice(i - 5, i).filter((_, j) => j !== 3),
      ['-stream_loop', '-1', '-t', '-i'],
    );
    assert.ok(Math.abs(Number(c.args[i - 2]) - 4) < 0.01, c.args[i - 2]);
    assert.match(c.filterGraph, /trim=end_frame=120/);
  });

  test('an overlay is drawn over the joined video at its corner, scaled to the canvas, for its time, and counts as an input', () => {
    const d = addOverlay(talk(), { src: 'logo.png' }, { corner: 'bottom-left', widthPct: 10, marginPct: 5, startMs: 1000, durationMs: 2000 });
    const c = compileDraft({ ...d, t: [d.t[0]!, d.t[2]!] }, { sources, output: '/o.mp4' });
    assert.match(c.filterGraph, /scale=192:-2,format=yuva420p,loop=loop=-1:size=1,trim=end_frame=60,setpts=N\/\(30\)\/TB\+1\/TB\[ov0\]/);
    assert.match(c.filterGraph, /overlay=x=54:y=H-h-54:eof_action=pass/);
    assert.doesNotMatch(c.filterGraph, /\[1:a\]/, 'an overlay is silent');
    assert.equal(c.inputs, 2);
  });
});
