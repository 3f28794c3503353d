/**
 * The encoder's window (worker.py: window_frames, EncoderMemo): a call's clips are encoded in a
 * window as long as the longest of them plus 2 s, at least 20 s and at most Whisper's 30 s, and
 * only the zero padding past the clips is ever cut. Real worker code and the bundled base model.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { LIBRI_1089 } from '../../test/helpers/media.ts';
import { PROJECT_ROOT, pythonExecutable, resolveModel } from './models.ts';

function python(lines: string[], ...args: string[]): unknown {
  const script = ['import sys, json', `sys.path.insert(0, ${JSON.stringify(join(PROJECT_ROOT, 'src/asr/worker'))})`, 'import worker as W', ...lines].join('\n');
  const out = execFileSync(pythonExecutable(), ['-c', script, ...args], { env: { ...process.env, HF_HUB_OFFLINE: '1' }, encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').at(-1)!);
}

test('the window: the longest clip and 2 s, at least 20 s, at most 30 s, an even number of frames', () => {
  const cases: [number[], number][] = [
    [[10], 2000], // a short clip: the floor
    [[3, 10, 4], 2000],
    [[18.3], 2030], // 1830 + 200
    [[18.35], 2036], // 1835 + 200, made even
    [[25, 12], 2700],
    [[29.5], 3000], // Whisper's own window is the most
    [[30], 3000],
  ];
  const got = python([
    `cases = ${JSON.stringify(cases.map(([lengths]) => lengths))}`,
    'print(json.dumps([W.window_frames([{"start": 100.0, "end": 100.0 + n} for n in c]) for c in cases]))',
  ]);
  assert.deepEqual(
    got,
    cases.map(([, frames]) => frames),
  );
});

test('the encoder cuts only zero padding: a clip of 10 s is encoded in 20 s, a window with sound past 20 s whole', () => {
  const got = python(
    [
      'import numpy as np',
      'from faster_whisper import WhisperModel, decode_audio',
      'from faster_whisper.audio import pad_or_trim',
      'model = WhisperModel(sys.argv[1], device="cpu", compute_type="int8", cpu_threads=2)',
      'memo = W.EncoderMemo(model)',
      'audio = decode_audio(sys.argv[2])',
      'clip = {"start": 0.0, "end": len(audio) / 16000}',
      'memo.frames = W.window_frames([clip])',
      'short = pad_or_trim(W.first_clip_features(model, audio, clip))[None]',
      'loud = short.copy(); loud[..., 2500] = 1.0  # a frame past the window that is not padding',
      'out = [np.array(model.encode(x)).shape[1] for x in (short, loud)]',
      'memo.frames = None',
      'full = np.array(model.encode(short))',
      'print(json.dumps(out + [int(full.shape[1]), memo.windows]))',
    ],
    resolveModel('base').arg,
    LIBRI_1089.file,
  );
  // Encoder positions are half the frames: 2000 frames -> 1000, 3000 -> 1500. Every call counts as a window.
  assert.deepEqual(got, [1000, 1500, 1500, 3]);
});
