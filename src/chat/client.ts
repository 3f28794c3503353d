/**
 * The HTTP side of `vidscribe chat`: token, session, uploads, POST /run_sse read with
 * eventsource-parser, the session state, downloads, and the error table (1001, 1002, 429) as
 * recoveries. The same client talks to a remote server and to the embedded engine.
 */
import { existsSync, mkdirSync, openAsBlob, writeFileSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createParser } from 'eventsource-parser';
import type { AdkEvent } from '../agent/runner.ts';
import { TRANSCRIBABLE_EXTENSIONS, IMAGE_EXTENSIONS } from '../media/formats.ts';
import { clientId, tokenStore } from '../client/device.ts';
import { ErrorCode, VidscribeError } from '../shared/errors.ts';

export const AGENT = 'nemo_agent';
/** The seed's attribution headers: this client is the "chat" skill. */
export const CHAT_ATTRIBUTION = { 'x-skill-source': 'vidscribe-chat', 'x-skill-version': '0.1.0', 'x-skill-platform': 'cli' };
export const RATE_LIMIT_WAIT_MS = 30_000;

export interface Envelope<T = unknown> {
  code: number;
  message: string;
  data?: T;
}

export interface ChatClientOptions {
  base: string;
  /** The key tokens are stored under (the server URL; the data folder for the embedded engine). */
  serverKey?: string;
  env?: NodeJS.ProcessEnv;
  rateLimitWaitMs?: number;
  log?: (line: string) => void;
}

/** A reply in progress, as the chat shows it. */
export interface ReplyHandlers {
  onText(text: string, partial: boolean): void;
  onToolCall(name: string, args: Record<string, unknown>): void;
  onToolResult(name: string, response: Record<string, unknown>): void;
  /** Any event or ping (the still-working note counts quiet from here). */
  onActivity?(): void;
}

export class ChatClient {
  readonly base: string;
  token?: string;
  anonymousId?: string;
  sessionId?: string;
  /** Paths uploaded into this session, re-uploaded if the session has to be replaced. */
  readonly uploaded: string[] = [];
  private readonly env: NodeJS.ProcessEnv;
  private readonly store: ReturnType<typeof tokenStore>;
  private readonly serverKey: string;
  private readonly waitMs: number;
  private readonly log: (line: string) => void;

  constructor(o: ChatClientOptions) {
    this.base = o.base.replace(/\/+$/, '');
    this.env = o.env ?? process.env;
    this.store = tokenStore(this.env);
    this.serverKey = o.serverKey ?? this.base;
    this.waitMs = o.rateLimitWaitMs ?? RATE_LIMIT_WAIT_MS;
    this.log = o.log ?? (() => {});
    this.token = this.env.VIDSCRIBE_TOKEN || undefined;
  }

  /** A token: VIDSCRIBE_TOKEN, the one stored for this server, else a new anonymous one. */
  async connect(): Promise<void> {
    if (this.token) return;
    const stored = this.store.get(this.serverKey);
    if (stored) {
      this.token = stored.token;
      this.anonymousId = stored.anonymous_id;
      return;
    }
    await this.newAnonymousToken();
  }

  async newAnonymousToken(): Promise<void> {
    const ask = () => this.raw('POST', '/api/auth/anonymous-token', undefined, { 'x-client-id': clientId(this.env) }, false);
    let r = await ask();
    // The per-address limiter passes in a while; "this client already has a token" (retry_after, days away) does not.
    if (r.code === ErrorCode.RateLimited && !(r.data as { retry_after?: string } | undefined)?.retry_after) {
      this.log(`Too many requests: waiting ${Math.round(this.waitMs / 1000)} s, then trying again…`);
      await sleep(this.waitMs);
      r = await ask();
    }
    if (r.code !== 0) throw new VidscribeError(r.code as ErrorCode, r.message);
    const t = r.data as { token: string; anonymous_id: string };
    this.token = t.token;
    this.anonymousId = t.anonymous_id;
    this.store.set(this.serverKey, { token: t.token, anonymous_id: t.anonymous_id });
  }

  async newSession(): Promise<void> {
    const r = await this.call('POST', `/api/tasks/me/with-session/${AGENT}`, { task_name: 'chat' }, { session: false });
    if (r.code !== 0) throw new VidscribeError(r.code as ErrorCode, r.message);
    this.sessionId = (r.data as { session_id: string }).session_id;
  }

  /** One request, envelope back (never thrown for an API error: the caller reads the code). */
  private async raw(method: string, path: string, body?: unknown, headers: Record<string, string> = {}, auth = true): Promise<Envelope> {
    const res = await this.send(method, path, body, headers, auth);
    return envelopeOf(res);
  }

  private send(method: string, path: string, body?: unknown, headers: Record<string, string> = {}, auth = true): Promise<Response> {
    const h: Record<string, string> = { ...CHAT_ATTRIBUTION, ...headers };
    if (auth && this.token) h.authorization = `Bearer ${this.token}`;
    let payload: BodyInit | undefined;
    if (body instanceof FormData) payload = body;
    else if (body !== undefined) {
      payload = JSON.stringify(body);
      h['content-type'] = 'application/json';
    }
    return fetch(this.base + path, { method, headers: h, body: payload }).catch((e: Error) => {
      throw new VidscribeError(ErrorCode.UrlFetchFailed, `Could not reach the server at ${this.base}: ${(e.cause as Error)?.message ?? e.message}`, {
        cause: e,
      });
    });
  }

  /**
   * The error table as recoveries, each at most once per request: 1001 → a new anonymous token;
   * 1002 → a new session with the files re-uploaded; 429 → wait, then once more.
   * `path` may depend on the session (it is rebuilt after a new one).
   */
  async withRecovery<T>(attempt: () => Promise<{ code: number; result: T }>, o: { session?: boolean } = {}): Promise<T> {
    const tried = new Set<number>();
    for (;;) {
      const { code, result } = await attempt();
      if (code === 0 || tried.has(code)) return result;
      tried.add(code);
      if (code === ErrorCode.BadToken) {
        this.log('Token expired or not valid: getting a new one…');
        await this.newAnonymousToken();
      } else if (code === ErrorCode.SessionNotFound && o.session !== false) {
        this.log('The session is gone: starting a new one…');
        await this.newSession();
        const files = this.uploaded.splice(0);
        for (const f of files) {
          const r = await this.upload(f);
          this.log(r.code === 0 ? `Uploaded ${f} into the new session` : `Could not upload ${f} again: [${r.code}] ${r.message}`);
        }
      } else if (code === ErrorCode.RateLimited) {
        this.log(`Too many requests: waiting ${Math.round(this.waitMs / 1000)} s, then trying again…`);
        await sleep(this.waitMs);
      } else return result;
    }
  }

  /** A JSON request with the recoveries. `path` is a function of the session id. */
  call(method: string, path: string | ((sid: string) => string), body?: unknown, o: { session?: boolean } = {}): Promise<Envelope> {
    return this.withRecovery(async () => {
      const r = await this.raw(method, typeof path === 'string' ? path : path(this.sessionId ?? ''), body);
      return { code: r.code, result: r };
    }, o);
  }

  /** Uploads one file into the session (remembered, for a replacement session). */
  async upload(path: string): Promise<Envelope> {
    const r = await this.withRecovery(async () => {
      const fd = new FormData();
      fd.append('file', await openAsBlob(path), basename(path));
      const e = await this.raw('POST', `/api/upload-video/${AGENT}/me/${encodeURIComponent(this.sessionId ?? '')}`, fd);
      return { code: e.code, result: e };
    });
    if (r.code === 0) this.uploaded.push(path);
    return r;
  }

  /** POST /run_sse: the reply's events go to the handlers; resolves with the envelope when the server refused before streaming. */
  async run(text: string, h: ReplyHandlers): Promise<Envelope> {
    return this.withRecovery(async () => {
      const res = await this.send('POST', '/run_sse', {
        app_name: AGENT,
        user_id: 'me',
        session_id: this.sessionId,
        new_message: { role: 'user', parts: [{ text }] },
        streaming: true,
      });
      if (!res.headers.get('content-type')?.startsWith('text/event-stream')) {
        const e = await envelopeOf(res);
        return { code: e.code, result: e };
      }
      const parser = createParser({
        onEvent: (ev) => {
          h.onActivity?.();
          const data = JSON.parse(ev.data) as Partial<AdkEvent>;
          for (const p of data.content?.parts ?? []) {
            if ('text' in p) h.onText(p.text, data.partial === true);
            else if ('functionCall' in p) h.onToolCall(p.functionCall.name, p.functionCall.args ?? {});
            else if ('functionResponse' in p) h.onToolResult(p.functionResponse.name, p.functionResponse.response ?? {});
          }
        },
        onComment: () => h.onActivity?.(),
      });
      const decoder = new TextDecoder();
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) parser.feed(decoder.decode(chunk, { stream: true }));
      return { code: 0, result: { code: 0, message: 'ok' } };
    });
  }

  async state(): Promise<Envelope<SessionState>> {
    return (await this.call('GET', (sid) => `/api/state/${AGENT}/me/${encodeURIComponent(sid)}/latest`)) as Envelope<SessionState>;
  }

  /** Downloads a file by its signed link into `dir`, never over an existing file; returns the path written. */
  async download(file: { name: string; url: string }, dir: string): Promise<string> {
    const res = await fetch(new URL(file.url, this.base), { headers: CHAT_ATTRIBUTION });
    if (!res.ok) {
      const e = await envelopeOf(res);
      throw new VidscribeError(e.code as ErrorCode, `Could not download ${file.name}: ${e.message}`);
    }
    mkdirSync(dir, { recursive: true });
    // The name comes from the server: only its last part is used, so it cannot point elsewhere.
    const safe = basename(file.name.replaceAll('\\', '/')).replace(/^\.+/, '') || 'download';
    const ext = extname(safe);
    const stem = safe.slice(0, safe.length - ext.length);
    let target = join(dir, safe);
    for (let i = 1; existsSync(target); i++) target = join(dir, `${stem} (${i})${ext}`);
    writeFileSync(target, Buffer.from(await res.arrayBuffer()));
    return target;
  }

  /** Where an anonymous user registers to get more credits (and keep this session). */
  registerUrl(): string {
    return `${this.base}/register${this.anonymousId ? `?bind=${encodeURIComponent(this.anonymousId)}` : ''}`;
  }
}

export interface SessionState {
  session_id: string;
  media: { id: string; name: string }[];
  jobs: { id: string; type?: string; status: string; progress?: number }[];
  files: { id: string; name: string; url: string }[];
}

async function envelopeOf(res: Response): Promise<Envelope> {
  const text = await res.text();
  try {
    const e = JSON.parse(text) as Envelope;
    if (typeof e.code === 'number') return e;
  } catch {
    // not JSON: reported below with the status
  }
  // A proxy or the rate limiter may answer without the envelope: the HTTP status is the code.
  return { code: res.status === 429 ? ErrorCode.RateLimited : res.ok ? 0 : res.status, message: text.slice(0, 200) || res.statusText };
}

/** What to tell the user for an error code the chat cannot recover from by itself. */
export function adviceFor(code: number, message: string, c: Pick<ChatClient, 'anonymousId' | 'registerUrl'>): string {
  switch (code) {
    case ErrorCode.NoCredits:
      return c.anonymousId
        ? `Not enough credits. Register to get more (and keep this session): ${c.registerUrl()}`
        : 'Not enough credits: top up your account, then try again.';
    case ErrorCode.UnsupportedFormat:
      return `That format is not accepted. Accepted: ${[...TRANSCRIBABLE_EXTENSIONS, ...IMAGE_EXTENSIONS].join(', ')}.`;
    case ErrorCode.FileTooLarge:
      return 'That file is too large: compress it (a lower bitrate or resolution) or trim it, then upload it again.';
    default:
      return `[${code}] ${message}`;
  }
}
