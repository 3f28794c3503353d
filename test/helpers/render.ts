/**
 * Test helpers for rendered video: generated sources, ffprobe facts, frames as pixels, OCR with
 * Debian's tesseract, loudness with ffmpeg's volumedetect, and the MP4 box order.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, openSync, readSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { LIBRI_61, SHARED_SPEECH, ffmpeg } from './media.ts';

/** Real speech: the shared corpus's copy when this clone has ../shared, else the bundled fixture. */
export const SPEECH = {
  file: existsSync(join(SHARED_SPEECH, 'original', 'librispeech_61-70968-0000.flac'))
    ? join(SHARED_SPEECH, 'original', 'librispeech_61-70968-0000.flac')
    : LIBRI_61.file,
  text: LIBRI_61.text,
  seconds: 4.905,
};

/** A video of ffmpeg's moving test pattern, optionally with the real speech as its sound. */
export function makeTestVideo(out: string, o: { seconds: number; size?: string; fps?: number; speech?: boolean; tone?: number; pattern?: string }): string {
  const src = o.pattern ?? `testsrc2=s=${o.size ?? '640x360'}:r=${o.fps ?? 30}`;
  const sound = o.speech ? ['-i', SPEECH.file] : o.tone ? ['-f', 'lavfi', '-i', `sine=frequency=${o.tone}:sample_rate=44100`] : [];
  const audio = sound.length ? [...sound, '-c:a', 'aac', '-b:a', '96k'] : [];
  ffmpeg('-f', 'lavfi', '-i', src, ...audio, '-t', String(o.seconds), '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', out);
  return out;
}

export interface ProbeFacts {
  formatDuration: number;
  video?: { codec: string; width: number; height: number; duration: number; frames: number; pixFmt: string };
  audio?: { codec: string; duration: number; sampleRate: number; channels: number };
}

export function probe(file: string): ProbeFacts {
  const json = JSON.parse(execFileSync('ffprobe', ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', file], { encoding: 'utf8' })) as {
    format: { duration: string };
    streams: Record<string, string | number>[];
  };
  const v = json.streams.find((s) => s.codec_type === 'video');
  const a = json.streams.find((s) => s.codec_type === 'audio');
  const facts: ProbeFacts = { formatDuration: Number(json.format.duration) };
  if (v)
    facts.video = {
      codec: String(v.codec_name),
      width: Number(v.width),
      height: Number(v.height),
      duration: Number(v.duration),
      frames: Number(v.nb_frames),
      pixFmt: String(v.pix_fmt),
    };
  if (a) facts.audio = { codec: String(a.codec_name), duration: Number(a.duration), sampleRate: Number(a.sample_rate), channels: Number(a.channels) };
  return facts;
}

/** Top-level MP4 box types in file order (ftyp, moov, mdat...): faststart puts moov before mdat. */
export function topLevelBoxes(file: string): string[] {
  const fd = openSync(file, 'r');
  const boxes: string[] = [];
  try {
    const head = Buffer.alloc(16);
    let pos = 0;
    for (let i = 0; i < 50; i++) {
      if (readSync(fd, head, 0, 16, pos) < 8) break;
      let size = head.readUInt32BE(0);
      boxes.push(head.toString('latin1', 4, 8));
      if (size === 1) size = Number(head.readBigUInt64BE(8));
      if (size < 8) break;
      pos += size;
    }
  } finally {
    closeSync(fd);
  }
  return boxes;
}

export interface Frame {
  width: number;
  height: number;
  /** rgb24, row by row. */
  rgb: Buffer;
}

/** One decoded frame at `atSec`, as raw RGB pixels. */
export function frameAt(file: string, atSec: number): Frame {
  const facts = probe(file);
  const { width, height } = facts.video!;
  const rgb = execFileSync('ffmpeg', ['-v', 'error', '-ss', String(atSec), '-i', file, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], {
    maxBuffer: 64 * 1024 * 1024,
  });
  if (rgb.length !== width * height * 3) throw new Error(`frame at ${atSec}s: got ${rgb.length} bytes`);
  return { width, height, rgb };
}

/**
 * A still PNG of the frame at `atSec` for OCR, cropped to a band of rows (fractions of the height).
 * Our text is white: keeping only near-white pixels, as black on white, makes tesseract reliable
 * over a busy picture.
 */
export function pngAt(file: string, atSec: number, out: string, band = { top: 0, bottom: 1 }): string {
  const vf = `crop=iw:ih*${band.bottom - band.top}:0:ih*${band.top},format=gray,lut=y='if(gt(val,240),0,255)'`;
  ffmpeg('-ss', String(atSec), '-i', file, '-frames:v', '1', '-vf', vf, out);
  return out;
}

/** Words tesseract reads in an image, upper-cased, punctuation dropped. */
export function ocrWords(png: string): string[] {
  const text = execFileSync('tesseract', [png, 'stdout', '--psm', '6'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  return text
    .toUpperCase()
    .split(/[^A-Z0-9']+/)
    .filter(Boolean);
}

/** Mean absolute difference (0..255) between two frames over a band of rows (fractions of the height). */
export function bandDifference(a: Frame, b: Frame, top: number, bottom: number): number {
  const row = a.width * 3;
  const from = Math.floor(a.height * top) * row;
  const to = Math.floor(a.height * bottom) * row;
  let sum = 0;
  for (let i = from; i < to; i++) sum += Math.abs(a.rgb[i]! - b.rgb[i]!);
  return sum / (to - from);
}

/** Share (0..1) of near-black pixels in a band of rows. */
export function blackShare(f: Frame, top: number, bottom: number, threshold = 20): number {
  const row = f.width * 3;
  let black = 0,
    total = 0;
  for (let i = Math.floor(f.height * top) * row; i < Math.floor(f.height * bottom) * row; i += 3) {
    total++;
    if (f.rgb[i]! < threshold && f.rgb[i + 1]! < threshold && f.rgb[i + 2]! < threshold) black++;
  }
  return black / total;
}

/** Mean volume of a file's audio in dBFS (optionally of a time range), from ffmpeg's volumedetect. */
export function meanVolumeDb(file: string, o: { from?: number; to?: number } = {}): number {
  const range = [...(o.from !== undefined ? ['-ss', String(o.from)] : []), ...(o.to !== undefined ? ['-to', String(o.to)] : [])];
  const r = spawnSync('ffmpeg', ['-hide_banner', '-nostats', ...range, '-i', file, '-vn', '-af', 'volumedetect', '-f', 'null', '-'], { encoding: 'utf8' });
  const m = /mean_volume:\s*(-?[\d.]+|-inf) dB/.exec(r.stderr);
  if (!m) throw new Error(`volumedetect found no audio in ${file}: ${r.stderr.slice(-500)}`);
  return m[1] === '-inf' ? -Infinity : Number(m[1]);
}
