/**
 * `POST /run_sse`: Google ADK's RunAgentRequest in, ADK events out as text/event-stream.
 * A `: ping` comment every 15 s keeps proxies from closing a quiet stream while a job runs; the
 * stream is capped at 15 minutes (the job itself carries on and shows in the session state).
 * Whatever happens, the last event is a text reply.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Caller } from '../accounts/accounts.ts';
import { plannerForRequest } from '../agent/planner/index.ts';
import { AGENT_NAME, runAgent, type AdkEvent } from '../agent/runner.ts';
import { ErrorCode, VidscribeError } from '../shared/errors.ts';
import { toApiError } from './http.ts';
import type { Services } from './services.ts';
import type { RouteHelpers } from './edge.ts';

export const SSE_PING_MS = 15_000;
export const SSE_CAP_MS = 15 * 60_000;
/** A chat message, all its text parts together (a few kB: requests are a sentence or two). */
export const MESSAGE_MAX_CHARS = 4000;
export const MESSAGE_MAX_PARTS = 16;
/** Session, user and app ids. */
export const ID_MAX_CHARS = 128;

// No control characters: a NUL in a session id made Postgres fail the lookup (500).
const id = { type: 'string', maxLength: ID_MAX_CHARS, pattern: '^[^\\u0000-\\u001f]*$' };
const content = {
  type: 'object',
  additionalProperties: true,
  properties: {
    role: { type: 'string', maxLength: 32 },
    parts: {
      type: 'array',
      maxItems: MESSAGE_MAX_PARTS,
      items: { type: 'object', additionalProperties: true, properties: { text: { type: 'string', maxLength: MESSAGE_MAX_CHARS } } },
    },
  },
};

interface RunAgentBody {
  app_name?: string;
  appName?: string;
  user_id?: string;
  userId?: string;
  session_id?: string;
  sessionId?: string;
  new_message?: { role?: string; parts?: { text?: string }[] };
  newMessage?: { role?: string; parts?: { text?: string }[] };
  streaming?: boolean;
}

export function registerAgentRoutes(
  app: FastifyInstance,
  svc: Services,
  helpers: {
    auth: RouteHelpers['auth'];
    noCredits: (req: FastifyRequest, what: string) => string;
    downloadUrl: (req: FastifyRequest, fileId: string) => string;
  },
  limits: { pingMs?: number; capMs?: number } = {},
): void {
  app.post(
    '/run_sse',
    {
      onRequest: helpers.auth,
      schema: {
        summary: 'Talk to the agent (Google ADK RunAgentRequest); streams ADK events as server-sent events',
        security: [{ bearer: [] }],
        // Every free-text field is bounded here, before anything reads it (the parser included).
        body: {
          type: 'object',
          additionalProperties: true,
          properties: {
            app_name: id,
            appName: id,
            user_id: id,
            userId: id,
            session_id: id,
            sessionId: id,
            new_message: content,
            newMessage: content,
            streaming: { type: 'boolean' },
          },
        },
      },
    },
    async (req, reply) => {
      const body = (req.body ?? {}) as RunAgentBody;
      const sessionId = body.session_id ?? body.sessionId;
      const message = body.new_message ?? body.newMessage;
      const text = (message?.parts ?? [])
        .map((p) => (typeof p?.text === 'string' ? p.text : ''))
        .join('\n')
        .trim();
      if (!sessionId) throw new VidscribeError(ErrorCode.BadRequest, 'session_id is required');
      if (!text) throw new VidscribeError(ErrorCode.BadRequest, 'new_message.parts[].text is required: say what you need');
      const chars = [...text].length;
      if (chars > MESSAGE_MAX_CHARS) {
        throw new VidscribeError(
          ErrorCode.BadRequest,
          `new_message is too long: at most ${MESSAGE_MAX_CHARS} characters in all its text parts (this one has ${chars})`,
          { data: { max_chars: MESSAGE_MAX_CHARS } },
        );
      }
      const caller = req.caller as Caller;
      // Ownership is checked before the stream opens, so a wrong session is a plain 1002 reply.
      const session = await svc.sessions.get(caller.accountId, sessionId);

      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      res.flushHeaders();
      const stop = new AbortController();
      const cap = setTimeout(() => stop.abort(new VidscribeError(ErrorCode.Timeout, 'stream cap')), limits.capMs ?? SSE_CAP_MS);
      const ping = setInterval(() => res.write(': ping\n\n'), limits.pingMs ?? SSE_PING_MS);
      res.on('close', () => stop.abort(new VidscribeError(ErrorCode.Cancelled, 'client went away')));
      let lastWasFinalText = false;
      const emit = (e: AdkEvent) => {
        lastWasFinalText = !e.partial && e.content.parts.some((p) => 'text' in p);
        if (!res.writableEnded) res.write(`data: ${JSON.stringify(e)}\n\n`);
      };
      try {
        await runAgent(
          { session, message: text, signal: stop.signal },
          {
            queue: svc.queue,
            sessions: svc.sessions,
            prices: svc.prices,
            downloadUrl: (fileId) => helpers.downloadUrl(req, fileId),
            noCreditsMessage: (what) => helpers.noCredits(req, what),
            planner: svc.planner
              ? plannerForRequest({ planner: svc.planner, timeoutMs: svc.config.llm?.timeoutMs, log: (detail, msg) => req.log.warn(detail, msg) }, stop.signal)
              : undefined,
            creditsLeft: async () => (await svc.ledger.balance(svc.db, caller.accountId)).available,
          },
          emit,
        );
      } catch (e) {
        const capped = stop.signal.aborted && (stop.signal.reason as VidscribeError)?.code === ErrorCode.Timeout;
        if (!capped && !stop.signal.aborted) req.log.error({ err: e }, 'agent failed');
        const why = capped
          ? 'This is taking longer than the 15-minute stream limit. The work continues: poll GET /api/state/nemo_agent/me/<session_id>/latest for the result.'
          : // Our own errors say what went wrong; anything else (a database's, the file system's) may
            // name server paths or internals, and goes to the log only, as sendError does.
            `Something went wrong while working on that: ${toApiError(e).message.replace(/\.$/, '')}. Nothing already stored was lost; try again.`;
        emit({
          id: randomUUID(),
          invocationId: `e-${randomUUID()}`,
          author: AGENT_NAME,
          timestamp: Date.now() / 1000,
          content: { role: 'model', parts: [{ text: why }] },
          turnComplete: true,
        });
      } finally {
        if (!lastWasFinalText) {
          emit({
            id: randomUUID(),
            invocationId: `e-${randomUUID()}`,
            author: AGENT_NAME,
            timestamp: Date.now() / 1000,
            content: { role: 'model', parts: [{ text: 'Done.' }] },
            turnComplete: true,
          });
        }
        clearTimeout(cap);
        clearInterval(ping);
        res.end();
      }
    },
  );
}
