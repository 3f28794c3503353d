/**
 * npm run bench:asr [-- --model base|tiny.en] [--corpus speech,languages,synthetic,interview,clips,hour] [--no-hour]
 *                      [--hour-sequential] [--runs N] [--shifts N] [--sides vidscribe,batched,sequential]
 *
 * Issue 14's comparison in one command: on the same files, in the same run,
 *   vidscribe   the real CLI as a user runs it (`node bin/vidscribe.js transcribe files… --format txt
 *               --out DIR --model M`), timed as a child process from start to exit, peak RSS of its
 *               whole process tree (node, the ASR worker, ffprobe/ffmpeg), text from the .txt files;
 *   batched     faster-whisper's BatchedInferencePipeline, batch 8, its defaults (its VAD on);
 *   sequential  faster-whisper's model.transcribe with vad_filter=True, its defaults;
 * the baselines from bench/raw_faster_whisper.py (same model files, int8, a thread per core, the
 * model loaded once), also timed as a whole process, so each side pays its own start and load.
 *
 * Corpora:
 *   speech     the English items of ../shared/testdata/speech, the files as published: pooled WER,
 *              and item by item where the reference has ≥ 20 words
 *   languages  the other languages of speech/ and speech-multilingual/ (multilingual models only;
 *              language detected, none given): WER, or CER for Chinese and Japanese
 *   interview  a ~10-minute interview video built from the English items (test/helpers/interview.ts)
 *   clips      30 ten-second MP4 clips cut from it, in one call: real time end to end (target ≥ 15×)
 *   synthetic  English not in ../shared: short commands, card names and read sentences, synthesized
 *              here with espeak-ng in several voices (machine speech, labelled so; needs espeak-ng)
 *   hour       a one-hour AAC file: wall and peak memory against batched (sequential only with
 *              --hour-sequential); --no-hour skips it
 * --shifts N (default 5): every item of the scored corpora (speech, languages, synthetic) is heard N
 *              times, the file as published and N - 1 copies that start SHIFT_MS, 2 × SHIFT_MS, …
 *              later (digital silence in front, as WAV). Whisper's output on an item moves with such
 *              shifts: on sonnet 3 with base, 14 ms of silence in front instead of 7 turned "of now
 *              thou" into "if now thou" and "remember to not to be" into "remember not to be" in
 *              vidscribe's decoding; the baselines' ranges over the copies show theirs move too.
 *              An item's rate is its errors over all N copies, so a word that flips with the shift
 *              counts as what it is, a fraction; each side's range over the copies is printed.
 * --sides runs only the named columns (an A/B of vidscribe alone, say); the others print as skipped.
 * Without --model it runs once per bundled model (base, then tiny.en), each in its own process.
 * Text is scored with src/asr/wer.ts on every side (the same normalisation). A bench prints, it
 * never fails: the verdicts of issue 14 are PASS/FAIL lines, not an exit status.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { basename, extname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { PROJECT_ROOT, pythonExecutable, resolveModel } from '../src/asr/models.ts';
import { cer, normalizeForCer, wordErrors } from '../src/asr/wer.ts';
import { toChineseScript } from '../src/transcript/chinese-script.ts';
import { extensionOf, isTranscribableExtension } from '../src/media/formats.ts';
import { buildClips, buildInterview } from '../test/helpers/interview.ts';
import { SHARED_SPEECH, hasSharedSpeech, mediaSeconds, readSpeechManifest } from '../test/helpers/media.ts';
import { startRssSampler } from './rss.ts';

const args = process.argv.slice(2);
const option = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
if (!args.includes('--model')) {
  for (const m of ['base', 'tiny.en']) {
    spawnSync(process.execPath, [...process.execArgv, process.argv[1]!, ...args, '--model', m], { stdio: 'inherit' });
  }
  process.exit(0);
}
const model = option('--model')!;
const englishOnly = resolveModel(model).englishOnly;
const ALL_CORPORA = ['speech', 'languages', 'synthetic', 'interview', 'clips', 'hour'] as const;
type CorpusName = (typeof ALL_CORPORA)[number];
const picked = (option('--corpus')?.split(',') ?? [...ALL_CORPORA]).filter((c) => !(c === 'hour' && args.includes('--no-hour')));
const unknown = picked.filter((c) => !(ALL_CORPORA as readonly string[]).includes(c));
if (unknown.length) {
  console.log(`unknown corpus ${unknown.join(', ')}; choose from ${ALL_CORPORA.join(', ')}`);
  process.exit(0);
}
const corpora = new Set(picked as CorpusName[]);
const runs = Math.max(1, Number(option('--runs') ?? 1));
const shifts = Math.max(1, Math.floor(Number(option('--shifts') ?? 5)));
/** How much later each next copy of an item starts (--shifts): not a multiple of Whisper's 10 ms
 * frame, so that the copies' frames fall at different phases of the audio. */
const SHIFT_MS = 7;
const WORK = join(tmpdir(), 'vidscribe-bench');
mkdirSync(WORK, { recursive: true });
process.env.HF_HUB_OFFLINE = '1';
const MULTILINGUAL = join(SHARED_SPEECH, '..', 'speech-multilingual');

type Side = 'vidscribe' | 'batched' | 'sequential';
const SIDES: Side[] = ['vidscribe', 'batched', 'sequential'];
const onlySides = option('--sides')?.split(',');
if (onlySides?.some((s) => !(SIDES as string[]).includes(s))) {
  console.log(`unknown side in --sides ${onlySides.join(',')}; choose from ${SIDES.join(', ')}`);
  process.exit(0);
}

interface Item {
  id: string;
  file: string;
  reference: string;
  /** The spoken language, when known; Chinese and Japanese are scored by characters. */
  language: string;
  /** The files heard for this item: `file` and its shifted copies (--shifts); `[file]` when absent. */
  copies?: string[];
}
const copiesOf = (it: Item) => it.copies ?? [it.file];
const filesOf = (items: Item[]) => items.flatMap(copiesOf);

interface SideRun {
  /** Start to exit of the process, seconds. */
  wall: number;
  /** Baselines only: the sum of the per-file decode + transcription times (no start, no load). */
  /** User + system CPU seconds of the process and every descendant it waited for: less swayed by a shared machine than wall time. */
  cpu: number;
  transcribeOnly?: number;
  load?: number;
  peakRss: number;
  text: Map<string, string>;
  language: Map<string, string>;
  failed: number;
}

// ---------------------------------------------------------------- running the three sides

/**
 * Starts a command under bash, which prints `times` (its children's user and system CPU, waited-for
 * descendants included) to stderr when the command ends. Every side runs this way, so the few MB of
 * the bash process are in every side's RSS alike.
 */
function withCpuTimes(command: string, commandArgs: string[]) {
  return spawn('bash', ['-c', '"$@"; status=$?; times >&2; exit $status', 'bash', command, ...commandArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, HF_HUB_OFFLINE: '1' },
  });
}
/** The children's line of `times` ("0m12.345s 0m1.234s"), as seconds. */
function cpuOf(stderr: string): number {
  const lines = [...stderr.matchAll(/^(\d+)m([\d.]+)s (\d+)m([\d.]+)s$/gm)];
  const m = lines.at(-1);
  return m ? Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4]) : Number.NaN;
}

async function runCli(files: string[]): Promise<SideRun> {
  const out = mkdtempSync(join(WORK, 'out-'));
  const t = performance.now();
  const child = withCpuTimes(process.execPath, [
    join(PROJECT_ROOT, 'bin/vidscribe.js'),
    'transcribe',
    ...files,
    '--format',
    'txt',
    '--out',
    out,
    '--model',
    model,
  ]);
  child.stdout.resume(); // the CLI prints nothing there with --out DIR; drained so it can never block
  const rss = startRssSampler(child.pid!, 250);
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const status = await new Promise<number | null>((r) => child.on('close', r));
  const wall = (performance.now() - t) / 1000;
  const run: SideRun = { wall, cpu: cpuOf(stderr), peakRss: rss.stop(), text: new Map(), language: new Map(), failed: 0 };
  for (const f of files) {
    const txt = join(out, `${basename(f, extname(f))}.txt`);
    if (existsSync(txt)) run.text.set(f, readFileSync(txt, 'utf8'));
    else run.failed++;
  }
  // The summary names each file's detected language: "  ok     <file> (en, base: …)".
  for (const m of stderr.matchAll(/^ {2}ok {5}(.+?) \(([^,:()]+), [^:]+: /gm)) run.language.set(m[1]!, m[2]!);
  if (status !== 0) console.log(`  (vidscribe exited ${status}: ${stderr.trim().split('\n').slice(-3).join(' | ')})`);
  rmSync(out, { recursive: true, force: true });
  return run;
}

async function runRaw(files: string[], mode: 'batched' | 'sequential'): Promise<SideRun> {
  const t = performance.now();
  const child = withCpuTimes(pythonExecutable(), [
    join(PROJECT_ROOT, 'bench/raw_faster_whisper.py'),
    '--model',
    resolveModel(model).arg,
    '--mode',
    mode,
    ...files,
  ]);
  const rss = startRssSampler(child.pid!, 250);
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const run: SideRun = { wall: 0, cpu: 0, transcribeOnly: 0, peakRss: 0, text: new Map(), language: new Map(), failed: 0 };
  for await (const line of createInterface({ input: child.stdout })) {
    if (!line.startsWith('{')) continue; // anything else a library prints is not ours to parse
    const m = JSON.parse(line) as { file?: string; wall?: number; text?: string; language?: string; load?: number; peak_rss?: number };
    if (m.file !== undefined) {
      run.transcribeOnly! += m.wall!;
      run.text.set(m.file, m.text!);
      run.language.set(m.file, m.language!);
    } else {
      run.load = m.load;
      run.peakRss = m.peak_rss!;
    }
  }
  const status = await new Promise<number | null>((r) => child.on('close', r));
  run.wall = (performance.now() - t) / 1000;
  run.cpu = cpuOf(stderr);
  run.peakRss = Math.max(run.peakRss, rss.stop());
  run.failed = files.length - run.text.size;
  if (status !== 0) console.log(`  (faster-whisper ${mode} exited ${status}: ${stderr.trim().split('\n').slice(-3).join(' | ')})`);
  if (!defaultsSaid.has(mode)) {
    defaultsSaid.add(mode);
    const said = stderr.split('\n').find((l) => l.startsWith('faster-whisper'));
    if (said) console.log(`  ${said}`);
  }
  return run;
}
const defaultsSaid = new Set<string>();

const runSide = (side: Side, files: string[]) => (side === 'vidscribe' ? runCli(files) : runRaw(files, side));

/** Each side `runs` times, alternating, the fastest run kept (the machine is shared). */
async function compare(files: string[], sides: Side[]): Promise<Partial<Record<Side, SideRun>>> {
  const best: Partial<Record<Side, SideRun>> = {};
  for (let r = 0; r < runs; r++) {
    for (const side of sides.filter((s) => !onlySides || onlySides.includes(s))) {
      const run = await runSide(side, files);
      if (!best[side] || run.wall < best[side]!.wall) best[side] = run;
    }
  }
  return best;
}

// ---------------------------------------------------------------- scoring and printing

const usesCharacters = (language: string) => /^(zh|ja)/.test(language);

interface Score {
  errors: number;
  units: number;
}
function score(reference: string, hypothesis: string, language: string): Score {
  if (usesCharacters(language)) {
    const units = normalizeForCer(reference).length;
    // The script is not what was heard: every side's Chinese is put in the reference's (simplified) first.
    const text = language.startsWith('zh') ? toChineseScript(hypothesis, 'simplified') : hypothesis;
    return { errors: Math.round(cer(reference, text) * units), units };
  }
  const c = wordErrors(reference, hypothesis);
  return { errors: c.errors, units: c.referenceWords };
}
/** An item's errors and units summed over its copies (--shifts). */
function itemScores(it: Item, run: SideRun): Score[] {
  return copiesOf(it).map((f) => score(it.reference, run.text.get(f) ?? '', it.language));
}
const summed = (scores: Score[]): Score => scores.reduce((a, s) => ({ errors: a.errors + s.errors, units: a.units + s.units }), { errors: 0, units: 0 });
function pooled(items: Item[], run: SideRun | undefined, characters: boolean): number | undefined {
  if (!run) return undefined;
  const s = summed(items.filter((i) => usesCharacters(i.language) === characters).flatMap((it) => itemScores(it, run)));
  return s.units ? s.errors / s.units : undefined;
}

const seconds = new Map<string, number>();
function durationOf(file: string): number {
  if (!seconds.has(file)) seconds.set(file, mediaSeconds(file));
  return seconds.get(file)!;
}

const mb = (b: number) => `${(b / 1024 / 1024).toFixed(0)} MB`;
const pct = (x: number | undefined) => (x === undefined ? '—' : `${(x * 100).toFixed(2)} %`);
const cell = (s: string, width = 13) => s.padStart(width);
function table(rows: [string, (run: SideRun) => string][], result: Partial<Record<Side, SideRun>>): void {
  console.log(`  ${''.padEnd(26)}${SIDES.map((s) => cell(s)).join('')}`);
  for (const [label, f] of rows) console.log(`  ${label.padEnd(26)}${SIDES.map((s) => cell(result[s] ? f(result[s]!) : 'skipped')).join('')}`);
}

const verdicts: string[] = [];
function verdict(ok: boolean, what: string): void {
  const line = `${ok ? 'PASS' : 'FAIL'}  ${what}`;
  verdicts.push(line);
  console.log(`  ${line}`);
}
const better = (a: number | undefined, b: number | undefined) => (a === undefined ? b : b === undefined ? a : Math.min(a, b));

/** One corpus: the three columns, the vidscribe/batched ratios, and issue 14's verdicts. */
function report(
  key: string,
  title: string,
  items: Item[],
  files: string[],
  result: Partial<Record<Side, SideRun>>,
  o: { long?: boolean; realTimeTarget?: number; scored?: boolean },
): void {
  const audio = files.reduce((s, f) => s + durationOf(f), 0);
  const rows: [string, (run: SideRun) => string][] = [];
  const hasWords = o.scored !== false && items.some((i) => !usesCharacters(i.language));
  const hasChars = o.scored !== false && items.some((i) => usesCharacters(i.language));
  if (hasWords) rows.push(['WER', (r) => pct(pooled(items, r, false))]);
  if (hasChars) rows.push(['CER (zh, ja)', (r) => pct(pooled(items, r, true))]);
  rows.push(
    ['wall s (whole process)', (r) => r.wall.toFixed(1)],
    ['  transcription only', (r) => (r.transcribeOnly === undefined ? '—' : r.transcribeOnly.toFixed(1))],
    ['  model load', (r) => (r.load === undefined ? '—' : r.load.toFixed(1))],
    ['CPU s (user + system)', (r) => r.cpu.toFixed(1)],
    ['real-time factor', (r) => `${(audio / r.wall).toFixed(1)}×`],
    ['peak RSS', (r) => mb(r.peakRss)],
    ['failed files', (r) => String(r.failed)],
  );
  console.log(`\n${key} ${title}: ${files.length} file(s), ${(audio / 60).toFixed(1)} min of audio`);
  table(rows, result);
  const v = result.vidscribe;
  const b = result.batched;
  if (!v) return;
  if (b) {
    console.log(
      `  vidscribe / batched: wall ${(v.wall / b.wall).toFixed(2)}× (${(v.wall / b.transcribeOnly!).toFixed(2)}× of its transcription alone), CPU ${(v.cpu / b.cpu).toFixed(2)}×, peak RSS ${(v.peakRss / b.peakRss).toFixed(2)}×`,
    );
  }
  if (o.long && b) {
    verdict(v.wall <= b.wall, `${key}: wall ≤ 1.0× batched (each side's whole process): ${(v.wall / b.wall).toFixed(2)}×`);
    verdict(v.peakRss <= b.peakRss, `${key}: peak RSS ≤ batched's: ${mb(v.peakRss)} vs ${mb(b.peakRss)}`);
  }
  if (o.realTimeTarget) verdict(audio / v.wall >= o.realTimeTarget, `${key}: ≥ ${o.realTimeTarget}× real time end to end: ${(audio / v.wall).toFixed(1)}×`);
  for (const [characters, label] of [
    [false, 'WER'],
    [true, 'CER'],
  ] as const) {
    if (characters ? !hasChars : !hasWords) continue;
    const ours = pooled(items, v, characters);
    const best = better(pooled(items, result.batched, characters), pooled(items, result.sequential, characters));
    if (ours !== undefined && best !== undefined) verdict(ours <= best, `${key}: ${label} ≤ the better baseline's: ${pct(ours)} vs ${pct(best)}`);
  }
}

/** Item by item, for items whose reference is long enough for a rate to mean something: each
 * item's rate over its copies (--shifts), and the fewest to most errors one copy had. */
function perItem(key: string, items: Item[], result: Partial<Record<Side, SideRun>>, minUnits: number): void {
  const long = items.filter((i) => score(i.reference, '', i.language).units >= minUnits);
  if (!long.length) return;
  const heard = shifts > 1 ? `, each heard ${shifts} times (--shifts), errors per copy fewest–most in brackets` : '';
  console.log(
    `\n  item by item (references of ≥ ${minUnits} words or characters${heard}); ✗ = vidscribe worse than the better baseline, +N = by N words or characters a copy`,
  );
  console.log(`  ${'item'.padEnd(40)}${'units'.padStart(6)}${SIDES.map((s) => cell(s, 20)).join('')}  lang (vidscribe/batched/sequential)`);
  const worse: string[] = [];
  for (const it of long) {
    const units = score(it.reference, '', it.language).units;
    const scores = (s: Side) => (result[s] ? itemScores(it, result[s]!) : undefined);
    const rate = (s: Side) => {
      const sc = scores(s);
      return sc ? summed(sc).errors / summed(sc).units : undefined;
    };
    const shown = (s: Side) => {
      const sc = scores(s);
      if (!sc) return pct(undefined);
      const errors = sc.map((x) => x.errors);
      return shifts > 1 ? `${pct(rate(s))} [${Math.min(...errors)}–${Math.max(...errors)}]` : pct(rate(s));
    };
    const ours = rate('vidscribe');
    const best = better(rate('batched'), rate('sequential'));
    const bad = ours !== undefined && best !== undefined && ours > best;
    // How many words (or characters) apart, a copy on average: a rate hides whether one word or ten decide it.
    const apart = bad ? ` +${(Math.round((ours! - best!) * units * 10) / 10).toString()}` : '';
    if (bad) worse.push(`${it.id}${apart}`);
    const langs = SIDES.map((s) => languagesOf(it, result[s])).join('/');
    console.log(
      `  ${it.id.slice(0, 39).padEnd(40)}${String(units).padStart(6)}${SIDES.map((s) => cell(shown(s), 20)).join('')}  ${bad ? '✗' : ' '} ${it.language}: ${langs}${apart}`,
    );
  }
  // No verdict without a baseline to compare with (--sides vidscribe).
  if (!result.vidscribe || !(result.batched || result.sequential)) return;
  verdict(
    worse.length === 0,
    `${key} item by item${shifts > 1 ? ` (${shifts} shifts each)` : ''}: vidscribe ≤ the better baseline on ${long.length - worse.length} of ${long.length}${worse.length ? ` (worse: ${worse.join(', ')})` : ''}`,
  );
  // The same test put to each side: how often a side is at least as good as the better of the
  // other two shows how much of the item-by-item verdict is each item's own noise.
  if (SIDES.every((s) => result[s])) {
    const rateOf = (it: Item, s: Side) => {
      const sc = summed(itemScores(it, result[s]!));
      return sc.errors / sc.units;
    };
    const standing = SIDES.map((s) => {
      const others = SIDES.filter((o) => o !== s);
      return `${s} on ${long.filter((it) => rateOf(it, s) <= Math.min(...others.map((o) => rateOf(it, o)))).length}`;
    });
    console.log(`  for scale, each side ≤ the better of the other two, item by item: ${standing.join(', ')} of ${long.length}`);
  }
}

/** The languages a side detected in an item's copies, the most frequent first ("en", or "ja+zh"). */
function languagesOf(it: Item, run: SideRun | undefined): string {
  if (!run) return '?';
  const counts = new Map<string, number>();
  for (const f of copiesOf(it)) {
    const l = run.language.get(f) ?? '?';
    counts.set(l, (counts.get(l) ?? 0) + 1);
  }
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([l]) => l)
    .join('+');
}

/**
 * The items with their shifted copies (--shifts): copy k starts k × SHIFT_MS later, digital
 * silence in front, audio only, as 16-bit WAV at the file's own rate (built once, kept in the
 * bench's folder). Copy 0 is the file as published.
 */
function withShifts(items: Item[]): Item[] {
  if (shifts === 1) return items;
  const dir = join(WORK, 'shifted');
  mkdirSync(dir, { recursive: true });
  return items.map((it) => {
    const copies = [it.file];
    for (let k = 1; k < shifts; k++) {
      const ms = k * SHIFT_MS;
      const key = createHash('sha256').update(`${it.file}\0${ms}`).digest('hex').slice(0, 8);
      const out = join(dir, `${it.id}+${ms}ms-${key}.wav`);
      if (!existsSync(out)) {
        const tmp = `${out}.partial.wav`;
        execFileSync('ffmpeg', ['-v', 'error', '-y', '-i', it.file, '-vn', '-af', `adelay=${ms}:all=1`, '-c:a', 'pcm_s16le', tmp]);
        renameSync(tmp, out);
      }
      copies.push(out);
    }
    return { ...it, copies };
  });
}

// ---------------------------------------------------------------- corpora

function sharedItems(): Item[] {
  const originals = new Map(
    readdirSync(join(SHARED_SPEECH, 'original'))
      .filter((f) => isTranscribableExtension(extensionOf(f))) // the GRID clip also exists as .mpg
      .map((f) => [f.replace(/\.[^.]+$/, ''), f]),
  );
  return readSpeechManifest().map((it) => {
    // The files as published (flac, mp3, wav, mp4): what a user would drop in.
    const original = originals.get(it.id);
    const language = it.english ? 'en' : /_(\w\w)$/.exec(it.id)![1]!;
    return { id: it.id, file: original ? join(SHARED_SPEECH, 'original', original) : it.wav, reference: it.reference, language };
  });
}

function multilingualItems(): Item[] {
  const manifest = join(MULTILINGUAL, 'manifest.tsv');
  if (!existsSync(manifest)) return [];
  const [header, ...rows] = readFileSync(manifest, 'utf8').trim().split('\n');
  const cols = header!.split('\t');
  return rows.map((r) => {
    const c = r.split('\t');
    const col = (name: string) => c[cols.indexOf(name)]!;
    return { id: col('id'), file: join(MULTILINGUAL, col('file')), reference: col('reference_transcript'), language: col('language') };
  });
}

/** What the synthetic corpus says: commands, card names (playing cards, tarot, a card game), read sentences. */
const SYNTHETIC_TEXTS = [
  'Turn off the lights in the kitchen and lock the front door.',
  'Set a timer for twenty five minutes.',
  'Remind me to call the dentist tomorrow at nine in the morning.',
  'Play the next episode and turn the volume down a little.',
  'What is the weather going to be like this weekend?',
  'Send a message to Laura saying I will be ten minutes late.',
  'Add milk, eggs and two loaves of bread to the shopping list.',
  'Skip this song.',
  'Open the garage door.',
  'Call mom.',
  'The queen of hearts, the seven of clubs and the ace of spades.',
  'Draw the three of diamonds and the jack of clubs.',
  'The Wheel of Fortune, the Hanged Man and the Tower.',
  'Black Lotus, Lightning Bolt and Serra Angel.',
  'The king of spades beats the ten of hearts.',
  "The river ran quietly past the old mill, where the miller's children had once played among the sacks of flour on long summer afternoons.",
  'Before the meeting ends, please make sure that everyone has a copy of the budget and knows which questions still need an answer.',
  'A good map shows not only where the roads go, but also where the hills rise, where the rivers bend and where travellers can rest.',
  'She packed a small bag with a notebook, a warm coat and an apple, and walked to the station before the sun came up.',
  'If the printer on the second floor runs out of paper again, take a new box from the cupboard next to the kitchen.',
];
const SYNTHETIC_VOICES = ['en-us', 'en-gb+f3', 'en-us+m3', 'en-gb-scotland', 'en-us+f2', 'en-029+m2'];
const SYNTHETIC_SPEEDS = [150, 165, 175];

/** The synthetic items as 16 kHz WAVs with a little silence around each, built once per espeak-ng version. */
function syntheticItems(): Item[] | string {
  let version: string;
  try {
    version = execFileSync('espeak-ng', ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    return 'espeak-ng is not installed (scripts/setup.sh installs it)';
  }
  const key = createHash('sha256').update(JSON.stringify({ version, SYNTHETIC_TEXTS, SYNTHETIC_VOICES, SYNTHETIC_SPEEDS })).digest('hex').slice(0, 12);
  const dir = join(WORK, `synthetic-${key}`);
  mkdirSync(dir, { recursive: true });
  return SYNTHETIC_TEXTS.map((text, k) => {
    const id = `synthetic-${String(k + 1).padStart(2, '0')}`;
    const file = join(dir, `${id}.wav`);
    if (!existsSync(file)) {
      const raw = join(dir, `${id}.espeak.wav`);
      const voice = SYNTHETIC_VOICES[k % SYNTHETIC_VOICES.length]!;
      execFileSync('espeak-ng', ['-v', voice, '-s', String(SYNTHETIC_SPEEDS[k % SYNTHETIC_SPEEDS.length]), '-w', raw, text]);
      const tmp = join(dir, `${id}.partial.wav`);
      execFileSync('ffmpeg', ['-v', 'error', '-y', '-i', raw, '-af', 'adelay=400,apad=pad_dur=0.6', '-ar', '16000', '-ac', '1', tmp]);
      renameSync(tmp, file);
      rmSync(raw);
    }
    return { id, file, reference: text, language: 'en' };
  });
}

/** An hour of the English items looped, as AAC in M4A (built once, kept in the bench's folder). */
function hourInput(items: Item[]): string {
  const out = join(WORK, 'one-hour-en.m4a');
  if (existsSync(out)) return out;
  const list = join(WORK, 'concat-en.txt');
  writeFileSync(list, items.map((i) => `file '${join(SHARED_SPEECH, 'wav16k', `${i.id}.wav`)}'`).join('\n'));
  const once = join(WORK, 'corpus-en.wav');
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'concat', '-safe', '0', '-i', list, '-ac', '1', '-ar', '16000', once]);
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-stream_loop', '-1', '-i', once, '-t', '3600', '-c:a', 'aac', '-b:a', '64k', `${out}.partial.m4a`]);
  renameSync(`${out}.partial.m4a`, out);
  return out;
}

// ---------------------------------------------------------------- main

if (!hasSharedSpeech()) {
  console.log(`bench:asr needs the shared corpus at ${SHARED_SPEECH}; nothing to measure.`);
  process.exit(0);
}
console.log(`vidscribe bench:asr — model ${model}, ${cpus().length} cores, ${runs} run(s) per side (fastest kept); corpora: ${[...corpora].join(', ')}`);
console.log('(the machine may be shared: wall times are as noisy as its load)');
const all = sharedItems();
const english = all.filter((i) => i.language === 'en');

// Warm the page cache (models, Python, tsx's compile cache) once, unmeasured, so no side pays for the first read.
await runCli(english.slice(0, 1).map((i) => i.file));
await runRaw(
  english.slice(0, 1).map((i) => i.file),
  'batched',
);

/** How a scored corpus's title says its items were heard. */
const heardAs = shifts > 1 ? `, each item heard ${shifts} times (as published, then ${SHIFT_MS} ms later each time)` : '';

if (corpora.has('speech')) {
  const items = withShifts(english);
  const files = filesOf(items);
  const result = await compare(files, SIDES);
  const words = english.reduce((s, i) => s + wordErrors(i.reference, '').referenceWords, 0);
  report('(a) speech', `the English items of ../shared/testdata/speech, as published (${words} words)${heardAs}`, items, files, result, {});
  perItem('(a) speech', items, result, 20);
}

if (corpora.has('languages')) {
  if (englishOnly) console.log(`\n(b) other languages: skipped (${model} is English only)`);
  else {
    const others = withShifts([...all.filter((i) => i.language !== 'en'), ...multilingualItems()]);
    const files = filesOf(others);
    const result = await compare(files, SIDES);
    report(
      '(b) languages',
      `${[...new Set(others.map((i) => i.language))].join(', ')} from ../shared, language detected (none given); Chinese scored in simplified characters on every side${heardAs}`,
      others,
      files,
      result,
      {},
    );
    perItem('(b) languages', others, result, 1);
  }
}

const interview = corpora.has('interview') || corpora.has('clips') ? buildInterview(WORK) : undefined;
if (corpora.has('interview')) {
  const it: Item = { id: 'interview', file: interview!.file, reference: interview!.reference, language: 'en' };
  const result = await compare([it.file], SIDES);
  report(
    '(c) interview',
    `an MP4 video of ${interview!.parts.length} items of the English corpus by several readers, back to back with 0.5–3 s pauses (${interview!.reference.split(/\s+/).length} words)`,
    [it],
    [it.file],
    result,
    { long: true },
  );
}

if (corpora.has('clips')) {
  const clips = buildClips(WORK, interview!);
  const result = await compare(clips, SIDES);
  report('(d) clips', '30 ten-second MP4 clips cut from the interview, one CLI call (unscored: cuts fall inside words)', [], clips, result, {
    realTimeTarget: 15,
    scored: false,
  });
}

if (corpora.has('synthetic')) {
  const built = syntheticItems();
  if (typeof built === 'string') console.log(`\n(s) synthetic: skipped (${built})`);
  else {
    const items = withShifts(built);
    const files = filesOf(items);
    const result = await compare(files, SIDES);
    const words = items.reduce((s, i) => s + wordErrors(i.reference, '').referenceWords, 0);
    report(
      '(s) synthetic',
      `SYNTHETIC machine speech (espeak-ng, ${SYNTHETIC_VOICES.length} voices): commands, card names, sentences (${words} words)${heardAs}`,
      items,
      files,
      result,
      {},
    );
    perItem('(s) synthetic', items, result, 20);
  }
}

if (corpora.has('hour')) {
  const hour = hourInput(english);
  const sides: Side[] = args.includes('--hour-sequential') ? SIDES : ['vidscribe', 'batched'];
  const result = await compare([hour], sides);
  report('(e) hour', 'the English items looped to one hour, AAC in M4A (unscored)', [], [hour], result, { long: true, scored: false });
}

console.log(`\nissue 14 verdicts, model ${model}:`);
for (const v of verdicts) console.log(`  ${v}`);
