/**
 * The vidscribe HTTP API as the MCP tools use it: one account (a bearer token), one session,
 * the seed's envelope unwrapped into values or VidscribeErrors carrying the server's code.
 * Both MCP modes use it: against a remote server, and against the engine started in-process.
 */
import { createParser } from 'eventsource-parser';
import { clientId, tokenStore } from '../client/device.ts';
import { ErrorCode, VidscribeError } from '../shared/errors.ts';
import type { SessionStateView, TranscriptView } from '../api/views.ts';

export const AGENT = 'nemo_agent';
/** The attribution an export needs: this MCP server names itself. */
export const SKILL_HEADERS = { 'X-Skill-Source': 'vidscribe-mcp', 'X-Skill-Version': '0.1.0', 'X-Skill-Platform': 'mcp' };

/** GET /api/state: the server's own view type, not a copy. */
export type SessionState = SessionStateView;

type EventPart =
  | { text: string }
  | { functionCall: { id: string; name: string; args: Record<string, unknown> } }
  | { functionResponse: { id: string; name: string; response: { status: string; code?: number; message?: string } & Record<string, unknown> } };

export interface AgentReply {
  text: string;
  toolCalls: { name: string; args: Record<string, unknown>; response?: Record<string, unknown> }[];
}

export class VidscribeClient {
  private sessionId?: string;
  /** Where an anonymous token is kept between runs (the server's URL, or an embedded engine's data folder). */
  private readonly storeKey?: string;
  constructor(
    readonly base: string,
    private token?: string,
    opts: { storeKey?: string } = {},
  ) {
    this.base = base.replace(/\/+$/, '');
    this.storeKey = token ? undefined : opts.storeKey;
    if (this.storeKey) this.token = tokenStore().get(this.storeKey)?.token;
  }

  private async authToken(): Promise<string> {
    if (!this.token) {
      const t = await this.call<{ token: string; anonymous_id: string }>('POST', '/api/auth/anonymous-token', undefined, { 'x-client-id': clientId() }, false);
      this.token = t.token;
      // Kept: this client id gets one anonymous token a week, so the next run must reuse it.
      if (this.storeKey) tokenStore().set(this.storeKey, { token: t.token, anonymous_id: t.anonymous_id });
    }
    return this.token;
  }

  /** One API call: the envelope's data, or the server's coded error. */
  async call<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
    auth = true,
    signal?: AbortSignal,
    retried = false,
  ): Promise<T> {
    const h: Record<string, string> = { ...headers };
    if (auth) h.authorization = `Bearer ${await this.authToken()}`;
    let payload: BodyInit | undefined;
    if (body instanceof FormData) payload = body;
    else if (body !== undefined) {
      payload = JSON.stringify(body);
      h['content-type'] = 'application/json';
    }
    let res: Response;
    try {
      res = await fetch(this.base + path, { method, headers: h, body: payload, signal });
    } catch (e) {
      throw new VidscribeError(ErrorCode.UrlFetchFailed, `Cannot reach the vidscribe server at ${this.base}: ${(e as Error).message}`, { cause: e });
    }
    const text = await res.text();
    let env: { code: number; message: string; data: T };
    try {
      env = JSON.parse(text);
    } catch (e) {
      throw new VidscribeError(ErrorCode.Internal, `${method} ${path} answered ${res.status} without JSON: ${text.slice(0, 200)}`, { cause: e });
    }
    if (env.code === ErrorCode.BadToken && auth && this.storeKey && !retried) {
      // The kept token expired or was revoked: forget it and ask for a new one, once.
      tokenStore().forget(this.storeKey);
      this.token = undefined;
      return this.call<T>(method, path, body, headers, auth, signal, true);
    }
    if (env.code !== 0) throw new VidscribeError(env.code as ErrorCode, env.message, { data: (env.data ?? undefined) as Record<string, unknown> | undefined });
    return env.data;
  }

  /** This MCP session's vidscribe session, started on first use. */
  async session(): Promise<string> {
    if (!this.sessionId) {
      const s = await this.call<{ session_id: string }>('POST', `/api/tasks/me/with-session/${AGENT}`, { task_name: 'mcp', language: 'en' });
      this.sessionId = s.session_id;
    }
    return this.sessionId;
  }

  async upload(file: { name: string; body: Uint8Array } | { url: string }): Promise<{ id: string; name: string }[]> {
    const sid = await this.session();
    let body: unknown;
    if ('url' in file) body = { urls: [file.url] };
    else {
      const fd = new FormData();
      fd.append('file', new Blob([file.body as Uint8Array<ArrayBuffer>]), file.name);
      body = fd;
    }
    return (await this.call<{ media: { id: string; name: string }[] }>('POST', `/api/upload-video/${AGENT}/me/${sid}`, body)).media;
  }

  async state(): Promise<SessionState> {
    return this.call<SessionState>('GET', `/api/state/${AGENT}/me/${await this.session()}/latest`);
  }

  /** One transcript with its timed segments (seconds). */
  async transcript(id: string): Promise<TranscriptView> {
    return this.call('GET', `/api/state/${AGENT}/me/${await this.session()}/transcripts/${encodeURIComponent(id)}`);
  }

  async credits(): Promise<{ available: number; frozen: number; total: number }> {
    return this.call('GET', '/api/credits/balance/simple');
  }

  /** One request to the agent over /run_sse: its final text and the tool calls it made (an error in one is thrown). */
  async ask(text: string, signal?: AbortSignal): Promise<AgentReply> {
    const sid = await this.session();
    const res = await fetch(`${this.base}/run_sse`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await this.authToken()}`, 'content-type': 'application/json' },
      body: JSON.stringify({ app_name: AGENT, user_id: 'me', session_id: sid, new_message: { role: 'user', parts: [{ text }] }, streaming: true }),
      signal,
    });
    if (!(res.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
      const env = (await res.json()) as { code: number; message: string };
      throw new VidscribeError(env.code as ErrorCode, env.message);
    }
    const reply: AgentReply = { text: '', toolCalls: [] };
    const calls = new Map<string, AgentReply['toolCalls'][number]>();
    let failure: VidscribeError | undefined;
    const parser = createParser({
      onEvent: (e) => {
        const ev = JSON.parse(e.data) as { partial?: boolean; content: { parts: EventPart[] } };
        for (const p of ev.content.parts) {
          if ('functionCall' in p) {
            const c = { name: p.functionCall.name, args: p.functionCall.args };
            calls.set(p.functionCall.id, c);
            reply.toolCalls.push(c);
          } else if ('functionResponse' in p) {
            const r = p.functionResponse.response;
            const c = calls.get(p.functionResponse.id);
            if (c) c.response = r;
            if (r.status === 'error') failure = new VidscribeError((r.code ?? ErrorCode.Internal) as ErrorCode, r.message ?? 'the agent failed');
          }
        }
        if (!ev.partial && ev.content.parts.some((p) => 'text' in p)) reply.text = ev.content.parts.map((p) => ('text' in p ? p.text : '')).join('');
      },
    });
    const decoder = new TextDecoder();
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) parser.feed(decoder.decode(chunk, { stream: true }));
    if (failure) throw new VidscribeError(failure.code, `${failure.message}${reply.text ? ` (the agent said: ${reply.text})` : ''}`);
    return reply;
  }

  /** Queues an export of the session's draft. */
  async exportVideo(): Promise<{ render_id: string; price: number }> {
    return this.call('POST', '/api/render/proxy/lambda', { session_id: await this.session() }, SKILL_HEADERS);
  }

  async render(id: string): Promise<{ render_id: string; status: string; progress: number; url?: string; error?: unknown }> {
    return this.call('GET', `/api/render/proxy/lambda/${encodeURIComponent(id)}`);
  }

  async cancelRender(id: string): Promise<{ status: string }> {
    return this.call('DELETE', `/api/render/proxy/lambda/${encodeURIComponent(id)}`);
  }

  /** A signed download link's bytes. */
  async download(url: string): Promise<{ bytes: Uint8Array; type: string }> {
    const res = await fetch(url);
    if (!res.ok) {
      const env = (await res.json().catch(() => ({}))) as { code?: number; message?: string };
      throw new VidscribeError((env.code ?? ErrorCode.NotFound) as ErrorCode, env.message ?? `download failed (${res.status})`);
    }
    return { bytes: new Uint8Array(await res.arrayBuffer()), type: res.headers.get('content-type') ?? 'application/octet-stream' };
  }
}
