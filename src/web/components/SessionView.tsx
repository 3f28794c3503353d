/**
 * What the session holds: the transcript against its recording (the transcript panel), the
 * Downloads menu, the rendered MP4s with a preview, the draft's timeline and the Export button.
 */
import { useEffect, useRef, useState } from 'react';
import type { SessionStateView } from '../../api/views.ts';
import { AGENT, ApiError, downloadFile, request } from '../api.ts';
import { type ApiErrorLike, NETWORK_ERROR } from '../i18n.ts';
import { ErrorText, ProgressBar, formatBytes, useLang } from '../ui.tsx';
import { Timeline } from './Timeline.tsx';
import { TranscriptSlot } from './TranscriptSlot.tsx';

export const EXPORT_FORMATS = ['txt', 'srt', 'vtt', 'json', 'docx', 'md'] as const;

const asError = (e: unknown): ApiErrorLike =>
  e instanceof ApiError ? { code: e.code, message: e.message, data: e.data } : { code: NETWORK_ERROR, message: String((e as Error)?.message ?? e) };

function Downloads({ sessionId, transcriptId }: { sessionId: string; transcriptId: string }) {
  const { t } = useLang();
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState<string>();
  const [error, setError] = useState<ApiErrorLike>();
  const menu = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (!open) return;
    const close = (e: MouseEvent | KeyboardEvent) => {
      if (e instanceof KeyboardEvent ? e.key === 'Escape' : !menu.current?.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener('mousedown', close);
    document.addEventListener('keydown', close);
    return () => {
      document.removeEventListener('mousedown', close);
      document.removeEventListener('keydown', close);
    };
  }, [open]);

  const get = async (format: string) => {
    setBusy(format);
    setError(undefined);
    try {
      const path = `/api/state/${AGENT}/me/${encodeURIComponent(sessionId)}/transcripts/${encodeURIComponent(transcriptId)}/export?format=${format}`;
      await downloadFile(path, `transcript.${format}`);
      setOpen(false);
    } catch (e) {
      setError(asError(e));
    } finally {
      setBusy(undefined);
    }
  };

  return (
    <div className="downloads" ref={menu}>
      <button type="button" data-testid="download-menu" aria-haspopup="menu" aria-expanded={open} onClick={() => setOpen(!open)}>
        {t('downloads')} ▾
      </button>
      {open && (
        <div className="menu" role="menu">
          {EXPORT_FORMATS.map((f) => (
            <button key={f} type="button" role="menuitem" data-testid={`download-${f}`} disabled={busy !== undefined} onClick={() => get(f)}>
              {busy === f ? t('downloading') : t('downloadAs', { format: f.toUpperCase() })}
            </button>
          ))}
        </div>
      )}
      {error && <ErrorText error={error} />}
    </div>
  );
}

interface RenderStatus {
  render_id: string;
  status: string;
  progress: number;
  url?: string;
  error?: { code: number; message: string };
}

function ExportButton({ sessionId, running, onDone }: { sessionId: string; running?: number; onDone: () => void }) {
  const { t } = useLang();
  const [progress, setProgress] = useState<number>();
  const [error, setError] = useState<ApiErrorLike>();
  const alive = useRef(true);
  useEffect(() => {
    alive.current = true;
    return () => {
      alive.current = false;
    };
  }, []);

  const start = async () => {
    setError(undefined);
    setProgress(0);
    try {
      const { render_id } = await request<{ render_id: string }>('POST', '/api/render/proxy/lambda', { session_id: sessionId });
      for (;;) {
        await new Promise((r) => setTimeout(r, 1000));
        if (!alive.current) return;
        const s = await request<RenderStatus>('GET', `/api/render/proxy/lambda/${encodeURIComponent(render_id)}`);
        setProgress(s.progress);
        if (s.status === 'completed') break;
        if (s.status === 'failed' || s.status === 'cancelled') throw new ApiError(s.error?.code ?? 5101, s.error?.message ?? s.status);
      }
      setProgress(undefined);
      onDone();
    } catch (e) {
      setProgress(undefined);
      setError(asError(e));
      onDone();
    }
  };

  // The export this button started, else one the agent is running.
  const shown = progress ?? running;
  return (
    <div className="export">
      <button type="button" data-testid="export-button" disabled={shown !== undefined} onClick={start}>
        {t('export')}
      </button>
      {shown !== undefined && <ProgressBar value={shown} label={t('exporting', { percent: Math.round(shown) })} testId="export-progress" />}
      {error && <ErrorText error={error} />}
    </div>
  );
}

export function SessionView({ sessionId, state, onChanged }: { sessionId: string; state: SessionStateView; onChanged: () => void }) {
  const { t } = useLang();
  const transcript = state.transcripts[state.transcripts.length - 1];
  const media = transcript ? state.media.find((m) => m.id === transcript.media_id) : undefined;
  const renders = state.jobs.filter((j) => j.type === 'render' && j.status === 'completed' && j.url);
  const runningRender = state.jobs.find((j) => j.type === 'render' && (j.status === 'queued' || j.status === 'rendering' || j.status === 'running'));
  const names = new Map(state.media.map((m) => [m.id, m.name]));
  const renderFiles = new Set(renders.map((r) => r.file_id));
  const otherFiles = state.files.filter((f) => !renderFiles.has(f.id));

  return (
    <>
      <section className="panel transcript-panel" aria-labelledby="transcript-title">
        <div className="panel-head">
          <h2 id="transcript-title">{t('transcriptTitle')}</h2>
          {transcript && <Downloads sessionId={sessionId} transcriptId={transcript.id} />}
        </div>
        {transcript ? (
          <TranscriptSlot
            key={transcript.id}
            sessionId={sessionId}
            transcriptId={transcript.id}
            mediaUrl={media?.url}
            mediaKind={media?.kind === 'audio' ? 'audio' : 'video'}
            onChanged={onChanged}
          />
        ) : (
          <p className="muted">{t('noTranscript')}</p>
        )}
      </section>

      <section className="panel" aria-labelledby="renders-title">
        <h2 id="renders-title">{t('renders')}</h2>
        {renders.length === 0 ? (
          <p className="muted">{t('noRenders')}</p>
        ) : (
          <ul className="renders" data-testid="renders">
            {renders.map((r) => (
              <li key={r.id}>
                {/* biome-ignore lint/a11y/useMediaCaption: a preview of the user's own render; its captions are burned in when asked for */}
                <video data-testid="render-preview" src={r.url} controls preload="metadata" />
                <a href={r.url} download={r.file_name}>
                  {t('download')} {r.file_name}
                </a>
              </li>
            ))}
          </ul>
        )}
        {otherFiles.length > 0 && (
          <ul className="files">
            {otherFiles.map((f) => (
              <li key={f.id}>
                <a href={f.url} download={f.name}>
                  {f.name}
                </a>{' '}
                <span className="muted small">{formatBytes(f.size_bytes)}</span>
              </li>
            ))}
          </ul>
        )}
      </section>

      <section className="panel" aria-labelledby="timeline-title">
        <div className="panel-head">
          <h2 id="timeline-title">{t('timeline')}</h2>
          {state.draft && <ExportButton sessionId={sessionId} running={runningRender?.progress} onDone={onChanged} />}
        </div>
        <Timeline draft={state.draft} mediaNames={names} />
      </section>
    </>
  );
}
