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
import { enqueueTranscription } from '../jobs/enqueue.ts';
import { cancelJob, waitForJob } from '../jobs/wait.ts';
import { extensionOf, identifyUpload } from '../media/index.ts';
import { ErrorCode, VidscribeError } from '../shared/errors.ts';
import { toSrt, toVerboseJson, toVtt, transcriptText, whisperLanguageName } from '../transcript/index.ts';
import { httpStatusOf, settleUnreadBody, toApiError } from './http.ts';
import { bearerToken, clientGone } from './edge.ts';
import type { Services } from './services.ts';
import { cleanFileName } from './uploads.ts';

const RESPONSE_FORMATS = ['json', 'text', 'srt', 'verbose_json', 'vtt'] as const;
type ResponseFormat = (typeof RESPONSE_FORMATS)[number];

interface Fields {
  model?: string;
  language?: string;
  prompt?: string;
  response_format?: string;
  temperature?: string;
  granularities: string[];
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

export async function registerOpenAiRoutes(app: FastifyInstance, svc: Services): Promise<void> {
  const handle = (task: 'transcribe' | 'translate') => async (req: FastifyRequest, reply: FastifyReply) => {
    let scratch: string | undefined;
    // A client that hangs up (even while its file is still uploading) cancels its job.
    const gone = clientGone(reply);
    try {
      const caller = await svc.accounts.authenticate(bearerToken(req.headers.authorization));
      if (!req.isMultipart()) throw new VidscribeError(ErrorCode.BadRequest, 'Send multipart/form-data with a "file" field');
      const fields: Fields = { granularities: [] };
      let fileName: string | undefined;
      for await (const part of req.parts()) {
        if (part.type === 'file') {
          const f = part as MultipartFile;
          if (f.fieldname !== 'file' || scratch) {
            f.file.resume();
            continue;
          }
          fileName = cleanFileName(f.filename || '') || 'audio';
          const r = await svc.blobs.receive(f.file as Readable, { ext: extensionOf(fileName) || 'bin', maxBytes: svc.config.maxUploadBytes, name: fileName });
          scratch = r.path;
        } else {
          const v = String((part as { value: unknown }).value ?? '');
          if (part.fieldname === 'timestamp_granularities[]' || part.fieldname === 'timestamp_granularities') fields.granularities.push(v);
          else (fields as unknown as Record<string, string>)[part.fieldname] = v;
        }
      }
      if (!scratch || !fileName) throw new VidscribeError(ErrorCode.BadRequest, 'The "file" field is required');
      const format = (fields.response_format ?? 'json') as ResponseFormat;
      if (!RESPONSE_FORMATS.includes(format)) throw new VidscribeError(ErrorCode.BadRequest, `response_format must be one of ${RESPONSE_FORMATS.join(', ')}`);
      if (fields.language !== undefined && !whisperLanguageName(fields.language)) {
        throw new VidscribeError(ErrorCode.BadRequest, `language must be an ISO 639-1 code Whisper knows (en, de, zh…), got "${fields.language.slice(0, 20)}"`);
      }
      // Whisper reads only the last 224 tokens of a prompt: a longer one is a mistake or an attack.
      if (fields.prompt !== undefined && fields.prompt.length > MAX_PROMPT_CHARS)
        throw new VidscribeError(ErrorCode.BadRequest, `prompt must be at most ${MAX_PROMPT_CHARS} characters`);
      const temperature = fields.temperature === undefined ? undefined : Number(fields.temperature);
      if (temperature !== undefined && !(temperature >= 0 && temperature <= 1))
        throw new VidscribeError(ErrorCode.BadRequest, 'temperature must be between 0 and 1');

      // Judge the file by its content; it must carry audio.
      const { info } = await identifyUpload(scratch, fileName);
      if (info.audio.length === 0)
        throw new VidscribeError(ErrorCode.NoAudioStream, `${fileName}: the file has no audio stream, so there is no speech to transcribe`);
      const blob = await svc.blobs.putFile(scratch, { ext: extensionOf(fileName) || 'bin' });
      scratch = undefined;
      const job = await enqueueTranscription(
        svc,
        { accountId: caller.accountId, sessionId: null },
        { mediaId: null, storeKey: blob.key, name: fileName, durationSec: info.durationSec },
        {
          model: modelFor(svc, fields.model),
          options: {
            task,
            ...(fields.language ? { language: fields.language } : {}),
            ...(fields.prompt ? { initialPrompt: fields.prompt } : {}),
            ...(temperature !== undefined ? { temperature } : {}),
          },
          noCreditsMessage: 'Not enough credits to transcribe this file',
        },
      );
      let done: Awaited<ReturnType<typeof waitForJob>>;
      try {
        done = await waitForJob(svc.queue, job, { signal: gone.signal });
      } catch (e) {
        // The client hung up: a queued job is cancelled before it runs, a running one is aborted;
        // either way its hold is released and nothing is charged.
        await cancelJob(svc.queue, job.id);
        throw e;
      }
      if (done.state !== 'completed')
        throw new VidscribeError((done.error?.code ?? ErrorCode.AsrFailed) as ErrorCode, done.error?.message ?? 'transcription failed');
      const t = await svc.sessions.transcriptByJob(job.id);
      if (!t) throw new VidscribeError(ErrorCode.AsrFailed, 'the transcript was not stored');
      switch (format) {
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
    }
  };
  const schema = (summary: string) => ({ schema: { summary, security: [{ bearer: [] }], consumes: ['multipart/form-data'] } });
  app.post('/v1/audio/transcriptions', schema('OpenAI-compatible transcription'), handle('transcribe'));
  app.post('/v1/audio/translations', schema('OpenAI-compatible translation into English'), handle('translate'));
}
