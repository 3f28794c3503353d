/**
 * The I/O edge of rendering: validates the draft, probes its sources, writes the captions file,
 * runs ffmpeg once with progress, cancellation, a timeout and a stall guard, and moves the
 * finished MP4 into place (a reader never sees half a file).
 */
import { mkdir, mkdtemp, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { identifyUpload, probeMedia, type MediaInfo } from '../media/index.ts';
import { ErrorCode, VidscribeError, isVidscribeError } from '../shared/errors.ts';
import type { ResultPromise } from 'execa';
import { runTool, settleTool, startTool } from '../shared/process.ts';
import { DEFAULT_FONTS_DIR, buildAss } from './ass.ts';
import { compileDraft, type EncodingSettings, type SourceInfo } from './compile.ts';
import { parseDraft, type Draft } from './draft.ts';
import { createOutputWatch, createProgressParser, type RenderProgress } from './progress.ts';
import { timelineDuration } from './timeline.ts';

export interface RenderOptions {
  /** Where the MP4 goes. */
  out: string;
  /** Folder that relative `src` paths are resolved against (the draft file's folder); default: cwd. */
  baseDir?: string;
  /** Maps a segment's `src` to a file path (the service's media ids); default: a path. */
  resolveSource?: (src: string) => string | Promise<string>;
  signal?: AbortSignal;
  /** Whole-run limit; default `renderTimeoutMs(timeline)`: 8× the timeline, at least 5 min, at most 8 h. */
  timeoutMs?: number;
  /** Fails when the output gains no frame (and no time within the timeline) for this long; default 60 s. */
  stallTimeoutMs?: number;
  /** Memory ffmpeg may allocate (its data segment, RLIMIT_DATA); default 2 GiB. */
  memoryLimitBytes?: number;
  onProgress?: (p: RenderProgress) => void;
  fontsDir?: string;
  encoding?: EncodingSettings;
  tmpDir?: string;
}

export interface RenderResult {
  out: string;
  durationSec: number;
  frames: number;
  fps: string;
  sizeBytes: number;
  wallSec: number;
}

const DEFAULT_STALL_MS = 60_000;

/**
 * How long a render may take: 8× its timeline (a 1080p blur on two cores runs at about real time),
 * never under 5 minutes (start-up, small machines), never over 8 hours (the longest timeline we
 * accept at 1080p still fits; a run past that is broken, not slow).
 */
export const RENDER_TIMEOUT = { minMs: 5 * 60_000, perTimelineMs: 8, ceilingMs: 8 * 3600_000 } as const;

export function renderTimeoutMs(timelineMs: number): number {
  return Math.min(RENDER_TIMEOUT.ceilingMs, Math.max(RENDER_TIMEOUT.minMs, timelineMs * RENDER_TIMEOUT.perTimelineMs));
}

/** 2 GiB: a 1080p render with blur uses about 0.5 GB of data on two cores; more cores add threads. */
export const DEFAULT_RENDER_MEMORY_BYTES = 2 * 1024 ** 3;

/**
 * Caps ffmpeg's memory once it runs (util-linux prlimit on its pid; limits survive its exec): a
 * draft that would take gigabytes fails with "Cannot allocate memory" instead of taking the host.
 * A child that has already exited needs no limit.
 */
async function limitMemory(child: ResultPromise, bytes: number): Promise<void> {
  if (process.platform !== 'linux' || child.pid === undefined) return;
  try {
    await runTool('prlimit', ['--pid', String(child.pid), `--data=${bytes}:${bytes}`], { what: "limiting the render's memory", timeoutMs: 10_000 });
  } catch (e) {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGKILL');
    throw e;
  }
}

/** Where a segment's source is; a refusal from `resolveSource` (not one of yours) names the field. */
async function sourcePath(src: string, field: string, opts: Pick<RenderOptions, 'baseDir' | 'resolveSource'>): Promise<string> {
  if (!opts.resolveSource) return isAbsolute(src) ? src : resolve(opts.baseDir ?? process.cwd(), src);
  try {
    return await opts.resolveSource(src);
  } catch (e) {
    if (!isVidscribeError(e) || e.data?.field) throw e;
    const prefix = e.code === ErrorCode.InvalidDraft ? 'Invalid draft: ' : '';
    throw new VidscribeError(e.code, `${prefix}${field}: ${e.message}`, { cause: e, data: { ...e.data, field } });
  }
}

/** What a source is: video or audio (probeMedia's rules), else a picture judged by its content. */
async function probeSource(path: string, signal?: AbortSignal): Promise<SourceInfo> {
  let m: MediaInfo;
  let image: SourceInfo['image'];
  try {
    m = await probeMedia(path, { maxBytes: Number.MAX_SAFE_INTEGER, signal });
  } catch (e) {
    if (!isVidscribeError(e, ErrorCode.UnsupportedFormat)) throw e;
    const picture = await identifyUpload(path, basename(path), { signal, claimed: 'image' }).catch((ie) => {
      // Not a picture either: the first refusal says best what the file is not.
      throw isVidscribeError(ie, ErrorCode.UnsupportedFormat) ? e : ie;
    });
    m = picture.info;
    const v = m.video[0]!;
    // ffprobe names a picture by its extension alone; garbage behind it has no size.
    if (!(v.width > 0 && v.height > 0)) throw new VidscribeError(ErrorCode.CorruptMedia, `${basename(path)}: the picture is corrupt or truncated`);
    // A gif with more than one frame has a duration and a frame rate; a one-frame gif has neither.
    image = /(^|,)gif(,|$)/.test(m.container) && v.fps > 0 && m.durationSec > 0.11 ? 'animated' : 'still';
  }
  const v = m.video[0];
  const info: SourceInfo = { path, durationSec: m.durationSec, hasVideo: !!v, hasAudio: !image && m.audio.length > 0 };
  if (v) Object.assign(info, { width: v.width, height: v.height, fps: v.fps });
  if (image) info.image = image;
  return info;
}

/** Probes every distinct source once; a missing or broken file fails with its coded error and the field that names it. */
export async function resolveSources(draft: Draft, opts: Pick<RenderOptions, 'baseDir' | 'resolveSource' | 'signal'>): Promise<Map<string, SourceInfo>> {
  const sources = new Map<string, SourceInfo>();
  for (const [ti, track] of draft.t.entries()) {
    if (track.tt === 7) continue;
    for (const [si, sg] of track.sg.entries()) {
      const field = `t[${ti}].sg[${si}].src`;
      // Messages name the source as the draft does (a media id, the user's own path), never by
      // where it is stored: the store's names are internal.
      const shown = `"${sg.src}"`;
      let info = sources.get(sg.src);
      if (!info) {
        const path = await sourcePath(sg.src, field, opts);
        try {
          info = await probeSource(path, opts.signal);
        } catch (e) {
          if (!isVidscribeError(e)) throw e;
          if (e.code === ErrorCode.UnsupportedFormat) {
            throw new VidscribeError(ErrorCode.InvalidDraft, `Invalid draft: ${field}: ${shown} is not a video, audio or image file`, {
              cause: e,
              data: { field },
            });
          }
          const message = e.message.split(basename(path)).join(shown);
          throw new VidscribeError(e.code, `${field}: ${message}`, { cause: e, stderr: e.stderr, exitCode: e.exitCode, data: { ...e.data, field } });
        }
        sources.set(sg.src, info);
      }
      if (track.tt === 0 && !info.hasVideo) {
        throw new VidscribeError(ErrorCode.InvalidDraft, `Invalid draft: ${field}: ${shown} has no video stream; put it on an audio track (tt 1)`, {
          data: { field },
        });
      }
      // A clip that starts past the end of its file would yield no frames and shorten the video (a picture has no end).
      if (!info.image && info.durationSec > 0 && (sg.in ?? 0) >= info.durationSec * 1000) {
        throw new VidscribeError(
          ErrorCode.InvalidDraft,
          `Invalid draft: t[${ti}].sg[${si}].in: ${sg.in} ms is past the end of ${shown} (${info.durationSec.toFixed(3)} s)`,
          {
            data: { field: `t[${ti}].sg[${si}].in` },
          },
        );
      }
      if (track.tt === 1 && !info.hasAudio) {
        throw new VidscribeError(ErrorCode.NoAudioStream, `${field}: ${shown} has no audio stream`, { data: { field } });
      }
    }
  }
  return sources;
}

/** Renders a draft (anything: it is validated first) to an H.264/AAC MP4. */
export async function renderDraft(input: unknown, opts: RenderOptions): Promise<RenderResult> {
  const started = performance.now();
  const draft = parseDraft(input);
  const totalMs = timelineDuration(draft);
  if (totalMs <= 0)
    throw new VidscribeError(ErrorCode.InvalidDraft, 'Invalid draft: t: the draft has no segments, nothing to render', { data: { field: 't' } });
  if (opts.signal?.aborted) throw new VidscribeError(ErrorCode.Cancelled, 'Cancelled before rendering started');
  const sources = await resolveSources(draft, opts);

  const out = resolve(opts.out);
  const partial = join(dirname(out), `.${basename(out)}.${process.pid}.partial`);
  await mkdir(dirname(out), { recursive: true });
  const work = await mkdtemp(join(opts.tmpDir ?? tmpdir(), 'vidscribe-render-'));
  const stall = new AbortController();
  let stalled = false;
  let stallTimer: NodeJS.Timeout | undefined;
  try {
    const ass = buildAss(draft);
    let assPath: string | undefined;
    if (ass) {
      assPath = join(work, 'text.ass');
      await writeFile(assPath, ass, 'utf8');
    }
    const compiled = compileDraft(draft, { sources, assPath, fontsDir: opts.fontsDir ?? DEFAULT_FONTS_DIR, output: partial, encoding: opts.encoding });
    const totalSec = compiled.durationSec;
    const timeoutMs = opts.timeoutMs ?? renderTimeoutMs(totalMs);
    const stallMs = opts.stallTimeoutMs ?? DEFAULT_STALL_MS;
    const armStall = () => {
      clearTimeout(stallTimer);
      stallTimer = setTimeout(() => {
        stalled = true;
        stall.abort();
      }, stallMs);
    };
    const signal = opts.signal ? AbortSignal.any([opts.signal, stall.signal]) : stall.signal;
    const runOpts = { what: 'rendering the video', timeoutMs, signal, failCode: ErrorCode.RenderFailed };
    const child = startTool('ffmpeg', compiled.args, runOpts);
    armStall();
    // The stall guard watches the output, not ffmpeg's clock: a report that brings no new frame
    // (and no new time within the timeline) is not progress.
    const watch = createOutputWatch(totalSec);
    const parser = createProgressParser(
      totalSec,
      (p) => {
        // ffmpeg's own "end" comes before the file is in place; the final 100 % is sent below.
        if (p.done) clearTimeout(stallTimer);
        else if (watch.advanced(p)) {
          armStall();
          opts.onProgress?.(p);
        }
      },
      compiled.frames,
    );
    child.stdout?.on('data', (chunk: Buffer) => parser.push(chunk.toString('latin1')));
    try {
      await Promise.all([settleTool(child, runOpts), limitMemory(child, opts.memoryLimitBytes ?? DEFAULT_RENDER_MEMORY_BYTES)]);
    } catch (e) {
      if (stalled && isVidscribeError(e, ErrorCode.Cancelled)) {
        throw new VidscribeError(ErrorCode.Timeout, `Rendering stalled: no new frames for ${stallMs / 1000} s`, {
          cause: e,
          stderr: e.stderr,
          exitCode: e.exitCode,
        });
      }
      throw e;
    }
    await rename(partial, out);
    const sizeBytes = (await stat(out)).size;
    opts.onProgress?.({ percent: 100, outTimeSec: totalSec, totalSec, done: true });
    return { out, durationSec: totalSec, frames: compiled.frames, fps: compiled.fps, sizeBytes, wallSec: (performance.now() - started) / 1000 };
  } catch (e) {
    await rm(partial, { force: true });
    throw e;
  } finally {
    clearTimeout(stallTimer);
    await rm(work, { recursive: true, force: true });
  }
}
