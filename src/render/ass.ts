/**
 * Text segments (captions, titles, overlays) as one Advanced SubStation (.ass) file, which
 * libass draws onto the video inside the ffmpeg run. libass gives proper shaping, wrapping,
 * outlines and boxes with any font, where drawtext would need one filter per segment. Pure.
 */
import type { Draft, TextKind, TextPosition, TextSegment } from './draft.ts';

/** Debian's fonts-dejavu-core, installed by scripts/setup.sh: wide Unicode coverage, very legible. */
export const FONT_NAME = 'DejaVu Sans';
export const DEFAULT_FONTS_DIR = '/usr/share/fonts/truetype/dejavu';

export interface SafeArea {
  side: number;
  top: number;
  bottom: number;
}

/**
 * Margins text stays inside. Landscape: the classic 5 % title-safe frame, a little more at the
 * bottom. Portrait (shorts, reels): the apps put captions, buttons and names over the bottom
 * ~15 % and the right edge, so captions sit higher and further in.
 */
export function safeArea(w: number, h: number): SafeArea {
  const portrait = h > w;
  return {
    side: Math.round(w * (portrait ? 0.08 : 0.05)),
    top: Math.round(h * (portrait ? 0.1 : 0.06)),
    bottom: Math.round(h * (portrait ? 0.16 : 0.07)),
  };
}

/** Default font size per kind, from the shorter canvas side: 54 px captions at 1080p (5 %), 36 px at 720p. */
export function defaultFontSize(kind: TextKind, w: number, h: number): number {
  const short = Math.min(w, h);
  const share = kind === 'title' ? 0.09 : kind === 'overlay' ? 0.045 : 0.05;
  return Math.max(8, Math.round(short * share));
}

const ALIGN: Record<TextPosition, number> = { bottom: 2, center: 5, top: 8 };
const BOX_BY_DEFAULT: Record<TextKind, boolean> = { caption: true, overlay: true, title: false };
const FADE_MS: Record<TextKind, number> = { caption: 0, overlay: 200, title: 250 };

/** H:MM:SS.cc, the only time format ASS knows (centiseconds). */
export function assTime(ms: number): string {
  const cs = Math.round(ms / 10);
  const h = Math.floor(cs / 360000);
  const m = Math.floor((cs % 360000) / 6000);
  const s = Math.floor((cs % 6000) / 100);
  return `${h}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}.${String(cs % 100).padStart(2, '0')}`;
}

/**
 * Text as libass shows it literally, on one script line. Line breaks of every kind (CR LF, a lone
 * CR, LF, NEL, U+2028/2029) become libass's \N; a raw one would end the Dialogue line and let the
 * rest be read as script (a new Style, say). Every other control character (C0, DEL, C1) is
 * dropped: a NUL ends libass's reading of the file, and the others draw nothing useful. Braces
 * would open override blocks (`\{` is libass's escape), and a backslash before n, N or h would
 * break lines, so it gets a zero-width space.
 */
export function escapeAssText(text: string): string {
  return text
    .replace(/\r\n|[\r\n\u0085\u2028\u2029]/g, '\n')
    .replace(/\t/g, ' ')
    .replace(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/g, '')
    .replace(/\\/g, '\\\u200b')
    .replace(/\{/g, '\\{')
    .replace(/\}/g, '\\}')
    .replace(/\n/g, '\\N');
}

/** '#RRGGBB' → '&H00BBGGRR' (ASS is alpha-blue-green-red, alpha 00 = opaque). */
export function assColor(hex: string, alpha = 0): string {
  const h = hex.replace('#', '');
  const a = alpha.toString(16).padStart(2, '0');
  return `&H${a}${h.slice(4, 6)}${h.slice(2, 4)}${h.slice(0, 2)}`.toUpperCase();
}

function styleLine(name: string, size: number, box: boolean, bold: boolean, margin: SafeArea): string {
  // Box: BorderStyle 3 paints OutlineColour as a box, Outline is its padding; ~60 % black keeps
  // the picture visible and the text readable on any background. Outline: white with a black
  // edge and soft shadow, the look of a title.
  const outline = box ? Math.max(2, Math.round(size * 0.22)) : Math.max(1, Math.round(size * 0.06));
  const shadow = box ? 0 : Math.max(1, Math.round(size * 0.04));
  const outlineColour = box ? '&H60000000' : '&H00000000';
  return [
    `Style: ${name}`,
    FONT_NAME,
    size,
    '&H00FFFFFF',
    '&H00FFFFFF',
    outlineColour,
    '&H80000000',
    bold ? -1 : 0,
    0,
    0,
    0,
    100,
    100,
    0,
    0,
    box ? 3 : 1,
    outline,
    shadow,
    2,
    margin.side,
    margin.side,
    margin.bottom,
    1,
  ].join(',');
}

/** The .ass file for a draft's text tracks, or null when it has no text. */
export function buildAss(draft: Draft): string | null {
  const segments: TextSegment[] = [];
  for (const t of draft.t) if (t.tt === 7) segments.push(...t.sg);
  if (segments.length === 0) return null;
  const margin = safeArea(draft.w, draft.h);
  const styles: string[] = [];
  for (const kind of ['caption', 'title', 'overlay'] as const) {
    const size = defaultFontSize(kind, draft.w, draft.h);
    styles.push(styleLine(`${kind}-box`, size, true, kind === 'title', margin));
    styles.push(styleLine(`${kind}-plain`, size, false, kind === 'title', margin));
  }
  // Earlier segments first, then by start: libass stacks simultaneous events in file order.
  const events = segments
    .map((sg, order) => ({ sg, order }))
    .sort((a, b) => a.sg.s - b.sg.s || a.order - b.order)
    .map(({ sg }) => dialogue(sg, margin));
  return [
    '[Script Info]',
    'ScriptType: v4.00+',
    `PlayResX: ${draft.w}`,
    `PlayResY: ${draft.h}`,
    // 3: smart wrapping with the lower line wider, the subtitle convention.
    'WrapStyle: 3',
    'ScaledBorderAndShadow: yes',
    'YCbCr Matrix: TV.709',
    '',
    '[V4+ Styles]',
    'Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding',
    ...styles,
    '',
    '[Events]',
    'Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text',
    ...events,
    '',
  ].join('\n');
}

function dialogue(sg: TextSegment, margin: SafeArea): string {
  const { kind, position, style } = sg.m;
  const box = style?.box ?? BOX_BY_DEFAULT[kind];
  const tags = [`\\an${ALIGN[position]}`];
  const fade = Math.min(FADE_MS[kind], Math.floor(sg.d / 4));
  if (fade > 0) tags.push(`\\fad(${fade},${fade})`);
  if (style?.size) tags.push(`\\fs${style.size}`);
  if (style?.color) tags.push(`\\c${assColor(style.color)}&`);
  if (style?.bold !== undefined) tags.push(`\\b${style.bold ? 1 : 0}`);
  const marginV = position === 'top' ? margin.top : margin.bottom;
  // Layer: titles above overlays above captions when they meet.
  const layer = kind === 'title' ? 2 : kind === 'overlay' ? 1 : 0;
  return `Dialogue: ${layer},${assTime(sg.s)},${assTime(sg.s + sg.d)},${kind}-${box ? 'box' : 'plain'},,0,0,${marginV},,{${tags.join('')}}${escapeAssText(sg.m.text)}`;
}
