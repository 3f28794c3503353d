/**
 * What every route module needs from the HTTP edge: the bearer token read from the request
 * (Accounts only ever sees a token), the caller it names, and the links the API hands out —
 * built from the configured public URL or an allowed Host, never from whatever Host a stranger sends.
 */
import type { FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import type { Caller } from '../accounts/accounts.ts';
import { ErrorCode, VidscribeError } from '../shared/errors.ts';
import { linkExpiry, signLink } from './http.ts';
import type { Services } from './services.ts';

declare module 'fastify' {
  interface FastifyRequest {
    caller?: Caller;
  }
}

export interface RouteHelpers {
  /** onRequest hook: 1001 unless the request carries a live bearer token. */
  auth: onRequestHookHandler;
  caller: (req: FastifyRequest) => Caller;
  baseUrl: (req: FastifyRequest) => string;
  downloadUrl: (req: FastifyRequest, fileId: string) => string;
  registerUrl: (req: FastifyRequest, c: Caller) => string;
  /** The 2001 message: anonymous callers get the registration link. */
  noCredits: (req: FastifyRequest, what: string) => string;
}

/** The token in `Authorization: Bearer <token>`, or 1001. */
export function bearerToken(authorization: string | undefined): string {
  // Bounded and linear: a token is one run of visible characters.
  const m = /^Bearer[ \t]+([\x21-\x7e]{1,200})[ \t]*$/i.exec((authorization ?? '').slice(0, 256));
  if (!m)
    throw new VidscribeError(ErrorCode.BadToken, 'Missing bearer token: send "Authorization: Bearer <token>" (get one from POST /api/auth/anonymous-token)');
  return m[1]!;
}

/** Hosts whose Host header may shape links when no public URL is configured: this machine's own names. */
const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/** The hostname part of a Host header value (`example.com:8787` → `example.com`, `[::1]:80` → `[::1]`). */
export function hostnameOf(host: string): string {
  const h = host.toLowerCase();
  if (h.startsWith('[')) return h.slice(0, h.indexOf(']') + 1);
  const colon = h.indexOf(':');
  return colon < 0 ? h : h.slice(0, colon);
}

export function routeHelpers(svc: Services): RouteHelpers {
  const allowed = new Set([...LOCAL_HOSTS, ...(svc.config.allowedHosts ?? []).map((h) => h.toLowerCase())]);
  const baseUrl = (req: FastifyRequest): string => {
    if (svc.config.publicUrl) return svc.config.publicUrl.replace(/\/+$/, '');
    const host = req.host;
    if (host && /^[a-z0-9.\-[\]:]{1,300}$/i.test(host) && allowed.has(hostnameOf(host))) return `${req.protocol}://${host}`;
    // A Host we do not know: links point at this server's own address, never at the stranger's name.
    return `http://127.0.0.1:${req.socket.localPort}`;
  };
  const caller = (req: FastifyRequest): Caller => {
    if (!req.caller) throw new VidscribeError(ErrorCode.Internal, 'route used caller() without the auth hook');
    return req.caller;
  };
  const registerUrl = (req: FastifyRequest, c: Caller) => `${baseUrl(req)}/register${c.kind === 'anonymous' ? `?bind=${encodeURIComponent(c.accountId)}` : ''}`;
  return {
    // A callback, not an async function: a token whose lookup is cached costs no promise (bench:api).
    auth: (req, _reply, done) => {
      let token: string;
      try {
        token = bearerToken(req.headers.authorization);
        req.caller = svc.accounts.cachedCaller(token);
      } catch (e) {
        return done(e as Error);
      }
      if (req.caller) return done();
      svc.accounts.authenticate(token).then((c) => {
        req.caller = c;
        done();
      }, done);
    },
    caller,
    baseUrl,
    downloadUrl: (req, fileId) => baseUrl(req) + signLink(svc.secret, 'file', fileId, linkExpiry(svc.now(), svc.config.downloadTtlMs)),
    registerUrl,
    noCredits: (req, what) => {
      const c = caller(req);
      return c.kind === 'anonymous'
        ? `Not enough credits to ${what}. Register to get more and keep this session: ${registerUrl(req, c)}`
        : `Not enough credits to ${what}. Ask your administrator to add credits (vidscribe credits add ${c.accountId} N).`;
    },
  };
}

/**
 * A signal that fires when the client hangs up before its reply is sent: work done only for that
 * client (a download, a waited-for job) stops with it. Call `dispose` once the reply is decided.
 */
export function clientGone(reply: FastifyReply): { signal: AbortSignal; dispose(): void } {
  const gone = new AbortController();
  const onClose = () => {
    if (!reply.sent) gone.abort(new VidscribeError(ErrorCode.Cancelled, 'the client went away'));
  };
  reply.raw.on('close', onClose);
  return { signal: gone.signal, dispose: () => reply.raw.off('close', onClose) };
}
