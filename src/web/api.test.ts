/**
 * The web app's request function against a real server (startServer): the anonymous token it
 * obtains by itself, the envelope unwrapped, the error codes as ApiError, a revoked token retried
 * once. Node has no page: localStorage is a Map, and relative paths are sent to the test server's
 * address (the only two adaptations; XMLHttpRequest uploads are covered by the browser tests).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type TestServer, startServer } from '../../test/helpers/server.ts';
import { ApiError, request, store, token } from './api.ts';
import { NETWORK_ERROR, errorSentence } from './i18n.ts';

describe('web api: request()', () => {
  let server: TestServer;
  const realFetch = globalThis.fetch;
  const kept = new Map<string, string>();

  before(async () => {
    server = await startServer();
    (globalThis as { localStorage?: unknown }).localStorage = {
      getItem: (k: string) => kept.get(k) ?? null,
      setItem: (k: string, v: string) => void kept.set(k, v),
      removeItem: (k: string) => void kept.delete(k),
    };
    globalThis.fetch = (input, init) => realFetch(typeof input === 'string' && input.startsWith('/') ? server.url + input : input, init);
  });
  after(async () => {
    globalThis.fetch = realFetch;
    await server?.close();
  });

  test('gets an anonymous token by itself (kept where /register reads it) and unwraps the envelope', async () => {
    const balance = await request<{ available: number; frozen: number }>('GET', '/api/credits/balance/simple');
    assert.equal(balance.available, 100);
    assert.equal(balance.frozen, 0);
    assert.match(store.get('vidscribe.token') ?? '', /^vs_/);
    assert.match(store.get('vidscribe.client-id') ?? '', /^web-/);
    const s = await request<{ session_id: string }>('POST', '/api/tasks/me/with-session/nemo_agent', { task_name: 'web test' });
    assert.match(s.session_id, /^ses_/);
  });

  test('an error envelope becomes an ApiError with its code and data', async () => {
    await assert.rejects(request('GET', '/api/state/nemo_agent/me/ses_nope/latest'), (e: unknown) => e instanceof ApiError && e.code === 1002);
    await assert.rejects(request('POST', '/api/upload-video/nemo_agent/me/x', { urls: 'not a list' }), (e: unknown) => e instanceof ApiError && e.code !== 0);
  });

  test('a revoked token is dropped and a new one asked for once; this client already had one this week, so the answer is 429 with a way to register', async () => {
    const old = await token();
    await request('POST', '/api/auth/logout');
    const err = await request('GET', '/api/credits/balance/simple').then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof ApiError, String(err));
    assert.equal(err.code, 429);
    assert.notEqual(store.get('vidscribe.token'), old);
    const s = errorSentence(err, 'en');
    assert.match(s.text, /already received its free credits/);
    assert.equal(s.registerUrl, '/register');
  });

  test('a new client id gets a new token: the request goes through again', async () => {
    kept.clear();
    const balance = await request<{ available: number }>('GET', '/api/credits/balance/simple');
    assert.equal(balance.available, 100);
  });

  test('an unreachable server is a network error, in words', async () => {
    const url = server.url;
    await server.close();
    server = undefined as unknown as TestServer;
    globalThis.fetch = (input, init) => realFetch(typeof input === 'string' && input.startsWith('/') ? url + input : input, init);
    const err = await request('GET', '/api/credits/balance/simple').then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof ApiError);
    assert.equal(err.code, NETWORK_ERROR);
    assert.match(errorSentence(err, 'en').text, /Could not reach the server/);
  });
});
