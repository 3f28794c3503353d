/**
 * The HTTP API: the seed cloud API's paths and shapes kept exactly (so an agent that speaks it
 * only changes its base URL), plus an OpenAI-compatible transcription endpoint. Routes only
 * translate HTTP; the rules live in the domains.
 */
import multipart from '@fastify/multipart';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import type { Caller } from '../accounts/accounts.ts';
import { enqueueRender } from '../jobs/enqueue.ts';
import type { RenderJobResult, TranscribeJobResult } from '../jobs/handlers.ts';
import { JobType, type Job } from '../jobs/queue.ts';
import { waitForJob } from '../jobs/wait.ts';
import { parseDraft, type Draft } from '../render/index.ts';
import { ErrorCode, VidscribeError } from '../shared/errors.ts';
import { registerAgentRoutes } from './agent-route.ts';
import { ok, sendError, signDownload, verifyDownload } from './http.ts';
import { registerOpenAiRoutes } from './openai.ts';
import { REGISTER_PAGE } from './register-page.ts';
import type { Services } from './services.ts';
import { mediaView, receiveMultipart, receiveUrls } from './uploads.ts';

declare module 'fastify' {
  interface FastifyRequest {
    caller?: Caller;
  }
}

export interface AppOptions {
  logger?: boolean | { level: string; stream?: NodeJS.WritableStream };
  /** /run_sse keep-alive and length limits (default 15 s and 15 min); tests shorten them. */
  sse?: { pingMs?: number; capMs?: number };
}

/** The seed's attribution headers, which an export needs (else 402). */
const ATTRIBUTION_HEADERS = ['X-Skill-Source', 'X-Skill-Version', 'X-Skill-Platform'] as const;

const envelope = (data: object = { type: 'object', additionalProperties: true }) => ({
  type: 'object',
  properties: { code: { type: 'integer' }, message: { type: 'string' }, data },
});
const bearer = [{ bearer: [] }];

export async function buildApp(svc: Services, opts: AppOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({ logger: opts.logger ?? false, bodyLimit: 10 * 1024 * 1024 });

  await app.register(swagger, {
    openapi: {
      info: { title: 'vidscribe API', version: '0.1.0', description: 'Self-hosted transcription and rendering, compatible with the seed cloud API and with OpenAI audio transcriptions.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  await app.register(rateLimit, {
    global: false,
    errorResponseBuilder: (_req, ctx) => new VidscribeError(ErrorCode.RateLimited, `Too many requests from this address: at most ${ctx.max} an hour; retry in ${ctx.after}`),
  });
  await app.register(multipart, {
    limits: { fileSize: svc.config.maxUploadBytes + 1, files: 20, fields: 50, parts: 100, fieldSize: 64 * 1024 },
  });

  app.setErrorHandler((e, req, reply) => sendError(req, reply, e));
  app.setNotFoundHandler((req, reply) => reply.code(404).send({ code: ErrorCode.NotFound, message: `No route ${req.method} ${req.url.split('?')[0]}` }));

  const auth = async (req: FastifyRequest) => {
    req.caller = await svc.accounts.authenticate(req.headers.authorization);
  };
  const caller = (req: FastifyRequest): Caller => req.caller!;
  const baseUrl = (req: FastifyRequest) => svc.config.publicUrl ?? `${req.protocol}://${req.host}`;
  const downloadUrl = (req: FastifyRequest, fileId: string) => baseUrl(req) + signDownload(svc.secret, fileId, svc.now() + svc.config.downloadTtlMs);
  const registerUrl = (req: FastifyRequest, c: Caller) => `${baseUrl(req)}/register${c.kind === 'anonymous' ? `?bind=${encodeURIComponent(c.accountId)}` : ''}`;
  const noCredits = (req: FastifyRequest, what: string) => {
    const c = caller(req);
    return c.kind === 'anonymous'
      ? `Not enough credits to ${what}. Register to get more and keep this session: ${registerUrl(req, c)}`
      : `Not enough credits to ${what}. Ask your administrator to add credits (vidscribe credits add ${c.accountId} N).`;
  };

  // ---- auth ----
  app.post('/api/auth/anonymous-token', {
    config: { rateLimit: { max: svc.config.anonymousTokensPerHour, timeWindow: 3600_000 } },
    schema: { summary: 'An anonymous token with 100 credits, one per X-Client-Id every 7 days', headers: { type: 'object', properties: { 'x-client-id': { type: 'string' } } }, response: { 200: envelope() } },
  }, async (req) => {
    const clientId = req.headers['x-client-id'];
    if (typeof clientId !== 'string' || !clientId.trim()) throw new VidscribeError(ErrorCode.BadRequest, 'The X-Client-Id header is required');
    const t = await svc.accounts.anonymousToken(clientId);
    const bal = await svc.ledger.balance(svc.db, t.accountId);
    return ok({ token: t.token, credits: bal.available, expires_at: new Date(t.expiresAt).toISOString(), anonymous_id: t.accountId });
  });

  app.post('/api/auth/register', {
    schema: {
      summary: 'Create an account; bind moves an anonymous account\'s credits and sessions to it',
      body: { type: 'object', required: ['email', 'password'], properties: { email: { type: 'string' }, password: { type: 'string' }, bind: { type: 'string' } } },
    },
  }, async (req) => {
    const body = req.body as { email: string; password: string; bind?: string };
    const r = await svc.accounts.register(body);
    const bal = await svc.ledger.balance(svc.db, r.accountId);
    return ok({ account_id: r.accountId, token: r.token, expires_at: new Date(r.expiresAt).toISOString(), credits: bal.available, moved_credits: r.moved });
  });

  // ---- sessions ----
  app.post(`/api/tasks/me/with-session/:agent`, {
    onRequest: auth,
    schema: {
      summary: 'Start a session with the agent', security: bearer,
      params: { type: 'object', properties: { agent: { type: 'string' } } },
      body: { type: ['object', 'null'], properties: { task_name: { type: 'string', maxLength: 200 }, language: { type: 'string', maxLength: 16 } } },
    },
  }, async (req) => {
    const { agent } = req.params as { agent: string };
    const body = (req.body ?? {}) as { task_name?: string; language?: string };
    const s = await svc.sessions.create(caller(req).accountId, { agent, taskName: body.task_name, language: body.language });
    return ok({ session_id: s.id, task_name: s.taskName, language: s.language });
  });

  app.post(`/api/upload-video/:agent/me/:sid`, {
    onRequest: auth,
    schema: { summary: 'Upload media: multipart files (streamed), or JSON { urls: [...] }', security: bearer, params: { type: 'object', properties: { agent: { type: 'string' }, sid: { type: 'string' } } } },
  }, async (req) => {
    const { sid } = req.params as { sid: string };
    const session = await svc.sessions.get(caller(req).accountId, sid);
    const items = req.isMultipart()
      ? await receiveMultipart(svc, session, req.parts())
      : await receiveUrls(svc, session, (req.body as { urls?: unknown } | undefined)?.urls);
    return ok({ media: items.map(mediaView) });
  });

  app.get('/api/credits/balance/simple', { onRequest: auth, schema: { summary: 'Credits: available, frozen (held by running jobs), total', security: bearer, response: { 200: envelope() } } }, async (req) => {
    return ok(await svc.ledger.balance(svc.db, caller(req).accountId));
  });

  const jobView = (req: FastifyRequest, j: Job) => {
    const base = { id: j.id, type: j.type, status: statusOf(j), progress: Math.round(j.progress * 1000) / 10, price: j.price, created_at: new Date(j.createdAt).toISOString() };
    const r = j.result as (TranscribeJobResult & RenderJobResult) | null;
    return {
      ...base,
      ...(r?.fileId ? { file_id: r.fileId, file_name: r.fileName, url: downloadUrl(req, r.fileId) } : {}),
      ...(r?.transcriptId ? { transcript_id: r.transcriptId } : {}),
      ...(j.error ? { error: j.error } : {}),
    };
  };

  app.get(`/api/state/:agent/me/:sid/latest`, { onRequest: auth, schema: { summary: 'The session: current draft, media, transcripts, jobs, files', security: bearer } }, async (req) => {
    const { sid } = req.params as { sid: string };
    const { session, draft } = await svc.sessions.getWithDraft(caller(req).accountId, sid);
    const [media, transcripts, jobs, files] = await Promise.all([
      svc.sessions.media(session.id), svc.sessions.transcripts(session.id), svc.queue.listForSession(session.id), svc.sessions.files(session.id),
    ]);
    return ok({
      session_id: session.id,
      draft,
      media: media.map(mediaView),
      transcripts: transcripts.map((t) => ({ id: t.id, media_id: t.mediaId, job_id: t.jobId, language: t.language, text: t.text, created_at: new Date(t.createdAt).toISOString() })),
      jobs: jobs.map((j) => jobView(req, j)),
      files: files.map((f) => ({ id: f.id, name: f.name, content_type: f.contentType, size_bytes: f.sizeBytes, url: downloadUrl(req, f.id) })),
    });
  });

  // ---- export (render) ----
  app.post('/api/render/proxy/lambda', {
    onRequest: auth,
    schema: {
      summary: 'Render the session\'s draft (or the given one) to MP4; needs the X-Skill-* attribution headers', security: bearer,
      body: { type: 'object', required: ['session_id'], properties: { id: { type: 'string' }, draft: { type: 'object' }, session_id: { type: 'string' }, format: { type: 'string' } } },
    },
  }, async (req) => {
    const missing = ATTRIBUTION_HEADERS.filter((h) => !req.headers[h.toLowerCase()]);
    if (missing.length) {
      throw new VidscribeError(ErrorCode.ExportBlocked, `Export is locked for unattributed clients: register or upgrade to unlock export (missing ${missing.join(', ')} headers)`, {
        data: { register_url: registerUrl(req, caller(req)) },
      });
    }
    const body = req.body as { id?: string; draft?: unknown; session_id: string; format?: string };
    const session = await svc.sessions.get(caller(req).accountId, body.session_id);
    if (body.format && body.format.toLowerCase() !== 'mp4') throw new VidscribeError(ErrorCode.UnsupportedFormat, `format must be mp4, got "${body.format}"`);
    const draft: Draft | null = body.draft !== undefined ? parseDraft(body.draft) : await svc.sessions.draft(session.id);
    if (!draft) throw new VidscribeError(ErrorCode.InvalidDraft, 'This session has no draft yet: upload a video first, or send a draft');
    if (body.id && body.id !== draft.id && body.draft === undefined) throw new VidscribeError(ErrorCode.InvalidDraft, `The session's draft is "${draft.id}", not "${body.id}"`);
    const job = await enqueueRender(svc, { accountId: caller(req).accountId, sessionId: session.id }, draft, noCredits(req, 'render this video'));
    return ok({ render_id: job.id, status: 'queued', price: job.price });
  });

  app.get('/api/render/proxy/lambda/:id', { onRequest: auth, schema: { summary: 'Render status; url is a signed, expiring download link', security: bearer } }, async (req) => {
    const { id } = req.params as { id: string };
    const job = await svc.queue.get(id);
    if (!job || job.accountId !== caller(req).accountId || job.type !== JobType.Render) throw new VidscribeError(ErrorCode.NotFound, `No render ${id}`);
    const view = jobView(req, job);
    return ok({ render_id: job.id, status: view.status, progress: view.progress, ...(view.url ? { url: view.url } : {}), ...(job.error ? { error: job.error } : {}) });
  });

  app.delete('/api/render/proxy/lambda/:id', { onRequest: auth, schema: { summary: 'Cancel a render; its held credits are released', security: bearer } }, async (req) => {
    const { id } = req.params as { id: string };
    const job = await svc.queue.get(id);
    if (!job || job.accountId !== caller(req).accountId || job.type !== JobType.Render) throw new VidscribeError(ErrorCode.NotFound, `No render ${id}`);
    if (job.state !== 'queued' && job.state !== 'running') throw new VidscribeError(ErrorCode.BadRequest, `Render ${id} has already ${job.state === 'completed' ? 'completed' : 'ended'}`);
    // Not taken yet: cancelled here. Running in this process: aborted, and the runner records it.
    if (!(await svc.queue.cancelQueued(id)) && !svc.runner?.cancel(id)) {
      throw new VidscribeError(ErrorCode.BadRequest, `Render ${id} is running in another worker and cannot be cancelled from here`);
    }
    const done = await waitForJob(svc.queue, id);
    return ok({ render_id: id, status: statusOf(done) });
  });

  app.get('/api/files/:id', { schema: { summary: 'Download a result through a signed link', querystring: { type: 'object', properties: { expires: { type: 'string' }, sig: { type: 'string' } } } } }, async (req, reply) => {
    const { id } = req.params as { id: string };
    const q = req.query as { expires?: string; sig?: string };
    verifyDownload(svc.secret, id, q.expires, q.sig, svc.now());
    const f = await svc.sessions.file(id);
    if (!f) throw new VidscribeError(ErrorCode.NotFound, 'This file no longer exists');
    const { stream, sizeBytes } = await svc.blobs.open(f.storeKey);
    return reply
      .header('content-type', f.contentType)
      .header('content-length', sizeBytes)
      .header('content-disposition', `attachment; filename*=UTF-8''${encodeURIComponent(f.name)}`)
      .send(stream);
  });

  app.get('/register', { schema: { hide: true } }, async (_req, reply) => reply.type('text/html; charset=utf-8').send(REGISTER_PAGE));
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  app.get('/healthz', { schema: { hide: true } }, async () => ok({ status: 'up' }));

  registerAgentRoutes(app, svc, { auth, noCredits, downloadUrl }, opts.sse);
  await registerOpenAiRoutes(app, svc);
  return app;
}

/** The seed's render states: a running render is "rendering". */
export function statusOf(j: Job): string {
  if (j.state === 'running') return j.type === JobType.Render ? 'rendering' : 'running';
  return j.state;
}
