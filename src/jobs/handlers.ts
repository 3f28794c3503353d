/**
 * What each job type does. A transcription turns a stored media file into a Transcript (and
 * optionally an export file); a render turns a draft into an MP4 in the store. Handlers only
 * see the repositories they need, so the same handlers run in-process or in a separate worker.
 */
import { basename, extname } from 'node:path';
import { Readable } from 'node:stream';
import { type AsrWorker, disposeAudio, prepareAudio, recogniseWithInfo } from '../asr/index.ts';
import { transcribePrice } from '../credits/ledger.ts';
import { renderDraft } from '../render/index.ts';
import { ErrorCode, VidscribeError } from '../shared/errors.ts';
import type { Sessions } from '../sessions/sessions.ts';
import type { BlobStore } from '../storage/blob-store.ts';
import { EXPORT_CONTENT_TYPES, exportTranscript, transcriptText, type Transcript } from '../transcript/index.ts';
import type { AsrPool } from './asr-pool.ts';
import type { JobContext, JobHandler } from './runner.ts';
import type { Job, JobQueue } from './queue.ts';
import type { RenderJobResult, TranscribeJobPayload, TranscribeJobResult } from './types.ts';

export { AsrPool, asrLayout } from './asr-pool.ts';
export type { RenderJobPayload, RenderJobResult, TranscribeJobPayload, TranscribeJobResult } from './types.ts';

export interface HandlerDeps {
  sessions: Sessions;
  blobs: BlobStore;
  /** To settle a transcription's price on its decoded length. */
  queue: Pick<JobQueue, 'reprice'>;
  /** Credits an account has free (not held): what a transcription may grow into once decoded. */
  credits: { available(accountId: string): Promise<number> };
}

/** How far the decoded length may stray from the estimate the price was held on before the price follows it. */
const DURATION_MARGIN = { sec: 2, fraction: 0.02 };

const minutes = (sec: number) => `${(sec / 60).toFixed(1)} min`;

/**
 * The price held on the container's claim is replaced by the price of what was decoded when the
 * two differ beyond the margin: a header that lies about its length neither buys a cheap
 * transcription nor, the other way round, costs its owner more than the audio is worth.
 */
/** A transcription's rate in credits a minute; for jobs queued before the rate was recorded, the held price is whole minutes at the rate of the day. */
function perMinuteOf(job: Job<'transcribe'>): number {
  return job.payload.perMinute ?? job.price / transcribePrice(job.payload.durationSec, { transcribePerMinute: 1 });
}

async function settlePriceOnDecoded(deps: HandlerDeps, job: Job<'transcribe'>, p: TranscribeJobPayload, decodedSec: number): Promise<void> {
  const estimate = p.durationSec;
  if (Math.abs(decodedSec - estimate) <= Math.max(DURATION_MARGIN.sec, estimate * DURATION_MARGIN.fraction)) return;
  const perMinute = perMinuteOf(job);
  const price = transcribePrice(decodedSec, { transcribePerMinute: perMinute });
  if (price === job.price) return;
  await deps.queue.reprice(
    job,
    price,
    `Not enough credits: ${p.name} is ${minutes(decodedSec)} long once decoded (its header claims ${minutes(estimate)}), so transcribing it costs ${price} credits`,
  );
}

const PREVIEW_LINES = 3;
const PREVIEW_LINE_CHARS = 200;

/** The first sentences of a transcript, one a line, each cut at 200 characters. */
export function transcriptPreview(t: Transcript): string {
  return t.segments
    .map((s) => s.text.trim())
    .filter(Boolean)
    .slice(0, PREVIEW_LINES)
    .map((line) => (line.length > PREVIEW_LINE_CHARS ? `${line.slice(0, PREVIEW_LINE_CHARS - 1)}…` : line))
    .join('\n');
}

export function transcribeHandler(deps: HandlerDeps, asr: AsrPool): JobHandler<'transcribe'> {
  return async (job, ctx) => {
    const { prepared, opts } = await decodeAndPrice(deps, job, ctx);
    try {
      // The speech model is taken once the audio is decoded and paid for: a long decode (or a
      // refusal) does not hold it from other jobs.
      const lease = await asr.acquire(ctx.slot, job.payload.model, ctx.signal);
      try {
        return await transcribeWith(lease.worker, deps, job, prepared, opts);
      } finally {
        lease.release();
      }
    } finally {
      await disposeAudio(prepared);
    }
  };
}

/**
 * Decodes the job's audio and settles its price on the decoded length. At most what the job can
 * pay for is decoded (its hold and the account's free credits): a file whose header claims a few
 * seconds, or nothing, but holds 30 hours of audio is refused once the account's credits run out,
 * not after the whole of it (gigabytes of PCM) was decoded for free.
 */
async function decodeAndPrice(deps: HandlerDeps, job: Job<'transcribe'>, ctx: JobContext) {
  const p = job.payload;
  const path = await deps.blobs.localPath(p.storeKey);
  ctx.progress(0.02, `Transcribing ${p.name}…`);
  // The session's language is a hint, not an order: detection still listens (a session made
  // in English may well hold a Spanish video), and "zh-TW" there asks for traditional characters.
  const session = job.sessionId && !p.options.language ? await deps.sessions.get(job.accountId, job.sessionId) : undefined;
  const opts = {
    ...p.options,
    ...(session?.language ? { languageHint: session.language } : {}),
    signal: ctx.signal,
    onProgress: (pr: { stage: string; doneSec: number; totalSec: number }) => {
      if (pr.stage !== 'transcribe' || pr.totalSec <= 0) return;
      ctx.progress(0.05 + 0.9 * Math.min(1, pr.doneSec / pr.totalSec), `Transcribing ${p.name}: ${Math.round(pr.doneSec)} s of ${Math.round(pr.totalSec)} s`);
    },
  };
  // Extracted first: the price is settled on the length decoded, not on what the header claims.
  const perMinute = perMinuteOf(job);
  const payable = perMinute > 0 ? ((job.price + (await deps.credits.available(job.accountId))) / perMinute) * 60 : undefined;
  // Named as its sender named it: the stored file's name is a hash ("(file)" to the client).
  const prepared = await prepareAudio(path, { ...opts, name: p.name, extract: true, ...(payable === undefined ? {} : { maxSeconds: payable }) });
  try {
    if (prepared.audio.capped)
      throw new VidscribeError(
        ErrorCode.NoCredits,
        `Not enough credits: ${p.name} is longer than the ${minutes(prepared.audio.seconds)} your credits pay for (its header claims ${minutes(p.durationSec)})`,
      );
    await settlePriceOnDecoded(deps, job, p, prepared.audio.seconds);
  } catch (e) {
    await disposeAudio(prepared);
    throw e;
  }
  return { prepared, opts };
}

async function transcribeWith(
  worker: AsrWorker,
  deps: HandlerDeps,
  job: Job<'transcribe'>,
  prepared: Awaited<ReturnType<typeof decodeAndPrice>>['prepared'],
  opts: Awaited<ReturnType<typeof decodeAndPrice>>['opts'],
): Promise<TranscribeJobResult> {
  const p = job.payload;
  // A named model on an auto worker picks one of its two (a fixed-model worker ignores this).
  const { transcript, model } = await recogniseWithInfo(worker, prepared, {
    ...opts,
    ...(p.model && p.model !== worker.model.label ? { model: p.model } : {}),
  });
  transcript.source = p.name;
  const text = transcriptText(transcript);
  const rec = await deps.sessions.addTranscript({ accountId: job.accountId, sessionId: job.sessionId, mediaId: p.mediaId, jobId: job.id, transcript, text });
  const result: TranscribeJobResult = {
    transcriptId: rec.id,
    language: transcript.language,
    model,
    preview: transcriptPreview(transcript),
    durationSec: transcript.duration,
    words: text ? text.split(' ').length : 0,
  };
  if (p.export) {
    const body = await exportTranscript(transcript, p.export.format, { timestamps: p.export.timestamps });
    const blob = await deps.blobs.put(Readable.from([body]), { ext: p.export.format, maxBytes: Number.MAX_SAFE_INTEGER });
    const fileName = `${basename(p.name, extname(p.name))}.${p.export.format}`;
    const f = await deps.sessions.addFile({
      accountId: job.accountId,
      sessionId: job.sessionId,
      jobId: job.id,
      name: fileName,
      contentType: EXPORT_CONTENT_TYPES[p.export.format],
      storeKey: blob.key,
      sizeBytes: blob.sizeBytes,
    });
    result.fileId = f.id;
    result.fileName = fileName;
  }
  return result;
}

export function renderHandler(deps: HandlerDeps): JobHandler<'render'> {
  return async (job, ctx) => {
    const p = job.payload;
    const out = deps.blobs.scratchPath('mp4');
    ctx.progress(0.01, `Rendering ${p.name}…`);
    const r = await renderDraft(p.draft, {
      out,
      signal: ctx.signal,
      // A segment's src is a media id of the job owner's; nothing else is reachable from a draft.
      resolveSource: async (src) => {
        const key = await deps.sessions.storeKeyOf(job.accountId, src);
        if (!key) throw new VidscribeError(ErrorCode.InvalidDraft, `"${src}" is not one of your uploaded media`);
        return deps.blobs.localPath(key);
      },
      onProgress: (pr) => ctx.progress(Math.min(0.99, pr.percent / 100), `Rendering ${p.name}: ${Math.round(pr.percent)} %`),
    });
    const blob = await deps.blobs.putFile(r.out, { ext: 'mp4' });
    const f = await deps.sessions.addFile({
      accountId: job.accountId,
      sessionId: job.sessionId,
      jobId: job.id,
      name: p.name,
      contentType: 'video/mp4',
      storeKey: blob.key,
      sizeBytes: blob.sizeBytes,
    });
    const result: RenderJobResult = { fileId: f.id, fileName: p.name, durationSec: r.durationSec, sizeBytes: blob.sizeBytes };
    return result;
  };
}
