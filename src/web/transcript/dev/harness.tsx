/**
 * The transcript panel alone, against an in-memory server (GET, and a PATCH that keeps versions and
 * answers a stale one with 4009; `window.harness` holds its transcript and the PATCHes received),
 * for trying the panel in a browser without the app, the API or a transcription: `npx vite`, then
 * http://127.0.0.1:5173/transcript/dev/?words=10000&speakers=1&media=/@fs/<repo>/samples/jfk_inaugural_1961.mp4
 * (also `kind=audio`, `ui=zh`, `lang=zh`). The dev server only: `vite build` builds index.html alone.
 */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import type { SegmentView, TranscriptView } from '../../../api/views.ts';
import { TranscriptPanel } from '../TranscriptPanel.tsx';

const q = new URLSearchParams(location.search);
const wordCount = Number(q.get('words') ?? 10_000);
const withSpeakers = q.get('speakers') === '1';
const VOCAB =
  'the a we to of and in that is it for on was with as I they be at one have this from or had by word but what some can out other were all there when up use your how said an each she which do their time if will way about many then them write would like so these her long make thing see him two has look more day could go come did number sound no most people my over know water than call first who may down side been now find'.split(
    ' ',
  );

function makeTranscript(n: number): TranscriptView {
  const segments: SegmentView[] = [];
  let t = 0.5;
  let w = 0;
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  while (w < n) {
    const len = Math.min(n - w, 8 + Math.floor(rnd() * 14));
    const words = [];
    for (let i = 0; i < len; i++) {
      const d = 0.2 + rnd() * 0.3;
      let text = VOCAB[Math.floor(rnd() * VOCAB.length)]!;
      if (i === 0) text = text[0]!.toUpperCase() + text.slice(1);
      if (i === len - 1) text += '.';
      words.push({ word: ` ${text}`, start: +t.toFixed(2), end: +(t + d).toFixed(2), probability: rnd() < 0.02 ? 0.2 + rnd() * 0.25 : 0.7 + rnd() * 0.3 });
      t += d + 0.02;
      w++;
    }
    const speaker = withSpeakers ? Math.floor(segments.length / 3) % 2 : undefined;
    segments.push({
      id: segments.length,
      start: words[0]!.start,
      end: words.at(-1)!.end,
      text: words.map((x) => x.word).join(''),
      ...(speaker !== undefined ? { speaker } : {}),
      words: words.map((x) => (speaker !== undefined ? { ...x, speaker } : x)),
    });
    t += rnd() < 0.15 ? 2.5 : 0.3;
  }
  return {
    id: 'tr_dev',
    media_id: null,
    language: q.get('lang') ?? 'en',
    text: '',
    version: 1,
    duration: t,
    ...(withSpeakers
      ? {
          speakers: [
            { id: 0, name: 'Speaker 1' },
            { id: 1, name: 'Speaker 2' },
          ],
        }
      : {}),
    segments,
  };
}

const server = { transcript: makeTranscript(wordCount), patches: [] as unknown[] };
(window as unknown as { harness: typeof server }).harness = server;

async function request<T>(method: string, _path: string, body?: unknown): Promise<T> {
  await new Promise((r) => setTimeout(r, 20));
  if (method === 'GET') {
    performance.mark('transcript-fetched');
    return structuredClone(server.transcript) as T;
  }
  const b = body as { base_version: number; words?: { segment: number; index: number; word: string }[]; speakers?: { id: number; name: string }[] };
  server.patches.push(b);
  if (b.base_version !== server.transcript.version) throw Object.assign(new Error('changed elsewhere, reload'), { code: 4009 });
  for (const e of b.words ?? []) {
    const w = server.transcript.segments.find((s) => s.id === e.segment)!.words[e.index]!;
    w.word = (w.word.startsWith(' ') ? ' ' : '') + e.word;
  }
  for (const s of b.speakers ?? []) server.transcript.speakers!.find((x) => x.id === s.id)!.name = s.name;
  server.transcript.version++;
  return { version: server.transcript.version } as T;
}

performance.mark('harness-start');
createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <TranscriptPanel
      sessionId="s_dev"
      transcriptId="tr_dev"
      request={request}
      mediaUrl={q.get('media')}
      mediaKind={(q.get('kind') as 'audio' | 'video') ?? 'video'}
      lang={(q.get('ui') as 'en' | 'zh') ?? 'en'}
    />
  </StrictMode>,
);
