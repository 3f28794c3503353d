import { stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { basename } from 'node:path';
import pLimit from 'p-limit';
import { ErrorCode, VidscribeError, isVidscribeError } from '../shared/errors.ts';
import { runTool } from '../shared/process.ts';
import {
  USER_MEDIA_INPUT_ARGS,
  extensionOf,
  isAcceptedContainer,
  isTranscribableExtension,
  unsupportedFormatMessage,
  unsupportedUploadMessage,
  uploadKindOf,
  TRANSCRIBABLE_EXTENSIONS,
  UPLOAD_EXTENSIONS,
} from './formats.ts';

export interface AudioStreamInfo {
  /** Position among the file's audio streams (what `--audio-track` counts), from 0. */
  audioIndex: number;
  /** ffprobe stream index in the container. */
  streamIndex: number;
  codec: string;
  channels: number;
  sampleRate: number;
  language?: string;
}

export interface VideoStreamInfo {
  streamIndex: number;
  codec: string;
  width: number;
  height: number;
  fps: number;
}

export interface MediaInfo {
  path: string;
  sizeBytes: number;
  /** ffprobe format_name, e.g. "mov,mp4,m4a,3gp,3g2,mj2". */
  container: string;
  durationSec: number;
  audio: AudioStreamInfo[];
  video: VideoStreamInfo[];
}

export const DEFAULT_MAX_BYTES = 500 * 1024 * 1024;
const PROBE_TIMEOUT_MS = 30_000;

export interface ProbeOptions {
  maxBytes?: number;
  signal?: AbortSignal;
  /** What the file is called in messages (default: its file name; a stored upload's is a hash). */
  name?: string;
}

interface FfprobeStream {
  index: number;
  codec_type?: string;
  codec_name?: string;
  channels?: number;
  sample_rate?: string;
  width?: number;
  height?: number;
  avg_frame_rate?: string;
  duration?: string;
  tags?: { language?: string };
  disposition?: { attached_pic?: number };
}

/** Reads what a file is with ffprobe; any media we cannot transcribe gets its coded error here. */
export async function probeMedia(path: string, opts: ProbeOptions = {}): Promise<MediaInfo> {
  const name = opts.name ?? basename(path);
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  const ext = extensionOf(path);
  let sizeBytes: number;
  try {
    const s = await stat(path);
    if (!s.isFile()) throw new VidscribeError(ErrorCode.FileNotFound, `${name}: not a regular file`);
    sizeBytes = s.size;
  } catch (e) {
    if (isVidscribeError(e)) throw e;
    throw new VidscribeError(ErrorCode.FileNotFound, `${name}: file not found`, { cause: e });
  }
  if (sizeBytes === 0) throw new VidscribeError(ErrorCode.EmptyFile, `${name}: the file is empty (0 bytes)`);
  if (sizeBytes > maxBytes) {
    throw new VidscribeError(ErrorCode.FileTooLarge, `${name}: ${formatMb(sizeBytes)} is over the ${formatMb(maxBytes)} limit`, {
      data: { sizeBytes, maxBytes },
    });
  }
  const formats = { formats: [...TRANSCRIBABLE_EXTENSIONS] };
  if (ext !== '' && !isTranscribableExtension(ext)) {
    throw new VidscribeError(ErrorCode.UnsupportedFormat, unsupportedFormatMessage(name, `.${ext}`), { data: formats });
  }

  const json = await ffprobeJson(path, opts.signal, name);
  const container = json.format?.format_name ?? '';
  if (!isAcceptedContainer(container)) {
    throw new VidscribeError(ErrorCode.UnsupportedFormat, unsupportedFormatMessage(name, `its content (${container || 'unknown'})`), {
      data: formats,
    });
  }
  return toMediaInfo(path, sizeBytes, json);
}

interface FfprobeJson {
  format?: { format_name?: string; duration?: string };
  streams?: FfprobeStream[];
}

/**
 * ffprobe processes this process runs at once; more wait their turn. Every upload is probed, and
 * a refused one costs its sender nothing: 32 connections sending corrupt files ran 19–26 ffprobes
 * at once on 2 cores, and /healthz took 0.3–0.6 s instead of 15 ms.
 */
export const PROBES_AT_ONCE = 2 * availableParallelism();

/**
 * The largest picture (or video frame) ffprobe decodes: 50 megapixels, more than an 8K frame or
 * most phones' photos. ffprobe decodes a picture to read its size, and a 2 MB PNG of 16 000 × 16 000
 * 16-bit pixels took 2 GB of memory each, several at once; past this it stops at the header, and
 * the picture is refused.
 */
export const MAX_PICTURE_PIXELS = 50_000_000;
const probeSlots = pLimit(PROBES_AT_ONCE);

/** Probes running and waiting now (for tests and diagnostics). */
export function probeLoad(): { running: number; waiting: number } {
  return { running: probeSlots.activeCount, waiting: probeSlots.pendingCount };
}

async function ffprobeJson(path: string, signal?: AbortSignal, name = basename(path)): Promise<FfprobeJson> {
  try {
    const { stdout } = await probeSlots(() => {
      // Gone while it waited (its client hung up): no process for it.
      if (signal?.aborted) throw new VidscribeError(ErrorCode.Cancelled, `Cancelled while waiting to probe ${name}`);
      return runTool(
        'ffprobe',
        [
          '-v',
          'error',
          ...USER_MEDIA_INPUT_ARGS,
          '-max_pixels',
          String(MAX_PICTURE_PIXELS),
          '-print_format',
          'json',
          '-show_format',
          '-show_streams',
          '--',
          path,
        ],
        {
          what: `probing ${name}`,
          timeoutMs: PROBE_TIMEOUT_MS,
          signal,
          failCode: ErrorCode.CorruptMedia,
        },
      );
    });
    return JSON.parse(stdout) as FfprobeJson;
  } catch (e) {
    if (isVidscribeError(e) && e.code !== ErrorCode.CorruptMedia) throw e;
    // A playlist or another container outside USER_MEDIA_DEMUXERS: refused before it opens anything it names.
    if (isVidscribeError(e) && /Format not on whitelist/.test(e.stderr ?? '')) {
      throw new VidscribeError(ErrorCode.UnsupportedFormat, unsupportedFormatMessage(name, 'its content'), {
        cause: e,
        data: { formats: [...TRANSCRIBABLE_EXTENSIONS] },
      });
    }
    const detail = isVidscribeError(e) && e.stderr ? ` (${e.stderr.split('\n').filter(Boolean).at(-1)})` : '';
    throw new VidscribeError(ErrorCode.CorruptMedia, `${name}: the file is corrupt, truncated or not a media file${detail}`, {
      cause: e,
      stderr: isVidscribeError(e) ? e.stderr : undefined,
    });
  }
}

function toMediaInfo(path: string, sizeBytes: number, json: FfprobeJson): MediaInfo {
  const container = json.format?.format_name ?? '';
  const streams = json.streams ?? [];
  const audio: AudioStreamInfo[] = streams
    .filter((s) => s.codec_type === 'audio')
    .map((s, i) => ({
      audioIndex: i,
      streamIndex: s.index,
      codec: s.codec_name ?? 'unknown',
      channels: s.channels ?? 0,
      sampleRate: Number(s.sample_rate ?? 0),
      ...(s.tags?.language ? { language: s.tags.language } : {}),
    }));
  const video: VideoStreamInfo[] = streams
    .filter((s) => s.codec_type === 'video' && !s.disposition?.attached_pic)
    .map((s) => ({ streamIndex: s.index, codec: s.codec_name ?? 'unknown', width: s.width ?? 0, height: s.height ?? 0, fps: parseRate(s.avg_frame_rate) }));
  const durationSec = Number(json.format?.duration ?? streams.find((s) => s.duration)?.duration ?? 0);
  return { path, sizeBytes, container, durationSec: Number.isFinite(durationSec) ? durationSec : 0, audio, video };
}

export type UploadKind = 'video' | 'audio' | 'image';

/** ffprobe demuxers that mean "a still image" (image2 for jpg/png files, *_pipe when piped, gif, webp). */
const IMAGE_CONTAINERS = /(^|,)(image2|png_pipe|jpeg_pipe|gif|gif_pipe|webp_pipe|webp|mjpeg)(,|$)/;

/**
 * What an uploaded file really is, judged by its content with the declared name's extension as
 * the claim: a video, an audio file or an image, with its ffprobe facts. A file whose content
 * contradicts its extension (a PNG named .mp4) is refused with 4001, garbage with 4005.
 */
export async function identifyUpload(
  path: string,
  declaredName: string,
  /** `claimed`: what the file says it is when its name cannot (a link's Content-Type); 'any' lets the content alone decide. */
  opts: { signal?: AbortSignal; claimed?: UploadKind | 'any' } = {},
): Promise<{ kind: UploadKind; info: MediaInfo }> {
  const s = await stat(path);
  if (s.size === 0) throw new VidscribeError(ErrorCode.EmptyFile, `${declaredName}: the file is empty (0 bytes)`);
  const claimed = opts.claimed ?? uploadKindOf(declaredName);
  if (!claimed)
    throw new VidscribeError(ErrorCode.UnsupportedFormat, unsupportedUploadMessage(declaredName), { data: { formats: Object.keys(UPLOAD_EXTENSIONS) } });
  const json = await ffprobeJson(path, opts.signal, declaredName).catch((e) => {
    throw isVidscribeError(e, ErrorCode.CorruptMedia)
      ? new VidscribeError(ErrorCode.CorruptMedia, `${declaredName}: the file is corrupt, truncated or not a media file`, { cause: e, stderr: e.stderr })
      : e;
  });
  const info = toMediaInfo(path, s.size, json);
  const container = json.format?.format_name ?? '';
  const isImage = IMAGE_CONTAINERS.test(container);
  if (claimed === 'image' || (claimed === 'any' && isImage)) {
    if (!isImage || info.video.length === 0)
      throw new VidscribeError(ErrorCode.UnsupportedFormat, `${declaredName}: the content is not an image (${container || 'unknown'})`);
    // The image2 demuxer goes by the extension: garbage named .png probes as a picture of no size,
    // and so does a picture too large to decode (MAX_PICTURE_PIXELS).
    if (!(info.video[0]!.width > 0 && info.video[0]!.height > 0))
      throw new VidscribeError(
        ErrorCode.CorruptMedia,
        `${declaredName}: the picture is corrupt, truncated or larger than ${MAX_PICTURE_PIXELS / 1e6} megapixels`,
      );
    return { kind: 'image', info };
  }
  if (isImage || !isAcceptedContainer(container)) {
    throw new VidscribeError(ErrorCode.UnsupportedFormat, `${declaredName}: the content (${container || 'unknown'}) is not video or audio`, {
      data: { formats: Object.keys(UPLOAD_EXTENSIONS) },
    });
  }
  if (info.video.length === 0 && info.audio.length === 0) {
    throw new VidscribeError(ErrorCode.NoAudioStream, `${declaredName}: the file has neither video nor audio streams`);
  }
  return { kind: info.video.length > 0 ? 'video' : 'audio', info };
}

/** Probes and also insists on an audio stream: what transcription needs. */
export async function probeTranscribable(path: string, opts: ProbeOptions = {}): Promise<MediaInfo> {
  const info = await probeMedia(path, opts);
  if (info.audio.length === 0) {
    throw new VidscribeError(ErrorCode.NoAudioStream, `${opts.name ?? basename(path)}: the file has no audio stream, so there is no speech to transcribe`);
  }
  return info;
}

/** The audio stream `--audio-track` names (counted among audio streams from 0), or a 400 that says what exists. */
export function audioStreamOf(info: MediaInfo, track = 0, name = basename(info.path)): AudioStreamInfo {
  const stream = Number.isInteger(track) && track >= 0 ? info.audio[track] : undefined;
  if (!stream) {
    throw new VidscribeError(
      ErrorCode.BadRequest,
      `${name}: audio track ${track} does not exist; the file has ${info.audio.length} audio track(s), numbered from 0`,
    );
  }
  return stream;
}

function parseRate(rate: string | undefined): number {
  if (!rate) return 0;
  const [n, d] = rate.split('/').map(Number);
  return n && d ? n / d : 0;
}

function formatMb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
