/**
 * The batch workflow's pure parts: "export each video separately" (and its Chinese forms) parses
 * as one export with `each`, and each video gets its own draft: the session draft's settings with
 * the main track holding only that video.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDraft, setCaptions, timelineDuration } from '../render/index.ts';
import { addBackgroundMusic, addTitle, draftForOneVideo, placeUploads, setAspect, type UploadedMedia } from '../render/operations.ts';
import { parseRequest } from './intent.ts';
import { validateIntents } from './validate.ts';

const video = (src: string, durationSec: number, width = 640, height = 360): UploadedMedia => ({ src, kind: 'video', durationSec, width, height });

describe('batch export requests', () => {
  it('"each"/"separately"/"分别" is one export of every video', () => {
    for (const say of [
      'export each video separately',
      'render each file',
      'one video per file',
      '每个视频分别导出',
      '分别导出',
      '分别导出每个视频',
      'export every clip',
    ]) {
      assert.deepEqual(parseRequest(say).intents, [{ kind: 'export', each: true }], say);
    }
  });

  it('keeps the edits asked for in the same message', () => {
    assert.deepEqual(parseRequest('add captions to each video and export them separately').intents, [{ kind: 'captions' }, { kind: 'export', each: true }]);
    assert.deepEqual(parseRequest('make each one vertical and export').intents, [
      { kind: 'aspect', aspect: '9:16' },
      { kind: 'export', each: true },
    ]);
  });

  it('a plain export is not a batch', () => {
    for (const say of ['export the video', 'export', 'render it', '导出视频']) {
      assert.equal(
        parseRequest(say).intents.some((i) => i.kind === 'export' && i.each),
        false,
        say,
      );
    }
    assert.deepEqual(parseRequest('export the second video').intents, [{ kind: 'export', media: { by: 'ordinal', index: 1, kind: 'video' } }]);
  });

  it('a batch with several videos and no draft is no question; "each" with one named video is refused', () => {
    const two = {
      media: [
        { name: 'a.mp4', kind: 'video' as const },
        { name: 'b.mp4', kind: 'video' as const },
      ],
      hasDraft: false,
    };
    assert.deepEqual(validateIntents([{ kind: 'export', each: true }], two), { ok: true, intents: [{ kind: 'export', each: true }] });
    const r = validateIntents([{ kind: 'export', each: true, media: { by: 'ordinal', index: 0 } }], two);
    assert.equal(r.ok, false);
  });
});

describe('draftForOneVideo', () => {
  const a = video('a', 2);
  const b = video('b', 3, 360, 640);
  const session = () => {
    let d = placeUploads(null, [a, b])!;
    d = addTitle(d, 'Hello', { startMs: 0, durationMs: 1000 });
    d = addTitle(d, 'Late', { startMs: 4000, durationMs: 500 });
    d = addBackgroundMusic(d, 'song', { volume: 0.3, fade_in_ms: 1000, fade_out_ms: 2000 });
    return setCaptions(d, [{ index: 1, start: 0, end: 1, lines: ['spoken in a'] }]);
  };

  it('the session draft’s canvas, titles and music with only that video on the main track, cut to its length', () => {
    const s = session();
    const one = parseDraft(draftForOneVideo(s, b));
    assert.deepEqual([one.w, one.h], [s.w, s.h]);
    const main = one.t.filter((t) => t.tt === 0);
    assert.equal(main.length, 1);
    assert.deepEqual(main[0]!.sg, [{ id: 'clip', s: 0, d: 3000, src: 'b', m: { fit: 'blur' } }]);
    assert.equal(timelineDuration(one), 3000);
    const texts = one.t.filter((t) => t.tt === 7).flatMap((t) => t.sg);
    assert.deepEqual(
      texts.map((sg) => sg.m.text),
      ['Hello'],
      'captions (another video’s words) go; a title after the end goes',
    );
    const music = one.t.find((t) => t.tt === 1)!.sg[0]!;
    assert.equal(music.src, 'song');
    assert.equal(music.d, 3000);
    assert.ok((music.m.fade_in_ms ?? 0) + (music.m.fade_out_ms ?? 0) <= 3000);
  });

  it('a same-shape video is contained, and the session draft is not changed', () => {
    const s = session();
    const copy = structuredClone(s);
    const one = draftForOneVideo(s, a);
    assert.deepEqual(one.t.find((t) => t.tt === 0)!.sg, [{ id: 'clip', s: 0, d: 2000, src: 'a', m: { fit: 'contain' } }]);
    assert.notEqual(one.id, s.id);
    assert.deepEqual(s, copy);
    const vertical = draftForOneVideo(setAspect(s, '9:16'), a);
    assert.deepEqual([vertical.w, vertical.h], [1080, 1920]);
    assert.equal(vertical.t.find((t) => t.tt === 0)!.sg[0]!.m.fit, 'blur');
  });
});
