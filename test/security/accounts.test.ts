/**
 * Issue 8, findings 1–6 (accounts) and `credits add … 1e300`, attacked against a real server:
 * binding someone else's account by its public id, binding through a link, tokens that outlive
 * a bind, login / refresh / logout, password rules, registrations by the hundred, binding with
 * jobs pending, a quadratic email check, and an absurd credit grant.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import vm from 'node:vm';
import { normalizeEmail } from '../../src/accounts/credentials.ts';
import { openServices } from '../../src/api/services.ts';
import { runCreditsAdd } from '../../src/cli/serve-command.ts';
import { SAMPLE_MP4 } from '../helpers/media.ts';
import { apiClient, form, newUser, oneClipDraft, startServer, type Api, type TestServer } from '../helpers/server.ts';

const ATTRIBUTION = { 'x-skill-source': 'test', 'x-skill-version': '1.0.0', 'x-skill-platform': 'node' };
let seq = 0;
const email = () => `user${Date.now()}.${++seq}@example.org`;
const PASSWORD = 'correct horse battery';

const balance = async (api: Api) => (await api.call('GET', '/api/credits/balance/simple')).body.data as { available: number; frozen: number; total: number };
const stateCode = async (api: Api, sessionId: string) => (await api.call('GET', `/api/state/nemo_agent/me/${sessionId}/latest`)).body.code;

/**
 * The /register page's own script, run as a browser would run it: a page at `search`, a
 * localStorage holding `stored` under `vidscribe.token`, the real server behind fetch.
 */
async function registerPage(base: string, search: string, stored: string | null) {
  const page = await (await fetch(`${base}/register${search}`)).text();
  const src = /<script src="([^"]+)"/.exec(page)?.[1];
  assert.ok(src, 'the page loads its script from a file');
  const script = await (await fetch(new URL(src, base))).text();
  const elements = new Map<
    string,
    {
      value: string;
      hidden: boolean;
      textContent: string;
      listeners: Record<string, (ev: unknown) => Promise<void>>;
      addEventListener(t: string, fn: (ev: unknown) => Promise<void>): void;
    }
  >();
  const el = (id: string) => {
    if (!elements.has(id))
      elements.set(id, {
        value: '',
        hidden: true,
        textContent: '',
        listeners: {},
        addEventListener(t, fn) {
          this.listeners[t] = fn;
        },
      });
    return elements.get(id)!;
  };
  const storage = new Map<string, string>(stored ? [['vidscribe.token', stored]] : []);
  vm.runInNewContext(script, {
    document: { getElementById: el },
    location: { search },
    localStorage: { getItem: (k: string) => storage.get(k) ?? null, setItem: (k: string, v: string) => storage.set(k, v) },
    fetch: (path: string, init: RequestInit) => fetch(new URL(path, base), init),
    URLSearchParams,
    JSON,
  });
  return {
    el,
    storage,
    async submit(fields: { email: string; password: string }) {
      el('email').value = fields.email;
      el('password').value = fields.password;
      await el('f').listeners.submit!({ preventDefault() {} });
      return el('out').textContent;
    },
  };
}

describe('accounts: binding, tokens, login', () => {
  let srv: TestServer;
  before(async () => {
    // Nothing runs: queued jobs stay queued, so holds can be read mid-flight.
    srv = await startServer({ asrSlots: 0, renderSlots: 0, registrationsPerHour: 1000, loginsPerHour: 1000 });
  });
  after(() => srv.close());

  test("finding 1: register with someone else's bind id and no token is refused; the victim keeps her credits and sessions", async () => {
    const victim = await newUser(srv.url);
    const stranger = apiClient(srv.url);
    const noToken = await stranger.call('POST', '/api/auth/register', { email: email(), password: PASSWORD, bind: victim.accountId });
    assert.deepEqual([noToken.status, noToken.body.code], [401, 1001], JSON.stringify(noToken.body));
    // With the attacker's own anonymous token, another account's id is refused too.
    const attacker = await newUser(srv.url);
    const ownToken = await apiClient(srv.url, attacker.api.token).call('POST', '/api/auth/register', {
      email: email(),
      password: PASSWORD,
      bind: victim.accountId,
    });
    assert.deepEqual([ownToken.status, ownToken.body.code], [400, 400], JSON.stringify(ownToken.body));
    assert.deepEqual(await balance(victim.api), { available: 100, frozen: 0, total: 100 });
    assert.equal(await stateCode(victim.api, victim.sessionId), 0, 'the victim still reaches her session');
    assert.equal(await stateCode(attacker.api, victim.sessionId), 1002);
  });

  test("finding 2: a /register?bind=<attacker id> link binds the account of the token this browser holds; the attacker's token opens nothing of hers", async () => {
    const attacker = await newUser(srv.url);
    const victim = await newUser(srv.url);
    const link = `?bind=${encodeURIComponent(attacker.accountId)}`;
    const html = await (await fetch(`${srv.url}/register${link}`)).text();
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script (the CSP would block it)');
    const browser = await registerPage(srv.url, link, victim.api.token!);
    const out = await browser.submit({ email: email(), password: PASSWORD });
    assert.match(out, /Account created/, out);
    assert.match(out, /another anonymous account/, 'the page says the link named someone else');
    const newToken = browser.storage.get('vidscribe.token')!;
    assert.notEqual(newToken, victim.api.token, 'the browser now holds the registered token');
    const account = apiClient(srv.url, newToken);
    assert.equal(await stateCode(account, victim.sessionId), 0, "the victim's own session moved to her new account");
    assert.deepEqual(await balance(account), { available: 200, frozen: 0, total: 200 });
    // The attacker's old token is still its own anonymous account: nothing of the victim's.
    const me = await attacker.api.call('GET', '/api/auth/me');
    assert.equal(me.body.data.account_id, attacker.accountId);
    assert.equal(await stateCode(attacker.api, victim.sessionId), 1002);
    assert.deepEqual(await balance(attacker.api), { available: 100, frozen: 0, total: 100 });
    // And the victim's own anonymous token no longer opens anything.
    assert.equal(await stateCode(victim.api, victim.sessionId), 1001);
  });

  test('finding 2: without a token in the browser, the page binds nothing', async () => {
    const attacker = await newUser(srv.url);
    const browser = await registerPage(srv.url, `?bind=${attacker.accountId}`, null);
    const warning = await browser.submit({ email: email(), password: PASSWORD });
    assert.match(warning, /no anonymous token/);
    const out = await browser.submit({ email: email(), password: PASSWORD });
    assert.match(out, /Account created/, out);
    assert.equal(await stateCode(attacker.api, attacker.sessionId), 0, "the attacker's account was not bound");
    const account = apiClient(srv.url, browser.storage.get('vidscribe.token'));
    assert.equal(await stateCode(account, attacker.sessionId), 1002);
  });

  test('finding 2: after a bind the anonymous token is revoked at once, even if it was just used', async () => {
    const u = await newUser(srv.url);
    assert.equal((await balance(u.api)).available, 100, 'the token is warm in the lookup cache');
    const reg = await apiClient(srv.url, u.api.token).call('POST', '/api/auth/register', { email: email(), password: PASSWORD, bind: u.accountId });
    assert.equal(reg.body.code, 0, JSON.stringify(reg.body));
    const after = await u.api.call('GET', '/api/credits/balance/simple');
    assert.deepEqual([after.status, after.body.code], [401, 1001]);
    // Binding again with the same token is refused: it opens nothing any more.
    const again = await apiClient(srv.url, u.api.token).call('POST', '/api/auth/register', { email: email(), password: PASSWORD, bind: u.accountId });
    assert.equal(again.body.code, 1001);
  });

  test('finding 3: login, refresh, logout; a revoked token is 1001 at once', async () => {
    const address = email();
    const reg = await apiClient(srv.url).call('POST', '/api/auth/register', { email: address, password: PASSWORD });
    assert.equal(reg.body.code, 0, JSON.stringify(reg.body));

    const wrong = await apiClient(srv.url).call('POST', '/api/auth/login', { email: address, password: 'not the password' });
    const unknown = await apiClient(srv.url).call('POST', '/api/auth/login', { email: `nobody.${address}`, password: 'not the password' });
    assert.deepEqual([wrong.status, wrong.body.code], [401, 1001]);
    assert.deepEqual(unknown.body, wrong.body, 'an unknown email and a wrong password get the same answer');

    const login = await apiClient(srv.url).call('POST', '/api/auth/login', { email: address.toUpperCase(), password: PASSWORD });
    assert.equal(login.body.code, 0, JSON.stringify(login.body));
    assert.equal(login.body.data.account_id, reg.body.data.account_id);
    const first = apiClient(srv.url, login.body.data.token);
    assert.equal((await balance(first)).available, 100);

    const refreshed = await first.call('POST', '/api/auth/refresh');
    assert.equal(refreshed.body.code, 0, JSON.stringify(refreshed.body));
    assert.equal((await first.call('GET', '/api/credits/balance/simple')).body.code, 1001, 'the refreshed token is revoked, despite the cache');
    const second = apiClient(srv.url, refreshed.body.data.token);
    assert.equal((await balance(second)).available, 100);

    assert.equal((await second.call('POST', '/api/auth/logout')).body.code, 0);
    const gone = await second.call('GET', '/api/credits/balance/simple');
    assert.deepEqual([gone.status, gone.body.code], [401, 1001]);
    assert.equal(
      (await apiClient(srv.url, reg.body.data.token).call('GET', '/api/credits/balance/simple')).body.code,
      0,
      'other tokens of the account live on',
    );
  });

  test('finding 3: an unknown email costs a password check too (no timing tell)', async () => {
    const address = email();
    assert.equal((await apiClient(srv.url).call('POST', '/api/auth/register', { email: address, password: PASSWORD })).body.code, 0);
    const time = async (who: string) => {
      const t = performance.now();
      await apiClient(srv.url).call('POST', '/api/auth/login', { email: who, password: 'not the password' });
      return performance.now() - t;
    };
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const known: number[] = [],
      unknown: number[] = [];
    for (let i = 0; i < 5; i++) {
      known.push(await time(address));
      unknown.push(await time(`nobody${i}.${address}`));
    }
    // A password check is tens of milliseconds, a lookup alone well under one: generous bound.
    assert.ok(median(unknown) > median(known) / 4, `unknown ${median(unknown).toFixed(1)} ms vs known ${median(known).toFixed(1)} ms`);
  });

  test('finding 3: password rules (8 to 1024 characters, not only spaces, no NUL or control characters)', async () => {
    const refused = ['short', ' '.repeat(12), '\u3000'.repeat(10), 'good password\u0000', 'tab\tin password', 'bell\u0007password', 'x'.repeat(1025)];
    for (const password of refused) {
      const r = await apiClient(srv.url).call('POST', '/api/auth/register', { email: email(), password });
      assert.deepEqual([r.status, r.body.code], [400, 400], `${JSON.stringify(password.slice(0, 20))}: ${JSON.stringify(r.body)}`);
    }
    for (const password of ['12345678', 'x'.repeat(1024), 'pass phrase with spaces', '密码是八个字符以上']) {
      const r = await apiClient(srv.url).call('POST', '/api/auth/register', { email: email(), password });
      assert.equal(r.body.code, 0, JSON.stringify(r.body));
    }
  });

  test('finding 5: bind with a queued render moves the job and its hold; cancelling it afterwards frees the credit on the new account', async () => {
    const u = await newUser(srv.url);
    const up = await u.api.call(
      'POST',
      `/api/upload-video/nemo_agent/me/${u.sessionId}`,
      form([{ name: 'jfk.mp4', body: readFileSync(SAMPLE_MP4), type: 'video/mp4' }]),
    );
    assert.equal(up.body.code, 0, JSON.stringify(up.body));
    const draft = oneClipDraft(up.body.data.media[0].id, { id: 'd1', w: 1920, h: 1080, d: 5000, fit: 'contain' });
    const renders = [];
    for (let i = 0; i < 2; i++) {
      const r = await u.api.call('POST', '/api/render/proxy/lambda', { session_id: u.sessionId, draft }, ATTRIBUTION);
      assert.equal(r.body.code, 0, JSON.stringify(r.body));
      renders.push(r.body.data.render_id as string);
    }
    // One of them a worker has already taken: it finishes after the bind. The other stays queued.
    const taken = await srv.svc.queue.claim('render');
    assert.ok(taken && renders.includes(taken.id));
    const waiting = renders.find((id) => id !== taken.id)!;
    assert.deepEqual(await balance(u.api), { available: 96, frozen: 4, total: 100 });

    const reg = await apiClient(srv.url, u.api.token).call('POST', '/api/auth/register', { email: email(), password: PASSWORD, bind: u.accountId });
    assert.equal(reg.body.code, 0, JSON.stringify(reg.body));
    const acct = apiClient(srv.url, reg.body.data.token);
    // The owner reaches both renders (not 4104), and what was held for them is held on the new account.
    assert.equal((await acct.call('GET', `/api/render/proxy/lambda/${waiting}`)).body.data?.status, 'queued');
    assert.equal((await acct.call('GET', `/api/render/proxy/lambda/${taken.id}`)).body.data?.status, 'rendering');
    assert.equal(reg.body.data.moved_jobs, 2);
    assert.deepEqual(await balance(acct), { available: 196, frozen: 4, total: 200 }, 'the held credits moved, still held');
    assert.deepEqual(await srv.svc.ledger.balance(srv.svc.db, u.accountId), { available: 0, frozen: 0, total: 0 }, 'nothing is left on the anonymous account');

    // Cancelling the queued one frees its credits on the new account.
    assert.equal((await acct.call('DELETE', `/api/render/proxy/lambda/${waiting}`)).body.data.status, 'cancelled');
    assert.deepEqual(await balance(acct), { available: 198, frozen: 2, total: 200 });

    // The running one finishes as its worker knew it, under the anonymous id: it is charged to, and owned by, the new account.
    const file = await srv.svc.sessions.addFile({
      accountId: taken.accountId,
      sessionId: taken.sessionId,
      jobId: taken.id,
      name: 'out.mp4',
      contentType: 'video/mp4',
      storeKey: 'x'.repeat(64),
      sizeBytes: 1,
    });
    await srv.svc.queue.complete(taken, { fileId: file.id, fileName: 'out.mp4', durationSec: 5, sizeBytes: 1 });
    const done = await acct.call('GET', `/api/render/proxy/lambda/${taken.id}`);
    assert.equal(done.body.data.status, 'completed', JSON.stringify(done.body));
    assert.equal((await srv.svc.sessions.file(file.id))?.accountId, reg.body.data.account_id);
    assert.deepEqual(await balance(acct), { available: 198, frozen: 0, total: 198 });
    assert.deepEqual(await srv.svc.ledger.balance(srv.svc.db, u.accountId), { available: 0, frozen: 0, total: 0 });
  });

  test('finding 6: a 120 kB and a 1 MB email are answered with 400 in under 2 s, and the server stays responsive', async () => {
    // Crafted to make a backtracking /^[^\s@]+@[^\s@]+\.[^\s@]+$/ quadratic: many dots, no valid end.
    for (const size of [60_000, 500_000]) {
      const hostile = `a@${'a.'.repeat(size)}@`;
      for (const path of ['/api/auth/register', '/api/auth/login']) {
        const t = performance.now();
        const r = await apiClient(srv.url).call('POST', path, { email: hostile, password: PASSWORD });
        const ms = performance.now() - t;
        assert.deepEqual([r.status, r.body.code], [400, 400], `${path}: ${r.body.message?.slice(0, 200)}`);
        assert.ok(ms < 2000, `${path} with a ${hostile.length}-character email took ${ms.toFixed(0)} ms`);
      }
    }
    for (const [field, value] of [
      ['password', 'x'.repeat(1025)],
      ['bind', 'a'.repeat(129)],
    ] as const) {
      const r = await apiClient(srv.url).call('POST', '/api/auth/register', { email: email(), password: PASSWORD, [field]: value });
      assert.deepEqual([r.status, r.body.code], [400, 400], field);
    }
  });

  test('finding 6: the email check is linear on any input (called directly, past the schema)', () => {
    const shapes = [
      `a@${'a.'.repeat(500_000)}@`,
      `${'a'.repeat(1_000_000)}@x`,
      `a@${'.'.repeat(1_000_000)}`,
      ` ${'@'.repeat(1_000_000)} `,
      `${'a@'.repeat(500_000)}`,
    ];
    for (const s of shapes) {
      const t = performance.now();
      assert.throws(() => normalizeEmail(s), { code: 400 });
      assert.ok(performance.now() - t < 500, `${s.length} characters`);
    }
    assert.equal(normalizeEmail('  Ada@Example.ORG '), 'ada@example.org');
    for (const bad of ['ada', 'ada@', '@example.org', 'ada@example', 'a@b@example.org', 'ada@example..org', 'a da@example.org', 'ada@example.org\u0000']) {
      assert.throws(() => normalizeEmail(bad), { code: 400 }, bad);
    }
  });
});

describe('accounts: rate limits and sign-up credits', () => {
  test('finding 4: 41 registrations from one address in an hour: 5 succeed, the rest get 429', async () => {
    const srv = await startServer({ asrSlots: 0, renderSlots: 0 });
    try {
      const results = await Promise.all(
        Array.from({ length: 41 }, () => apiClient(srv.url).call('POST', '/api/auth/register', { email: email(), password: PASSWORD })),
      );
      const codes = results.map((r) => r.body.code);
      assert.equal(codes.filter((c) => c === 0).length, 5, JSON.stringify(codes));
      assert.equal(results.filter((r) => r.status === 429 && r.body.code === 429).length, 36);
    } finally {
      await srv.close();
    }
  });

  test('finding 3: login is rate-limited per address', async () => {
    const srv = await startServer({ asrSlots: 0, renderSlots: 0, loginsPerHour: 3 });
    try {
      const codes: number[] = [];
      for (let i = 0; i < 5; i++)
        codes.push((await apiClient(srv.url).call('POST', '/api/auth/login', { email: 'ada@example.org', password: `guess ${i} guess` })).body.code);
      assert.deepEqual(codes, [1001, 1001, 1001, 429, 429]);
    } finally {
      await srv.close();
    }
  });

  test('refresh is rate-limited per account (each one leaves a revoked token row): 30 an hour, then 429; another account refreshes on', async () => {
    const srv = await startServer({ asrSlots: 0, renderSlots: 0 });
    try {
      const register = async () => {
        const r = await apiClient(srv.url).call('POST', '/api/auth/register', { email: email(), password: PASSWORD });
        assert.equal(r.body.code, 0, JSON.stringify(r.body));
        return r.body.data.token as string;
      };
      let token = await register();
      const codes: number[] = [];
      for (let i = 0; i < 32; i++) {
        const r = await apiClient(srv.url, token).call('POST', '/api/auth/refresh');
        codes.push(r.body.code);
        if (r.body.code === 0) token = r.body.data.token;
      }
      assert.deepEqual(codes.slice(28), [0, 0, 429, 429]);
      assert.equal((await apiClient(srv.url, await register()).call('POST', '/api/auth/refresh')).body.code, 0, 'counted per account, not per address');
      // A stranger's bad token is 1001, not a spend of anyone's allowance.
      assert.equal((await apiClient(srv.url, 'vs_nope').call('POST', '/api/auth/refresh')).body.code, 1001);
    } finally {
      await srv.close();
    }
  });

  test('finding 4: signupCredits sets the sign-up grant', async () => {
    const srv = await startServer({ asrSlots: 0, renderSlots: 0, signupCredits: 7 });
    try {
      const r = await apiClient(srv.url).call('POST', '/api/auth/register', { email: email(), password: PASSWORD });
      assert.equal(r.body.data.credits, 7);
    } finally {
      await srv.close();
    }
  });

  test('finding 3: an expired registered token is 1001; logging in gets a new one', async () => {
    let clock = Date.now();
    const srv = await startServer({ asrSlots: 0, renderSlots: 0, now: () => clock });
    try {
      const address = email();
      const reg = await apiClient(srv.url).call('POST', '/api/auth/register', { email: address, password: PASSWORD });
      const old = apiClient(srv.url, reg.body.data.token);
      assert.equal((await balance(old)).available, 100);
      clock += 31 * 24 * 3600_000;
      const expired = await old.call('GET', '/api/credits/balance/simple');
      assert.equal(expired.body.code, 1001);
      assert.match(expired.body.message, /log in/);
      assert.equal((await old.call('POST', '/api/auth/refresh')).body.code, 1001, 'an expired token cannot be refreshed');
      const login = await apiClient(srv.url).call('POST', '/api/auth/login', { email: address, password: PASSWORD });
      assert.equal(login.body.code, 0, JSON.stringify(login.body));
      assert.equal((await balance(apiClient(srv.url, login.body.data.token))).available, 100, 'back in, credits intact');
    } finally {
      await srv.close();
    }
  });
});

describe('an expired anonymous token', () => {
  test('is 1001, and its message offers only what still works: a new token (binding needs a valid one)', async () => {
    let clock = Date.now();
    const srv = await startServer({ asrSlots: 0, renderSlots: 0, now: () => clock });
    try {
      const anon = await newUser(srv.url);
      clock += 8 * 24 * 3600_000;
      const expired = await anon.api.call('GET', '/api/credits/balance/simple');
      assert.equal(expired.body.code, 1001);
      assert.match(expired.body.message, /get a new one/);
      assert.doesNotMatch(expired.body.message, /register to keep/, 'it said so, and binding then failed with 1001');
      const bind = await anon.api.call('POST', '/api/auth/register', { email: email(), password: PASSWORD, bind: anon.accountId });
      assert.equal(bind.body.code, 1001);
    } finally {
      await srv.close();
    }
  });
});

describe('credits add', () => {
  test('`credits add <acct> 1e300` and other non-counts are refused with a clear message', async () => {
    const data = mkdtempSync(join(tmpdir(), 'vidscribe-credits-'));
    try {
      const svc = await openServices({ dataDir: data, noWorkers: true });
      const t = await svc.accounts.anonymousToken('credits-test');
      await svc.close();
      for (const n of ['1e300', '1e3', '0x10', '1.5', '1000000001', '-1000000001', 'Infinity', '9007199254740993', '']) {
        await assert.rejects(
          runCreditsAdd(t.accountId, n, { data }),
          (e: { code?: number; message?: string }) => e.code === 400 && /whole number/.test(e.message ?? ''),
          n,
        );
      }
      const check = await openServices({ dataDir: data, noWorkers: true });
      assert.deepEqual(await check.ledger.balance(check.db, t.accountId), { available: 100, frozen: 0, total: 100 }, 'nothing was added');
      await check.close();
    } finally {
      rmSync(data, { recursive: true, force: true });
    }
  });
});
