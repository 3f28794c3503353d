/**
 * The draft: the seed's compact timeline format, kept exactly, and the schema every draft
 * passes before anything renders it. Times are whole milliseconds on the timeline.
 */
import { z } from 'zod';
import { ErrorCode, VidscribeError } from '../shared/errors.ts';

export const TrackType = { Video: 0, Audio: 1, Text: 7 } as const;
export type TrackType = (typeof TrackType)[keyof typeof TrackType];

export type Fit = 'contain' | 'cover' | 'blur';
export type TextKind = 'title' | 'caption' | 'overlay';
export type TextPosition = 'top' | 'center' | 'bottom';

export type Corner = 'top-left' | 'top-right' | 'bottom-left' | 'bottom-right' | 'center';
export const CORNERS: readonly Corner[] = ['top-left', 'top-right', 'bottom-left', 'bottom-right', 'center'];

/** A picture drawn over the video instead of taking its place (a logo in a corner). */
export interface OverlayPlacement {
  corner: Corner;
  /** Width on the canvas, % of the canvas width; the height follows the picture's shape. */
  widthPct: number;
  /** Distance from the canvas edges, % of the canvas's shorter side (default 3). */
  marginPct?: number;
}

export interface VideoMeta {
  fit: Fit;
  /** Volume of the clip's own sound, 0..1 (default 1). */
  volume?: number;
  /** Drawn over whatever plays below, at this place and size, instead of filling the canvas (silent). */
  overlay?: OverlayPlacement;
}

export interface AudioMeta {
  volume: number;
  fade_in_ms?: number;
  fade_out_ms?: number;
  /** Lower this audio while the other sound (speech) plays. */
  duck?: boolean;
}

export interface TextStyle {
  /** Font size in canvas pixels (default depends on kind and canvas). */
  size?: number;
  /** Text colour, #RRGGBB. */
  color?: string;
  bold?: boolean;
  /** A translucent box behind the text (default: captions and overlays yes, titles no). */
  box?: boolean;
}

export interface TextMeta {
  text: string;
  kind: TextKind;
  position: TextPosition;
  style?: TextStyle;
}

/** A piece of a track. Named TimelineSegment to keep it apart from the transcript's TranscriptSegment. */
export interface TimelineSegment<M = VideoMeta | AudioMeta | TextMeta> {
  id: string;
  /** Start on the timeline, ms. */
  s: number;
  /** Duration, ms. */
  d: number;
  /** Media id (service) or file path, absolute or relative to the draft file (CLI). */
  src?: string;
  /** Offset into the source, ms. */
  in?: number;
  m: M;
}

export type VideoSegment = TimelineSegment<VideoMeta> & { src: string };
export type AudioSegment = TimelineSegment<AudioMeta> & { src: string };
export type TextSegment = TimelineSegment<TextMeta>;

export interface VideoTrack {
  id: string;
  tt: 0;
  name?: string;
  sg: VideoSegment[];
}
export interface AudioTrack {
  id: string;
  tt: 1;
  name?: string;
  sg: AudioSegment[];
}
export interface TextTrack {
  id: string;
  tt: 7;
  name?: string;
  sg: TextSegment[];
}
export type Track = VideoTrack | AudioTrack | TextTrack;

export interface Draft {
  id: string;
  version: number;
  /** Output canvas in pixels. */
  w: number;
  h: number;
  /** Output frame rate; default: the first video source's, or 30. */
  fps?: number;
  t: Track[];
}

/** Largest canvas side; the shorter side may be at most 1080 (1080p landscape or portrait). */
export const MAX_CANVAS_SIDE = 1920;
export const MAX_CANVAS_SHORT_SIDE = 1080;
/** Fewer than 10 000 segments per draft: two hours of captions need ~2 500. */
export const MAX_SEGMENTS = 9_999;
/** Six hours: far beyond any job we accept, small enough to catch unit mistakes (seconds vs ms). */
export const MAX_TIMELINE_MS = 6 * 3600_000;
/** One caption, title or overlay: a few kB at most. */
export const MAX_TEXT_CHARS = 1000;
/** All the text of a draft: two hours of captions are ~100 000 characters. libass lays it all out. */
export const MAX_DRAFT_TEXT_CHARS = 250_000;
/** Video and audio segments: each is a chain in the render's graph (captions are not; they are one file). */
export const MAX_MEDIA_SEGMENTS = 500;

const id = z.string().min(1, 'must not be empty').max(128, 'must be at most 128 characters');
const ms = (what: string) =>
  z
    .number({ error: `must be a number of milliseconds` })
    .int(`must be whole milliseconds`)
    .min(0, `${what} must not be negative`)
    .max(MAX_TIMELINE_MS, `must be at most ${MAX_TIMELINE_MS} ms`);
const volume = z.number({ error: 'must be a number between 0 and 1' }).min(0, 'must be between 0 and 1').max(1, 'must be between 0 and 1');
const src = z.string({ error: 'a video, image or audio segment needs its source (src)' }).min(1, 'a video, image or audio segment needs its source (src)');

// Keys are declared in the seed's order because zod outputs them in schema order: a draft
// read and written back is byte-identical.
const start = ms('start');
const duration = ms('duration').refine((d) => d > 0, 'duration must be greater than 0');
const offset = ms('source offset').optional();

const videoMeta = z.strictObject({
  fit: z.enum(['contain', 'cover', 'blur'], { error: "must be 'contain', 'cover' or 'blur'" }),
  volume: volume.optional(),
  overlay: z
    .strictObject({
      corner: z.enum(['top-left', 'top-right', 'bottom-left', 'bottom-right', 'center'], {
        error: "must be 'top-left', 'top-right', 'bottom-left', 'bottom-right' or 'center'",
      }),
      widthPct: z.number({ error: 'must be a percentage of the canvas width' }).min(1, 'must be between 1 and 100').max(100, 'must be between 1 and 100'),
      marginPct: z.number({ error: 'must be a percentage' }).min(0, 'must be between 0 and 40').max(40, 'must be between 0 and 40').optional(),
    })
    .optional(),
});
const audioMeta = z.strictObject({
  volume,
  fade_in_ms: ms('fade').optional(),
  fade_out_ms: ms('fade').optional(),
  duck: z.boolean().optional(),
});
const textMeta = z.strictObject({
  text: z.string().min(1, 'must not be empty').max(MAX_TEXT_CHARS, `must be at most ${MAX_TEXT_CHARS} characters`),
  kind: z.enum(['title', 'caption', 'overlay'], { error: "must be 'title', 'caption' or 'overlay'" }),
  position: z.enum(['top', 'center', 'bottom'], { error: "must be 'top', 'center' or 'bottom'" }),
  style: z
    .strictObject({
      size: z.number().int().min(8, 'must be at least 8 px').max(400, 'must be at most 400 px').optional(),
      color: z
        .string()
        .regex(/^#[0-9a-fA-F]{6}$/, 'must be a colour like #FFCC00')
        .optional(),
      bold: z.boolean().optional(),
      box: z.boolean().optional(),
    })
    .optional(),
});

const name = z.string().max(200).optional();
const videoSegment = z.strictObject({ id, s: start, d: duration, src, in: offset, m: videoMeta });
const audioSegment = z.strictObject({ id, s: start, d: duration, src, in: offset, m: audioMeta });
const textSegment = z.strictObject({ id, s: start, d: duration, src: z.string().optional(), in: offset, m: textMeta });
const videoTrack = z.strictObject({ id, tt: z.literal(0), name, sg: z.array(videoSegment) });
const audioTrack = z.strictObject({ id, tt: z.literal(1), name, sg: z.array(audioSegment) });
const textTrack = z.strictObject({ id, tt: z.literal(7), name, sg: z.array(textSegment) });
/** Each track type's segment, for checking segments one by one (parseDraft). */
const SEGMENT_SCHEMAS = new Map<unknown, z.ZodType>([
  [0, videoSegment],
  [1, audioSegment],
  [7, textSegment],
]);
/** Tracks in a draft. */
export const MAX_TRACKS = 100;
/** Issues a 4101 reply lists (the message shows the first 5). */
export const MAX_DRAFT_ISSUES = 20;

const side = z
  .number({ error: 'must be a number of pixels' })
  .int('must be whole pixels')
  .min(16, 'must be at least 16 px')
  .max(MAX_CANVAS_SIDE, `must be at most ${MAX_CANVAS_SIDE} px`)
  .refine((n) => n % 2 === 0, 'must be even (H.264 4:2:0 needs even sizes)');

export const draftSchema = z
  .strictObject({
    id,
    version: z.number().int('must be a whole number').min(0, 'must not be negative'),
    w: side,
    h: side,
    fps: z.number().min(1, 'must be between 1 and 60').max(60, 'must be between 1 and 60').optional(),
    t: z.array(z.discriminatedUnion('tt', [videoTrack, audioTrack, textTrack])).max(MAX_TRACKS, `a draft holds at most ${MAX_TRACKS} tracks`),
  })
  .superRefine((d, ctx) => {
    if (Math.min(d.w, d.h) > MAX_CANVAS_SHORT_SIDE) {
      ctx.addIssue({ code: 'custom', path: [d.w <= d.h ? 'w' : 'h'], message: `the shorter side must be at most ${MAX_CANVAS_SHORT_SIDE} px (1080p)` });
    }
    const count = d.t.reduce((n, t) => n + t.sg.length, 0);
    if (count > MAX_SEGMENTS) ctx.addIssue({ code: 'custom', path: ['t'], message: `${count} segments; a draft holds at most ${MAX_SEGMENTS}` });
    let media = 0;
    let text = 0;
    let mediaOver = false;
    let textOver = false;
    for (const [ti, track] of d.t.entries()) {
      for (const [si, sg] of track.sg.entries()) {
        if (track.tt === 7) {
          text += (sg.m as TextMeta).text.length;
          if (text > MAX_DRAFT_TEXT_CHARS && !textOver) {
            textOver = true;
            ctx.addIssue({
              code: 'custom',
              path: ['t', ti, 'sg', si, 'm', 'text'],
              message: `the draft's text passes ${MAX_DRAFT_TEXT_CHARS} characters here; a draft holds at most that much text`,
            });
          }
        } else if (++media > MAX_MEDIA_SEGMENTS && !mediaOver) {
          mediaOver = true;
          ctx.addIssue({
            code: 'custom',
            path: ['t', ti, 'sg', si],
            message: `more than ${MAX_MEDIA_SEGMENTS} video and audio segments; a draft holds at most ${MAX_MEDIA_SEGMENTS}`,
          });
        }
      }
    }
    for (const [ti, track] of d.t.entries()) {
      for (const [si, sg] of track.sg.entries()) {
        if (sg.s + sg.d > MAX_TIMELINE_MS)
          ctx.addIssue({ code: 'custom', path: ['t', ti, 'sg', si, 'd'], message: `ends after the ${MAX_TIMELINE_MS / 3600_000} h limit` });
        const m = sg.m as Partial<AudioMeta>;
        if ((m.fade_in_ms ?? 0) + (m.fade_out_ms ?? 0) > sg.d) {
          ctx.addIssue({ code: 'custom', path: ['t', ti, 'sg', si, 'm', 'fade_in_ms'], message: 'fades are longer than the segment' });
        }
      }
    }
    const ids = new Set<string>();
    d.t.forEach((track, ti) => {
      if (ids.has(track.id)) ctx.addIssue({ code: 'custom', path: ['t', ti, 'id'], message: `duplicate track id "${track.id}"` });
      ids.add(track.id);
    });
  });

// Compile-time proof that the schema and the hand-written types describe the same thing.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const _typesAgree: Same<z.infer<typeof draftSchema>, Draft> = true;
void _typesAgree;

export interface DraftIssue {
  /** Dotted path of the offending field, e.g. `t[1].sg[0].m.volume`. */
  field: string;
  message: string;
}

/** `['t', 1, 'sg', 0, 'm']` → `t[1].sg[0].m`. */
export function fieldPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${String(p)}` : String(p)), '') || '(draft)';
}

function toIssues(error: z.ZodError, at: readonly PropertyKey[] = []): DraftIssue[] {
  return error.issues.map((i) => {
    const field = fieldPath([...at, ...i.path]);
    if (i.code === 'unrecognized_keys') {
      // Named, but not all of them: an object of 100 000 made-up keys would be a 1 MB message.
      const named = i.keys.slice(0, 5).map((k) => k.slice(0, 64));
      const more = i.keys.length > named.length ? ` (and ${i.keys.length - named.length} more)` : '';
      return {
        field: `${field === '(draft)' ? '' : `${field}.`}${named[0]}`,
        message: `unknown field${i.keys.length > 1 ? `s ${named.join(', ')}${more}` : ''}`,
      };
    }
    if (i.code === 'invalid_union' && 'discriminator' in i && i.discriminator === 'tt') {
      return { field, message: 'unknown track type; use 0 (video), 1 (audio) or 7 (text)' };
    }
    if (i.code === 'invalid_type' && i.message.startsWith('Invalid input')) return { field, message: `missing or not a ${i.expected}` };
    return { field, message: i.message };
  });
}

/**
 * Validates anything (parsed JSON, a service payload) into a Draft, or throws InvalidDraft naming
 * the fields (at most MAX_DRAFT_ISSUES of them). The tracks and segments are counted, and the
 * segments checked one by one, before the whole: the schema alone reports every bad element, and
 * 25 000 empty segments (a 75 kB body) made 125 000 issues, which overflowed the stack in zod
 * (a 500), and 20 000 a 7 MB reply.
 */
export function parseDraft(input: unknown): Draft {
  const early = countIssues(input) ?? segmentIssues(input);
  if (early.length) throw invalidDraft(early, early.length >= MAX_DRAFT_ISSUES);
  const r = draftSchema.safeParse(input);
  if (r.success) return r.data as Draft;
  throw invalidDraft(toIssues(r.error), false);
}

function invalidDraft(issues: DraftIssue[], stoppedEarly: boolean): VidscribeError {
  const shown = issues
    .slice(0, 5)
    .map((i) => `${i.field}: ${i.message}`)
    .join('; ');
  const more = stoppedEarly ? ' (and maybe more)' : issues.length > 5 ? ` (and ${issues.length - 5} more)` : '';
  return new VidscribeError(ErrorCode.InvalidDraft, `Invalid draft: ${shown}${more}`, { data: { issues: issues.slice(0, MAX_DRAFT_ISSUES) } });
}

/** Too many tracks or segments, counted without looking inside them; null when within bounds. */
function countIssues(input: unknown): DraftIssue[] | null {
  const tracks = (input as { t?: unknown } | null)?.t;
  if (!Array.isArray(tracks)) return null;
  if (tracks.length > MAX_TRACKS) return [{ field: 't', message: `${tracks.length} tracks; a draft holds at most ${MAX_TRACKS}` }];
  const count = tracks.reduce((n: number, t) => n + (Array.isArray((t as { sg?: unknown } | null)?.sg) ? (t as { sg: unknown[] }).sg.length : 0), 0);
  return count > MAX_SEGMENTS ? [{ field: 't', message: `${count} segments; a draft holds at most ${MAX_SEGMENTS}` }] : null;
}

/** The first MAX_DRAFT_ISSUES issues of the segments of tracks whose type is known, checked one by one. */
function segmentIssues(input: unknown): DraftIssue[] {
  const issues: DraftIssue[] = [];
  const tracks = (input as { t?: unknown } | null)?.t;
  if (!Array.isArray(tracks)) return issues;
  for (const [ti, track] of tracks.entries()) {
    const schema = SEGMENT_SCHEMAS.get((track as { tt?: unknown } | null)?.tt);
    const segments = (track as { sg?: unknown } | null)?.sg;
    if (!schema || !Array.isArray(segments)) continue;
    for (const [si, segment] of segments.entries()) {
      const r = schema.safeParse(segment);
      if (r.success) continue;
      issues.push(...toIssues(r.error, ['t', ti, 'sg', si]));
      if (issues.length >= MAX_DRAFT_ISSUES) return issues.slice(0, MAX_DRAFT_ISSUES);
    }
  }
  return issues;
}
