/**
 * Windowing for the paragraph list: only the paragraphs near the viewport are in the DOM, the rest
 * are stood in for by two spacers whose heights come from measured paragraphs where known and an
 * estimate (from the word count and the column width) elsewhere. Pure, so Node tests it.
 */

export interface HeightModel {
  /** Height in px of a line of transcript text. */
  lineHeight: number;
  /** Average px per character at the list's font. */
  charWidth: number;
  /** Px a paragraph adds beyond its lines (timestamp row, padding). */
  chrome: number;
}

export const DEFAULT_HEIGHTS: HeightModel = { lineHeight: 27, charWidth: 8.4, chrome: 44 };

/** A guess at a paragraph's height before it has been rendered. */
export function estimateHeight(chars: number, width: number, m: HeightModel = DEFAULT_HEIGHTS): number {
  const perLine = Math.max(8, Math.floor(Math.max(1, width - 24) / m.charWidth));
  return m.chrome + Math.max(1, Math.ceil(chars / perLine)) * m.lineHeight;
}

/** offsets[i] is the top of item i; offsets[n] the total height. */
export function prefixOffsets(heights: ArrayLike<number>): Float64Array {
  const out = new Float64Array(heights.length + 1);
  for (let i = 0; i < heights.length; i++) out[i + 1] = out[i]! + heights[i]!;
  return out;
}

/** The item at vertical position y (the last one whose top is at or above it). */
export function itemAt(offsets: Float64Array, y: number): number {
  const n = offsets.length - 1;
  if (n <= 0) return 0;
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (offsets[mid]! <= y) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Items [start, end) to render for a viewport at `top` of `height` px, with `overscan` px drawn beyond each edge. */
export function visibleRange(offsets: Float64Array, top: number, height: number, overscan: number): { start: number; end: number } {
  const n = offsets.length - 1;
  if (n <= 0) return { start: 0, end: 0 };
  const start = itemAt(offsets, Math.max(0, top - overscan));
  const end = Math.min(n, itemAt(offsets, top + height + overscan) + 1);
  return { start, end: Math.max(end, start + 1) };
}
