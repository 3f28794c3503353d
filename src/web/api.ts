/**
 * The one way the web app talks to the server: a bearer token (an anonymous one obtained by
 * itself for a client id kept in localStorage, renewed once on 1001), the `{code, message, data}`
 * envelope unwrapped into `data` or thrown as an ApiError. The token lives under the key the
 * /register page reads (`vidscribe.token`), so registering there moves this browser's work.
 */
import type { MediaView } from '../api/views.ts';
import { type ApiErrorLike, NETWORK_ERROR } from './i18n.ts';

export const AGENT = 'nemo_agent';
const TOKEN_KEY = 'vidscribe.token';
const CLIENT_KEY = 'vidscribe.client-id';
/** Attribution headers: the seed's render route wants them (else 402). */
const ATTRIBUTION = { 'x-skill-source': 'vidscribe-web', 'x-skill-version': '0.1.0', 'x-skill-platform': 'web' };

export class ApiError extends Error implements ApiErrorLike {
  readonly code: number;
  readonly data?: Record<string, unknown>;
  constructor(code: number, message: string, data?: Record<string, unknown>) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    if (data) this.data = data;
  }
}

/** localStorage that never throws (private modes, disabled storage): the app still runs, just forgets. */
export const store = {
  get(key: string): string | null {
    try {
      return localStorage.getItem(key);
    } catch {
      return null;
    }
  },
  set(key: string, value: string | null): void {
    try {
      if (value === null) localStorage.removeItem(key);
      else localStorage.setItem(key, value);
    } catch {
      // Nothing to keep it in: this tab still works.
    }
  },
};

export function clientId(): string {
  let id = store.get(CLIENT_KEY);
  if (!id) {
    id = `web-${crypto.randomUUID()}`;
    store.set(CLIENT_KEY, id);
  }
  return id;
}

let tokenRequest: Promise<string> | undefined;

/** A live token: the stored one, else a new anonymous one (one request at a time). */
export function token(): Promise<string> {
  const kept = store.get(TOKEN_KEY);
  if (kept) return Promise.resolve(kept);
  tokenRequest ??= (async () => {
    try {
      const data = await envelopeOf<{ token: string }>(await send('/api/auth/anonymous-token', { method: 'POST', headers: { 'x-client-id': clientId() } }));
      store.set(TOKEN_KEY, data.token);
      return data.token;
    } finally {
      tokenRequest = undefined;
    }
  })();
  return tokenRequest;
}

function send(path: string, init: RequestInit): Promise<Response> {
  return fetch(path, init).catch((e: unknown) => {
    if ((e as Error)?.name === 'AbortError') throw e;
    throw new ApiError(NETWORK_ERROR, (e as Error)?.message ?? 'network error');
  });
}

async function envelopeOf<T>(res: Response): Promise<T> {
  let body: { code?: unknown; message?: unknown; data?: unknown } | undefined;
  try {
    body = (await res.json()) as typeof body;
  } catch {
    // Not JSON (a proxy's error page): say what HTTP said.
    throw new ApiError(res.ok ? 5000 : res.status, `${res.status} ${res.statusText}`.trim());
  }
  const code = typeof body?.code === 'number' ? body.code : res.ok ? 0 : res.status;
  if (code !== 0) throw new ApiError(code, String(body?.message ?? res.statusText), (body?.data ?? undefined) as Record<string, unknown> | undefined);
  return body?.data as T;
}

/**
 * fetch with the bearer token; a 1001 (expired or revoked token) drops it and tries once more with
 * a new anonymous token.
 */
export async function authedFetch(path: string, init: RequestInit = {}): Promise<Response> {
  for (let attempt = 0; ; attempt++) {
    const t = await token();
    const headers = new Headers(init.headers);
    headers.set('authorization', `Bearer ${t}`);
    for (const [k, v] of Object.entries(ATTRIBUTION)) headers.set(k, v);
    const res = await send(path, { ...init, headers });
    if (res.status === 401 && attempt === 0) {
      store.set(TOKEN_KEY, null);
      continue;
    }
    return res;
  }
}

/** The app's request function: JSON (or FormData) in, the envelope's `data` out, an ApiError thrown. */
export async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const init: RequestInit = { method };
  if (body instanceof FormData) init.body = body;
  else if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers = { 'content-type': 'application/json' };
  }
  return envelopeOf<T>(await authedFetch(path, init));
}

export interface UploadProgress {
  loaded: number;
  total: number;
}

/**
 * One file uploaded with XMLHttpRequest, whose upload progress events give bytes and %. Resolves
 * only with the server's answer (the media items it stored); an abort rejects with AbortError.
 */
export async function uploadFile(sessionId: string, file: File, onProgress: (p: UploadProgress) => void, signal: AbortSignal): Promise<MediaView[]> {
  const attempt = async (): Promise<{ status: number; text: string }> => {
    const t = await token();
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open('POST', `/api/upload-video/${AGENT}/me/${encodeURIComponent(sessionId)}`);
      xhr.setRequestHeader('authorization', `Bearer ${t}`);
      // The request body is the file plus a little multipart framing: report in the file's own bytes.
      xhr.upload.onprogress = (e) =>
        onProgress({
          loaded: e.lengthComputable && e.total > 0 ? Math.min(file.size, Math.round((e.loaded / e.total) * file.size)) : e.loaded,
          total: file.size,
        });
      xhr.onload = () => resolve({ status: xhr.status, text: xhr.responseText });
      xhr.onerror = () => reject(new ApiError(NETWORK_ERROR, 'upload failed'));
      xhr.onabort = () => reject(new DOMException('upload cancelled', 'AbortError'));
      if (signal.aborted) return reject(new DOMException('upload cancelled', 'AbortError'));
      signal.addEventListener('abort', () => xhr.abort(), { once: true });
      const form = new FormData();
      form.append('file', file, file.name);
      xhr.send(form);
    });
  };
  let r = await attempt();
  if (r.status === 401) {
    store.set(TOKEN_KEY, null);
    r = await attempt();
  }
  const data = await envelopeOf<{ media: MediaView[] }>(new Response(r.text || 'null', { status: r.status }));
  return data.media;
}

/** A file from an authenticated route saved the way a browser saves a download: an object URL and a click. */
export async function downloadFile(path: string, fallbackName: string): Promise<void> {
  const res = await authedFetch(path);
  if (!res.ok) {
    await envelopeOf(res);
    throw new ApiError(res.status, res.statusText);
  }
  const disposition = res.headers.get('content-disposition') ?? '';
  const star = /filename\*=UTF-8''([^;]+)/i.exec(disposition)?.[1];
  const plain = /filename="?([^";]+)"?/i.exec(disposition)?.[1];
  const name = star ? decodeURIComponent(star) : (plain ?? fallbackName);
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  // Give the browser a moment to start the save before the URL goes.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
