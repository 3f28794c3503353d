/**
 * What each job type does. A transcription turns a stored media file into a Transcript (and
 * optionally an export file); a render turns a draft into an MP4 in the store. Handlers only
 * see the repositories they need, so the same handlers run in-process or in a separate worker.
 */
import { basename, extname } from 'node:path';
import { Readable } from 'node:stream';
import { AsrWorker, transcribeFile, type AsrOptions } from '../asr/index.ts';
import { renderDraft, type Draft } from '../render/index.ts';
import { ErrorCode, VidscribeError } from '../shared/errors.ts';
import type { Sessions } from '../sessions/sessions.ts';
import type { BlobStore } from '../storage/blob-store.ts';
import { EXPORT_CONTENT_TYPES, exportTranscript, transcriptText, type ExportFormat } from '../transcript/index.ts';
import type { JobHandler } from './runner.ts';
import type { Job } from './queue.ts';

export interface TranscribeJobPayload {
  /** The session's media item, when the job belongs to a session. */
  mediaId: string | null;
  storeKey: string;
  /** The file name the user gave it. */
  name: string;
  durationSec: number;
  /** Model name (bundled tiny.en / base, or a folder); default: the server's. */
  model?: string;
  options: Pick<AsrOptions, 'language' | 'task' | 'initialPrompt' | 'temperature'>;
  /** Also write this export into the session's files. */
  export?: { format: ExportFormat; timestamps: boolean };
}

export interface TranscribeJobResult {
  transcriptId: string;
  language: string;
  durationSec: number;
  words: number;
  fileId?: string;
  fileName?: string;
}

export interface RenderJobPayload {
  draft: Draft;
  /** Output file name, e.g. interview.mp4. */
  name: string;
}

export interface RenderJobResult {
  fileId: string;
  fileName: string;
  durationSec: number;
  sizeBytes: number;
}

export interface HandlerDeps {
  sessions: Sessions;
  blobs: BlobStore;
}

/** One loaded model per ASR slot; a request for another model replaces that slot's worker. */
export class AsrPool {
  private readonly workers = new Map<number, AsrWorker>();
  constructor(private readonly defaults: { model: string; threads?: number }) {}

  async get(slot: number, model = this.defaults.model): Promise<AsrWorker> {
    const current = this.workers.get(slot);
    if (current && current.model.label === model) return current;
    if (current) await current.close();
    const w = new AsrWorker({ model, threads: this.defaults.threads });
    this.workers.set(slot, w);
    return w;
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.workers.values()].map((w) => w.close()));
    this.workers.clear();
  }
}

export function transcribeHandler(deps: HandlerDeps, asr: AsrPool): JobHandler {
  return async (job: Job, ctx) => {
    const p = job.payload as TranscribeJobPayload;
    const path = await deps.blobs.localPath(p.storeKey);
    const worker = await asr.get(ctx.slot, p.model);
    ctx.progress(0.02, `Transcribing ${p.name}…`);
    const transcript = await transcribeFile(worker, path, {
      ...p.options,
      signal: ctx.signal,
      onProgress: (pr) => {
        if (pr.stage !== 'transcribe' || pr.totalSec <= 0) return;
        ctx.progress(0.05 + 0.9 * Math.min(1, pr.doneSec / pr.totalSec), `Transcribing ${p.name}: ${Math.round(pr.doneSec)} s of ${Math.round(pr.totalSec)} s`);
      },
    });
    transcript.source = p.name;
    const text = transcriptText(transcript);
    const rec = await deps.sessions.addTranscript({ accountId: job.accountId, sessionId: job.sessionId, mediaId: p.mediaId, jobId: job.id, transcript, text });
    const result: TranscribeJobResult = { transcriptId: rec.id, language: transcript.language, durationSec: transcript.duration, words: text ? text.split(' ').length : 0 };
    if (p.export) {
      const body = await exportTranscript(transcript, p.export.format, { timestamps: p.export.timestamps });
      const blob = await deps.blobs.put(Readable.from([body]), { ext: p.export.format, maxBytes: Number.MAX_SAFE_INTEGER });
      const fileName = `${basename(p.name, extname(p.name))}.${p.export.format}`;
      const f = await deps.sessions.addFile({
        accountId: job.accountId, sessionId: job.sessionId, jobId: job.id, name: fileName, contentType: EXPORT_CONTENT_TYPES[p.export.format], storeKey: blob.key, sizeBytes: blob.sizeBytes,
      });
      result.fileId = f.id;
      result.fileName = fileName;
    }
    return result;
  };
}

export function renderHandler(deps: HandlerDeps): JobHandler {
  return async (job: Job, ctx) => {
    const p = job.payload as RenderJobPayload;
    const out = deps.blobs.scratchPath('mp4');
    ctx.progress(0.01, `Rendering ${p.name}…`);
    const r = await renderDraft(p.draft, {
      out,
      signal: ctx.signal,
      // A segment's src is a media id of the job owner's; nothing else is reachable from a draft.
      resolveSource: async (src) => {
        const key = await deps.sessions.storeKeyOf(job.accountId, src);
        if (!key) throw new VidscribeError(ErrorCode.InvalidDraft, `Invalid draft: source "${src}" is not one of your uploaded media`);
        return deps.blobs.localPath(key);
      },
      onProgress: (pr) => ctx.progress(Math.min(0.99, pr.percent / 100), `Rendering ${p.name}: ${Math.round(pr.percent)} %`),
    });
    const blob = await deps.blobs.putFile(r.out, { ext: 'mp4' });
    const f = await deps.sessions.addFile({
      accountId: job.accountId, sessionId: job.sessionId, jobId: job.id, name: p.name, contentType: 'video/mp4', storeKey: blob.key, sizeBytes: blob.sizeBytes,
    });
    const result: RenderJobResult = { fileId: f.id, fileName: p.name, durationSec: r.durationSec, sizeBytes: blob.sizeBytes };
    return result;
  };
}
