/**
 * The web app: credits and language in the header; media and the chat on one side, the session
 * (transcript against its recording, downloads, renders, timeline) on the other; the browser's
 * sessions to come back to. The current session id is kept in the URL hash and localStorage.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { SessionStateView, SessionsListView } from '../api/views.ts';
import { streamAgent } from './agent-stream.ts';
import { AGENT, ApiError, request, store } from './api.ts';
import { type ChatMessage, assistantMessage, dropped, reduceEvent, userMessage } from './chat-state.ts';
import { Chat } from './components/Chat.tsx';
import { DropZone } from './components/DropZone.tsx';
import { SessionView } from './components/SessionView.tsx';
import { Sessions } from './components/Sessions.tsx';
import { type ApiErrorLike, type Lang, LANGS, NETWORK_ERROR, STREAM_DROPPED, initialLang, translate } from './i18n.ts';
import { ErrorText, type LangValue, LangContext } from './ui.tsx';

const LANG_KEY = 'vidscribe.lang';
const SESSION_KEY = 'vidscribe.session';
/** A reply stream quiet for this long gets "Still working…". */
export const STILL_WORKING_MS = 8000;
const POLL_MS = 1500;

const asError = (e: unknown): ApiErrorLike =>
  e instanceof ApiError ? { code: e.code, message: e.message, data: e.data } : { code: NETWORK_ERROR, message: String((e as Error)?.message ?? e) };

function sessionFromHash(): string | undefined {
  const m = /(?:^#|&)session=([^&]+)/.exec(location.hash);
  return m ? decodeURIComponent(m[1]!) : undefined;
}

export function App() {
  const [lang, setLang] = useState<Lang>(() => initialLang(store.get(LANG_KEY), navigator.language));
  const langValue = useMemo<LangValue>(() => ({ lang, t: (k, p) => translate(lang, k, p) }), [lang]);
  const { t } = langValue;
  useEffect(() => {
    document.documentElement.lang = lang;
    document.title = `vidscribe — ${translate(lang, 'tagline')}`;
  }, [lang]);

  const [sessionId, setSessionIdState] = useState<string | undefined>(() => sessionFromHash() ?? store.get(SESSION_KEY) ?? undefined);
  const sessionRef = useRef(sessionId);
  const setSessionId = useCallback((id: string | undefined) => {
    sessionRef.current = id;
    setSessionIdState(id);
    store.set(SESSION_KEY, id ?? null);
    history.replaceState(null, '', id ? `#session=${encodeURIComponent(id)}` : location.pathname + location.search);
  }, []);

  const [state, setState] = useState<SessionStateView>();
  const [credits, setCredits] = useState<{ available: number; frozen: number }>();
  const [sessions, setSessions] = useState<SessionsListView['sessions']>([]);
  const [notice, setNotice] = useState<ApiErrorLike>();
  const [messages, setMessages] = useState<ChatMessage[]>([]);
  const [busy, setBusy] = useState(false);
  const [quietFor, setQuietFor] = useState(0);
  const lastEvent = useRef(0);

  const loadCredits = useCallback(async () => {
    try {
      setCredits(await request<{ available: number; frozen: number }>('GET', '/api/credits/balance/simple'));
    } catch (e) {
      setNotice(asError(e));
    }
  }, []);

  const loadSessions = useCallback(async () => {
    try {
      setSessions((await request<SessionsListView>('GET', '/api/sessions?limit=20')).sessions);
    } catch {
      // The list is a convenience: the session in hand still works without it.
    }
  }, []);

  /** The session's state; a session that is gone (1002) is forgotten. Returns false when the server could not be reached. */
  const refresh = useCallback(async (): Promise<boolean> => {
    const sid = sessionRef.current;
    if (!sid) return true;
    try {
      const s = await request<SessionStateView>('GET', `/api/state/${AGENT}/me/${encodeURIComponent(sid)}/latest`);
      if (sessionRef.current === sid) setState(s);
      return true;
    } catch (e) {
      const err = asError(e);
      if (err.code === 1002) {
        setSessionId(undefined);
        setState(undefined);
      } else setNotice(err);
      return err.code !== NETWORK_ERROR;
    }
  }, [setSessionId]);

  // First load: a token (obtained inside request), credits, the session and the list.
  useEffect(() => {
    void loadCredits();
    void loadSessions();
    void refresh();
    const onHash = () => {
      const id = sessionFromHash();
      if (id && id !== sessionRef.current) {
        setSessionId(id);
        setMessages([]);
        void refresh();
      }
    };
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, [loadCredits, loadSessions, refresh, setSessionId]);

  // While a job runs, follow it (progress bars, renders appearing, credits settling).
  const running = state?.jobs.some((j) => j.status === 'queued' || j.status === 'running' || j.status === 'rendering');
  // biome-ignore lint/correctness/useExhaustiveDependencies: each new state re-arms the timer, so polling goes on while a job runs
  useEffect(() => {
    if (!running || busy) return;
    const timer = setTimeout(() => {
      void refresh().then(() => loadCredits());
    }, POLL_MS);
    return () => clearTimeout(timer);
  }, [running, busy, state, refresh, loadCredits]);
  // While the agent replies, its jobs start and move: the export's progress and the draft show as they happen.
  useEffect(() => {
    if (!busy) return;
    const timer = setInterval(() => void refresh(), POLL_MS);
    return () => clearInterval(timer);
  }, [busy, refresh]);

  // "Still working…": the reply stream has been quiet for a while.
  useEffect(() => {
    if (!busy) {
      setQuietFor(0);
      return;
    }
    const tick = setInterval(() => setQuietFor(Date.now() - lastEvent.current), 500);
    return () => clearInterval(tick);
  }, [busy]);

  /** The current session, else a new one; an upload and a message at the same moment share one. */
  const creating = useRef<Promise<string>>(undefined);
  const ensureSession = useCallback(
    (name: string): Promise<string> => {
      if (sessionRef.current) return Promise.resolve(sessionRef.current);
      creating.current ??= request<{ session_id: string }>('POST', `/api/tasks/me/with-session/${AGENT}`, { task_name: name.slice(0, 200) })
        .then((s) => {
          setSessionId(s.session_id);
          void loadSessions();
          return s.session_id;
        })
        .finally(() => {
          creating.current = undefined;
        });
      return creating.current;
    },
    [setSessionId, loadSessions],
  );

  const send = useCallback(
    async (text: string) => {
      if (busy) return;
      const mine = userMessage(crypto.randomUUID(), text);
      const reply = assistantMessage(crypto.randomUUID());
      const patch = (f: (m: ChatMessage) => ChatMessage) => setMessages((all) => all.map((m) => (m.id === reply.id ? f(m) : m)));
      setMessages((all) => [...all, mine, reply]);
      setBusy(true);
      lastEvent.current = Date.now();
      try {
        const sid = await ensureSession(text.slice(0, 80));
        await streamAgent(sid, text, {
          onEvent: (e) => {
            lastEvent.current = Date.now();
            setQuietFor(0);
            patch((m) => reduceEvent(m, e, lang));
            // A finished tool changed the session: show it now, not at the end of the reply.
            if (e.content?.parts?.some((p) => 'functionResponse' in p)) void refresh();
          },
        });
      } catch (e) {
        const err = asError(e);
        if (err.code === STREAM_DROPPED || err.code === NETWORK_ERROR) {
          // Reconnect once: the session's state shows the work (a running job keeps being followed).
          const reached = await refresh();
          patch((m) => dropped(m, reached ? { code: STREAM_DROPPED, message: err.message } : { code: NETWORK_ERROR, message: err.message }));
        } else {
          if (err.code === 1002) setSessionId(undefined);
          patch((m) => dropped(m, err));
        }
      } finally {
        setBusy(false);
        void refresh();
        void loadCredits();
        void loadSessions();
      }
    },
    [busy, ensureSession, lang, refresh, loadCredits, loadSessions, setSessionId],
  );

  /** Stable, so the transcript panel's effects do not rerun on every state poll. */
  const onChanged = useCallback(() => {
    void refresh().then(() => loadCredits());
  }, [refresh, loadCredits]);

  const openSession = (id: string) => {
    if (id === sessionRef.current) return;
    setSessionId(id);
    setState(undefined);
    setMessages([]);
    void refresh();
  };

  return (
    <LangContext.Provider value={langValue}>
      <a className="skip" href="#chat">
        {t('skipToChat')}
      </a>
      <header className="top">
        <h1>
          {t('appTitle')} <span className="tagline">{t('tagline')}</span>
        </h1>
        <div className="top-right">
          <p className="credits" data-testid="credits" aria-live="polite" data-available={credits?.available} data-frozen={credits?.frozen}>
            <span className="visually-hidden">{t('credits')}: </span>
            {credits ? t('creditsValue', { available: credits.available, frozen: credits.frozen }) : t('creditsLoading')}
          </p>
          <label className="lang">
            <span className="visually-hidden">{t('language')}</span>
            <select
              data-testid="lang-switch"
              value={lang}
              onChange={(e) => {
                const next = e.currentTarget.value as Lang;
                setLang(next);
                store.set(LANG_KEY, next);
              }}
            >
              {LANGS.map((l) => (
                <option key={l} value={l}>
                  {l === 'en' ? 'English' : '中文'}
                </option>
              ))}
            </select>
          </label>
        </div>
      </header>
      {notice && (
        <div className="notice">
          <ErrorText error={notice} />
          <button type="button" className="link-button" onClick={() => setNotice(undefined)}>
            {t('dismiss')}
          </button>
        </div>
      )}
      <main className="layout">
        <div className="col work">
          <DropZone
            ensureSession={ensureSession}
            onUploaded={() => {
              void refresh();
              void loadSessions();
            }}
          />
          <Chat messages={messages} busy={busy} stillWorking={busy && quietFor >= STILL_WORKING_MS} onSend={send} />
        </div>
        <div className="col side">
          {sessionId && state ? (
            <>
              {state.media.length > 0 && (
                <p className="media-line muted small">
                  {t('media')}: {state.media.map((m) => m.name).join(', ')}
                </p>
              )}
              <SessionView sessionId={sessionId} state={state} onChanged={onChanged} />
            </>
          ) : null}
          <Sessions
            sessions={sessions}
            current={sessionId}
            onOpen={openSession}
            onNew={() => {
              setSessionId(undefined);
              setState(undefined);
              setMessages([]);
            }}
          />
        </div>
      </main>
    </LangContext.Provider>
  );
}
