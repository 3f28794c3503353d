/**
 * The chat with the agent: the log (role=log, announced politely), replies as they stream, tool
 * calls as chips, running jobs as progress bars, "Still working…" on a quiet stream, and the quick
 * actions, one click each.
 */
import { type FormEvent, type KeyboardEvent, useEffect, useRef, useState } from 'react';
import { type ChatMessage, QUICK_ACTIONS } from '../chat-state.ts';
import { ErrorText, ProgressBar, useLang } from '../ui.tsx';

/** Text with its http(s) links made clickable (signed download links, the registration page). */
function Linked({ text }: { text: string }) {
  const parts = text.split(/(https?:\/\/[^\s<>"')]+)/g);
  return (
    <>
      {parts.map((p, i) =>
        i % 2 === 1 ? (
          // biome-ignore lint/suspicious/noArrayIndexKey: the pieces of one immutable string
          <a key={i} href={p.replace(/[.,;:]+$/, '')} target="_blank" rel="noopener noreferrer">
            {p}
          </a>
        ) : (
          p
        ),
      )}
    </>
  );
}

function Message({ m }: { m: ChatMessage }) {
  const { t } = useLang();
  const statusWord = { running: t('toolRunning'), ok: t('toolOk'), error: t('toolFailed') };
  return (
    <li className={`chat-message ${m.role}`} data-testid="chat-message" data-role={m.role} aria-busy={!m.done}>
      <span className="visually-hidden">{m.role === 'user' ? t('you') : t('assistant')}: </span>
      {m.tools.length > 0 && (
        <ul className="chips" aria-label="tools">
          {m.tools.map((c) => (
            <li key={c.id} className={`chip ${c.status}`} data-testid="tool-chip" data-tool={c.name} data-status={c.status} title={c.message}>
              <span aria-hidden="true">{c.status === 'running' ? '⏳' : c.status === 'ok' ? '✓' : '✕'}</span> {c.label}
              <span className="visually-hidden"> ({statusWord[c.status]})</span>
            </li>
          ))}
        </ul>
      )}
      {m.notes.map((n, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: notes only grow
        <p key={i} className="note">
          {n}
        </p>
      ))}
      {m.jobs.map((j) => (
        <ProgressBar key={j.what} value={j.percent} label={t('jobProgress', { what: j.what, percent: j.percent })} testId="job-progress" />
      ))}
      {m.text && (
        <p className="text">
          <Linked text={m.text} />
        </p>
      )}
      {m.error ? (
        <ErrorText error={m.error} />
      ) : m.registerUrl ? (
        <p>
          <a data-testid="register-link" href={m.registerUrl}>
            {t('register')}
          </a>
        </p>
      ) : null}
    </li>
  );
}

export function Chat({
  messages,
  busy,
  stillWorking,
  onSend,
}: {
  messages: ChatMessage[];
  busy: boolean;
  stillWorking: boolean;
  onSend: (text: string) => void;
}) {
  const { lang, t } = useLang();
  const [draft, setDraft] = useState('');
  const log = useRef<HTMLOListElement>(null);

  // Follow the conversation as it grows.
  const last = messages[messages.length - 1];
  // biome-ignore lint/correctness/useExhaustiveDependencies: these say the log grew (a message, streamed text, a bar, a chip)
  useEffect(() => {
    const el = log.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [messages.length, last?.text, last?.jobs, last?.tools.length]);

  const submit = (ev?: FormEvent) => {
    ev?.preventDefault();
    const text = draft.trim();
    if (!text || busy) return;
    setDraft('');
    onSend(text);
  };
  const onKey = (ev: KeyboardEvent<HTMLTextAreaElement>) => {
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.nativeEvent.isComposing) {
      ev.preventDefault();
      submit();
    }
  };

  return (
    <section className="panel chat" aria-labelledby="chat-title" id="chat">
      <h2 id="chat-title">{t('chatTitle')}</h2>
      <fieldset className="quick">
        <legend className="visually-hidden">{t('quickActions')}</legend>
        {QUICK_ACTIONS.map((a) => (
          <button key={a.id} type="button" data-testid={`quick-${a.id}`} disabled={busy} onClick={() => onSend(a[lang])}>
            {t(a.label)}
          </button>
        ))}
      </fieldset>
      <ol className="chat-log" data-testid="chat-log" role="log" aria-live="polite" aria-relevant="additions text" ref={log}>
        {messages.length === 0 && <li className="muted empty">{t('chatEmpty')}</li>}
        {messages.map((m) => (
          <Message key={m.id} m={m} />
        ))}
      </ol>
      {stillWorking && (
        <p className="still-working" data-testid="still-working" role="status">
          {t('stillWorking')}
        </p>
      )}
      <form className="chat-form" onSubmit={submit}>
        <label htmlFor="chat-input" className="visually-hidden">
          {t('chatLabel')}
        </label>
        <textarea
          id="chat-input"
          data-testid="chat-input"
          rows={2}
          maxLength={4000}
          placeholder={t('chatPlaceholder')}
          value={draft}
          onChange={(e) => setDraft(e.currentTarget.value)}
          onKeyDown={onKey}
        />
        <button type="submit" data-testid="chat-send" disabled={busy || !draft.trim()}>
          {t('send')}
        </button>
      </form>
    </section>
  );
}
