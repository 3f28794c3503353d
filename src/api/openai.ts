/**
 * OpenAI-compatible `POST /v1/audio/transcriptions` and `/v1/audio/translations`, so the
 * official SDKs work unchanged against a local vidscribe: same multipart fields, same
 * response formats, errors in OpenAI's `{ error: { message, type, code } }` shape.
 * The file is charged like any transcription (held, then settled or released).
 */
import type { Readable } from 'node:stream';
import type { MultipartFile } from '@fastify/multipart';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { BUNDLED_MODELS } from '../asr/index.ts';
import { transcribePrice } from '../credits/ledger.ts';
import { enqueueTranscription } from '../jobs/enqueue.ts';
import { JobType } from '../jobs/queue.ts';
import { cancelJob, waitForJob } from '../jobs/wait.ts';
import { extensionOf, identifyUpload } from '../media/index.ts';
import { ErrorCode, VidscribeError } from '../shared/errors.ts';
import { checkQuota, countedBytes } from '../sessions/sessions.ts';
import type { TranscriptionDiarized } from 'openai/resources/audio/transcriptions';
import type { DiarizeOptions } from '../asr/index.ts';
import {
  MAX_SPEAKERS,
  cleanSpeakerName,
  hasSpeakers,
  renameSpeakers,
  speakerCountHint,
  toSrt,
  toVerboseJson,
  toVtt,
  transcriptText,
  whisperLanguageName,
  type Transcript,
} from '../transcript/index.ts';
import { httpStatusOf, settleUnreadBody, toApiError } from './http.ts';
import { bearerToken, clientGone } from './edge.ts';
import type { Services } from './services.ts';
import { quietFromNowOn } from './connections.ts';
import { cleanFileName, keptUploadBytes, releaseEndedOneOffUploads, openRoom, releaseOneOffUpload, takeOneOffUploadSlot } from './uploads.ts';

const RESPONSE_FORMATS = ['json', 'text', 'srt', 'verbose_json', 'vtt', 'diarized_json'] as const;
type ResponseFormat = (typeof RESPONSE_FORMATS)[number];

interface Fields {
  model?: string;
  language?: string;
  prompt?: string;
  response_format?: string;
  temperature?: string;
  granularities: string[];
  /** OpenAI's `known_speaker_names[]`: here applied in order of first appearance (no voice samples are matched). */
  knownSpeakerNames: string[];
  /** Our own hints: exactly N speakers, or a range. */
  speakers?: string;
  min_speakers?: string;
  max_speakers?: string;
  known_speaker_references?: string;
}

const SCALAR_FIELDS = new Set(['model', 'language', 'prompt', 'response_format', 'temperature', 'speakers', 'min_speakers', 'max_speakers']);

/** OpenAI's diarizing model: asking for it asks for speakers. */
const DIARIZE_MODEL = 'gpt-4o-transcribe-diarize';
/** Formats that can show speakers; for json and text, diarization would cost time and show nothing. */
const SPEAKER_FORMATS: readonly ResponseFormat[] = ['diarized_json', 'verbose_json', 'srt', 'vtt'];

/** The diarization a request asks for (undefined: none): diarized_json, the diarizing model, speaker names or a count. */
function diarizeFor(fields: Fields, format: ResponseFormat): DiarizeOptions | undefined {
  const hint = speakerCountHint({ speakers: fields.speakers, minSpeakers: fields.min_speakers, maxSpeakers: fields.max_speakers }, (k) =>
    k === 'speakers' ? 'speakers' : k === 'minSpeakers' ? 'min_speakers' : 'max_speakers',
  );
  if (fields.known_speaker_references !== undefined) {
    throw new VidscribeError(
      ErrorCode.BadRequest,
      'known_speaker_references is not supported: voices are not matched to samples here; known_speaker_names[] names the speakers in order of first appearance',
    );
  }
  if (fields.knownSpeakerNames.length > MAX_SPEAKERS)
    throw new VidscribeError(ErrorCode.BadRequest, `known_speaker_names[] holds at most ${MAX_SPEAKERS} names`);
  if (hint.speakers !== undefined && fields.knownSpeakerNames.length > hint.speakers) {
    throw new VidscribeError(ErrorCode.BadRequest, `known_speaker_names[] gives ${fields.knownSpeakerNames.length} names for speakers=${hint.speakers}`);
  }
  if (new Set(fields.knownSpeakerNames.map((n) => n.toLocaleLowerCase())).size < fields.knownSpeakerNames.length) {
    throw new VidscribeError(ErrorCode.BadRequest, 'known_speaker_names[] must not name two speakers alike');
  }
  const asked = format === 'diarized_json' || fields.model === DIARIZE_MODEL || fields.knownSpeakerNames.length > 0 || Object.keys(hint).length > 0;
  return asked && SPEAKER_FORMATS.includes(format) ? hint : undefined;
}

/** OpenAI's labels when no names are known: A, B, … Z, then AA, AB… */
function letterLabel(id: number): string {
  let n = id;
  let out = '';
  do {
    out = String.fromCharCode(65 + (n % 26)) + out;
    n = Math.floor(n / 26) - 1;
  } while (n >= 0);
  return out;
}

/** OpenAI's `diarized_json`: speaker-labelled segments (`transcript.text.segment`), the full text and the duration. */
function toDiarizedJson(t: Transcript, named: boolean): Omit<TranscriptionDiarized, 'task'> & { task: 'transcribe' | 'translate' } {
  const r3 = (n: number): number => Math.round(n * 1000) / 1000;
  const label = (id: number | undefined): string => {
    const sp = id === undefined ? undefined : t.speakers?.find((s) => s.id === id);
    return named && sp ? sp.name : letterLabel(id ?? 0);
  };
  return {
    task: t.task ?? 'transcribe',
    duration: r3(t.duration),
    text: transcriptText(t),
    segments: t.segments
      .filter((s) => s.text.trim())
      .map((s, i) => ({ type: 'transcript.text.segment', id: `seg_${i}`, start: r3(s.start), end: r3(s.end), text: s.text.trim(), speaker: label(s.speaker) })),
    usage: { type: 'duration', seconds: Math.ceil(t.duration) },
  };
}

/** OpenAI model names map to the server's model; a bundled model may be named directly. */
function modelFor(svc: Services, requested: string | undefined): string {
  if (requested && (BUNDLED_MODELS as readonly string[]).includes(requested)) return requested;
  return svc.config.model;
}

async function openAiError(req: FastifyRequest, reply: FastifyReply, e: unknown): Promise<FastifyReply> {
  const err = toApiError(e);
  const status = httpStatusOf(err.code);
  const type = status === 401 ? 'authentication_error' : status === 429 ? 'rate_limit_error' : status >= 500 ? 'server_error' : 'invalid_request_error';
  if (err.code === ErrorCode.Internal) req.log.error({ err: e }, 'transcription endpoint failed');
  await settleUnreadBody(req, reply);
  return reply.code(status).send({ error: { message: err.message, type, code: err.code, param: null } });
}

const MAX_PROMPT_CHARS = 2000;
/** How long a hung-up /v1 request's job is waited for, to remove its file once it ends (a cancelled job stops within seconds). */
const RELEASE_WAIT_MS = 10 * 60_000;
const SWEEP_MS = 60 * 60_000;

export async function registerOpenAiRoutes(app: FastifyInstance, svc: Services): Promise<void> {
  // Jobs whose client hung up are waited for in the background, until they end or the server
  // closes; the files of jobs that ended while no request waited for them are swept on start,
  // then hourly. Closing waits for what is under way, before the services it uses close.
  const closing = new AbortController();
  const underWay = new Set<Promise<unknown>>();
  const track = (p: Promise<unknown>) => {
    underWay.add(p);
    void p.finally(() => underWay.delete(p));
  };
  const sweep = () =>
    track(
      releaseEndedOneOffUploads(svc, {
        signal: closing.signal,
        onError: (err, jobId) => app.log.error({ err, jobId }, "could not remove a /v1 job's file"),
      }).catch((err) => app.log.error({ err }, 'could not sweep the files of ended /v1 jobs')),
    );
  let sweeper: NodeJS.Timeout | undefined;
  app.addHook('onReady', async () => {
    sweep();
    sweeper = setInterval(sweep, SWEEP_MS).unref();
  });
  app.addHook('onClose', async () => {
    closing.abort();
    clearInterval(sweeper);
    await Promise.all(underWay);
  });
  const releaseWhenEnded = (jobId: string) => {
    const signal = AbortSignal.any([closing.signal, AbortSignal.timeout(RELEASE_WAIT_MS)]);
    track(
      waitForJob(svc.queue, { id: jobId, type: JobType.Transcribe }, { signal }).then(
        (ended) => releaseOneOffUpload(svc, ended).catch((err) => app.log.error({ err, jobId }, "could not remove a /v1 job's file")),
        // Not ended in time, or the server closed: the file stays counted, for the next sweep.
        (err) => {
          if (!signal.aborted) app.log.error({ err, jobId }, 'could not wait for a /v1 job to end');
        },
      ),
    );
  };
  const handle = (task: 'transcribe' | 'translate') => async (req: FastifyRequest, reply: FastifyReply) => {
    let scratch: string | undefined;
    let scratchSha256 = '';
    let releaseSlot: (() => void) | undefined;
    // A client that hangs up (even while its file is still uploading) cancels its job.
    const gone = clientGone(reply);
    try {
      const caller = await svc.accounts.authenticate(bearerToken(req.headers.authorization));
      if (!req.isMultipart()) throw new VidscribeError(ErrorCode.BadRequest, 'Send multipart/form-data with a "file" field');
      // Before a byte of the file is read, as for a session's upload: one of the account's places
      // for /v1 files in progress, the least a transcription costs, and room in its storage quota
      // (the file is cut off where the quota ends). Each was checked only once the file, up to
      // 500 MB, was in scratch: six requests at once held 600 MB there.
      releaseSlot = takeOneOffUploadSlot(caller.accountId);
      if ((await svc.ledger.balance(svc.db, caller.accountId)).available < transcribePrice(0, svc.prices))
        throw new VidscribeError(ErrorCode.NoCredits, 'Not enough credits to transcribe this file');
      const room = await openRoom(svc, caller.accountId);
      const fields: Fields = { granularities: [], knownSpeakerNames: [] };
      let fileName: string | undefined;
      for await (const part of req.parts()) {
        if (part.type === 'file') {
          const f = part as MultipartFile;
          if (f.fieldname !== 'file' || scratch) {
            f.file.resume();
            continue;
          }
          fileName = cleanFileName(f.filename || '') || 'audio';
          const limit = room.next();
          const r = await svc.blobs.receive(f.file as Readable, { ext: extensionOf(fileName) || 'bin', maxBytes: limit, name: fileName }).catch((e) => {
            throw room.explain(e, limit);
          });
          scratch = r.path;
          scratchSha256 = r.sha256;
        } else {
          const v = String((part as { value: unknown }).value ?? '');
          if (part.fieldname === 'timestamp_granularities[]' || part.fieldname === 'timestamp_granularities') fields.granularities.push(v);
          else if (part.fieldname === 'known_speaker_names[]' || part.fieldname === 'known_speaker_names') {
            // Bounded as they arrive: a flood of names is refused before the file is looked at.
            if (fields.knownSpeakerNames.length >= MAX_SPEAKERS)
              throw new VidscribeError(ErrorCode.BadRequest, `known_speaker_names[] holds at most ${MAX_SPEAKERS} names`);
            fields.knownSpeakerNames.push(cleanSpeakerName(v));
          } else if (part.fieldname === 'known_speaker_references[]' || part.fieldname === 'known_speaker_references') fields.known_speaker_references = '';
          // Only the scalar fields we read: a field named like one of our arrays must not replace it.
          else if (SCALAR_FIELDS.has(part.fieldname)) (fields as unknown as Record<string, string>)[part.fieldname] = v;
        }
      }
      // Read whole: from here the answer waits for the transcription.
      quietFromNowOn(req);
      if (!scratch || !fileName) throw new VidscribeError(ErrorCode.BadRequest, 'The "file" field is required');
      const format = (fields.response_format ?? 'json') as ResponseFormat;
      if (!RESPONSE_FORMATS.includes(format)) throw new VidscribeError(ErrorCode.BadRequest, `response_format must be one of ${RESPONSE_FORMATS.join(', ')}`);
      if (fields.language !== undefined && !whisperLanguageName(fields.language)) {
        throw new VidscribeError(ErrorCode.BadRequest, `language must be an ISO 639-1 code Whisper knows (en, de, zh…), got "${fields.language.slice(0, 20)}"`);
      }
      // Whisper reads only the last 224 tokens of a prompt: a longer one is a mistake or an attack.
      if (fields.prompt !== undefined && fields.prompt.length > MAX_PROMPT_CHARS)
        throw new VidscribeError(ErrorCode.BadRequest, `prompt must be at most ${MAX_PROMPT_CHARS} characters`);
      // Control characters (a NUL, say) mean nothing to the model; tabs and line breaks stay.
      const prompt = fields.prompt?.replace(/[^\P{Cc}\t\n\r]/gu, '');
      const temperature = fields.temperature === undefined ? undefined : Number(fields.temperature);
      if (temperature !== undefined && !(temperature >= 0 && temperature <= 1))
        throw new VidscribeError(ErrorCode.BadRequest, 'temperature must be between 0 and 1');
      const diarize = diarizeFor(fields, format);

      // Judge the file by its content; it must carry audio.
      const { kind, info } = await identifyUpload(scratch, fileName);
      // A picture is a format this endpoint does not take (4001, as the CLI says), not media without sound.
      if (kind === 'image') throw new VidscribeError(ErrorCode.UnsupportedFormat, `${fileName}: a picture has no speech to transcribe; send audio or video`);
      if (info.audio.length === 0)
        throw new VidscribeError(ErrorCode.NoAudioStream, `${fileName}: the file has no audio stream, so there is no speech to transcribe`);
      // An account that cannot pay is refused before its file is stored.
      const price = transcribePrice(info.durationSec, svc.prices);
      if ((await svc.ledger.balance(svc.db, caller.accountId)).available < price)
        throw new VidscribeError(ErrorCode.NoCredits, 'Not enough credits to transcribe this file');
      // Until its job has ended, the file counts in the account's storage quota as an upload does.
      if (svc.config.quotaBytes !== undefined)
        checkQuota((await keptUploadBytes(svc, caller.accountId)).total, countedBytes(info.sizeBytes), svc.config.quotaBytes);
      // Under a key of its own, so it can be removed once its job has ended: a content-addressed
      // blob may also be a session's upload of the same bytes.
      const blob = await svc.blobs.putUnshared(scratch, { ext: extensionOf(fileName) || 'bin', sha256: scratchSha256 });
      scratch = undefined;
      let job: Awaited<ReturnType<typeof enqueueTranscription>>;
      try {
        job = await enqueueTranscription(
          svc,
          { accountId: caller.accountId, sessionId: null },
          { mediaId: null, storeKey: blob.key, name: fileName, durationSec: info.durationSec, sizeBytes: blob.sizeBytes, ownBlob: true },
          {
            model: modelFor(svc, fields.model),
            options: {
              task,
              ...(fields.language ? { language: fields.language } : {}),
              ...(prompt ? { initialPrompt: prompt } : {}),
              ...(temperature !== undefined ? { temperature } : {}),
              ...(diarize ? { diarize } : {}),
            },
            noCreditsMessage: 'Not enough credits to transcribe this file',
          },
        );
      } catch (e) {
        // Not queued (credits spent meanwhile, the hourly job limit): no job will ever read it.
        await svc.blobs.remove(blob.key).catch((err) => req.log.error({ err, key: blob.key }, 'could not remove the file of a /v1 job not queued'));
        throw e;
      }
      // Stored and queued: the file counts in the quota as the job's, and its place is free.
      releaseSlot();
      let done: Awaited<ReturnType<typeof waitForJob>>;
      try {
        done = await waitForJob(svc.queue, job, { signal: gone.signal });
      } catch (e) {
        // The client hung up: a queued job is cancelled before it runs, a running one is aborted;
        // either way its hold is released and nothing is charged. Its file goes once it has ended.
        await cancelJob(svc.queue, job.id);
        releaseWhenEnded(job.id);
        throw e;
      }
      // A store that fails here does not fail the transcription: the file stays counted, and the hourly sweep tries again.
      await releaseOneOffUpload(svc, done).catch((err) => req.log.error({ err, jobId: job.id }, "could not remove a /v1 job's file"));
      if (done.state !== 'completed')
        throw new VidscribeError((done.error?.code ?? ErrorCode.AsrFailed) as ErrorCode, done.error?.message ?? 'transcription failed');
      const stored = await svc.sessions.transcriptByJob(job.id);
      if (!stored) throw new VidscribeError(ErrorCode.AsrFailed, 'the transcript was not stored');
      // Asked for speakers and got none: an error, not output that silently lacks them.
      if (diarize && stored.speakers === undefined) throw new VidscribeError(ErrorCode.AsrFailed, 'speaker diarization did not run');
      const names = fields.knownSpeakerNames;
      const t = names.length && hasSpeakers(stored) ? renameSpeakers(stored, names) : stored;
      switch (format) {
        case 'diarized_json':
          return reply.send(toDiarizedJson(t, names.length > 0));
        case 'text':
          return reply.type('text/plain; charset=utf-8').send(transcriptText(t) + '\n');
        case 'srt':
          return reply.type('application/x-subrip; charset=utf-8').send(toSrt(t));
        case 'vtt':
          return reply.type('text/vtt; charset=utf-8').send(toVtt(t));
        case 'verbose_json': {
          const v = toVerboseJson(t, { languageName: true }); // OpenAI names the language ("english")
          const words = fields.granularities.includes('word');
          const segments = fields.granularities.length === 0 || fields.granularities.includes('segment');
          const { words: w, segments: s, ...rest } = v;
          return reply.send({ ...rest, ...(segments ? { segments: s } : {}), ...(words ? { words: w } : {}) });
        }
        default:
          return reply.send({ text: transcriptText(t) });
      }
    } catch (e) {
      return openAiError(req, reply, e);
    } finally {
      gone.dispose();
      if (scratch) await svc.blobs.discard(scratch);
      releaseSlot?.();
    }
  };
  const schema = (summary: string) => ({ schema: { summary, security: [{ bearer: [] }], consumes: ['multipart/form-data'] } });
  app.post('/v1/audio/transcriptions', schema('OpenAI-compatible transcription'), handle('transcribe'));
  app.post('/v1/audio/translations', schema('OpenAI-compatible translation into English'), handle('translate'));
}
