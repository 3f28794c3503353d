/** Burned-in captions that show who speaks: pure checks on the draft and the .ass text, then one real render. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { probeMedia } from '../media/index.ts';
import { assignSpeakers, buildCues, renameSpeakers, type Transcript } from '../transcript/index.ts';
import { speak } from '../transcript/test-fixtures.ts';
import { tempDir } from '../../test/helpers/media.ts';
import { frameAt, makeTestVideo, type Frame } from '../../test/helpers/render.ts';
import { assColor, buildAss } from './ass.ts';
import { draftFromMedia, renderDraft, setAspect, setCaptions, speakerColor, type Draft, type TextSegment } from './index.ts';

/** Host asks, guest answers, host again: three turns with pauses between them. */
function dialogue(start = 0.3): Transcript {
  const t = speak(
    [
      { text: 'Where were you born?', pauseAfter: 1.2 },
      { text: 'In a small town by the sea.', pauseAfter: 1.2 },
      { text: 'And you stayed there?', pauseAfter: 0 },
    ],
    { seed: 2, start },
  );
  const turns = t.segments.map((s, i) => ({ start: s.start - 0.1, end: s.end + 0.1, speaker: i === 1 ? 8 : 3 }));
  return assignSpeakers(t, turns);
}

const base = (): Draft => ({
  id: 'd',
  version: 1,
  w: 1280,
  h: 720,
  t: [{ id: 'v', tt: 0, sg: [{ id: 'c', s: 0, d: 8000, src: 'x.mp4', m: { fit: 'contain' } }] }],
});
const captions = (d: Draft): TextSegment[] => d.t.flatMap((t) => (t.tt === 7 ? t.sg : [])) as TextSegment[];
const dialogues = (ass: string): string[] => ass.split('\n').filter((l) => l.startsWith('Dialogue:'));

describe('captions with speakers (pure)', () => {
  test('a diarized transcript gets "[Name] " on the first caption of each turn by default, escaped in the .ass', () => {
    const t = renameSpeakers(dialogue(), ['Ana {host}', 'Ben']);
    const d = setCaptions(base(), t);
    assert.deepEqual(
      captions(d).map((c) => c.m.text),
      ['[Ana {host}] Where were you born?', '[Ben] In a small town by the sea.', '[Ana {host}] And you stayed there?'],
    );
    const lines = dialogues(buildAss(d)!);
    assert.equal(lines.length, 3);
    // Braces in a name would open an override block: escaped like any caption text.
    assert.ok(lines[0]!.endsWith('}[Ana \\{host\\}] Where were you born?'), lines[0]);
    assert.ok(
      lines.every((l) => !l.includes('\\c&H')),
      'no colour in name mode',
    );
  });

  test("'color': each speaker its own colour, no names in the text; 'none': neither", () => {
    const t = dialogue();
    const colored = setCaptions(base(), t, { speakers: 'color', style: { color: '#112233', size: 40 } });
    assert.deepEqual(
      captions(colored).map((c) => [c.m.text, c.m.style]),
      [
        ['Where were you born?', { color: speakerColor(0), size: 40 }],
        ['In a small town by the sea.', { color: speakerColor(1), size: 40 }],
        ['And you stayed there?', { color: speakerColor(0), size: 40 }],
      ],
    );
    assert.notEqual(speakerColor(0), speakerColor(1));
    const lines = dialogues(buildAss(colored)!);
    assert.ok(lines[1]!.includes(`\\c${assColor(speakerColor(1))}&`), lines[1]);
    assert.ok(lines[0]!.includes(`\\c${assColor(speakerColor(0))}&`), lines[0]);

    const none = setCaptions(base(), t, { speakers: 'none' });
    assert.deepEqual(
      captions(none).map((c) => [c.m.text, c.m.style]),
      [
        ['Where were you born?', undefined],
        ['In a small town by the sea.', undefined],
        ['And you stayed there?', undefined],
      ],
    );
  });

  test('ready-made cues with speakers get the prefix at each change; an undiarized transcript is captioned as before', () => {
    const t = dialogue();
    const cues = buildCues(t);
    assert.deepEqual(
      captions(setCaptions(base(), cues)).map((c) => c.m.text),
      ['[Speaker 1] Where were you born?', '[Speaker 2] In a small town by the sea.', '[Speaker 1] And you stayed there?'],
    );
    const { speakers: _s, ...plain } = t;
    const undiarized: Transcript = {
      ...plain,
      segments: t.segments.map(({ speaker: _sp, ...s }) => ({ ...s, words: s.words.map(({ speaker: _w, ...w }) => w) })),
    };
    assert.deepEqual(
      captions(setCaptions(base(), undiarized)).map((c) => c.m.text),
      ['Where were you born?', 'In a small town by the sea.', 'And you stayed there?'],
    );
  });
});

describe('captions with speakers (real render)', () => {
  /** Share of caption-band pixels that are the second speaker's yellow (strong red and green, little blue). */
  const yellowShare = (f: Frame): number => {
    let n = 0;
    let total = 0;
    for (let i = Math.floor(f.height * 0.7) * f.width * 3; i < f.rgb.length; i += 3) {
      total++;
      if (f.rgb[i]! > 200 && f.rgb[i + 1]! > 170 && f.rgb[i + 2]! < 130) n++;
    }
    return n / total;
  };

  test("'color' draws the second speaker's captions in their colour, the first speaker's not", async () => {
    const dir = tempDir('vidscribe-speaker-captions-');
    const still = makeTestVideo(join(dir, 'still.mp4'), { seconds: 7, pattern: 'color=c=0x336699:s=640x360:r=25' });
    let draft = setAspect(draftFromMedia(await probeMedia(still), { src: still }), '16:9', '720p');
    draft = setCaptions(draft, dialogue(0.3), { speakers: 'color' });
    const caps = captions(draft);
    assert.equal(caps.length, 3);
    const out = join(dir, 'speakers.mp4');
    await renderDraft(draft, { out });
    const mid = (c: TextSegment): number => (c.s + c.d / 2) / 1000;
    const host = yellowShare(frameAt(out, mid(caps[0]!)));
    const guest = yellowShare(frameAt(out, mid(caps[1]!)));
    assert.ok(guest > 0.002, `the guest's caption is yellow: ${guest}`);
    assert.ok(host < guest / 20, `the host's caption is not: ${host} vs ${guest}`);
  });
});
