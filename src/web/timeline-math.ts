/**
 * The draft drawn on a time ruler: times (ms) to positions, and ruler ticks at a readable step.
 * Pure, unit-tested in Node; Timeline.tsx only draws what this returns.
 */
import type { Draft } from '../render/draft.ts';

export type TrackKind = 'video' | 'audio' | 'text';

export interface DrawnSegment {
  id: string;
  /** Percent of the ruler's width. */
  left: number;
  width: number;
  label: string;
  startMs: number;
  durationMs: number;
}

export interface DrawnTrack {
  id: string;
  kind: TrackKind;
  segments: DrawnSegment[];
}

/** The timeline's length: the end of its last segment (at least 1 ms, so nothing divides by 0). */
export function draftDurationMs(draft: Pick<Draft, 't'>): number {
  let end = 0;
  for (const t of draft.t) for (const s of t.sg) end = Math.max(end, s.s + s.d);
  return Math.max(1, end);
}

/** A time as a position along a ruler `widthPx` wide showing `durationMs`, clamped to the ruler. */
export function timeToPx(ms: number, durationMs: number, widthPx: number): number {
  if (durationMs <= 0 || widthPx <= 0) return 0;
  return Math.min(widthPx, Math.max(0, (ms / durationMs) * widthPx));
}

const STEPS_MS = [100, 250, 500, 1000, 2000, 5000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000, 1_800_000, 3_600_000];

/** The smallest "round" step that keeps ticks at least `minGapPx` apart. */
export function tickStepMs(durationMs: number, widthPx: number, minGapPx = 64): number {
  if (widthPx <= 0) return STEPS_MS[STEPS_MS.length - 1]!;
  const msPerPx = durationMs / widthPx;
  return STEPS_MS.find((s) => s / msPerPx >= minGapPx) ?? STEPS_MS[STEPS_MS.length - 1]!;
}

/** 75 000 → "1:15", 3 723 000 → "1:02:03", 1 500 → "0:01.5" (tenths only when the step needs them). */
export function formatTime(ms: number, withTenths = false): string {
  const total = Math.max(0, ms) / 1000;
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = Math.floor(total % 60);
  const tenths = withTenths ? `.${Math.floor((total * 10) % 10)}` : '';
  const ss = String(s).padStart(2, '0') + tenths;
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

export interface Tick {
  ms: number;
  /** Percent of the ruler's width. */
  left: number;
  label: string;
}

export function rulerTicks(durationMs: number, widthPx: number, minGapPx = 64): Tick[] {
  const step = tickStepMs(durationMs, widthPx, minGapPx);
  const ticks: Tick[] = [];
  for (let ms = 0; ms <= durationMs && ticks.length < 500; ms += step) {
    ticks.push({ ms, left: (ms / durationMs) * 100, label: formatTime(ms, step < 1000) });
  }
  return ticks;
}

const KIND: Record<number, TrackKind> = { 0: 'video', 1: 'audio', 7: 'text' };

/** The draft's tracks as drawn: each segment placed in percent of the timeline, labelled by its file or text. */
export function drawTracks(draft: Pick<Draft, 't'>, mediaNames: ReadonlyMap<string, string> = new Map()): DrawnTrack[] {
  const duration = draftDurationMs(draft);
  return draft.t.map((t) => ({
    id: t.id,
    kind: KIND[t.tt] ?? 'video',
    segments: t.sg.map((s) => {
      const text = (s.m as { text?: unknown }).text;
      const label = typeof text === 'string' ? text : s.src ? (mediaNames.get(s.src) ?? s.src) : s.id;
      return { id: s.id, left: (s.s / duration) * 100, width: (s.d / duration) * 100, label, startMs: s.s, durationMs: s.d };
    }),
  }));
}
