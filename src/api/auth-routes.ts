/** Accounts over HTTP: anonymous tokens, registration, login, refresh, logout, and the /register page. */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ErrorCode, VidscribeError } from '../shared/errors.ts';
import { BIND_MAX, EMAIL_MAX, PASSWORD_MAX } from '../accounts/credentials.ts';
import { bearerToken, type RouteHelpers } from './edge.ts';
import { ok } from './http.ts';
import { REGISTER_PAGE, REGISTER_SCRIPT } from './register-page.ts';
import { bearer, envelope } from './schemas.ts';
import type { Services } from './services.ts';

/** Token refreshes one account may make in an hour: a token lives 30 days, so one a month is the need. */
export const REFRESHES_PER_HOUR = 30;

export function registerAuthRoutes(app: FastifyInstance, svc: Services, h: RouteHelpers): void {
  app.post(
    '/api/auth/anonymous-token',
    {
      config: { rateLimit: { max: svc.config.anonymousTokensPerHour, timeWindow: 3600_000 } },
      schema: {
        summary: 'An anonymous token with 100 credits, one per X-Client-Id every 7 days',
        headers: { type: 'object', properties: { 'x-client-id': { type: 'string' } } },
        response: { 200: envelope() },
      },
    },
    async (req) => {
      const clientId = req.headers['x-client-id'];
      if (typeof clientId !== 'string' || !clientId.trim()) throw new VidscribeError(ErrorCode.BadRequest, 'The X-Client-Id header is required');
      const t = await svc.accounts.anonymousToken(clientId);
      const bal = await svc.ledger.balance(svc.db, t.accountId);
      return ok({ token: t.token, credits: bal.available, expires_at: new Date(t.expiresAt).toISOString(), anonymous_id: t.accountId });
    },
  );

  // Free-text fields are bounded here, before any rule looks at them: an email is at most 254
  // characters, a password 1024, an account id 128.
  const credentials = {
    email: { type: 'string', maxLength: EMAIL_MAX },
    password: { type: 'string', maxLength: PASSWORD_MAX },
  } as const;

  app.post(
    '/api/auth/register',
    {
      config: { rateLimit: { max: svc.config.registrationsPerHour, timeWindow: 3600_000 } },
      schema: {
        summary:
          'Create an account. With bind (your anonymous id) and that anonymous token as bearer, everything the anonymous account owns moves to the new one and the anonymous token is revoked',
        body: { type: 'object', required: ['email', 'password'], properties: { ...credentials, bind: { type: 'string', maxLength: BIND_MAX } } },
        response: { 200: envelope() },
      },
    },
    async (req) => {
      const body = req.body as { email: string; password: string; bind?: string };
      // Only the anonymous account's own token may bind it: the id alone is public.
      const binder =
        body.bind !== undefined && req.headers.authorization !== undefined
          ? await svc.accounts.authenticate(bearerToken(req.headers.authorization))
          : undefined;
      const r = await svc.accounts.register(body, binder);
      const bal = await svc.ledger.balance(svc.db, r.accountId);
      return ok({
        account_id: r.accountId,
        token: r.token,
        expires_at: new Date(r.expiresAt).toISOString(),
        credits: bal.available,
        moved_credits: r.moved,
        moved_jobs: r.movedJobs,
      });
    },
  );

  app.post(
    '/api/auth/login',
    {
      config: { rateLimit: { max: svc.config.loginsPerHour, timeWindow: 3600_000 } },
      schema: {
        summary: 'Email and password → a new token (30 days)',
        body: { type: 'object', required: ['email', 'password'], properties: credentials },
        response: { 200: envelope() },
      },
    },
    async (req) => {
      const t = await svc.accounts.login(req.body as { email: string; password: string });
      return ok({ account_id: t.accountId, token: t.token, expires_at: new Date(t.expiresAt).toISOString() });
    },
  );

  app.post(
    '/api/auth/refresh',
    {
      onRequest: h.auth,
      // Each refresh leaves a revoked token row behind: a loop made a thousand a second. Counted
      // per account, after the token is checked (a stranger cannot spend someone else's allowance).
      config: {
        rateLimit: {
          max: REFRESHES_PER_HOUR,
          timeWindow: 3600_000,
          hook: 'preHandler',
          keyGenerator: (req: FastifyRequest) => `refresh ${h.caller(req).accountId}`,
        },
      },
      schema: { summary: 'A live registered token → a new one (30 days); the old one is revoked', security: bearer, response: { 200: envelope() } },
    },
    async (req) => {
      const t = await svc.accounts.refresh(h.caller(req));
      return ok({ account_id: t.accountId, token: t.token, expires_at: new Date(t.expiresAt).toISOString() });
    },
  );

  app.post(
    '/api/auth/logout',
    {
      onRequest: h.auth,
      schema: { summary: 'Revokes the bearer token at once', security: bearer, response: { 200: envelope() } },
    },
    async (req) => {
      await svc.accounts.logout(h.caller(req));
      return ok({ revoked: true });
    },
  );

  app.get(
    '/api/auth/me',
    {
      onRequest: h.auth,
      schema: { summary: 'Who the bearer token speaks for: account id, kind, email, expiry', security: bearer, response: { 200: envelope() } },
    },
    async (req) => {
      const me = await svc.accounts.describe(h.caller(req));
      return ok({ account_id: me.accountId, kind: me.kind, email: me.email, expires_at: new Date(me.expiresAt).toISOString() });
    },
  );

  app.get('/register', { schema: { hide: true } }, async (_req, reply) => reply.type('text/html; charset=utf-8').send(REGISTER_PAGE));
  // The page's script is a same-origin file: the CSP allows no inline script.
  app.get('/register.js', { schema: { hide: true } }, async (_req, reply) => reply.type('text/javascript; charset=utf-8').send(REGISTER_SCRIPT));
}
