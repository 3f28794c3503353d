import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, test } from 'node:test';
import { FIXTURES, LIBRI_1089, LIBRI_61 } from '../../test/helpers/media.ts';
import { runWorkerPython } from '../../test/helpers/python-worker.ts';
import { SOUND_DEMUXERS } from '../media/index.ts';
import { WORKER_SCRIPT, pythonExecutable, resolveModel } from './models.ts';
import { wer } from './wer.ts';

// The worker runs one job per replica of the model at once (ReplicaBudget in worker.py): a file
// of one window takes one replica, a longer one takes both, in the order the requests came.

test('the replica budget: jobs take replicas in the order they came, a job wanting both is not overtaken, a cancel passes the turn', () => {
  const r = runWorkerPython<{ log: string[]; cancelled: string; passed: boolean }>(
    [
      'import threading, time',
      'B = W.ReplicaBudget(2)',
      'log, lock = [], threading.Lock()',
      'def note(x):',
      '    with lock:',
      '        log.append(x)',
      'gate = {name: threading.Event() for name in ("a", "b", "long", "c")}',
      'def job(name, turn, wanted):',
      '    with B.take(turn, wanted) as n:',
      '        note(f"take {name} {n}")',
      '        gate[name].wait()',
      '        note(f"give {name}")',
      'def started(name, turn, wanted):',
      '    t = threading.Thread(target=job, args=(name, turn, wanted)); t.start(); return t',
      'def settle():',
      '    time.sleep(0.3)  # lets a thread that can take, take',
      '# c (turn 3) asks first, but waits for the earlier turns.',
      'threads = [started("c", 3, 1)]; settle()',
      'threads += [started("a", 0, 1), started("b", 1, 1)]; settle()',
      '# long (turn 2) wants both: it waits for a and b; c (one replica) waits behind it.',
      'threads.append(started("long", 2, 5)); settle()',
      'gate["a"].set(); settle()',
      'note("a gone")',
      'gate["b"].set(); settle()',
      'gate["long"].set(); settle()',
      'gate["c"].set()',
      'for t in threads: t.join()',
      '# A job waiting for its turn stops when cancelled, and passes its turn on.',
      'try:',
      '    with B.take(5, 1, stop=lambda: True):',
      '        cancelled = "took"',
      'except W.Cancelled:',
      '    cancelled = "Cancelled"',
      'B.pass_turn(4)  # turn 4 ended without taking: turn 6 goes now',
      'with B.take(6, 2) as n:',
      '    passed = n == 2',
      'print(json.dumps({"log": log, "cancelled": cancelled, "passed": passed}))',
    ].join('\n'),
  );
  assert.deepEqual(r.log, ['take a 1', 'take b 1', 'give a', 'a gone', 'give b', 'take long 2', 'give long', 'take c 1', 'give c']);
  assert.equal(r.cancelled, 'Cancelled');
  assert.ok(r.passed, 'the turns after a cancelled and a passed one are taken');
});

const dir = mkdtempSync(join(tmpdir(), 'vidscribe-jobs-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** 16 kHz mono s16le, as the worker's `audio` requests take it. */
function pcmOf(file: string): Buffer {
  return execFileSync('ffmpeg', ['-v', 'error', '-i', file, '-ac', '1', '-ar', '16000', '-f', 's16le', '-'], { maxBuffer: 64 << 20 });
}

test('a worker with two replicas takes requests before its model is loaded, decodes two short files side by side and a long one alone, in order, with the same transcripts', async () => {
  // The long request: the two LibriSpeech readings seven times over with pauses (14 readings, more
  // than one batch), as raw PCM.
  const pause = Buffer.alloc(16000 * 2 * 1.5);
  const a = pcmOf(LIBRI_1089.file);
  const b = pcmOf(LIBRI_61.file);
  const long = join(dir, 'long.pcm');
  writeFileSync(long, Buffer.concat(Array.from({ length: 7 }, () => [a, pause, b, pause]).flat()));
  const short = join(FIXTURES, 'mfa_thoughts.flac');
  const media = (path: string) => ({ media: { path, stream: 0, format_whitelist: SOUND_DEMUXERS.join(','), expected_seconds: 0 } });
  const requests = [
    { id: 's1', ...media(LIBRI_1089.file) },
    { id: 's2', ...media(short) },
    { id: 'long', audio: long },
    { id: 'x', ...media(LIBRI_61.file) }, // cancelled while it waits
    { id: 's3', ...media(short) },
  ];

  const proc = spawn(pythonExecutable(), [WORKER_SCRIPT, '--model', resolveModel('tiny.en').arg, '--threads', '2'], {
    stdio: ['pipe', 'pipe', 'ignore'],
    env: { ...process.env, HF_HUB_OFFLINE: '1' },
  });
  const events: string[] = [];
  const text = new Map<string, string>();
  const errors = new Map<string, number>();
  await new Promise<void>((resolveAll, rejectAll) => {
    proc.on('error', rejectAll);
    proc.on('exit', (code) => rejectAll(new Error(`the worker exited (${code})`)));
    // Sent at once, before the model is loaded: the worker decodes the audio meanwhile.
    for (const r of requests) proc.stdin.write(`${JSON.stringify({ ...r, op: 'transcribe', options: { language: 'en' } })}\n`);
    proc.stdin.write(`${JSON.stringify({ id: 'c', op: 'cancel', target: 'x' })}\n`);
    createInterface({ input: proc.stdout }).on('line', (line) => {
      const m = JSON.parse(line) as { id?: string; event: string; code?: number; segment?: { text: string } };
      if (m.event === 'ready' || m.event === 'fatal') events.push(m.event);
      if (!m.id) return;
      if (m.event === 'segment') text.set(m.id, (text.get(m.id) ?? '') + m.segment!.text);
      if (m.event === 'error') errors.set(m.id, m.code!);
      if (['started', 'done', 'error'].includes(m.event)) events.push(`${m.event} ${m.id}`);
      if (requests.every((r) => events.includes(`done ${r.id}`) || events.includes(`error ${r.id}`))) resolveAll();
    });
  }).finally(() => {
    proc.stdin.end(`${JSON.stringify({ op: 'shutdown' })}\n`);
  });

  const at = (e: string) => {
    assert.ok(events.includes(e), `${e} in ${events.join(', ')}`);
    return events.indexOf(e);
  };
  // Every job's first message comes after "ready".
  assert.equal(events[0], 'ready', events.join(', '));
  // Each short file has one window: it takes one replica, and the next file the other. (s1 decodes
  // 10 s of speech while s2's 3.6 s flac is read: s2 gets its replica long before s1 ends.)
  assert.ok(at('started s2') < at('done s1'), events.join(', '));
  // The long file takes both replicas, so it waits for both short ones and runs alone.
  assert.ok(at('started long') > at('done s1') && at('started long') > at('done s2'), events.join(', '));
  // s3 came after it: it is not let in before, though one replica would do.
  assert.ok(at('started s3') > at('done long'), events.join(', '));
  assert.equal(errors.get('x'), 5004, 'the cancelled request ends with its code');
  assert.ok(!events.includes('started x'), 'a request cancelled while waiting never starts');
  assert.equal(errors.size, 1);

  assert.ok(wer(LIBRI_1089.text, text.get('s1')!) < 0.2, text.get('s1'));
  const reference = Array.from({ length: 7 }, () => `${LIBRI_1089.text} ${LIBRI_61.text}`).join(' ');
  assert.ok(wer(reference, text.get('long')!) < 0.25, text.get('long'));
  assert.ok(text.get('s2')!.trim().length > 0);
  assert.equal(text.get('s3'), text.get('s2'), 'the same file decoded beside another and alone: the same transcript');
});
