/**
 * The chat as data: ADK events from POST /run_sse reduced into messages with streamed text,
 * tool chips and job progress bars. Pure (no DOM, no fetch), so it is unit-tested in Node.
 */
import type { AdkEvent } from '../agent/runner.ts';
import { type ApiErrorLike, type Lang, registerLinkOf } from './i18n.ts';

export interface ToolChip {
  id: string;
  name: string;
  /** A short human label: the tool in words and the file or format it works on. */
  label: string;
  status: 'running' | 'ok' | 'error';
  code?: number;
  message?: string;
}

export interface JobBar {
  what: string;
  percent: number;
}

export interface ChatMessage {
  id: string;
  role: 'user' | 'assistant';
  /** The final reply (assistant) or the request (user). */
  text: string;
  /** Partial lines the agent said on the way ("Transcribing clip.mp4…"), progress excluded. */
  notes: string[];
  tools: ToolChip[];
  jobs: JobBar[];
  done: boolean;
  error?: ApiErrorLike;
  /** A same-origin /register?bind=… link when the reply or a tool said 2001. */
  registerUrl?: string;
}

const TOOL_WORDS: Record<string, { en: string; zh: string }> = {
  transcribe_media: { en: 'Transcribe', zh: '转写' },
  add_captions: { en: 'Captions', zh: '字幕' },
  export_video: { en: 'Export', zh: '导出' },
  trim: { en: 'Trim', zh: '剪辑' },
  set_aspect: { en: 'Shape', zh: '画面比例' },
  set_resolution: { en: 'Resolution', zh: '分辨率' },
  add_title: { en: 'Title', zh: '标题' },
  add_background_music: { en: 'Music', zh: '背景音乐' },
  add_still: { en: 'Picture', zh: '图片' },
  add_overlay: { en: 'Overlay', zh: '叠加图' },
  undo: { en: 'Undo', zh: '撤销' },
  redo: { en: 'Redo', zh: '重做' },
  start_over: { en: 'Start over', zh: '重新开始' },
};

/** "transcribe_media" + { name: "clip.mp4", format: "srt" } → "Transcribe · clip.mp4 · SRT". */
export function toolLabel(name: string, args: Record<string, unknown>, lang: Lang): string {
  const word = TOOL_WORDS[name]?.[lang] ?? name.replace(/_/g, ' ');
  const bits = [word];
  for (const k of ['name', 'format', 'aspect', 'resolution', 'text'] as const) {
    const v = args[k];
    if (typeof v === 'string' && v) bits.push(k === 'format' ? v.toUpperCase() : v.length > 40 ? `${v.slice(0, 39)}…` : v);
  }
  return bits.join(' · ');
}

/** "Transcribing clip.mp4: 42 %" / "转写 clip.mp4：42%" → the job and its percentage. */
export function progressOf(text: string): JobBar | undefined {
  const m = /^(.{1,300}?)\s*[:：]\s*(\d{1,3}(?:\.\d+)?)\s*%\s*$/.exec(text.trim());
  if (!m) return undefined;
  return { what: m[1]!, percent: Math.max(0, Math.min(100, Math.round(Number(m[2])))) };
}

export function userMessage(id: string, text: string): ChatMessage {
  return { id, role: 'user', text, notes: [], tools: [], jobs: [], done: true };
}

export function assistantMessage(id: string): ChatMessage {
  return { id, role: 'assistant', text: '', notes: [], tools: [], jobs: [], done: false };
}

/** One ADK event applied to the assistant message it belongs to (a new object: React state). */
export function reduceEvent(msg: ChatMessage, e: AdkEvent, lang: Lang): ChatMessage {
  const next: ChatMessage = { ...msg, notes: [...msg.notes], tools: [...msg.tools], jobs: [...msg.jobs] };
  for (const part of e.content?.parts ?? []) {
    if ('text' in part && typeof part.text === 'string') {
      if (e.partial) {
        const bar = progressOf(part.text);
        if (bar) {
          const i = next.jobs.findIndex((j) => j.what === bar.what);
          if (i >= 0) next.jobs[i] = bar;
          else next.jobs.push(bar);
        } else next.notes.push(part.text);
      } else {
        next.text = next.text ? `${next.text}\n${part.text}` : part.text;
        next.done = true;
      }
      const link = registerLinkOf(part.text);
      if (link && /\/register\?bind=/.test(link)) next.registerUrl = link;
    } else if ('functionCall' in part) {
      const c = part.functionCall;
      next.tools.push({ id: c.id, name: c.name, label: toolLabel(c.name, c.args ?? {}, lang), status: 'running' });
    } else if ('functionResponse' in part) {
      const r = part.functionResponse;
      const failed = r.response?.status === 'error';
      const i = next.tools.findIndex((t) => t.id === r.id);
      const chip: ToolChip = {
        ...(i >= 0 ? next.tools[i]! : { id: r.id, name: r.name, label: toolLabel(r.name, {}, lang) }),
        status: failed ? 'error' : 'ok',
      };
      if (failed) {
        chip.code = typeof r.response.code === 'number' ? r.response.code : undefined;
        chip.message = typeof r.response.message === 'string' ? r.response.message : undefined;
        if (chip.code === 2001 && chip.message) next.registerUrl = registerLinkOf(chip.message) ?? next.registerUrl;
      }
      if (i >= 0) next.tools[i] = chip;
      else next.tools.push(chip);
      // A finished tool's jobs are finished too: their bars go.
      if (!failed && next.tools.every((t) => t.status !== 'running')) next.jobs = [];
    }
  }
  if (e.turnComplete) next.done = true;
  return next;
}

/** What a stream that ended without its final reply looks like: the message says so. */
export function dropped(msg: ChatMessage, error: ApiErrorLike): ChatMessage {
  return { ...msg, done: true, error, tools: msg.tools.map((t) => (t.status === 'running' ? { ...t, status: 'error' as const } : t)) };
}

/** The quick actions: each sends a request the agent's parser understands (pinned by chat-state.test.ts). */
export const QUICK_ACTIONS = [
  { id: 'transcribe', label: 'quickTranscribe', en: 'transcribe the spoken dialogue into a text document', zh: '把对话转写成文字文档' },
  { id: 'srt', label: 'quickSrt', en: 'get me an SRT', zh: '给我字幕文件' },
  { id: 'docx', label: 'quickDocx', en: 'give me the transcript in Word', zh: '导出为 Word 文档' },
  { id: 'captions', label: 'quickCaptions', en: 'add captions', zh: '加字幕' },
  { id: 'vertical', label: 'quickVertical', en: 'make it vertical 9:16', zh: '做成竖屏' },
  { id: 'export', label: 'quickExport', en: 'export an MP4', zh: '导出 MP4 视频' },
] as const;
