import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { AsrWorker, transcribeFile } from '../src/asr/index.ts';
import { wordErrors } from '../src/asr/wer.ts';
import { transcriptText } from '../src/transcript/index.ts';
import { SHARED_SPEECH, ffmpeg, hasSharedSpeech, readSpeechManifest, tempDir } from './helpers/media.ts';

/**
 * Word error rate of the bundled tiny.en on the shared corpus of real English speech.
 *
 * Thresholds: OpenAI publishes 5.6 % WER for tiny.en on LibriSpeech test-clean (greedy, their
 * normaliser). Our LibriSpeech items are a dozen short clips, so one word is ~1 % here; int8
 * weights and a simpler normaliser cost a little more. We allow 10 % on the LibriSpeech items
 * (about 1.8x the published figure). The whole English corpus is harder — spontaneous speech
 * with disfluencies, whispering, falsetto, a meeting headset, 400-year-old sonnets — so it gets
 * 20 %, which the model meets with room while a broken pipeline (lost audio, wrong sample rate,
 * hallucinated loops, dropped segments) would blow far past it.
 */
const LIBRISPEECH_MAX_WER = 0.1;
const CORPUS_MAX_WER = 0.2;
/**
 * The same items back to back in one 5.6-minute file: 28 voices cut together without pauses is
 * harder than any interview (a clip decoded whole tends to stop early). Measured here: 17.7 %
 * with the second pass over missed speech; about 26 % without it (same items, AAC-encoded).
 */
const BACK_TO_BACK_MAX_WER = 0.22;

/** The bundled model is English-only. */
const englishItems = () =>
  readSpeechManifest()
    .filter((it) => it.english)
    .map((it) => ({ id: it.id, file: it.wav, reference: it.reference }));

const shared = hasSharedSpeech();
const dir = tempDir();
if (!shared && process.env.CI === 'true') {
  test('the shared speech corpus is present under CI', () => {
    assert.fail(`${SHARED_SPEECH} is missing: CI must run beside ../shared`);
  });
}

test('WER of the bundled tiny.en on real English speech', {
  skip: shared ? false : `no shared corpus at ${SHARED_SPEECH} (a user's own clone): WER test skipped`,
}, async () => {
  // Named: this test holds tiny.en (the fast choice) to its own thresholds; the default, base, has the test below.
  const worker = new AsrWorker({ model: 'tiny.en' });
  after(() => worker.close());
  const items = englishItems();
  assert.ok(items.length >= 25, `expected the 28 English items, found ${items.length}`);
  let errors = 0;
  let words = 0;
  let libriErrors = 0;
  let libriWords = 0;
  const lines: string[] = [];
  for (const item of items) {
    const t = await transcribeFile(worker, item.file);
    const c = wordErrors(item.reference, transcriptText(t));
    errors += c.errors;
    words += c.referenceWords;
    if (item.id.startsWith('librispeech_')) {
      libriErrors += c.errors;
      libriWords += c.referenceWords;
    }
    lines.push(`${((c.errors / c.referenceWords) * 100).toFixed(1).padStart(6)} %  ${item.id}`);
  }
  const corpus = errors / words;
  const libri = libriErrors / libriWords;
  console.log(
    [
      ...lines,
      `LibriSpeech items: ${(libri * 100).toFixed(2)} % WER over ${libriWords} words`,
      `English corpus: ${(corpus * 100).toFixed(2)} % WER over ${words} words`,
    ].join('\n'),
  );
  assert.ok(libri <= LIBRISPEECH_MAX_WER, `LibriSpeech WER ${(libri * 100).toFixed(2)} % > ${LIBRISPEECH_MAX_WER * 100} %`);
  assert.ok(corpus <= CORPUS_MAX_WER, `corpus WER ${(corpus * 100).toFixed(2)} % > ${CORPUS_MAX_WER * 100} %`);

  // Back to back in one long file: nothing may be skipped between or inside the 30 s clips.
  const list = join(dir, 'concat.txt');
  writeFileSync(list, items.map((it) => `file '${it.file}'`).join('\n'));
  const long = join(dir, 'back-to-back.wav');
  ffmpeg('-f', 'concat', '-safe', '0', '-i', list, long);
  const t = await transcribeFile(worker, long);
  const c = wordErrors(items.map((it) => it.reference).join(' '), transcriptText(t));
  console.log(`back to back (${t.duration.toFixed(0)} s): ${((c.errors / c.referenceWords) * 100).toFixed(2)} % WER`);
  assert.ok(c.errors / c.referenceWords <= BACK_TO_BACK_MAX_WER, `back-to-back WER ${((c.errors / c.referenceWords) * 100).toFixed(2)} %`);
});

/**
 * The default model (base, issue 15) on the same items. Threshold set from its first measurement
 * here, DEFAULT_MEASURED_WER, with the same ~1.3x room the language tests get: a wrong default
 * (tiny.en, measured 8.4 % above, would pass it too, so the model is checked by name as well),
 * lost audio or a broken pass blows past it.
 */
const DEFAULT_MEASURED_WER = 0.0757;
const DEFAULT_MAX_WER = 0.1;

test('WER of the default model (base) on real English speech', {
  skip: shared ? false : `no shared corpus at ${SHARED_SPEECH} (a user's own clone): WER test skipped`,
}, async () => {
  const worker = new AsrWorker();
  after(() => worker.close());
  const items = englishItems();
  let errors = 0;
  let words = 0;
  const lines: string[] = [];
  for (const item of items) {
    // The language is given: detection is tested elsewhere (languages.test.ts); this measures the words.
    const r = await transcribeFile(worker, item.file, { language: 'en' });
    const c = wordErrors(item.reference, transcriptText(r));
    errors += c.errors;
    words += c.referenceWords;
    lines.push(`${((c.errors / c.referenceWords) * 100).toFixed(1).padStart(6)} %  ${item.id}`);
  }
  assert.equal(worker.model.label, 'base', 'no model named: base decodes');
  const corpus = errors / words;
  console.log(
    [...lines, `English corpus, base: ${(corpus * 100).toFixed(2)} % WER over ${words} words (first measured ${DEFAULT_MEASURED_WER * 100} %)`].join('\n'),
  );
  assert.ok(corpus <= DEFAULT_MAX_WER, `corpus WER ${(corpus * 100).toFixed(2)} % > ${DEFAULT_MAX_WER * 100} %`);
});
