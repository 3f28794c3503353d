/**
 * Speaker diarization with the real worker on real speech: the evaluation set of
 * test/helpers/two-speakers.ts (alternating readers with known turns, one reader alone, and the
 * real two-person call with its published turns), scored by DER with a 0.25 s collar.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { rejectsWith } from '../../test/helpers/assert.ts';
import { SAMPLE_MP4, tempDir } from '../../test/helpers/media.ts';
import { buildEvalSet, type EvalFile } from '../../test/helpers/two-speakers.ts';
import { ErrorCode } from '../shared/errors.ts';
import { diarizationErrorRate } from './der.ts';
import { AsrWorker, transcribeFile } from './index.ts';

const dir = tempDir('vidscribe-diarize-');
const worker = new AsrWorker({ model: 'tiny.en' });
after(() => worker.close());
let set: EvalFile[] = [];
before(() => {
  set = buildEvalSet(dir);
});
const file = (kind: EvalFile['kind']) => set.find((f) => f.kind === kind)!;

// Targets of issue 13 for the two pairs; the call's bound leaves a wide margin over the 2.6 % measured.
const MAX_DER: Record<EvalFile['kind'], number | undefined> = { 'male/female': 0.1, 'male/male': 0.2, conversation: 0.15, 'one speaker': undefined };

describe('diarization of the evaluation set', () => {
  for (const kind of ['male/female', 'male/male', 'conversation', 'one speaker'] as const) {
    test(`${kind}: the right number of speakers${MAX_DER[kind] !== undefined ? `, DER ≤ ${MAX_DER[kind]! * 100} %` : ''}`, async () => {
      const f = file(kind);
      const r = await worker.diarize(f.pcm);
      assert.equal(r.count, f.speakers, `${f.name}: ${r.count} speakers found, ${f.speakers} in the reference`);
      assert.equal(new Set(r.turns.map((t) => t.speaker)).size, r.count);
      for (const t of r.turns) assert.ok(t.start < t.end && t.start >= 0 && t.end <= f.seconds + 0.05, `turn ${JSON.stringify(t)}`);
      const max = MAX_DER[kind];
      if (max !== undefined) {
        const score = diarizationErrorRate(f.reference, r.turns, 0.25);
        assert.ok(
          score.der <= max,
          `${f.name}: DER ${(score.der * 100).toFixed(1)} % (miss ${score.missed}, false alarm ${score.falseAlarm}, confusion ${score.confusion})`,
        );
      }
    });
  }

  test('the demo sample, one man speaking for 11 s, is one speaker', async () => {
    const pcm = join(dir, 'demo.s16le');
    execFileSync('ffmpeg', ['-nostdin', '-v', 'error', '-y', '-i', SAMPLE_MP4, '-ac', '1', '-ar', '16000', '-f', 's16le', pcm]);
    const r = await worker.diarize(pcm);
    assert.equal(r.count, 1, JSON.stringify(r.turns));
  });

  test('a given count is honoured: 3 speakers asked for get 3, at most 1 gets 1', async () => {
    const f = file('male/female');
    assert.equal((await worker.diarize(f.pcm, { speakers: 3 })).count, 3);
    assert.equal((await worker.diarize(f.pcm, { maxSpeakers: 1 })).count, 1);
    assert.equal((await worker.diarize(file('one speaker').pcm, { minSpeakers: 2 })).count, 2);
  });

  test('a cancel during diarization stops it with 5004, without killing the worker', async () => {
    // Three minutes of the set end to end: long enough that the cancel lands mid-way.
    const long = join(dir, 'long.s16le');
    writeFileSync(long, Buffer.concat([...set, ...set].map((f) => readFileSync(f.pcm))));
    const pid = worker.pid;
    const controller = new AbortController();
    const running = worker.diarize(long, {}, { signal: controller.signal });
    setTimeout(() => controller.abort(), 400);
    await rejectsWith(running, ErrorCode.Cancelled);
    assert.equal(worker.pid, pid, 'the worker stopped by itself rather than being killed');
    assert.equal((await worker.diarize(file('male/female').pcm)).count, 2, 'and serves the next request');
  });
});

describe('a diarized transcription', () => {
  test('cancelled while it decodes and diarizes: 5004, and the worker (and its diarization thread) stops by itself', async () => {
    const long = join(dir, 'long-for-cancel.wav');
    const pcm = Buffer.concat([...set, ...set].map((f) => readFileSync(f.pcm)));
    writeFileSync(long, Buffer.concat([readFileSync(file('male/female').wav).subarray(0, 44), pcm]));
    // The WAV header's sizes are the short file's: rewrite them for the long one.
    const wav = readFileSync(long);
    wav.writeUInt32LE(36 + pcm.length, 4);
    wav.writeUInt32LE(pcm.length, 40);
    writeFileSync(long, wav);
    await worker.start();
    const pid = worker.pid;
    const controller = new AbortController();
    const running = transcribeFile(worker, long, { diarize: {}, signal: controller.signal, batchSize: 1 });
    setTimeout(() => controller.abort(), 1500);
    await rejectsWith(running, ErrorCode.Cancelled);
    assert.equal(worker.pid, pid, 'the worker stopped by itself rather than being killed');
    assert.equal((await worker.diarize(file('male/female').pcm)).count, 2, 'and serves the next request');
  });

  test('words and segments carry speakers that follow the reference turns; without diarize, no speakers', async () => {
    const f = file('male/female');
    const t = await transcribeFile(worker, f.wav, { diarize: {} });
    assert.deepEqual(
      t.speakers?.map((s) => s.name),
      ['Speaker 1', 'Speaker 2'],
    );
    const words = t.segments.flatMap((s) => s.words);
    assert.ok(words.length > 40, `${words.length} words`);
    for (const s of t.segments) {
      assert.ok(s.speaker === 0 || s.speaker === 1, `segment speaker ${s.speaker}`);
      for (const w of s.words) assert.equal(w.speaker, s.speaker, 'a segment holds one speaker');
    }
    // Words well inside a reference turn: each reference speaker maps onto one transcript speaker.
    const votes = new Map<string, number[]>();
    for (const w of words) {
      const mid = (w.start + w.end) / 2;
      const turn = f.reference.find((r) => mid > r.start + 0.3 && mid < r.end - 0.3);
      if (!turn) continue;
      const v = votes.get(String(turn.speaker)) ?? [0, 0];
      v[w.speaker!]!++;
      votes.set(String(turn.speaker), v);
    }
    const agreeing = [...votes.values()].reduce((n, v) => n + Math.max(...v), 0);
    const total = [...votes.values()].reduce((n, v) => n + v[0]! + v[1]!, 0);
    assert.ok(agreeing / total >= 0.95, `${agreeing} of ${total} words with their reader's speaker`);
    assert.notEqual(
      votes.get('libri1089')!.indexOf(Math.max(...votes.get('libri1089')!)),
      votes.get('libri2412')!.indexOf(Math.max(...votes.get('libri2412')!)),
    );

    const plain = await transcribeFile(worker, f.wav);
    assert.equal(plain.speakers, undefined);
    assert.ok(plain.segments.every((s) => s.speaker === undefined && s.words.every((w) => w.speaker === undefined)));
  });
});
