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

/** Open MCP sessions kept at once; the oldest is closed to make room (clients reconnect). */
export const MCP_SESSIONS_MAX = 1000;
/** An MCP session unused this long is closed (its vidscribe session and files stay). */
export const MCP_SESSION_IDLE_MS = 60 * 60_000;

export function registerMcpRoutes(app: FastifyInstance, h: RouteHelpers): void {
  const sessions = new Map<string, { transport: StreamableHTTPServerTransport; accountId: string; lastUsed: number }>();
  const sweep = setInterval(() => {
    const idleSince = Date.now() - MCP_SESSION_IDLE_MS;
    for (const [sid, s] of sessions)
      if (s.lastUsed < idleSince) {
        sessions.delete(sid);
        s.transport.close().catch((e) => app.log.warn({ err: e }, 'closing an idle MCP session failed'));
      }
  }, 60_000).unref();
  app.addHook('onClose', async () => {
    clearInterval(sweep);
    await Promise.all([...sessions.values()].map((s) => s.transport.close()));
  });

  const handle = async (req: FastifyRequest, reply: FastifyReply) => {
    const accountId = h.caller(req).accountId;
    const id = req.headers['mcp-session-id'];
    let transport: StreamableHTTPServerTransport;
    if (typeof id === 'string') {
      const s = sessions.get(id);
      // Someone else's session is indistinguishable from none.
      if (!s || s.accountId !== accountId) throw new VidscribeError(ErrorCode.NotFound, 'No such MCP session: initialize a new one');
      transport = s.transport;
      s.lastUsed = Date.now();
    } else if (req.method === 'POST' && isInitializeRequest(req.body)) {
      const token = bearerToken(req.headers.authorization);
      const addr = req.socket.localAddress ?? '127.0.0.1';
      // The tools call this very server, on the address the request came in on, as the caller.
      const self = `http://${addr.includes(':') ? `[${addr}]` : addr}:${req.socket.localPort}`;
      transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (sid) => {
          if (sessions.size >= MCP_SESSIONS_MAX) {
            const [oldest] = sessions.keys();
            if (oldest) {
              sessions
                .get(oldest)
                ?.transport.close()
                .catch((e) => app.log.warn({ err: e }, 'closing the oldest MCP session failed'));
              sessions.delete(oldest);
            }
          }
          sessions.set(sid, { transport, accountId, lastUsed: Date.now() });
        },
      });
      transport.onclose = () => {
        if (transport.sessionId) sessions.delete(transport.sessionId);
      };
      await createMcpServer(new VidscribeClient(self, token)).connect(transport);
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
