import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { LIBRI_1089, LIBRI_61, ffmpeg, tempDir } from '../../test/helpers/media.ts';
import { runWorkerPython } from '../../test/helpers/python-worker.ts';
import { extractSpeechAudio, probeTranscribable } from '../media/index.ts';
import { AsrWorker } from './index.ts';
import { resolveModel } from './models.ts';
import { wer } from './wer.ts';

// The real worker with the bundled multilingual base model (the default), which detects the
// language. Whisper's encoder runs once per 30 s window whatever the window holds, so the windows
// it ran on are what a file costs; the worker counts them, and these tests hold the detector to
// costing none of its own when it is sure, and to listening again when it is not.
const dir = tempDir();
const worker = new AsrWorker({ model: 'base' });
after(() => worker.close());

async function recognise(file: string, language?: string) {
  const audio = await extractSpeechAudio(await probeTranscribable(file));
  try {
    return await worker.transcribe(audio.pcmPath, language ? { language } : {});
  } finally {
    await audio.dispose();
  }
}

const text = (r: { segments: { text: string }[] }) => r.segments.map((s) => s.text).join(' ');

describe('what a file costs the encoder', () => {
  test('a 10-second recording with its language detected costs one window: the decoder reuses the detector’s pass', async () => {
    const detected = await recognise(LIBRI_1089.file);
    const given = await recognise(LIBRI_1089.file, 'en');
    assert.equal(detected.language, 'en');
    assert.ok(detected.detectSec > 0, 'the language was detected');
    assert.equal(given.encoderWindows, 1);
    assert.equal(detected.encoderWindows, 1, 'detection ran no encoder pass of its own');
    assert.equal(text(detected), text(given), 'the same words as with the language given');
  });

  test('a minute of speech: detection adds no window to those the decoding needs', async () => {
    const long = join(dir, 'minute.wav');
    const parts = Array.from({ length: 5 }, (_, i) => ['-i', i % 2 ? LIBRI_61.file : LIBRI_1089.file]).flat();
    ffmpeg(...parts, '-filter_complex', 'concat=n=5:v=0:a=1', long);
    const detected = await recognise(long);
    const given = await recognise(long, 'en');
    assert.equal(detected.language, 'en');
    assert.ok(given.encoderWindows >= 2, `${given.encoderWindows} windows for ${given.duration.toFixed(0)} s`);
    assert.equal(detected.encoderWindows, given.encoderWindows);
    assert.equal(text(detected), text(given));
  });

  test('a minute with 27 s of speech between long silences costs one window, and every word keeps its time in the file', async () => {
    // 10.4 s of speech, 6 s of silence, 4.9 s of speech, 40 s of silence, 10.4 s of speech.
    const gaps = join(dir, 'gaps.wav');
    ffmpeg(
      ...['-i', LIBRI_1089.file, '-i', LIBRI_61.file, '-i', LIBRI_1089.file],
      ...['-filter_complex', '[0]apad=pad_dur=6[a];[1]apad=pad_dur=40[b];[a][b][2]concat=n=3:v=0:a=1', '-ar', '16000', '-ac', '1', gaps],
    );
    const r = await recognise(gaps, 'en');
    assert.equal(r.encoderWindows, 1, 'the silences were left out and the three readings joined in one window');
    const words = r.segments.flatMap((s) => s.words);
    const said = [
      { from: 0, to: 10.435, text: LIBRI_1089.text },
      { from: 16.435, to: 21.34, text: LIBRI_61.text },
      { from: 61.34, to: 71.775, text: LIBRI_1089.text },
    ];
    for (const { from, to, text: reference } of said) {
      const heard = words.filter((w) => w.start >= from - 0.5 && w.end <= to + 0.5);
      const spoken = heard.map((w) => w.word).join('');
      assert.ok(wer(reference, spoken) < 0.2, `${from}–${to} s: ${spoken}`);
    }
    assert.ok(
      words.every((w) => said.some(({ from, to }) => w.start >= from - 0.5 && w.end <= to + 0.5)),
      `no word is placed in a silence: ${JSON.stringify(words.map((w) => [w.word, w.start, w.end]))}`,
    );
    const starts = r.segments.map((s) => s.start);
    assert.deepEqual(
      starts,
      [...starts].sort((a, b) => a - b),
      'segments in time order',
    );
  });
});

describe('an unsure detection listens again', () => {
  const said = 'Send a message to Laura saying I will be ten minutes late.';
  /** Machine speech (Debian espeak-ng, installed by scripts/setup.sh): a voice the model was not
   * trained on, with the silence a recording app leaves around a short command. */
  function laura(): string {
    const raw = join(dir, 'laura.espeak.wav');
    const wav = join(dir, 'laura.wav');
    execFileSync('espeak-ng', ['-v', 'en-029+m2', '-s', '175', '-w', raw, said]);
    ffmpeg('-i', raw, '-af', 'adelay=400,apad=pad_dur=0.6', '-ar', '16000', '-ac', '1', wav);
    return wav;
  }

  test('a short synthetic command in silence, once heard as Latin (0.25 against English 0.21), is English and transcribed', async () => {
    const wav = laura();
    const r = await recognise(wav);
    assert.equal(r.language, 'en');
    assert.ok(wer(said, text(r)) < 0.5, text(r));
    assert.equal(r.encoderWindows, 2, 'the unsure detector listened twice; the decoder reused the first listen');
  });

  test('between candidate languages, the decoder picks the one its transcript is likeliest in, whatever their order', () => {
    // likeliest_language itself, on the detector's encoder pass over the command: the detector's
    // own probabilities differ from machine to machine here (Latin 0.25 or 0.36 against English).
    const picked = runWorkerPython<string[]>(
      [
        'from faster_whisper import WhisperModel, decode_audio',
        'from faster_whisper.audio import pad_or_trim',
        'model = WhisperModel(sys.argv[1], device="cpu", compute_type="int8", cpu_threads=2)',
        'audio = decode_audio(sys.argv[2])',
        'windows = W.plan_windows(audio)',
        'encoded = model.encode(pad_or_trim(W.window_features(model, audio, windows[0])))',
        'print(json.dumps([W.likeliest_language(model, encoded, c, 5) for c in (["la", "en"], ["en", "la"], ["cy", "la", "en"])]))',
      ].join('\n'),
      [resolveModel('base').arg, laura()],
    );
    assert.deepEqual(picked, ['en', 'en', 'en']);
  });
});
