import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LIBRI_1089 } from '../../test/helpers/media.ts';
import { runWorkerPython as worker } from '../../test/helpers/python-worker.ts';
import { resolveModel } from './models.ts';

// The worker's window planning (worker.py: audible_pieces, plan_windows, window_audio,
// unheard_pieces, merged, missed_speech) called directly on audio built here from tones and
// silences at known levels; the last test runs the real tiny.en through run_windows, and
// language-detection.test.ts runs a whole file through the worker.
test('silences of 1 s or more are left out, 0.4 s of each kept; shorter pauses and quiet speech stay in', () => {
  const pieces = worker<number[][]>(
    [
      // 2 s sound, 0.5 s pause, 2 s sound at -55 dBFS (a whisper's level), 3 s silence, 2 s sound, 2 s silence
      'audio = np.concatenate([tone(2), quiet(0.5), tone(2, -55), quiet(3), tone(2), quiet(2)])',
      'print(json.dumps(rounded(W.audible_pieces(audio))))',
    ].join('\n'),
  );
  assert.deepEqual(pieces, [
    [0, 4.9],
    [7.1, 9.9],
  ]);
});

test('a file of silence, or of sound under -60 dBFS, has nothing to decode', () => {
  const plans = worker<unknown[]>(['print(json.dumps([W.plan_windows(quiet(40)), W.plan_windows(tone(40, -70)), W.plan_windows(quiet(0.05))]))'].join('\n'));
  assert.deepEqual(plans, [[], [], []]);
});

test('frame levels computed a minute at a time are exactly those of the whole file at once', () => {
  const r = worker<{ same: boolean; frames: number }>(
    [
      'rng = np.random.default_rng(7)',
      '# 2.5 minutes and a partial frame: blocks of 600 frames, the last one short',
      'audio = (rng.standard_normal(int(150.05 * R)) * 0.05).astype(np.float32)',
      'n = len(audio) // 1600',
      'whole = np.sqrt((audio[: n * 1600].reshape(n, 1600) ** 2).mean(1) + 1e-12)',
      'levels = W.frame_rms(audio)',
      'print(json.dumps({"same": bool(levels.dtype == whole.dtype and np.array_equal(levels, whole)), "frames": len(levels)}))',
    ].join('\n'),
  );
  assert.deepEqual(r, { same: true, frames: 1500 });
});

test('a request cannot put more than 16 windows in flight, nor fewer than one', () => {
  const sizes = worker<number[]>('print(json.dumps([W.transcribe_kwargs({"batch_size": n})["batch_size"] for n in (10**9, 17, 16, 6, 0, -5)]))');
  assert.deepEqual(sizes, [16, 16, 16, 6, 1, 1]);
});

test('pieces are packed in order into windows of at most 29.9 s; a long stretch is cut in its quietest moments', () => {
  const { windows, lengths, padded } = worker<{ windows: number[][][]; lengths: number[]; padded: number[] }>(
    [
      // Ten 8 s sounds 2 s apart, then 70 s of sound with a dip to -45 dBFS every 10 s.
      'parts = []',
      'for _ in range(10): parts += [tone(8), quiet(2)]',
      'for _ in range(7): parts += [tone(9.8), tone(0.2, -45)]',
      'audio = np.concatenate(parts)',
      'windows = W.plan_windows(audio)',
      'lengths = [sum(e - s for s, e in w) for w in windows]',
      'padded = [len(W.window_audio(audio, w)) for w in windows]',
      'print(json.dumps({"windows": [rounded(w) for w in windows], "lengths": lengths, "padded": padded}))',
    ].join('\n'),
  );
  const pieces = windows.flat();
  assert.ok(
    lengths.every((l) => l <= 29.9 + 1e-9),
    `${lengths}`,
  );
  assert.ok(
    padded.every((n) => n <= 30 * 16000),
    `${padded}`,
  );
  for (let i = 1; i < pieces.length; i++) assert.ok(pieces[i]![0]! >= pieces[i - 1]![1]!, 'in time order, no overlap');
  // Every sound is in some piece: the ten 8 s sounds and the 70 s stretch.
  for (let k = 0; k < 10; k++) {
    const from = 10 * k;
    assert.ok(
      pieces.some(([s, e]) => s! <= from && e! >= from + 8),
      `the sound at ${from} s`,
    );
  }
  const long = pieces.filter(([s]) => s! >= 99);
  assert.equal(long[0]![0], 99.6, 'the stretch starts 0.4 s before its sound');
  assert.equal(long.at(-1)![1], 170, 'and runs to the end of the file');
  for (let i = 1; i < long.length; i++) assert.equal(long[i]![0], long[i - 1]![1], 'cut, not shortened');
  // 80 s of sound in 8.8 s pieces packs three to a window, 26.4 s each: 4 windows, not 10.
  assert.equal(windows.filter((w) => w[0]![0]! < 99).length, 4);
});

test('a long stretch takes as few windows as it needs where a pause as deep as the quietest allows it', () => {
  const { windows, louder, clips } = worker<{ windows: number[][][]; louder: number[][][]; clips: { start: number; end: number }[] }>(
    [
      // 53 s of sound without a silence, its quietest moment at 16 s. Cut there, the rest (37 s)
      // needs two more windows; cut at 26 s, one.
      'def stretch(late_dip):',
      '    return np.concatenate([tone(16), tone(0.2, -50), tone(9.8), tone(0.2, late_dip), tone(26.8)])',
      // The dip at 26 s 0.5 dB above the quietest: as deep a pause, so the cut saves a window.
      'windows = W.plan_windows(stretch(-49.5))',
      // 3 dB above it: the cut stays in the quietest pause, at the cost of a window.
      'louder = W.plan_windows(stretch(-47))',
      // Longer than three windows: the first cut falls in the quietest pause from 15 s on, as before.
      'clips = W.plan_clips(np.concatenate([tone(16), tone(0.2, -55), tone(84)]), 29.9)',
      'print(json.dumps({"windows": [rounded(w) for w in windows], "louder": [rounded(w) for w in louder], "clips": clips}))',
    ].join('\n'),
  );
  assert.equal(windows.length, 2, JSON.stringify(windows));
  const cut = windows[1]![0]![0]!;
  assert.ok(cut > 26 && cut < 26.2, `cut in the dip at 26 s, not at 16 s: ${cut}`);
  assert.deepEqual(windows, [[[0, cut]], [[cut, 53]]]);
  assert.equal(louder.length, 3, JSON.stringify(louder));
  assert.ok(louder[0]![0]![1]! > 16 && louder[0]![0]![1]! < 16.2, JSON.stringify(louder));
  assert.equal(clips.length, 4, JSON.stringify(clips));
  assert.ok(clips[0]!.end > 16 && clips[0]!.end < 16.2, `100.2 s takes four clips either way, so the quietest moment wins: ${JSON.stringify(clips)}`);
  for (const c of clips) assert.ok(c.end - c.start <= 29.9, JSON.stringify(c));
});

test('the second pass: pieces no word lies in, and speech no word covers', () => {
  const { unheard, missed, joined } = worker<{ unheard: number[][]; missed: number[][]; joined: number[][] }>(
    [
      'w = lambda a, b: NS(start=a, end=b)',
      'segments = [NS(words=[w(0.5, 1.0), w(1.2, 2.0)]), NS(words=[w(20.0, 21.0)])]',
      'windows = [[(0.0, 3.0), (5.0, 8.0)], [(19.5, 22.0), (30.0, 30.5)]]',
      'unheard = W.unheard_pieces(windows, segments)',
      // VAD speech from 0.4 to 2.2 (covered) and 5.3 to 7.5 (not): the same tail as the unheard piece.
      'joined = W.merged([(0.4, 2.2), (5.3, 7.5)] + unheard)',
      'missed = W.missed_speech(joined, segments)',
      'print(json.dumps({"unheard": rounded(unheard), "missed": rounded(missed), "joined": rounded(joined)}))',
    ].join('\n'),
  );
  assert.deepEqual(unheard, [[5, 8]], 'the 0.5 s piece is too short to count');
  assert.deepEqual(joined, [
    [0.4, 2.2],
    [5, 8],
  ]);
  assert.deepEqual(missed, [[4.8, 8.2]]);
});

test('with the real model, each window’s words land in that window’s pieces, wherever the pipeline rounds its start', () => {
  // Five windows of 28.64 s put the sixth at 143.2 s of joined audio, where the pipeline's
  // int(143.2 * 100) gives frame 14319, not 14320: a lookup by the exact frame failed there, and
  // one with a frame's tolerance gave the sixth window's words to the fifth.
  const { last, windows } = worker<{ last: number[][]; windows: number[] }>(
    [
      'from faster_whisper import BatchedInferencePipeline, WhisperModel, decode_audio',
      `model = WhisperModel(${JSON.stringify(resolveModel('tiny.en').arg)}, device="cpu", compute_type="int8", cpu_threads=2)`,
      `speech = decode_audio(${JSON.stringify(LIBRI_1089.file)})[: int(10.435 * R)]`,
      'audio = np.tile(speech, 6)',
      'full = [(0.0, 10.435), (10.435, 20.87), (20.87, 28.64)]',
      'windows = [full] * 5 + [[(41.74, 52.175)]]',
      'decoded, _ = W.run_windows(BatchedInferencePipeline(model), audio, windows, W.transcribe_kwargs({"language": "en"}))',
      'decoded = list(decoded)',
      'last = [[x.start, x.end] for s, w in decoded if w == 5 for x in s.words]',
      'print(json.dumps({"last": last, "windows": sorted({w for _, w in decoded})}))',
    ].join('\n'),
  );
  assert.deepEqual(windows, [0, 1, 2, 3, 4, 5]);
  assert.ok(last.length >= 20, `${last.length} words in the sixth window`);
  assert.ok(
    last.every(([s, e]) => s! >= 41.74 - 0.01 && e! <= 52.175 + 0.01),
    JSON.stringify(last),
  );
});
