/**
 * The HTTP API on each storage backend: the real services and listener (startServer) over
 * SQLite and over Postgres, through the calls an agent makes before any job runs — token,
 * session, balance, state, register with bind, logout — and a burst of concurrent exports
 * that the credits can pay for only in part. (The whole seed workflow with the model on
 * Postgres runs in the cluster tests.)
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { dialectOf } from '../../src/storage/database.ts';
import { ATTRIBUTION, apiClient, newUser, startServer, type TestServer } from '../helpers/server.ts';
import { backends } from './backends.ts';

for (const backend of backends()) {
  describe(`HTTP API on ${backend.name}`, () => {
    let srv: TestServer;
    before(async () => {
      srv = await startServer({ database: await backend.url(), noWorkers: true });
    });
    after(async () => {
      await srv?.close();
      await backend.close();
    });

    test('the services run on this backend', () => {
      assert.equal(dialectOf(srv.svc.db), backend.name);
    });

    test('token → session → balance and state; register with bind moves the credits; logout ends the token', async () => {
      const u = await newUser(srv.url);
      const bal = await u.api.call('GET', '/api/credits/balance/simple');
      assert.deepEqual(bal.body.data, { available: 100, frozen: 0, total: 100 });
      const state = await u.api.call('GET', `/api/state/nemo_agent/me/${u.sessionId}/latest`);
      assert.equal(state.body.code, 0, JSON.stringify(state.body));
      assert.deepEqual(state.body.data.jobs, []);

      const reg = await u.api.call('POST', '/api/auth/register', {
        email: `api-${backend.name}@example.org`,
        password: 'correct horse battery',
        bind: u.accountId,
      });
      assert.equal(reg.body.code, 0, JSON.stringify(reg.body));
      const acct = apiClient(srv.url, reg.body.data.token);
      assert.deepEqual((await acct.call('GET', '/api/credits/balance/simple')).body.data, { available: 200, frozen: 0, total: 200 });
      assert.equal((await acct.call('GET', `/api/state/nemo_agent/me/${u.sessionId}/latest`)).body.code, 0, 'the bound session is the new account’s');
      assert.equal((await u.api.call('GET', '/api/credits/balance/simple')).body.code, 1001, 'the anonymous token is revoked');

      assert.equal((await acct.call('POST', '/api/auth/logout')).body.code, 0);
      const after = await acct.call('GET', '/api/credits/balance/simple');
      assert.equal(after.status, 401);
      assert.equal(after.body.code, 1001, 'revoked at once, on every backend');
    });

    test('someone else’s session is 1002 and an unknown token 1001', async () => {
      const a = await newUser(srv.url);
      const b = await newUser(srv.url);
      assert.equal((await b.api.call('GET', `/api/state/nemo_agent/me/${a.sessionId}/latest`)).body.code, 1002);
      assert.equal((await apiClient(srv.url, 'vs_unknown').call('GET', '/api/credits/balance/simple')).body.code, 1001);
    });

    test('concurrent renders with credits for some: the rest get 2001 and the balance is never negative', async () => {
      const u = await newUser(srv.url);
      const fd = new FormData();
      // A 60 s silent WAV: a render of it costs a credit or two a minute.
      const seconds = 60,
        rate = 8000;
      const wav = Buffer.alloc(44 + seconds * rate * 2);
      wav.write('RIFF', 0);
      wav.writeUInt32LE(36 + seconds * rate * 2, 4);
      wav.write('WAVEfmt ', 8);
      wav.writeUInt32LE(16, 16);
      wav.writeUInt16LE(1, 20);
      wav.writeUInt16LE(1, 22);
      wav.writeUInt32LE(rate, 24);
      wav.writeUInt32LE(rate * 2, 28);
      wav.writeUInt16LE(2, 32);
      wav.writeUInt16LE(16, 34);
      wav.write('data', 36);
      wav.writeUInt32LE(seconds * rate * 2, 40);
      fd.append('file', new Blob([new Uint8Array(wav)], { type: 'audio/wav' }), 'quiet.wav');
      const up = await u.api.call('POST', `/api/upload-video/nemo_agent/me/${u.sessionId}`, fd);
      assert.equal(up.body.code, 0, JSON.stringify(up.body));
      await srv.svc.ledger.grant(srv.svc.db, u.accountId, -95, 'test: leave 5');
      const results = await Promise.all(
        Array.from({ length: 10 }, () => u.api.call('POST', '/api/render/proxy/lambda', { session_id: u.sessionId }, ATTRIBUTION)),
      );
      const codes = results.map((r) => r.body.code);
      assert.ok(
        codes.every((c) => c === 0 || c === 2001),
        JSON.stringify(results.map((r) => r.body).find((b) => b.code !== 0 && b.code !== 2001)),
      );
      const queued = codes.filter((c) => c === 0).length;
      const b = (await u.api.call('GET', '/api/credits/balance/simple')).body.data as { available: number; frozen: number; total: number };
      assert.ok(queued >= 1 && queued < 10, `${queued} of 10 queued`);
      assert.equal(b.total, 5);
      assert.ok(b.available >= 0, `available ${b.available}`);
      const price = b.frozen / queued;
      assert.ok(Number.isInteger(price) && price >= 1, `each render holds the same whole price (${b.frozen} for ${queued})`);
      assert.ok(b.available < price, `as many queued as the credits pay for: ${b.available} left, a render costs ${price}`);
    });
  });
}
