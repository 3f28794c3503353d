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
import { USER_MEDIA_INPUT_ARGS } from '../media/index.ts';
import { ErrorCode, VidscribeError } from '../shared/errors.ts';
import type { AudioMeta, Draft, Fit, VideoSegment } from './draft.ts';
import { DEFAULT_FPS, fpsRational, overlaySegments, parseRational, timelineDuration, visibleVideo, type VideoPiece } from './timeline.ts';

/** What the renderer learnt about a source by probing it. */
export interface SourceInfo {
  path: string;
  durationSec: number;
  hasVideo: boolean;
  hasAudio: boolean;
  width?: number;
  height?: number;
  fps?: number;
  /** A picture file: a still (jpg, png, webp, a one-frame gif) or an animated gif, which loops. */
  image?: 'still' | 'animated';
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
    '-c:v',
    'libx264',
    '-preset',
    enc.preset,
    '-crf',
    String(enc.crf),
    '-pix_fmt',
    'yuv420p',
    '-profile:v',
    'high',
    '-c:a',
    'aac',
    '-b:a',
    enc.audioBitrate,
    '-ar',
    String(enc.sampleRate),
    '-ac',
    '2',
    '-movflags',
    '+faststart',
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
  /** ffmpeg inputs opened (reads of the sources). */
  inputs: number;
}

/** Escapes a value for an ffmpeg filter option inside a filter graph (both quoting levels). */
export function escapeFilterValue(v: string): string {
  return v.replace(/[\\':]/g, '\\$&').replace(/[\\'[\],;]/g, '\\$&');
}

const even = (n: number): number => Math.max(2, Math.round(n / 2) * 2);
const sec = (ms: number): string => String(Math.round(ms) / 1000);
const exact = (s: number): string => String(Math.round(Math.max(0, s) * 1e6) / 1e6);
const frameAtMs = (ms: number, fps: number): number => Math.max(0, Math.round((ms * fps) / 1000 - 1e-9));

export function chooseFps(draft: Draft, sources: ReadonlyMap<string, SourceInfo>): string {
  if (draft.fps) return fpsRational(draft.fps);
  for (const t of draft.t) {
    if (t.tt !== 0) continue;
    for (const sg of t.sg) {
      const source = sources.get(sg.src);
      // A picture's "frame rate" is the demuxer's default (25), not the user's footage.
      if (source?.image || sg.m.overlay) continue;
      const fps = source?.fps;
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

/**
 * What one render may use. Beyond these a draft is refused (4101) naming the segment, instead of
 * letting one cheap request take the machine's memory and threads.
 */
export const RENDER_LIMITS = {
  /** ffmpeg inputs: each is a demuxer and a decoder with its own threads and frame buffers. */
  inputs: 16,
  /** Visible pieces of video, each its own scaling chain in the graph. */
  videoPieces: 600,
  /** Sounding audio parts, each its own chain in the mix. */
  audioParts: 600,
  /** A source is read straight on past at most this much unused footage; further on, a second read that seeks is cheaper. */
  skipMs: 30_000,
} as const;

/**
 * One read of a source: an ffmpeg input opened at `firstIn` for as long as its uses need. Its uses
 * come in timeline order and each starts at or after the previous one's end in the source, so the
 * graph cuts them out of one straight read (split + trim) and no decoded frame waits in a buffer
 * for a piece that plays later. A piece that goes back in its source (a repeat, a reversed order)
 * opens another read instead: two reads of one file are cheap, buffering a clip's raw frames is not.
 */
interface Read {
  path: string;
  /** Reads are shared by uses with the same key: the path, and for pictures the fit too (the read is fitted once). */
  key: string;
  loop: boolean;
  /** A still picture: decoded and fitted once, each use repeats the fitted frame. */
  still?: boolean;
  firstIn: number;
  lastEnd: number;
  lastTimelineEnd: number;
  uses: Use[];
  /** Input index in the ffmpeg command. */
  input: number;
  video?: Use[];
  audio?: Use[];
}

interface Use {
  /** Source range, ms. */
  inMs: number;
  endMs: number;
  /** Where it plays on the timeline, ms. */
  startMs: number;
  durMs: number;
  /** The segment it comes from, for refusals (`t[0].sg[3]`). */
  field: string;
  /** A piece of picture: its length in frames, and whether it reaches the last second of its file (it may run out of frames). */
  frames?: number;
  nearEnd?: boolean;
}

interface AudioPart {
  use: Use;
  /** Label of the stream this part is cut from, and the cut when it is one branch of a shared read. */
  from: string;
  cut: string;
  meta: AudioMeta;
}

const refuse = (field: string, message: string): VidscribeError =>
  new VidscribeError(ErrorCode.InvalidDraft, `Invalid draft: ${field}: ${message}`, { data: { field } });

/** Puts a use on a read of its source that can take it, or opens a new one. */
function place(reads: Read[], path: string, key: string, use: Use, frameMs: number): Read {
  let best: Read | undefined;
  for (const r of reads) {
    if (r.key !== key || r.loop) continue;
    const forward = use.inMs >= r.lastEnd - frameMs && use.inMs - r.lastEnd <= RENDER_LIMITS.skipMs && use.startMs >= r.lastTimelineEnd - frameMs;
    if (forward && (!best || r.lastEnd > best.lastEnd)) best = r;
  }
  if (best) {
    best.uses.push(use);
    best.lastEnd = Math.max(best.lastEnd, use.endMs);
    best.lastTimelineEnd = use.startMs + use.durMs;
    return best;
  }
  const r: Read = { path, key, loop: false, firstIn: use.inMs, lastEnd: use.endMs, lastTimelineEnd: use.startMs + use.durMs, uses: [use], input: -1 };
  reads.push(r);
  return r;
}

/** A sum of terms as a balanced tree: ffmpeg's expression parser refuses a flat sum of about 100 terms. */
function anyOf(terms: string[]): string {
  if (terms.length === 1) return terms[0]!;
  const mid = terms.length >> 1;
  return `(${anyOf(terms.slice(0, mid))}+${anyOf(terms.slice(mid))})`;
}

/** Same uses (to a frame): the picture and the sound of one read can come from one ffmpeg input. */
function sameUses(a: Use[], b: Use[], frameMs: number): boolean {
  return (
    a.length === b.length &&
    a.every((u, i) => {
      const v = b[i]!;
      return Math.abs(u.inMs - v.inMs) <= frameMs && Math.abs(u.startMs - v.startMs) <= frameMs && Math.abs(u.endMs - v.endMs) <= frameMs;
    })
  );
}

export function compileDraft(draft: Draft, opts: CompileOptions): CompiledRender {
  const totalMs = timelineDuration(draft);
  if (totalMs <= 0)
    throw new VidscribeError(ErrorCode.InvalidDraft, 'Invalid draft: t: the draft has no segments, nothing to render', { data: { field: 't' } });
  const fps = chooseFps(draft, opts.sources);
  const fpsNum = parseRational(fps);
  const frameMs = 1000 / fpsNum;
  const frames = Math.max(1, Math.round((totalMs * fpsNum) / 1000));
  const rate = (opts.encoding ?? ENCODING).sampleRate;
  const totalSamples = Math.max(1, Math.round((totalMs * rate) / 1000));
  const { w, h } = draft;

  const fields = new Map<object, string>();
  draft.t.forEach((t, ti) => {
    t.sg.forEach((sg, si) => {
      fields.set(sg, `t[${ti}].sg[${si}]`);
    });
  });
  const source = (src: string, field: string): SourceInfo => {
    const s = opts.sources.get(src);
    if (!s) throw refuse(`${field}.src`, 'this source was not resolved');
    return s;
  };

  // Video: pieces tile the timeline exactly; each clip piece is placed on a read of its source.
  const pieces: VideoPiece[] = visibleVideo(draft, fpsNum, frames);
  const clipCount = pieces.filter((p) => p.kind === 'clip').length;
  if (clipCount > RENDER_LIMITS.videoPieces) {
    const over = pieces.filter((p) => p.kind === 'clip')[RENDER_LIMITS.videoPieces]!;
    throw refuse(
      fields.get(over.kind === 'clip' ? over.segment : {}) ?? 't',
      `the video is cut into ${clipCount} pieces; a render takes at most ${RENDER_LIMITS.videoPieces}`,
    );
  }
  const videoReads: Read[] = [];
  const pieceUse = new Map<VideoPiece, { read: Read; use: Use }>();
  const fitOf = new Map<Read, Fit>();
  for (const p of pieces) {
    if (p.kind !== 'clip') continue;
    const field = fields.get(p.segment) ?? 't';
    const info = source(p.segment.src, field);
    const durMs = p.frames * frameMs;
    if (info.image) {
      const use: Use = { inMs: 0, endMs: durMs, startMs: p.startFrame * frameMs, durMs, field, frames: p.frames, nearEnd: true };
      const key = `${info.path}\n${p.segment.m.fit}\n${info.image}`;
      // A still's one frame is fitted once and shared; an animated gif is its own looping read.
      let read = info.image === 'still' ? videoReads.find((r) => r.still && r.key === key) : undefined;
      if (read) read.uses.push(use);
      else {
        read = {
          path: info.path,
          key,
          loop: info.image === 'animated',
          still: info.image === 'still',
          firstIn: 0,
          lastEnd: durMs,
          lastTimelineEnd: 0,
          uses: [use],
          input: -1,
        };
        videoReads.push(read);
      }
      (read.video ??= []).push(use);
      fitOf.set(read, p.segment.m.fit);
      pieceUse.set(p, { read, use });
      continue;
    }
    const use: Use = {
      inMs: p.inMs,
      endMs: p.inMs + durMs,
      startMs: p.startFrame * frameMs,
      durMs,
      field,
      frames: p.frames,
      nearEnd: !(info.durationSec > 0) || p.inMs + durMs > info.durationSec * 1000 - 1000,
    };
    const read = place(videoReads, info.path, `${info.path}\n${p.segment.m.fit}`, use, frameMs);
    (read.video ??= []).push(use);
    fitOf.set(read, p.segment.m.fit);
    pieceUse.set(p, { read, use });
  }

  // Audio: every sounding segment, placed at its start. A clip's sound is the whole segment
  // (a clip covered by an upper track is hidden, not muted).
  const audioReads: Read[] = [];
  const audioUses: { use: Use; meta: AudioMeta }[] = [];
  draft.t.forEach((track, ti) => {
    if (track.tt === 7) return;
    track.sg.forEach((sg, si) => {
      const field = `t[${ti}].sg[${si}]`;
      const info = source(sg.src, field);
      // Overlays are silent: a logo has no sound, and a picture-in-picture would talk over the main clip.
      if (!info.hasAudio || (track.tt === 0 && (sg as VideoSegment).m.overlay)) return;
      const meta: AudioMeta = track.tt === 1 ? (sg.m as AudioMeta) : { volume: (sg.m as { volume?: number }).volume ?? 1 };
      if (meta.volume <= 0) return;
      const inMs = sg.in ?? 0;
      const use: Use = { inMs, endMs: inMs + sg.d, startMs: sg.s, durMs: sg.d, field };
      // Music shorter than its segment loops (audio tracks only; a clip's sound just ends): a read of its own.
      const loop = track.tt === 1 && info.durationSec > 0 && inMs + sg.d > info.durationSec * 1000 + 1;
      let read: Read;
      if (loop) {
        read = { path: info.path, key: info.path, loop, firstIn: inMs, lastEnd: inMs + sg.d, lastTimelineEnd: sg.s + sg.d, uses: [use], input: -1 };
        audioReads.push(read);
      } else read = place(audioReads, info.path, info.path, use, frameMs);
      (read.audio ??= []).push(use);
      audioUses.push({ use, meta });
    });
  });
  if (audioUses.length > RENDER_LIMITS.audioParts) {
    throw refuse(audioUses[RENDER_LIMITS.audioParts]!.use.field, `${audioUses.length} segments have sound; a render mixes at most ${RENDER_LIMITS.audioParts}`);
  }

  // A clip's sound read along with its picture shares the picture's input (the usual case).
  const inputs: Read[] = [];
  for (const r of videoReads) {
    r.input = inputs.length;
    inputs.push(r);
  }
  for (const r of audioReads) {
    const twin = !r.loop && videoReads.find((v) => !v.audio && v.path === r.path && sameUses(v.uses, r.uses, frameMs));
    if (twin) {
      twin.audio = r.audio;
      r.input = twin.input;
      continue;
    }
    r.input = inputs.length;
    inputs.push(r);
  }
  // Overlays: one read each, drawn over the joined video in track order.
  const overlays = overlaySegments(draft).map((segment) => {
    const field = fields.get(segment) ?? 't';
    const info = source(segment.src, field);
    const s0 = frameAtMs(segment.s, fpsNum);
    const e0 = Math.min(frameAtMs(segment.s + segment.d, fpsNum), frames);
    const inMs = info.image ? 0 : (segment.in ?? 0);
    const durMs = Math.max(0, e0 - s0) * frameMs;
    const read: Read = {
      path: info.path,
      key: `overlay\n${inputs.length}`,
      loop: info.image === 'animated',
      still: info.image === 'still',
      firstIn: inMs,
      lastEnd: inMs + durMs,
      lastTimelineEnd: 0,
      uses: [{ inMs, endMs: inMs + durMs, startMs: s0 * frameMs, durMs, field }],
      input: inputs.length,
    };
    inputs.push(read);
    return { read, placement: segment.m.overlay!, startFrame: s0, frames: e0 - s0 };
  });
  if (inputs.length > RENDER_LIMITS.inputs) {
    const over = inputs[RENDER_LIMITS.inputs]!;
    throw refuse(
      `${over.uses[0]!.field}.in`,
      `the draft jumps back and forth in its sources too often: it would read them ${inputs.length} times, and a render reads at most ${RENDER_LIMITS.inputs} (keep the pieces of a file in the file's order, or use fewer)`,
    );
  }

  const graph: string[] = [];
  // Each read's streams, split into one branch per use when it has several.
  const branch = new Map<Use, { label: string; cut: string }>();
  for (const r of inputs) {
    if (r.still && r.video) {
      // One decoded frame, fitted once; each use repeats it for its exact frame count.
      const labels = r.video.map((_, j) => `r${r.input}v${j}`);
      graph.push(
        `[${r.input}:v]${fitFilters(fitOf.get(r)!, w, h, `r${r.input}f`)},setsar=1,format=yuv420p` +
          (labels.length > 1 ? `,split=${labels.length}${labels.map((l) => `[${l}]`).join('')}` : `[${labels[0]}]`),
      );
      r.video.forEach((u, j) => {
        branch.set(u, { label: labels[j]!, cut: 'still' });
      });
    } else if (r.video && r.video.length > 1) {
      // Fitted once, before the split: per-piece filters would each keep their own canvas-sized
      // frame pools (200 pieces at 1080p: over a gigabyte). Frames no piece uses are dropped first.
      const labels = r.video.map((_, j) => `r${r.input}v${j}`);
      const used = anyOf(r.video.map((u) => `between(t\\,${sec(u.inMs - r.firstIn - frameMs)}\\,${sec(u.endMs - r.firstIn + frameMs)})`));
      graph.push(
        `[${r.input}:v]setpts=PTS-STARTPTS,fps=${fps},select=${used},${fitFilters(fitOf.get(r)!, w, h, `r${r.input}f`)},setsar=1,format=yuv420p,` +
          `split=${labels.length}${labels.map((l) => `[${l}]`).join('')}`,
      );
      // Cut on the read's frame grid, a quarter frame early (trim rounds to its time base), so each piece gets exactly its frames.
      r.video.forEach((u, j) => {
        const first = Math.round(((u.inMs - r.firstIn) * fpsNum) / 1000);
        branch.set(u, { label: labels[j]!, cut: `trim=start=${exact((first - 0.25) / fpsNum)}:end=${exact((first + u.frames! - 0.25) / fpsNum)},` });
      });
    } else if (r.video) branch.set(r.video[0]!, { label: `${r.input}:v`, cut: '' });
    if (r.audio && r.audio.length > 1) {
      const labels = r.audio.map((_, j) => `r${r.input}a${j}`);
      graph.push(
        `[${r.input}:a]aresample=${rate},aformat=sample_fmts=fltp:channel_layouts=stereo,asetpts=PTS-STARTPTS,asplit=${labels.length}${labels.map((l) => `[${l}]`).join('')}`,
      );
      r.audio.forEach((u, j) => {
        branch.set(u, { label: labels[j]!, cut: `atrim=start=${sec(u.inMs - r.firstIn)}:end=${sec(u.endMs - r.firstIn)},` });
      });
    } else if (r.audio) branch.set(r.audio[0]!, { label: `${r.input}:a`, cut: '' });
  }

  const pieceLabels: string[] = [];
  pieces.forEach((p, i) => {
    const label = `v${i}`;
    pieceLabels.push(label);
    if (p.kind === 'gap') {
      graph.push(`color=c=${BACKGROUND}:s=${w}x${h}:r=${fps},setsar=1,format=yuv420p,trim=end_frame=${p.frames}[${label}]`);
      return;
    }
    const { use } = pieceUse.get(p)!;
    const b = branch.get(use)!;
    if (b.cut === 'still') {
      graph.push(`[${b.label}]loop=loop=-1:size=1,trim=end_frame=${p.frames},setpts=N/(${fps})/TB,fps=${fps}[${label}]`);
      return;
    }
    // tpad clones the last frame if the source ends early (a clip longer than its file), and trim
    // cuts to the exact frame count, so every piece is as long as the timeline says.
    const pad = `tpad=stop_mode=clone:stop_duration=${sec(use.durMs + 1000)},trim=end_frame=${p.frames},setpts=PTS-STARTPTS[${label}]`;
    // A piece cut from a shared read is padded only near its file's end: tpad keeps its last
    // frame until the run ends, a canvas-sized frame per piece.
    if (b.cut) graph.push(`[${b.label}]${b.cut}setpts=PTS-STARTPTS${use.nearEnd ? `,${pad}` : `[${label}]`}`);
    else graph.push(`[${b.label}]setpts=PTS-STARTPTS,fps=${fps},${fitFilters(p.segment.m.fit, w, h, `f${i}`)},setsar=1,format=yuv420p,${pad}`);
  });
  let videoOut: string;
  if (pieceLabels.length === 1) videoOut = pieceLabels[0]!;
  else {
    // concat guesses a piece's length from its frames' spacing, which a one-frame piece does not
    // have: the pieces are exact frame counts, so the joined video is simply renumbered.
    graph.push(`${pieceLabels.map((l) => `[${l}]`).join('')}concat=n=${pieceLabels.length}:v=1:a=0,setpts=N/(${fps})/TB[vcat]`);
    videoOut = 'vcat';
  }
  overlays.forEach((o, i) => {
    if (o.frames <= 0) return;
    const { read, placement } = o;
    const ow = even((w * placement.widthPct) / 100);
    const margin = Math.round((Math.min(w, h) * (placement.marginPct ?? 3)) / 100);
    const x = placement.corner === 'center' ? '(W-w)/2' : placement.corner.endsWith('left') ? String(margin) : `W-w-${margin}`;
    const y = placement.corner === 'center' ? '(H-h)/2' : placement.corner.startsWith('top') ? String(margin) : `H-h-${margin}`;
    const picture = read.still
      ? `[${read.input}:v]scale=${ow}:-2,format=yuva420p,loop=loop=-1:size=1,trim=end_frame=${o.frames},setpts=N/(${fps})/TB`
      : `[${read.input}:v]setpts=PTS-STARTPTS,fps=${fps},scale=${ow}:-2,format=yuva420p,trim=end_frame=${o.frames},setpts=N/(${fps})/TB`;
    // Shifted to its start on the timeline; before it and after its end the video passes unchanged.
    graph.push(`${picture}+${exact(o.startFrame / fpsNum)}/TB[ov${i}]`);
    graph.push(`[${videoOut}][ov${i}]overlay=x=${x}:y=${y}:eof_action=pass:format=auto,format=yuv420p[vov${i}]`);
    videoOut = `vov${i}`;
  });
  if (opts.assPath) {
    const fontsdir = opts.fontsDir ? `:fontsdir=${escapeFilterValue(opts.fontsDir)}` : '';
    graph.push(`[${videoOut}]ass=filename=${escapeFilterValue(opts.assPath)}${fontsdir}[vout]`);
  } else {
    graph.push(`[${videoOut}]null[vout]`);
  }

  const parts: AudioPart[] = audioUses.map(({ use, meta }) => {
    const b = branch.get(use)!;
    return { use, meta, from: b.label, cut: b.cut };
  });
  const mainLabels: string[] = [];
  const duckLabels: string[] = [];
  parts.forEach((p, i) => {
    const { use, meta } = p;
    const f = p.cut
      ? [p.cut.slice(0, -1), 'asetpts=PTS-STARTPTS']
      : [`aresample=${rate}`, `aformat=sample_fmts=fltp:channel_layouts=stereo`, `asetpts=PTS-STARTPTS`, `atrim=end=${sec(use.durMs)}`];
    if (meta.volume !== 1) f.push(`volume=${meta.volume}`);
    if (meta.fade_in_ms) f.push(`afade=t=in:st=0:d=${sec(meta.fade_in_ms)}`);
    if (meta.fade_out_ms) f.push(`afade=t=out:st=${sec(use.durMs - meta.fade_out_ms)}:d=${sec(meta.fade_out_ms)}`);
    if (use.startMs > 0) f.push(`adelay=delays=${Math.round(use.startMs)}:all=1`);
    graph.push(`[${p.from}]${f.join(',')}[a${i}]`);
    (meta.duck ? duckLabels : mainLabels).push(`a${i}`);
  });
  const mix = (labels: string[], out: string): string => {
    if (labels.length === 1) return labels[0]!;
    graph.push(`${labels.map((l) => `[${l}]`).join('')}amix=inputs=${labels.length}:normalize=0:duration=longest[${out}]`);
    return out;
  };
  // The end is counted in samples, not time: amix loses its timestamps once an input ends (ffmpeg
  // 5.x), and a time-based atrim after an endless apad then never ends, so the render ran forever.
  const end = `apad=whole_len=${totalSamples},atrim=end_sample=${totalSamples},asetpts=N/SR/TB[aout]`;
  if (parts.length === 0) {
    graph.push(`anullsrc=r=${rate}:cl=stereo,atrim=end_sample=${totalSamples}[aout]`);
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
  for (const r of inputs) {
    // Many reads share the machine: one decoding thread each instead of one per core each.
    if (inputs.length > 2) args.push('-threads', '1');
    // User media opens only with the demuxers we accept (an HLS playlist must not open other files).
    args.push(...USER_MEDIA_INPUT_ARGS);
    if (r.still) {
      // A still is one frame, read once: no seeking, no length.
      args.push('-i', r.path);
      continue;
    }
    if (r.loop) args.push('-stream_loop', '-1');
    if (r.firstIn > 0) args.push('-ss', sec(r.firstIn));
    // A read cut into pieces runs half a second on, so that its last piece does not end with the input.
    const span = r.lastEnd - r.firstIn + ((r.video?.length ?? 0) > 1 ? 500 : 0);
    args.push('-t', sec(Math.ceil(span)), '-i', r.path);
  }
  const filterGraph = graph.join(';\n');
  args.push('-filter_complex', filterGraph, '-map', '[vout]', '-map', '[aout]', ...encoderArgs(opts.encoding));
  // A backstop on the output's length: whatever the graph does, the file ends with the timeline
  // (-t, not -frames:v, which in ffmpeg 5 ends every stream of the file with the video's last frame).
  args.push('-t', sec(totalMs + 1000), '-max_muxing_queue_size', '4096', '-f', 'mp4', opts.output);
  return { args, filterGraph, fps, frames, durationSec: totalMs / 1000, inputs: inputs.length };
}
