import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { ErrorCode, VidscribeError } from '../shared/errors.ts';
import { runTool } from '../shared/process.ts';
import { USER_MEDIA_INPUT_ARGS } from './formats.ts';
import { audioStreamOf, type MediaInfo } from './probe.ts';

/** Whisper's input: 16 kHz mono. s16le halves the temp file compared with float32. */
export const PCM_SAMPLE_RATE = 16_000;
export const PCM_BYTES_PER_SAMPLE = 2;

export interface ExtractedAudio {
  /** Raw signed 16-bit little-endian mono PCM at 16 kHz. */
  pcmPath: string;
  seconds: number;
  /** The audio goes on well past ExtractOptions.maxSeconds: `seconds` is that cap, and the rest was not decoded. */
  capped?: true;
  /** Removes the temporary file; safe to call twice. */
  dispose(): Promise<void>;
}

export interface ExtractOptions {
  /** Which audio stream, counted among audio streams from 0 (`--audio-track`). */
  audioTrack?: number;
  signal?: AbortSignal;
  timeoutMs?: number;
  tmpDir?: string;
  /** Decode at most this many seconds (`capped` then tells whether the audio went on). */
  maxSeconds?: number;
  /** What the file is called in messages (default: its file name). */
  name?: string;
}

/**
 * Streams the chosen audio stream through ffmpeg into a temporary raw PCM file. ffmpeg decodes
 * and resamples in bounded memory, so an hour of input costs ~115 MB of disk, not of RAM.
 */
export async function extractSpeechAudio(info: MediaInfo, opts: ExtractOptions = {}): Promise<ExtractedAudio> {
  const name = opts.name ?? basename(info.path);
  const track = opts.audioTrack ?? 0;
  audioStreamOf(info, track, name);
  const dir = await mkdtemp(join(opts.tmpDir ?? tmpdir(), 'vidscribe-audio-'));
  const pcmPath = join(dir, 'audio.s16le');
  const dispose = () => rm(dir, { recursive: true, force: true });
  try {
    await runTool(
      'ffmpeg',
      [
        '-nostdin',
        '-hide_banner',
        '-v',
        'error',
        ...USER_MEDIA_INPUT_ARGS,
        '-i',
        info.path,
        '-map',
        `0:a:${track}`,
        '-vn',
        '-sn',
        '-dn',
        '-ac',
        '1',
        '-ar',
        String(PCM_SAMPLE_RATE),
        '-c:a',
        'pcm_s16le',
        '-f',
        's16le',
        // A second past the cap, so that audio which goes on beyond it is told apart from audio
        // that ends there, however ffmpeg rounds the cut (CAP_MARGIN_SECONDS).
        ...(opts.maxSeconds === undefined ? [] : ['-t', (opts.maxSeconds + 2 * CAP_MARGIN_SECONDS).toFixed(3)]),
        '-y',
        pcmPath,
      ],
      {
        what: `extracting audio from ${name}`,
        timeoutMs: opts.timeoutMs ?? extractTimeoutMs(opts.maxSeconds === undefined ? info.durationSec : Math.min(info.durationSec, opts.maxSeconds)),
        signal: opts.signal,
        failCode: ErrorCode.CorruptMedia,
      },
    );
    const bytes = (await stat(pcmPath)).size;
    if (bytes === 0) throw new VidscribeError(ErrorCode.CorruptMedia, `${name}: no audio could be decoded; the file is corrupt or truncated`);
    const seconds = bytes / PCM_BYTES_PER_SAMPLE / PCM_SAMPLE_RATE;
    const capped = opts.maxSeconds !== undefined && seconds > opts.maxSeconds + CAP_MARGIN_SECONDS;
    return { pcmPath, seconds: capped ? opts.maxSeconds! : seconds, dispose, ...(capped ? { capped: true as const } : {}) };
  } catch (e) {
    await dispose();
    if (e instanceof VidscribeError && e.code === ErrorCode.CorruptMedia && !e.message.startsWith(name)) {
      throw new VidscribeError(ErrorCode.CorruptMedia, `${name}: the audio could not be decoded; the file is corrupt or truncated`, {
        cause: e,
        stderr: e.stderr,
        exitCode: e.exitCode,
      });
    }
    throw e;
  }
}

/** Audio up to this much past ExtractOptions.maxSeconds is decoded whole; more is `capped`. */
const CAP_MARGIN_SECONDS = 0.5;

/** Decoding runs at hundreds of times real time; allow generously, but never hang forever. */
function extractTimeoutMs(durationSec: number): number {
  return Math.max(60_000, Math.ceil(durationSec * 200));
}
