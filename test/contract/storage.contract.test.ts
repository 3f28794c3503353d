/**
 * The storage contract: accounts and tokens, sessions and draft versions, and the credit ledger
 * behave the same on the embedded SQLite and on Postgres (a real Postgres 15, one per file). The
 * races SQLite avoids by running one writer at a time (a hold checked then inserted, one token per
 * client id, one account per email, one bind per token, two edits of one draft) are run here on
 * both, concurrently, through the real domain code.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Accounts, type Caller } from '../../src/accounts/accounts.ts';
import { CreditLedger, DEFAULT_PRICES } from '../../src/credits/ledger.ts';
import { SqlJobQueue } from '../../src/jobs/queue.ts';
import type { Draft } from '../../src/render/index.ts';
import { ErrorCode, VidscribeError } from '../../src/shared/errors.ts';
import { MIN_COUNTED_BYTES, Sessions } from '../../src/sessions/sessions.ts';
import { type Db, openDatabase, sql } from '../../src/storage/database.ts';
import { openServices } from '../../src/api/services.ts';
import { tempDir } from '../helpers/media.ts';
import { backends } from './backends.ts';

const PASSWORD = 'correct horse battery';
let seq = 0;
const email = () => `contract${++seq}@example.org`;

const codeOf = (e: unknown) => (e instanceof VidscribeError ? e.code : `not a VidscribeError: ${(e as Error)?.stack ?? String(e)}`);

async function rejectsWith(p: Promise<unknown>, code: number): Promise<void> {
  await assert.rejects(p, (e) => {
    assert.equal(codeOf(e), code);
    return true;
  });
}

function draft(title: string, d = 1000): Draft {
  return {
    id: 'd',
    version: 1,
    w: 640,
    h: 360,
    t: [
      { id: 'v', tt: 0, sg: [{ id: 'c', s: 0, d, src: 'med_x', m: { fit: 'contain' } }] },
      { id: 't', tt: 7, sg: [{ id: 'title', s: 0, d, m: { text: title, kind: 'title', position: 'center' } }] },
    ],
  } as Draft;
}

const databaseName = async (db: Db) => (await sql<{ name: string }>`select current_database() as name`.execute(db)).rows[0]?.name ?? '';

/** A fresh database with the domain objects over it, as openServices wires them. */
function domain(db: Db) {
  const ledger = new CreditLedger();
  return { db, ledger, accounts: new Accounts(db, ledger, DEFAULT_PRICES), sessions: new Sessions(db), queue: new SqlJobQueue(db, ledger) };
}

/** A transcription job of a minute's audio for `accountId`, holding `price` credits (no file behind it: the queue never runs it here). */
const enqueueMinute = (queue: SqlJobQueue, accountId: string, price: number) =>
  queue.enqueue({
    type: 'transcribe',
    accountId,
    sessionId: null,
    payload: { mediaId: null, storeKey: 'uploads/x.wav', name: 'x.wav', durationSec: 60, options: {} },
    price,
    noCreditsMessage: 'out of credits',
  });

for (const backend of backends()) {
  describe(`storage contract: ${backend.name}`, () => {
    after(() => backend.close());

    describe('accounts and tokens', () => {
      test('an anonymous token opens its account with the grant; a second one for the same client id is 429', async () => {
        const { accounts, ledger, db } = domain(await backend.open());
        const t = await accounts.anonymousToken('client-a');
        const caller = await accounts.authenticate(t.token);
        assert.equal(caller.accountId, t.accountId);
        assert.equal(caller.kind, 'anonymous');
        assert.deepEqual(await ledger.balance(db, t.accountId), { available: 100, frozen: 0, total: 100 });
        await rejectsWith(accounts.anonymousToken('client-a'), ErrorCode.RateLimited);
        await rejectsWith(accounts.authenticate('vs_nope'), ErrorCode.BadToken);
      });

      test('eight concurrent requests for one client id get exactly one token', async () => {
        const { accounts, db } = domain(await backend.open());
        const results = await Promise.allSettled(Array.from({ length: 8 }, () => accounts.anonymousToken('client-race')));
        assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
        for (const r of results) if (r.status === 'rejected') assert.equal(codeOf(r.reason), ErrorCode.RateLimited);
        const rows = await db.selectFrom('accounts').select('id').where('client_id', '=', 'client-race').execute();
        assert.equal(rows.length, 1);
      });

      test('register with bind moves the credits and revokes the anonymous token; login, refresh and logout', async () => {
        const { accounts, ledger, db } = domain(await backend.open());
        const anon = await accounts.anonymousToken('client-b');
        const binder = await accounts.authenticate(anon.token);
        const mail = email();
        const reg = await accounts.register({ email: mail, password: PASSWORD, bind: anon.accountId }, binder);
        assert.equal(reg.moved, 100);
        assert.deepEqual(await ledger.balance(db, reg.accountId), { available: 200, frozen: 0, total: 200 });
        assert.deepEqual(await ledger.balance(db, anon.accountId), { available: 0, frozen: 0, total: 0 });
        await rejectsWith(accounts.authenticate(anon.token), ErrorCode.BadToken);
        const me = await accounts.authenticate(reg.token);
        assert.deepEqual([me.accountId, me.kind], [reg.accountId, 'registered']);
        assert.equal((await accounts.describe(me)).email, mail);

        const login = await accounts.login({ email: mail, password: PASSWORD });
        assert.equal(login.accountId, reg.accountId);
        await rejectsWith(accounts.login({ email: mail, password: 'wrong password here' }), ErrorCode.BadToken);
        const refreshed = await accounts.refresh(await accounts.authenticate(login.token));
        await rejectsWith(accounts.authenticate(login.token), ErrorCode.BadToken);
        const caller = await accounts.authenticate(refreshed.token);
        await accounts.logout(caller);
        await rejectsWith(accounts.authenticate(refreshed.token), ErrorCode.BadToken);
        await rejectsWith(accounts.logout(caller), ErrorCode.BadToken);
        assert.equal((await accounts.authenticate(reg.token)).accountId, reg.accountId, 'other tokens of the account still open it');
        assert.equal(await accounts.resolveAccount(reg.token), reg.accountId);
      });

      test('two registrations racing with one email: one account, the other gets 400', async () => {
        const { accounts, db } = domain(await backend.open());
        const mail = email();
        const results = await Promise.allSettled(Array.from({ length: 4 }, () => accounts.register({ email: mail, password: PASSWORD })));
        assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
        for (const r of results) if (r.status === 'rejected') assert.equal(codeOf(r.reason), ErrorCode.BadRequest);
        assert.equal((await db.selectFrom('accounts').select('id').where('email', '=', mail).execute()).length, 1);
      });

      test('two registrations racing to bind one anonymous token: it binds once, its credits are moved once', async () => {
        const { accounts, ledger, db } = domain(await backend.open());
        const anon = await accounts.anonymousToken('client-c');
        const binder: Caller = await accounts.authenticate(anon.token);
        const results = await Promise.allSettled([
          accounts.register({ email: email(), password: PASSWORD, bind: anon.accountId }, binder),
          accounts.register({ email: email(), password: PASSWORD, bind: anon.accountId }, binder),
        ]);
        const won = results.filter((r) => r.status === 'fulfilled');
        assert.equal(won.length, 1);
        for (const r of results) if (r.status === 'rejected') assert.equal(codeOf(r.reason), ErrorCode.BadToken);
        const winner = (won[0] as PromiseFulfilledResult<{ accountId: string; moved: number }>).value;
        assert.equal(winner.moved, 100);
        assert.equal((await ledger.balance(db, winner.accountId)).total, 200);
        assert.equal((await db.selectFrom('accounts').select('id').where('kind', '=', 'registered').execute()).length, 1);
      });
    });

    test('a bind while a job of the account finishes: both go through (no deadlock), the charge lands on the new account', async () => {
      const { db, accounts, ledger, queue } = domain(await backend.open());
      const anon = await accounts.anonymousToken('client-bind-finish');
      const job = await enqueueMinute(queue, anon.accountId, 3);
      const binder = await accounts.authenticate(anon.token);
      let registered: Promise<{ accountId: string }> | undefined;
      // A job's end as the queue does it: its row first, then (a moment later, while the bind is under way) its hold.
      await db.transaction().execute(async (trx) => {
        await trx.updateTable('jobs').set({ state: 'completed', updated_at: Date.now() }).where('id', '=', job.id).execute();
        registered = accounts.register({ email: email(), password: PASSWORD, bind: anon.accountId }, binder);
        registered.catch(() => {});
        await new Promise((r) => setTimeout(r, 300));
        await ledger.settle(trx, job.id);
      });
      const reg = await registered!;
      assert.deepEqual(await ledger.balance(db, reg.accountId), { available: 197, frozen: 0, total: 197 });
      assert.deepEqual(await ledger.balance(db, anon.accountId), { available: 0, frozen: 0, total: 0 });
      assert.equal((await db.selectFrom('jobs').select('account_id').where('id', '=', job.id).executeTakeFirst())?.account_id, reg.accountId);
    });

    test('a reprice while the job ends: the end goes through, the reprice is refused (400, the job has finished), no deadlock', async () => {
      const { db, accounts, ledger, queue } = domain(await backend.open());
      const anon = await accounts.anonymousToken('client-reprice-end');
      const job = await enqueueMinute(queue, anon.accountId, 3);
      await db.updateTable('jobs').set({ state: 'running' }).where('id', '=', job.id).execute();
      let repriced: Promise<unknown> | undefined;
      await db.transaction().execute(async (trx) => {
        await trx.updateTable('jobs').set({ state: 'completed', updated_at: Date.now() }).where('id', '=', job.id).execute();
        // The queue's reprice: the hold, then the job's row.
        repriced = db.transaction().execute(async (t2) => {
          await ledger.adjustHold(t2, job.id, 5, 'out of credits');
          await t2.updateTable('jobs').set({ price: 5 }).where('id', '=', job.id).where('state', '=', 'running').execute();
        });
        repriced.catch(() => {});
        await new Promise((r) => setTimeout(r, 300));
        await ledger.settle(trx, job.id);
      });
      await rejectsWith(repriced!, ErrorCode.BadRequest);
      assert.deepEqual(await ledger.balance(db, anon.accountId), { available: 97, frozen: 0, total: 97 });
    });

    test('two settles racing on one job charge it once', async () => {
      const { db, accounts, ledger } = domain(await backend.open());
      const a = (await accounts.anonymousToken('client-settle-twice')).accountId;
      await db.transaction().execute((trx) => ledger.hold(trx, a, 'job_twice', 7, 'out of credits'));
      let second: Promise<void> | undefined;
      await db.transaction().execute(async (trx) => {
        await ledger.settle(trx, 'job_twice');
        // Another settle starts while this one is not yet committed.
        second = db.transaction().execute((t2) => ledger.settle(t2, 'job_twice'));
        second.catch(() => {});
        await new Promise((r) => setTimeout(r, 200));
      });
      await second;
      assert.deepEqual(await ledger.balance(db, a), { available: 93, frozen: 0, total: 93 });
      assert.equal((await db.selectFrom('ledger').select('id').where('job_id', '=', 'job_twice').execute()).length, 1);
    });

    describe('sessions and draft versions', () => {
      test('a session is its account’s only; edits are versions that undo and redo restore exactly', async () => {
        const { accounts, sessions } = domain(await backend.open());
        const a = await accounts.anonymousToken('client-s1');
        const b = await accounts.anonymousToken('client-s2');
        const s = await sessions.create(a.accountId, { agent: 'nemo_agent', taskName: 'Interview', language: 'en' });
        assert.equal((await sessions.get(a.accountId, s.id)).taskName, 'Interview');
        await rejectsWith(sessions.get(b.accountId, s.id), ErrorCode.SessionNotFound);
        const odd = await sessions.create(a.accountId, { agent: 'nemo_agent', taskName: 'before\u0000after 采访 🎙', language: 'zh' });
        assert.equal((await sessions.get(a.accountId, odd.id)).taskName, 'beforeafter 采访 🎙', 'stored alike on both (Postgres text cannot hold NUL)');

        await sessions.commitDraft(s.id, draft('one'));
        await sessions.commitDraft(s.id, draft('two'));
        await sessions.commitDraft(s.id, draft('three'));
        assert.deepEqual(await sessions.draftHistory(s.id), { versions: 3, cursor: 3, canUndo: true, canRedo: false });
        assert.deepEqual(await sessions.undoDraft(s.id, 2), draft('one'));
        assert.deepEqual(await sessions.draft(s.id), draft('one'));
        assert.deepEqual(await sessions.redoDraft(s.id), draft('two'));
        await sessions.commitDraft(s.id, draft('four'));
        assert.deepEqual(await sessions.draftHistory(s.id), { versions: 3, cursor: 3, canUndo: true, canRedo: false }, 'the redo branch is dropped');
        assert.equal(await sessions.redoDraft(s.id), undefined);
      });

      test('media keep their upload order and land on the draft; concurrent edits of one session all become versions', async () => {
        const { accounts, sessions } = domain(await backend.open());
        const a = await accounts.anonymousToken('client-s3');
        const s = await sessions.create(a.accountId, { agent: 'nemo_agent' });
        const media = (name: string) => ({
          name,
          kind: 'video' as const,
          storeKey: `k/${name}`,
          sizeBytes: 3_000_000_000,
          info: {
            path: `/tmp/${name}`,
            sizeBytes: 3_000_000_000,
            container: 'mov,mp4,m4a,3gp,3g2,mj2',
            durationSec: 2,
            audio: [{ audioIndex: 0, streamIndex: 1, codec: 'aac', channels: 2, sampleRate: 48000 }],
            video: [{ streamIndex: 0, codec: 'h264', width: 640, height: 360, fps: 25 }],
          },
        });
        const { items, draft: placed } = await sessions.addMediaToDraft(s, [media('a.mp4'), media('b.mp4')]);
        assert.equal(items.length, 2);
        assert.ok(placed, 'the uploads made a draft');
        const listed = await sessions.media(s.id);
        assert.deepEqual(
          listed.map((m) => [m.name, m.sizeBytes]),
          [
            ['a.mp4', 3_000_000_000],
            ['b.mp4', 3_000_000_000],
          ],
          'sizes past 2^31 survive',
        );
        const titles = Array.from({ length: 6 }, (_, i) => `edit ${i}`);
        await Promise.all(titles.map((t) => sessions.commitDraft(s.id, draft(t))));
        const h = await sessions.draftHistory(s.id);
        assert.equal(h.versions, 7, 'the upload draft and six edits, none lost');
        assert.equal(h.cursor, 7);
        const current = await sessions.draft(s.id);
        assert.ok(titles.includes((current?.t[1]?.sg[0]?.m as { text?: string })?.text ?? ''), 'the current draft is the last edit');
      });
    });

    test("an account's storage quota counts all its sessions, exactly, also when eight uploads race; another account's is its own", async () => {
      const { accounts, sessions } = domain(await backend.open());
      const media = (name: string, sizeBytes: number) => ({
        name,
        kind: 'audio' as const,
        storeKey: `k/${name}`,
        sizeBytes,
        info: {
          path: `/tmp/${name}`,
          sizeBytes,
          container: 'wav',
          durationSec: 2,
          audio: [{ audioIndex: 0, streamIndex: 0, codec: 'pcm_s16le', channels: 1, sampleRate: 16000 }],
          video: [],
        },
      });
      // Sizes in units of 100 kB: every upload here is over the 64 kB floor.
      const K = 100_000;
      const quota = { quotaBytes: 1000 * K };
      const a = await accounts.anonymousToken('client-quota-a');
      const [s1, s2] = [await sessions.create(a.accountId, { agent: 'nemo_agent' }), await sessions.create(a.accountId, { agent: 'nemo_agent' })];
      await sessions.addMediaToDraft(s1, [media('a.wav', 600 * K)], quota);
      await rejectsWith(sessions.addMediaToDraft(s2, [media('b.wav', 300 * K), media('c.wav', 200 * K)], quota), ErrorCode.FileTooLarge);
      assert.deepEqual(await sessions.media(s2.id), [], 'a refused upload records nothing');
      await sessions.addMediaToDraft(s2, [media('d.wav', 400 * K)], quota);
      assert.equal(await sessions.uploadedBytes(a.accountId), 1000 * K, 'exactly full');
      // Eight uploads of 300 to eight sessions at once: three fit, whatever the order.
      const b = await accounts.anonymousToken('client-quota-b');
      const bs = await Promise.all(Array.from({ length: 8 }, () => sessions.create(b.accountId, { agent: 'nemo_agent' })));
      const raced = await Promise.allSettled(bs.map((s, i) => sessions.addMediaToDraft(s, [media(`r${i}.wav`, 300 * K)], quota)));
      assert.equal(raced.filter((r) => r.status === 'fulfilled').length, 3, 'three of eight racing uploads fit');
      for (const r of raced) if (r.status === 'rejected') assert.equal(codeOf(r.reason), ErrorCode.FileTooLarge);
      assert.equal(await sessions.uploadedBytes(b.accountId), 900 * K);
      // A tiny file counts for 64 kB: a quota of 1 MB holds 16 of them, not 10 000.
      const c = await accounts.anonymousToken('client-quota-c');
      const sc = await sessions.create(c.accountId, { agent: 'nemo_agent' });
      const tiny = Array.from({ length: 16 }, (_, i) => media(`t${i}.png`, 94));
      await sessions.addMediaToDraft(sc, tiny, { quotaBytes: 16 * MIN_COUNTED_BYTES });
      assert.equal(await sessions.uploadedBytes(c.accountId), 16 * MIN_COUNTED_BYTES);
      await rejectsWith(sessions.addMediaToDraft(sc, [media('t16.png', 94)], { quotaBytes: 16 * MIN_COUNTED_BYTES }), ErrorCode.FileTooLarge);
    });

    test("a session's draft versions keep at most 10 million characters: the oldest go, the current stays, undo still works", async () => {
      const { accounts, sessions, db } = domain(await backend.open());
      const a = await accounts.anonymousToken('client-versions');
      const s = await sessions.create(a.accountId, { agent: 'nemo_agent' });
      // 240 titles of 1 000 characters: a draft of about a quarter of a million, the most text one holds.
      const big = (n: number): Draft => ({
        id: 'd',
        version: 1,
        w: 640,
        h: 360,
        t: [
          {
            id: 't',
            tt: 7,
            sg: Array.from({ length: 240 }, (_, i) => ({
              id: `s${i}`,
              s: i * 1000,
              d: 1000,
              m: { text: `${n} `.padEnd(1000, 'x'), kind: 'title' as const, position: 'center' as const },
            })),
          },
        ],
      });
      for (let n = 0; n < 45; n++) await sessions.commitDraft(s.id, big(n));
      const h = await sessions.draftHistory(s.id);
      const { rows } = await sql<{ n: number }>`select coalesce(sum(length(draft)), 0) as n from draft_versions where session_id = ${s.id}`.execute(db);
      assert.ok(Number(rows[0]!.n) <= Sessions.DRAFT_VERSION_CHARS_KEPT, `${rows[0]!.n} characters kept`);
      assert.ok(h.versions >= 30 && h.versions < 45, `${h.versions} versions kept`);
      assert.equal(h.cursor, 45);
      const back = await sessions.undoDraft(s.id);
      assert.match(((back?.t[0]?.sg[0]?.m ?? {}) as { text?: string }).text ?? '', /^43 /);
    });

    test('a session holds at most its cap of uploads: the upload that would pass it is 400 and records nothing', async () => {
      const { db, accounts } = domain(await backend.open());
      const sessions = new Sessions(db, Date.now, { mediaPerSession: 3 });
      const a = await accounts.anonymousToken('client-media-cap');
      const s = await sessions.create(a.accountId, { agent: 'nemo_agent' });
      const item = (name: string) => ({
        name,
        kind: 'audio' as const,
        storeKey: `k/${name}`,
        sizeBytes: 1000,
        info: { path: `/tmp/${name}`, sizeBytes: 1000, container: 'wav', durationSec: 2, audio: [], video: [] },
      });
      await sessions.addMediaToDraft(s, [item('a.wav'), item('b.wav')]);
      await rejectsWith(sessions.addMediaToDraft(s, [item('c.wav'), item('d.wav')]), ErrorCode.BadRequest);
      assert.equal((await sessions.media(s.id)).length, 2);
      await sessions.addMediaToDraft(s, [item('c.wav')]);
      assert.equal((await sessions.media(s.id)).length, 3);
    });

    test('an account keeps at most its cap of sessions, also when they are opened at once; the next is 429; another account opens its own', async () => {
      const { db, accounts } = domain(await backend.open());
      const sessions = new Sessions(db, Date.now, { sessionsPerAccount: 3 });
      const a = await accounts.anonymousToken('client-sessions-a');
      const opened = await Promise.allSettled(Array.from({ length: 6 }, () => sessions.create(a.accountId, { agent: 'nemo_agent' })));
      assert.equal(opened.filter((r) => r.status === 'fulfilled').length, 3);
      for (const r of opened) if (r.status === 'rejected') assert.equal(codeOf(r.reason), ErrorCode.RateLimited);
      await rejectsWith(sessions.create(a.accountId, { agent: 'nemo_agent' }), ErrorCode.RateLimited);
      const b = await accounts.anonymousToken('client-sessions-b');
      await sessions.create(b.accountId, { agent: 'nemo_agent' });
    });

    test('the schema: SQLite’s tables exactly as before Postgres existed (old databases need no rebuild); Postgres with its own integer widths', async () => {
      const db = await backend.open();
      if (backend.name === 'sqlite') {
        const { rows } = await sql<{ name: string; sql: string }>`select name, sql from sqlite_master where type = 'table'`.execute(db);
        const ddl = Object.fromEntries(rows.map((r) => [r.name, r.sql]));
        assert.equal(
          ddl.ledger,
          'CREATE TABLE "ledger" ("id" integer primary key autoincrement, "account_id" text not null references "accounts" ("id"), "delta" integer not null, "reason" text not null, "job_id" text, "created_at" bigint not null)',
        );
        assert.match(ddl.media ?? '', /"size_bytes" integer not null/);
        assert.match(ddl.files ?? '', /"size_bytes" integer not null/);
        assert.match(ddl.jobs ?? '', /"progress" real default 0 not null/);
      } else {
        const { rows } = await sql<{ t: string; c: string; type: string; identity: string }>`select table_name as t, column_name as c, data_type as type,
          is_identity as identity from information_schema.columns where table_schema = 'public'`.execute(db);
        const col = (t: string, c: string) => rows.find((r) => r.t === t && r.c === c);
        assert.deepEqual([col('ledger', 'id')?.type, col('ledger', 'id')?.identity], ['bigint', 'YES']);
        assert.equal(col('media', 'size_bytes')?.type, 'bigint');
        assert.equal(col('files', 'size_bytes')?.type, 'bigint');
        assert.equal(col('jobs', 'progress')?.type, 'double precision');
        assert.ok(
          rows.filter((r) => r.c.endsWith('_at')).every((r) => r.type === 'bigint'),
          'times are bigint epoch ms',
        );
      }
    });

    if (backend.name === 'postgres') {
      test('a token logged out through one API node is refused at once by another (no per-process token cache on Postgres)', async () => {
        const db = await backend.open();
        const ledger = new CreditLedger();
        const [nodeA, nodeB] = [new Accounts(db, ledger), new Accounts(db, ledger)];
        const t = await nodeA.anonymousToken('client-two-nodes');
        const reg = await nodeA.register({ email: email(), password: PASSWORD, bind: t.accountId }, await nodeA.authenticate(t.token));
        assert.equal((await nodeB.authenticate(reg.token)).accountId, reg.accountId, 'node B has looked it up (and would have cached it)');
        await nodeA.logout(await nodeA.authenticate(reg.token));
        await rejectsWith(nodeB.authenticate(reg.token), ErrorCode.BadToken);
        await rejectsWith(nodeB.authenticate(t.token), ErrorCode.BadToken);
      });

      test('processes starting together on an empty database migrate it once', async () => {
        const url = await backend.url();
        const dbs = await Promise.all(Array.from({ length: 4 }, () => openDatabase(url, '/nonexistent')));
        try {
          const { rows } = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(dbs[0]!);
          const names = rows.map((r) => r.name);
          assert.equal(new Set(names).size, names.length, 'each migration recorded once');
          assert.ok(names.includes('001_initial') && names.includes('003_draft_versions'), names.join());
        } finally {
          for (const db of dbs) await db.destroy();
        }
      });

      test('a process holds at most --db-pool connections: six queries at once on a pool of 2 share two, on the default pool six', async () => {
        const dir = tempDir('db-pool-');
        const small = await openServices({ dataDir: dir, database: await backend.url(), dbPool: 2, noWorkers: true });
        const usual = await openDatabase(await backend.url(), dir);
        try {
          const backends = async (db: Db) => {
            const rows = await Promise.all(
              Array.from({ length: 6 }, () => sql<{ pid: number }>`select pg_backend_pid() as pid from pg_sleep(0.2)`.execute(db)),
            );
            return new Set(rows.map((r) => r.rows[0]!.pid)).size;
          };
          assert.equal(await backends(small.db), 2);
          assert.equal(await backends(usual), 6);
        } finally {
          await small.close();
          await usual.destroy();
        }
      });

      test('a pooled connection the server ends while idle is replaced: the process lives on and the next query works', async () => {
        const { db, ledger, accounts } = domain(await backend.open());
        const a = (await accounts.anonymousToken('client-idle')).accountId;
        await Promise.all(Array.from({ length: 4 }, () => ledger.balance(db, a)));
        const killer = await backend.open();
        const { rows } = await sql<{ n: number }>`select count(pg_terminate_backend(pid))::int as n from pg_stat_activity
          where datname = ${await databaseName(db)} and pid <> pg_backend_pid()`.execute(killer);
        assert.ok((rows[0]?.n ?? 0) >= 1, 'the pool had idle connections to end');
        await new Promise((r) => setTimeout(r, 200));
        assert.deepEqual(await ledger.balance(db, a), { available: 100, frozen: 0, total: 100 });
      });
    }

    describe('credit ledger', () => {
      test('grant, hold, adjustHold, settle, release and transferAll keep available = total − frozen', async () => {
        const { db, ledger, accounts } = domain(await backend.open());
        const a = (await accounts.anonymousToken('client-l1')).accountId;
        const b = (await accounts.anonymousToken('client-l2')).accountId;
        await ledger.grant(db, a, 20, 'test');
        assert.deepEqual(await ledger.balance(db, a), { available: 120, frozen: 0, total: 120 });
        await db.transaction().execute((trx) => ledger.hold(trx, a, 'j1', 30, 'no credits'));
        await db.transaction().execute((trx) => ledger.hold(trx, a, 'j2', 50, 'no credits'));
        assert.deepEqual(await ledger.balance(db, a), { available: 40, frozen: 80, total: 120 });
        await rejectsWith(
          db.transaction().execute((trx) => ledger.hold(trx, a, 'j3', 41, 'no credits')),
          ErrorCode.NoCredits,
        );
        await rejectsWith(
          db.transaction().execute((trx) => ledger.adjustHold(trx, 'j1', 71, 'no credits')),
          ErrorCode.NoCredits,
        );
        await db.transaction().execute((trx) => ledger.adjustHold(trx, 'j1', 70, 'no credits'));
        assert.deepEqual(await ledger.balance(db, a), { available: 0, frozen: 120, total: 120 });
        await db.transaction().execute((trx) => ledger.adjustHold(trx, 'j1', 10, 'no credits'));
        await db.transaction().execute((trx) => ledger.settle(trx, 'j1'));
        await db.transaction().execute((trx) => ledger.settle(trx, 'j1'));
        assert.deepEqual(await ledger.balance(db, a), { available: 60, frozen: 50, total: 110 }, 'settled once');
        await db.transaction().execute((trx) => ledger.release(trx, 'j2'));
        await db.transaction().execute((trx) => ledger.release(trx, 'j2'));
        assert.deepEqual(await ledger.balance(db, a), { available: 110, frozen: 0, total: 110 });
        await db.transaction().execute((trx) => ledger.hold(trx, a, 'j3', 25, 'no credits'));
        const moved = await db.transaction().execute((trx) => ledger.transferAll(trx, a, b));
        assert.deepEqual(moved, { available: 85, frozen: 25 });
        assert.deepEqual(await ledger.balance(db, a), { available: 0, frozen: 0, total: 0 });
        assert.deepEqual(await ledger.balance(db, b), { available: 185, frozen: 25, total: 210 });
        await db.transaction().execute((trx) => ledger.settle(trx, 'j3'));
        assert.deepEqual(await ledger.balance(db, b), { available: 185, frozen: 0, total: 185 }, 'a moved hold is charged to its new account');
        await assert.rejects(ledger.grant(db, a, 0.5, 'x'), (e) => codeOf(e) === ErrorCode.BadRequest);
      });

      test('the credits race: 2N concurrent enqueues with credits for N queue exactly N, the rest 2001, the balance never below zero', async () => {
        const N = 12;
        const { db, ledger, accounts, queue } = domain(await backend.open());
        const a = (await accounts.anonymousToken('client-race-credits')).accountId;
        await ledger.grant(db, a, N - 100, 'test: leave N');
        assert.equal((await ledger.balance(db, a)).available, N);
        let lowest = Number.POSITIVE_INFINITY;
        let racing = true;
        const watcher = (async () => {
          while (racing) {
            lowest = Math.min(lowest, (await ledger.balance(db, a)).available);
            await new Promise((r) => setImmediate(r));
          }
        })();
        const results = await Promise.allSettled(Array.from({ length: 2 * N }, () => enqueueMinute(queue, a, 1)));
        racing = false;
        await watcher;
        assert.equal(results.filter((r) => r.status === 'fulfilled').length, N);
        for (const r of results) if (r.status === 'rejected') assert.equal(codeOf(r.reason), ErrorCode.NoCredits);
        const jobs = await db.selectFrom('jobs').select(['id', 'state']).where('account_id', '=', a).execute();
        assert.equal(jobs.length, N, 'a refused job leaves no row (its hold and its enqueue are one transaction)');
        assert.ok(jobs.every((j) => j.state === 'queued'));
        assert.deepEqual(await ledger.balance(db, a), { available: 0, frozen: N, total: N });
        assert.ok(lowest >= 0, `the balance went to ${lowest}`);
      });
    });
  });
}
