/** The agent's picture requests (issue 9, part 2): parsed into still and overlay intents, applied by the render's pure operations. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { placeUploads, type Draft, type VideoTrack } from '../render/index.ts';
import { applyDraftIntents, removeFromDraft } from './edit.ts';
import { parseRequest, type Intent } from './intent.ts';
import { validateIntents } from './validate.ts';

const cases: [string, Intent[]][] = [
  ['use the photo as the first 3 seconds', [{ kind: 'still', atMs: 0, durationMs: 3000 }]],
  ['show cover.jpg for 5 seconds at the start', [{ kind: 'still', atMs: 0, durationMs: 5000, picture: { by: 'name', name: 'cover.jpg' } }]],
  ['end with the picture for 2 s', [{ kind: 'still', atMs: -1, durationMs: 2000 }]],
  ['用这张照片做开头3秒', [{ kind: 'still', atMs: 0, durationMs: 3000 }]],
  ['put the logo in the top right corner', [{ kind: 'overlay', corner: 'top-right' }]],
  ['Put logo.png in the bottom-left corner', [{ kind: 'overlay', corner: 'bottom-left', picture: { by: 'name', name: 'logo.png' } }]],
  ['把logo放在右上角', [{ kind: 'overlay', corner: 'top-right' }]],
  ['加水印', [{ kind: 'overlay', corner: 'bottom-right' }]],
  ['add captions and put the logo in the top left corner', [{ kind: 'overlay', corner: 'top-left' }, { kind: 'captions' }]],
];

describe('picture requests', () => {
  for (const [say, want] of cases) {
    test(say, () => {
      const got = parseRequest(say);
      assert.deepEqual(got.intents, want);
      assert.ok(validateIntents(got.intents, { media: [], hasDraft: true }).ok, 'the same gate as every intent');
    });
  }

  test('applied: the photo first for 3 s, the logo over everything, and "remove the logo" takes it away', () => {
    const draft = placeUploads(null, [{ src: 'med_v', kind: 'video', durationSec: 10, width: 1920, height: 1080 }])!;
    const picture = { src: 'med_p', width: 800, height: 600 };
    const withStill = applyDraftIntents(draft, parseRequest('use the photo as the first 3 seconds').intents, { picture });
    assert.deepEqual(
      (withStill.t[0] as VideoTrack).sg.map((s) => [s.src, s.s, s.d]),
      [
        ['med_p', 0, 3000],
        ['med_v', 3000, 10_000],
      ],
    );
    const logo = applyDraftIntents(withStill, parseRequest('put the logo in the top right corner').intents, { picture: { src: 'med_l' } });
    const over = logo.t.at(-1) as VideoTrack;
    assert.deepEqual(over.sg[0]!.m.overlay, { corner: 'top-right', widthPct: 15 });
    assert.deepEqual([over.sg[0]!.s, over.sg[0]!.d], [0, 13_000]);
    const gone: Draft = removeFromDraft(logo, 'overlays');
    assert.deepEqual(gone.t, withStill.t);
  });
});
