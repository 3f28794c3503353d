/** The session's draft on a time ruler: one row per track (video, audio, text), its segments placed in time. */
import { useEffect, useRef, useState } from 'react';
import type { Draft } from '../../render/draft.ts';
import { draftDurationMs, drawTracks, formatTime, rulerTicks } from '../timeline-math.ts';
import { useLang } from '../ui.tsx';

export function Timeline({ draft, mediaNames }: { draft: Draft | null; mediaNames: ReadonlyMap<string, string> }) {
  const { t } = useLang();
  const ruler = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(600);

  useEffect(() => {
    const el = ruler.current;
    if (!el || typeof ResizeObserver === 'undefined') return;
    const ro = new ResizeObserver(([entry]) => entry && setWidth(Math.max(1, entry.contentRect.width)));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  if (!draft) return <p className="muted">{t('noDraft')}</p>;
  const duration = draftDurationMs(draft);
  const ticks = rulerTicks(duration, width);
  const kindName = { video: t('trackVideo'), audio: t('trackAudio'), text: t('trackText') };

  return (
    <div className="timeline" data-testid="timeline" data-duration-ms={duration}>
      <p className="muted small canvas">
        {draft.w}×{draft.h} · {formatTime(duration)}
      </p>
      <div className="timeline-row">
        <span className="track-name" aria-hidden="true" />
        <div className="ruler" ref={ruler} aria-hidden="true">
          {ticks.map((k) => (
            <span key={k.ms} className="tick" style={{ left: `${k.left}%` }}>
              {k.label}
            </span>
          ))}
        </div>
      </div>
      {drawTracks(draft, mediaNames).map((track) => (
        <div key={track.id} className="timeline-row" data-testid="timeline-track" data-kind={track.kind}>
          <span className="track-name">{kindName[track.kind]}</span>
          <ul className={`track ${track.kind}`} aria-label={kindName[track.kind]}>
            {track.segments.map((s) => (
              <li
                key={s.id}
                className="segment"
                data-testid="timeline-segment"
                style={{ left: `${s.left}%`, width: `${Math.max(s.width, 0.5)}%` }}
                title={`${s.label} (${formatTime(s.startMs)}–${formatTime(s.startMs + s.durationMs)})`}
              >
                <span>{s.label}</span>
              </li>
            ))}
          </ul>
        </div>
      ))}
    </div>
  );
}
