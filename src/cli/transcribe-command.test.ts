import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseSync } from 'subtitle';
import { unzipSync } from 'fflate';
import { JFK_REFERENCE, LIBRI_61, ROOT, SAMPLE_MP4, makeLongClaimM4a, tempDir } from '../../test/helpers/media.ts';
import { wer } from '../asr/wer.ts';
import { diarizeFromFlags } from './transcribe-command.ts';
import { buildEvalSet } from '../../test/helpers/two-speakers.ts';

// The real CLI in a child process, as a user runs it: `node bin/vidscribe.js transcribe ...`.
const dir = tempDir();
function vidscribe(...args: string[]) {
  return spawnSync(process.execPath, [join(ROOT, 'bin/vidscribe.js'), ...args], { encoding: 'utf8', cwd: dir, timeout: 300_000 });
}

test('several files, every format, one bad file: the others are written, exit status 1, the error names file and code', () => {
  const bogus = join(dir, 'photo.png');
  writeFileSync(bogus, 'not really a png');
  const out = join(dir, 'out');
  const r = vidscribe('transcribe', SAMPLE_MP4, bogus, LIBRI_61.file, '--format', 'txt,srt,vtt,json,docx,md', '--out', out);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /photo\.png: \[4001\]|failed .*photo\.png: \[4001\]/);
  assert.match(r.stderr, /2 of 3 file\(s\) transcribed/);
  for (const name of ['jfk_inaugural_1961', 'librispeech_61-70968-0000']) {
    for (const ext of ['txt', 'srt', 'vtt', 'json', 'docx', 'md']) assert.ok(existsSync(join(out, `${name}.${ext}`)), `${name}.${ext}`);
  }
  assert.ok(!existsSync(join(out, 'photo.txt')));
  assert.ok(wer(JFK_REFERENCE, readFileSync(join(out, 'jfk_inaugural_1961.txt'), 'utf8')) < 0.1);
  const cues = parseSync(readFileSync(join(out, 'jfk_inaugural_1961.srt'), 'utf8')).filter((n) => n.type === 'cue');
  assert.ok(cues.length >= 2);
  const json = JSON.parse(readFileSync(join(out, 'librispeech_61-70968-0000.json'), 'utf8'));
  assert.equal(json.task, 'transcribe');
  assert.ok(json.words.length > 10);
  const docx = unzipSync(readFileSync(join(out, 'jfk_inaugural_1961.docx')));
  assert.match(new TextDecoder().decode(docx['word/document.xml']), /country/);
  // No half-written files left behind.
  assert.ok(!spawnSync('ls', [out], { encoding: 'utf8' }).stdout.includes('.partial'));
});

test('--out - prints one format to stdout; progress and summary go to stderr', () => {
  const r = vidscribe('transcribe', SAMPLE_MP4, '--format', 'vtt', '--out', '-');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^WEBVTT/);
  assert.match(r.stdout, /country/);
  assert.match(r.stderr, /1 of 1 file\(s\) transcribed/);
  assert.match(r.stderr, /transcribe 100%/, 'plain progress lines when stderr is not a terminal');
  assert.match(r.stderr, /\(en, base: /, 'no model named: base decodes, English too');
});

test('refused before any work: two inputs that would write one output, --out - with several files, --out naming a file', () => {
  const a = join(dir, 'dup', 'talk.wav');
  const b = join(dir, 'dup', 'talk.mp3');
  mkdirSync(join(dir, 'dup'), { recursive: true });
  writeFileSync(a, 'x');
  writeFileSync(b, 'x');
  const out = join(dir, 'dup-out');
  const twice = vidscribe('transcribe', a, b, '--format', 'txt', '--out', out);
  assert.equal(twice.status, 2, twice.stderr);
  assert.match(twice.stderr, /\[400\] .*talk\.wav and .*talk\.mp3 would both be written to .*talk\.txt/);
  assert.ok(!existsSync(out), 'nothing written');
  const beside = vidscribe('transcribe', a, b, '--format', 'srt');
  assert.equal(beside.status, 2, 'beside the inputs too');
  const stdout = vidscribe('transcribe', SAMPLE_MP4, LIBRI_61.file, '--format', 'json', '--out', '-');
  assert.equal(stdout.status, 2);
  assert.match(stdout.stderr, /\[400\] --out - prints one file's transcript; 2 files were given/);
  assert.equal(stdout.stdout, '');
  const file = join(dir, 'not-a-folder');
  writeFileSync(file, 'mine');
  const onFile = vidscribe('transcribe', SAMPLE_MP4, '--format', 'txt', '--out', file);
  assert.equal(onFile.status, 2);
  assert.match(onFile.stderr, /\[400\] --out .*not-a-folder is a file, not a folder/);
  assert.equal(readFileSync(file, 'utf8'), 'mine');
});

test('--language: a code Whisper does not know is refused before any work; Javanese (ISO jv, Whisper jw) is decoded', () => {
  const bad = vidscribe('transcribe', SAMPLE_MP4, '--language', 'english', '--out', '-', '--format', 'txt');
  assert.equal(bad.status, 2, bad.stderr);
  assert.match(bad.stderr, /\[400\] --language must be an ISO 639-1 code Whisper knows/);
  const jv = vidscribe('transcribe', SAMPLE_MP4, '--language', 'jv', '--out', '-', '--format', 'json');
  assert.equal(jv.status, 0, jv.stderr);
  assert.equal(JSON.parse(jv.stdout).language, 'jv');
});

test('a file whose header claims 596 hours is transcribed, not "timed out" at once', () => {
  // Its time limit, 5 s a claimed second, passed what a timer holds (2^31 - 1 ms): Node fired it
  // after 1 ms, and the file failed with 5003 in a second.
  const m4a = makeLongClaimM4a(SAMPLE_MP4, join(dir, 'claims-596h.m4a'));
  const r = vidscribe('transcribe', m4a, '--fast', '--format', 'txt', '--out', '-');
  assert.equal(r.status, 0, r.stderr);
  assert.ok(wer(JFK_REFERENCE, r.stdout) < 0.1, r.stdout);
  assert.doesNotMatch(r.stderr, /TimeoutOverflowWarning/);
});

test('--fast: English goes to tiny.en; --fast with --model is a usage error', () => {
  const r = vidscribe('transcribe', SAMPLE_MP4, '--fast', '--format', 'txt', '--out', '-');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /country/);
  assert.match(r.stderr, /\(en, tiny\.en: /, r.stderr);
  const both = vidscribe('transcribe', SAMPLE_MP4, '--fast', '--model', 'base', '--out', '-');
  assert.equal(both.status, 2);
  assert.match(both.stderr, /\[400\] --fast picks the model itself/);
});

test('bad options give a clear coded error and no output', () => {
  const r = vidscribe('transcribe', SAMPLE_MP4, '--format', 'pdf');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /\[400\] Unknown format pdf/);
  const two = vidscribe('transcribe', SAMPLE_MP4, '--format', 'txt,srt', '--out', '-');
  assert.equal(two.status, 2);
  assert.match(two.stderr, /prints one format/);
});

test('output defaults to beside the input', () => {
  const copy = join(dir, 'talk.mp4');
  writeFileSync(copy, readFileSync(SAMPLE_MP4));
  const r = vidscribe('transcribe', copy, '--format', 'srt');
  assert.equal(r.status, 0, r.stderr);
  assert.ok(existsSync(join(dir, 'talk.srt')));
});

test('diarization flags: bad counts and names are refused before any work, with the flag named', () => {
  for (const [args, message] of [
    [['--speakers', '0'], /\[400\] --speakers must be a whole number from 1 to 16/],
    [['--diarize', '--max-speakers', '17'], /\[400\] --max-speakers must be a whole number from 1 to 16/],
    [['--diarize', '--min-speakers', '3', '--max-speakers', '2'], /\[400\] --min-speakers \(3\) is more than --max-speakers \(2\)/],
    [['--speakers', '2', '--min-speakers', '1'], /\[400\] Give either --speakers or --min-speakers\/--max-speakers/],
    [['--speakers', '2', '--speaker-names', 'Ana,Ben,Cy'], /\[400\] --speaker-names gives 3 names for --speakers 2/],
    [['--speaker-names', `Ana,${'x'.repeat(65)}`], /\[400\] A speaker name can have at most 64 characters/],
  ] as const) {
    const r = vidscribe('transcribe', SAMPLE_MP4, '--out', '-', '--format', 'txt', ...args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.equal(r.stdout, '');
  }
});

test('diarizeFromFlags: --speaker-names and counts imply --diarize; nothing asked, nothing done', () => {
  assert.deepEqual(diarizeFromFlags({}), {});
  assert.deepEqual(diarizeFromFlags({ diarize: true }), { diarize: {} });
  assert.deepEqual(diarizeFromFlags({ speakerNames: 'Ana, Ben' }), { diarize: {}, names: ['Ana', 'Ben'] });
  assert.deepEqual(diarizeFromFlags({ minSpeakers: '2', maxSpeakers: '4' }), { diarize: { minSpeakers: 2, maxSpeakers: 4 } });
});

test('--diarize on a real two-speaker recording: names in order of first appearance, in every format, on the right words', () => {
  const mf = buildEvalSet(dir).find((f) => f.kind === 'male/female')!;
  const out = join(dir, 'diarized');
  const r = vidscribe('transcribe', mf.wav, '--diarize', '--speaker-names', 'Ben, Ana', '--format', 'txt,srt,vtt,json', '--out', out);
  assert.equal(r.status, 0, r.stderr);
  const first = mf.reference[0]!.speaker;
  const nameOf = (speaker: string | number) => (speaker === first ? 'Ben' : 'Ana');

  // JSON: every word inside a reference turn (away from its edges) carries that turn's speaker.
  const json = JSON.parse(readFileSync(join(out, 'male-female.json'), 'utf8')) as {
    segments: { speaker: string; start: number; end: number }[];
    words: { word: string; start: number; end: number; speaker: string }[];
  };
  assert.deepEqual([...new Set(json.segments.map((s) => s.speaker))].sort(), ['Ana', 'Ben']);
  let agree = 0;
  let total = 0;
  for (const w of json.words) {
    const mid = (w.start + w.end) / 2;
    const turn = mf.reference.find((t) => mid > t.start + 0.25 && mid < t.end - 0.25);
    if (!turn) continue;
    total++;
    if (w.speaker === nameOf(turn.speaker)) agree++;
  }
  assert.ok(total > 50 && agree / total >= 0.9, `${agree} of ${total} words on the right speaker`);

  // TXT: one "Name:" paragraph per turn, alternating like the reference.
  const paragraphs = readFileSync(join(out, 'male-female.txt'), 'utf8').trimEnd().split('\n\n');
  assert.deepEqual(
    paragraphs.map((p) => p.split(':')[0]),
    mf.reference.map((t) => nameOf(t.speaker)),
  );
  // SRT: the name opens the first cue of each turn; VTT: a voice span on every cue.
  const srtCues = parseSync(readFileSync(join(out, 'male-female.srt'), 'utf8')).filter((n) => n.type === 'cue');
  const named = srtCues.map((c) => /^\[(Ben|Ana)\] /.exec(String((c.data as { text: string }).text))?.[1]).filter(Boolean);
  assert.deepEqual(
    named,
    mf.reference.map((t) => nameOf(t.speaker)),
  );
  const vtt = readFileSync(join(out, 'male-female.vtt'), 'utf8');
  const cueCount = vtt.split('\n').filter((l) => l.includes(' --> ')).length;
  assert.equal((vtt.match(/^<v (?:Ben|Ana)>/gm) ?? []).length, cueCount);
});
