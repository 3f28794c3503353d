import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ROOT, makeMusic, makeSpeechMp4, tempDir } from '../../test/helpers/media.ts';
import { SPEECH, makeTestVideo, ocrWords, pngAt, probe } from '../../test/helpers/render.ts';
import { parseDraft, seedExampleDraft, type Draft } from '../render/index.ts';

const dir = tempDir('vidscribe-cli-render-');

function vidscribe(...args: string[]) {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'vidscribe.js'), ...args], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, HF_HUB_OFFLINE: '1' },
    timeout: 5 * 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('vidscribe render', () => {
  test('renders a draft file whose sources are relative to it, with progress to 100 %', () => {
    makeTestVideo(join(dir, 'city.mp4'), { seconds: 2, size: '320x180', speech: true });
    makeMusic(join(dir, 'lofi.mp3'), 2);
    const draft: Draft = { ...seedExampleDraft({ video: 'city.mp4', music: 'lofi.mp3' }), w: 640, h: 360 };
    draft.t = draft.t.map((t) => ({ ...t, sg: t.sg.map((s) => ({ ...s, d: Math.min(s.d, 2000) })) }) as typeof t);
    writeFileSync(join(dir, 'draft.json'), JSON.stringify(draft));
    const r = vidscribe('render', 'draft.json', '--out', 'out/video.mp4');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /render 100%/);
    const f = probe(join(dir, 'out', 'video.mp4'));
    assert.deepEqual([f.video?.codec, f.video?.width, f.video?.height, f.audio?.codec], ['h264', 640, 360, 'aac']);
    assert.ok(Math.abs(f.formatDuration - 2) <= 1 / 30, `duration ${f.formatDuration}`);
  });

  test('an invalid draft exits non-zero with its code and field', () => {
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ ...seedExampleDraft({ video: 'city.mp4', music: 'lofi.mp3' }), h: 4000 }));
    const r = vidscribe('render', 'bad.json');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /\[4101\] Invalid draft: h: /);
    writeFileSync(join(dir, 'broken.json'), '{"id": ');
    assert.match(vidscribe('render', 'broken.json').stderr, /\[4101\] broken\.json is not valid JSON/);
    assert.match(vidscribe('render', 'missing.json').stderr, /\[4006\]/);
  });
});

describe('vidscribe convert', () => {
  test('9:16 720p with transcribed captions, a title and ducked background music', () => {
    const input = makeSpeechMp4(SPEECH.file, join(dir, 'talk.mp4'));
    copyFileSync(join(dir, 'lofi.mp3'), join(dir, 'music.mp3'));
    const r = vidscribe(
      'convert',
      'talk.mp4',
      '--resolution',
      '720p',
      '--aspect',
      '9:16',
      '--captions',
      '--title',
      'Wizard',
      '--title-duration',
      '1',
      '--bgm',
      'music.mp3',
      '--bgm-volume',
      '0.3',
      '--save-draft',
      'talk.draft.json',
      '--out',
      'talk.vertical.mp4',
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /transcribe/);
    assert.match(r.stderr, /render 100%/);
    const out = join(dir, 'talk.vertical.mp4');
    const f = probe(out);
    assert.deepEqual([f.video?.width, f.video?.height], [720, 1280]);
    assert.ok(Math.abs(f.formatDuration - probe(input).formatDuration) < 0.1, `${f.formatDuration}`);
    const draft = parseDraft(JSON.parse(readFileSync(join(dir, 'talk.draft.json'), 'utf8')));
    const text = draft.t.flatMap((t) => (t.tt === 7 ? t.sg : []));
    const captions = text.filter((s) => s.m.kind === 'caption');
    assert.ok(captions.length >= 1 && captions.every((c) => c.m.text.split('\n').every((l) => l.length <= 28)), JSON.stringify(captions));
    assert.match(
      captions
        .map((c) => c.m.text)
        .join(' ')
        .toLowerCase(),
      /wizard/,
    );
    assert.deepEqual(
      text.filter((s) => s.m.kind === 'title').map((s) => [s.s, s.d, s.m.text]),
      [[0, 1000, 'Wizard']],
    );
    const music = draft.t.find((t) => t.tt === 1)!.sg[0]!.m;
    assert.deepEqual([music.volume, music.duck], [0.3, true]);
    // The last cue is on screen at its midpoint (after the title has gone).
    const last = captions.at(-1)!;
    const words = ocrWords(pngAt(out, (last.s + last.d / 2) / 1000, join(dir, 'last-cue.png'), { top: 0.55, bottom: 0.9 }));
    const expected = last.m.text
      .toUpperCase()
      .split(/[^A-Z']+/)
      .filter(Boolean);
    assert.ok(expected.filter((w) => words.includes(w)).length >= Math.ceil(expected.length / 2), `OCR read "${words.join(' ')}" for "${last.m.text}"`);
  });

  test('bad flags are refused before any work', () => {
    const r = vidscribe('convert', 'talk.mp4', '--bgm-volume', '35');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /\[400\] --bgm-volume must be between 0 and 1/);
    assert.match(vidscribe('convert', 'talk.mp4', '--aspect', '4:3').stderr, /\[400\] --aspect must be one of 16:9, 9:16, 1:1/);
    assert.match(vidscribe('convert', 'nothing.mp4').stderr, /\[4006\]/);
    assert.match(
      vidscribe('convert', 'talk.mp4', '--captions', '--speaker-labels', 'bold').stderr,
      /\[400\] --speaker-labels must be one of name, color, none/,
    );
    assert.match(vidscribe('convert', 'talk.mp4', '--speaker-labels', 'name').stderr, /\[400\] --speaker-labels labels captions: add --captions/);
    assert.match(vidscribe('convert', 'talk.mp4', '--captions', '--speakers', '2').stderr, /\[400\] The speaker count is for --speaker-labels/);
    assert.match(
      vidscribe('convert', 'talk.mp4', '--captions', '--speaker-labels', 'none', '--max-speakers', '2').stderr,
      /\[400\] The speaker count is for --speaker-labels/,
    );
    assert.match(
      vidscribe('convert', 'talk.mp4', '--captions', '--speaker-labels', 'name', '--speakers', '0').stderr,
      /\[400\] --speakers must be a whole number from 1 to 16/,
    );
    assert.match(
      vidscribe('convert', 'talk.mp4', '--captions', '--speaker-labels', 'name', '--speakers', '2', '--max-speakers', '3').stderr,
      /\[400\] Give either --speakers or --min-speakers\/--max-speakers/,
    );
  });

  test('--speakers reaches the diarization: one reader told apart as two is named as two', () => {
    makeSpeechMp4(SPEECH.file, join(dir, 'reader.mp4'));
    const r = vidscribe(
      'convert',
      'reader.mp4',
      '--resolution',
      '720p',
      '--captions',
      '--speaker-labels',
      'name',
      '--speakers',
      '2',
      '--save-draft',
      'reader.draft.json',
      '--out',
      'reader.labelled.mp4',
    );
    assert.equal(r.code, 0, r.stderr);
    const draft = parseDraft(JSON.parse(readFileSync(join(dir, 'reader.draft.json'), 'utf8')));
    const captions = draft.t
      .flatMap((t) => (t.tt === 7 ? t.sg : []))
      .map((s) => s.m.text)
      .join(' ');
    // Found automatically, this one reader is one speaker; told there are two, the captions name two.
    assert.match(captions, /^\[Speaker 1\] /);
    assert.match(captions, /\[Speaker 2\] /);
  });
});
