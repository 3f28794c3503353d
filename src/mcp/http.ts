/**
 * `/mcp` on `vidscribe serve`: the MCP server over streamable HTTP, behind the API's own bearer
 * tokens. Each MCP session belongs to the account that opened it and runs the same tools as
 * `vidscribe mcp --server`, calling this server's API with the caller's token.
 */
import { randomUUID } from 'node:crypto';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { RouteHelpers } from '../api/edge.ts';
import { bearerToken } from '../api/edge.ts';
import { ErrorCode, VidscribeError } from '../shared/errors.ts';
import { VidscribeClient } from './client.ts';
import { createMcpServer } from './server.ts';
import { quietFromNowOn } from '../api/connections.ts';

export interface McpSessionLimits {
  /** Open MCP sessions kept at once, all accounts together. */
  max: number;
  /** Open MCP sessions one account keeps; its own least recently used is closed to make room. */
  perAccount: number;
  /**
   * When the server is full, a session unused this long is closed to make room for another
   * account's; if none is, the new one is refused (429) rather than closing one in use.
   */
  idleToEvictMs: number;
}

export const MCP_SESSION_LIMITS: McpSessionLimits = { max: 1000, perAccount: 20, idleToEvictMs: 5 * 60_000 };
/** An MCP session unused this long is closed (its vidscribe session and files stay). */
export const MCP_SESSION_IDLE_MS = 60 * 60_000;

interface McpSession {
  transport: StreamableHTTPServerTransport;
  accountId: string;
  lastUsed: number;
}

/**
 * Which open session to close so that `accountId` may open one more, `'full'` if it must be
 * refused, or undefined if there is room. Sessions are in least-recently-used order (a use moves
 * one to the end). One account only ever closes its own sessions, or another's long unused: the
 * oldest session of all, closed whoever owned it, let 1000 initialize requests from a free token
 * close every other account's sessions, even one in the middle of an export.
 */
export function sessionToClose(
  sessions: ReadonlyMap<string, McpSession>,
  accountId: string,
  now: number,
  limits: McpSessionLimits,
): string | 'full' | undefined {
  let own = 0;
  let ownOldest: string | undefined;
  for (const [sid, s] of sessions) {
    if (s.accountId !== accountId) continue;
    own++;
    ownOldest ??= sid;
  }
  if (own >= limits.perAccount) return ownOldest;
  if (sessions.size < limits.max) return undefined;
  const [oldest, s] = sessions.entries().next().value ?? [];
  if (oldest && s && (s.accountId === accountId || now - s.lastUsed >= limits.idleToEvictMs)) return oldest;
  return ownOldest ?? 'full';
}

export function registerMcpRoutes(app: FastifyInstance, h: RouteHelpers, limits: McpSessionLimits = MCP_SESSION_LIMITS): void {
  // In least-recently-used order: a session is moved to the end when used.
  const sessions = new Map<string, McpSession>();
  const close = (sid: string, why: string) => {
    const s = sessions.get(sid);
    sessions.delete(sid);
    s?.transport.close().catch((e) => app.log.warn({ err: e }, `closing ${why} MCP session failed`));
  };
  const sweep = setInterval(() => {
    const idleSince = Date.now() - MCP_SESSION_IDLE_MS;
    for (const [sid, s] of sessions) if (s.lastUsed < idleSince) close(sid, 'an idle');
  }, 60_000).unref();
  app.addHook('onClose', async () => {
    clearInterval(sweep);
    await Promise.all([...sessions.values()].map((s) => s.transport.close()));
  });

  const handle = async (req: FastifyRequest, reply: FastifyReply) => {
    // The request is read (JSON); a tool's answer, or the stream of a GET, may be quiet for long.
    quietFromNowOn(req);
    const accountId = h.caller(req).accountId;
    const id = req.headers['mcp-session-id'];
    let transport: StreamableHTTPServerTransport;
    if (typeof id === 'string') {
      const s = sessions.get(id);
      // Someone else's session is indistinguishable from none.
      if (!s || s.accountId !== accountId) throw new VidscribeError(ErrorCode.NotFound, 'No such MCP session: initialize a new one');
      transport = s.transport;
      s.lastUsed = Date.now();
      sessions.delete(id);
      sessions.set(id, s);
    } else if (req.method === 'POST' && isInitializeRequest(req.body)) {
      // Decided before the session is made: a refusal then costs nothing.
      const victim = sessionToClose(sessions, accountId, Date.now(), limits);
      if (victim === 'full')
        throw new VidscribeError(ErrorCode.RateLimited, 'Too many MCP sessions are open on this server: try again in a few minutes', {
          data: { retry_after_s: Math.ceil(limits.idleToEvictMs / 1000) },
        });
      if (victim) close(victim, 'the least recently used');
      const token = bearerToken(req.headers.authorization);
      const addr = req.socket.localAddress ?? '127.0.0.1';
      // The tools call this very server, on the address the request came in on, as the caller.
      const self = `http://${addr.includes(':') ? `[${addr}]` : addr}:${req.socket.localPort}`;
      // The place is taken at once, under a name no client is given, so initializations in flight
      // count against the limits too; the session's id replaces it once the SDK has made one.
      const reserved = `reserved ${randomUUID()}`;
      transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (sid) => {
          const entry = sessions.get(reserved);
          sessions.delete(reserved);
          if (entry) sessions.set(sid, entry);
        },
      });
      sessions.set(reserved, { transport, accountId, lastUsed: Date.now() });
      transport.onclose = () => {
        sessions.delete(reserved);
        if (transport.sessionId) sessions.delete(transport.sessionId);
      };
      try {
        await createMcpServer(new VidscribeClient(self, token)).connect(transport);
        reply.hijack();
        await transport.handleRequest(req.raw, reply.raw, req.body);
      } finally {
        // An initialization that made no session gives its place back.
        sessions.delete(reserved);
      }
      return;
    } else {
      throw new VidscribeError(ErrorCode.BadRequest, 'Start with an MCP initialize request (no mcp-session-id header yet)');
    }
    reply.hijack();
    await transport.handleRequest(req.raw, reply.raw, req.body);
  };

  const opts = { onRequest: h.auth, schema: { hide: true } };
  app.post('/mcp', opts, handle);
  app.get('/mcp', opts, handle);
  app.delete('/mcp', opts, handle);
}
