/**
 * One gate for intents, whoever made them: the keyword parser or a language-model planner. The
 * shapes are checked against the Intent type (a schema that must stay assignable to it), then
 * against the session: a paid tool must not run on a guess, so an export with several videos,
 * no draft and no choice is a question back, never a pick.
 */
import { z } from 'zod';
import { ASPECTS, CORNERS, RESOLUTIONS } from '../render/index.ts';
import { EXPORT_FORMATS } from '../transcript/index.ts';
import { REMOVABLES, type Intent, type Question } from './intent.ts';

const ms = z
  .number()
  .int()
  .min(0)
  .max(24 * 3_600_000);
const lang = z.string().min(2).max(16);
const selector = z.union([
  z.object({ by: z.literal('ordinal'), index: z.number().int().min(-1).max(999), kind: z.enum(['video', 'audio']).optional() }).strict(),
  z.object({ by: z.literal('name'), name: z.string().min(1).max(255) }).strict(),
]);
const intentSchema = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('transcribe'),
      format: z.enum(EXPORT_FORMATS),
      timestamps: z.boolean(),
      language: lang.optional(),
      translateTo: lang.optional(),
      media: selector.optional(),
      // Who said what (speaker diarization).
      diarize: z.literal(true).optional(),
    })
    .strict(),
  z.object({ kind: z.literal('captions'), media: selector.optional(), speakers: z.literal(true).optional() }).strict(),
  z.object({ kind: z.literal('aspect'), aspect: z.enum(ASPECTS as [string, ...string[]]) }).strict(),
  z.object({ kind: z.literal('resolution'), resolution: z.enum(RESOLUTIONS as [string, ...string[]]) }).strict(),
  z
    .object({
      kind: z.literal('title'),
      text: z.string().min(1).max(4000), // the message's own bound; the draft names a title that is too long (4101)
      startMs: ms,
      durationMs: ms.min(1),
      position: z.enum(['top', 'center', 'bottom']).optional(),
    })
    .strict(),
  z
    .object({
      kind: z.literal('music'),
      volume: z.number().min(0).max(1),
      media: selector.optional(),
      fadeInMs: ms.optional(),
      fadeOutMs: ms.optional(),
    })
    .strict(),
  z.object({ kind: z.literal('trim'), startMs: ms, endMs: ms.optional() }).strict(),
  z.object({ kind: z.literal('export'), media: selector.optional(), each: z.boolean().optional() }).strict(),
  z
    .object({
      kind: z.literal('still'),
      atMs: z
        .number()
        .int()
        .min(-1)
        .max(24 * 3_600_000),
      durationMs: ms.min(100),
      picture: selector.optional(),
    })
    .strict(),
  z.object({ kind: z.literal('overlay'), corner: z.enum(CORNERS as [string, ...string[]]), picture: selector.optional() }).strict(),
  z.object({ kind: z.literal('remove'), what: z.enum(REMOVABLES as [string, ...string[]]) }).strict(),
  z.object({ kind: z.literal('undo'), steps: z.number().int().min(1).max(200) }).strict(),
  z.object({ kind: z.literal('redo'), steps: z.number().int().min(1).max(200) }).strict(),
  z.object({ kind: z.literal('startOver') }).strict(),
]);
/** At most this many intents in one request (the parser finds at most one of each kind, a few removals and history steps). */
export const MAX_INTENTS = 32;
const intentsSchema = z.array(intentSchema).max(MAX_INTENTS);

/** What the session offers, as much as validation needs. */
export interface IntentContext {
  media: readonly { name: string; kind: 'video' | 'audio' | 'image' }[];
  /** Whether the session already has a draft. */
  hasDraft: boolean;
}

export type Validated = { ok: true; intents: Intent[] } | { ok: false; question: Question } | { ok: false; problems: string[] };

/** Checks intents (from the parser or a planner) before anything runs: their shapes, then whether acting would be a guess. */
export function validateIntents(intents: unknown, ctx: IntentContext): Validated {
  const parsed = intentsSchema.safeParse(intents);
  if (!parsed.success) {
    return { ok: false, problems: parsed.error.issues.map((i) => `${i.path.join('.') || 'intents'}: ${i.message}`) };
  }
  const list = parsed.data as Intent[];
  const trims = list.filter((i) => i.kind === 'trim');
  if (trims.some((i) => i.kind === 'trim' && i.endMs !== undefined && i.endMs <= i.startMs)) {
    return { ok: false, problems: ['trim: the end must come after the start'] };
  }
  // A batch renders every video: naming one as well would leave which was meant to a guess.
  if (list.some((i) => i.kind === 'export' && i.each && i.media)) {
    return { ok: false, problems: ['export: "each" renders every video, so it takes no media'] };
  }
  const videos = ctx.media.filter((m) => m.kind === 'video');
  const onlyExport = list.every((i) => i.kind === 'export');
  if (!ctx.hasDraft && videos.length > 1 && onlyExport && list.some((i) => i.kind === 'export' && !i.media && !i.each)) {
    return { ok: false, question: 'whichVideo' };
  }
  return { ok: true, intents: list };
}

// The schema and the type must not drift apart: each intent the schema accepts is an Intent.
type Accepted = z.infer<typeof intentSchema>;
type _SchemaKindsAreIntentKinds = Accepted['kind'] extends Intent['kind'] ? (Intent['kind'] extends Accepted['kind'] ? true : never) : never;
export const SCHEMA_MATCHES_INTENT: _SchemaKindsAreIntentKinds = true;
