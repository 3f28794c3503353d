/**
 * What the agent says, in the language the user wrote in: English, or Chinese when the message
 * is written in Chinese. Error messages from the domains (credits, media) stay as they are.
 */
import type { Intent, MediaSelector, Question, Removable } from './intent.ts';

export interface Replies {
  capabilities: string[];
  cannotDo(capabilities: string[]): string;
  noMedia: string;
  /** A file the request names (or counts to) that the session does not have: nothing was done. */
  notInSession(what: string, have: string[]): string;
  /** A named file that is in the session but is not video or audio (an image). */
  notMedia(name: string): string;
  /** "the file named x.mp4", "the third video", "the last audio file". */
  selector(sel: MediaSelector): string;
  transcribing(name: string, seconds: number, credits: number): string;
  progress(what: string, percent: number): string;
  transcribingWhat(name: string): string;
  rendering(w: number, h: number, credits: number): string;
  renderingWhat: string;
  failed(what: string, why: string): string;
  noMusicFile: string;
  noPicture: string;
  tooShort(seconds: number, startSec: number): string;
  cannotApply(what: string, why: string): string;
  onlyIntoEnglish(language: string): string;
  describe(intent: Intent): string;
  captioned(cues: number): string;
  /** `speakers`: how many voices diarization found, when it was asked for. */
  transcribed(name: string, file: string, words: number, credits: number, url: string, excerpt: string, speakers?: number): string;
  rendered(file: string, seconds: number, credits: number, url: string): string;
  /** A batch export that ran out of credits part-way: these videos got no render (the others stand). */
  notQueued(names: string[], why: string): string;
  done(items: string[]): string;
  problems(anyDone: boolean, problems: string[]): string;
  draftSaved: string;
  nothing: string;
  /** One short question back instead of acting on a guess (nothing done, nothing charged). */
  question(q: Question, videos: string[]): string;
  nothingToUndo: string;
  nothingToRedo: string;
  nothingToRemove(what: Removable): string;
  /** After a charge: what this request cost and what is left. */
  cost(spent: number, left: number | undefined): string;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
const secs = (ms: number) => ms / 1000;

export const ENGLISH: Replies = {
  capabilities: [
    'transcribe a video or audio file into a text document (TXT, Word/DOCX, SRT, VTT, JSON or Markdown), with or without timestamps',
    'burn captions into the video',
    'set the resolution (1080p, 720p) and the shape (16:9, vertical 9:16 for TikTok/Reels/Shorts, square 1:1)',
    'add a title or text overlay for a time range',
    'add background music from an uploaded audio file at a volume',
    'trim (cut the first N seconds, keep 1:00 to 2:30)',
    'export the result as an MP4',
  ],
  cannotDo: (caps) =>
    `I can't do that here. I can:\n${caps.map((c) => `• ${c}`).join('\n')}\nUpload a video or audio file, then tell me what you need — for example "transcribe the spoken dialogue into a text document" or "make it vertical for TikTok with captions".`,
  noMedia: 'There is no video or audio in this session yet. Upload one first (POST /api/upload-video/nemo_agent/me/<session_id>), then ask again.',
  notInSession: (what, have) =>
    `There is no ${what} in this session, so I did nothing and nothing was charged. ${have.length ? `The session has: ${have.join(', ')}.` : ''} Tell me which one you mean.`.trim(),
  notMedia: (name) =>
    `${name} is an image, not a video or audio file: I can only transcribe, caption or edit video and audio. Nothing was done and nothing was charged.`,
  selector: (sel) => {
    if (sel.by === 'name') return `file named ${sel.name}`;
    const nth = sel.index < 0 ? 'last' : (['first', 'second', 'third', 'fourth', 'fifth'][sel.index] ?? `${sel.index + 1}th`);
    return `${nth} ${sel.kind === 'audio' ? 'audio file' : (sel.kind ?? 'file')}`;
  },
  transcribing: (name, s, c) => `Transcribing ${name} (${Math.round(s)} s, ${plural(c, 'credit')})…`,
  progress: (what, p) => `${what}: ${p} %`,
  transcribingWhat: (name) => `Transcribing ${name}`,
  rendering: (w, h, c) => `Rendering ${w}×${h} MP4 (${plural(c, 'credit')})…`,
  renderingWhat: 'Rendering',
  failed: (what, why) => `${what} failed: ${why}`,
  noMusicFile: 'There is no audio file to use as background music: upload one (mp3, wav, m4a…) and ask again.',
  noPicture: 'There is no such picture in this session: upload the image (jpg, png, webp, gif) and ask again.',
  tooShort: (s, start) => `The video is only ${s.toFixed(1)} s long, so there is nothing left after ${start} s.`,
  cannotApply: (what, why) => `Could not ${what}: ${why}`,
  onlyIntoEnglish: (lang) =>
    `Whisper translates only into English, so I can't make ${lang} subtitles; I transcribed the original language instead. Ask for "subtitles in English" to translate.`,
  describe: (i) => {
    switch (i.kind) {
      case 'trim':
        return i.endMs === undefined ? `cut the first ${secs(i.startMs)} s` : `kept ${secs(i.startMs)} s to ${secs(i.endMs)} s`;
      case 'aspect':
        return `set the aspect to ${i.aspect}`;
      case 'resolution':
        return `set the resolution to ${i.resolution}`;
      case 'title':
        return `added the title "${i.text}" from ${secs(i.startMs)} s to ${secs(i.startMs + i.durationMs)} s`;
      case 'music':
        return `added background music at ${Math.round(i.volume * 100)} %`;
      case 'remove':
        return `removed the ${i.what === 'music' ? 'background music' : i.what}`;
      case 'undo':
        return i.steps === 1 ? 'undid the last change' : `undid the last ${i.steps} changes`;
      case 'redo':
        return i.steps === 1 ? 'redid the change' : `redid ${i.steps} changes`;
      case 'startOver':
        return 'started over from the draft as uploaded';
      case 'still':
        return `${i.atMs < 0 ? 'ended with' : 'added'} the picture ${i.atMs < 0 ? 'for' : i.atMs === 0 ? 'as the first' : 'for'} ${secs(i.durationMs)} s`;
      case 'overlay':
        return `put the picture in the ${i.corner.replace('-', ' ')} corner`;
      default:
        return i.kind;
    }
  },
  captioned: (n) => `burned in captions (${n} cues)`,
  transcribed: (name, file, words, c, url, excerpt, speakers) =>
    `transcribed ${name} into ${file} (${plural(words, 'word')}, ${speakers === undefined ? '' : `${plural(speakers, 'speaker')}, `}${plural(c, 'credit')}): ${url}\n\n${excerpt || '(no speech was heard)'}`,
  rendered: (file, s, c, url) => `rendered ${file} (${s.toFixed(1)} s, ${plural(c, 'credit')}): ${url}`,
  notQueued: (names, why) => `${names.join(', ')} ${names.length === 1 ? 'was' : 'were'} not rendered: ${why}`,
  done: (items) => `Done: ${items.length === 1 ? items[0] : '\n' + items.map((d) => `• ${d}`).join('\n')}`,
  problems: (anyDone, ps) => `${anyDone ? 'But' : 'I could not finish'}: ${ps.join(' ')}`,
  draftSaved: 'The draft is saved; say "export" (or call the export API) to render the MP4.',
  nothing: 'Nothing to do.',
  question: (q, videos) =>
    q === 'subtitles'
      ? 'Do you want captions burned into the video, or a subtitle file (SRT) to download?'
      : q === 'whichVideo'
        ? `Which video should I export: ${videos.join(', ')}?`
        : 'What should I change: captions, a title, music, the shape (vertical, square), a trim, or export the video?',
  nothingToUndo: 'There is nothing to undo.',
  nothingToRedo: 'There is nothing to redo.',
  nothingToRemove: (what) => `The draft has no ${what === 'titles' ? 'titles' : what} to remove.`,
  cost: (spent, left) => `This used ${plural(spent, 'credit')}${left === undefined ? '' : `; ${left} left`}.`,
};

const REMOVABLE_ZH: Record<Removable, string> = { captions: '字幕', titles: '标题', music: '背景音乐', overlays: '叠加图层' };

export const CHINESE: Replies = {
  capabilities: [
    '把视频或音频转写成文字文档（TXT、Word/DOCX、SRT、VTT、JSON 或 Markdown），可带时间戳',
    '给视频加字幕（烧录到画面上）',
    '设置分辨率（1080p、720p）和画面比例（16:9 横屏、9:16 竖屏适合抖音/快手、1:1 方形）',
    '在指定时间段添加标题或文字',
    '用上传的音频文件作背景音乐，并设置音量',
    '剪辑（剪掉前 N 秒、保留 1:00 到 2:30）',
    '导出为 MP4 视频',
  ],
  cannotDo: (caps) =>
    `这个我做不到。我可以：\n${caps.map((c) => `• ${c}`).join('\n')}\n请先上传视频或音频，再告诉我你需要什么，比如“把对话转写成文字文档”或“改成竖屏并加字幕”。`,
  noMedia: '这个会话里还没有视频或音频。请先上传（POST /api/upload-video/nemo_agent/me/<session_id>），然后再试。',
  notInSession: (what, have) =>
    `这个会话里没有${what}，所以我什么都没做，也没有扣积分。${have.length ? `会话里有：${have.join('、')}。` : ''}请告诉我你指的是哪一个。`,
  notMedia: (name) => `${name} 是图片，不是视频或音频：我只能转写、加字幕或编辑视频和音频。什么都没做，也没有扣积分。`,
  selector: (sel) => {
    if (sel.by === 'name') return `名为 ${sel.name} 的文件`;
    const what = sel.kind === 'audio' ? '音频' : sel.kind === 'video' ? '视频' : '文件';
    return sel.index < 0 ? `最后一个${what}` : `第${sel.index + 1}个${what}`;
  },
  transcribing: (name, s, c) => `正在转写 ${name}（${Math.round(s)} 秒，${c} 积分）…`,
  progress: (what, p) => `${what}：${p}%`,
  transcribingWhat: (name) => `正在转写 ${name}`,
  rendering: (w, h, c) => `正在渲染 ${w}×${h} 的 MP4（${c} 积分）…`,
  renderingWhat: '正在渲染',
  failed: (what, why) => `${what}失败：${why}`,
  noMusicFile: '没有可用作背景音乐的音频文件：请先上传一个（mp3、wav、m4a 等）再试。',
  noPicture: '这个会话里没有这张图片：请先上传图片（jpg、png、webp、gif）再试。',
  tooShort: (s, start) => `视频只有 ${s.toFixed(1)} 秒，${start} 秒之后没有内容了。`,
  cannotApply: (what, why) => `无法${what}：${why}`,
  onlyIntoEnglish: (lang) => `Whisper 只能翻译成英文，所以无法生成${lang}字幕；我先按原语言转写了。需要英文字幕请说“翻译成英文”。`,
  describe: (i) => {
    switch (i.kind) {
      case 'trim':
        return i.endMs === undefined ? `剪掉了前 ${secs(i.startMs)} 秒` : `保留了 ${secs(i.startMs)} 秒到 ${secs(i.endMs)} 秒`;
      case 'aspect':
        return `画面比例改为 ${i.aspect}`;
      case 'resolution':
        return `分辨率改为 ${i.resolution}`;
      case 'title':
        return `添加了标题“${i.text}”（${secs(i.startMs)} 秒到 ${secs(i.startMs + i.durationMs)} 秒）`;
      case 'music':
        return `添加了背景音乐，音量 ${Math.round(i.volume * 100)}%`;
      case 'remove':
        return `去掉了${REMOVABLE_ZH[i.what]}`;
      case 'undo':
        return i.steps === 1 ? '撤销了上一步' : `撤销了 ${i.steps} 步`;
      case 'redo':
        return i.steps === 1 ? '重做了一步' : `重做了 ${i.steps} 步`;
      case 'startOver':
        return '已恢复为上传时的草稿';
      case 'still':
        return `${i.atMs < 0 ? '在结尾' : '在开头'}放了图片 ${secs(i.durationMs)} 秒`;
      case 'overlay':
        return `把图片放在了${{ 'top-left': '左上角', 'top-right': '右上角', 'bottom-left': '左下角', 'bottom-right': '右下角', center: '中间' }[i.corner]}`;
      default:
        return i.kind;
    }
  },
  captioned: (n) => `加上了字幕（${n} 条）`,
  transcribed: (name, file, words, c, url, excerpt, speakers) =>
    `已把 ${name} 转写为 ${file}（${words} 词，${speakers === undefined ? '' : `${speakers} 位说话人，`}${c} 积分）：${url}\n\n${excerpt || '（没有听到语音）'}`,
  rendered: (file, s, c, url) => `已渲染 ${file}（${s.toFixed(1)} 秒，${c} 积分）：${url}`,
  notQueued: (names, why) => `${names.join('、')} 没有渲染：${why}`,
  done: (items) => `完成：${items.length === 1 ? items[0] : '\n' + items.map((d) => `• ${d}`).join('\n')}`,
  problems: (anyDone, ps) => `${anyDone ? '不过' : '未能完成'}：${ps.join(' ')}`,
  draftSaved: '草稿已保存；说“导出”（或调用导出接口）即可渲染 MP4。',
  nothing: '没有需要做的事。',
  question: (q, videos) =>
    q === 'subtitles'
      ? '你是想把字幕烧录到视频画面上，还是要一个可下载的字幕文件（SRT）？'
      : q === 'whichVideo'
        ? `要导出哪个视频：${videos.join('、')}？`
        : '你想改什么：加字幕、标题、背景音乐、改画面比例（竖屏、方形）、剪辑，还是导出视频？',
  nothingToUndo: '没有可以撤销的操作。',
  nothingToRedo: '没有可以重做的操作。',
  nothingToRemove: (what) => `草稿里没有${REMOVABLE_ZH[what]}可以去掉。`,
  cost: (spent, left) => `本次用了 ${spent} 积分${left === undefined ? '' : `，还剩 ${left}`}。`,
};

/** Chinese when the message is written in Chinese (Han characters), else English. */
export function repliesFor(message: string): Replies {
  return /\p{Script=Han}/u.test(message) ? CHINESE : ENGLISH;
}

export function languageName(code: string, replies: Replies): string {
  try {
    return new Intl.DisplayNames([replies === CHINESE ? 'zh' : 'en'], { type: 'language' }).of(code) ?? code;
  } catch {
    return code;
  }
}
