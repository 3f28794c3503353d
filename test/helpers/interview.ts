/**
 * Issue 14's long and short inputs, built with ffmpeg from the English items of
 * ../shared/testdata/speech (nothing copied into the repo):
 * - a ~10-minute "interview": the items back to back in manifest order (several readers, so
 *   several voices), cycled until the length is reached, with seeded pseudo-random pauses of
 *   0.5–3 s of silence after each, as an H.264/AAC MP4 over a plain colour (what a screen or phone
 *   recording looks like to the pipeline), with its reference text: the items' references joined;
 * - short clips cut from it (30 × 10 s by default) for the per-file fixed cost.
 * Deterministic: the same inputs give the same files, cached in `dir` under a name derived from
 * the recipe and the source audio's bytes, so a changed corpus or recipe rebuilds.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { rng } from '../../src/transcript/test-fixtures.ts';
import { ffmpeg, mediaSeconds, readSpeechManifest } from './media.ts';

/** Bump when the way the files are made changes, so cached copies are not reused. */
const RECIPE = 'interview-v1';
const SEED = 14;

export interface InterviewPart {
  id: string;
  /** Where the item's audio starts and ends in the interview, seconds. */
  start: number;
  end: number;
  /** Silence after it, seconds. */
  pause: number;
}

export interface Interview {
  /** The MP4 (or M4A with `video: false`). */
  file: string;
  /** The references of the items in order, joined with spaces. */
  reference: string;
  seconds: number;
  parts: InterviewPart[];
}

export interface InterviewOptions {
  /** Items are added until the length reaches this (the last item is kept whole). */
  seconds?: number;
  /** With a plain video track (MP4); without, audio only (M4A). */
  video?: boolean;
}

/** Writes through a temporary name, so an interrupted build never leaves a file the cache would trust. */
function ffmpegTo(out: string, args: string[]): void {
  const tmp = out.replace(/(\.[^.]+)$/, `.partial$1`);
  ffmpeg(...args, tmp);
  renameSync(tmp, out);
}

const videoArgs = ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'];
const audioArgs = ['-c:a', 'aac', '-b:a', '96k'];

export function buildInterview(dir: string, { seconds = 600, video = true }: InterviewOptions = {}): Interview {
  mkdirSync(dir, { recursive: true });
  const items = readSpeechManifest().filter((i) => i.english);
  const hash = createHash('sha256').update(JSON.stringify({ RECIPE, SEED, seconds, video }));
  for (const it of items) hash.update(it.id).update(it.reference).update(readFileSync(it.wav));
  const key = hash.digest('hex').slice(0, 12);
  const file = join(dir, `interview-${key}.${video ? 'mp4' : 'm4a'}`);
  const meta = join(dir, `interview-${key}.json`);
  if (existsSync(file) && existsSync(meta)) return { file, ...(JSON.parse(readFileSync(meta, 'utf8')) as Omit<Interview, 'file'>) };

  const random = rng(SEED); // seeded: the pauses are the same on every machine
  const lengths = new Map(items.map((i) => [i.id, mediaSeconds(i.wav)]));
  const parts: InterviewPart[] = [];
  const picked: typeof items = [];
  let at = 0;
  for (let k = 0; at < seconds; k++) {
    const it = items[k % items.length]!;
    const pause = Math.round((0.5 + 2.5 * random()) * 100) / 100;
    const len = lengths.get(it.id)!;
    parts.push({ id: it.id, start: at, end: at + len, pause });
    picked.push(it);
    at += len + pause;
  }
  // One input per part; each is padded with its pause, then all are concatenated.
  const inputs = picked.flatMap((it) => ['-i', it.wav]);
  const chains = parts.map((p, k) => `[${k}:a]aformat=sample_rates=16000:channel_layouts=mono,apad=pad_dur=${p.pause}[a${k}]`);
  const graph = `${chains.join(';')};${parts.map((_, k) => `[a${k}]`).join('')}concat=n=${parts.length}:v=0:a=1[a]`;
  const wav = join(dir, `interview-${key}.wav`);
  ffmpegTo(wav, [...inputs, '-filter_complex', graph, '-map', '[a]', '-ar', '16000', '-ac', '1']);
  if (video) {
    ffmpegTo(file, ['-f', 'lavfi', '-i', 'color=c=0x202830:s=640x360:r=25', '-i', wav, '-shortest', ...videoArgs, ...audioArgs, '-movflags', '+faststart']);
  } else {
    ffmpegTo(file, ['-i', wav, ...audioArgs]);
  }
  const interview: Omit<Interview, 'file'> = { reference: picked.map((i) => i.reference).join(' '), seconds: mediaSeconds(file), parts };
  writeFileSync(meta, JSON.stringify(interview));
  return { file, ...interview };
}

export interface ClipOptions {
  count?: number;
  seconds?: number;
}

/**
 * `count` clips of `seconds` each, cut from the interview at even spacing (clip k starts at
 * k × length / count) and re-encoded as MP4, as a batch of short phone videos would arrive.
 * They have no reference text: a cut may fall inside a word.
 */
export function buildClips(dir: string, interview: Interview, { count = 30, seconds = 10 }: ClipOptions = {}): string[] {
  const key = createHash('sha256')
    .update(JSON.stringify({ RECIPE, file: interview.file, count, seconds }))
    .digest('hex')
    .slice(0, 12);
  const clipDir = join(dir, `clips-${key}`);
  mkdirSync(clipDir, { recursive: true });
  const step = interview.seconds / count;
  const clips: string[] = [];
  for (let k = 0; k < count; k++) {
    const out = join(clipDir, `clip-${String(k + 1).padStart(2, '0')}.mp4`);
    if (!existsSync(out)) {
      ffmpegTo(out, ['-ss', (k * step).toFixed(3), '-t', String(seconds), '-i', interview.file, ...videoArgs, ...audioArgs, '-movflags', '+faststart']);
    }
    clips.push(out);
  }
  return clips;
}
