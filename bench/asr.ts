/**
 * npm run bench:asr [-- --no-hour] [-- --model base]
 *
 * Without --model it runs twice, once per bundled model (base, the default, then tiny.en, the
 * fast choice), each in its own process, so the README's trade-off is one command.
 *
 * vidscribe end to end (ffprobe, ffmpeg extraction, the worker over stdio, VAD gating, sentence
 * split) against faster-whisper alone on the same files in the same run, model loaded once on
 * both sides. Prints audio seconds, wall seconds, real-time factor, peak RSS and WER, the ratio
 * vidscribe/faster-whisper, and memory on a one-hour input.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { AsrWorker, PROJECT_ROOT, resolveModel, transcribeEach, transcribeFile } from '../src/asr/index.ts';
import { wordErrors } from '../src/asr/wer.ts';
import { extensionOf, isTranscribableExtension } from '../src/media/formats.ts';
import { transcriptText } from '../src/transcript/index.ts';
import { startRssSampler } from './rss.ts';
import { SHARED_SPEECH, hasSharedSpeech, readSpeechManifest } from '../test/helpers/media.ts';

const args = process.argv.slice(2);
if (!args.includes('--model')) {
  for (const m of ['base', 'tiny.en']) {
    const r = spawnSync(process.execPath, [...process.execArgv, process.argv[1]!, ...args, '--model', m], { stdio: 'inherit' });
    if (r.status !== 0) process.exit(r.status ?? 1);
  }
  process.exit(0);
}
const model = args[args.indexOf('--model') + 1]!;
const withHour = !args.includes('--no-hour');
const SHARED = SHARED_SPEECH;
const WORK = join(tmpdir(), 'vidscribe-bench');
mkdirSync(WORK, { recursive: true });
process.env.HF_HUB_OFFLINE = '1';

interface Item {
  id: string;
  file: string;
  reference: string;
}

function corpus(): Item[] {
  if (!hasSharedSpeech()) {
    console.error(`No shared corpus at ${SHARED}; benchmarking the committed fixtures only.`);
    const readme = readFileSync(join(PROJECT_ROOT, 'test/fixtures/speech/README.md'), 'utf8');
    return [...readme.matchAll(/^\| `([^`]+\.flac)` \| ([^|]+) \|/gm)].map((m) => ({
      id: m[1]!,
      file: join(PROJECT_ROOT, 'test/fixtures/speech', m[1]!),
      reference: m[2]!.trim(),
    }));
  }
  const originals = new Map(
    readdirSync(join(SHARED, 'original'))
      .filter((f) => isTranscribableExtension(extensionOf(f))) // the GRID clip also exists as .mpg
      .map((f) => [f.replace(/\.[^.]+$/, ''), f]),
  );
  return readSpeechManifest()
    .filter((it) => it.english || !model.endsWith('.en'))
    .map((it) => {
      // The files as published (flac, mp3, wav, mp4): what a user would drop in.
      const original = originals.get(it.id);
      return { id: it.id, file: original ? join(SHARED, 'original', original) : it.wav, reference: it.reference };
    });
}

interface Run {
  wallSec: number;
  audioSec: number;
  errors: number;
  words: number;
  peakRss: number;
  loadSec: number;
}

async function runVidscribe(items: Item[]): Promise<Run> {
  const rss = startRssSampler();
  const worker = new AsrWorker({ model });
  const t0 = performance.now();
  await worker.start();
  const loadSec = (performance.now() - t0) / 1000;
  let audio = 0;
  let errors = 0;
  let words = 0;
  // One batch, as `vidscribe transcribe a b c ...` runs it: the next file is prepared meanwhile.
  const t = performance.now();
  for await (const o of transcribeEach(
    worker,
    items.map((i) => i.file),
  )) {
    if ('error' in o) throw o.error;
    audio += o.transcript.duration;
    const c = wordErrors(items[o.index]!.reference, transcriptText(o.transcript));
    errors += c.errors;
    words += c.referenceWords;
  }
  const wall = (performance.now() - t) / 1000;
  await worker.close();
  return { wallSec: wall, audioSec: audio, errors, words, peakRss: rss.stop(), loadSec };
}

async function runRaw(items: Item[], mode: 'same' | 'classic'): Promise<Run> {
  const py = join(PROJECT_ROOT, '.venv/bin/python');
  const child = spawn(
    py,
    [join(PROJECT_ROOT, 'bench/raw_faster_whisper.py'), '--model', resolveModel(model).arg, '--mode', mode, ...items.map((i) => i.file)],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, HF_HUB_OFFLINE: '1' },
    },
  );
  const byFile = new Map(items.map((i) => [i.file, i]));
  const run: Run = { wallSec: 0, audioSec: 0, errors: 0, words: 0, peakRss: 0, loadSec: 0 };
  for await (const line of createInterface({ input: child.stdout })) {
    const m = JSON.parse(line) as { file?: string; wall?: number; text?: string; seconds?: number; load?: number; peak_rss?: number };
    if (m.file) {
      run.wallSec += m.wall!;
      run.audioSec += m.seconds!;
      const c = wordErrors(byFile.get(m.file)!.reference, m.text!);
      run.errors += c.errors;
      run.words += c.referenceWords;
    } else {
      run.loadSec = m.load!;
      run.peakRss = m.peak_rss!;
    }
  }
  await new Promise((r) => child.on('close', r));
  return run;
}

const mb = (b: number) => `${(b / 1024 / 1024).toFixed(0)} MB`;
function row(name: string, r: Run): string {
  return [
    name.padEnd(34),
    r.audioSec.toFixed(1).padStart(8),
    r.wallSec.toFixed(2).padStart(8),
    `${(r.audioSec / r.wallSec).toFixed(1)}x`.padStart(8),
    mb(r.peakRss).padStart(9),
    `${((r.errors / r.words) * 100).toFixed(2)} %`.padStart(9),
    `${r.loadSec.toFixed(2)} s`.padStart(8),
  ].join(' ');
}

async function hourInput(items: Item[]): Promise<string> {
  const out = join(WORK, 'one-hour.m4a');
  if (existsSync(out)) return out;
  const list = join(WORK, 'concat.txt');
  const wavs = items
    .map((i) => (i.file.includes('/original/') ? i.file.replace('/original/', '/wav16k/').replace(/\.[^.]+$/, '.wav') : i.file))
    .filter(existsSync);
  writeFileSync(list, wavs.map((f) => `file '${f}'`).join('\n'));
  const once = join(WORK, 'corpus.wav');
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'concat', '-safe', '0', '-i', list, '-ac', '1', '-ar', '16000', once]);
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-stream_loop', '-1', '-i', once, '-t', '3600', '-c:a', 'aac', '-b:a', '64k', out]);
  return out;
}

const items = corpus();
console.log(`vidscribe bench:asr — model ${model}, ${items.length} files, ${process.env.HOSTNAME ?? ''} ${(await import('node:os')).cpus().length} cores\n`);
const header = [
  'run'.padEnd(34),
  'audio s'.padStart(8),
  'wall s'.padStart(8),
  'speed'.padStart(8),
  'peak RSS'.padStart(9),
  'WER'.padStart(9),
  'load'.padStart(8),
].join(' ');
console.log(header);
// Warm the page cache and the CPU once so neither side pays for the first read.
await runRaw(items.slice(0, 2), 'same');
const raw = await runRaw(items, 'same');
console.log(row('faster-whisper alone (same settings)', raw));
const ours = await runVidscribe(items);
console.log(row('vidscribe end to end', ours));
const classic = await runRaw(items, 'classic');
console.log(row('faster-whisper classic (vad_filter)', classic));
console.log(`\noverhead vidscribe / faster-whisper alone: ${(ours.wallSec / raw.wallSec).toFixed(3)}x wall (target ≤ 1.10x)`);
console.log(
  `  (${items.length} files averaging ${(ours.audioSec / items.length).toFixed(0)} s: each pays ~0.18 s CPU for starting ffprobe and ffmpeg; see the one-hour run for long inputs)`,
);
console.log(`speed: ${(ours.audioSec / ours.wallSec).toFixed(1)}x real time (target ≥ 20x for tiny.en)`);

if (withHour) {
  const hour = await hourInput(items);
  const rss = startRssSampler(process.pid, 250);
  const worker = new AsrWorker({ model });
  const t = performance.now();
  const tr = await transcribeFile(worker, hour, { timeoutMs: 4 * 3600_000 });
  const wall = (performance.now() - t) / 1000;
  await worker.close();
  const peak = rss.stop();
  const rawHour = await runRaw([{ id: 'hour', file: hour, reference: '' }], 'same');
  console.log(`\none-hour input (${tr.duration.toFixed(0)} s, AAC in M4A), ${tr.segments.length} segments:`);
  console.log(
    `  vidscribe end to end    ${wall.toFixed(1)} s wall, ${(tr.duration / wall).toFixed(1)}x real time, peak RSS of node + worker + ffmpeg ${mb(peak)} (target ≤ 1536 MB)`,
  );
  console.log(
    `  faster-whisper alone    ${rawHour.wallSec.toFixed(1)} s wall, ${(rawHour.audioSec / rawHour.wallSec).toFixed(1)}x real time, peak RSS ${mb(rawHour.peakRss)}`,
  );
  console.log(`  overhead ${(wall / rawHour.wallSec).toFixed(3)}x wall`);
}
