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
  const r = runWorkerPython<{ split: number[][]; replicas: number; most: number; text: string; same: boolean }>(
    [
      setup(1),
      'alone = run()',
      'text = " ".join(t for _, _, t in alone)',
      'split = [list(W.replica_threads(n)) for n in (0, 1, 2, 3, 4, 8)]',
      'one = {"replicas": model.model.num_workers, "most": model.model.most}',
      '# The same calls whatever the number of replicas (CallQueue): the same transcript with two.',
      'two = BatchedInferencePipeline(W.load_model(sys.argv[1], "int8", 2, None))',
      'same = alone == [(round(s.start, 3), round(s.end, 3), s.text) for s in W.decode(two, audio, {"language": "en"})[0]]',
      'print(json.dumps({"split": split, **one, "text": text, "same": same}))',
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
  assert.ok(r.same, 'the same transcript with two replicas');
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

// CallQueue is the streams' shared list of calls: pure bookkeeping, tested here without a model.
test('the call queue: a batch waits for the call whose tails it carries, the last tails are split, every tail is decoded once', () => {
  const r = runWorkerPython<{ first: unknown[]; ready: boolean; complete: number[][]; last: unknown[]; orders: number; tails: boolean; once: boolean }>(
    [
      'import random',
      'Q = W.CallQueue',
      'q = Q(8, 3)',
      'first = [q.take() for _ in range(3)]',
      'ready = q.has_ready  # batch 3 waits for batch 0, whose tails it carries',
      'complete = [q.done(first[1], []), q.done(first[0], [["a"], ["b"], ["c"], ["d"]])]',
      'nxt = [q.take(), q.take()]  # the tail that did not fit, alone; then batch 3 with the other three',
      'complete += [q.done(nxt[0]), q.done(nxt[1], [])]',
      '# Two streams taking and finishing calls in any order make the same calls.',
      'COUNTS = [0, 4, 1, 2, 0, 3, 1, 0, 5]  # tails each of 9 batches leaves',
      'TAILS = {k: [[f"t{k}.{i}"] for i in range(n)] for k, n in enumerate(COUNTS)}',
      'def simulate(seed):',
      '    rnd, q, busy, calls, finished = random.Random(seed), Q(9, 3), [], [], []',
      '    while not q.finished:',
      '        while q.has_ready and len(busy) < 2:',
      '            busy.append(q.take())',
      '        call = busy.pop(rnd.randrange(len(busy)))',
      '        calls.append(call)',
      '        finished += q.done(call, TAILS[call[1]] if call[0] == "batch" else None)',
      '    return calls, finished',
      'runs = [simulate(seed) for seed in range(40)]',
      'calls = runs[0][0]',
      'decoded = sorted(w[0] for c in calls for w in c[2])',
      'print(json.dumps({"first": first, "ready": ready, "complete": complete,',
      '    "last": sorted(c[2] for c in calls if c[0] == "tails" and c[1] == 8),',
      '    "orders": len({tuple(sorted(map(repr, c))) for c, _ in runs}),',
      '    "tails": decoded == sorted(w[0] for t in TAILS.values() for w in t),',
      '    "once": all(sorted(f) == list(range(9)) for _, f in runs)}))',
    ].join('\n'),
  );
  assert.deepEqual(r.first, [
    ['batch', 0, []],
    ['batch', 1, []],
    ['batch', 2, []],
  ]);
  assert.equal(r.ready, false);
  // Batch 1 left no tails: complete at once. Batch 0 is complete once its four tails are decoded:
  // one alone, three with batch 3.
  assert.deepEqual(r.complete, [[1], [], [], [0, 3]]);
  // Batch 8 is the last: its 5 tails are split in two calls (3 and 2) the two streams can make at once.
  assert.deepEqual(r.last, [
    [['t8.0'], ['t8.1'], ['t8.2']],
    [['t8.3'], ['t8.4']],
  ]);
  assert.equal(r.orders, 1, 'the same calls in 40 random orders');
  assert.ok(r.tails, 'every tail decoded exactly once');
  assert.ok(r.once, 'every batch completes exactly once');
});
