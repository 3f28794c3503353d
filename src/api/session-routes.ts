/**
 * Sessions over HTTP: start one, list the caller's, upload media into it, read its state, play its
 * media, read, correct and export its transcripts; and the credit balance.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { MediaItem } from '../sessions/sessions.ts';
import { TRANSCRIPT_EDIT_LIMITS } from '../sessions/transcript-edits.ts';
import { ErrorCode, VidscribeError } from '../shared/errors.ts';
import { EXPORT_CONTENT_TYPES, EXPORT_FORMATS, exportTranscript, isExportFormat } from '../transcript/index.ts';
import { contentTypeOfKey, sendBlobRange } from './byte-ranges.ts';
import { clientGone, type RouteHelpers } from './edge.ts';
import { SIGNED_LINK_QUERY, linkExpiry, ok, signLink, signedLinkId } from './http.ts';
import { jobView } from './job-view.ts';
import { agentName, bearer, envelope, idString } from './schemas.ts';
import type { Services } from './services.ts';
import type { ReplyCache } from './reply-cache.ts';
import { mediaView, receiveMultipart, receiveUrls } from './uploads.ts';
import type { MediaView, SegmentView, SessionSummary, TranscriptPatch, TranscriptView } from './views.ts';
import { quietFromNowOn } from './connections.ts';

const sessionParams = { type: 'object', properties: { agent: { type: 'string', maxLength: 64 }, sid: idString } } as const;
const transcriptParams = { type: 'object', properties: { agent: { type: 'string', maxLength: 64 }, sid: idString, tid: idString } } as const;

export function registerSessionRoutes(app: FastifyInstance, svc: Services, h: RouteHelpers, cache?: ReplyCache): void {
  /**
   * The kept reply under `key` while the database is unchanged (reply-cache.ts), else `build`'s,
   * serialized and kept. `links` names what in it depends on the request and the clock.
   */
  const cachedReply = async (reply: FastifyReply, key: string, accountId: string, links: string, build: () => Promise<unknown>) => {
    if (!cache) return build();
    const version = cache.version();
    let body = cache.get(key, accountId, version, links);
    if (!body) {
      body = Buffer.from(JSON.stringify(await build()));
      cache.set(key, accountId, version, links, body);
    }
    return reply.type('application/json; charset=utf-8').send(body);
  };

  /** A media item with its signed, expiring playback link (same origin, no bearer needed: a <video src> sends none). */
  const playable = (req: FastifyRequest, m: MediaItem): MediaView => ({
    ...mediaView(m),
    url: h.baseUrl(req) + signLink(svc.secret, 'media', m.id, linkExpiry(svc.now(), svc.config.downloadTtlMs)),
  });

  app.get(
    '/api/sessions',
    {
      onRequest: h.auth,
      schema: {
        summary: "The caller's sessions, most recently changed first, with their media's names",
        security: bearer,
        querystring: { type: 'object', properties: { limit: { type: 'integer', minimum: 1, maximum: 100, default: 20 } } },
        response: { 200: envelope() },
      },
    },
    async (req) => {
      const { limit } = req.query as { limit: number };
      const list = await svc.sessions.list(h.caller(req).accountId, limit);
      const sessions: SessionSummary[] = list.map((s) => ({
        session_id: s.id,
        name: s.taskName,
        created_at: new Date(s.createdAt).toISOString(),
        updated_at: new Date(s.updatedAt).toISOString(),
        media: s.media,
      }));
      return ok({ sessions });
    },
  );

  app.get(
    '/api/media/:id',
    {
      schema: {
        summary: 'Play a media item through its signed link (from the session state); answers Range requests (206) so players can seek',
        params: { type: 'object', properties: { id: idString } },
        querystring: SIGNED_LINK_QUERY,
      },
    },
    async (req, reply) => {
      const m = await svc.sessions.mediaItem(signedLinkId(req, svc.secret, 'media', svc.now()));
      if (!m) throw new VidscribeError(ErrorCode.NotFound, 'This media item no longer exists');
      reply.header('content-disposition', `inline; filename*=UTF-8''${encodeURIComponent(m.name)}`).header('cache-control', 'private, max-age=3600');
      // Straight from the blob store (on S3 a ranged read): a player's seeks copy nothing to this node's disk.
      return sendBlobRange(req, reply, svc.blobs, { key: m.storeKey, contentType: contentTypeOfKey(m.storeKey) });
    },
  );
  app.post(
    `/api/tasks/me/with-session/:agent`,
    {
      onRequest: h.auth,
      schema: {
        summary: 'Start a session with the agent',
        security: bearer,
        params: { type: 'object', properties: { agent: agentName } },
        body: { type: ['object', 'null'], properties: { task_name: { type: 'string', maxLength: 200 }, language: { type: 'string', maxLength: 16 } } },
      },
    },
    async (req) => {
      const { agent } = req.params as { agent: string };
      const body = (req.body ?? {}) as { task_name?: string; language?: string };
      const s = await svc.sessions.create(h.caller(req).accountId, { agent, taskName: body.task_name, language: body.language });
      return ok({ session_id: s.id, task_name: s.taskName, language: s.language });
    },
  );

  app.post(
    `/api/upload-video/:agent/me/:sid`,
    {
      onRequest: h.auth,
      schema: {
        summary: 'Upload media: multipart files (streamed), or JSON { urls: [...] }',
        security: bearer,
        params: { type: 'object', properties: { agent: { type: 'string', maxLength: 64 }, sid: idString } },
      },
    },
    async (req, reply) => {
      const { sid } = req.params as { sid: string };
      const session = await svc.sessions.get(h.caller(req).accountId, sid);
      if (req.isMultipart()) return ok({ media: (await receiveMultipart(svc, session, req.parts(), () => quietFromNowOn(req))).map(mediaView) });
      // The URLs are read; their downloads may take minutes before the answer.
      quietFromNowOn(req);
      // A client that hangs up stops its downloads: nobody is left to receive them.
      const gone = clientGone(reply);
      try {
        return ok({ media: (await receiveUrls(svc, session, (req.body as { urls?: unknown } | undefined)?.urls, gone.signal)).map(mediaView) });
      } finally {
        gone.dispose();
      }
    },
  );

  app.get(
    '/api/credits/balance/simple',
    {
      onRequest: h.auth,
      schema: {
        summary: 'Credits: available, frozen (held by running jobs), total',
        security: bearer,
        // Exact fields: where no reply is kept (Postgres) it is written by a compiled serializer.
        response: {
          200: envelope({ type: 'object', properties: { available: { type: 'integer' }, frozen: { type: 'integer' }, total: { type: 'integer' } } }),
        },
      },
    },
    async (req, reply) => {
      const { accountId } = h.caller(req);
      return cachedReply(reply, `balance ${accountId}`, accountId, '', async () => ok(await svc.ledger.balance(svc.db, accountId)));
    },
  );

  /** The state reply as built from the database: what the cache keeps, serialized. */
  const sessionState = async (req: FastifyRequest, accountId: string, sid: string) => {
    const { session, draft } = await svc.sessions.getWithDraft(accountId, sid);
    const [media, transcripts, jobs, files] = await Promise.all([
      svc.sessions.media(session.id),
      svc.sessions.transcripts(session.id),
      svc.queue.listForSession(session.id),
      svc.sessions.files(session.id),
    ]);
    return ok({
      session_id: session.id,
      draft,
      media: media.map((m) => playable(req, m)),
      transcripts: transcripts.map((t) => ({
        id: t.id,
        media_id: t.mediaId,
        job_id: t.jobId,
        language: t.language,
        text: t.text,
        version: t.version,
        created_at: new Date(t.createdAt).toISOString(),
      })),
      jobs: jobs.map((j) => jobView(j, (fileId) => h.downloadUrl(req, fileId))),
      files: files.map((f) => ({ id: f.id, name: f.name, content_type: f.contentType, size_bytes: f.sizeBytes, url: h.downloadUrl(req, f.id) })),
    });
  };
  app.get(
    `/api/state/:agent/me/:sid/latest`,
    {
      onRequest: h.auth,
      schema: {
        summary: 'The session: current draft, media, transcripts, jobs, files',
        security: bearer,
        params: sessionParams,
      },
    },
    async (req, reply) => {
      const { sid } = req.params as { sid: string };
      const { accountId } = h.caller(req);
      // The links in the reply: this request's base URL and their current expiry step (linkExpiry).
      const links = `${h.baseUrl(req)} ${linkExpiry(svc.now(), svc.config.downloadTtlMs)}`;
      return cachedReply(reply, `state ${sid}`, accountId, links, () => sessionState(req, accountId, sid));
    },
  );

  /** The caller's transcript, whole, or 4104 (also when the session or transcript is someone else's). */
  const ownTranscript = async (req: FastifyRequest) => {
    const { sid, tid } = req.params as { sid: string; tid: string };
    const session = await svc.sessions.get(h.caller(req).accountId, sid);
    const found = await svc.sessions.transcript(session.id, tid);
    if (!found) throw new VidscribeError(ErrorCode.NotFound, `No transcript ${tid} in this session`);
    return { session, ...found };
  };

  app.get(
    `/api/state/:agent/me/:sid/transcripts/:tid`,
    {
      onRequest: h.auth,
      schema: {
        summary:
          "One transcript of the session: timed segments and words (seconds, with the recogniser's confidence), speakers when diarized, and the version an edit must name",
        security: bearer,
        params: transcriptParams,
        response: { 200: envelope() },
      },
    },
    async (req) => {
      const { record, transcript: t } = await ownTranscript(req);
      const segments: SegmentView[] = t.segments.map((g) => ({
        id: g.id,
        start: g.start,
        end: g.end,
        text: g.text.trim(),
        ...(g.speaker !== undefined ? { speaker: g.speaker } : {}),
        words: g.words.map((w) => ({
          word: w.word,
          start: w.start,
          end: w.end,
          probability: w.probability,
          ...(w.speaker !== undefined ? { speaker: w.speaker } : {}),
        })),
      }));
      const view: TranscriptView = {
        id: record.id,
        media_id: record.mediaId,
        language: record.language,
        text: record.text,
        version: record.version,
        duration: t.duration,
        ...(t.speakers ? { speakers: t.speakers } : {}),
        segments,
      };
      return ok(view);
    },
  );

  const L = TRANSCRIPT_EDIT_LIMITS;
  app.patch(
    `/api/state/:agent/me/:sid/transcripts/:tid`,
    {
      // 1 000 word edits of up to 200 characters each, escaped at worst 6 bytes a character.
      bodyLimit: 2 * 1024 * 1024,
      onRequest: h.auth,
      schema: {
        summary:
          'Correct a transcript: retype words (timings kept, segment text rebuilt) and rename speakers. base_version is the version the edit was made on; a stale one is refused with 4009 (reload and edit again)',
        security: bearer,
        params: transcriptParams,
        body: {
          type: 'object',
          required: ['base_version'],
          additionalProperties: false,
          properties: {
            base_version: { type: 'integer', minimum: 1 },
            words: {
              type: 'array',
              maxItems: L.maxWordEdits,
              items: {
                type: 'object',
                required: ['segment', 'index', 'word'],
                additionalProperties: false,
                properties: {
                  segment: { type: 'integer', minimum: 0 },
                  index: { type: 'integer', minimum: 0 },
                  word: { type: 'string', minLength: 1, maxLength: L.maxWordChars },
                },
              },
            },
            speakers: {
              type: 'array',
              maxItems: L.maxSpeakerEdits,
              items: {
                type: 'object',
                required: ['id', 'name'],
                additionalProperties: false,
                properties: { id: { type: 'integer', minimum: 0 }, name: { type: 'string', minLength: 1, maxLength: L.maxSpeakerNameChars } },
              },
            },
          },
        },
        response: { 200: envelope({ type: 'object', properties: { version: { type: 'integer' } } }) },
      },
    },
    async (req) => {
      const { session, record } = await ownTranscript(req);
      const body = req.body as TranscriptPatch;
      const version = await svc.sessions.editTranscript(session.id, record.id, body.base_version, { words: body.words, speakers: body.speakers });
      return ok({ version });
    },
  );

  app.get(
    `/api/state/:agent/me/:sid/transcripts/:tid/export`,
    {
      onRequest: h.auth,
      schema: {
        summary: 'Download a transcript as it is now (with every correction) in one of the six formats',
        security: bearer,
        params: transcriptParams,
        querystring: { type: 'object', required: ['format'], properties: { format: { type: 'string', enum: [...EXPORT_FORMATS] } } },
      },
    },
    async (req, reply) => {
      const { format } = req.query as { format: string };
      if (!isExportFormat(format)) throw new VidscribeError(ErrorCode.UnsupportedFormat, `Unsupported export format: ${format}`);
      const { transcript: t } = await ownTranscript(req);
      const body = await exportTranscript(t, format);
      const stem = (t.source ?? 'transcript').replace(/\.[^.]*$/, '') || 'transcript';
      return reply
        .header('content-type', EXPORT_CONTENT_TYPES[format])
        .header('content-disposition', `attachment; filename*=UTF-8''${encodeURIComponent(`${stem}.${format}`)}`)
        .header('cache-control', 'no-store')
        .send(body);
    },
  );
}
