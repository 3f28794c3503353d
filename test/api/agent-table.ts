/**
 * The agent table (issue 9): requests as people type them — English and Chinese, lower case,
 * typos, mixed languages, no punctuation — each with the tool calls it must make, the credits it
 * may spend and the draft it must leave. Used by test/api/agent-table.test.ts (over HTTP, on a
 * real server) and by bench/agent.ts (the parser alone).
 */
import type { Aspect } from '../../src/render/index.ts';

/**
 * What the session holds before the row's messages: one video whose transcript is already stored
 * (so captions cost nothing), the same plus an uploaded song, two videos and no draft, or one
 * video never transcribed (the few rows that run the real model).
 */
export type Setup = 'video' | 'video+song' | 'two videos' | 'untranscribed video';

export interface AgentRow {
  /** The message under test. */
  say: string;
  setup: Setup;
  /** Messages sent first, in the same session. */
  before?: string[];
  /** The tool calls (functionCall names) the message makes, in order. */
  calls: string[];
  /** Credits the message spends. */
  credits: number;
  /** Answered with one short question back: no tool call, no charge, the draft untouched. */
  question?: boolean;
  /** The draft the message leaves (key properties; unset ones are not checked). */
  draft?: {
    captions?: boolean;
    titles?: number;
    music?: boolean;
    aspect?: Aspect;
    /** Draft versions kept in the session. */
    versions?: number;
    /** The stored draft is byte for byte the one stored after before[n] (undo, redo). */
    sameAsAfter?: number;
    /** No draft at all. */
    none?: boolean;
  };
  /** A pattern the final reply must match (the language it answers in, the cost it names). */
  reply?: RegExp;
  /** Runs the real speech model (a few rows only). */
  model?: true;
}

const EN_Q = /\?$/;
const ZH_Q = /？$/;

export const AGENT_TABLE: AgentRow[] = [
  // --- adding (English) ---
  { say: 'add captions', setup: 'video', calls: ['add_captions'], credits: 0, draft: { captions: true, versions: 2 } },
  { say: 'burn the subtitles in', setup: 'video', calls: ['add_captions'], credits: 0, draft: { captions: true } },
  { say: 'add captoins', setup: 'video', calls: ['add_captions'], credits: 0, draft: { captions: true } },
  { say: 'add substitles pls', setup: 'video', calls: ['add_captions'], credits: 0, draft: { captions: true } },
  { say: 'make it vertical for tiktok', setup: 'video', calls: ['set_aspect'], credits: 0, draft: { aspect: '9:16', captions: false } },
  { say: "add a title 'Hello' for the first 3 seconds", setup: 'video', calls: ['add_title'], credits: 0, draft: { titles: 1 } },
  { say: 'add the song as background music at 30%', setup: 'video+song', calls: ['add_background_music'], credits: 0, draft: { music: true } },
  { say: 'cut the first 2 seconds', setup: 'video', calls: ['trim'], credits: 0, draft: { versions: 2 } },
  { say: 'make it square and add captions', setup: 'video', calls: ['set_aspect', 'add_captions'], credits: 0, draft: { aspect: '1:1', captions: true } },
  { say: '帮我 add captions', setup: 'video', calls: ['add_captions'], credits: 0, draft: { captions: true }, reply: /完成/ },
  { say: 'make it 720p', setup: 'video', calls: ['set_resolution'], credits: 0, draft: { aspect: '16:9' } },
  {
    say: 'make it vertical with captions and no music',
    setup: 'video',
    calls: ['remove_music', 'set_aspect', 'add_captions'],
    credits: 0,
    draft: { aspect: '9:16', captions: true, music: false },
  },

  // --- adding (Chinese) ---
  { say: '加字幕', setup: 'video', calls: ['add_captions'], credits: 0, draft: { captions: true }, reply: /字幕/ },
  { say: '改成竖屏', setup: 'video', calls: ['set_aspect'], credits: 0, draft: { aspect: '9:16' } },
  { say: '加标题「你好」前3秒', setup: 'video', calls: ['add_title'], credits: 0, draft: { titles: 1 } },
  { say: '加背景音乐，音量30%', setup: 'video+song', calls: ['add_background_music'], credits: 0, draft: { music: true } },
  { say: '竖屏加字幕', setup: 'video', calls: ['set_aspect', 'add_captions'], credits: 0, draft: { aspect: '9:16', captions: true } },
  { say: '剪掉前2秒', setup: 'video', calls: ['trim'], credits: 0 },

  // --- taking away (English): "remove the subtitles" once transcribed to SRT and charged a credit ---
  { say: 'remove the subtitles', setup: 'video', before: ['add captions'], calls: ['remove_captions'], credits: 0, draft: { captions: false, versions: 3 } },
  { say: 'remove the captions', setup: 'video', before: ['add captions'], calls: ['remove_captions'], credits: 0, draft: { captions: false } },
  { say: 'remvoe the captoins', setup: 'video', before: ['add captions'], calls: ['remove_captions'], credits: 0, draft: { captions: false } },
  { say: 'delete the substitles', setup: 'video', before: ['add captions'], calls: ['remove_captions'], credits: 0, draft: { captions: false } },
  { say: 'take the captions off', setup: 'video', before: ['add captions'], calls: ['remove_captions'], credits: 0, draft: { captions: false } },
  { say: 'no captions please', setup: 'video', before: ['add captions'], calls: ['remove_captions'], credits: 0, draft: { captions: false } },
  {
    say: 'get rid of the subtitles they look bad',
    setup: 'video',
    before: ['add captions'],
    calls: ['remove_captions'],
    credits: 0,
    draft: { captions: false },
  },
  {
    say: 'i dont want the music anymore',
    setup: 'video+song',
    before: ['add the song as background music'],
    calls: ['remove_music'],
    credits: 0,
    draft: { music: false },
  },
  { say: 'remove the title', setup: 'video', before: ["add a title 'Hi'"], calls: ['remove_titles'], credits: 0, draft: { titles: 0 } },
  {
    say: 'get rid of the music',
    setup: 'video+song',
    before: ['add the song as background music'],
    calls: ['remove_music'],
    credits: 0,
    draft: { music: false },
  },
  {
    say: 'remove the music and the title',
    setup: 'video+song',
    before: ["add a title 'Hi'", 'add the song as background music'],
    calls: ['remove_titles', 'remove_music'],
    credits: 0,
    draft: { music: false, titles: 0 },
  },
  {
    say: 'remove the subtitles',
    setup: 'video',
    calls: ['remove_captions'],
    credits: 0,
    draft: { captions: false, versions: 0 },
    reply: /no captions to remove/,
  },
  { say: 'remove the logo', setup: 'video', calls: ['remove_overlays'], credits: 0, draft: { versions: 0 } },
  {
    say: 'keep the title but remove captions',
    setup: 'video',
    before: ["add a title 'Hi'", 'add captions'],
    calls: ['remove_captions'],
    credits: 0,
    draft: { titles: 1, captions: false },
  },

  // --- taking away (Chinese) ---
  { say: '去掉字幕', setup: 'video', before: ['加字幕'], calls: ['remove_captions'], credits: 0, draft: { captions: false }, reply: /去掉了字幕/ },
  { say: '把字幕删了', setup: 'video', before: ['加字幕'], calls: ['remove_captions'], credits: 0, draft: { captions: false } },
  { say: '字幕不要了', setup: 'video', before: ['加字幕'], calls: ['remove_captions'], credits: 0, draft: { captions: false } },
  { say: '删除标题', setup: 'video', before: ['加标题「你好」'], calls: ['remove_titles'], credits: 0, draft: { titles: 0 } },
  { say: '去掉背景音乐', setup: 'video+song', before: ['加背景音乐'], calls: ['remove_music'], credits: 0, draft: { music: false } },
  { say: '帮我 remove 字幕', setup: 'video', before: ['加字幕'], calls: ['remove_captions'], credits: 0, draft: { captions: false } },

  // --- undo, redo, start over ---
  {
    say: 'undo',
    setup: 'video',
    before: ['add captions', 'make it vertical'],
    calls: ['undo'],
    credits: 0,
    draft: { sameAsAfter: 0, aspect: '16:9', captions: true, versions: 3 },
  },
  { say: 'undo twice', setup: 'video', before: ['add captions', 'make it vertical'], calls: ['undo'], credits: 0, draft: { captions: false, aspect: '16:9' } },
  { say: 'redo', setup: 'video', before: ['add captions', 'make it vertical', 'undo'], calls: ['redo'], credits: 0, draft: { sameAsAfter: 1, aspect: '9:16' } },
  { say: 'undo the undo', setup: 'video', before: ['add captions', 'make it vertical', 'undo'], calls: ['redo'], credits: 0, draft: { sameAsAfter: 1 } },
  {
    say: 'redo',
    setup: 'video',
    before: ['add captions', 'make it vertical', 'undo', "add a title 'X'"],
    calls: ['redo'],
    credits: 0,
    draft: { sameAsAfter: 3, aspect: '16:9', titles: 1 },
    reply: /nothing to redo/,
  },
  {
    say: 'start over',
    setup: 'video',
    before: ['add captions', 'make it vertical', "add a title 'X'"],
    calls: ['start_over'],
    credits: 0,
    draft: { captions: false, aspect: '16:9', titles: 0, versions: 5 },
  },
  { say: 'undo', setup: 'video', before: ['add captions', "add a title 'X'", 'start over'], calls: ['undo'], credits: 0, draft: { sameAsAfter: 1, titles: 1 } },
  { say: '撤销', setup: 'video', before: ['加字幕'], calls: ['undo'], credits: 0, draft: { captions: false }, reply: /撤销/ },
  { say: '重做', setup: 'video', before: ['加字幕', '撤销'], calls: ['redo'], credits: 0, draft: { sameAsAfter: 0, captions: true } },
  { say: '重新开始', setup: 'video', before: ['加字幕', '改成竖屏'], calls: ['start_over'], credits: 0, draft: { captions: false, aspect: '16:9' } },
  { say: 'undo', setup: 'video', calls: ['undo'], credits: 0, draft: { none: true }, reply: /nothing to undo/ },
  { say: 'redo', setup: 'video', before: ['add captions'], calls: ['redo'], credits: 0, draft: { sameAsAfter: 0 } },
  { say: 'ctrl z', setup: 'video', before: ['add captions'], calls: ['undo'], credits: 0, draft: { captions: false } },
  {
    say: 'undo and make it square',
    setup: 'video',
    before: ['add captions'],
    calls: ['undo', 'set_aspect'],
    credits: 0,
    draft: { captions: false, aspect: '1:1' },
  },
  { say: 'start from scratch', setup: 'video', before: ['add captions'], calls: ['start_over'], credits: 0, draft: { captions: false } },
  { say: '撤回', setup: 'video', before: ['改成竖屏'], calls: ['undo'], credits: 0, draft: { aspect: '16:9' } },
  { say: 'go back', setup: 'video', before: ['add captions'], calls: ['undo'], credits: 0, draft: { captions: false } },
  { say: '撤销两次', setup: 'video', before: ['加字幕', '改成竖屏'], calls: ['undo'], credits: 0, draft: { captions: false, aspect: '16:9' } },
  { say: 'undo that', setup: 'video+song', before: ['add the song as background music'], calls: ['undo'], credits: 0, draft: { music: false } },
  { say: '还原', setup: 'video', before: ['加字幕', '加标题「你好」'], calls: ['start_over'], credits: 0, draft: { captions: false, titles: 0 } },

  // --- ambiguous: one short question back, no tool call, no charge ---
  { say: 'subtitles', setup: 'video', calls: [], credits: 0, question: true, reply: EN_Q },
  { say: 'subtitles please', setup: 'untranscribed video', calls: [], credits: 0, question: true, reply: EN_Q },
  { say: 'substitles', setup: 'untranscribed video', calls: [], credits: 0, question: true, reply: EN_Q },
  { say: 'i want subtitles', setup: 'untranscribed video', calls: [], credits: 0, question: true, reply: /burned into the video, or a subtitle file/ },
  { say: '字幕', setup: 'untranscribed video', calls: [], credits: 0, question: true, reply: ZH_Q },
  { say: '要字幕', setup: 'untranscribed video', calls: [], credits: 0, question: true, reply: ZH_Q },
  { say: 'make it better', setup: 'video', calls: [], credits: 0, question: true, reply: EN_Q },
  { say: 'do the thing', setup: 'video', calls: [], credits: 0, question: true, reply: EN_Q },
  {
    say: 'improve it',
    setup: 'video',
    before: ['add captions'],
    calls: [],
    credits: 0,
    question: true,
    draft: { captions: true, versions: 2, sameAsAfter: 0 },
  },
  { say: 'make it pretty', setup: 'video', calls: [], credits: 0, question: true, reply: EN_Q },
  { say: '优化一下', setup: 'video', calls: [], credits: 0, question: true, reply: ZH_Q },
  { say: '帮我弄一下', setup: 'video', calls: [], credits: 0, question: true, reply: ZH_Q },
  { say: 'export', setup: 'two videos', calls: [], credits: 0, question: true, reply: /Which video/, draft: { none: true } },
  { say: '导出', setup: 'two videos', calls: [], credits: 0, question: true, reply: /哪个视频/, draft: { none: true } },
  { say: 'hmm subtitles?', setup: 'untranscribed video', calls: [], credits: 0, question: true },

  // --- batch: one render per video, each charged ---
  {
    say: 'export each video separately',
    setup: 'two videos',
    calls: ['export_video', 'export_video'],
    credits: 4,
    reply: /This used 4 credits; \d+ left\./,
    draft: { none: true },
  },
  { say: '分别导出每个视频', setup: 'two videos', calls: ['export_video', 'export_video'], credits: 4, reply: /本次用了 4 积分/, draft: { none: true } },

  // --- not understood: what the agent can do, no tool call, no charge ---
  { say: "what's the weather", setup: 'video', calls: [], credits: 0, reply: /I can:/ },
  { say: '你好', setup: 'video', calls: [], credits: 0, reply: /我可以/ },

  // --- the real model: a charge only when asked, and the reply says what it cost ---
  { say: 'transcribe it', setup: 'untranscribed video', calls: ['transcribe_media'], credits: 1, reply: /This used 1 credit; \d+ left\./, model: true },
  { say: '转写成文字', setup: 'untranscribed video', calls: ['transcribe_media'], credits: 1, reply: /本次用了 1 积分，还剩 \d+/, model: true },
  {
    say: 'add captions',
    setup: 'untranscribed video',
    calls: ['transcribe_media', 'add_captions'],
    credits: 1,
    draft: { captions: true },
    reply: /This used 1 credit/,
    model: true,
  },
  { say: 'remove the subtitles', setup: 'untranscribed video', calls: ['remove_captions'], credits: 0, draft: { captions: false } },
];
