/**
 * The tools a language-model planner may call, one zod schema each: the planner's reply is checked
 * against them (shape, ranges, enum values: what the keyword parser can produce) and becomes the
 * parser's own `Intent`s, so the runner executes a plan exactly as it executes a parsed request.
 * The same schemas, as JSON Schema, are what the model is shown and constrained to.
 */
import { z } from 'zod';
import { ASPECTS, RESOLUTIONS } from '../../render/index.ts';
import { ErrorCode, VidscribeError } from '../../shared/errors.ts';
import { EXPORT_FORMATS } from '../../transcript/index.ts';
import { type Intent, type MediaSelector, REMOVABLES } from '../intent.ts';

/** A plan longer than this is not a plan for one chat message. */
export const MAX_PLAN_CALLS = 10;
/** Six hours, in seconds: the longest timeline a draft may have. */
const MAX_SEC = 6 * 3600;
const TITLE_MAX_CHARS = 200;
/** Undo/redo steps in one request: "undo the last three changes", not a walk through history. */
const MAX_STEPS = 20;

const seconds = z.number().min(0).max(MAX_SEC);
const mediaId = z.string().min(1).max(128).describe('the id of one of the session media, exactly as listed');
const language = z
  .string()
  .regex(/^[a-z]{2}$/)
  .describe('ISO 639-1 code');

/** Arguments per tool. Times are seconds (the request is shown to the model in seconds), turned into the intents' milliseconds. */
export const TOOL_ARGS = {
  transcribe_media: z.strictObject({
    format: z.enum(EXPORT_FORMATS),
    timestamps: z.boolean(),
    language: language.optional().describe('the spoken language, when the request says it'),
    translate_to: language.optional().describe('a language to translate into, when asked'),
    media_id: mediaId.optional(),
  }),
  add_captions: z.strictObject({ media_id: mediaId.optional() }),
  set_aspect: z.strictObject({ aspect: z.enum(ASPECTS as [string, ...string[]]) }),
  set_resolution: z.strictObject({ resolution: z.enum(RESOLUTIONS as [string, ...string[]]) }),
  add_title: z.strictObject({
    text: z.string().trim().min(1).max(TITLE_MAX_CHARS).describe("the title's words, as the request gives them"),
    start_sec: seconds,
    duration_sec: seconds.refine((d) => d > 0, 'must be more than 0'),
    position: z.enum(['top', 'center', 'bottom']).optional(),
  }),
  add_background_music: z.strictObject({
    volume: z.number().min(0).max(1).describe('0 to 1; 0.35 when the request does not say'),
    media_id: mediaId.optional().describe('an audio item of the session'),
    fade_in_sec: seconds.optional(),
    fade_out_sec: seconds.optional(),
  }),
  trim: z
    .strictObject({ start_sec: seconds, end_sec: seconds.optional() })
    .describe('keep the part from start_sec to end_sec (to the end when end_sec is absent)')
    .refine(
      (a) => (a.end_sec === undefined ? a.start_sec > 0 : a.end_sec > a.start_sec),
      'keeps nothing: the end must come after the start (or a start after 0)',
    ),
  export_video: z.strictObject({ media_id: mediaId.optional() }),
  remove: z.strictObject({ what: z.enum(REMOVABLES as [string, ...string[]]) }),
  undo: z.strictObject({ steps: z.number().int().min(1).max(MAX_STEPS) }),
  redo: z.strictObject({ steps: z.number().int().min(1).max(MAX_STEPS) }),
  start_over: z.strictObject({}),
} as const;

export type ToolName = keyof typeof TOOL_ARGS;
export const TOOL_NAMES = Object.keys(TOOL_ARGS) as ToolName[];

export const TOOL_DESCRIPTIONS: Record<ToolName, string> = {
  transcribe_media: 'Transcribe speech into a transcript file (costs credits; only when the request asks for a transcript or subtitle file).',
  add_captions: 'Burn captions of the speech into the video (may transcribe first, which costs credits; only when the request asks for captions).',
  set_aspect: 'Change the frame shape: 16:9 landscape, 9:16 vertical/portrait (phones, TikTok, Reels), 1:1 square.',
  set_resolution: 'Change the output resolution: 1080p or 720p.',
  add_title: 'Show a text (title, caption line, words on screen) over part of the video.',
  add_background_music: 'Add an uploaded audio item as background music at a volume, with optional fades.',
  trim: 'Keep only a part of the video.',
  export_video: 'Render the draft into a downloadable MP4 (costs credits; only when the request asks for a video file, an export or a download).',
  remove: 'Take something off the draft: the burned-in captions, the titles (text on screen), the background music, or overlays (logos, pictures).',
  undo: 'Go back one or more draft changes.',
  redo: 'Redo one or more undone draft changes.',
  start_over: 'Throw away every edit: back to the draft as the uploads made it.',
};

/** What a plan is checked against: the session's media, in upload order. */
export interface PlanMedia {
  id: string;
  name: string;
  kind: 'video' | 'audio' | 'image';
}

const call = z.strictObject({ tool: z.string().max(64), args: z.record(z.string(), z.unknown()).default({}) });
const plan = z.union([z.array(call).max(MAX_PLAN_CALLS), z.strictObject({ calls: z.array(call).max(MAX_PLAN_CALLS) }).transform((p) => p.calls)]);

/** The selector the runner resolves back to this item: its place among the session's items of its kind. */
function selectorOf(id: string, media: readonly PlanMedia[], want: readonly ('video' | 'audio')[], problems: string[], at: string): MediaSelector | undefined {
  const item = media.find((m) => m.id === id);
  if (!item) {
    problems.push(`${at}.media_id: "${id.slice(0, 40)}" is not a media item of this session`);
    return undefined;
  }
  if (item.kind === 'image' || !want.includes(item.kind)) {
    problems.push(`${at}.media_id: "${item.name}" is ${item.kind === 'audio' ? 'audio' : 'an image'}, not ${want.join(' or ')}`);
    return undefined;
  }
  const kind = item.kind;
  return { by: 'ordinal', index: media.filter((m) => m.kind === kind).indexOf(item), kind };
}

const ms = (sec: number) => Math.round(sec * 1000);

/**
 * A planner's reply (an array of `{ tool, args }`, or `{ calls: [...] }`) as intents, or a
 * VidscribeError (400) listing every problem: an unknown tool, a bad argument, a media id the
 * session does not have. All or nothing: a plan with one bad call is refused whole.
 */
export function planToIntents(raw: unknown, items: readonly PlanMedia[]): Intent[] {
  const parsed = plan.safeParse(raw);
  if (!parsed.success) throw refused(parsed.error.issues.map((i) => `${i.path.join('.') || 'plan'}: ${i.message}`));
  const problems: string[] = [];
  const intents: Intent[] = [];
  parsed.data.forEach((c, n) => {
    const at = `${n}.${c.tool}`;
    if (!(c.tool in TOOL_ARGS)) {
      problems.push(`${n}: unknown tool "${c.tool.slice(0, 40)}"`);
      return;
    }
    const args = TOOL_ARGS[c.tool as ToolName].safeParse(c.args);
    if (!args.success) {
      problems.push(...args.error.issues.map((i) => `${at}.${i.path.join('.') || 'args'}: ${i.message}`));
      return;
    }
    const a = args.data as Record<string, unknown>;
    const withMedia = <I extends Intent>(intent: I, want: readonly ('video' | 'audio')[]): I | undefined => {
      if (typeof a.media_id !== 'string') return intent;
      const media = selectorOf(a.media_id, items, want, problems, at);
      return media ? ({ ...intent, media } as I) : undefined;
    };
    let intent: Intent | undefined;
    switch (c.tool as ToolName) {
      case 'transcribe_media': {
        const t = a as z.infer<(typeof TOOL_ARGS)['transcribe_media']>;
        intent = withMedia(
          {
            kind: 'transcribe',
            format: t.format,
            timestamps: t.timestamps,
            ...(t.language ? { language: t.language } : {}),
            ...(t.translate_to && t.translate_to !== t.language ? { translateTo: t.translate_to } : {}),
          },
          ['video', 'audio'],
        );
        break;
      }
      case 'add_captions':
        intent = withMedia({ kind: 'captions' }, ['video', 'audio']);
        break;
      case 'export_video':
        intent = withMedia({ kind: 'export' }, ['video', 'audio']);
        break;
      case 'set_aspect':
        intent = { kind: 'aspect', aspect: a.aspect as Extract<Intent, { kind: 'aspect' }>['aspect'] };
        break;
      case 'set_resolution':
        intent = { kind: 'resolution', resolution: a.resolution as Extract<Intent, { kind: 'resolution' }>['resolution'] };
        break;
      case 'add_title': {
        const t = a as z.infer<(typeof TOOL_ARGS)['add_title']>;
        intent = { kind: 'title', text: t.text, startMs: ms(t.start_sec), durationMs: ms(t.duration_sec), ...(t.position ? { position: t.position } : {}) };
        break;
      }
      case 'add_background_music': {
        const t = a as z.infer<(typeof TOOL_ARGS)['add_background_music']>;
        intent = withMedia(
          {
            kind: 'music',
            volume: t.volume,
            ...(t.fade_in_sec !== undefined ? { fadeInMs: ms(t.fade_in_sec) } : {}),
            ...(t.fade_out_sec !== undefined ? { fadeOutMs: ms(t.fade_out_sec) } : {}),
          },
          ['audio'],
        );
        break;
      }
      case 'trim': {
        const t = a as z.infer<(typeof TOOL_ARGS)['trim']>;
        intent = t.end_sec === undefined ? { kind: 'trim', startMs: ms(t.start_sec) } : { kind: 'trim', startMs: ms(t.start_sec), endMs: ms(t.end_sec) };
        break;
      }
      case 'remove':
        intent = { kind: 'remove', what: a.what as Extract<Intent, { kind: 'remove' }>['what'] };
        break;
      case 'undo':
      case 'redo':
        intent = { kind: c.tool as 'undo' | 'redo', steps: a.steps as number };
        break;
      case 'start_over':
        intent = { kind: 'startOver' };
        break;
    }
    if (intent) intents.push(intent);
  });
  if (problems.length) throw refused(problems);
  return intents;
}

function refused(problems: string[]): VidscribeError {
  return new VidscribeError(ErrorCode.BadRequest, `plan refused: ${problems.slice(0, 10).join('; ')}`, { data: { problems } });
}

/**
 * Tools that can cost the user credits, and the words a request must contain for the planner to
 * use them: a planner may turn "pop 'Hello' up at the start" into a title, never into a charge the
 * user did not ask for. Deliberately simple stems (English and Chinese), checked on the user's own
 * message; typos of the parser's keywords are already the parser's business.
 */
export const PAID_REQUEST_WORDS: Partial<Record<Intent['kind'], RegExp>> = {
  transcribe:
    /transc|\bsubtit|\bcaption|\bsubs\b|\bsrt\b|\bvtt\b|\bdocx?\b|\bword (?:doc|document|file)\b|\bjson\b|\bmarkdown\b|\btxt\b|\bdocument\b|\bwrite (?:it |this )?down\b|转写|转录|字幕|文字稿|逐字稿|听写|文档/i,
  captions: /\bsubtit|\bcaption|\bsubs\b|\bcc\b|字幕/i,
  export: /\bexport|\brender|\bdownload|\bmp4\b|导出|渲染|下载|出片|生成视频|输出/i,
};

/** The planned intents that would spend credits without the message asking for that kind of work. */
export function unaskedPaidIntents(intents: readonly Intent[], message: string): Intent['kind'][] {
  const text = message.normalize('NFKC');
  return [...new Set(intents.map((i) => i.kind))].filter((k) => {
    const words = PAID_REQUEST_WORDS[k];
    return words !== undefined && !words.test(text);
  });
}

/** The JSON Schema a reply must follow: `{ calls: [...] }`, one allowed shape per tool (for response_format json_schema). */
export function planJsonSchema(): Record<string, unknown> {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['calls'],
    properties: {
      calls: {
        type: 'array',
        maxItems: MAX_PLAN_CALLS,
        items: { anyOf: TOOL_NAMES.map((name) => toolCallSchema(name)) },
      },
    },
  };
}

function toolCallSchema(name: ToolName): Record<string, unknown> {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['tool', 'args'],
    properties: { tool: { const: name }, args: argsJsonSchema(name) },
  };
}

/** One tool's arguments as JSON Schema, from its zod schema (no `$schema` key: it is embedded). */
export function argsJsonSchema(name: ToolName): Record<string, unknown> {
  const { $schema: _s, ...schema } = z.toJSONSchema(TOOL_ARGS[name], { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return schema;
}
