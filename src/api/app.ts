/**
 * The HTTP API: the seed cloud API's paths and shapes kept exactly (so an agent that speaks it
 * only changes its base URL), plus an OpenAI-compatible transcription endpoint. This file wires
 * the plugins and the edge rules; each group of routes lives in its own module, and routes only
 * translate HTTP: the rules live in the domains.
 */
import helmet from '@fastify/helmet';
import multipart from '@fastify/multipart';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { ErrorCode, VidscribeError } from '../shared/errors.ts';
import { type McpSessionLimits, registerMcpRoutes } from '../mcp/http.ts';
import { registerAgentRoutes } from './agent-route.ts';
import { registerAuthRoutes } from './auth-routes.ts';
import { CONNECTIONS_PER_ADDRESS, IDLE_MS, inNetworks, limitConnectionsPerAddress } from './connections.ts';
import { routeHelpers } from './edge.ts';
import { ok, sendError } from './http.ts';
import { registerOpenAiRoutes } from './openai.ts';
import { registerRenderRoutes } from './render-routes.ts';
import { ReplyCache } from './reply-cache.ts';
import type { Services } from './services.ts';
import { registerSessionRoutes } from './session-routes.ts';
import { registerWebRoutes } from './web-routes.ts';

/** The largest JSON body most routes take (a chat message, a login, an MCP call need kilobytes). */
export const JSON_BODY_LIMIT = 1024 * 1024;

export interface AppOptions {
  logger?: boolean | { level: string; stream?: NodeJS.WritableStream };
  /** /run_sse keep-alive and length limits (default 15 s and 15 min); tests shorten them. */
  sse?: { pingMs?: number; capMs?: number };
  /** On close, how long requests in flight may finish before every connection is cut (default 5 s). */
  closeGraceMs?: number;
  /** The built web app served at `/` (default dist/web); tests point it elsewhere. */
  webRoot?: string;
  /** How many MCP sessions `/mcp` keeps open (default MCP_SESSION_LIMITS); tests lower them. */
  mcpSessions?: McpSessionLimits;
  /**
   * The reverse proxies in front of this server (addresses, CIDR networks, or `loopback`,
   * `linklocal`, `uniquelocal`): a request from one of them is counted by the address its
   * X-Forwarded-For names, the last hop not in this list. Default none: the header is ignored,
   * since anyone can send it (a client naming a new address each time would escape the
   * per-address limits). Behind a proxy without it, all clients share the proxy's limits.
   */
  trustProxy?: string[];
  /** How long a connection may stay quiet while a request is read (default IDLE_MS); tests shorten it. */
  idleMs?: number;
  /** Connections one address holds at once (default CONNECTIONS_PER_ADDRESS); tests lower it. */
  connectionsPerAddress?: number;
}

/** The headers @fastify/helmet sets with our options, read once from a throwaway instance. */
async function helmetHeaders(): Promise<Record<string, string | number | string[]>> {
  const probe = Fastify();
  await probe.register(helmet, {
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
        fontSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        frameAncestors: ["'none'"],
        formAction: ["'self'"],
        upgradeInsecureRequests: null,
      },
    },
    frameguard: { action: 'deny' },
    // Plain-HTTP self-hosting on a LAN is normal: HSTS is the TLS terminator's call.
    hsts: false,
    crossOriginEmbedderPolicy: false,
  });
  probe.get('/', async (_req, reply) => ({ ...reply.raw.getHeaders() }));
  const headers = (await probe.inject('/')).json() as Record<string, string | number | string[]>;
  await probe.close();
  if (!headers['content-security-policy'] || !headers['x-frame-options']) throw new Error('helmet set no security headers');
  return headers;
}

export async function buildApp(svc: Services, opts: AppOptions = {}): Promise<FastifyInstance> {
  // Security headers on every reply: no MIME sniffing, no framing (the /register page binds
  // accounts), a same-origin CSP. The docs page needs inline styles and its own scripts.
  // Computed once and set by one plain hook: the plugin builds them anew for every request, a
  // fifth of a bare request's CPU (bench:api). Set on the raw response, as the plugin does, so
  // replies written there (/run_sse, downloads) carry them too.
  const securityHeaders = Object.entries(await helmetHeaders());
  const setSecurityHeaders = (reply: FastifyReply) => {
    for (const [name, value] of securityHeaders) reply.raw.setHeader(name, value);
  };
  const app = Fastify({
    logger: opts.logger ?? false,
    trustProxy: opts.trustProxy?.length ? opts.trustProxy : false,
    // Closes a connection quiet this long (see connections.ts); the whole of a request, however
    // slowly it trickles in, must arrive within an hour (a 500 MB upload at 1.2 Mbit/s).
    connectionTimeout: opts.idleMs ?? IDLE_MS,
    requestTimeout: 3600_000,
    // A JSON body of at most 1 MB, but where a route says more (a render's draft, 10 MB): an 8 MB
    // body of nested arrays, to any route, held the event loop 1.5–2.6 s while it was parsed.
    // Uploads are multipart, with limits of their own.
    bodyLimit: JSON_BODY_LIMIT,
    // Above the longest path parameter any route takes (ids: 128): a longer one is then refused by
    // the route's schema, in our envelope. At Fastify's default of 100, ids of 101–128 characters
    // got Fastify's own 414 with a text code.
    routerOptions: { maxParamLength: 256 },
    // What the router refuses before any route or hook runs (a malformed percent-encoding, an
    // overlong parameter) is answered in the API's envelope too, with the security headers.
    frameworkErrors: (e, req, reply) => {
      setSecurityHeaders(reply);
      const refused =
        e.code === 'FST_ERR_BAD_URL'
          ? new VidscribeError(ErrorCode.BadRequest, 'The URL is not valid: a percent sign must start an escape such as %20')
          : e.code === 'FST_ERR_MAX_PARAM_LENGTH'
            ? new VidscribeError(ErrorCode.BadRequest, 'A part of the URL path is too long')
            : e;
      void sendError(req, reply, refused);
    },
  });

  app.addHook('onRequest', (_req, reply, done) => {
    setSecurityHeaders(reply);
    done();
  });
  const trusted = opts.trustProxy ?? [];
  limitConnectionsPerAddress(app.server, opts.connectionsPerAddress ?? CONNECTIONS_PER_ADDRESS, (address) => inNetworks(address, trusted));
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'vidscribe API',
        version: '0.1.0',
        description: 'Self-hosted transcription and rendering, compatible with the seed cloud API and with OpenAI audio transcriptions.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  await app.register(rateLimit, {
    global: false,
    errorResponseBuilder: (_req, ctx) =>
      new VidscribeError(ErrorCode.RateLimited, `Too many requests from this address: at most ${ctx.max} an hour; retry in ${ctx.after}`),
  });
  await app.register(multipart, {
    limits: { fileSize: svc.config.maxUploadBytes + 1, files: 20, fields: 50, parts: 100, fieldSize: 64 * 1024 },
  });

  // Closing waits for connections to end; one that never sends a request (a client's spare, a
  // slowloris) would hold it for Node's 60 s header timeout. After a grace period, cut them all.
  app.addHook('preClose', async () => {
    setTimeout(() => app.server.closeAllConnections(), opts.closeGraceMs ?? 5000).unref();
  });

  app.setErrorHandler((e, req, reply) => sendError(req, reply, e));
  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send({ code: ErrorCode.NotFound, message: `No route ${req.method} ${req.url.split('?')[0]!.slice(0, 200)}` }),
  );

  const helpers = routeHelpers(svc);
  registerAuthRoutes(app, svc, helpers);
  const replies = await ReplyCache.open(svc.db);
  if (replies) app.addHook('onClose', async () => replies.close());
  registerSessionRoutes(app, svc, helpers, replies);
  registerRenderRoutes(app, svc, helpers);
  registerAgentRoutes(app, svc, helpers, opts.sse);
  await registerOpenAiRoutes(app, svc);
  registerMcpRoutes(app, helpers, opts.mcpSessions);
  await registerWebRoutes(app, opts.webRoot);

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  app.get('/healthz', { schema: { hide: true } }, async () => ok({ status: 'up' }));
  return app;
}
