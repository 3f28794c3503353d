/**
 * Issue 14, the polled reads kept serialized (src/api/reply-cache.ts): the session state and the
 * credit balance. Over real HTTP on a real server (SQLite, the real model): a write — through the
 * API, through the services, or by another process on the same database file — shows in the very
 * next read; another account never reads a kept reply; a logged-out or expired token is refused
 * at once even though its reply is kept; the cache is bounded; and there is none where a write
 * could go unseen.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import SQLite from 'better-sqlite3';
import { REPLY_CACHE_LIMITS, ReplyCache } from '../../src/api/reply-cache.ts';
import type { SessionStateView, TranscriptView } from '../../src/api/views.ts';
import { TOKEN_TTL_MS } from '../../src/accounts/accounts.ts';
import { openSqlite } from '../../src/storage/database.ts';
import { tempDir } from '../helpers/media.ts';
import { apiClient, newUser, runSse, startServer, transcribedSample, type Api, type TestServer } from '../helpers/server.ts';

const statePath = (sid: string) => `/api/state/nemo_agent/me/${sid}/latest`;

async function state(api: Api, sid: string): Promise<SessionStateView> {
  const r = await api.call('GET', statePath(sid));
  assert.equal(r.body.code, 0, JSON.stringify(r.body));
  return r.body.data;
}

async function balance(api: Api): Promise<{ available: number; frozen: number; total: number }> {
  const r = await api.call('GET', '/api/credits/balance/simple');
  assert.equal(r.body.code, 0, JSON.stringify(r.body));
  return r.body.data;
}

describe('polled reads kept while the database is unchanged', () => {
  let clock = Date.now();
  let srv: TestServer;
  let a: Awaited<ReturnType<typeof newUser>>;
  let b: Awaited<ReturnType<typeof newUser>>;

  before(async () => {
    srv = await startServer({ now: () => clock });
    a = await newUser(srv.url);
    b = await newUser(srv.url);
    await transcribedSample(srv.url, a);
  });
  after(() => srv.close());

  test('a reply read twice is the same JSON, sent as JSON', async () => {
    const first = await fetch(srv.url + statePath(a.sessionId), { headers: { authorization: `Bearer ${a.api.token}` } });
    const second = await fetch(srv.url + statePath(a.sessionId), { headers: { authorization: `Bearer ${a.api.token}` } });
    assert.equal(second.headers.get('content-type'), 'application/json; charset=utf-8');
    assert.equal(second.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(await second.text(), await first.text());
  });

  test('a transcript correction through the API shows in the next state read', async () => {
    const before = await state(a.api, a.sessionId);
    assert.equal(before.transcripts.length, 1);
    const t0 = before.transcripts[0]!;
    const full = (await a.api.call('GET', `/api/state/nemo_agent/me/${a.sessionId}/transcripts/${t0.id}`)).body.data as TranscriptView;
    const patch = await a.api.call('PATCH', `/api/state/nemo_agent/me/${a.sessionId}/transcripts/${t0.id}`, {
      base_version: t0.version,
      words: [{ segment: full.segments[0]!.id, index: 0, word: 'Zebrafish' }],
    });
    assert.equal(patch.body.code, 0, JSON.stringify(patch.body));
    const after = await state(a.api, a.sessionId);
    assert.equal(after.transcripts[0]!.version, t0.version + 1);
    assert.match(after.transcripts[0]!.text, /Zebrafish/);
  });

  test("an agent's draft change shows in the next state read", async () => {
    const before = await state(a.api, a.sessionId);
    await runSse(srv.url, a.api.token!, a.sessionId, "add a title 'Hot' for the first 3 seconds");
    const after = await state(a.api, a.sessionId);
    assert.notDeepEqual(after.draft, before.draft);
    assert.match(JSON.stringify(after.draft), /Hot/);
  });

  test('credits granted by the server, or by another process on the same database, show in the next balance read', async () => {
    const start = await balance(a.api);
    assert.deepEqual(await balance(a.api), start);
    await srv.svc.ledger.grant(srv.svc.db, a.accountId, 5, 'test grant');
    assert.equal((await balance(a.api)).available, start.available + 5);
    // `vidscribe credits add` beside the server: another connection to the same file.
    const other = new SQLite(join(srv.dataDir, 'vidscribe.db'));
    try {
      other
        .prepare('insert into ledger (account_id, delta, reason, job_id, created_at) values (?, ?, ?, null, ?)')
        .run(a.accountId, 7, 'another process', Date.now());
    } finally {
      other.close();
    }
    assert.equal((await balance(a.api)).available, start.available + 12);
  });

  test('another account reads neither the kept state nor the kept balance: 1002 for the session, its own credits', async () => {
    await state(a.api, a.sessionId);
    const mine = await balance(a.api);
    const theirs = await b.api.call('GET', statePath(a.sessionId));
    assert.equal(theirs.status, 404);
    assert.equal(theirs.body.code, 1002);
    assert.equal(theirs.body.data, undefined);
    await srv.svc.ledger.grant(srv.svc.db, b.accountId, 3, 'test grant');
    const bBalance = await balance(b.api);
    assert.notEqual(bBalance.available, mine.available);
    assert.equal(bBalance.available, 103);
    // And the owner's kept reply is still the owner's.
    assert.equal((await state(a.api, a.sessionId)).session_id, a.sessionId);
  });

  test('a logged-out token is refused at once, though its replies are kept', async () => {
    const c = await newUser(srv.url);
    await state(c.api, c.sessionId);
    await balance(c.api);
    const out = await c.api.call('POST', '/api/auth/logout');
    assert.equal(out.body.code, 0, JSON.stringify(out.body));
    for (const path of [statePath(c.sessionId), '/api/credits/balance/simple']) {
      const r = await c.api.call('GET', path);
      assert.equal(r.status, 401, path);
      assert.equal(r.body.code, 1001, path);
    }
  });

  test('after register with bind the session is read by the new account, and the anonymous token is refused', async () => {
    const d = await newUser(srv.url);
    const kept = await state(d.api, d.sessionId);
    const before = await balance(d.api);
    const reg = await d.api.call('POST', '/api/auth/register', {
      email: `hot-${Date.now()}@example.org`,
      password: 'correct horse battery',
      bind: d.accountId,
    });
    assert.equal(reg.body.code, 0, JSON.stringify(reg.body));
    const old = await d.api.call('GET', statePath(d.sessionId));
    assert.equal(old.body.code, 1001);
    const registered = apiClient(srv.url, reg.body.data.token);
    assert.deepEqual(await state(registered, d.sessionId), kept);
    // The anonymous credits moved, and the signup grant added.
    assert.equal((await balance(registered)).available, reg.body.data.credits);
    assert.ok(reg.body.data.credits > before.available);
  });

  test('an expired token is refused at once, though its replies are kept', async () => {
    const c = await newUser(srv.url);
    await state(c.api, c.sessionId);
    await balance(c.api);
    clock += TOKEN_TTL_MS + 1000;
    try {
      for (const path of [statePath(c.sessionId), '/api/credits/balance/simple']) {
        const r = await c.api.call('GET', path);
        assert.equal(r.status, 401, path);
        assert.equal(r.body.code, 1001, path);
        assert.match(r.body.message, /expired/, path);
      }
    } finally {
      clock -= TOKEN_TTL_MS + 1000;
    }
  });

  test('the links in a kept state follow the request: another allowed Host gets links to itself', async () => {
    const local = await state(a.api, a.sessionId);
    const viaLocalhost = apiClient(srv.url.replace('127.0.0.1', 'localhost'), a.api.token);
    const other = await state(viaLocalhost, a.sessionId);
    assert.match(local.media[0]!.url, /^http:\/\/127\.0\.0\.1:/);
    assert.match(other.media[0]!.url, /^http:\/\/localhost:/);
  });
});

describe('the reply cache', () => {
  test('is bounded in entries and bytes, and never answers for another account, version or links', async () => {
    const dir = tempDir('reply-cache-');
    const db = await openSqlite(join(dir, 'vidscribe.db'));
    const cache = (await ReplyCache.open(db, { maxEntries: 3, maxBytes: 800 }))!;
    try {
      assert.ok(cache);
      const v = cache.version();
      for (let i = 0; i < 10; i++) cache.set(`k${i}`, 'acct_1', v, '', Buffer.alloc(50, i));
      assert.equal(cache.size, 3);
      assert.equal(cache.sizeBytes, 150);
      assert.equal(cache.get('k0', 'acct_1', v, ''), undefined, 'the oldest were dropped');
      assert.ok(cache.get('k9', 'acct_1', v, ''));
      // One over an eighth of the bytes is not kept.
      cache.set('big', 'acct_1', v, '', Buffer.alloc(101));
      assert.equal(cache.get('big', 'acct_1', v, ''), undefined);
      for (let i = 0; i < 3; i++) cache.set(`m${i}`, 'acct_1', v, '', Buffer.alloc(100));
      assert.equal(cache.get('m2', 'acct_2', v, ''), undefined, 'another account');
      assert.equal(cache.get('m2', 'acct_1', v, 'http://elsewhere'), undefined, 'other links');
      assert.ok(cache.get('m2', 'acct_1', v, ''));
      // By bytes: 20 replies of 100 bytes in a cache of 800 leave the 8 latest.
      const byBytes = (await ReplyCache.open(db, { maxEntries: 100, maxBytes: 800 }))!;
      for (let i = 0; i < 20; i++) byBytes.set(`b${i}`, 'acct_1', v, '', Buffer.alloc(100));
      assert.equal(byBytes.sizeBytes, 800);
      assert.equal(byBytes.size, 8);
      assert.equal(byBytes.get('b11', 'acct_1', v, ''), undefined);
      assert.ok(byBytes.get('b12', 'acct_1', v, ''));
      byBytes.close();
      await db.insertInto('accounts').values({ id: 'acct_x', kind: 'anonymous', client_id: 'x', email: null, password_hash: null, created_at: 0 }).execute();
      assert.notEqual(cache.version(), v, 'a write moves the version');
      assert.equal(cache.get('m2', 'acct_1', cache.version(), ''), undefined);
    } finally {
      cache.close();
      await db.destroy();
    }
  });

  test('the default bounds are finite', () => {
    assert.ok(Number.isFinite(REPLY_CACHE_LIMITS.maxEntries) && REPLY_CACHE_LIMITS.maxEntries > 0);
    assert.ok(Number.isFinite(REPLY_CACHE_LIMITS.maxBytes) && REPLY_CACHE_LIMITS.maxBytes <= 64 * 1024 * 1024);
  });

  test('there is none on an in-memory database (no second connection could see its writes)', async () => {
    const db = await openSqlite(':memory:');
    try {
      assert.equal(await ReplyCache.open(db), undefined);
    } finally {
      await db.destroy();
    }
  });
});
