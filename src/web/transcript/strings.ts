/** The transcript panel's words in English and Chinese (the app's own dictionary holds the rest). */
export type PanelLang = 'en' | 'zh';

const en = {
  transcript: 'Transcript',
  loading: 'Loading the transcript…',
  player: 'Recording',
  noMedia: 'The recording is not available to play here; the transcript can still be read and fixed.',
  play: 'Play',
  pause: 'Pause',
  back5: 'Back 5 seconds',
  forward5: 'Forward 5 seconds',
  language: 'Language: {language}',
  search: 'Search the transcript',
  searchPlaceholder: 'Search (Ctrl+F)',
  searchNext: 'Next match',
  searchPrev: 'Previous match',
  searchCount: '{n} of {total}',
  searchNone: 'No matches',
  uncertainOne: '1 word to check',
  uncertainCount: '{count} words to check',
  uncertainNone: 'No uncertain words',
  uncertainNext: 'Next word to check',
  uncertainPrev: 'Previous word to check',
  uncertainTitle: 'The recogniser was unsure of this word ({percent} %)',
  hint: 'Click a word to play from it · double-click or Enter to fix it · N / Shift+N next / previous word to check · Space play/pause · ← → 5 s · Ctrl+Z undo',
  editWord: 'Correct the word',
  renameSpeaker: 'Rename {name}',
  speakerName: 'Speaker name',
  saving: 'Saving…',
  saved: 'Saved',
  conflict: 'Another tab or person changed this transcript. Reload to see their version; your last change was not saved.',
  reload: 'Reload',
  undo: 'Undo',
  undone: 'Undone',
  follow: 'Follow playback',
  words: 'Transcript text',
  paragraphAt: 'Play from {time}',
  empty: 'This transcript has no words.',
};

export type PanelKey = keyof typeof en;

const zh: Record<PanelKey, string> = {
  transcript: '文字稿',
  loading: '正在加载文字稿…',
  player: '录音',
  noMedia: '这里无法播放录音；文字稿仍可阅读和修改。',
  play: '播放',
  pause: '暂停',
  back5: '后退 5 秒',
  forward5: '前进 5 秒',
  language: '语言：{language}',
  search: '搜索文字稿',
  searchPlaceholder: '搜索 (Ctrl+F)',
  searchNext: '下一个匹配',
  searchPrev: '上一个匹配',
  searchCount: '第 {n} 个，共 {total} 个',
  searchNone: '没有匹配',
  uncertainOne: '1 个词待检查',
  uncertainCount: '{count} 个词待检查',
  uncertainNone: '没有不确定的词',
  uncertainNext: '下一个待检查的词',
  uncertainPrev: '上一个待检查的词',
  uncertainTitle: '识别器对这个词没有把握（{percent}%）',
  hint: '点击词语从该处播放 · 双击或按 Enter 修改 · N / Shift+N 下一个 / 上一个待检查的词 · 空格 播放/暂停 · ← → 5 秒 · Ctrl+Z 撤销',
  editWord: '修改这个词',
  renameSpeaker: '重命名 {name}',
  speakerName: '说话人名称',
  saving: '保存中…',
  saved: '已保存',
  conflict: '文字稿已在另一个标签页或由他人修改。请重新加载查看最新版本；你刚才的修改没有保存。',
  reload: '重新加载',
  undo: '撤销',
  undone: '已撤销',
  follow: '跟随播放',
  words: '文字稿正文',
  paragraphAt: '从 {time} 播放',
  empty: '这份文字稿没有内容。',
};

const DICTS: Record<PanelLang, Record<PanelKey, string>> = { en, zh };

export function panelText(lang: PanelLang, key: PanelKey, params: Record<string, string | number> = {}): string {
  return DICTS[lang][key].replace(/\{(\w+)\}/g, (m, k: string) => (k in params ? String(params[k]) : m));
}

export const panelDictionaries = DICTS;
