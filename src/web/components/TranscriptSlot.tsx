/**
 * Mounts the transcript panel (src/web/transcript/, its own chunk: the first page stays small) with
 * this app's request function and language, behind its own error boundary.
 */
import { Suspense, lazy } from 'react';
import { request } from '../api.ts';
import { useLang } from '../ui.tsx';
import { ErrorBoundary } from './ErrorBoundary.tsx';

const TranscriptPanel = lazy(() => import('../transcript/TranscriptPanel.tsx').then((m) => ({ default: m.TranscriptPanel })));

export function TranscriptSlot(p: { sessionId: string; transcriptId: string; mediaUrl?: string; mediaKind: 'video' | 'audio'; onChanged: () => void }) {
  const { lang, t } = useLang();
  return (
    <ErrorBoundary>
      <Suspense fallback={<p className="muted">{t('transcriptLoading')}</p>}>
        <TranscriptPanel
          sessionId={p.sessionId}
          transcriptId={p.transcriptId}
          request={request}
          mediaUrl={p.mediaUrl ?? null}
          mediaKind={p.mediaKind}
          lang={lang}
          onChanged={p.onChanged}
        />
      </Suspense>
    </ErrorBoundary>
  );
}
