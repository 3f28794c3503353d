/**
 * The I/O edge of rendering: validates the draft, probes its sources, writes the captions file,
 * runs ffmpeg once with progress, cancellation, a timeout and a stall guard, and moves the
 * finished MP4 into place (a reader never sees half a file).
 */
import { mkdir, mkdtemp, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { probeMedia } from '../media/index.ts';
import { ErrorCode, VidscribeError, isVidscribeError } from '../shared/errors.ts';
import { settleTool, startTool } from '../shared/process.ts';
import { DEFAULT_FONTS_DIR, buildAss } from './ass.ts';
import { compileDraft, type EncodingSettings, type SourceInfo } from './compile.ts';
import { parseDraft, type Draft } from './draft.ts';
import { createProgressParser, type RenderProgress } from './progress.ts';
import { timelineDuration } from './timeline.ts';

export interface RenderOptions {
  /** Where the MP4 goes. */
  out: string;
  /** Folder that relative `src` paths are resolved against (the draft file's folder); default: cwd. */
  baseDir?: string;
  /** Maps a segment's `src` to a file path (the service's media ids); default: a path. */
  resolveSource?: (src: string) => string | Promise<string>;
  signal?: AbortSignal;
  /** Whole-run limit; default 10 min or 20× the timeline, whichever is longer. */
  timeoutMs?: number;
  /** Fails when ffmpeg reports no progress for this long (a hung input); default 120 s. */
  stallTimeoutMs?: number;
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

const DEFAULT_STALL_MS = 120_000;

/** Probes every distinct source once; a missing or broken file fails with its coded error and the field that names it. */
export async function resolveSources(draft: Draft, opts: Pick<RenderOptions, 'baseDir' | 'resolveSource' | 'signal'>): Promise<Map<string, SourceInfo>> {
  const sources = new Map<string, SourceInfo>();
  for (const [ti, track] of draft.t.entries()) {
    if (track.tt === 7) continue;
    for (const [si, sg] of track.sg.entries()) {
      const field = `t[${ti}].sg[${si}].src`;
      let info = sources.get(sg.src);
      if (!info) {
        const path = opts.resolveSource ? await opts.resolveSource(sg.src) : isAbsolute(sg.src) ? sg.src : resolve(opts.baseDir ?? process.cwd(), sg.src);
        try {
          const m = await probeMedia(path, { maxBytes: Number.MAX_SAFE_INTEGER, signal: opts.signal });
          const v = m.video[0];
          info = { path, durationSec: m.durationSec, hasVideo: !!v, hasAudio: m.audio.length > 0 };
          if (v) Object.assign(info, { width: v.width, height: v.height, fps: v.fps });
        } catch (e) {
          if (!isVidscribeError(e)) throw e;
          throw new VidscribeError(e.code, `${field}: ${e.message}`, { cause: e, stderr: e.stderr, exitCode: e.exitCode, data: { ...e.data, field } });
        }
        sources.set(sg.src, info);
      }
      if (track.tt === 0 && !info.hasVideo) {
        throw new VidscribeError(ErrorCode.InvalidDraft, `Invalid draft: ${field}: ${basename(info.path)} has no video stream; put it on an audio track (tt 1)`, { data: { field } });
      }
      // A clip that starts past the end of its file would yield no frames and shorten the video.
      if (info.durationSec > 0 && (sg.in ?? 0) >= info.durationSec * 1000) {
        throw new VidscribeError(ErrorCode.InvalidDraft, `Invalid draft: t[${ti}].sg[${si}].in: ${sg.in} ms is past the end of ${basename(info.path)} (${info.durationSec.toFixed(3)} s)`, {
          data: { field: `t[${ti}].sg[${si}].in` },
        });
      }
      if (track.tt === 1 && !info.hasAudio) {
        throw new VidscribeError(ErrorCode.NoAudioStream, `${field}: ${basename(info.path)} has no audio stream`, { data: { field } });
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
  if (totalMs <= 0) throw new VidscribeError(ErrorCode.InvalidDraft, 'Invalid draft: t: the draft has no segments, nothing to render', { data: { field: 't' } });
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
    const timeoutMs = opts.timeoutMs ?? Math.max(10 * 60_000, totalSec * 20_000);
    const stallMs = opts.stallTimeoutMs ?? DEFAULT_STALL_MS;
    const armStall = () => {
      clearTimeout(stallTimer);
      stallTimer = setTimeout(() => {
        stalled = true;
        stall.abort();
      }, stallMs);
    };
    const signal = opts.signal ? AbortSignal.any([opts.signal, stall.signal]) : stall.signal;
    const runOpts = { what: `rendering ${basename(out)}`, timeoutMs, signal, failCode: ErrorCode.RenderFailed };
    const child = startTool('ffmpeg', compiled.args, runOpts);
    armStall();
    const parser = createProgressParser(totalSec, (p) => {
      // ffmpeg's own "end" comes before the file is in place; the final 100 % is sent below.
      if (p.done) clearTimeout(stallTimer);
      else {
        armStall();
        opts.onProgress?.(p);
      }
    });
    child.stdout?.on('data', (chunk: Buffer) => parser.push(chunk.toString('latin1')));
    try {
      await settleTool(child, runOpts);
    } catch (e) {
      if (stalled && isVidscribeError(e, ErrorCode.Cancelled)) {
        throw new VidscribeError(ErrorCode.Timeout, `Rendering ${basename(out)} stalled: ffmpeg reported no progress for ${stallMs / 1000} s`, { cause: e, stderr: e.stderr, exitCode: e.exitCode });
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
