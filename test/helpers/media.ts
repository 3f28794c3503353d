import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after } from 'node:test';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const FIXTURES = join(ROOT, 'test', 'fixtures', 'speech');
export const SAMPLE_MP4 = join(ROOT, 'samples', 'jfk_inaugural_1961.mp4');
export const JFK_REFERENCE = 'And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country.';
export const LIBRI_1089 = {
  file: join(FIXTURES, 'librispeech_1089-134686-0000.flac'),
  text: 'HE HOPED THERE WOULD BE STEW FOR DINNER TURNIPS AND CARROTS AND BRUISED POTATOES AND FAT MUTTON PIECES TO BE LADLED OUT IN THICK PEPPERED FLOUR FATTENED SAUCE',
};
export const LIBRI_61 = {
  file: join(FIXTURES, 'librispeech_61-70968-0000.flac'),
  text: 'HE BEGAN A CONFUSED COMPLAINT AGAINST THE WIZARD WHO HAD VANISHED BEHIND THE CURTAIN ON THE LEFT',
};

/** The shared evaluation corpus beside the project root, when this clone has one. */
export const SHARED_SPEECH = resolve(ROOT, '..', 'shared', 'testdata', 'speech');
export const hasSharedSpeech = () => existsSync(join(SHARED_SPEECH, 'manifest.tsv'));

export interface SpeechItem {
  id: string;
  /** The 16 kHz mono WAV. */
  wav: string;
  reference: string;
  /** Two items are not English (`*_de`, `*_es`). */
  english: boolean;
}

/** The shared corpus' manifest.tsv, one item per row. */
export function readSpeechManifest(): SpeechItem[] {
  const [header, ...rows] = readFileSync(join(SHARED_SPEECH, 'manifest.tsv'), 'utf8').trim().split('\n');
  const cols = header!.split('\t');
  const col = (c: string[], name: string) => c[cols.indexOf(name)]!;
  return rows
    .map((r) => r.split('\t'))
    .map((c) => ({
      id: col(c, 'id'),
      wav: join(SHARED_SPEECH, col(c, 'file')),
      reference: col(c, 'reference_transcript'),
      english: !/_(de|es)$/.test(col(c, 'id')),
    }));
}

/** A temporary folder removed when the test file finishes. */
export function tempDir(prefix = 'vidscribe-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Runs the real ffmpeg to make test media; throws with ffmpeg's stderr on failure. */
export function ffmpeg(...args: string[]): void {
  execFileSync('ffmpeg', ['-nostdin', '-hide_banner', '-v', 'error', '-y', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A media file's duration in seconds, from ffprobe. */
export function mediaSeconds(file: string): number {
  const out = execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', file], { encoding: 'utf8' });
  return Number(out.trim());
}

/** H.264 + AAC MP4 of the given audio over a test pattern, as a phone or editor would produce. */
export function makeSpeechMp4(audio: string, out: string): string {
  ffmpeg(
    '-f',
    'lavfi',
    '-i',
    'testsrc2=s=320x240:r=25',
    '-i',
    audio,
    '-shortest',
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-pix_fmt',
    'yuv420p',
    '-c:a',
    'aac',
    '-b:a',
    '96k',
    out,
  );
  return out;
}

export function makeSilence(out: string, seconds: number): string {
  ffmpeg('-f', 'lavfi', '-i', `anullsrc=r=44100:cl=stereo`, '-t', String(seconds), out);
  return out;
}

/** Music-like audio: a chord progression of sine tones with a pulse, no speech. */
export function makeMusic(out: string, seconds: number): string {
  const expr = [
    '0.2*sin(2*PI*(220+110*floor(mod(t,8)/2))*t)',
    '0.15*sin(2*PI*(330+165*floor(mod(t,8)/2))*t)',
    '0.1*sin(2*PI*(440+55*floor(mod(t*2,4)))*t)*(0.5+0.5*sin(2*PI*2*t))',
  ]
    .join('+')
    .replaceAll(',', '\\,'); // commas separate filters unless escaped
  ffmpeg('-f', 'lavfi', '-i', `aevalsrc=${expr}:s=44100:c=stereo`, '-t', String(seconds), '-c:a', 'libmp3lame', '-b:a', '128k', out);
  return out;
}

/**
 * An M4A of `source`'s audio whose headers claim 2^31 - 1 ms, 596 hours: the durations of its
 * mvhd, tkhd and mdhd boxes (version 0: after version, two dates and the timescale or track id)
 * overwritten. ffprobe believes them; the audio is as long as it was.
 */
export function makeLongClaimM4a(source: string, out: string): string {
  ffmpeg('-i', source, '-vn', '-c:a', 'aac', '-b:a', '48k', out);
  const bytes = readFileSync(out);
  for (const [box, at] of [
    ['mvhd', 20],
    ['tkhd', 24],
    ['mdhd', 20],
  ] as const) {
    const i = bytes.indexOf(box);
    if (i < 0 || bytes[i + 4] !== 0) throw new Error(`${out}: no version 0 ${box} box`);
    bytes.writeUInt32BE(0x7fffffff, i + at);
  }
  writeFileSync(out, bytes);
  return out;
}

/** The 44-byte header of a 16 kHz mono 16-bit PCM WAV whose samples take `dataBytes`. */
export function wavHeader(dataBytes: number): Buffer {
  const header = Buffer.alloc(44);
  header.write('RIFF', 0);
  header.writeUInt32LE(36 + dataBytes, 4);
  header.write('WAVEfmt ', 8);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(16000, 24);
  header.writeUInt32LE(32000, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36);
  header.writeUInt32LE(dataBytes, 40);
  return header;
}
