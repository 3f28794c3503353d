/**
 * Deterministic request parsing for the chat agent: an English or Chinese message becomes a list
 * of intents. No LLM: keyword tables and regular expressions, so the same message always means
 * the same thing and the tests pin the behaviour. Anything not understood leaves `unknown` true
 * and the runner answers with what it can do.
 */
import type { Aspect, Corner, Resolution } from '../render/index.ts';
import type { ExportFormat } from '../transcript/index.ts';

export type MediaSelector = { by: 'ordinal'; index: number; kind?: 'video' | 'audio' } | { by: 'name'; name: string };

export type Intent =
  | { kind: 'transcribe'; format: ExportFormat; timestamps: boolean; language?: string; translateTo?: string; media?: MediaSelector; diarize?: true }
  | { kind: 'captions'; media?: MediaSelector; speakers?: true }
  | { kind: 'aspect'; aspect: Aspect }
  | { kind: 'resolution'; resolution: Resolution }
  | { kind: 'title'; text: string; startMs: number; durationMs: number; position?: 'top' | 'center' | 'bottom' }
  | { kind: 'music'; volume: number; media?: MediaSelector; fadeInMs?: number; fadeOutMs?: number }
  | { kind: 'trim'; startMs: number; endMs?: number }
  /** `each`: one render per video in the session ("export each video separately"), not one of the session draft. */
  | { kind: 'export'; media?: MediaSelector; each?: boolean }
  /** A photo on the main track ("use the photo as the first 3 seconds"); atMs -1: at the end. `picture`: which image (default: the first). */
  | { kind: 'still'; atMs: number; durationMs: number; picture?: MediaSelector }
  /** A picture drawn over the video ("put the logo in the top right corner"), for the whole timeline. */
  | { kind: 'overlay'; corner: Corner; picture?: MediaSelector }
  /** Takes something off the draft: burned-in captions, titles (text), background music, overlays. */
  | { kind: 'remove'; what: Removable }
  /** Draft history: back one version or more, forward again, or back to the draft as uploads made it. */
  | { kind: 'undo'; steps: number }
  | { kind: 'redo'; steps: number }
  | { kind: 'startOver' };

export type Removable = 'captions' | 'titles' | 'music' | 'overlays';
export const REMOVABLES: readonly Removable[] = ['captions', 'titles', 'music', 'overlays'];

/**
 * A request that would act on a guess: asked back in one short question, with no tool call and no
 * charge. `subtitles`: burned-in captions or a subtitle file? `vague`: "make it better".
 * `whichVideo`: an export with several videos and no draft (decided by the runner, which knows the session).
 */
export type Question = 'subtitles' | 'vague' | 'whichVideo';

export interface ParsedRequest {
  intents: Intent[];
  /** true when nothing in the message was understood */
  unknown: boolean;
  /** Set when the message is ambiguous: the agent asks this instead of acting (intents is then empty). */
  question?: Question;
}

export const DEFAULT_MUSIC_VOLUME = 0.35;
export const DEFAULT_FADE_MS = 2000;
export const DEFAULT_TITLE_MS = 3000;

// ---------------------------------------------------------------------------------------------
// Times: "90s", "1:30", "1m30s", "1 minute 30 seconds", "1分30秒", "10秒", "3-second".

const NUM = String.raw`\d+(?:\.\d+)?`;
const UH = String.raw`(?:hours?|hrs?|h|个小时|小时)`;
const UM = String.raw`(?:minutes?|mins?|m|分钟|分)`;
const US = String.raw`(?:seconds?|secs?|s|秒钟|秒)`;
const NOT_WORD = String.raw`(?![a-z])`;
const AND = String.raw`\s*(?:and\s+)?`;
const CLOCK = String.raw`\d{1,2}:\d{2}(?::\d{2})?(?:\.\d+)?`;
const unit = (u: string) => String.raw`${NUM}\s*-?\s*${u}${NOT_WORD}`;
const DUR = `(?:${unit(UH)}(?:${AND}${unit(UM)})?(?:${AND}${unit(US)})?|${unit(UM)}(?:${AND}${unit(US)})?|${unit(US)})`;
/** One time expression (no capture groups inside). The lookbehind keeps "mp3" or "1.5" from matching mid-token. */
const TIME = String.raw`(?<![\w.:])(?:${CLOCK}|${DUR})`;
const T = `(${TIME})`;
/** A range start may omit its unit: "5 to 8 seconds". */
const T1 = String.raw`(${TIME}|(?<![\w.:])${NUM}(?![\d:]))`;
const RANGE_TO = String.raw`\s*(?:to|until|till|through|and|-|–|—|~|到|至)\s*(?:第)?`;

function unitMs(u: string): number {
  const s = u.toLowerCase();
  if (s.startsWith('h') || s.includes('小时')) return 3_600_000;
  if (s.startsWith('m') || s.startsWith('分')) return 60_000;
  return 1000;
}

/** Milliseconds in a time expression; a bare number counts in `bareUnit`. */
function toMs(expr: string, bareUnit = 1000): number {
  // (?<!\d): a clock starts where its digits do, so a long digit run is scanned once, not once per digit.
  const c = /(?<!\d)(\d+):(\d{2})(?::(\d{2}))?(\.\d+)?/.exec(expr);
  if (c) {
    const [a, b, s] = [Number(c[1]), Number(c[2]), c[3] === undefined ? undefined : Number(c[3])];
    const secs = (s === undefined ? a * 60 + b : a * 3600 + b * 60 + s) + Number(c[4] ?? 0);
    return Math.round(secs * 1000);
  }
  let total = 0;
  for (const m of expr.matchAll(/(\d+(?:\.\d+)?)\s*-?\s*(个小时|小时|分钟|分|秒钟|秒|hours?|hrs?|h|minutes?|mins?|m|seconds?|secs?|s)?/gi)) {
    total += Number(m[1]) * (m[2] ? unitMs(m[2]) : bareUnit);
  }
  return Math.round(total);
}

/** The unit a bare range start borrows from its end: "1 to 2 minutes" is minutes. */
function unitOf(expr: string): number {
  if (expr.includes(':')) return 1000;
  const m = /\d\s*-?\s*([a-z]+|个小时|小时|分|秒)/i.exec(expr);
  return m?.[1] ? unitMs(m[1]) : 1000;
}

// ---------------------------------------------------------------------------------------------
// Preparing the text: NFKC (full-width → ASCII), quoted text and file names lifted out into
// placeholders (so a title like 'Vertical Love' triggers nothing), numerals normalised.

interface Prepared {
  text: string;
  quotes: string[];
  files: string[];
}

const MEDIA_EXT = 'mp4|mov|avi|webm|mkv|m4v|mp3|wav|m4a|aac|flac|ogg|opus';
/** Names of files we cannot transcribe are still names: "transcribe img.png" means that file, not another. */
const OTHER_EXT = 'png|jpe?g|gif|webp|bmp|tiff?|heic|heif|avif|svg|ico|psd|pdf|zip|rar|7z|exe|dmg|apk|pptx?|xlsx?';
const FILE_EXT = `${MEDIA_EXT}|${OTHER_EXT}`;
export const MEDIA_EXT_RE = new RegExp(String.raw`\.(?:${MEDIA_EXT})$`, 'i');
const AUDIO_EXT_RE = /\.(?:mp3|wav|m4a|aac|flac|ogg|opus)$/i;
const QUOTED_FILE_RE = new RegExp(String.raw`^[^"“”‘’「」《》『』]+\.(?:${FILE_EXT})$`, 'i');
// Linear time: each quote's text stops at the next opening mark, so a run of unclosed quotes is
// read once, not once per quote. A straight single quote only opens/closes away from letters, so
// "what's" is not a quote (and an apostrophe inside a quote does not end it).
const QUOTE_RE =
  /“([^“”]+)”|‘([^‘’]+)’|「([^「」]+)」|『([^『』]+)』|《([^《》]+)》|"([^"]+)"|(?<![A-Za-z0-9])'((?:[^'\n]|(?<=[A-Za-z0-9])')+?)'(?![A-Za-z0-9])/g;
/** Placeholder tags: a, b, …, z, ba, bb, … (letters only, so no digit or time pattern reads them). */
const tag = (i: number) => [...i.toString(26)].map((d) => String.fromCharCode(97 + parseInt(d, 26))).join('');
const untag = (t: string) => parseInt([...t].map((c) => (c.charCodeAt(0) - 97).toString(26)).join(''), 26);

/** Characters a file name cannot contain (it ends at them), and those it cannot start right after. */
const NAME_STOP = new Set([...' \t\n\r\v\f"\'“”‘’「」《》『』,，;；()（）⟦⟧']);
const NOT_BEFORE_NAME = /[\w.\-/\\]/;
const NAME_EXT_AT = new RegExp(String.raw`\.(?:${FILE_EXT})(?!\w)`, 'iy');

/**
 * Replaces each file name ("clip.mp4", "转写采访.mp4", "C:\\v\\a.mov") with `name(match)`: the
 * leftmost run of name characters, not starting right after a word character, dot, dash or
 * slash, that ends in a known extension. One pass over the text (a regular expression for this
 * re-scans the rest of a long token from every character of it).
 */
function replaceFileNames(text: string, name: (found: string) => string): string {
  let out = '';
  let copied = 0;
  let start = -1;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (NAME_STOP.has(c)) {
      start = -1;
      continue;
    }
    if (c === '.' && start >= 0 && start < i) {
      NAME_EXT_AT.lastIndex = i;
      const ext = NAME_EXT_AT.exec(text);
      if (ext) {
        const end = i + ext[0].length;
        out += text.slice(copied, start) + name(text.slice(start, end));
        copied = end;
        start = -1;
        i = end - 1;
        continue;
      }
    }
    if (start < 0 && (i === 0 || !NOT_BEFORE_NAME.test(text[i - 1]!))) start = i;
  }
  return out + text.slice(copied);
}

const CN_DIGITS: Record<string, number> = { 零: 0, 〇: 0, 一: 1, 二: 2, 两: 2, 三: 3, 四: 4, 五: 5, 六: 6, 七: 7, 八: 8, 九: 9 };
function cnNumber(s: string): number {
  const m = /^([一二两三四五六七八九])?十([一二三四五六七八九])?$/.exec(s);
  if (m) return (m[1] ? CN_DIGITS[m[1]]! : 1) * 10 + (m[2] ? CN_DIGITS[m[2]]! : 0);
  if (s.includes('十')) return NaN;
  return Number([...s].map((c) => CN_DIGITS[c]).join(''));
}
// Only numerals next to a counter or unit ("第二个", "前三秒"), so ordinary words stay intact.
// The second branch starts only where a run of numerals does (linear on a long run).
const CN_NUM_RE =
  /(?<=[第前后共])[零〇一二两三四五六七八九十]+|(?<![零〇一二两三四五六七八九十])[零〇一二两三四五六七八九十]+(?=\s*(?:个|秒|分|小时|段|首|条|部|%|倍|次|步))/g;
const EN_NUMBERS: Record<string, number> = {
  one: 1,
  two: 2,
  three: 3,
  four: 4,
  five: 5,
  six: 6,
  seven: 7,
  eight: 8,
  nine: 9,
  ten: 10,
  eleven: 11,
  twelve: 12,
  fifteen: 15,
  twenty: 20,
  thirty: 30,
  forty: 40,
  fifty: 50,
  sixty: 60,
  ninety: 90,
};
const EN_NUM_RE = new RegExp(String.raw`\b(${Object.keys(EN_NUMBERS).join('|')})(?=[\s-]+(?:hours?|minutes?|mins?|seconds?|secs?|percent)\b)`, 'gi');

const RATIO_TOKENS: Record<string, string> = { '16x9': '16:9', '9x16': '9:16', '1x1': '1:1' };

// Common misspellings of the words the rules key on, as people type them ("captoins", "substitles",
// "remvoe"): one alternation each, read once (linear).
const TYPOS: readonly (readonly [RegExp, string])[] = [
  [/\b(?:captoins?|captiosn|captins?|captons?|capitons?|cpations?|catpions?|captionss|captoin)\b/gi, 'captions'],
  [/\b(?:substitles?|subtitels?|subtiltes?|subtites?|subtitls?|sbutitles?|subtitiles?|subitles?|subtittles?|subtilte)\b/gi, 'subtitles'],
  [/\b(?:remvoe|romove|reomve|rmeove|remoev|remov|remoce|reemove)\b/gi, 'remove'],
  [/\b(?:delte|deleet|dleete|delet)\b/gi, 'delete'],
  [/\b(?:musci|msuic|muisc|musik)\b/gi, 'music'],
  [/\b(?:tittles?|tiltes?|titels?)\b/gi, 'titles'],
  [/\b(?:udno|unod|undoo|und0)\b/gi, 'undo'],
  [/\b(?:exprot|exoprt|exort)\b/gi, 'export'],
  [/\b(?:transcirbe|trasncribe|transribe|transcrbe)\b/gi, 'transcribe'],
];
function fixTypos(text: string): string {
  return TYPOS.reduce((t, [re, word]) => t.replace(re, word), text);
}

function prepare(message: string): Prepared {
  const quotes: string[] = [];
  const files: string[] = [];
  const addFile = (name: string) => {
    files.push(name.split(/[\\/]/).pop()!);
    return ` ⟦f${tag(files.length - 1)}⟧ `;
  };
  // Runs of white space become one space (or one line break, a clause boundary), so no `\s*` in
  // the patterns below ever has more than a few characters to try.
  let text = message.normalize('NFKC').replace(/\s+/g, (ws) => (ws.includes('\n') ? '\n' : ' '));
  text = fixTypos(text);
  text = text.replace(QUOTE_RE, (...m: unknown[]) => {
    const inner = String(m.slice(1, 8).find((g) => typeof g === 'string') ?? '').trim();
    if (QUOTED_FILE_RE.test(inner)) return addFile(inner);
    quotes.push(inner);
    return ` ⟦q${tag(quotes.length - 1)}⟧ `;
  });
  text = replaceFileNames(text, addFile);
  text = text
    .replace(/百分之([零〇一二两三四五六七八九十]+|\d+(?:\.\d+)?)/g, (_, n: string) => `${/\d/.test(n) ? n : cnNumber(n)}%`)
    .replace(CN_NUM_RE, (s) => (Number.isNaN(cnNumber(s)) ? s : String(cnNumber(s))))
    .replace(EN_NUM_RE, (w) => String(EN_NUMBERS[w.toLowerCase()]))
    .replace(/\ban?(?=\s+(?:hour|minute)\b)/gi, '1')
    .replace(/\bhalf (?:an?|1) (minute|hour)\b/gi, (_, u: string) => (u.toLowerCase() === 'hour' ? '30 minutes' : '30 seconds'))
    .replace(/\b(first|last)\s+(minute|hour)\b/gi, '$1 1 $2')
    // "1920x1080" names both a shape and a resolution.
    .replace(/(?<![\d.])(\d{3,4})\s*[x×*]\s*(\d{3,4})(?![\d.])/gi, (all, a: string, b: string) => {
      const [w, h] = [Number(a), Number(b)];
      const r = w / h;
      const shape = Math.abs(r - 16 / 9) < 0.02 ? '16x9' : Math.abs(r - 9 / 16) < 0.02 ? '9x16' : r === 1 ? '1x1' : undefined;
      return shape ? ` ratio${shape} ${Math.min(w, h) <= 720 ? '720p' : '1080p'} ` : all;
    })
    // Ratios become words so "9:16" is never read as nine minutes sixteen.
    .replace(/(?<![\d.:])(16|9|1)\s*(?::|x|×|比|\/)\s*(16|9|1)(?![\d:.])/gi, (all, a: string, b: string) =>
      RATIO_TOKENS[`${a}x${b}`] ? ` ratio${a}x${b} ` : all,
    );
  return { text, quotes, files };
}

/** Replaces [start, end) with one space, so a consumed phrase is not read twice (and leaves no long run of spaces). */
function blank(text: string, start: number, end: number): string {
  return `${text.slice(0, start)} ${text.slice(end)}`;
}

// Clauses: parameters (a title's time, a position) are looked for in the clause of their keyword.
const CLAUSE_VERBS = String.raw`add|put|make|cut|trim|keep|remove|export|render|transcribe|convert|set|change|use|crop|give|get|burn|turn|translate|include|show|加|添加|剪|去掉|删|保留|导出|转|做|改|设|把|生成|输出|配|烧|截取|只要|调|翻译|提取`;
const BOUNDARY_RE = new RegExp(
  String.raw`[;!?；。！？\n]|\.(?=\s|$)|[,，](?=\s*(?:and\s+)?(?:then\s+)?(?:${CLAUSE_VERBS}))|\band(?=\s+(?:${CLAUSE_VERBS})\b)|\b(?:and then|then|also|plus)\b|然后|接着|并且|同时|另外|再`,
  'gi',
);

function clauseAround(text: string, pos: number): [number, number] {
  let start = 0;
  let end = text.length;
  for (const m of text.matchAll(BOUNDARY_RE)) {
    const i = m.index ?? 0;
    if (i < pos) start = i + m[0].length;
    else if (i >= pos) {
      end = i;
      break;
    }
  }
  return [start, end];
}

// ---------------------------------------------------------------------------------------------
// Trim. Only phrasings we can express as "keep [start, end)": cutting a middle part or "the last
// N seconds" (which needs the duration) is not understood.

type Span = [number, number?];
const startOnly = (m: RegExpExecArray): Span => [toMs(m[1]!)];
const firstN = (m: RegExpExecArray): Span => [0, toMs(m[1]!)];
const range = (m: RegExpExecArray): Span => [toMs(m[1]!, unitOf(m[2]!)), toMs(m[2]!)];
const TRIM_RULES: { re: RegExp; span: (m: RegExpExecArray) => Span }[] = [
  // "keep 1:00 to 2:30", "clip from 5s to 20s", "保留1:00到2:30", "截取第5秒到第10秒". At most six filler words:
  // "clip" is both verb and filler, so an unbounded run would re-read "clip clip clip…" from every "clip".
  {
    re: new RegExp(
      String.raw`\b(?:keep|trim|cut|clip|extract|use|take)\b(?:\s+(?:it|this|the|video|clip|part|section|segment|portion|bit|only|just|down|from|between)){0,6}\s*${T1}${RANGE_TO}${T}`,
      'i',
    ),
    span: range,
  },
  {
    re: new RegExp(String.raw`(?:保留|截取|剪辑|剪出|剪取|只要|只保留|只留|留下|截|剪)(?:视频)?(?:的)?(?:从)?\s*(?:第)?${T1}${RANGE_TO}${T}`, 'i'),
    span: range,
  },
  // "cut the first 10 seconds", "剪掉前10秒", "前10秒不要"
  { re: new RegExp(String.raw`\b(?:cut|remove|delete|trim|skip|drop|chop|lose|get rid of)\s+(?:off\s+|out\s+)?(?:the\s+)?first\s+${T}`, 'i'), span: startOnly },
  {
    re: new RegExp(String.raw`(?:剪掉|剪去|去掉|删掉|删除|裁掉|切掉|去除|砍掉|跳过|不要)(?:视频)?(?:的)?(?:开头|开始)?(?:的)?前\s*${T}`, 'i'),
    span: startOnly,
  },
  { re: new RegExp(String.raw`前\s*${T}(?:的内容|的部分)?(?:剪掉|去掉|删掉|删除|不要|裁掉|切掉)`, 'i'), span: startOnly },
  // "keep the first 30 seconds", "trim to the first 30 seconds", "only the first 30 seconds", "只要前30秒"
  {
    re: new RegExp(
      String.raw`(?:\b(?:keep|use|(?:trim|cut|shorten|limit)(?:\s+it)?(?:\s+down)?\s+to)|(?<!for\s)\b(?:only|just))\s+(?:only\s+|just\s+)?(?:the\s+)?first\s+${T}`,
      'i',
    ),
    span: firstN,
  },
  { re: new RegExp(String.raw`(?:只要|只保留|保留|截取|只留|留下|只取|只剪)\s*(?:视频)?(?:的)?(?:开头|开始)?(?:的)?前\s*${T}`, 'i'), span: firstN },
  // "remove everything before 0:10" / "after 1:00"
  { re: new RegExp(String.raw`\b(?:cut|remove|delete|drop|trim)\s+(?:off\s+)?(?:everything|anything|all)\s+before\s+${T}`, 'i'), span: startOnly },
  { re: new RegExp(String.raw`\b(?:cut|remove|delete|drop|trim)\s+(?:off\s+)?(?:everything|anything|all)\s+after\s+${T}`, 'i'), span: firstN },
  { re: new RegExp(String.raw`${T}(?:之|以)前的?(?:内容|部分)?(?:都|全部)?(?:剪掉|去掉|删掉|删除|不要)`, 'i'), span: startOnly },
  { re: new RegExp(String.raw`${T}(?:之|以)后的?(?:内容|部分)?(?:都|全部)?(?:剪掉|去掉|删掉|删除|不要)`, 'i'), span: firstN },
  // "trim it to 30 seconds", "剪成30秒"
  { re: new RegExp(String.raw`\b(?:trim|cut|shorten|reduce|limit)\s+(?:it\s+|this\s+|the\s+video\s+)?(?:down\s+)?to\s+${T}`, 'i'), span: firstN },
  { re: new RegExp(String.raw`(?:剪成|剪到|缩短到|缩短成|缩减到|截成|截到|控制在)\s*${T}`, 'i'), span: firstN },
];

function findTrim(p: Prepared): Intent | undefined {
  for (const { re, span } of TRIM_RULES) {
    const m = re.exec(p.text);
    if (!m) continue;
    const [startMs, endMs] = span(m);
    if (endMs !== undefined ? endMs <= startMs : startMs <= 0) continue;
    p.text = blank(p.text, m.index, m.index + m[0].length);
    return endMs === undefined ? { kind: 'trim', startMs } : { kind: 'trim', startMs, endMs };
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Canvas: the last mention wins ("from landscape to vertical", "把横屏改成竖屏").

function lastMention<V>(text: string, rules: readonly (readonly [RegExp, V | ((m: RegExpExecArray) => V | undefined)])[]): V | undefined {
  let best: { at: number; value: V } | undefined;
  for (const [re, value] of rules) {
    for (const m of text.matchAll(re)) {
      const v = typeof value === 'function' ? (value as (m: RegExpExecArray) => V | undefined)(m) : value;
      if (v !== undefined && (!best || (m.index ?? 0) >= best.at)) best = { at: m.index ?? 0, value: v };
    }
  }
  return best?.value;
}

function brandAspect(brand: string): Aspect {
  const b = brand.toLowerCase();
  if (/youtube shorts|reel|stor|tik ?tok|douyin|抖音|快手|snapchat|视频号/.test(b)) return '9:16';
  if (/instagram|ig/.test(b)) return '1:1';
  return '16:9';
}
const BRANDS = String.raw`youtube shorts|youtube|bilibili|b站|tik ?tok|douyin|抖音|快手|视频号|instagram (?:reels?|stor(?:y|ies)|post)|instagram|ig (?:reels?|post)|snapchat`;
// Brand names only count as a destination ("for TikTok", "发抖音"), not in "this YouTube video".
const ASPECT_RULES: readonly (readonly [RegExp, Aspect | ((m: RegExpExecArray) => Aspect | undefined)])[] = [
  [/\bratio9x16\b|\bvertical(?:ly)?\b|\bportrait\b|\breels?\b|\bshorts\b|\bstor(?:y|ies)\b|竖屏|竖版|竖向|竖排|竖着|竖过来/gi, '9:16'],
  [/\bratio1x1\b|\bsquare\b|\binstagram (?:post|feed)\b|\big post\b|正方形|方形|方屏/gi, '1:1'],
  [/\bratio16x9\b|\blandscape\b|\bhorizontal(?:ly)?\b|\bwide ?screen\b|横屏|横版|横向|横过来|宽屏/gi, '16:9'],
  [
    new RegExp(
      String.raw`(?:\b(?:for|to|on|into|as)\s+(?:an?\s+|the\s+|my\s+)?|适合|适配|用于|发到|发布到|上传到|发|做成|改成|转成|变成)(${BRANDS})|(${BRANDS})\s*(?:format|version|size|ratio|style|格式|版本|尺寸|比例)`,
      'gi',
    ),
    (m) => brandAspect(m[1] ?? m[2] ?? ''),
  ],
];

// 1080p is our ceiling: 4K and friends mean "the best you have". Below 720p means "small": 720p.
const RESOLUTION_RULES: readonly (readonly [RegExp, Resolution])[] = [
  [/\b(?:2160p?|1440p|4k|8k|2k|uhd)\b|超高清|1080\s*p\b|\b(?:1080)(?=\s*(?:resolution|分辨率))|\bfull[- ]?hd\b|\bfhd\b|\bhd\b|高清|超清|蓝光/gi, '1080p'],
  [/720\s*p\b|\b720(?=\s*(?:resolution|分辨率))|\b(?:480|360|240)p\b|\bsd\b|标清|流畅/gi, '720p'],
];

// ---------------------------------------------------------------------------------------------
// Captions on the video vs a subtitle file: burning, adding or "with captions" on a video output
// is captions; any other mention of subtitles asks for a file (transcribe, srt).

const CAPW = String.raw`(?:closed[- ])?(?:captions?|subtitles?|subs)`;
const BURN_RE = /\bburn/i;
const CAPW_RE = new RegExp(String.raw`\b${CAPW}\b`, 'i');
/** "burn" and a caption word in one sentence. Sentence by sentence, not `burn[^.]*captions`, which re-reads the sentence from every "burn". */
const burnsCaptions = (text: string) => BURN_RE.test(text) && CAPW_RE.test(text) && text.split(/[.;!?]/).some((s) => BURN_RE.test(s) && CAPW_RE.test(s));
const CAPTIONS_RULES: RegExp[] = [
  /\bhard[- ]?(?:code[ds]?|sub(?:bed|s)?|burn(?:ed|t)?)\b|\bhardsub|\bopen captions?\b|\bcaptioned\b|\bsubtitled\b/i,
  new RegExp(String.raw`\b(?:add|put|include|overlay|show|display|place|insert|embed|stick)\b[^.,;!?]{0,25}?\b${CAPW}\b(?!\s*files?)`, 'i'),
  new RegExp(
    String.raw`\b(?:video|mp4|clip|movie|version|it|this|film|footage|reel|short|tiktok|interview)\b[^.;!?]{0,40}?\bwith\s+(?:[\w-]+\s+){0,2}?${CAPW}\b(?!\s*files?)`,
    'i',
  ),
  new RegExp(String.raw`\b${CAPW}\b[^.,;!?]{0,20}?\b(?:on|onto|into|to)\s+(?:the\s+|this\s+|my\s+|that\s+)?(?:video|clip|mp4|footage|screen|frames?)\b`, 'i'),
  /(?:加|添加|加上|配上|配|烧录|烧入|烧进|压制|压进|嵌入|内嵌|叠加|显示|打上)[^，。,;；!?！？]{0,6}?字幕(?!文件)/,
  /硬字幕|字幕(?:烧录|烧进|烧入|压制|压进|嵌入|内嵌|叠加)|字幕(?:加|放|显示)(?:到|在)(?:视频|画面)|带字幕的[^，。,;；]{0,8}?(?:视频|mp4|版本)/i,
];
const SUBTITLE_WORD_RE = new RegExp(String.raw`\b${CAPW}\b|字幕`, 'i');

// ---------------------------------------------------------------------------------------------
// Transcription: trigger words, output format, timestamps, languages.

const TRANSCRIBE_RE = new RegExp(
  [
    String.raw`\btranscri(?:be[sd]?|bing|pts?|ptions?)\b`,
    String.raw`\bspeech[- ]to[- ]text\b`,
    String.raw`\bdictat`,
    String.raw`\bwrite (?:it |this |everything )?down\b`,
    String.raw`\btext (?:document|doc|file|version)\b`,
    String.raw`\bplain text\b`,
    String.raw`\b(?:to|into|as) text\b`,
    String.raw`\b(?:srt|vtt|webvtt|json|markdown|md|txt|docx?)\b`,
    String.raw`\bword (?:doc|document|file|format)\b`,
    String.raw`\b(?:in|as|into|to) (?:an? )?(?:ms |microsoft )?word\b`,
    String.raw`\b(?:subtitle|caption)s? files?\b`,
    String.raw`\btranslat`,
    '转写',
    '转录',
    '(?:转|转换|转化|变)(?:成|为)?(?:文字|文本|文档)',
    '语音转',
    '听写',
    '提取(?:字幕|文字|文本|台词|对白|内容)',
    '文字稿',
    '逐字稿',
    '文字版',
    '文本',
    '文档',
    '字幕文件',
    '(?:导出|生成|做|出)(?:1份|一份)?字幕',
    '翻译',
    '识别(?:语音|文字|内容)',
  ].join('|'),
  'i',
);

function transcriptFormat(text: string, captions: boolean): ExportFormat {
  if (/\b(?:web ?vtt|vtt)\b/i.test(text)) return 'vtt';
  if (/\bdocx?\b|\bword\b(?!\s*-?\s*(?:for|by)\b)/i.test(text)) return 'docx';
  if (/\bjson\b/i.test(text)) return 'json';
  if (/\bmarkdown\b|\bmd\b/i.test(text)) return 'md';
  if (/\bsrt\b|\b(?:subtitle|caption)s? files?\b|字幕文件/i.test(text)) return 'srt';
  if (/\btxt\b|\btext\b|文本|文字|文档/i.test(text)) return 'txt';
  if (/提取字幕/.test(text)) return 'txt';
  return !captions && SUBTITLE_WORD_RE.test(text) ? 'srt' : 'txt';
}

const LANGUAGES: Record<string, string> = {
  english: 'en',
  英语: 'en',
  英文: 'en',
  spanish: 'es',
  español: 'es',
  espanol: 'es',
  castellano: 'es',
  西班牙语: 'es',
  西班牙文: 'es',
  西语: 'es',
  french: 'fr',
  français: 'fr',
  francais: 'fr',
  法语: 'fr',
  法文: 'fr',
  german: 'de',
  deutsch: 'de',
  德语: 'de',
  德文: 'de',
  chinese: 'zh',
  mandarin: 'zh',
  简体中文: 'zh',
  中文: 'zh',
  汉语: 'zh',
  普通话: 'zh',
  国语: 'zh',
  japanese: 'ja',
  日语: 'ja',
  日文: 'ja',
  korean: 'ko',
  韩语: 'ko',
  韩文: 'ko',
  朝鲜语: 'ko',
  portuguese: 'pt',
  葡萄牙语: 'pt',
  葡语: 'pt',
  italian: 'it',
  意大利语: 'it',
  意语: 'it',
  russian: 'ru',
  俄语: 'ru',
  俄文: 'ru',
  arabic: 'ar',
  阿拉伯语: 'ar',
  hindi: 'hi',
  印地语: 'hi',
  dutch: 'nl',
  荷兰语: 'nl',
  turkish: 'tr',
  土耳其语: 'tr',
  vietnamese: 'vi',
  越南语: 'vi',
  thai: 'th',
  泰语: 'th',
  indonesian: 'id',
  印尼语: 'id',
  polish: 'pl',
  波兰语: 'pl',
};
const LANG = `(?<![a-z])(${Object.keys(LANGUAGES)
  .sort((a, b) => b.length - a.length)
  .join('|')})(?![a-z])`;
const TARGET_RULES = [
  String.raw`\btranslat\w*[^.,;!?]{0,30}?\b(?:in)?to\s+${LANG}`,
  String.raw`\b(?:subtitles?|captions?|subs|transcript(?:ion)?|text|version|translation|srt|vtt)\s+(?:in|into|to)\s+${LANG}`,
  String.raw`${LANG}\s*(?:subtitles?|captions?|subs|translation|version|transcript|srt|vtt)\b`,
  String.raw`(?:翻译|译|翻)(?:成|为|到)\s*${LANG}`,
  String.raw`${LANG}(?:字幕|翻译|版本|版)`,
  String.raw`转(?:写|录)?(?:成|为)\s*${LANG}`,
].map((s) => new RegExp(s, 'i'));
const SOURCE_RULES = [
  String.raw`\b(?:audio|speech|video|recording|dialogue|dialog|interview|speaker|language|it|they)\s+(?:is|are|was|were|'s)\s+(?:all\s+)?(?:in\s+)?${LANG}`,
  String.raw`\b(?:spoken|speaks?|speaking|talks?|talking)\s+(?:in\s+)?${LANG}`,
  String.raw`${LANG}[- ](?:audio|speech|video|recording|interview|podcast|lecture|dialogue|speaker|conversation)\b`,
  String.raw`\bfrom\s+${LANG}`,
  String.raw`(?:音频|语音|视频|录音|对话|内容|原声)(?:是|为|用的是|说的是)?\s*${LANG}`,
  String.raw`说(?:的是)?\s*${LANG}`,
  String.raw`${LANG}(?:音频|语音|视频|录音|对话|采访|演讲)`,
  String.raw`从\s*${LANG}`,
].map((s) => new RegExp(s, 'i'));

function findLanguage(text: string, rules: readonly RegExp[]): string | undefined {
  for (const re of rules) {
    const m = re.exec(text);
    if (m?.[1]) return LANGUAGES[m[1].toLowerCase()];
  }
  return undefined;
}

const TIMESTAMPS_RE = /(\bwith(?:out)?\s+|\bno\s+|不要|不带|去掉|不需要|无)?(?:time[- ]?stamps?|time[- ]?codes?|timestamped|时间戳|时间码|时间轴|时间标记)/i;

// Who speaks: "who said what", "label the speakers", "区分说话人". Each alternative is a fixed phrase
// with bounded gaps, so the scan stays linear (see intent.fuzz.test.ts).
const DIARIZE_RE = new RegExp(
  [
    String.raw`\bwho (?:said|says|spoke|speaks|is speaking|was speaking|is talking|was talking|talks) (?:what|when)\b`,
    String.raw`\bwho(?:'s| is) (?:speaking|talking)\b`,
    String.raw`\b(?:label|identify|name|mark|tag|separate|distinguish|split|tell apart)(?: the| each| every| all| different)? (?:speakers?|voices?)\b`,
    String.raw`\bspeakers? (?:labels?|names?|tags?|identification|diari[sz]ation|turns?)\b`,
    String.raw`\b(?:by|per|for each) speaker\b`,
    String.raw`\bdiari[sz](?:e|ed|ing|ation)\b`,
    '(?:区分|识别|标注|标出|标记|分辨|分开|区别)(?:不同的?|每个|各个)?(?:说话人|说话者|发言人|讲话人|发言者)',
    '(?:说话人|发言人|讲话人)(?:标签|标注|识别|区分|分离|名字|名称)',
    '谁说了什么',
    '谁说的',
    '谁在说话',
    '谁在讲话',
    '谁讲了什么',
  ].join('|'),
  'i',
);

type TranscribeIntent = Extract<Intent, { kind: 'transcribe' }>;
function findTranscribe(text: string, captions: boolean): TranscribeIntent | undefined {
  const diarize = DIARIZE_RE.test(text);
  // "who said what in this interview?" asks for a transcript with speakers, even without "transcribe".
  if (!TRANSCRIBE_RE.test(text) && (captions || !SUBTITLE_WORD_RE.test(text)) && !(diarize && !captions)) return undefined;
  const ts = TIMESTAMPS_RE.exec(text);
  const intent: TranscribeIntent = {
    kind: 'transcribe',
    format: transcriptFormat(text, captions),
    timestamps: ts !== null && !/^(?:without|no|不要|不带|去掉|不需要|无)/i.test(ts[1]?.trim() ?? ''),
  };
  const language = findLanguage(text, SOURCE_RULES);
  const translateTo = findLanguage(text, TARGET_RULES);
  if (language) intent.language = language;
  if (translateTo && translateTo !== language) intent.translateTo = translateTo;
  if (diarize) intent.diarize = true;
  return intent;
}

// ---------------------------------------------------------------------------------------------
// Titles and text overlays: the text comes from a quote (or "title: …"); no text, no title.

const TITLE_RE = /\b(?:title|heading|headline)s?\b|标题|片头字/i;
const OVERLAY_RE =
  /\btext overlay\b|\boverlay(?: the)? (?:text|words?)\b|\b(?:add|put|show|display|write|place|insert|overlay)\s+(?:the\s+|some\s+|a\s+|this\s+)?(?:text|words?)\b(?!\s+(?:document|doc|file|version))|(?:加|添加|加上|叠加|写上|打上|放上)(?:一段|一行|一些|1段|1行)?文字|文字叠加|叠加文字/i;
const QUOTE_TAG_RE = /⟦q([a-z]+)⟧/;

function titleTiming(region: string): [number, number] | undefined {
  let m = new RegExp(String.raw`(?:\bfrom|\bbetween|从)?\s*(?:第)?${T1}${RANGE_TO}${T}`, 'i').exec(region);
  if (m) {
    const [s, e] = range(m) as [number, number];
    if (e > s) return [s, e - s];
  }
  m = new RegExp(String.raw`(?:\bat|\bstarting (?:at|from)|\bfrom|在|从)\s*(?:第)?${T}[^\d]{0,12}?(?:\bfor|\blasting|显示|持续|停留)\s*${T}`, 'i').exec(region);
  if (m) return [toMs(m[1]!), toMs(m[2]!)];
  m = new RegExp(String.raw`(?:\bfirst\s+|前|开头)\s*${T}`, 'i').exec(region);
  if (m) return [0, toMs(m[1]!)];
  m = new RegExp(String.raw`(?:\bfor|\blasting|持续|显示|停留)\s*${T}`, 'i').exec(region);
  if (m) return [0, toMs(m[1]!)];
  m = new RegExp(String.raw`(?:\bat|\bstarting (?:at|from)|\bfrom|在|从)\s*(?:第)?${T}`, 'i').exec(region);
  if (m) return [toMs(m[1]!), DEFAULT_TITLE_MS];
  return undefined;
}

function titlePosition(clause: string): 'top' | 'center' | 'bottom' | undefined {
  if (/\b(?:at|on|to|near|in)\s+(?:the\s+)?top\b|\btop of\b|顶部|上方|顶端|最上|上面/i.test(clause)) return 'top';
  if (/\b(?:at|on|to|near|in)\s+(?:the\s+)?bottom\b|\bbottom of\b|底部|下方|底端|最下|下面/i.test(clause)) return 'bottom';
  if (/\b(?:cent(?:er|re)d?|middle)\b|中间|居中|正中|中央/i.test(clause)) return 'center';
  return undefined;
}

function findTitle(p: Prepared): Intent | undefined {
  const key = TITLE_RE.exec(p.text) ?? OVERLAY_RE.exec(p.text);
  if (!key) return undefined;
  const overlay = !TITLE_RE.test(p.text);
  const [cs, ce] = clauseAround(p.text, key.index);
  const after = p.text.slice(key.index, ce);
  const clause = p.text.slice(cs, ce);
  const q = QUOTE_TAG_RE.exec(after) ?? QUOTE_TAG_RE.exec(clause) ?? QUOTE_TAG_RE.exec(p.text);
  let text = q ? p.quotes[untag(q[1]!)] : undefined;
  if (!text) {
    const said =
      /\b(?:title|heading|headline|text)\s*(?:saying|that says|which says|reading|called|named|:)\s*(.+?)(?=\s+(?:for|from|at|between|during|on|in|to|starting|until|and)\b|\s*[,;.!?]|$)/i.exec(
        after,
      ) ?? /标题(?:为|是|叫|:)\s*([^，。,;；\s前从第在]+)/.exec(after);
    text = said?.[1]?.trim();
  }
  if (!text) return undefined;
  const [startMs, durationMs] = titleTiming(after) ?? titleTiming(clause) ?? [0, DEFAULT_TITLE_MS];
  const position = titlePosition(clause) ?? (overlay ? 'top' : undefined);
  return { kind: 'title', text, startMs, durationMs, ...(position ? { position } : {}) };
}

// ---------------------------------------------------------------------------------------------
// Background music.

const MUSIC_RE =
  /\bbackground (?:music|audio|track|song)\b|\bbgm\b|\bsoundtrack\b|\bbacking track\b|\b(?:add|put|use|play|include|set|lay|throw in|with|over|insert)\b[^.,;!?]{0,30}?\b(?:music|songs?|tunes?)\b(?!\s*videos?)|背景音乐|背景乐|配乐|(?:加|添加|加上|配上|配|放|用|插入|来点|来一段|来首)[^，。,;；]{0,8}?(?:音乐|歌曲|歌|bgm)/i;
const MUSIC_NEG_RE =
  /\b(?:remove|delete|mute|strip|drop|get rid of|take out|without|no)\b[^.,;!?]{0,20}?\b(?:music|songs?|soundtrack|bgm)\b|(?:去掉|删除|移除|去除|删掉|关掉|不要|静音)[^，。,;；]{0,6}?(?:音乐|配乐|bgm|歌)/i;
const ADD_FILE_RE = /(?:\b(?:add|put|use|play|mix in|overlay)|加|添加|加上|配上|用)\s*(?:the\s+)?⟦f([a-z]+)⟧/gi;

function findVolume(text: string): number | undefined {
  const pct = /(?<!\d)(\d+(?:\.\d+)?)\s*(?:%|percent\b|per cent\b)/i.exec(text);
  if (pct) return Number(pct[1]) / 100;
  const vol =
    /(?:\bvolume|音量)\s*(?:of|to|at|=|:|is|为|调到|调成|设为|设成|设置为)?\s*(\d+(?:\.\d+)?)(?![\d.%])(?!\s*(?:s|secs?|seconds?|m|mins?|minutes?|秒|分))/i.exec(
      text,
    );
  if (vol) return Number(vol[1]) > 1 ? Number(vol[1]) / 100 : Number(vol[1]);
  const at = /\bat\s+(0?\.\d+|0|1(?:\.0+)?)(?![\d.%:])(?!\s*(?:s|secs?|seconds?|m|mins?|minutes?)\b)/i.exec(text);
  return at ? Number(at[1]) : undefined;
}

/** A fade's length when one is given right after it ("fade in over 3s", "淡入3秒") or before ("3-second fade"). */
function fadeLength(text: string, m: RegExpExecArray): number {
  const after = new RegExp(String.raw`^\s*(?:over|for|of|lasting)?\s*${T}`, 'i').exec(text.slice(m.index + m[0].length));
  const before = new RegExp(String.raw`${T}\s*(?:long\s+)?$`, 'i').exec(text.slice(0, m.index));
  const ms = toMs((after ?? before)?.[1] ?? '');
  return ms > 0 ? ms : DEFAULT_FADE_MS;
}

function findMusic(p: Prepared, media: MediaSelector | undefined): Intent | undefined {
  const addsAudioFile = [...p.text.matchAll(ADD_FILE_RE)].some((m) => AUDIO_EXT_RE.test(p.files[untag(m[1]!)] ?? ''));
  if (!(MUSIC_RE.test(p.text) || addsAudioFile) || MUSIC_NEG_RE.test(p.text)) return undefined;
  const volume = Math.round(Math.min(1, Math.max(0, findVolume(p.text) ?? DEFAULT_MUSIC_VOLUME)) * 1000) / 1000;
  const intent: Extract<Intent, { kind: 'music' }> = { kind: 'music', volume };
  if (media) intent.media = media;
  const both = /\bfade[sd]?[- ]?in\s*(?:and|&|\/|,)\s*(?:fade[sd]?[- ]?)?out\b|淡入淡出|渐入渐出/i.exec(p.text);
  const fadeIn = both ?? /\bfad(?:e[sd]?|ing)[- ]?in\b|淡入|渐入|渐强/i.exec(p.text);
  const fadeOut = both ?? /\bfad(?:e[sd]?|ing)[- ]?out\b|淡出|渐出|渐弱/i.exec(p.text);
  if (fadeIn) intent.fadeInMs = fadeLength(p.text, fadeIn);
  if (fadeOut) intent.fadeOutMs = fadeLength(p.text, fadeOut);
  return intent;
}

// ---------------------------------------------------------------------------------------------
// Export. Rule: an explicit video output ("into a 1080p MP4", "render", "as a vertical video",
// "生成视频", "导出带字幕的视频") always exports; a bare "export"/"导出"/"download" exports unless the
// message asks for a transcript (then it is the transcript being exported). Edits alone ("make
// it vertical for TikTok") change the draft and do not export.

const VIDEO_OUT_RES: RegExp[] = [
  /\b(?:as|into|in|to|an?)\s+(?:an?\s+)?(?:(?!the\b|this\b|my\b)[\w-]+\s+){0,2}?mp4\b/i,
  /\b(?:into|as)\s+(?:an?|a new)\s+(?:(?!(?:of|from|in|for)\b)[\w-]+\s+){0,3}?(?:video|movie)\b/i,
  /\b(?:make|create|produce|generate|give me|output|download)\s+(?:me\s+)?(?:an?|a new|the final|the finished)\s+(?:(?!(?:of|from|in|for|transcript)\b)[\w-]+\s+){0,3}?(?:video|mp4|movie)\b(?!\s*(?:'s|of|from))/i,
  /\brender(?:ed|ing)?\b|\bexport\s+(?:the\s+|a\s+|it\s+as\s+an?\s+|as\s+an?\s+)?(?:final\s+)?(?:video|mp4|movie)\b/i,
  /(?:生成|导出|输出|做成|制作|合成|渲染|转成|转换成|转为|输出为|导出为|剪成|做1个|做一个|做个)[^，。,;；!?！？]{0,16}?(?:视频|mp4|影片)(?!的|里|中)/i,
  /渲染|出片/,
];
const EXPORT_VERB_RE = /\bexport\b|\bdownload\b|导出|输出|下载/i;
/** A batch: the same treatment on every video, one file each ("export each video separately", "分别导出"). */
const EACH_RE =
  /\b(?:each|every)\s+(?:(?:of\s+(?:the|my)\s+)?(?:videos?|clips?|files?|uploads?|movies?|one)|single\s+(?:video|clip|file))\b|\b(?:separately|individually|one\s+by\s+one)\b|分别|逐个|各自|单独导出|每(?:一)?(?:个|段|条|部)?(?:视频|片段|文件|影片)/i;
/** "one video per file": a batch export even without an export verb. */
const ONE_PER_RE =
  /\bone\s+(?:video|mp4|file|render)\s+(?:per|for\s+each|for\s+every)\s+(?:video|clip|file|upload)\b|每个(?:视频|文件)(?:各)?(?:导出|输出|生成)/i;

// ---------------------------------------------------------------------------------------------
// Media selectors: file names, "the second video", "video 2", "#2", "第二个视频", "最后一个音频".

interface Found {
  at: number;
  sel: MediaSelector;
  kind?: 'video' | 'audio';
}

const ORDINALS: Record<string, number> = { first: 0, '1st': 0, second: 1, '2nd': 1, third: 2, '3rd': 2, fourth: 3, '4th': 3, fifth: 4, '5th': 4, last: -1 };
function nounKind(noun: string): 'video' | 'audio' | undefined {
  if (/video|clip|movie|footage|视频|片段|影片/i.test(noun)) return 'video';
  if (/audio|song|track|music|podcast|音频|歌|音乐|录音/i.test(noun)) return 'audio';
  return undefined;
}
const ORDINAL_EN_RE =
  /\b(first|second|third|fourth|fifth|1st|2nd|3rd|4th|5th|last)\s+(?:uploaded\s+)?(video|clip|movie|footage|audio|song|track|music|recording|podcast|file|upload)s?\b/gi;
const NUMBERED_EN_RE =
  /\b(video|clip|audio|song|track|file|upload|recording)\s*(?:#|no\.?\s*|number\s*)?(\d{1,2})\b(?![\d.%]|:\d)(?!\s*(?:p|s|secs?|seconds?|m|mins?|minutes?|h|hours?)\b|\s*[%秒分])/gi;
const HASH_RE = /(?<![\w⟦])#(\d{1,2})\b/g;
/** "the audio file", "my podcast": the first audio upload (refused in words when there is none, rather than the video's soundtrack). */
const THE_AUDIO_FILE_RE = /\b(?:the|my|this|that)\s+(?:uploaded\s+)?(?:audio\s+(?:file|recording)|mp3|wav|podcast|song)\b/gi;
const ORDINAL_CN_RE = /(?:第(\d+)|最后(?:1|一)?)(?:个|段|首|条|部)?(视频|片段|影片|音频|歌曲|歌|音乐|录音|文件)/g;
const MUSIC_HINT_RE =
  /\b(?:the|my|this|that)\s+(?:uploaded\s+)?(?:song|audio(?:\s+(?:file|track))?|track|mp3|tune)\b|\buploaded\s+(?:song|audio|track|music)\b|上传的(?:音乐|歌曲|歌|音频|bgm)|这首歌|那首歌/i;

function ordinal(index: number, kind: 'video' | 'audio' | undefined): MediaSelector {
  return kind ? { by: 'ordinal', index, kind } : { by: 'ordinal', index };
}

function findSelectors(p: Prepared): Found[] {
  const found: Found[] = [];
  // "video 2" right after "the second video" is the same mention. Positions in buckets of 12, so
  // the check stays constant-time however many mentions a long message has.
  const near = new Map<number, number[]>();
  const push = (f: Found) => {
    found.push(f);
    const b = Math.floor(f.at / 12);
    near.set(b, [...(near.get(b) ?? []), f.at]);
  };
  const taken = (at: number) => {
    const b = Math.floor(at / 12);
    return [b - 1, b, b + 1].some((k) => near.get(k)?.some((x) => Math.abs(x - at) < 12));
  };
  for (const m of p.text.matchAll(/⟦f([a-z]+)⟧/g)) {
    const name = p.files[untag(m[1]!)]!;
    // A name that is not of a media file (an image, a document) has no kind: it is refused later.
    const kind = AUDIO_EXT_RE.test(name) ? 'audio' : MEDIA_EXT_RE.test(name) ? 'video' : undefined;
    push({ at: m.index ?? 0, sel: { by: 'name', name }, ...(kind ? { kind } : {}) });
  }
  for (const m of p.text.matchAll(ORDINAL_EN_RE)) {
    const kind = nounKind(m[2]!);
    push({ at: m.index ?? 0, sel: ordinal(ORDINALS[m[1]!.toLowerCase()]!, kind), ...(kind ? { kind } : {}) });
  }
  for (const m of p.text.matchAll(NUMBERED_EN_RE)) {
    const kind = nounKind(m[1]!);
    if (Number(m[2]) > 0 && !taken(m.index ?? 0)) push({ at: m.index ?? 0, sel: ordinal(Number(m[2]) - 1, kind), ...(kind ? { kind } : {}) });
  }
  for (const m of p.text.matchAll(HASH_RE)) {
    if (Number(m[1]) > 0 && !taken(m.index ?? 0)) push({ at: m.index ?? 0, sel: ordinal(Number(m[1]) - 1, undefined) });
  }
  for (const m of p.text.matchAll(THE_AUDIO_FILE_RE)) {
    if (!taken(m.index ?? 0)) push({ at: m.index ?? 0, sel: ordinal(0, 'audio'), kind: 'audio' });
  }
  for (const m of p.text.matchAll(ORDINAL_CN_RE)) {
    const index = m[1] === undefined ? -1 : Number(m[1]) - 1;
    const kind = nounKind(m[2]!);
    if (index >= -1) push({ at: m.index ?? 0, sel: ordinal(index, kind), ...(kind ? { kind } : {}) });
  }
  return found.sort((a, b) => a.at - b.at);
}

// ---------------------------------------------------------------------------------------------
// Taking things away: "remove the subtitles", "get rid of the music and the title", "no captions",
// "take the logo off", "去掉字幕", "把背景音乐删了". Each match is blanked so no adding rule reads it.

const OBJ_EN = String.raw`(?:(?:closed[- ])?(?:captions?|subtitles?|subs)|titles?|headings?|headlines?|text(?: overlays?)?|(?:background )?(?:music|songs?|soundtrack|bgm|audio track)|overlays?|logos?|watermarks?|stickers?|images? overlays?)`;
const OBJ_ZH = String.raw`(?:字幕|标题|片头字|文字|背景音乐|背景乐|配乐|音乐|歌曲|歌|bgm|水印|logo|图标|贴图|叠加图|叠加|图片)`;
const FILLER_EN = String.raw`(?:all|the|my|those|these|that|this|of|any|burned[- ]in|burnt[- ]in|hard[- ]?coded|added|current|existing)`;
const OBJ_LIST_EN = String.raw`${OBJ_EN}(?:\s*(?:,|and|&|plus)\s*(?:the\s+)?${OBJ_EN}){0,4}`;
const OBJ_LIST_ZH = String.raw`${OBJ_ZH}(?:\s*(?:、|,|，|和|及|以及|还有|跟|与)?\s*${OBJ_ZH}){0,4}`;
const REMOVE_VERB_EN = String.raw`(?:remove|delete|drop|strip|lose|hide|clear|erase|kill|ditch|scrap|mute|take\s+(?:off|out|away)|get\s+rid\s+of|turn\s+off|no\s+more|(?:don't|dont|do\s+not)\s+(?:want|need)(?:\s+any)?)`;
const REMOVE_VERB_ZH = String.raw`(?:去掉|去除|删掉|删除|删去|移除|拿掉|关掉|关闭|取消|清除|清空|撤掉|撤下|不要|去)`;
const REMOVE_RULES: RegExp[] = [
  new RegExp(String.raw`\b${REMOVE_VERB_EN}\b(?:\s+${FILLER_EN}){0,4}\s+(${OBJ_LIST_EN})\b`, 'gi'),
  new RegExp(String.raw`\b(?:take|get|turn|switch)\s+(?:the\s+|my\s+|all\s+)?(${OBJ_LIST_EN})\s+(?:off|out|away)\b`, 'gi'),
  new RegExp(String.raw`\b(?:without|no)\s+(?:any\s+|the\s+)?(${OBJ_LIST_EN})\b(?!\s+(?:file|document))`, 'gi'),
  new RegExp(String.raw`(?:\b(?:the|my)\s+)?(${OBJ_LIST_EN})\s+(?:off|gone|removed|deleted)\b`, 'gi'),
  new RegExp(
    String.raw`(?:${REMOVE_VERB_ZH}|\b${REMOVE_VERB_EN}\b\s*)(?:掉)?(?:所有|全部|那个|这个|那些|这些|视频里|画面上|上面|里面|的){0,3}(${OBJ_LIST_ZH})`,
    'gi',
  ),
  new RegExp(
    String.raw`把?(?:所有|全部|那个|这个|的){0,2}(${OBJ_LIST_ZH})(?:都|全|全部|也)?(?:去掉|去除|删掉|删除|删了|去了|删去|移除|拿掉|关掉|关了|取消|清除|撤掉|不要了|拿走)`,
    'gi',
  ),
];

function removableIn(objects: string): Removable[] {
  const found = new Set<Removable>();
  if (/captions?|subtitles?|\bsubs\b|字幕/i.test(objects)) found.add('captions');
  if (/(?<![a-z])(?:titles?|headings?|headlines?)\b|\btext\b|标题|片头字|文字/i.test(objects)) found.add('titles');
  if (/music|songs?|soundtrack|bgm|audio track|音乐|背景乐|配乐|歌/i.test(objects)) found.add('music');
  if (/overlays?|logos?|watermarks?|stickers?|images?|水印|logo|图标|贴图|叠加|图片/i.test(objects)) found.add('overlays');
  // "the text overlay" is a title-like text, not an image overlay.
  if (/text overlays?/i.test(objects) && !/(?<!text )overlays?|logo|watermark|sticker|image/i.test(objects.replace(/text overlays?/gi, '')))
    found.delete('overlays');
  return REMOVABLES.filter((r) => found.has(r));
}

function findRemovals(p: Prepared): Intent[] {
  const out: Removable[] = [];
  for (const re of REMOVE_RULES) {
    p.text = p.text.replace(re, (_all, objects: string) => {
      for (const r of removableIn(objects)) if (!out.includes(r)) out.push(r);
      return ' ';
    });
  }
  return out.map((what) => ({ kind: 'remove', what }));
}

// History: redo before undo ("undo the undo" is a redo); "start over" before both ("undo everything").
const STEPS = String.raw`(?:\s+(\d{1,3})\s*(?:times?|steps?|changes?|edits?)|\s+(twice|two times|two steps)|\s*(\d{1,3})\s*(?:次|步))?`;
const START_OVER_RE =
  /\bstart\s+(?:over|again|from\s+scratch|fresh)\b|\bfrom\s+scratch\b|\breset\b(?:\s+(?:the|my|it|everything|all|draft|edits?|changes?)){0,3}|\b(?:revert|go\s+back|back)\s+to\s+(?:the\s+)?original\b|\bundo\s+(?:everything|all)(?:\s+(?:the\s+|my\s+)?(?:changes|edits))?\b|\bclear\s+(?:all|everything)\b|\b(?:remove|delete)\s+everything\b|重新开始|重来|从头(?:开始|来|再来)|恢复原样|恢复原始|恢复到?原(?:来|始|样)|还原|重置|全部撤销|撤销(?:所有|全部)|清空(?:所有|全部)?(?:修改|编辑|操作)?/i;
const REDO_RE = new RegExp(
  String.raw`(?:\bredo\b|\bre-do\b|\bundo\s+(?:the|that|my)\s+undo\b|\bctrl\s*\+?\s*y\b|重做|恢复撤销|取消撤销|撤销撤销)${STEPS}`,
  'i',
);
const UNDO_RE = new RegExp(
  String.raw`(?:\bundo\b(?:\s+(?:that|this|it|the\s+last\s+(?:change|edit|step)|last\s+(?:change|edit|step)))?|\bctrl\s*\+?\s*z\b|\btake\s+(?:that|it)\s+back\b|\bgo\s+back(?:\s+(?:one|a)\s+step)?\b(?!\s+to\b)|\bstep\s+back\b|\brevert(?:\s+(?:that|it|the\s+last\s+(?:change|edit)))?\b(?!\s+to\b)|撤销|撤回|撤消|回退|返回上一步|回到上一步|恢复上一步|上一步)${STEPS}`,
  'i',
);

function findHistory(p: Prepared): Intent[] {
  const out: Intent[] = [];
  const steps = (m: RegExpExecArray) => Math.min(200, Math.max(1, m[2] ? 2 : Number(m[1] ?? m[3] ?? 1)));
  const start = START_OVER_RE.exec(p.text);
  if (start) {
    p.text = blank(p.text, start.index, start.index + start[0].length);
    out.push({ kind: 'startOver' });
  }
  const redo = REDO_RE.exec(p.text);
  if (redo) {
    p.text = blank(p.text, redo.index, redo.index + redo[0].length);
    out.push({ kind: 'redo', steps: steps(redo) });
  }
  const undo = UNDO_RE.exec(p.text);
  if (undo) {
    p.text = blank(p.text, undo.index, undo.index + undo[0].length);
    out.push({ kind: 'undo', steps: steps(undo) });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Pictures: "use the photo as the first 3 seconds", "put the logo in the top right corner",
// "用这张照片做开头3秒", "把logo放在右上角". The picture is a named image file, else the first image.

const PIC_EN = String.raw`(?:⟦f[a-z]+⟧|(?:photo|picture|pic|image|logo|watermark|icon|poster)s?\b)`;
const PIC_ZH = String.raw`(?:⟦f[a-z]+⟧|照片|图片|相片|图像|封面|海报|logo|标志|图标|水印)`;
const CORNER_EN = String.raw`\b(top|upper|bottom|lower)[\s-]*(left|right)\b(?:[\s-]*corner)?`;
const CORNER_ZH = String.raw`([左右])([上下])角|([上下])方?([左右])角`;
/** Words between a verb and its picture: never across another clause ("add captions and put the logo…"). */
const GAP = String.raw`(?:(?!\b(?:and|then|also|plus|add|put|place|use|show)\b)[^.;!?,]){0,30}?`;
const OVERLAY_RES = [
  new RegExp(
    String.raw`\b(?:put|place|add|stick|show|overlay|insert|display)\b${GAP}${PIC_EN}[^.;!?]{0,30}?(?:${CORNER_EN}|\b(?:in|on|at)\s+the\s+corner\b|\bas\s+(?:a\s+)?watermark\b)`,
    'i',
  ),
  new RegExp(String.raw`${PIC_ZH}[^。；!?]{0,12}?(?:${CORNER_ZH}|角落)`, 'i'),
  new RegExp(String.raw`(?:加|添加|加上|打上)(?:个|一个)?(?:${PIC_ZH})?水印|\badd\s+(?:a\s+|my\s+|the\s+)?(?:⟦f[a-z]+⟧\s+as\s+(?:a\s+)?)?watermark\b`, 'i'),
];
const STILL_RES = [
  // "use the photo as the first 3 seconds", "show cover.jpg for 5 seconds at the start", "start with the picture for 2 s"
  new RegExp(
    String.raw`\b(?:use|put|show|add|start\s+with|open\s+with|begin\s+with|end\s+with|finish\s+with|close\s+with)\b${GAP}${PIC_EN}[^.;!?]{0,40}?(?:\b(?:as|for)\s+(?:the\s+)?(?:(first|opening|intro|last|final|closing|end)\s+)?${T}|\bas\s+(?:the\s+|an?\s+)?(intro|opening|outro|ending|end|start|beginning|first\s+(?:shot|frame|scene))\b)`,
    'i',
  ),
  // "用这张照片做开头3秒", "照片放在开头", "片尾放图片5秒"
  new RegExp(
    String.raw`${PIC_ZH}[^。；!?]{0,12}?(?:作为|当作|当|做|放在|放到|放)(?:视频)?(?:的)?(开头|片头|开始|结尾|片尾|最后)(?:的)?(?:前|后)?\s*${T}?`,
    'i',
  ),
];

function pictureOf(p: Prepared, span: string): MediaSelector | undefined {
  const tagged = /⟦f([a-z]+)⟧/.exec(span);
  return tagged ? { by: 'name', name: p.files[untag(tagged[1]!)]! } : undefined;
}

function findPictures(p: Prepared): Intent[] {
  const out: Intent[] = [];
  for (const re of STILL_RES) {
    const m = re.exec(p.text);
    if (!m) continue;
    const where = (m[1] ?? m[3] ?? '').toLowerCase();
    const timeExpr = m[2] ?? m[4];
    const atEnd = /last|final|closing|end|outro|ending|结尾|片尾|最后/.test(where) || /^(?:end|finish|close)/i.test(m[0]);
    const picture = pictureOf(p, m[0]);
    out.push({ kind: 'still', atMs: atEnd ? -1 : 0, durationMs: timeExpr ? Math.max(100, toMs(timeExpr)) : 3000, ...(picture ? { picture } : {}) });
    p.text = blank(p.text, m.index, m.index + m[0].length);
    break;
  }
  for (const re of OVERLAY_RES) {
    const m = re.exec(p.text);
    if (!m) continue;
    const en = /\b(top|upper|bottom|lower)[\s-]*(left|right)\b/i.exec(m[0]);
    const zh = /([左右])([上下])角|([上下])方?([左右])角/.exec(m[0]);
    let corner: Corner = /watermark|水印/i.test(m[0]) ? 'bottom-right' : 'top-right';
    if (en) corner = `${/top|upper/i.test(en[1]!) ? 'top' : 'bottom'}-${en[2]!.toLowerCase() as 'left' | 'right'}`;
    else if (zh) corner = `${(zh[2] ?? zh[3]) === '上' ? 'top' : 'bottom'}-${(zh[1] ?? zh[4]) === '左' ? 'left' : 'right'}`;
    const picture = pictureOf(p, m[0]);
    out.push({ kind: 'overlay', corner, ...(picture ? { picture } : {}) });
    p.text = blank(p.text, m.index, m.index + m[0].length);
    break;
  }
  return out;
}

/** Requests with nothing to act on: "make it better", "do the thing", "优化一下". */
const VAGUE_RE =
  /\b(?:make|get)\s+(?:it|this|the\s+video)\s+(?:better|nicer|good|great|cool|pop|awesome|perfect|professional|pretty|prettier|beautiful|look\s+(?:good|better|nice|great))\b|\bdo\s+(?:the|your|that|some)\s+(?:thing|magic|stuff)\b|\b(?:improve|enhance|fix|polish|edit|optimi[sz]e)\s+(?:it|this|the\s+video|my\s+video)\b|\b(?:you know what to do|do something|whatever you think|surprise me|just do it|do whatever)\b|优化一下|剪一下|剪辑一下|处理下|弄好看|变好看|更好看|处理一下|帮我弄一下|弄一下|搞一下|你懂的|随便|美化一下|改好一点|做好一点/i;

/** "subtitles" with no verb that says burned in or a file: either would be a guess (a file costs credits). */
const BARE_SUBTITLES_RE = new RegExp(String.raw`\b${CAPW}\b|字幕`, 'i');

// ---------------------------------------------------------------------------------------------

/**
 * Parses one chat message into intents, in the order they should run: trim, aspect, resolution,
 * captions, title, music, transcribe, export. Pure and deterministic.
 */
export function parseRequest(message: string): ParsedRequest {
  const p = prepare(message);
  // History and removals first: their phrases are blanked, so "remove the subtitles" never reads
  // as a request for subtitles, nor "undo the title" as a title.
  const intents: Intent[] = [...findHistory(p), ...findRemovals(p), ...findPictures(p)];
  const trim = findTrim(p); // first: blanks its phrase so "first 10 seconds" is not also a title time
  if (trim) intents.push(trim);

  const aspect = lastMention(p.text, ASPECT_RULES);
  if (aspect) intents.push({ kind: 'aspect', aspect });
  const resolution = lastMention(p.text, RESOLUTION_RULES);
  if (resolution) intents.push({ kind: 'resolution', resolution });

  // Selectors: music takes the first audio one; the rest go to transcribe (any kind) and to
  // captions/export (not audio).
  const selectors = findSelectors(p);
  const audioSel = selectors.find((f) => f.kind === 'audio');
  const music = findMusic(p, audioSel?.sel ?? (MUSIC_HINT_RE.test(p.text) ? ordinal(0, 'audio') : undefined));
  const rest = selectors.filter((f) => !(music && f === audioSel));
  const anySel = rest[0]?.sel;
  const videoSel = rest.find((f) => f.kind !== 'audio')?.sel;
  const withMedia = <I extends Intent>(intent: I, sel: MediaSelector | undefined): I => (sel ? { ...intent, media: sel } : intent);

  const captions = burnsCaptions(p.text) || CAPTIONS_RULES.some((re) => re.test(p.text));
  if (captions) intents.push(withMedia(DIARIZE_RE.test(p.text) ? { kind: 'captions', speakers: true } : { kind: 'captions' }, videoSel));
  const title = findTitle(p);
  if (title) intents.push(title);
  if (music) intents.push(music);
  const transcribe = findTranscribe(p.text, captions);
  const videoOut = VIDEO_OUT_RES.some((re) => re.test(p.text));
  // Subtitles named with nothing saying which kind: ask, rather than charge for a file on a guess.
  if (transcribe && !captions && !videoOut && !transcribe.translateTo && !TRANSCRIBE_RE.test(p.text) && BARE_SUBTITLES_RE.test(p.text)) {
    return { intents: [], unknown: false, question: 'subtitles' };
  }
  if (transcribe) intents.push(withMedia(transcribe, anySel));
  const onePer = ONE_PER_RE.test(p.text);
  if (videoOut || onePer || (EXPORT_VERB_RE.test(p.text) && !transcribe)) {
    // A batch covers every video: a selector found in the same message does not narrow it.
    intents.push(onePer || EACH_RE.test(p.text) ? { kind: 'export', each: true } : withMedia({ kind: 'export' }, videoSel));
  }
  if (intents.length === 0 && VAGUE_RE.test(p.text)) return { intents: [], unknown: false, question: 'vague' };
  return { intents, unknown: intents.length === 0 };
}
