/**
 * The transcript read against its recording, and fixed in place: a player beside (or, on a phone,
 * above) paragraphs of words; the word being spoken is highlighted and followed, any word seeks
 * the player, search and the uncertain-word key jump through the text, and a retyped word is saved
 * as a versioned PATCH (a stale version, 4009, says another tab changed it). Only the paragraphs
 * near the viewport are in the DOM, so an hour of speech (10 000 words) opens and scrolls at once.
 */
import { memo, useCallback, useDeferredValue, useEffect, useLayoutEffect, useMemo, useReducer, useRef, useState } from 'react';
import type { TranscriptPatch, TranscriptPatchResult, TranscriptView } from '../../api/views.ts';
import type { Speaker } from '../../transcript/types.ts';
import { AGENT } from '../api.ts';
import { type ApiErrorLike, NETWORK_ERROR, errorSentence } from '../i18n.ts';
import {
  type Match,
  type PanelWord,
  type Paragraph,
  type WordEdit,
  cleanEdit,
  findMatches,
  firstMatchFrom,
  formatTimestamp,
  isUncertain,
  layoutTranscript,
  matchIndex,
  nextUncertain,
  popEdit,
  pushEdit,
  startsOf,
  step,
  uncertainWords,
  withWord,
  wordAt,
} from './model.ts';
import { type PanelKey, type PanelLang, panelText } from './strings.ts';
import { estimateHeight, prefixOffsets, visibleRange } from './virtual.ts';
import './transcript.css';

type Method = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

export interface TranscriptPanelProps {
  sessionId: string;
  transcriptId: string;
  request: <T>(method: Method, path: string, body?: unknown) => Promise<T>;
  mediaUrl: string | null;
  mediaKind: 'video' | 'audio';
  lang: PanelLang;
  onChanged?: () => void;
}

const VERSION_CONFLICT = 4009;
const SEEK_STEP = 5;

type SaveState = { kind: 'idle' } | { kind: 'saving' } | { kind: 'saved' } | { kind: 'undone' } | { kind: 'conflict' } | { kind: 'error'; error: ApiErrorLike };

interface Loaded {
  view: TranscriptView;
  paragraphs: Paragraph[];
  /** Characters per paragraph, for the height estimate of paragraphs not yet drawn. */
  chars: number[];
}

interface Reveal {
  word: number;
  /** 'follow' keeps the playing word in the upper part of the list; 'show' only scrolls when the word is out of sight. */
  mode: 'follow' | 'show';
  focus: boolean;
  /** performance.now() when asked: a reveal whose word never got drawn is dropped after a while. */
  at: number;
}

function asApiError(e: unknown): ApiErrorLike {
  const o = e as { code?: unknown; message?: unknown };
  return typeof o?.code === 'number' ? { code: o.code, message: String(o.message ?? '') } : { code: NETWORK_ERROR, message: String(o?.message ?? e) };
}

/** The language code as a name in the UI language ("English", "英语"), with the code. */
function languageName(code: string, lang: PanelLang): string {
  try {
    const name = new Intl.DisplayNames([lang === 'zh' ? 'zh-CN' : 'en'], { type: 'language' }).of(code);
    return name && name !== code ? `${name} (${code})` : code;
  } catch {
    return code;
  }
}

/** A signed media link changes on every state fetch; the same path is the same recording, so the player is not reloaded. */
function mediaPath(url: string): string {
  return url.split('?')[0] ?? url;
}

function isTyping(el: Element | null): boolean {
  return !!el?.closest('input, textarea, select, [contenteditable=""], [contenteditable="true"]');
}

export function TranscriptPanel(props: TranscriptPanelProps) {
  const { sessionId, transcriptId, request, mediaKind, lang, onChanged } = props;
  const t = useCallback((k: PanelKey, p?: Record<string, string | number>) => panelText(lang, k, p), [lang]);
  const path = `/api/state/${AGENT}/me/${encodeURIComponent(sessionId)}/transcripts/${encodeURIComponent(transcriptId)}`;

  // ── the transcript ──
  const [loaded, setLoaded] = useState<Loaded | null>(null);
  const [loadError, setLoadError] = useState<ApiErrorLike | null>(null);
  const [reloads, setReloads] = useState(0);
  const [words, setWords] = useState<PanelWord[]>([]);
  const [speakers, setSpeakers] = useState<Speaker[]>([]);
  const version = useRef(1);

  // ── editing ──
  const [editing, setEditing] = useState(-1);
  /** The paragraph whose speaker label is being renamed (one editor, though the speaker heads many paragraphs). */
  const [renaming, setRenaming] = useState<number | null>(null);
  const [undoStack, setUndoStack] = useState<WordEdit[]>([]);
  const undoRef = useRef<WordEdit[]>([]);
  const [save, setSave] = useState<SaveState>({ kind: 'idle' });
  const conflict = useRef(false);
  const saveQueue = useRef<Promise<void>>(Promise.resolve());

  // ── playback ──
  const [media, setMedia] = useState<HTMLMediaElement | null>(null);
  const [src, setSrc] = useState(props.mediaUrl || '');
  const latestUrl = useRef(props.mediaUrl || '');
  const [playing, setPlaying] = useState(false);
  const [active, setActive] = useState(-1);
  const activeRef = useRef(-1);
  const [cursor, setCursor] = useState(-1);
  const [follow, setFollow] = useState(true);
  const followRef = useRef(true);

  // ── search ──
  const [query, setQuery] = useState('');
  const deferredQuery = useDeferredValue(query);
  const [current, setCurrent] = useState(-1);
  const searchRef = useRef<HTMLInputElement>(null);

  // ── the windowed list ──
  const scrollerRef = useRef<HTMLDivElement>(null);
  const windowRef = useRef<HTMLDivElement>(null);
  const [viewport, setViewport] = useState({ height: 600, width: 600 });
  // The scroll position lives in a ref: a scroll redraws only when it changes which paragraphs are drawn.
  const scrollTop = useRef(0);
  const [, redraw] = useReducer((n: number) => n + 1, 0);
  const measured = useRef<Float64Array>(new Float64Array(0));
  const [measures, setMeasures] = useState(0);
  const pendingReveal = useRef<Reveal | null>(null);
  const userScrolledAt = useRef(0);

  // Load (and reload after a conflict).
  // biome-ignore lint/correctness/useExhaustiveDependencies: reloads is the Reload button's trigger
  useEffect(() => {
    let live = true;
    setLoadError(null);
    request<TranscriptView>('GET', path).then(
      (view) => {
        if (!live) return;
        const { words: ws, paragraphs } = layoutTranscript(view.segments);
        const chars = paragraphs.map((p) => ws.slice(p.first, p.last).reduce((n, w) => n + w.lead.length + w.text.length, 0));
        measured.current = new Float64Array(paragraphs.length);
        version.current = view.version;
        conflict.current = false;
        undoRef.current = [];
        setUndoStack([]);
        setWords(ws);
        setSpeakers(view.speakers ?? []);
        setLoaded({ view, paragraphs, chars });
        setEditing(-1);
        setSave({ kind: 'idle' });
      },
      (e: unknown) => live && setLoadError(asApiError(e)),
    );
    return () => {
      live = false;
    };
  }, [request, path, reloads]);

  // A new signed link for the same recording does not reload the player; a different recording does.
  useEffect(() => {
    latestUrl.current = props.mediaUrl || '';
    setSrc((old) => (mediaPath(old) === mediaPath(latestUrl.current) && old ? old : latestUrl.current));
  }, [props.mediaUrl]);

  const paragraphs = loaded?.paragraphs ?? [];
  const starts = useMemo(() => startsOf(words), [words]);
  const uncertain = useMemo(() => uncertainWords(words), [words]);
  const matches = useMemo<Match[]>(() => findMatches(words, deferredQuery), [words, deferredQuery]);
  const matchOf = useMemo(() => matchIndex(words.length, matches), [words.length, matches]);

  // ── scrolling a word into view, drawn or not ──
  const offsets = useMemo(() => {
    void measures;
    const heights = paragraphs.map((_, i) => measured.current[i] || estimateHeight(loaded?.chars[i] ?? 0, viewport.width));
    return prefixOffsets(heights);
  }, [paragraphs, loaded, viewport.width, measures]);
  const range = visibleRange(offsets, scrollTop.current, viewport.height, viewport.height);
  const drawn = useRef({ range, offsets, height: viewport.height });
  drawn.current = { range, offsets, height: viewport.height };

  /** After any scroll: redraw when the paragraphs to draw are no longer the ones drawn. */
  const scrolled = useCallback(() => {
    const box = scrollerRef.current;
    if (!box) return;
    scrollTop.current = box.scrollTop;
    const d = drawn.current;
    const r = visibleRange(d.offsets, box.scrollTop, d.height, d.height);
    if (r.start !== d.range.start || r.end !== d.range.end) redraw();
  }, []);

  const reveal = useCallback(
    (word: number, mode: Reveal['mode'], focus = false) => {
      const w = words[word];
      const box = scrollerRef.current;
      if (!w || !box) return;
      pendingReveal.current = { word, mode, focus, at: performance.now() };
      if (w.paragraph < range.start || w.paragraph >= range.end) {
        // Not drawn: jump to its estimated place; the layout pass puts the word exactly.
        const top = Math.max(0, offsets[w.paragraph]! - box.clientHeight / 3);
        box.scrollTop = top;
        scrollTop.current = box.scrollTop;
      }
      redraw();
    },
    [words, range.start, range.end, offsets],
  );

  const applyReveal = useCallback(() => {
    const r = pendingReveal.current;
    const box = scrollerRef.current;
    if (!r || !box) return;
    const el = box.querySelector<HTMLElement>(`[data-i="${r.word}"]`);
    if (!el) {
      if (performance.now() - r.at > 1000) pendingReveal.current = null;
      return;
    }
    pendingReveal.current = null;
    const boxRect = box.getBoundingClientRect();
    const rect = el.getBoundingClientRect();
    const y = rect.top - boxRect.top;
    const h = box.clientHeight;
    const inView = r.mode === 'follow' ? y >= h * 0.1 && y + rect.height <= h * 0.75 : y >= 0 && y + rect.height <= h;
    if (!inView) {
      box.scrollTop += y - (r.mode === 'follow' ? h * 0.3 : h / 2 - rect.height / 2);
      scrolled();
    }
    // Never take the caret out of a field the reader is typing in.
    if (r.focus && !isTyping(document.activeElement)) el.focus({ preventScroll: true });
  }, [scrolled]);

  // After each render: measure the drawn paragraphs (a changed height redraws once more), then place a pending reveal.
  useLayoutEffect(() => {
    const box = windowRef.current;
    if (!box) return;
    let changed = false;
    for (const el of box.children) {
      const p = Number((el as HTMLElement).dataset.p);
      const h = (el as HTMLElement).offsetHeight;
      if (Number.isInteger(p) && h > 0 && Math.abs((measured.current[p] ?? 0) - h) > 0.5) {
        measured.current[p] = h;
        changed = true;
      }
    }
    if (changed) setMeasures((n) => n + 1);
    else applyReveal();
  });

  // The list's size: a new width re-estimates every paragraph (text wraps differently).
  // biome-ignore lint/correctness/useExhaustiveDependencies: the list is there once the transcript is loaded
  useEffect(() => {
    const box = scrollerRef.current;
    if (!box) return;
    const ro = new ResizeObserver(() => {
      setViewport((v) => {
        const width = box.clientWidth;
        if (Math.abs(width - v.width) > 1) measured.current = new Float64Array(measured.current.length);
        scrollTop.current = box.scrollTop;
        return { height: box.clientHeight, width };
      });
    });
    ro.observe(box);
    return () => ro.disconnect();
  }, [loaded]);

  const scrollFrame = useRef(0);
  const onScroll = useCallback(() => {
    const box = scrollerRef.current;
    if (!box) return;
    if (performance.now() - userScrolledAt.current < 1000 && followRef.current) {
      followRef.current = false;
      setFollow(false);
    }
    if (scrollFrame.current) return;
    scrollFrame.current = requestAnimationFrame(() => {
      scrollFrame.current = 0;
      scrolled();
    });
  }, [scrolled]);
  const markUserScroll = useCallback(() => {
    userScrolledAt.current = performance.now();
  }, []);
  const onScrollerKey = useCallback((e: React.KeyboardEvent) => {
    if (['PageUp', 'PageDown', 'Home', 'End', 'ArrowUp', 'ArrowDown'].includes(e.key)) userScrolledAt.current = performance.now();
  }, []);

  const setFollowing = useCallback((on: boolean) => {
    followRef.current = on;
    setFollow(on);
  }, []);

  // ── playback ──
  const syncActive = useCallback(
    (time: number) => {
      const i = wordAt(starts, time);
      if (i !== activeRef.current) {
        activeRef.current = i;
        setActive(i);
      }
    },
    [starts],
  );

  useEffect(() => {
    if (!media) return;
    const onPlay = () => {
      setPlaying(true);
      setFollowing(true);
    };
    const onPause = () => setPlaying(false);
    const onTime = () => syncActive(media.currentTime);
    const onError = () => {
      // The signed link expired: take the newest one, at the same place.
      if (latestUrl.current && latestUrl.current !== media.currentSrc) {
        const at = media.currentTime;
        setSrc(latestUrl.current);
        media.addEventListener('loadedmetadata', () => (media.currentTime = at), { once: true });
      }
    };
    media.addEventListener('play', onPlay);
    media.addEventListener('pause', onPause);
    media.addEventListener('ended', onPause);
    media.addEventListener('seeked', onTime);
    media.addEventListener('timeupdate', onTime);
    media.addEventListener('error', onError);
    setPlaying(!media.paused);
    return () => {
      media.removeEventListener('play', onPlay);
      media.removeEventListener('pause', onPause);
      media.removeEventListener('ended', onPause);
      media.removeEventListener('seeked', onTime);
      media.removeEventListener('timeupdate', onTime);
      media.removeEventListener('error', onError);
    };
  }, [media, syncActive, setFollowing]);

  // While playing, the highlight follows every frame (timeupdate alone comes only ~4 times a second).
  useEffect(() => {
    if (!playing || !media) return;
    let frame = requestAnimationFrame(function tick() {
      syncActive(media.currentTime);
      frame = requestAnimationFrame(tick);
    });
    return () => cancelAnimationFrame(frame);
  }, [playing, media, syncActive]);

  // Auto-scroll: keep the spoken word in sight unless the reader scrolled away.
  // biome-ignore lint/correctness/useExhaustiveDependencies: only a new spoken word moves the list (reveal changes with every scroll)
  useEffect(() => {
    if (active >= 0 && followRef.current && playing) reveal(active, 'follow');
  }, [active, playing]);

  const seek = useCallback(
    (time: number) => {
      const t0 = Math.max(0, time);
      if (media) media.currentTime = Math.min(t0, Number.isFinite(media.duration) ? media.duration : t0);
      syncActive(t0);
    },
    [media, syncActive],
  );

  const togglePlay = useCallback(() => {
    if (!media) return;
    if (media.paused) media.play().catch(() => setPlaying(false));
    else media.pause();
  }, [media]);

  // ── saving ──
  const send = useCallback(
    (body: Omit<TranscriptPatch, 'base_version'>): Promise<void> => {
      const run = async () => {
        if (conflict.current) throw { code: VERSION_CONFLICT, message: 'stale' };
        const r = await request<TranscriptPatchResult>('PATCH', path, { base_version: version.current, ...body });
        version.current = r.version;
      };
      const p = saveQueue.current.then(run);
      saveQueue.current = p.catch(() => undefined);
      return p;
    },
    [request, path],
  );

  const failed = useCallback((e: unknown) => {
    const err = asApiError(e);
    if (err.code === VERSION_CONFLICT) {
      conflict.current = true;
      setSave({ kind: 'conflict' });
    } else setSave({ kind: 'error', error: err });
  }, []);

  const setUndo = useCallback((next: WordEdit[]) => {
    undoRef.current = next;
    setUndoStack(next);
  }, []);

  /** Retype a word: shown at once, sent in order; undone on the screen again if the server refuses it. */
  const applyEdit = useCallback(
    (edit: WordEdit, isUndo: boolean) => {
      setWords((ws) => withWord(ws, edit.word, edit.after));
      setSave({ kind: 'saving' });
      send({ words: [{ segment: edit.segment, index: edit.index, word: edit.after }] }).then(
        () => {
          setSave({ kind: isUndo ? 'undone' : 'saved' });
          onChanged?.();
        },
        (e: unknown) => {
          setWords((ws) => withWord(ws, edit.word, edit.before));
          if (isUndo) setUndo(pushEdit(undoRef.current, { ...edit, before: edit.after, after: edit.before }));
          else setUndo(undoRef.current.filter((x) => x !== edit));
          failed(e);
        },
      );
    },
    [send, onChanged, failed, setUndo],
  );

  const commitWord = useCallback(
    (i: number, typed: string) => {
      setEditing(-1);
      const w = words[i];
      if (!w) return;
      pendingReveal.current = { word: i, mode: 'show', focus: true, at: performance.now() };
      const text = cleanEdit(typed, w.text);
      if (text === undefined) return;
      const edit: WordEdit = { word: i, segment: w.segment, index: w.index, before: w.text, after: text };
      setUndo(pushEdit(undoRef.current, edit));
      applyEdit(edit, false);
    },
    [words, applyEdit, setUndo],
  );

  const cancelEdit = useCallback((i: number) => {
    setEditing(-1);
    pendingReveal.current = { word: i, mode: 'show', focus: true, at: performance.now() };
  }, []);

  const undo = useCallback(() => {
    const popped = popEdit(undoRef.current);
    if (!popped) return;
    setUndo(popped.rest);
    applyEdit(popped.revert, true);
    reveal(popped.revert.word, 'show');
  }, [applyEdit, setUndo, reveal]);

  const renameSpeaker = useCallback(
    (id: number, typed: string) => {
      setRenaming(null);
      const before = speakers.find((s) => s.id === id);
      const name = before ? cleanEdit(typed, before.name) : undefined;
      if (!before || name === undefined) return;
      const rename = (n: string) => setSpeakers((all) => all.map((s) => (s.id === id ? { ...s, name: n } : s)));
      rename(name);
      setSave({ kind: 'saving' });
      send({ speakers: [{ id, name }] }).then(
        () => {
          setSave({ kind: 'saved' });
          onChanged?.();
        },
        (e: unknown) => {
          rename(before.name);
          failed(e);
        },
      );
    },
    [speakers, send, onChanged, failed],
  );

  // ── search: a new query moves the reader to its first match from where they are (an edit does not) ──
  // biome-ignore lint/correctness/useExhaustiveDependencies: only a new query moves the reader
  useEffect(() => {
    if (matches.length === 0) {
      setCurrent(-1);
      return;
    }
    const from = cursor >= 0 ? cursor : Math.max(0, activeRef.current);
    const c = firstMatchFrom(matches, from);
    setCurrent(c);
    reveal(matches[c]!.first, 'show');
  }, [deferredQuery]);

  const stepMatch = useCallback(
    (dir: 1 | -1) => {
      const c = step(current, matches.length, dir);
      if (c < 0) return;
      setCurrent(c);
      reveal(matches[c]!.first, 'show');
    },
    [current, matches, reveal],
  );

  // ── uncertain words ──
  const jumpUncertain = useCallback(
    (dir: 1 | -1) => {
      const from = cursor >= 0 ? cursor : activeRef.current;
      const i = nextUncertain(uncertain, from, dir);
      if (i < 0) return;
      setCursor(i);
      seek(words[i]!.start);
      reveal(i, 'show', true);
    },
    [cursor, uncertain, words, seek, reveal],
  );

  // ── keyboard, anywhere on the page while the panel is on it ──
  const keys = useRef<(e: KeyboardEvent) => void>(() => undefined);
  keys.current = (e: KeyboardEvent) => {
    if (e.defaultPrevented || !loaded) return;
    const target = e.target instanceof Element ? e.target : null;
    const mod = e.ctrlKey || e.metaKey;
    const key = e.key.toLowerCase();
    if (mod && !e.altKey && !e.shiftKey && key === 'f') {
      e.preventDefault();
      searchRef.current?.focus();
      searchRef.current?.select();
      return;
    }
    if (isTyping(target)) return;
    if (mod && !e.altKey && !e.shiftKey && key === 'z') {
      if (undoRef.current.length === 0) return;
      e.preventDefault();
      undo();
      return;
    }
    if (mod || e.altKey) return;
    const onMedia = !!target?.closest('video, audio');
    if (e.key === ' ' && !onMedia && !target?.closest('button, a, summary, [role="button"]')) {
      e.preventDefault();
      togglePlay();
    } else if ((e.key === 'ArrowLeft' || e.key === 'ArrowRight') && !onMedia && media) {
      e.preventDefault();
      seek(media.currentTime + (e.key === 'ArrowLeft' ? -SEEK_STEP : SEEK_STEP));
    } else if (key === 'n') {
      e.preventDefault();
      jumpUncertain(e.shiftKey ? -1 : 1);
    }
  };
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => keys.current(e);
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, []);

  const followAgain = () => {
    setFollowing(true);
    if (active >= 0) reveal(active, 'follow');
  };

  // ── words: one set of handlers for the whole list ──
  const wordOf = (e: React.SyntheticEvent): number => {
    const el = (e.target as Element).closest?.('[data-i]');
    return el instanceof HTMLElement && el.tagName === 'SPAN' ? Number(el.dataset.i) : -1;
  };
  const onListClick = (e: React.MouseEvent) => {
    const i = wordOf(e);
    if (i < 0 || editing === i) return;
    setCursor(i);
    setFollowing(true);
    seek(words[i]!.start);
  };
  const onListDoubleClick = (e: React.MouseEvent) => {
    const i = wordOf(e);
    if (i >= 0) setEditing(i);
  };
  const onListKey = (e: React.KeyboardEvent) => {
    const i = wordOf(e);
    if (i < 0 || isTyping(e.target as Element)) return;
    if (e.key === 'Enter') {
      e.preventDefault();
      setCursor(i);
      setEditing(i);
    }
  };

  if (loadError)
    return (
      <section className="vt" data-testid="transcript" aria-label={t('transcript')}>
        <p className="vt-error" role="alert">
          {errorSentence(loadError, lang).text}{' '}
          <button type="button" onClick={() => setReloads((n) => n + 1)}>
            {t('reload')}
          </button>
        </p>
      </section>
    );
  if (!loaded)
    return (
      <section className="vt" data-testid="transcript" aria-busy="true" aria-label={t('transcript')}>
        <p className="vt-muted">{t('loading')}</p>
      </section>
    );

  const currentMatch = matches[current];
  const tabWord =
    cursor >= 0 && words[cursor] && words[cursor].paragraph >= range.start && words[cursor].paragraph < range.end
      ? cursor
      : (paragraphs[range.start]?.first ?? -1);
  const speakerName = (p: Paragraph) => (p.speaker !== undefined ? (speakers[p.speaker]?.name ?? `${p.speaker + 1}`) : undefined);

  return (
    <section className="vt" data-testid="transcript" aria-label={t('transcript')}>
      <div className="vt-grid">
        <div className="vt-side">
          {src ? (
            mediaKind === 'video' ? (
              // biome-ignore lint/a11y/useMediaCaption: the transcript beside it is the caption
              <video ref={setMedia} data-testid="player" className="vt-player" src={src} controls preload="metadata" playsInline aria-label={t('player')} />
            ) : (
              // biome-ignore lint/a11y/useMediaCaption: the transcript beside it is the caption
              <audio ref={setMedia} data-testid="player" className="vt-player vt-audio" src={src} controls preload="metadata" aria-label={t('player')} />
            )
          ) : (
            <p className="vt-muted">{t('noMedia')}</p>
          )}
          <fieldset className="vt-controls" aria-label={t('player')}>
            <button type="button" onClick={() => media && seek(media.currentTime - SEEK_STEP)} disabled={!media} aria-label={t('back5')}>
              −5 s
            </button>
            <button type="button" onClick={togglePlay} disabled={!media} aria-label={playing ? t('pause') : t('play')}>
              {playing ? '❚❚' : '▶'}
            </button>
            <button type="button" onClick={() => media && seek(media.currentTime + SEEK_STEP)} disabled={!media} aria-label={t('forward5')}>
              +5 s
            </button>
            <Clock media={media} duration={loaded.view.duration} />
          </fieldset>
          <p className="vt-meta">
            <span data-testid="language" data-code={loaded.view.language}>
              {t('language', { language: languageName(loaded.view.language, lang) })}
            </span>
          </p>
          <div className="vt-review">
            <span>{uncertain.length === 1 ? t('uncertainOne') : uncertain.length ? t('uncertainCount', { count: uncertain.length }) : t('uncertainNone')}</span>
            <button type="button" className="vt-small" onClick={() => jumpUncertain(-1)} disabled={!uncertain.length} aria-label={t('uncertainPrev')}>
              ↑ N
            </button>
            <button type="button" className="vt-small" onClick={() => jumpUncertain(1)} disabled={!uncertain.length} aria-label={t('uncertainNext')}>
              ↓ N
            </button>
          </div>
          <p className="vt-hint vt-muted">{t('hint')}</p>
        </div>

        <div className="vt-main">
          <div className="vt-toolbar">
            <search className="vt-search">
              <input
                ref={searchRef}
                type="search"
                data-testid="search-input"
                aria-label={t('search')}
                placeholder={t('searchPlaceholder')}
                value={query}
                onChange={(e) => setQuery(e.target.value)}
                onKeyDown={(e) => {
                  if (e.key === 'Enter') {
                    e.preventDefault();
                    stepMatch(e.shiftKey ? -1 : 1);
                  } else if (e.key === 'Escape') setQuery('');
                }}
              />
              <span className="vt-count" data-testid="search-count" aria-live="polite">
                {deferredQuery.trim() ? (matches.length ? t('searchCount', { n: current + 1, total: matches.length }) : t('searchNone')) : ''}
              </span>
              <button
                type="button"
                className="vt-small"
                data-testid="search-prev"
                onClick={() => stepMatch(-1)}
                disabled={!matches.length}
                aria-label={t('searchPrev')}
              >
                ↑
              </button>
              <button
                type="button"
                className="vt-small"
                data-testid="search-next"
                onClick={() => stepMatch(1)}
                disabled={!matches.length}
                aria-label={t('searchNext')}
              >
                ↓
              </button>
            </search>
            <div className="vt-save">
              <button type="button" className="vt-small" data-testid="undo" onClick={undo} disabled={undoStack.length === 0}>
                {t('undo')}
              </button>
              <span data-testid="save-status" role="status" aria-live="polite" data-state={save.kind} className={`vt-status vt-status-${save.kind}`}>
                {save.kind === 'saving' ? t('saving') : null}
                {save.kind === 'saved' ? t('saved') : null}
                {save.kind === 'undone' ? `${t('undone')} · ${t('saved')}` : null}
                {save.kind === 'conflict' ? (
                  <>
                    {t('conflict')}{' '}
                    <button type="button" className="vt-small" onClick={() => setReloads((n) => n + 1)}>
                      {t('reload')}
                    </button>
                  </>
                ) : null}
                {save.kind === 'error' ? errorSentence(save.error, lang).text : null}
              </span>
            </div>
          </div>

          {/* biome-ignore lint/a11y/noStaticElementInteractions: wheel and touch only tell a reader's scroll from the panel's */}
          <div
            ref={scrollerRef}
            className="vt-scroll"
            lang={loaded.view.language}
            onScroll={onScroll}
            onWheel={markUserScroll}
            onTouchMove={markUserScroll}
            onPointerDown={markUserScroll}
            onKeyDown={onScrollerKey}
          >
            {paragraphs.length === 0 ? <p className="vt-muted">{t('empty')}</p> : null}
            <div style={{ height: offsets[range.start] ?? 0 }} aria-hidden="true" />
            {/* biome-ignore lint/a11y/noStaticElementInteractions: the words inside are the controls */}
            <div ref={windowRef} onClick={onListClick} onDoubleClick={onListDoubleClick} onKeyDown={onListKey}>
              {paragraphs.slice(range.start, range.end).map((p, k) => {
                const n = range.start + k;
                const inside = (i: number) => (i >= p.first && i < p.last ? i : -1);
                return (
                  <ParagraphView
                    key={n}
                    n={n}
                    p={p}
                    words={words}
                    active={inside(active)}
                    editing={inside(editing)}
                    tabWord={inside(tabWord)}
                    matchOf={matchOf}
                    currentMatch={currentMatch && currentMatch.last >= p.first && currentMatch.first < p.last ? currentMatch : undefined}
                    speaker={speakerName(p)}
                    speakerId={p.speaker !== undefined ? speakers[p.speaker]?.id : undefined}
                    renaming={renaming === n}
                    lang={lang}
                    onSeek={seek}
                    onCommit={commitWord}
                    onCancel={cancelEdit}
                    onRename={setRenaming}
                    onRenamed={renameSpeaker}
                  />
                );
              })}
            </div>
            <div style={{ height: (offsets[paragraphs.length] ?? 0) - (offsets[range.end] ?? 0) }} aria-hidden="true" />
          </div>
          {!follow && playing ? (
            <button type="button" className="vt-follow vt-small" onClick={followAgain}>
              {t('follow')}
            </button>
          ) : null}
        </div>
      </div>
    </section>
  );
}

/** The position / duration readout, redrawn on its own so the list is not. */
function Clock({ media, duration }: { media: HTMLMediaElement | null; duration: number }) {
  const [now, setNow] = useState(0);
  useEffect(() => {
    if (!media) return;
    const on = () => setNow(media.currentTime);
    media.addEventListener('timeupdate', on);
    media.addEventListener('seeked', on);
    return () => {
      media.removeEventListener('timeupdate', on);
      media.removeEventListener('seeked', on);
    };
  }, [media]);
  const total = media && Number.isFinite(media.duration) && media.duration > 0 ? media.duration : duration;
  return (
    <span className="vt-clock" aria-hidden="true">
      {formatTimestamp(now)} / {formatTimestamp(total)}
    </span>
  );
}

interface ParagraphProps {
  n: number;
  p: Paragraph;
  words: readonly PanelWord[];
  active: number;
  editing: number;
  tabWord: number;
  matchOf: Int32Array;
  currentMatch: Match | undefined;
  speaker: string | undefined;
  speakerId: number | undefined;
  renaming: boolean;
  lang: PanelLang;
  onSeek: (time: number) => void;
  onCommit: (i: number, typed: string) => void;
  onCancel: (i: number) => void;
  onRename: (paragraph: number | null) => void;
  onRenamed: (id: number, typed: string) => void;
}

const ParagraphView = memo(function ParagraphView(props: ParagraphProps) {
  const { n, p, words, active, editing, tabWord, matchOf, currentMatch, speaker, speakerId, renaming, lang } = props;
  const t = (k: PanelKey, params?: Record<string, string | number>) => panelText(lang, k, params);
  const out: React.ReactNode[] = [];
  for (let i = p.first; i < p.last; i++) {
    const w = words[i]!;
    if (w.lead) out.push(w.lead);
    if (i === editing) {
      out.push(<WordEditor key={i} i={i} initial={w.text} label={t('editWord')} onCommit={props.onCommit} onCancel={props.onCancel} />);
      continue;
    }
    const uncertain = isUncertain(w);
    const match = matchOf[i]! >= 0;
    out.push(
      <span
        key={i}
        data-testid="word"
        data-i={i}
        data-start={w.start}
        data-end={w.end}
        data-segment={w.segment}
        data-index={w.index}
        data-active={i === active ? 'true' : undefined}
        data-uncertain={uncertain ? 'true' : undefined}
        data-match={match ? 'true' : undefined}
        data-current={match && currentMatch && i >= currentMatch.first && i <= currentMatch.last ? 'true' : undefined}
        title={uncertain ? t('uncertainTitle', { percent: Math.round(w.probability * 100) }) : undefined}
        tabIndex={i === tabWord ? 0 : -1}
        className="vt-w"
      >
        {w.text}
      </span>,
    );
  }
  return (
    <div className="vt-para" data-p={n}>
      <div className="vt-para-head">
        <button type="button" className="vt-time" onClick={() => props.onSeek(p.start)} aria-label={t('paragraphAt', { time: formatTimestamp(p.start) })}>
          {formatTimestamp(p.start)}
        </button>
        {speaker !== undefined && speakerId !== undefined ? (
          renaming ? (
            <SpeakerEditor
              initial={speaker}
              label={t('speakerName')}
              onDone={(name) => (name === null ? props.onRename(null) : props.onRenamed(speakerId, name))}
            />
          ) : (
            <button
              type="button"
              className="vt-speaker"
              data-testid="speaker-label"
              data-speaker={speakerId}
              onClick={() => props.onRename(n)}
              aria-label={t('renameSpeaker', { name: speaker })}
            >
              {speaker}
            </button>
          )
        ) : null}
      </div>
      <p className="vt-text">{out}</p>
    </div>
  );
});

/** The inline input for one word: Enter (or leaving it) saves, Escape cancels. */
function WordEditor({
  i,
  initial,
  label,
  onCommit,
  onCancel,
}: {
  i: number;
  initial: string;
  label: string;
  onCommit: (i: number, typed: string) => void;
  onCancel: (i: number) => void;
}) {
  const ref = useRef<HTMLInputElement>(null);
  const done = useRef(false);
  const [value, setValue] = useState(initial);
  useEffect(() => {
    ref.current?.focus();
    ref.current?.select();
  }, []);
  const finish = (save: boolean) => {
    if (done.current) return;
    done.current = true;
    if (save) onCommit(i, ref.current?.value ?? value);
    else onCancel(i);
  };
  return (
    <input
      ref={ref}
      data-testid="word-editor"
      className="vt-editor"
      aria-label={label}
      value={value}
      size={Math.max(3, [...value].length + 1)}
      maxLength={200}
      onChange={(e) => setValue(e.target.value)}
      onKeyDown={(e) => {
        e.stopPropagation();
        if (e.key === 'Enter') {
          e.preventDefault();
          finish(true);
        } else if (e.key === 'Escape') {
          e.preventDefault();
          finish(false);
        }
      }}
      onBlur={() => finish(true)}
      onClick={(e) => e.stopPropagation()}
      onDoubleClick={(e) => e.stopPropagation()}
    />
  );
}

function SpeakerEditor({ initial, label, onDone }: { initial: string; label: string; onDone: (name: string | null) => void }) {
  const done = useRef(false);
  const finish = (name: string | null) => {
    if (done.current) return;
    done.current = true;
    onDone(name);
  };
  return (
    <input
      data-testid="speaker-editor"
      className="vt-editor"
      aria-label={label}
      defaultValue={initial}
      maxLength={100}
      // biome-ignore lint/a11y/noAutofocus: opened by the click that asked to rename
      autoFocus
      onFocus={(e) => e.target.select()}
      onKeyDown={(e) => {
        e.stopPropagation();
        if (e.key === 'Enter') finish(e.currentTarget.value);
        else if (e.key === 'Escape') finish(null);
      }}
      onBlur={(e) => finish(e.currentTarget.value)}
    />
  );
}
