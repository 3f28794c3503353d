/** This browser's sessions, newest first (name, date, files); a click reopens one. */
import type { SessionSummary } from '../../api/views.ts';
import { useLang } from '../ui.tsx';

export function Sessions({
  sessions,
  current,
  onOpen,
  onNew,
}: {
  sessions: SessionSummary[];
  current?: string;
  onOpen: (id: string) => void;
  onNew: () => void;
}) {
  const { lang, t } = useLang();
  const date = new Intl.DateTimeFormat(lang === 'zh' ? 'zh-CN' : 'en', { dateStyle: 'medium', timeStyle: 'short' });
  return (
    <section className="panel sessions" aria-labelledby="sessions-title">
      <div className="panel-head">
        <h2 id="sessions-title">{t('sessions')}</h2>
        <button type="button" className="link-button" onClick={onNew}>
          {t('newSession')}
        </button>
      </div>
      <ul data-testid="sessions-list">
        {sessions.length === 0 && <li className="muted">{t('sessionsEmpty')}</li>}
        {sessions.map((s) => (
          <li key={s.session_id}>
            <button
              type="button"
              className={s.session_id === current ? 'session current' : 'session'}
              data-testid="session-item"
              data-session-id={s.session_id}
              aria-current={s.session_id === current ? 'true' : undefined}
              onClick={() => onOpen(s.session_id)}
            >
              <span className="session-name">{s.name || s.media[0]?.name || s.session_id}</span>
              <span className="muted small">
                {date.format(new Date(s.updated_at || s.created_at))} · {s.media.length ? s.media.map((m) => m.name).join(', ') : t('noFiles')}
              </span>
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}
