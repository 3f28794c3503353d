import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Draft } from '../../render/index.ts';
import { draftSummary, normaliseRequest, PROMPT_MAX_MEDIA, PROMPT_MAX_NAME_CHARS, systemPrompt, userPrompt } from './prompt.ts';

describe('normaliseRequest: times in seconds and ratios as shapes, by the parser’s rules', () => {
  const cases: [string, string][] = [
    ['keep 1:05–1:20', 'keep 65 s to 80 s'],
    ['from 1:00-2:30 only', 'from 60 s to 150 s only'],
    ['cut at 1:02:03', 'cut at 3723 s'],
    ['start at 0:07.5', 'start at 7.5 s'],
    ['make it 4:5', 'make it vertical 4:5 aspect ratio'],
    ['9:16 please', 'vertical 9:16 aspect ratio please'],
    ['16x9 and 1:1', 'landscape 16:9 aspect ratio and square 1:1 aspect ratio'],
    ['改成9比16', '改成vertical 9:16 aspect ratio'],
    ['１：３０ (full width)', '90 s (full width)'],
    ["put 'Meet at 1:30' on screen at 0:02", "put 'Meet at 1:30' on screen at 2 s"],
    ['“9:16 Club” at 0:05', '“9:16 Club” at 5 s'],
    ['version 1.5:30 and 123:45', 'version 1.5:30 and 123:45'],
  ];
  for (const [input, output] of cases) {
    test(`${input} → ${output}`, () => assert.equal(normaliseRequest(input), output));
  }

  test('linear on long adversarial input', () => {
    const long = '1:1:1:1:'.repeat(500) + "'".repeat(1000) + '9x'.repeat(1000);
    const t0 = performance.now();
    normaliseRequest(long);
    assert.ok(performance.now() - t0 < 500);
  });
});

const draft: Draft = {
  id: 'd',
  version: 3,
  w: 1080,
  h: 1920,
  t: [
    { id: 'v', tt: 0, sg: [{ id: 's1', s: 0, d: 5000, src: 'm1', in: 0, m: { fit: 'blur' } }] },
    { id: 'a', tt: 1, sg: [{ id: 's2', s: 0, d: 5000, src: 'm2', in: 0, m: { volume: 0.3 } }] },
    {
      id: 'x',
      tt: 7,
      sg: [
        { id: 't1', s: 0, d: 2000, m: { text: 'A very long title that goes on and on and on and on', kind: 'title', position: 'center' } },
        { id: 'c1', s: 0, d: 1000, m: { text: 'hello there', kind: 'caption', position: 'bottom' } },
        { id: 'c2', s: 1000, d: 1000, m: { text: 'general', kind: 'caption', position: 'bottom' } },
      ],
    },
  ],
} as Draft;

test('draftSummary: shape, length and what is on it, not the draft itself', () => {
  assert.equal(draftSummary(null), null);
  const s = draftSummary(draft)!;
  assert.deepEqual(s, {
    width: 1080,
    height: 1920,
    shape: '9:16',
    duration_sec: 5,
    video_sources: ['m1'],
    music_sources: ['m2'],
    captions: 2,
    titles: ['A very long title that goes on and on an…'],
  });
  assert.ok(!JSON.stringify(s).includes('hello there'), 'caption text stays out');
});

test('userPrompt: the request normalised, media bounded in number and name length', () => {
  const media = Array.from({ length: PROMPT_MAX_MEDIA + 20 }, (_, i) => ({
    id: `m${i}`,
    name: `${'n'.repeat(500)}.mp4`,
    kind: 'video' as const,
    durationSec: 12.345,
  }));
  const p = JSON.parse(userPrompt({ message: 'keep 0:10-0:20', media, draft: null, language: 'en' }));
  assert.equal(p.request, 'keep 10 s to 20 s');
  assert.equal(p.media.length, PROMPT_MAX_MEDIA);
  assert.equal(p.media[0].name.length, PROMPT_MAX_NAME_CHARS + 1);
  assert.equal(p.media[0].duration_sec, 12.3);
  assert.equal(p.draft, null);
});

test('systemPrompt names every tool and the no-spending rule', () => {
  const s = systemPrompt();
  for (const t of ['transcribe_media', 'add_captions', 'set_aspect', 'set_resolution', 'add_title', 'add_background_music', 'trim', 'export_video']) {
    assert.ok(s.includes(`- ${t}:`), t);
  }
  assert.match(s, /Never transcribe, caption or export unless/);
});
