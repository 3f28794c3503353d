/** Sessions over HTTP: start one, upload media into it, read its state; and the credit balance. */
import type { FastifyInstance } from 'fastify';
import { ErrorCode, VidscribeError } from '../shared/errors.ts';
import { clientGone, type RouteHelpers } from './edge.ts';
import { ok } from './http.ts';
import { jobView } from './job-view.ts';
import { bearer, envelope, idString } from './schemas.ts';
import type { Services } from './services.ts';
import { mediaView, receiveMultipart, receiveUrls } from './uploads.ts';

export function registerSessionRoutes(app: FastifyInstance, svc: Services, h: RouteHelpers): void {
  app.post(
    `/api/tasks/me/with-session/:agent`,
    {
      onRequest: h.auth,
      schema: {
        summary: 'Start a session with the agent',
        security: bearer,
        params: { type: 'object', properties: { agent: { type: 'string', maxLength: 64 } } },
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
      if (req.isMultipart()) return ok({ media: (await receiveMultipart(svc, session, req.parts())).map(mediaView) });
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
    { onRequest: h.auth, schema: { summary: 'Credits: available, frozen (held by running jobs), total', security: bearer, response: { 200: envelope() } } },
    async (req) => {
      return ok(await svc.ledger.balance(svc.db, h.caller(req).accountId));
    },
  );

  app.get(
    `/api/state/:agent/me/:sid/latest`,
    {
      onRequest: h.auth,
      schema: {
        summary: 'The session: current draft, media, transcripts, jobs, files',
        security: bearer,
        params: { type: 'object', properties: { agent: { type: 'string', maxLength: 64 }, sid: idString } },
      },
    },
    async (req) => {
      const { sid } = req.params as { sid: string };
      const { session, draft } = await svc.sessions.getWithDraft(h.caller(req).accountId, sid);
      const [media, transcripts, jobs, files] = await Promise.all([
        svc.sessions.media(session.id),
        svc.sessions.transcripts(session.id),
        svc.queue.listForSession(session.id),
        svc.sessions.files(session.id),
      ]);
      return ok({
        session_id: session.id,
        draft,
        media: media.map(mediaView),
        transcripts: transcripts.map((t) => ({
          id: t.id,
          media_id: t.mediaId,
          job_id: t.jobId,
          language: t.language,
          text: t.text,
          created_at: new Date(t.createdAt).toISOString(),
        })),
        jobs: jobs.map((j) => jobView(j, (fileId) => h.downloadUrl(req, fileId))),
        files: files.map((f) => ({ id: f.id, name: f.name, content_type: f.contentType, size_bytes: f.sizeBytes, url: h.downloadUrl(req, f.id) })),
      });
    },
  );

  app.get(
    `/api/state/:agent/me/:sid/transcripts/:tid`,
    {
      onRequest: h.auth,
      schema: {
        summary: 'One transcript of the session with its timed segments (seconds), for reading and searching by time',
        security: bearer,
        params: { type: 'object', properties: { agent: { type: 'string', maxLength: 64 }, sid: idString, tid: idString } },
      },
    },
    async (req) => {
      const { sid, tid } = req.params as { sid: string; tid: string };
      const session = await svc.sessions.get(h.caller(req).accountId, sid);
      const rec = (await svc.sessions.transcripts(session.id)).find((t) => t.id === tid);
      const whole = rec && (await svc.sessions.transcriptByJob(rec.jobId));
      if (!rec || !whole) throw new VidscribeError(ErrorCode.NotFound, `No transcript ${tid} in this session`);
      return ok({
        id: rec.id,
        media_id: rec.mediaId,
        language: rec.language,
        text: rec.text,
        segments: whole.segments.map((g) => ({ start: g.start, end: g.end, text: g.text.trim() })),
      });
    },
  );
}
