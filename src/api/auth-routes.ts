/** Accounts over HTTP: anonymous tokens, registration, and the /register page. */
import type { FastifyInstance } from 'fastify';
import { ErrorCode, VidscribeError } from '../shared/errors.ts';
import type { RouteHelpers } from './edge.ts';
import { ok } from './http.ts';
import { REGISTER_PAGE } from './register-page.ts';
import { envelope } from './schemas.ts';
import type { Services } from './services.ts';

export function registerAuthRoutes(app: FastifyInstance, svc: Services, _h: RouteHelpers): void {
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

  app.get('/register', { schema: { hide: true } }, async (_req, reply) => reply.type('text/html; charset=utf-8').send(REGISTER_PAGE));
}
