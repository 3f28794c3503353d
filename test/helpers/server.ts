/**
 * A real vidscribe server for tests: the real services (SQLite, blob store, job runner with the
 * real model and ffmpeg) behind the real HTTP listener on a free port.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { buildApp, type AppOptions } from '../../src/api/app.ts';
import { openServices, type ServiceConfig, type Services } from '../../src/api/services.ts';

export interface TestServer {
  url: string;
  svc: Services;
  app: FastifyInstance;
  dataDir: string;
  close(opts?: { keepData?: boolean }): Promise<void>;
}

export async function startServer(cfg: Partial<ServiceConfig> = {}, appOpts: AppOptions = {}): Promise<TestServer> {
  const dataDir = cfg.dataDir ?? mkdtempSync(join(tmpdir(), 'vidscribe-api-'));
  const svc = await openServices({ ...cfg, dataDir });
  const app = await buildApp(svc, appOpts);
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  return {
    url: address,
    svc,
    app,
    dataDir,
    async close(opts = {}) {
      await app.close();
      await svc.close();
      if (!opts.keepData) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A server whose log (warnings and errors) is kept: `log()` is everything it wrote so far. */
export async function startLoggedServer(cfg: Partial<ServiceConfig> = {}): Promise<TestServer & { log(): string }> {
  let log = '';
  const stream = new Writable({
    write: (c, _e, cb) => {
      log += String(c);
      cb();
    },
  });
  const srv = await startServer(cfg, { logger: { level: 'warn', stream } });
  return Object.assign(srv, { log: () => log });
}

export interface Api {
  token?: string;
  call<T = any>(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<{ status: number; body: { code: number; message: string; data: T } }>;
}

/** A tiny JSON client that speaks the envelope; every response body is parsed as JSON. */
export function apiClient(base: string, token?: string): Api {
  const api: Api = {
    token,
    async call(method, path, body, headers = {}) {
      const h: Record<string, string> = { ...headers };
      if (api.token) h.authorization = `Bearer ${api.token}`;
      let payload: BodyInit | undefined;
      if (body instanceof FormData) payload = body;
      else if (typeof body === 'string') {
        payload = body;
        h['content-type'] = 'application/json';
      } else if (body !== undefined) {
        payload = JSON.stringify(body);
        h['content-type'] = 'application/json';
      }
      const res = await fetch(base + path, { method, headers: h, body: payload });
      const text = await res.text();
      let parsed: any;
      try {
        parsed = JSON.parse(text);
      } catch {
        throw new Error(`${method} ${path}: not JSON (${res.status}): ${text.slice(0, 200)}`);
      }
      return { status: res.status, body: parsed };
    },
  };
  return api;
}

/** Anonymous token + session, the seed's first two calls. */
export async function newUser(
  base: string,
  clientId = `client-${Math.random().toString(36).slice(2)}`,
): Promise<{ api: Api; sessionId: string; clientId: string; accountId: string }> {
  const api = apiClient(base);
  const t = await api.call('POST', '/api/auth/anonymous-token', undefined, { 'x-client-id': clientId });
  if (t.body.code !== 0) throw new Error(`token: ${JSON.stringify(t.body)}`);
  api.token = t.body.data.token;
  const s = await api.call('POST', '/api/tasks/me/with-session/nemo_agent', { task_name: 'project', language: 'en' });
  if (s.body.code !== 0) throw new Error(`session: ${JSON.stringify(s.body)}`);
  return { api, sessionId: s.body.data.session_id, clientId, accountId: t.body.data.anonymous_id };
}

/** The demo sample uploaded into the user's session and transcribed through the agent, as the seed's first workflow does. */
export async function transcribedSample(base: string, user: { api: Api; sessionId: string }): Promise<void> {
  const { readFileSync } = await import('node:fs');
  const { PROJECT_ROOT } = await import('../../src/asr/models.ts');
  const fd = new FormData();
  const sample = readFileSync(join(PROJECT_ROOT, 'samples', 'jfk_inaugural_1961.mp4'));
  fd.append('file', new Blob([new Uint8Array(sample)], { type: 'video/mp4' }), 'jfk_inaugural_1961.mp4');
  const up = await user.api.call('POST', `/api/upload-video/nemo_agent/me/${user.sessionId}`, fd);
  if (up.body.code !== 0) throw new Error(`upload: ${JSON.stringify(up.body)}`);
  await runSse(base, user.api.token!, user.sessionId, 'transcribe the spoken dialogue into a text document');
}

export interface SseEvent {
  data?: any;
  comment?: string;
}

/** Posts to /run_sse and parses the stream as a client would (eventsource-parser), collecting every event. */
export async function runSse(
  base: string,
  token: string,
  sessionId: string,
  text: string,
  onEvent?: (e: SseEvent) => void,
): Promise<{ status: number; events: any[]; comments: string[]; raw: string; contentType: string | null }> {
  const { createParser } = await import('eventsource-parser');
  const res = await fetch(`${base}/run_sse`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ app_name: 'nemo_agent', user_id: 'me', session_id: sessionId, new_message: { role: 'user', parts: [{ text }] }, streaming: true }),
  });
  const events: any[] = [];
  const comments: string[] = [];
  let raw = '';
  const parser = createParser({
    onEvent: (e) => {
      const data = JSON.parse(e.data);
      events.push(data);
      onEvent?.({ data });
    },
    onComment: (c) => {
      comments.push(c);
      onEvent?.({ comment: c });
    },
  });
  const decoder = new TextDecoder();
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    const s = decoder.decode(chunk, { stream: true });
    raw += s;
    parser.feed(s);
  }
  return { status: res.status, events, comments, raw, contentType: res.headers.get('content-type') };
}

/** The seed's attribution headers, which an export needs. */
export const ATTRIBUTION = { 'x-skill-source': 'test', 'x-skill-version': '1.0.0', 'x-skill-platform': 'node' };

/** A multipart body with one `file` field per entry, as a browser or SDK sends it. */
export function form(files: { name: string; body: Buffer | string; type?: string }[]): FormData {
  const fd = new FormData();
  for (const f of files)
    fd.append('file', new Blob([typeof f.body === 'string' ? f.body : new Uint8Array(f.body)], { type: f.type ?? 'application/octet-stream' }), f.name);
  return fd;
}

/** A draft with one video clip of `mediaId`, in the seed's compact format. */
export function oneClipDraft(mediaId: string, o: { id?: string; w?: number; h?: number; d?: number; fit?: 'contain' | 'cover' | 'blur' } = {}) {
  return {
    id: o.id ?? 'd',
    version: 1,
    w: o.w ?? 640,
    h: o.h ?? 360,
    t: [{ id: 'v', tt: 0, sg: [{ id: 'c', s: 0, d: o.d ?? 1000, src: mediaId, m: { fit: o.fit ?? 'contain' } }] }],
  };
}

/** Posts one message to /run_sse and resolves with the raw stream text (or "stream cut" when the server goes away). */
export function postRunSse(base: string, token: string, sessionId: string, text: string): Promise<string> {
  return fetch(`${base}/run_sse`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ app_name: 'nemo_agent', user_id: 'me', session_id: sessionId, new_message: { role: 'user', parts: [{ text }] } }),
  })
    .then((r) => r.text())
    .catch(() => 'stream cut');
}

/** Streams a generated multipart file of `size` bytes (chunked, no Content-Length); stops sending once the server answers. */
export function streamUpload(target: string, token: string, name: string, size: number): Promise<{ status: number; body: any; sentWhenAnswered: number }> {
  const boundary = 'vidscribe-test-boundary';
  const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\nContent-Type: video/mp4\r\n\r\n`);
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const chunk = Buffer.alloc(1024 * 1024, 7);
  const url = new URL(target);
  let sent = 0;
  let answered = false;
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': `multipart/form-data; boundary=${boundary}`, 'transfer-encoding': 'chunked' },
      },
      (res) => {
        answered = true;
        const sentWhenAnswered = sent;
        let text = '';
        res
          .setEncoding('utf8')
          .on('data', (d) => (text += d))
          .on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text), sentWhenAnswered }));
      },
    );
    // The server hangs up on a refused upload: writes after that fail, as they should.
    req.on('error', (e) => ((e as NodeJS.ErrnoException).code === 'EPIPE' || (e as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(e)));
    req.write(head);
    const pump = () => {
      while (sent < size && !answered && !req.destroyed) {
        const n = Math.min(chunk.length, size - sent);
        sent += n;
        if (!req.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
          req.once('drain', pump);
          return;
        }
      }
      if (!answered && !req.destroyed) req.end(tail);
    };
    pump();
  });
}
