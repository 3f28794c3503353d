import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ErrorCode, type VidscribeError } from '../shared/errors.ts';
import { rejectsWith } from '../../test/helpers/assert.ts';
import { JFK_REFERENCE, LIBRI_1089, LIBRI_61, SAMPLE_MP4, makeMusic, makeSilence, makeSpeechMp4, tempDir } from '../../test/helpers/media.ts';
import { extractSpeechAudio, probeTranscribable } from '../media/index.ts';
import { transcriptText } from '../transcript/types.ts';
import { AsrWorker, transcribeEach, transcribeFile } from './index.ts';
import { wer } from './wer.ts';

// These tests run the real faster-whisper worker with the bundled tiny.en model on real speech
// (named: the default is auto mode, tested in test/languages.test.ts).
const dir = tempDir();
const worker = new AsrWorker({ model: 'tiny.en' });
after(() => worker.close());

describe('real speech end to end', () => {
  test('an H.264 + AAC MP4 made by ffmpeg from a LibriSpeech recording', async () => {
    const mp4 = makeSpeechMp4(LIBRI_1089.file, join(dir, 'libri.mp4'));
    const progress: number[] = [];
    const t = await transcribeFile(worker, mp4, { onProgress: (p) => p.stage === 'transcribe' && progress.push(p.doneSec / p.totalSec) });
    assert.equal(t.language, 'en');
    assert.equal(t.source, 'libri.mp4');
    assert.ok(Math.abs(t.duration - 10.4) < 0.3, `duration ${t.duration}`);
    const score = wer(LIBRI_1089.text, transcriptText(t));
    assert.ok(score < 0.25, `WER ${score.toFixed(3)}: ${transcriptText(t)}`);
    assert.ok(progress.length > 0 && progress.at(-1) === 1, `progress ${progress}`);
    const words = t.segments.flatMap((s) => s.words);
    assert.ok(words.length >= 20, `${words.length} words`);
    for (const [i, w] of words.entries()) {
      assert.ok(w.start <= w.end && w.end <= t.duration + 0.05, `word ${w.word} ${w.start}-${w.end}`);
      if (i > 0) assert.ok(w.start >= words[i - 1]!.start, 'words in time order');
      assert.ok(w.probability >= 0 && w.probability <= 1);
    }
  });

  test('the demo sample (JFK, 1961) is transcribed faithfully', async () => {
    const segments: string[] = [];
    const info = await probeTranscribable(SAMPLE_MP4);
    const audio = await extractSpeechAudio(info);
    try {
      const r = await worker.transcribe(audio.pcmPath, {}, { onSegment: (s) => segments.push(s.text) });
      assert.ok(segments.length >= 1, 'segments stream as they are decoded');
      assert.ok(wer(JFK_REFERENCE, segments.join(' ')) < 0.1, segments.join(' '));
      assert.ok(r.workerWallSec > 0);
    } finally {
      await audio.dispose();
    }
  });

  test('a long recording keeps every sentence, even repeated ones, split into sentence segments', async () => {
    const long = join(dir, 'long-batched.wav');
    const { ffmpeg } = await import('../../test/helpers/media.ts');
    const parts = Array.from({ length: 8 }, (_, i) => ['-i', i % 2 ? LIBRI_61.file : LIBRI_1089.file]).flat();
    ffmpeg(...parts, '-filter_complex', 'concat=n=8:v=0:a=1', long);
    const t = await transcribeFile(worker, long);
    const reference = Array.from({ length: 8 }, (_, i) => (i % 2 ? LIBRI_61.text : LIBRI_1089.text)).join(' ');
    assert.ok(t.duration > 60);
    assert.ok(wer(reference, transcriptText(t)) < 0.15, transcriptText(t));
    // Eight recordings, at least one sentence each, none longer than one recording.
    assert.ok(t.segments.length >= 8, `${t.segments.length} segments`);
    assert.ok(
      t.segments.every((s) => s.end - s.start < 11),
      'segments are sentences, not whole 30 s clips',
    );
    assert.deepEqual(
      t.segments.map((s) => s.id),
      t.segments.map((_, i) => i),
    );
  });

  test('the initial prompt steers spelling (custom vocabulary)', async () => {
    const t = await transcribeFile(worker, LIBRI_61.file, { initialPrompt: 'The Wizard of Oz. The Curtain.' });
    assert.ok(wer(LIBRI_61.text, transcriptText(t)) < 0.2, transcriptText(t));
  });
});

test('several files on one worker: in order, one outcome each, a bad file does not stop the others', async () => {
  const bad = join(dir, 'not-media.mp3');
  const { writeFileSync } = await import('node:fs');
  writeFileSync(bad, 'garbage');
  const outcomes = [];
  for await (const o of transcribeEach(worker, [LIBRI_61.file, bad, SAMPLE_MP4])) outcomes.push(o);
  assert.deepEqual(
    outcomes.map((o) => o.index),
    [0, 1, 2],
  );
  assert.ok('transcript' in outcomes[0]! && wer(LIBRI_61.text, transcriptText(outcomes[0].transcript)) < 0.2);
  assert.ok('error' in outcomes[1]! && (outcomes[1].error as VidscribeError).code === ErrorCode.CorruptMedia);
  assert.ok('transcript' in outcomes[2]! && wer(JFK_REFERENCE, transcriptText(outcomes[2].transcript)) < 0.1);
});

describe('hallucination guard: no speech, no words', () => {
  test('60 s of silence gives no words', async () => {
    const t = await transcribeFile(worker, makeSilence(join(dir, 'silence.wav'), 60));
    assert.equal(t.duration, 60);
    assert.deepEqual(
      t.segments.flatMap((s) => s.words),
      [],
      JSON.stringify(t.segments),
    );
  });

  test('60 s of music-like tones gives no words', async () => {
    const t = await transcribeFile(worker, makeMusic(join(dir, 'music.mp3'), 60));
    assert.deepEqual(
      t.segments.map((s) => s.text),
      [],
    );
  });
});

describe('the worker as a managed process', () => {
  test('answers a health ping', async () => {
    await worker.start();
    assert.equal(await worker.ping(), true);
  });

  test('cancellation stops a running transcription with 5004 and the worker serves the next one', async () => {
    const long = join(dir, 'long.wav');
    const { ffmpeg } = await import('../../test/helpers/media.ts');
    // ~90 s: several 30 s decoding windows, so the worker is still busy when the cancel arrives.
    const parts = Array.from({ length: 12 }, (_, i) => ['-i', i % 2 ? LIBRI_61.file : LIBRI_1089.file]).flat();
    ffmpeg(...parts, '-filter_complex', 'concat=n=12:v=0:a=1', long);
    const ac = new AbortController();
    const run = transcribeFile(worker, long, { batchSize: 1, signal: ac.signal, onProgress: (p) => p.stage === 'transcribe' && p.doneSec > 0 && ac.abort() });
    await rejectsWith(run, ErrorCode.Cancelled);
    const t = await transcribeFile(worker, LIBRI_61.file);
    assert.ok(wer(LIBRI_61.text, transcriptText(t)) < 0.2);
  });

  test('a timeout gives 5003', async () => {
    await rejectsWith(transcribeFile(worker, LIBRI_1089.file, { timeoutMs: 1, batchSize: 1 }), ErrorCode.Timeout);
    // Still usable afterwards.
    assert.ok(transcriptText(await transcribeFile(worker, LIBRI_61.file)).length > 20);
  });

  test('a crashed worker fails the request in flight with 5001 and stderr, then restarts', async () => {
    const w = new AsrWorker({ model: 'tiny.en' });
    try {
      await w.start();
      const pid = w.pid!;
      const audio = await extractSpeechAudio(await probeTranscribable(LIBRI_1089.file));
      try {
        const run = w.transcribe(audio.pcmPath);
        setTimeout(() => process.kill(pid, 'SIGKILL'), 200);
        const e = await rejectsWith(run, ErrorCode.AsrFailed);
        assert.match(e.message, /exited unexpectedly/);
        const again = await w.transcribe(audio.pcmPath);
        assert.notEqual(w.pid, pid, 'a new worker process');
        assert.ok(wer(LIBRI_1089.text, again.segments.map((s) => s.text).join(' ')) < 0.25);
      } finally {
        await audio.dispose();
      }
    } finally {
      await w.close();
    }
  });

  test('an English-only model refuses translation and other languages with a clear 400', async () => {
    await rejectsWith(transcribeFile(worker, LIBRI_61.file, { task: 'translate' }), ErrorCode.BadRequest);
    await rejectsWith(transcribeFile(worker, LIBRI_61.file, { language: 'de' }), ErrorCode.BadRequest);
  });

  test('a request sent while the model loads: checked once it is, cancelled without killing the worker, failed with the load error', async () => {
    const w = new AsrWorker({ model: 'tiny.en' });
    try {
      // Sent before "ready": the options are checked against the model once it is loaded.
      await rejectsWith(w.transcribe({ mediaPath: LIBRI_61.file, streamIndex: 0, expectedSec: 4.9 }, { language: 'de' }), ErrorCode.BadRequest);
      const pid = w.pid;
      assert.ok(pid);
      await w.close();
      const fresh = new AsrWorker({ model: 'tiny.en' });
      try {
        // A cancel before the model is loaded: the worker answers 5004 itself, and stays up.
        const ac = new AbortController();
        const run = fresh.transcribe({ mediaPath: LIBRI_1089.file, streamIndex: 0, expectedSec: 10.4 }, {}, { signal: ac.signal });
        ac.abort();
        await rejectsWith(run, ErrorCode.Cancelled);
        const started = fresh.pid;
        const r = await fresh.transcribe({ mediaPath: LIBRI_61.file, streamIndex: 0, expectedSec: 4.9 });
        assert.equal(fresh.pid, started, 'the same worker process: not killed by the cancel');
        assert.ok(wer(LIBRI_61.text, r.segments.map((x) => x.text).join(' ')) < 0.25);
      } finally {
        await fresh.close();
      }
    } finally {
      await w.close();
    }
    // A model that does not load: the request fails with the load's own error.
    const missing = new AsrWorker({ model: join(dir, 'no-such-model-dir/') });
    const e = await rejectsWith(missing.transcribe({ mediaPath: LIBRI_61.file, streamIndex: 0, expectedSec: 4.9 }), ErrorCode.ModelUnavailable);
    assert.match(e.message, /CTranslate2/);
    await missing.close();
  });

  test('a model that is not on this machine fails with 5002 and says how to supply one', async () => {
    const w = new AsrWorker({ model: join(dir, 'no-such-model-dir/') });
    const e = await rejectsWith(w.start(), ErrorCode.ModelUnavailable);
    assert.match(e.message, /CTranslate2/);
    await w.close();
    const offline = process.env.HF_HUB_OFFLINE;
    process.env.HF_HUB_OFFLINE = '1';
    try {
      const named = new AsrWorker({ model: 'small.en' });
      const e2 = await rejectsWith(named.start(), ErrorCode.ModelUnavailable);
      assert.match(e2.message, /offline/i);
      await named.close();
    } finally {
      if (offline === undefined) delete process.env.HF_HUB_OFFLINE;
      else process.env.HF_HUB_OFFLINE = offline;
    }
  });
});

describe('the bundled multilingual base model', () => {
  test('loads offline, detects English and transcribes more accurately', async () => {
    const base = new AsrWorker({ model: 'base' });
    try {
      const t = await transcribeFile(base, LIBRI_1089.file);
      assert.equal(base.isMultilingual, true);
      assert.equal(t.language, 'en');
      assert.ok(wer(LIBRI_1089.text, transcriptText(t)) < 0.2, transcriptText(t));
    } finally {
      await base.close();
    }
  });
});
