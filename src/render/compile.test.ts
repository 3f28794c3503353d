import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { assTime, buildAss, escapeAssText, safeArea } from './ass.ts';
import { compileDraft, escapeFilterValue, type SourceInfo } from './compile.ts';
import { addBackgroundMusic, addTitle, seedExampleDraft, setAspect } from './operations.ts';
import { createProgressParser, type RenderProgress } from './progress.ts';
import type { Draft } from './draft.ts';

const sources = new Map<string, SourceInfo>([
  ['city.mp4', { path: '/m/city.mp4', durationSec: 10, hasVideo: true, hasAudio: true, width: 1920, height: 1080, fps: 30 }],
  ['lofi.mp3', { path: '/m/lofi.mp3', durationSec: 4, hasVideo: false, hasAudio: true }],
  ['ntsc.mp4', { path: '/m/ntsc.mp4', durationSec: 60, hasVideo: true, hasAudio: false, width: 1280, height: 720, fps: 29.97 }],
]);
const oneClip: Draft = {
  id: 'd',
  version: 1,
  w: 1920,
  h: 1080,
  t: [{ id: 'v', tt: 0, sg: [{ id: 'c', s: 0, d: 10_000, src: 'city.mp4', m: { fit: 'contain' } }] }],
};

describe('compiling a draft to one ffmpeg run', () => {
  test('a single clip is one chain: no concat, no text filter, no mixing; fps from the source', () => {
    const c = compileDraft(oneClip, { sources, output: '/o.mp4' });
    assert.doesNotMatch(c.filterGraph, /concat|ass=|amix|color=c=/);
    assert.equal(c.fps, '30');
    assert.equal(c.frames, 300);
    assert.equal(c.args.filter((a) => a === '-i').length, 1, 'video and its sound share one input');
    for (const flag of ['libx264', 'veryfast', 'yuv420p', 'aac', '+faststart']) assert.ok(c.args.includes(flag), flag);
    assert.deepEqual(c.args.slice(-3), ['-f', 'mp4', '/o.mp4']);
  });

  test("the seed's example: title through libass, music looped because it is shorter than its segment, at 0.35", () => {
    const d = seedExampleDraft({ video: 'city.mp4', music: 'lofi.mp3' });
    const c = compileDraft(d, { sources, output: '/o.mp4', assPath: '/tmp/x/text.ass', fontsDir: '/usr/share/fonts/truetype/dejavu' });
    assert.match(c.filterGraph, /ass=filename=\/tmp\/x\/text\.ass:fontsdir=\/usr\/share\/fonts\/truetype\/dejavu\[vout\]/);
    assert.match(c.filterGraph, /volume=0\.35/);
    assert.match(c.filterGraph, /amix=inputs=2:normalize=0/);
    const loop = c.args.indexOf('-stream_loop');
    assert.ok(loop >= 0 && c.args[loop + 5] === '/m/lofi.mp3', c.args.join(' '));
  });

  test('ducked music goes through a sidechain compressor keyed by the speech', () => {
    const d = addBackgroundMusic(oneClip, 'lofi.mp3', { volume: 0.5, duck: true, fade_in_ms: 500, fade_out_ms: 1000 });
    const c = compileDraft(d, { sources, output: '/o.mp4' });
    assert.match(c.filterGraph, /\[aduck\]|\[a1\]\[amainsc\]sidechaincompress/);
    assert.match(c.filterGraph, /afade=t=in:st=0:d=0\.5/);
    assert.match(c.filterGraph, /afade=t=out:st=9:d=1/);
  });

  test('gaps are filled with the background, and fit filters follow the canvas', () => {
    const d: Draft = setAspect(
      { ...oneClip, t: [{ id: 'v', tt: 0, sg: [{ id: 'c', s: 2000, d: 3000, src: 'ntsc.mp4', in: 1000, m: { fit: 'blur' } }] }] },
      '9:16',
    );
    const c = compileDraft(d, { sources, output: '/o.mp4' });
    assert.equal(c.fps, '30000/1001');
    assert.match(c.filterGraph, /color=c=black:s=1080x1920/);
    assert.match(c.filterGraph, /concat=n=2:v=1:a=0/);
    assert.match(c.filterGraph, /boxblur/);
    assert.match(c.filterGraph, /anullsrc/, 'a silent source with no sound still gets an audio track');
    assert.equal(c.args[c.args.indexOf('-ss') + 1], '1', c.args.join(' '));
  });

  test('an audio-only draft renders over a still background', () => {
    const d: Draft = { id: 'a', version: 1, w: 1280, h: 720, t: [{ id: 'm', tt: 1, sg: [{ id: 'b', s: 0, d: 3000, src: 'lofi.mp3', m: { volume: 1 } }] }] };
    const c = compileDraft(addTitle(d, 'Podcast'), { sources, output: '/o.mp4', assPath: '/t.ass' });
    assert.match(c.filterGraph, /^color=c=black:s=1280x720:r=30/);
    assert.equal(c.frames, 90);
  });

  test('filter values with special characters are escaped', () => {
    assert.equal(escapeFilterValue('/tmp/a:b,c'), '/tmp/a\\\\:b\\,c');
    assert.equal(escapeFilterValue("/tmp/it's"), "/tmp/it\\\\\\'s");
  });
});

describe('captions and titles as an .ass file', () => {
  test('times, escapes, safe area and one event per text segment', () => {
    assert.equal(assTime(0), '0:00:00.00');
    assert.equal(assTime(3_723_456), '1:02:03.46');
    assert.equal(escapeAssText('a {b} \\n c\nd'), 'a \\{b\\} \\\u200bn c\\Nd');
    const d = addTitle(seedExampleDraft({ video: 'v', music: 'm' }), 'Second', { startMs: 5000, position: 'top', style: { color: '#FFCC00', size: 80 } });
    const ass = buildAss(d)!;
    assert.match(ass, /PlayResX: 1920\nPlayResY: 1080/);
    assert.match(ass, /Style: caption-box,DejaVu Sans,54,/);
    assert.match(ass, /Dialogue: 2,0:00:00\.00,0:00:03\.00,title-plain,,0,0,76,,\{\\an5\\fad\(250,250\)\}Urban Dreams/);
    assert.match(ass, /Dialogue: 2,0:00:05\.00,0:00:08\.00,title-plain,,0,0,65,,\{\\an8\\fad\(250,250\)\\fs80\\c&H0000CCFF&\}Second/);
    assert.equal(buildAss({ ...d, t: d.t.filter((t) => t.tt !== 7) }), null);
  });

  test("portrait canvases keep text clear of the apps' bottom and side furniture", () => {
    const p = safeArea(1080, 1920);
    const l = safeArea(1920, 1080);
    assert.ok(p.bottom >= 0.15 * 1920 && p.side >= 0.075 * 1080, JSON.stringify(p));
    assert.ok(l.bottom >= 0.05 * 1080 && l.side >= 0.05 * 1920, JSON.stringify(l));
  });
});

describe('ffmpeg -progress parsing', () => {
  test('blocks split anywhere become percentages; 100 only at the end', () => {
    const seen: RenderProgress[] = [];
    const parser = createProgressParser(10, (p) => seen.push(p));
    const text =
      'frame=75\nfps=30.5\nout_time_us=2500000\nspeed=1.2x\nprogress=continue\nframe=300\nout_time_us=N/A\nprogress=continue\nout_time_us=10000000\nprogress=end\n';
    for (let i = 0; i < text.length; i += 7) parser.push(text.slice(i, i + 7));
    assert.deepEqual(
      seen.map((p) => p.percent),
      [25, 0, 100],
    );
    assert.deepEqual([seen[0]!.frame, seen[0]!.fps, seen[0]!.speed], [75, 30.5, 1.2]);
    assert.equal(seen[2]!.done, true);
  });
});
