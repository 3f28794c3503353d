/**
 * Queuing the two kinds of work with their price: a transcription of a session's media item,
 * and a render of a draft. The price is held when queued (JobQueue.enqueue), so a caller
 * without the credits gets 2001 here and nothing is queued.
 */
import { renderPrice, transcribePrice, type Prices } from '../credits/ledger.ts';
import { timelineDuration, type Draft } from '../render/index.ts';
import { ErrorCode, VidscribeError } from '../shared/errors.ts';
import type { MediaItem, Sessions } from '../sessions/sessions.ts';
import type { ExportFormat } from '../transcript/index.ts';
import type { TranscribeJobPayload } from './types.ts';
import { JobType, type Job, type JobQueue } from './queue.ts';

export interface EnqueueDeps {
  queue: JobQueue;
  sessions: Sessions;
  prices: Prices;
}

/** What a transcription reads: a stored file, a session's media item or a one-off upload (mediaId null). */
export type TranscriptionSource = Pick<TranscribeJobPayload, 'mediaId' | 'storeKey' | 'name' | 'durationSec' | 'sizeBytes' | 'ownBlob'>;

/** A session's media item as a transcription source; an image or a silent video is refused (4003). */
export function sourceOfMedia(media: MediaItem): TranscriptionSource {
  if (media.kind === 'image') throw new VidscribeError(ErrorCode.NoAudioStream, `${media.name} is an image: there is no speech to transcribe`);
  if (media.info.audio.length === 0)
    throw new VidscribeError(ErrorCode.NoAudioStream, `${media.name} has no audio stream, so there is no speech to transcribe`);
  return { mediaId: media.id, storeKey: media.storeKey, name: media.name, durationSec: media.durationSec };
}

export function enqueueTranscription(
  deps: Pick<EnqueueDeps, 'queue' | 'prices'>,
  who: { accountId: string; sessionId: string | null },
  source: TranscriptionSource,
  opts: { options?: TranscribeJobPayload['options']; export?: { format: ExportFormat; timestamps: boolean }; model?: string; noCreditsMessage: string },
): Promise<Job<'transcribe'>> {
  const payload: TranscribeJobPayload = {
    ...source,
    perMinute: deps.prices.transcribePerMinute,
    options: opts.options ?? {},
    ...(opts.export ? { export: opts.export } : {}),
    ...(opts.model ? { model: opts.model } : {}),
  };
  return deps.queue.enqueue({
    type: JobType.Transcribe,
    accountId: who.accountId,
    sessionId: who.sessionId,
    payload,
    price: transcribePrice(source.durationSec, deps.prices),
    noCreditsMessage: opts.noCreditsMessage,
  });
}

export async function enqueueRender(
  deps: EnqueueDeps,
  who: { accountId: string; sessionId: string },
  draft: Draft,
  noCreditsMessage: string,
): Promise<Job<'render'>> {
  const ms = timelineDuration(draft);
  if (ms <= 0) throw new VidscribeError(ErrorCode.InvalidDraft, 'Invalid draft: t: the draft has no segments, nothing to render');
  const media = await deps.sessions.media(who.sessionId);
  // A picture has no sound: on an audio track it is refused here, naming the field, before any credit is held.
  for (const [ti, t] of draft.t.entries()) {
    if (t.tt !== 1) continue;
    for (const [si, s] of t.sg.entries()) {
      const image = media.find((m) => m.id === s.src && m.kind === 'image');
      if (!image) continue;
      const field = `t[${ti}].sg[${si}].src`;
      throw new VidscribeError(
        ErrorCode.InvalidDraft,
        `Invalid draft: ${field}: "${image.name}" is an image; put it on a video track (tt 0) as a still or an overlay`,
        {
          data: { field },
        },
      );
    }
  }
  // Every source is one of the account's uploads (the render could reach nothing else, but it
  // found out only once running, after the credits were held): refused here, naming the field.
  const own = new Set(media.map((m) => m.id));
  for (const [ti, t] of draft.t.entries()) {
    if (t.tt === 7) continue;
    for (const [si, s] of t.sg.entries()) {
      const src = (s as { src?: string }).src;
      if (src === undefined || own.has(src)) continue;
      if (await deps.sessions.storeKeyOf(who.accountId, src)) {
        own.add(src);
        continue;
      }
      const field = `t[${ti}].sg[${si}].src`;
      throw new VidscribeError(ErrorCode.InvalidDraft, `Invalid draft: ${field}: "${src.slice(0, 128)}" is not one of your uploaded media`, {
        data: { field },
      });
    }
  }
  const first = media.find((m) => draft.t.some((t) => t.sg.some((s) => s.src === m.id)));
  const name = `${(first?.name ?? draft.id).replace(/\.[^.]+$/, '')}.${draft.w}x${draft.h}.mp4`;
  return deps.queue.enqueue({
    type: JobType.Render,
    accountId: who.accountId,
    sessionId: who.sessionId,
    payload: { draft, name },
    price: renderPrice(ms / 1000, draft, deps.prices),
    noCreditsMessage,
  });
}
