/**
 * Compiles a draft into the arguments of one ffmpeg run. Pure: sources arrive already probed,
 * the .ass file path is given; nothing here touches the disk or spawns anything.
 *
 * Graph shape:
 *   video  every visible piece of a clip (or gap) is normalised to the canvas (fit, fps, SAR,
 *          yuv420p, exact frame count) and the pieces are concatenated; then libass draws the
 *          text. Concatenating instead of overlaying on a canvas costs nothing per frame, so a
 *          draft with one clip runs at plain-transcode speed.
 *   audio  each clip's own sound and each audio segment: resampled, trimmed, volume, fades,
 *          delayed to its start; summed without amix's 1/n scaling; ducked segments pass a
 *          sidechain compressor keyed by the rest (the speech); padded/cut to the timeline.
 */
import { ErrorCode, VidscribeError } from '../shared/errors.ts';
import type { AudioMeta, Draft, Fit } from './draft.ts';
import { DEFAULT_FPS, fpsRational, parseRational, timelineDuration, visibleVideo, type VideoPiece } from './timeline.ts';

/** What the renderer learnt about a source by probing it. */
export interface SourceInfo {
  path: string;
  durationSec: number;
  hasVideo: boolean;
  hasAudio: boolean;
  width?: number;
  height?: number;
  fps?: number;
}

/**
 * libx264 veryfast at CRF 23 (x264's default quality): veryfast runs ~2–3× faster than medium for
 * ~10–15 % more bits at the same quality, the usual trade for on-demand exports on small CPUs;
 * CRF 23 is visually clean for talking heads and screen content at 1080p. yuv420p, High profile,
 * AAC 160 kb/s stereo 48 kHz: plays everywhere (browsers, phones, social uploads).
 */
export const ENCODING = {
  preset: 'veryfast',
  crf: 23,
  audioBitrate: '160k',
  sampleRate: 48_000,
} as const;

export type EncodingSettings = { preset: string; crf: number; audioBitrate: string; sampleRate: number };

/** Output codec arguments, shared with the benchmark's plain transcode so both encode alike. */
export function encoderArgs(enc: EncodingSettings = ENCODING): string[] {
  return [
    '-c:v', 'libx264', '-preset', enc.preset, '-crf', String(enc.crf), '-pix_fmt', 'yuv420p', '-profile:v', 'high',
    '-c:a', 'aac', '-b:a', enc.audioBitrate, '-ar', String(enc.sampleRate), '-ac', '2',
    '-movflags', '+faststart',
  ];
}

export const BACKGROUND = 'black';

export interface CompileOptions {
  /** Probed sources by the segments' `src`. */
  sources: ReadonlyMap<string, SourceInfo>;
  /** The .ass file with the draft's text, when it has any. */
  assPath?: string;
  fontsDir?: string;
  output: string;
  encoding?: EncodingSettings;
}

export interface CompiledRender {
  args: string[];
  filterGraph: string;
  fps: string;
  frames: number;
  durationSec: number;
}

/** Escapes a value for an ffmpeg filter option inside a filter graph (both quoting levels). */
export function escapeFilterValue(v: string): string {
  return v.replace(/[\\':]/g, '\\$&').replace(/[\\'[\],;]/g, '\\$&');
}

const even = (n: number): number => Math.max(2, Math.round(n / 2) * 2);
const sec = (ms: number): string => String(Math.round(ms) / 1000);

export function chooseFps(draft: Draft, sources: ReadonlyMap<string, SourceInfo>): string {
  if (draft.fps) return fpsRational(draft.fps);
  for (const t of draft.t) {
    if (t.tt !== 0) continue;
    for (const sg of t.sg) {
      const fps = sources.get(sg.src)?.fps;
      // Sources above 60 fps (slow-motion phone clips) are exported at 60.
      if (fps && fps > 0) return fpsRational(Math.min(60, fps));
    }
  }
  return String(DEFAULT_FPS);
}

/** Filters fitting a source into W×H. */
export function fitFilters(fit: Fit, w: number, h: number, label: string): string {
  const contain = `scale=${w}:${h}:force_original_aspect_ratio=decrease:force_divisible_by=2,pad=${w}:${h}:(ow-iw)/2:(oh-ih)/2:color=${BACKGROUND}`;
  if (fit === 'contain') return contain;
  if (fit === 'cover') return `scale=${w}:${h}:force_original_aspect_ratio=increase,crop=${w}:${h}`;
  // Blur: the source, cropped to fill the canvas and blurred, behind the contained source. The
  // blur runs at 1/8 size and is scaled up: same look, a fraction of the cost of a 1080p blur.
  const bw = Math.max(32, even(w / 8));
  const bh = Math.max(32, even(h / 8));
  const radius = Math.max(1, Math.min(8, Math.floor(Math.min(bw, bh) / 8)));
  return [
    `split=2[${label}bg][${label}fg]`,
    `[${label}bg]scale=${bw}:${bh}:force_original_aspect_ratio=increase,crop=${bw}:${bh},boxblur=${radius}:2,scale=${w}:${h}:flags=bilinear,setsar=1[${label}bb]`,
    `[${label}fg]scale=${w}:${h}:force_original_aspect_ratio=decrease:force_divisible_by=2,setsar=1[${label}ff]`,
    `[${label}bb][${label}ff]overlay=(W-w)/2:(H-h)/2`,
  ].join(';');
}

interface Input {
  path: string;
  inMs: number;
  durMs: number;
  loop: boolean;
}

interface AudioPart {
  input: number;
  startMs: number;
  durMs: number;
  meta: AudioMeta;
}

export function compileDraft(draft: Draft, opts: CompileOptions): CompiledRender {
  const totalMs = timelineDuration(draft);
  if (totalMs <= 0) throw new VidscribeError(ErrorCode.InvalidDraft, 'Invalid draft: t: the draft has no segments, nothing to render');
  const fps = chooseFps(draft, opts.sources);
  const fpsNum = parseRational(fps);
  const frames = Math.max(1, Math.round((totalMs * fpsNum) / 1000));
  const { w, h } = draft;

  const inputs: Input[] = [];
  const inputIndex = (inp: Input): number => {
    const i = inputs.findIndex((x) => x.path === inp.path && x.inMs === inp.inMs && x.durMs === inp.durMs && x.loop === inp.loop);
    if (i >= 0) return i;
    inputs.push(inp);
    return inputs.length - 1;
  };
  const source = (src: string, field: string): SourceInfo => {
    const s = opts.sources.get(src);
    if (!s) throw new VidscribeError(ErrorCode.InvalidDraft, `Invalid draft: ${field}: source "${src}" was not resolved`);
    return s;
  };

  const graph: string[] = [];

  // Video: pieces tile the timeline exactly.
  const pieces: VideoPiece[] = visibleVideo(draft, fpsNum, frames);
  const pieceLabels: string[] = [];
  pieces.forEach((p, i) => {
    const label = `v${i}`;
    pieceLabels.push(label);
    if (p.kind === 'gap') {
      graph.push(`color=c=${BACKGROUND}:s=${w}x${h}:r=${fps},setsar=1,format=yuv420p,trim=end_frame=${p.frames}[${label}]`);
      return;
    }
    const info = source(p.segment.src, `segment ${p.segment.id}`);
    const durMs = (p.frames * 1000) / fpsNum;
    const k = inputIndex({ path: info.path, inMs: p.inMs, durMs: Math.ceil(durMs), loop: false });
    // tpad clones the last frame if the source ends early (a clip longer than its file), and trim
    // cuts to the exact frame count, so every piece is as long as the timeline says.
    graph.push(
      `[${k}:v]setpts=PTS-STARTPTS,fps=${fps},${fitFilters(p.segment.m.fit, w, h, `f${i}`)},setsar=1,format=yuv420p,` +
        `tpad=stop_mode=clone:stop_duration=${sec(durMs + 1000)},trim=end_frame=${p.frames},setpts=PTS-STARTPTS[${label}]`,
    );
  });
  let videoOut: string;
  if (pieceLabels.length === 1) videoOut = pieceLabels[0]!;
  else {
    graph.push(`${pieceLabels.map((l) => `[${l}]`).join('')}concat=n=${pieceLabels.length}:v=1:a=0[vcat]`);
    videoOut = 'vcat';
  }
  if (opts.assPath) {
    const fontsdir = opts.fontsDir ? `:fontsdir=${escapeFilterValue(opts.fontsDir)}` : '';
    graph.push(`[${videoOut}]ass=filename=${escapeFilterValue(opts.assPath)}${fontsdir}[vout]`);
  } else {
    graph.push(`[${videoOut}]null[vout]`);
  }

  // Audio: every sounding segment, placed at its start.
  const parts: AudioPart[] = [];
  draft.t.forEach((track, ti) => {
    if (track.tt === 7) return;
    track.sg.forEach((sg, si) => {
      const info = source(sg.src, `t[${ti}].sg[${si}].src`);
      if (!info.hasAudio) return;
      const meta: AudioMeta = track.tt === 1 ? sg.m as AudioMeta : { volume: (sg.m as { volume?: number }).volume ?? 1 };
      if (meta.volume <= 0) return;
      const inMs = sg.in ?? 0;
      // Music shorter than its segment loops (audio tracks only; a clip's sound just ends).
      const loop = track.tt === 1 && info.durationSec > 0 && inMs + sg.d > info.durationSec * 1000 + 1;
      parts.push({ input: inputIndex({ path: info.path, inMs, durMs: sg.d, loop }), startMs: sg.s, durMs: sg.d, meta });
    });
  });
  const rate = (opts.encoding ?? ENCODING).sampleRate;
  const mainLabels: string[] = [];
  const duckLabels: string[] = [];
  parts.forEach((p, i) => {
    const f = [`aresample=${rate}`, `aformat=sample_fmts=fltp:channel_layouts=stereo`, `asetpts=PTS-STARTPTS`, `atrim=end=${sec(p.durMs)}`];
    if (p.meta.volume !== 1) f.push(`volume=${p.meta.volume}`);
    if (p.meta.fade_in_ms) f.push(`afade=t=in:st=0:d=${sec(p.meta.fade_in_ms)}`);
    if (p.meta.fade_out_ms) f.push(`afade=t=out:st=${sec(p.durMs - p.meta.fade_out_ms)}:d=${sec(p.meta.fade_out_ms)}`);
    if (p.startMs > 0) f.push(`adelay=delays=${Math.round(p.startMs)}:all=1`);
    graph.push(`[${p.input}:a]${f.join(',')}[a${i}]`);
    (p.meta.duck ? duckLabels : mainLabels).push(`a${i}`);
  });
  const mix = (labels: string[], out: string): string => {
    if (labels.length === 1) return labels[0]!;
    graph.push(`${labels.map((l) => `[${l}]`).join('')}amix=inputs=${labels.length}:normalize=0:duration=longest[${out}]`);
    return out;
  };
  const end = `apad,atrim=end=${sec(totalMs)},asetpts=PTS-STARTPTS[aout]`;
  if (parts.length === 0) {
    graph.push(`anullsrc=r=${rate}:cl=stereo,atrim=end=${sec(totalMs)}[aout]`);
  } else if (duckLabels.length && mainLabels.length) {
    const main = mix(mainLabels, 'amain');
    const duck = mix(duckLabels, 'aduck');
    // Ducking: ~8:1 above -30 dBFS of speech, fast attack, slow release so music does not pump between words.
    graph.push(`[${main}]asplit=2[amainout][amainsc]`);
    graph.push(`[${duck}][amainsc]sidechaincompress=threshold=0.03:ratio=8:attack=20:release=400[aducked]`);
    graph.push(`[amainout][aducked]amix=inputs=2:normalize=0:duration=longest,${end}`);
  } else {
    graph.push(`[${mix([...mainLabels, ...duckLabels], 'amix')}]${end}`);
  }

  const args = ['-nostdin', '-hide_banner', '-loglevel', 'error', '-nostats', '-progress', 'pipe:1', '-y'];
  for (const inp of inputs) {
    if (inp.loop) args.push('-stream_loop', '-1');
    if (inp.inMs > 0) args.push('-ss', sec(inp.inMs));
    args.push('-t', sec(inp.durMs), '-i', inp.path);
  }
  const filterGraph = graph.join(';\n');
  args.push('-filter_complex', filterGraph, '-map', '[vout]', '-map', '[aout]', ...encoderArgs(opts.encoding), '-max_muxing_queue_size', '4096', '-f', 'mp4', opts.output);
  return { args, filterGraph, fps, frames, durationSec: totalMs / 1000 };
}
