/**
 * Bring media: drag and drop, the file picker (several files at once) or a pasted link. Each file
 * uploads with its own progress (bytes and %) and cancel; it is "uploaded" only once the server
 * answered with the stored media, and the server's coded errors show as sentences.
 */
import { type DragEvent, type FormEvent, useRef, useState } from 'react';
import type { MediaView } from '../../api/views.ts';
import { AGENT, ApiError, request, uploadFile } from '../api.ts';
import { type ApiErrorLike, NETWORK_ERROR } from '../i18n.ts';
import { ErrorText, ProgressBar, formatBytes, useLang } from '../ui.tsx';

interface UploadItem {
  id: string;
  name: string;
  loaded: number;
  total: number;
  status: 'waiting' | 'uploading' | 'processing' | 'done' | 'cancelled' | 'error';
  error?: ApiErrorLike;
  abort: AbortController;
}

export function DropZone({ ensureSession, onUploaded }: { ensureSession: (name: string) => Promise<string>; onUploaded: (media: MediaView[]) => void }) {
  const { t } = useLang();
  const [items, setItems] = useState<UploadItem[]>([]);
  const [over, setOver] = useState(false);
  const [url, setUrl] = useState('');
  const input = useRef<HTMLInputElement>(null);
  /** Uploads run one after another, so the session's draft takes the files in the order given. */
  const queue = useRef<Promise<void>>(Promise.resolve());

  const update = (id: string, patch: Partial<UploadItem>) => setItems((all) => all.map((i) => (i.id === id ? { ...i, ...patch } : i)));

  const failure = (e: unknown): ApiErrorLike =>
    e instanceof ApiError ? { code: e.code, message: e.message, data: e.data } : { code: NETWORK_ERROR, message: String((e as Error)?.message ?? e) };

  const addFiles = (files: File[]) => {
    if (!files.length) return;
    const added = files.map<UploadItem>((f) => ({
      id: crypto.randomUUID(),
      name: f.name,
      loaded: 0,
      total: f.size,
      status: 'waiting',
      abort: new AbortController(),
    }));
    setItems((all) => [...all, ...added]);
    files.forEach((file, n) => {
      const item = added[n]!;
      queue.current = queue.current.then(async () => {
        if (item.abort.signal.aborted) return;
        update(item.id, { status: 'uploading' });
        try {
          const sid = await ensureSession(file.name);
          const media = await uploadFile(
            sid,
            file,
            (p) => update(item.id, { loaded: p.loaded, total: p.total, status: p.loaded >= p.total ? 'processing' : 'uploading' }),
            item.abort.signal,
          );
          update(item.id, { status: 'done', loaded: file.size });
          onUploaded(media);
        } catch (e) {
          if ((e as Error)?.name === 'AbortError') update(item.id, { status: 'cancelled' });
          else update(item.id, { status: 'error', error: failure(e) });
        }
      });
    });
  };

  const addUrl = (ev: FormEvent) => {
    ev.preventDefault();
    const link = url.trim();
    if (!link) return;
    setUrl('');
    const item: UploadItem = { id: crypto.randomUUID(), name: link, loaded: 0, total: 0, status: 'processing', abort: new AbortController() };
    setItems((all) => [...all, item]);
    queue.current = queue.current.then(async () => {
      try {
        const sid = await ensureSession(link.split('/').pop() || link);
        const data = await request<{ media: MediaView[] }>('POST', `/api/upload-video/${AGENT}/me/${encodeURIComponent(sid)}`, { urls: [link] });
        update(item.id, { status: 'done' });
        onUploaded(data.media);
      } catch (e) {
        update(item.id, { status: 'error', error: failure(e) });
      }
    });
  };

  const onDrop = (ev: DragEvent) => {
    ev.preventDefault();
    setOver(false);
    addFiles([...ev.dataTransfer.files]);
  };

  return (
    <div className="panel drop-panel">
      <section
        aria-labelledby="drop-title"
        className={over ? 'drop-zone over' : 'drop-zone'}
        data-testid="drop-zone"
        onDragOver={(e) => {
          e.preventDefault();
          setOver(true);
        }}
        onDragLeave={() => setOver(false)}
        onDrop={onDrop}
      >
        <h2 id="drop-title">{t('dropTitle')}</h2>
        <p className="muted">{t('dropHint')}</p>
        <button type="button" onClick={() => input.current?.click()}>
          {t('chooseFiles')}
        </button>
        <input
          ref={input}
          className="visually-hidden"
          type="file"
          multiple
          data-testid="file-input"
          aria-label={t('chooseFiles')}
          accept="video/*,audio/*,image/*,.mkv,.m4a,.flac"
          onChange={(e) => {
            addFiles([...(e.currentTarget.files ?? [])]);
            e.currentTarget.value = '';
          }}
        />
        <form className="url-form" onSubmit={addUrl}>
          <label htmlFor="url-input" className="visually-hidden">
            {t('urlLabel')}
          </label>
          <input
            id="url-input"
            type="url"
            inputMode="url"
            data-testid="url-input"
            placeholder={t('urlPlaceholder')}
            value={url}
            onChange={(e) => setUrl(e.currentTarget.value)}
            maxLength={2000}
          />
          <button type="submit" data-testid="url-submit">
            {t('urlSubmit')}
          </button>
        </form>
      </section>
      {items.length > 0 && (
        <ul className="uploads">
          {items.map((i) => {
            const percent = i.total > 0 ? Math.floor((i.loaded / i.total) * 100) : 0;
            const word =
              i.status === 'done'
                ? t('uploadDone')
                : i.status === 'cancelled'
                  ? t('uploadCancelled')
                  : i.status === 'processing'
                    ? t('uploadProcessing')
                    : i.status === 'error'
                      ? ''
                      : t('uploading');
            const bytes = i.total > 0 ? `${formatBytes(i.loaded)} / ${formatBytes(i.total)} · ${percent} %` : '';
            const status = [word, bytes].filter(Boolean).join(' · ');
            return (
              <li key={i.id} className={`upload-item ${i.status}`} data-testid="upload-item" data-status={i.status}>
                <div className="upload-head">
                  <span className="upload-name">{i.name}</span>
                  {(i.status === 'waiting' || i.status === 'uploading') && (
                    <button
                      type="button"
                      className="link-button"
                      data-testid="upload-cancel"
                      onClick={() => {
                        i.abort.abort();
                        if (i.status === 'waiting') update(i.id, { status: 'cancelled' });
                      }}
                    >
                      {t('cancel')}
                    </button>
                  )}
                </div>
                {(i.status === 'uploading' || i.status === 'waiting') && <ProgressBar value={percent} label={status} />}
                {i.status !== 'uploading' && i.status !== 'waiting' && status && <p className="muted small">{status}</p>}
                {i.error && <ErrorText error={i.error} fileName={i.total > 0 ? i.name : undefined} testId="upload-error" />}
              </li>
            );
          })}
        </ul>
      )}
    </div>
  );
}
