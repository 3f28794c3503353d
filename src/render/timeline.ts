/**
 * Timeline math: durations, canvases, frame rates and what is visible when. Pure.
 */
import type { Draft, VideoSegment } from './draft.ts';

export type Aspect = '16:9' | '9:16' | '1:1';
export type Resolution = '1080p' | '720p';
export const ASPECTS: readonly Aspect[] = ['16:9', '9:16', '1:1'];
export const RESOLUTIONS: readonly Resolution[] = ['1080p', '720p'];

/** Canvas size for an aspect: the resolution names the shorter side (a 1080p 9:16 video is 1080×1920). */
export function canvasFor(aspect: Aspect, resolution: Resolution = '1080p'): { w: number; h: number } {
  const short = resolution === '720p' ? 720 : 1080;
  const long = resolution === '720p' ? 1280 : 1920;
  if (aspect === '16:9') return { w: long, h: short };
  if (aspect === '9:16') return { w: short, h: long };
  return { w: short, h: short };
}

/** End of the last segment on any track, ms. */
export function timelineDuration(draft: Draft): number {
  let end = 0;
  for (const t of draft.t) for (const sg of t.sg) end = Math.max(end, sg.s + sg.d);
  return end;
}

export const DEFAULT_FPS = 30;

/** ffmpeg rate string: NTSC rates as exact rationals so 29.97 does not drift by a frame a minute. */
export function fpsRational(fps: number): string {
  for (const base of [24, 30, 60]) {
    if (Math.abs(fps - (base * 1000) / 1001) < 0.01) return `${base * 1000}/1001`;
  }
  return Number.isInteger(fps) ? String(fps) : String(Math.round(fps * 1000) / 1000);
}

export function parseRational(rate: string): number {
  const [n, d] = rate.split('/').map(Number);
  return d ? n! / d : n!;
}

/** Index of the frame that starts at (or just after) `ms` on a timeline at `fps`. */
export function frameAt(ms: number, fps: number): number {
  return Math.max(0, Math.round((ms * fps) / 1000 - 1e-9));
}

export type VideoPiece =
  | { kind: 'gap'; startFrame: number; frames: number }
  | {
      kind: 'clip';
      startFrame: number;
      frames: number;
      segment: VideoSegment;
      /** Offset into the source where this piece starts, ms. */
      inMs: number;
    };

/**
 * What the video shows, frame by frame, as a run of pieces that exactly tile [0, totalFrames):
 * clips where a video segment is visible, gaps (background) elsewhere. Later tracks draw above
 * earlier ones, later segments above earlier ones in a track; a covered part of a clip is cut out.
 * Working in frames, not ms, makes the pieces add up to the total with no rounding drift.
 */
export function visibleVideo(draft: Draft, fps: number, totalFrames: number): VideoPiece[] {
  interface Span {
    start: number;
    end: number;
    segment: VideoSegment;
  }
  let spans: Span[] = [];
  for (const track of draft.t) {
    if (track.tt !== 0) continue;
    for (const segment of track.sg) {
      // Overlays are drawn above the video and hide nothing.
      if (segment.m.overlay) continue;
      const start = Math.min(frameAt(segment.s, fps), totalFrames);
      const end = Math.min(frameAt(segment.s + segment.d, fps), totalFrames);
      if (end <= start) continue;
      const next: Span[] = [];
      for (const sp of spans) {
        if (sp.end <= start || sp.start >= end) next.push(sp);
        else {
          if (sp.start < start) next.push({ ...sp, end: start });
          if (sp.end > end) next.push({ ...sp, start: end });
        }
      }
      next.push({ start, end, segment });
      spans = next;
    }
  }
  spans.sort((a, b) => a.start - b.start);
  const pieces: VideoPiece[] = [];
  let at = 0;
  for (const sp of spans) {
    if (sp.start > at) pieces.push({ kind: 'gap', startFrame: at, frames: sp.start - at });
    // Offset from the segment's own first frame, so an uncut clip starts exactly at its `in`.
    const offsetMs = Math.round(((sp.start - frameAt(sp.segment.s, fps)) * 1000) / fps);
    pieces.push({ kind: 'clip', startFrame: sp.start, frames: sp.end - sp.start, segment: sp.segment, inMs: (sp.segment.in ?? 0) + offsetMs });
    at = sp.end;
  }
  if (at < totalFrames) pieces.push({ kind: 'gap', startFrame: at, frames: totalFrames - at });
  return pieces;
}

/** The draft's overlays (pictures drawn over the video), bottom first. */
export function overlaySegments(draft: Draft): VideoSegment[] {
  const out: VideoSegment[] = [];
  for (const track of draft.t) if (track.tt === 0) for (const sg of track.sg) if (sg.m.overlay) out.push(sg);
  return out;
}
