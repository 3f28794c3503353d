/**
 * Every string the web app shows, in English and Chinese. The language defaults to the browser's
 * (navigator.language), a switch is kept in localStorage, and <html lang> follows it.
 * Pure: no DOM here, so the error-to-sentence mapping is unit-tested in Node.
 */
import { IMAGE_EXTENSIONS, TRANSCRIBABLE_EXTENSIONS } from '../media/formats.ts';

export type Lang = 'en' | 'zh';
export const LANGS: readonly Lang[] = ['en', 'zh'];

const en = {
  appTitle: 'vidscribe',
  tagline: 'Drop a recording, talk to it, read and fix the transcript.',
  language: 'Language',
  credits: 'Credits',
  creditsValue: '{available} available · {frozen} held',
  creditsLoading: 'Credits…',
  register: 'Register to get more credits',
  dropTitle: 'Drop video or audio files here',
  dropHint: 'or choose files, or paste a link',
  chooseFiles: 'Choose files',
  urlLabel: 'Link to a video or audio file',
  urlPlaceholder: 'https://…',
  urlSubmit: 'Add link',
  uploading: 'Uploading',
  uploadProcessing: 'Checking the file…',
  uploadDone: 'Uploaded',
  uploadCancelled: 'Cancelled',
  cancel: 'Cancel',
  chatTitle: 'Chat',
  chatEmpty: 'Upload a file, then tell me what you need — or use a quick action.',
  chatPlaceholder: 'e.g. transcribe the spoken dialogue into a text document',
  chatLabel: 'Message to the agent',
  send: 'Send',
  you: 'You',
  assistant: 'vidscribe',
  stillWorking: 'Still working…',
  reconnecting: 'The connection dropped; trying again…',
  quickActions: 'Quick actions',
  quickTranscribe: 'Transcribe',
  quickSrt: 'Subtitles (SRT)',
  quickDocx: 'Word document',
  quickCaptions: 'Add captions',
  quickVertical: 'Vertical 9:16',
  quickExport: 'Export MP4',
  jobProgress: '{what}: {percent} %',
  toolRunning: 'running',
  toolOk: 'done',
  toolFailed: 'failed',
  sessions: 'Your sessions',
  sessionsEmpty: 'No sessions yet.',
  newSession: 'New session',
  files: '{count} files',
  noFiles: 'no files',
  current: 'current',
  transcriptTitle: 'Transcript',
  noTranscript: 'No transcript yet: ask for one (Transcribe).',
  transcriptLoading: 'The transcript panel is loading…',
  downloads: 'Downloads',
  downloadAs: 'Download as {format}',
  downloading: 'Downloading…',
  renders: 'Rendered videos',
  noRenders: 'No rendered videos yet.',
  download: 'Download',
  timeline: 'Timeline',
  noDraft: 'No timeline yet: upload a video.',
  trackVideo: 'Video',
  trackAudio: 'Audio',
  trackText: 'Text',
  export: 'Export MP4',
  exporting: 'Exporting… {percent} %',
  exportDone: 'Export finished.',
  media: 'Files',
  somethingBroke: 'Something went wrong on this page.',
  reload: 'Reload',
  dismiss: 'Dismiss',
  skipToChat: 'Skip to chat',
  // Error sentences, one per code.
  errNetwork: 'Could not reach the server. Check your connection and try again.',
  errBadRequest: 'The server did not accept that request: {message}',
  errExportBlocked: 'Export is blocked for this client. Register to unlock export.',
  errRateLimited: 'Too many requests. Wait a little and try again.',
  errRateLimitedClient: 'This browser already received its free credits this week. Register to keep going.',
  errBadToken: 'Your access expired and could not be renewed. Reload the page, or register to keep your work.',
  errSessionNotFound: 'This session does not exist any more. Start a new one.',
  errNoCredits: 'You are out of credits. Register to get more and keep this session.',
  errNoCreditsRegistered: 'You are out of credits. Ask your administrator to add credits.',
  errUnsupported: '{name}is not a file vidscribe can use. Accepted formats: {formats}.',
  errTooLarge: '{name}is over the {limit} limit. Trim or compress it (for example, keep only the part you need) and upload it again.',
  errQuota: 'This account already keeps {used} of its {limit} of uploads, so {name}does not fit. Ask the administrator of this server for a larger quota.',
  errNoAudio: '{name}has no sound to transcribe.',
  errEmpty: '{name}is empty.',
  errCorrupt: '{name}is damaged or incomplete: it could not be read.',
  errUrlRefused: 'That link cannot be used: only public http(s) addresses are allowed.',
  errUrlFailed: 'The file at that link could not be downloaded: {message}',
  errVersionConflict: 'The transcript was changed elsewhere. Reload to see the latest version.',
  errInvalidDraft: 'The edit could not be applied: {message}',
  errNotFound: 'That item was not found (it may have been removed).',
  errTimeout: 'That took too long and was stopped. Try again, or with a shorter file.',
  errCancelled: 'Cancelled.',
  errServer: 'The server could not finish that: {message}',
  errUnknown: '{message} (code {code})',
  errStream: 'The connection to the agent dropped. Your request may still be running: the session below shows its result.',
  errUploadAborted: 'The upload was interrupted; nothing was stored.',
};

export type MessageKey = keyof typeof en;

const zh: Record<MessageKey, string> = {
  appTitle: 'vidscribe',
  tagline: '拖入录音或视频，和它对话，阅读并修改文字稿。',
  language: '语言',
  credits: '点数',
  creditsValue: '可用 {available} · 冻结 {frozen}',
  creditsLoading: '点数…',
  register: '注册以获得更多点数',
  dropTitle: '把视频或音频文件拖到这里',
  dropHint: '或选择文件，或粘贴链接',
  chooseFiles: '选择文件',
  urlLabel: '视频或音频文件的链接',
  urlPlaceholder: 'https://…',
  urlSubmit: '添加链接',
  uploading: '上传中',
  uploadProcessing: '正在检查文件…',
  uploadDone: '已上传',
  uploadCancelled: '已取消',
  cancel: '取消',
  chatTitle: '对话',
  chatEmpty: '先上传文件，再告诉我你需要什么，或使用快捷操作。',
  chatPlaceholder: '例如：把对话转写成文字',
  chatLabel: '发给助手的消息',
  send: '发送',
  you: '你',
  assistant: 'vidscribe',
  stillWorking: '仍在处理…',
  reconnecting: '连接中断，正在重试…',
  quickActions: '快捷操作',
  quickTranscribe: '转写',
  quickSrt: '字幕文件 (SRT)',
  quickDocx: 'Word 文档',
  quickCaptions: '加字幕',
  quickVertical: '竖屏 9:16',
  quickExport: '导出 MP4',
  jobProgress: '{what}：{percent}%',
  toolRunning: '进行中',
  toolOk: '完成',
  toolFailed: '失败',
  sessions: '你的会话',
  sessionsEmpty: '还没有会话。',
  newSession: '新建会话',
  files: '{count} 个文件',
  noFiles: '没有文件',
  current: '当前',
  transcriptTitle: '文字稿',
  noTranscript: '还没有文字稿：请求转写即可。',
  transcriptLoading: '文字稿面板加载中…',
  downloads: '下载',
  downloadAs: '下载为 {format}',
  downloading: '下载中…',
  renders: '已导出的视频',
  noRenders: '还没有导出的视频。',
  download: '下载',
  timeline: '时间线',
  noDraft: '还没有时间线：请上传视频。',
  trackVideo: '视频',
  trackAudio: '音频',
  trackText: '文字',
  export: '导出 MP4',
  exporting: '导出中… {percent}%',
  exportDone: '导出完成。',
  media: '文件',
  somethingBroke: '页面出了问题。',
  reload: '重新加载',
  dismiss: '关闭',
  skipToChat: '跳到对话',
  errNetwork: '无法连接服务器。请检查网络后重试。',
  errBadRequest: '服务器没有接受这个请求：{message}',
  errExportBlocked: '此客户端不能导出。注册后即可导出。',
  errRateLimited: '请求太频繁，请稍后再试。',
  errRateLimitedClient: '这个浏览器本周已领取过免费点数。注册后可继续使用。',
  errBadToken: '访问凭证已过期且无法更新。请刷新页面，或注册以保留你的工作。',
  errSessionNotFound: '这个会话已不存在。请新建一个。',
  errNoCredits: '点数不足。注册即可获得更多点数，并保留这个会话。',
  errNoCreditsRegistered: '点数不足。请联系管理员添加点数。',
  errUnsupported: '{name}不是 vidscribe 能处理的文件。支持的格式：{formats}。',
  errTooLarge: '{name}超过了 {limit} 的上限。请剪短或压缩（例如只保留需要的部分）后重新上传。',
  errQuota: '此账户已保存 {used} 的上传（上限 {limit}），{name}放不下了。请联系服务器管理员提高配额。',
  errNoAudio: '{name}没有可转写的声音。',
  errEmpty: '{name}是空文件。',
  errCorrupt: '{name}已损坏或不完整，无法读取。',
  errUrlRefused: '这个链接不能使用：只允许公开的 http(s) 地址。',
  errUrlFailed: '无法下载该链接的文件：{message}',
  errVersionConflict: '文字稿已在别处被修改。请刷新查看最新版本。',
  errInvalidDraft: '无法应用这个修改：{message}',
  errNotFound: '找不到该项目（可能已被删除）。',
  errTimeout: '处理时间过长已停止。请重试，或换一个较短的文件。',
  errCancelled: '已取消。',
  errServer: '服务器未能完成：{message}',
  errUnknown: '{message}（代码 {code}）',
  errStream: '与助手的连接断开了。你的请求可能仍在进行：下方的会话会显示结果。',
  errUploadAborted: '上传被中断，没有保存任何内容。',
};

const DICTS: Record<Lang, Record<MessageKey, string>> = { en, zh };

export function translate(lang: Lang, key: MessageKey, params: Record<string, string | number> = {}): string {
  return DICTS[lang][key].replace(/\{(\w+)\}/g, (m, name: string) => (name in params ? String(params[name]) : m));
}

/** The language to start in: a stored choice, else the browser's (Chinese for any zh-*), else English. */
export function initialLang(stored: string | null | undefined, navigatorLanguage: string | undefined): Lang {
  if (stored === 'en' || stored === 'zh') return stored;
  return navigatorLanguage?.toLowerCase().startsWith('zh') ? 'zh' : 'en';
}

/** Both dictionaries, for the test that every key has a translation. */
export const dictionaries = DICTS;

/** An API error as the web app holds it: the envelope's code and message (and data), or a network failure. */
export interface ApiErrorLike {
  code: number;
  message: string;
  data?: Record<string, unknown>;
}

/** Not an API code: the request never got an answer. */
export const NETWORK_ERROR = -1;
/** Not an API code: the SSE stream stopped before its final reply. */
export const STREAM_DROPPED = -2;

export interface ErrorSentence {
  text: string;
  /** A same-origin registration link (`/register?bind=…`) for 2001 and token troubles. */
  registerUrl?: string;
}

function mb(bytes: number): string {
  return bytes >= 1024 * 1024 * 1024 ? `${Math.round((bytes / 1024 ** 3) * 10) / 10} GB` : `${Math.round(bytes / (1024 * 1024))} MB`;
}

/** The registration link the server put in a 2001 message, made same-origin (path and query only). */
export function registerLinkOf(message: string): string | undefined {
  const m = /\/register(\?bind=[^\s"'<>)]+)?/.exec(message);
  if (!m) return undefined;
  return `/register${m[1] ?? ''}`.replace(/[.,;]+$/, '');
}

/** The file name a server message starts with ("clip.png: …"), so the sentence can name it. */
function nameOf(e: ApiErrorLike, fileName?: string): string {
  const name = fileName ?? /^([^:]{1,200}?): /.exec(e.message)?.[1];
  return name ? `${name} ` : '';
}

/** Every error code as a sentence a person can act on, in the current language; never a JSON dump. */
export function errorSentence(e: ApiErrorLike, lang: Lang, fileName?: string): ErrorSentence {
  const t = (k: MessageKey, p: Record<string, string | number> = {}) => translate(lang, k, p);
  const message = e.message || '';
  const name = nameOf(e, fileName);
  // The space after the name reads well in English; Chinese runs the name into the sentence.
  const named = lang === 'zh' ? name.trimEnd() || '这个文件' : name || 'This file ';
  switch (e.code) {
    case NETWORK_ERROR:
      return { text: t('errNetwork') };
    case STREAM_DROPPED:
      return { text: t('errStream') };
    case 400:
      return { text: t('errBadRequest', { message }) };
    case 402:
      return { text: t('errExportBlocked') };
    case 429:
      return e.data?.retry_after ? { text: t('errRateLimitedClient'), registerUrl: '/register' } : { text: t('errRateLimited') };
    case 1001:
      return { text: t('errBadToken'), registerUrl: '/register' };
    case 1002:
      return { text: t('errSessionNotFound') };
    case 2001: {
      const registerUrl = registerLinkOf(message);
      return registerUrl ? { text: t('errNoCredits'), registerUrl } : { text: t('errNoCreditsRegistered') };
    }
    case 4001: {
      const formats = Array.isArray(e.data?.formats) ? (e.data.formats as string[]) : [...TRANSCRIBABLE_EXTENSIONS, ...IMAGE_EXTENSIONS];
      return { text: t('errUnsupported', { name: named, formats: formats.join(', ') }) };
    }
    case 4002: {
      // Past the account's storage quota, not the size of one file.
      if (typeof e.data?.quota_bytes === 'number' && typeof e.data?.used_bytes === 'number')
        return { text: t('errQuota', { name: named, used: mb(e.data.used_bytes), limit: mb(e.data.quota_bytes) }) };
      const max = typeof e.data?.maxBytes === 'number' ? e.data.maxBytes : undefined;
      const limit = max !== undefined ? mb(max) : (/the (\d+(?:\.\d+)? [MG]B) limit/.exec(message)?.[1] ?? '500 MB');
      return { text: t('errTooLarge', { name: named, limit }) };
    }
    case 4003:
      return { text: t('errNoAudio', { name: named }) };
    case 4004:
      return { text: t('errEmpty', { name: named }) };
    case 4005:
      return { text: t('errCorrupt', { name: named }) };
    case 4007:
      return { text: t('errUrlRefused') };
    case 4008:
      return { text: t('errUrlFailed', { message }) };
    case 4009:
      return { text: t('errVersionConflict') };
    case 4101:
      return { text: t('errInvalidDraft', { message }) };
    case 4104:
      return { text: t('errNotFound') };
    case 5003:
      return { text: t('errTimeout') };
    case 5004:
      return { text: t('errCancelled') };
    default:
      if (e.code >= 5000 && e.code < 6000) return { text: t('errServer', { message }) };
      return { text: t('errUnknown', { message: message || '?', code: e.code }) };
  }
}
