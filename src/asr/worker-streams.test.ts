import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LIBRI_1089, LIBRI_61 } from '../../test/helpers/media.ts';
import { runWorkerPython } from '../../test/helpers/python-worker.ts';
import { resolveModel } from './models.ts';
import { wer } from './wer.ts';

// decode() runs two batches at once, each on its own replica of the model (worker.py:
// DECODE_STREAMS). The real tiny.en, loaded as the worker loads it, on two LibriSpeech readings
// repeated with pauses: 14 readings, 5 windows, in batches of 3 (the default 6 shared by the two).
// The model is loaded with a budget of `threads` CPU threads (the worker's --threads).
const setup = (threads = 2) =>
  [
    'import threading',
    'from faster_whisper import BatchedInferencePipeline, decode_audio',
    `model = W.load_model(sys.argv[1], "int8", ${threads}, None)`,
    'a, b = decode_audio(sys.argv[2]), decode_audio(sys.argv[3])',
    'audio = np.concatenate([x for _ in range(7) for x in (a, quiet(1.5), b, quiet(1.5))])',
    'windows = W.plan_windows(audio)',
    'class Counted:  # the model, counting the generate calls running at once',
    '    def __init__(self, inner):',
    '        self.__dict__.update(inner=inner, lock=threading.Lock(), now=0, most=0)',
    '    def __getattr__(self, name):',
    '        return getattr(self.inner, name)',
    '    def generate(self, *args, **kwargs):',
    '        with self.lock:',
    '            self.__dict__["now"] += 1',
    '            self.__dict__["most"] = max(self.most, self.now)',
    '        try:',
    '            return self.inner.generate(*args, **kwargs)',
    '        finally:',
    '            with self.lock:',
    '                self.__dict__["now"] -= 1',
    'model.model = Counted(model.model)',
    'pipeline = BatchedInferencePipeline(model)',
    'def streams_left():',
    '    return sum(t.name.startswith("decode-stream") for t in threading.enumerate())',
    'def run(**kw):',
    '    segments, _ = W.decode(pipeline, audio, {"language": "en"}, **kw)',
    '    return [(round(s.start, 3), round(s.end, 3), s.text) for s in segments]',
  ].join('\n');
const SETUP = setup();
const ARGS = () => [resolveModel('tiny.en').arg, LIBRI_1089.file, LIBRI_61.file];

test('two batches decode at once, segments come out in time order, and the transcript is the same from run to run', () => {
  const r = runWorkerPython<{
    windows: number;
    streams: number;
    replicas: number;
    most: number;
    same: boolean;
    ordered: boolean;
    text: string;
    threads: number;
  }>(
    [
      SETUP,
      'first = run()',
      'again = run()',
      'print(json.dumps({"windows": len(windows), "streams": W.DECODE_STREAMS, "replicas": model.model.num_workers, "most": model.model.most, "same": first == again,',
      '    "ordered": all(x[0] <= y[0] for x, y in zip(first, first[1:])), "text": " ".join(t for _, _, t in first),',
      '    "threads": streams_left()}))',
    ].join('\n'),
    ARGS(),
  );
  assert.equal(r.streams, 2);
  assert.equal(r.replicas, 2, 'two threads: two replicas');
  assert.ok(r.windows >= 4, `${r.windows} windows: more than one batch of 3`);
  assert.equal(r.most, 2, 'two generate calls ran at once');
  assert.ok(r.same, 'the same transcript twice');
  assert.ok(r.ordered, 'segments in time order');
  assert.equal(r.threads, 0, 'no decoding thread is left running');
  const reference = Array.from({ length: 7 }, () => `${LIBRI_1089.text} ${LIBRI_61.text}`).join(' ');
  assert.ok(wer(reference, r.text) < 0.25, r.text);
});

test('the thread budget is split between the replicas: one thread, one replica and one batch at a time', () => {
  const r = runWorkerPython<{ split: number[][]; replicas: number; most: number; text: string }>(
    [
      setup(1),
      'text = " ".join(t for _, _, t in run())',
      'split = [list(W.replica_threads(n)) for n in (0, 1, 2, 3, 4, 8)]',
      'print(json.dumps({"split": split, "replicas": model.model.num_workers, "most": model.model.most, "text": text}))',
    ].join('\n'),
    ARGS(),
  );
  // Two cores: two replicas of one thread each, never two of two (four threads on two cores).
  assert.deepEqual(r.split, [
    [1, 1],
    [1, 1],
    [2, 1],
    [2, 1],
    [2, 2],
    [2, 4],
  ]);
  assert.equal(r.replicas, 1);
  assert.equal(r.most, 1, 'one generate call at a time on one replica');
  const reference = Array.from({ length: 7 }, () => `${LIBRI_1089.text} ${LIBRI_61.text}`).join(' ');
  assert.ok(wer(reference, r.text) < 0.25, r.text);
});

test('an error in either stream, or a cancel, ends the decoding with that error, and no thread is left running', () => {
  const r = runWorkerPython<{ failed: string; cancelled: string; threads: number }>(
    [
      SETUP,
      'real = W.run_windows',
      'calls = [0]',
      'def failing(*args, **kwargs):  # the first call is made before the streams start; the first in a stream fails',
      '    calls[0] += 1',
      '    if calls[0] == 2:',
      '        raise RuntimeError("out of memory")',
      '    return real(*args, **kwargs)',
      'W.run_windows = failing',
      'def outcome(**kw):',
      '    try:',
      '        run(**kw)',
      '        return "finished"',
      '    except Exception as e:',
      '        return f"{type(e).__name__}: {e}"',
      'failed = outcome()',
      'W.run_windows = real',
      '# A cancel that is there once the first call is made: the streams make no call.',
      'print(json.dumps({"failed": failed, "cancelled": outcome(cancelled=lambda: True), "threads": streams_left()}))',
    ].join('\n'),
    ARGS(),
  );
  assert.equal(r.failed, 'RuntimeError: out of memory');
  assert.equal(r.cancelled, 'Cancelled: ');
  assert.equal(r.threads, 0);
});
