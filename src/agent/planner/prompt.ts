/**
 * What the language model is shown: the tools (names, purpose, argument schemas), the rules, the
 * session's media (names bounded) and a compact summary of the draft — never the whole draft —
 * and the request with its times and ratios written out by the parser's rules, since small models
 * misread "1:05–1:20" (as 1.05 s) and "4:5" (as a time).
 */
import type { Draft } from '../../render/index.ts';
import { argsJsonSchema, MAX_PLAN_CALLS, TOOL_DESCRIPTIONS, TOOL_NAMES } from './tools.ts';

export interface PlannerMedia {
  id: string;
  name: string;
  kind: 'video' | 'audio' | 'image';
  durationSec: number;
}

/** At most this many media items and characters of each name go into a prompt. */
export const PROMPT_MAX_MEDIA = 50;
export const PROMPT_MAX_NAME_CHARS = 80;

const bound = (s: string, n: number) => (s.length > n ? `${s.slice(0, n)}…` : s);

// The parser's own rules (src/agent/intent.ts): a clock is m:ss or h:mm:ss (so "9:16" with its two
// digits after the colon would be a time, which is why ratios are read first); 16:9, 9:16 and 1:1
// are shapes, written with x, ×, / or 比 as well. Other common ratios are named by their shape.
const RATIO_SHAPES: Record<string, string> = {
  '16:9': 'landscape 16:9',
  '9:16': 'vertical 9:16',
  '1:1': 'square 1:1',
  '4:3': 'landscape 4:3',
  '3:2': 'landscape 3:2',
  '21:9': 'landscape 21:9',
  '5:4': 'landscape 5:4',
  '4:5': 'vertical 4:5',
  '3:4': 'vertical 3:4',
  '2:3': 'vertical 2:3',
};
// One pass, a ratio tried first at each place: "9:16" is a shape, "1:30" (no such shape) a time.
const RATIO_OR_CLOCK_RE = /(?<![\d.:])(?:(\d{1,2})\s*(?::|x|×|比|\/)\s*(\d{1,2})(?![\d:.])|(\d{1,2}):(\d{2})(?::(\d{2}))?(\.\d+)?(?![\d:]))/gi;
const RANGE_DASH_RE = /(\d+(?:\.\d+)?) s\s*(?:-|–|—|~|到|至)\s*(\d+(?:\.\d+)?) s/g;
const QUOTED_RE = /“[^“”]*”|‘[^‘’]*’|「[^「」]*」|『[^『』]*』|《[^《》]*》|"[^"]*"|(?<![A-Za-z0-9])'[^'\n]*'(?![A-Za-z0-9])/g;

/** Seconds, without trailing zeros. */
const sec = (s: number) => String(Math.round(s * 1000) / 1000);

/**
 * The request with each aspect ratio named as a shape ("4:5" → "vertical 4:5 aspect ratio") and
 * each clock time in seconds ("1:05–1:20" → "65 s to 80 s"). Quoted text (a title's words) is left
 * exactly as written.
 */
export function normaliseRequest(message: string): string {
  const text = message.normalize('NFKC');
  const quoted = text.match(QUOTED_RE) ?? [];
  return text
    .split(QUOTED_RE)
    .map((part, i) => spellOut(part) + (quoted[i] ?? ''))
    .join('');
}

function spellOut(text: string): string {
  return text
    .replace(RATIO_OR_CLOCK_RE, (all: string, ra?: string, rb?: string, a?: string, b?: string, c?: string, frac?: string) => {
      if (ra !== undefined && rb !== undefined) {
        const shape = RATIO_SHAPES[`${Number(ra)}:${Number(rb)}`];
        if (shape) return `${shape} aspect ratio`;
        if (!/^\d{1,2}:\d{2}$/.test(all)) return all;
        [a, b] = [ra, rb];
      }
      const s = (c === undefined ? Number(a) * 60 + Number(b) : Number(a) * 3600 + Number(b) * 60 + Number(c)) + Number(frac ?? 0);
      return `${sec(s)} s`;
    })
    .replace(RANGE_DASH_RE, '$1 s to $2 s');
}

/** A few facts about the draft, enough to plan edits: its shape, length, and what is on it. */
export function draftSummary(draft: Draft | null): Record<string, unknown> | null {
  if (!draft) return null;
  const segs = (tt: number) => draft.t.filter((t) => t.tt === tt).flatMap((t): { s: number; d: number; src?: string; m?: unknown }[] => t.sg);
  const text = segs(7).map((s) => ({ m: s.m as { kind?: string; text?: string } | undefined }));
  const end = Math.max(0, ...[0, 1, 7].flatMap((tt) => segs(tt).map((s) => s.s + s.d)));
  const titles = text.filter((s) => s.m?.kind !== 'caption').map((s) => bound(String(s.m?.text ?? ''), 40));
  return {
    width: draft.w,
    height: draft.h,
    shape: draft.w > draft.h ? '16:9' : draft.w < draft.h ? '9:16' : '1:1',
    duration_sec: Math.round(end) / 1000,
    video_sources: [...new Set(segs(0).map((s) => s.src))].slice(0, 10),
    music_sources: [...new Set(segs(1).map((s) => s.src))].slice(0, 10),
    captions: text.filter((s) => s.m?.kind === 'caption').length,
    titles: titles.slice(0, 10),
  };
}

/** The system prompt: the job, the rules, the tools. */
export function systemPrompt(): string {
  const tools = TOOL_NAMES.map((name) => `- ${name}: ${TOOL_DESCRIPTIONS[name]}\n  args: ${JSON.stringify(argsJsonSchema(name))}`).join('\n');
  return [
    'You turn one video-editing request into tool calls for vidscribe, a video editor.',
    `Reply with JSON only: {"calls":[{"tool":"<name>","args":{...}}]}, at most ${MAX_PLAN_CALLS} calls, in the order they should run.`,
    'Reply {"calls":[]} when the request asks for nothing these tools do, or when you are unsure.',
    'Rules:',
    '- Use only these tools and arguments. Times are seconds from the start of the video; the request already gives times in seconds.',
    '- Refer to media only by an id from the media list. Leave media_id out to mean the current video.',
    '- Never transcribe, caption or export unless the request asks for exactly that: those cost the user credits.',
    "- A title's text is the words the request quotes, unchanged.",
    'Tools:',
    tools,
  ].join('\n');
}

/** The user turn: the request (normalised) and the session it applies to, as JSON. */
export function userPrompt(input: { message: string; media: readonly PlannerMedia[]; draft: Draft | null; language: 'en' | 'zh' }): string {
  return JSON.stringify({
    request: normaliseRequest(input.message),
    language: input.language,
    media: input.media.slice(0, PROMPT_MAX_MEDIA).map((m) => ({
      id: m.id,
      name: bound(m.name, PROMPT_MAX_NAME_CHARS),
      kind: m.kind,
      duration_sec: Math.round(m.durationSec * 10) / 10,
    })),
    draft: draftSummary(input.draft),
  });
}
