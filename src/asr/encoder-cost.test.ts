import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { LIBRI_1089, LIBRI_61, ffmpeg, tempDir } from '../../test/helpers/media.ts';
import { extractSpeechAudio, probeTranscribable } from '../media/index.ts';
import { AsrWorker } from './index.ts';

// The real worker with the bundled multilingual base model (the default). Whisper's encoder runs
// once per 30 s window whatever the window holds, so the windows it ran on are what a file costs;
// the worker counts them, and these tests hold the language detector to costing none of its own.
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
});
