/** Export over HTTP: queue a render of a draft, poll it, cancel it, download results through signed links. */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { enqueueRender } from '../jobs/enqueue.ts';
import { JobType, type Job } from '../jobs/queue.ts';
import { cancelJob, waitForJob } from '../jobs/wait.ts';
import { parseDraft, type Draft } from '../render/index.ts';
import { ErrorCode, VidscribeError } from '../shared/errors.ts';
import { sendBlobRange } from './byte-ranges.ts';
import type { RouteHelpers } from './edge.ts';
import { SIGNED_LINK_QUERY, ok, signedLinkId } from './http.ts';
import { jobView, statusOf } from './job-view.ts';
import { bearer, idString } from './schemas.ts';
import type { Services } from './services.ts';

/** The seed's attribution headers, which an export needs (else 402). */
const ATTRIBUTION_HEADERS = ['X-Skill-Source', 'X-Skill-Version', 'X-Skill-Platform'] as const;

export function registerRenderRoutes(app: FastifyInstance, svc: Services, h: RouteHelpers): void {
  app.post(
    '/api/render/proxy/lambda',
    {
      // A draft: up to 9 999 segments and 250 000 characters of text.
      bodyLimit: 10 * 1024 * 1024,
      onRequest: h.auth,
      schema: {
        summary: "Render the session's draft (or the given one) to MP4; needs the X-Skill-* attribution headers",
        security: bearer,
        body: {
          type: 'object',
          required: ['session_id'],
          properties: { id: { type: 'string', maxLength: 200 }, draft: { type: 'object' }, session_id: idString, format: { type: 'string', maxLength: 16 } },
        },
      },
    },
    async (req) => {
      const missing = ATTRIBUTION_HEADERS.filter((name) => !req.headers[name.toLowerCase()]);
      if (missing.length) {
        throw new VidscribeError(
          ErrorCode.ExportBlocked,
          `Export is locked for unattributed clients: register or upgrade to unlock export (missing ${missing.join(', ')} headers)`,
          {
            data: { register_url: h.registerUrl(req, h.caller(req)) },
          },
        );
      }
      const body = req.body as { id?: string; draft?: unknown; session_id: string; format?: string };
      const session = await svc.sessions.get(h.caller(req).accountId, body.session_id);
      if (body.format && body.format.toLowerCase() !== 'mp4') throw new VidscribeError(ErrorCode.UnsupportedFormat, `format must be mp4, got "${body.format}"`);
      let draft: Draft | null = body.draft !== undefined ? parseDraft(body.draft) : await svc.sessions.draft(session.id);
      // Media uploaded before drafts followed uploads: the draft they would have made.
      if (!draft) draft = await svc.sessions.draftFromSessionMedia(session.id);
      if (!draft)
        throw new VidscribeError(ErrorCode.InvalidDraft, 'This session has no media yet: upload a video, audio file or photos first, or send a draft');
      if (body.id && body.id !== draft.id && body.draft === undefined)
        throw new VidscribeError(ErrorCode.InvalidDraft, `The session's draft is "${draft.id}", not "${body.id}"`);
      const job = await enqueueRender(svc, { accountId: h.caller(req).accountId, sessionId: session.id }, draft, h.noCredits(req, 'render this video'));
      return ok({ render_id: job.id, status: 'queued', price: job.price });
    },
  );

  /** The caller's own render, else 4104 (someone else's render is indistinguishable from none). */
  const ownRender = async (req: FastifyRequest): Promise<Job<'render'>> => {
    const { id } = req.params as { id: string };
    const job = await svc.queue.get(id);
    if (!job || job.accountId !== h.caller(req).accountId || job.type !== JobType.Render) throw new VidscribeError(ErrorCode.NotFound, `No render ${id}`);
    return job;
  };
  const idParams = { type: 'object', properties: { id: idString } };

  app.get(
    '/api/render/proxy/lambda/:id',
    { onRequest: h.auth, schema: { summary: 'Render status; url is a signed, expiring download link', security: bearer, params: idParams } },
    async (req) => {
      const job = await ownRender(req);
      const view = jobView(job, (fileId) => h.downloadUrl(req, fileId));
      return ok({
        render_id: job.id,
        status: view.status,
        progress: view.progress,
        ...(view.url ? { url: view.url } : {}),
        ...(job.error ? { error: job.error } : {}),
      });
    },
  );

  app.delete(
    '/api/render/proxy/lambda/:id',
    { onRequest: h.auth, schema: { summary: 'Cancel a render; its held credits are released', security: bearer, params: idParams } },
    async (req) => {
      const job = await ownRender(req);
      const id = job.id;
      if (job.state !== 'queued' && job.state !== 'running')
        throw new VidscribeError(ErrorCode.BadRequest, `Render ${id} has already ${job.state === 'completed' ? 'completed' : 'ended'}`);
      // A running render is aborted by its worker, in this process or another.
      if (!(await cancelJob(svc.queue, id))) throw new VidscribeError(ErrorCode.BadRequest, `Render ${id} has already ended`);
      const done = await waitForJob(svc.queue, job);
      return ok({ render_id: id, status: statusOf(done) });
    },
  );

  app.get(
    '/api/files/:id',
    {
      schema: {
        summary: 'Download a result through a signed link',
        params: idParams,
        querystring: SIGNED_LINK_QUERY,
      },
    },
    async (req, reply) => {
      const f = await svc.sessions.file(signedLinkId(req, svc.secret, 'file', svc.now()));
      if (!f) throw new VidscribeError(ErrorCode.NotFound, 'This file no longer exists');
      // One byte range when asked (206): a long render resumes or seeks instead of starting over.
      reply.header('content-disposition', `attachment; filename*=UTF-8''${encodeURIComponent(f.name)}`);
      return sendBlobRange(req, reply, svc.blobs, { key: f.storeKey, contentType: f.contentType });
    },
  );
}
