/**
 * The job queue contract, on the embedded SQLite and on a real Postgres 15: claim order, a job is
 * claimed once however many workers claim at once, leases (a dead worker's job goes to another,
 * at most max_attempts times, then fails with its hold released), a worker that lost its lease can
 * neither complete nor charge, and events and cancels published by one process reach another.
 *
 * "Two processes" are, on Postgres, two database connections (two pools) with a queue and a bus
 * each, as two `serve` processes have; their events travel over LISTEN/NOTIFY. A SQLite database
 * belongs to one process, so there the queues share its connection and in-process bus (the poison
 * job test runs real separate worker processes on both).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import { Accounts } from '../../src/accounts/accounts.ts';
import { CreditLedger, DEFAULT_PRICES } from '../../src/credits/ledger.ts';
import { InProcessJobEvents, PostgresJobEvents, type JobEvent, type JobEvents } from '../../src/jobs/events.ts';
import { type Job, type QueueOptions, SESSION_JOBS_LISTED, SqlJobQueue } from '../../src/jobs/queue.ts';
import { Sessions } from '../../src/sessions/sessions.ts';
import { JobRunner } from '../../src/jobs/runner.ts';
import type { TranscribeJobPayload } from '../../src/jobs/types.ts';
import { cancelJob, waitForJob } from '../../src/jobs/wait.ts';
import { ErrorCode, VidscribeError } from '../../src/shared/errors.ts';
import { type Db, openDatabase, sql } from '../../src/storage/database.ts';
import { backends } from './backends.ts';

const CRASHING_WORKER = fileURLToPath(new URL('./crashing-worker.ts', import.meta.url));

const payload = (name: string): TranscribeJobPayload => ({ mediaId: null, storeKey: `key-${name}`, name, durationSec: 30, options: {} });
const result = (n: number) => ({ transcriptId: `tr_${n}`, language: 'en', durationSec: 30, words: n });

/** A clock the test moves: leases expire when the test says so, not after a wait. */
function manualClock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

const codeOf = (e: unknown) => (e instanceof VidscribeError ? e.code : `not a VidscribeError: ${String(e)}`);

for (const backend of backends()) {
  describe(`queue contract: ${backend.name}`, () => {
    const scratch = mkdtempSync(join(tmpdir(), 'vidscribe-queue-contract-'));
    const toClose: { close(): Promise<void> }[] = [];
    after(async () => {
      for (const c of toClose.splice(0).reverse()) await c.close();
      await backend.close();
      rmSync(scratch, { recursive: true, force: true });
    });

    /** One database seen by `n` processes: each has its own connection, bus and queue. */
    async function deployment(n: number, opts: QueueOptions & { clock?: () => number } = {}) {
      const url = await backend.url();
      // SQLite: one process, one connection (better-sqlite3 waits for a lock synchronously, so two in one process would wait on each other).
      const sqlite = backend.name === 'sqlite' ? { db: await openDatabase(url, scratch), events: new InProcessJobEvents() } : undefined;
      if (sqlite) toClose.push({ close: () => sqlite.db.destroy() }, sqlite.events);
      const nodes: { db: Db; events: JobEvents; queue: SqlJobQueue }[] = [];
      for (let i = 0; i < n; i++) {
        const db = sqlite?.db ?? (await openDatabase(url, scratch));
        const events = sqlite?.events ?? (await PostgresJobEvents.open(url, db));
        if (!sqlite) toClose.push({ close: () => db.destroy() }, events);
        const ledger = new CreditLedger();
        nodes.push({ db, events, queue: new SqlJobQueue(db, ledger, opts.clock, { ...opts, events, workerId: `node${i}` }) });
      }
      const first = nodes[0]!;
      const accounts = new Accounts(first.db, new CreditLedger(), DEFAULT_PRICES);
      const { accountId } = await accounts.anonymousToken(`client-${Math.random()}`);
      const ledger = new CreditLedger();
      const balance = () => ledger.balance(first.db, accountId);
      const enqueue = (queue: SqlJobQueue, name: string, price = 1) =>
        queue.enqueue({ type: 'transcribe', accountId, sessionId: null, payload: payload(name), price, noCreditsMessage: 'no credits' });
      return { nodes, accountId, balance, enqueue, url };
    }

    test('an account starts at most jobsPerHour jobs an hour: the next is 429 with no row and no hold; an hour later it may again', async () => {
      const clock = manualClock();
      const { nodes, enqueue, balance, accountId } = await deployment(1, { clock: clock.now, jobsPerHour: 3 });
      const { queue, db } = nodes[0]!;
      for (let i = 0; i < 3; i++) await queue.cancel((await enqueue(queue, `h${i}`)).id);
      const before = await balance();
      await assert.rejects(enqueue(queue, 'h3'), (e) => codeOf(e) === ErrorCode.RateLimited);
      assert.deepEqual(await balance(), before, 'nothing held');
      const rows = await db.selectFrom('jobs').select('id').where('account_id', '=', accountId).execute();
      assert.equal(rows.length, 3, 'the refused job left no row');
      clock.advance(3600_000 + 1);
      await enqueue(queue, 'h4');
    });

    test("a session's job list is its newest 100, oldest first, without payloads", async () => {
      // A job a millisecond: jobs of one millisecond have no order between them.
      const clock = manualClock();
      const { nodes, accountId } = await deployment(1, { clock: clock.now });
      const { queue, db } = nodes[0]!;
      const session = await new Sessions(db).create(accountId, { agent: 'nemo_agent' });
      const ids: string[] = [];
      for (let i = 0; i < SESSION_JOBS_LISTED + 5; i++) {
        clock.advance(1);
        const job = await queue.enqueue({
          type: 'transcribe',
          accountId,
          sessionId: session.id,
          payload: payload(`l${i}`),
          price: 1,
          noCreditsMessage: 'no credits',
        });
        await queue.cancel(job.id);
        ids.push(job.id);
      }
      const listed = await queue.listForSession(session.id);
      assert.deepEqual(
        listed.map((j) => j.id),
        ids.slice(5),
      );
      assert.ok(listed.every((j) => !('payload' in j) && j.state === 'cancelled'));
    });

    test("one-off uploads (no session) are summed in the database, each counted as at least the floor; a session's, or one of old with no size, are not", async () => {
      const { nodes, accountId } = await deployment(1);
      const { queue, db } = nodes[0]!;
      const session = await new Sessions(db).create(accountId, { agent: 'nemo_agent' });
      const one = (sizeBytes: number | undefined, sessionId: string | null = null) =>
        queue.enqueue({
          type: 'transcribe',
          accountId,
          sessionId,
          payload: { ...payload(`o${sizeBytes}`), ...(sizeBytes !== undefined ? { sizeBytes } : {}) },
          price: 1,
          noCreditsMessage: 'no credits',
        });
      assert.deepEqual(await queue.oneOffUploads(accountId, 65_536), { files: 0, bytes: 0 });
      await one(1000);
      await one(3_000_000_000);
      await one(undefined);
      await one(5000, session.id);
      assert.deepEqual(await queue.oneOffUploads(accountId, 65_536), { files: 2, bytes: 65_536 + 3_000_000_000 });
      assert.deepEqual(await queue.oneOffUploads(accountId), { files: 2, bytes: 1000 + 3_000_000_000 });
    });

    test('forgetUpload: an ended one-off job whose file was removed is no longer counted; a queued one is left as it is', async () => {
      const { nodes, accountId } = await deployment(1);
      const { queue } = nodes[0]!;
      const one = (name: string, sizeBytes: number) =>
        queue.enqueue({
          type: 'transcribe',
          accountId,
          sessionId: null,
          payload: { ...payload(name), sizeBytes, ownBlob: true },
          price: 1,
          noCreditsMessage: 'no credits',
        });
      const ended = await one('ended', 7000);
      const waiting = await one('waiting', 9000);
      await queue.cancel(ended.id);
      assert.deepEqual(await queue.oneOffUploads(accountId), { files: 2, bytes: 16_000 });
      assert.equal(await queue.forgetUpload(waiting.id), false, 'a queued job may still read its file');
      assert.equal(await queue.forgetUpload(ended.id), true);
      assert.deepEqual(await queue.oneOffUploads(accountId), { files: 1, bytes: 9000 });
      assert.deepEqual((await queue.get(ended.id))?.payload, { ...payload('ended'), sizeBytes: 7000, ownBlob: true }, 'the payload is as it was');
      assert.equal(await queue.forgetUpload(ended.id), true, 'twice is harmless');
      assert.deepEqual(await queue.oneOffUploads(accountId), { files: 1, bytes: 9000 });
    });

    test('endedOneOffUploads: ended one-off jobs (completed, failed or cancelled) still counted, in id order after a cursor; a payload no SQL can parse is no matter', async () => {
      const clock = manualClock();
      const { nodes, accountId } = await deployment(1, { clock: clock.now });
      const { queue, db } = nodes[0]!;
      const session = await new Sessions(db).create(accountId, { agent: 'nemo_agent' });
      const one = (name: string, extra: object, sessionId: string | null = null) => {
        clock.advance(1); // claimed in this order
        return queue.enqueue({ type: 'transcribe', accountId, sessionId, payload: { ...payload(name), ...extra }, price: 1, noCreditsMessage: 'no credits' });
      };
      // A prompt with a NUL, escaped in the payload's JSON: Postgres refused to read any key of such a payload.
      const done = await one('done', { sizeBytes: 10, ownBlob: true });
      const failed = await one('failed', { sizeBytes: 20, ownBlob: true });
      const nul = await one('nul', { sizeBytes: 5, ownBlob: true, options: { initialPrompt: 'a\u0000b' } });
      const forgotten = await one('forgotten', { sizeBytes: 30, ownBlob: true });
      const shared = await one('shared', { sizeBytes: 40 }); // of before ownBlob: still counted until it ends
      const ofSession = await one('session', { sizeBytes: 50, ownBlob: true }, session.id);
      await one('waiting', { sizeBytes: 60, ownBlob: true });
      assert.deepEqual(await queue.oneOffUploads(accountId), { files: 6, bytes: 165 });
      // Claimed oldest first.
      for (const j of [done, failed]) assert.equal((await queue.claim('transcribe'))?.id, j.id);
      await queue.complete((await queue.get(done.id))!, result(1));
      await queue.fail((await queue.get(failed.id))!, { code: ErrorCode.AsrFailed, message: 'x' });
      for (const j of [nul, forgotten, shared, ofSession]) await queue.cancel(j.id);
      assert.equal(await queue.forgetUpload(forgotten.id), true);
      const ended = [nul, done, failed, shared].map((j) => j.id).sort();
      assert.deepEqual(await queue.endedOneOffUploads(10), ended);
      assert.deepEqual(await queue.endedOneOffUploads(2), ended.slice(0, 2));
      assert.deepEqual(await queue.endedOneOffUploads(10, ended[1]), ended.slice(2));
      for (const id of ended) assert.equal(await queue.forgetUpload(id), true);
      assert.deepEqual(await queue.endedOneOffUploads(10), []);
      assert.deepEqual(await queue.oneOffUploads(accountId), { files: 1, bytes: 60 }, 'the waiting job alone');
      const kept = await queue.get(nul.id);
      assert.equal((kept!.payload as TranscribeJobPayload).options.initialPrompt, 'a\u0000b');
    });

    test("an ended render keeps no draft (starting and cancelling renders is free); a transcription's payload stays", async () => {
      const { nodes, accountId, enqueue } = await deployment(1);
      const { queue } = nodes[0]!;
      const draft = {
        id: 'd',
        version: 1,
        w: 640,
        h: 360,
        t: [{ id: 't', tt: 7 as const, sg: [{ id: 's', s: 0, d: 1000, m: { text: 'x'.repeat(1000), kind: 'title' as const, position: 'center' as const } }] }],
      };
      const render = await queue.enqueue({
        type: 'render',
        accountId,
        sessionId: null,
        payload: { draft, name: 'a.mp4' },
        price: 1,
        noCreditsMessage: 'no credits',
      });
      assert.deepEqual((await queue.get(render.id))?.payload, { draft, name: 'a.mp4' }, 'a queued render keeps its draft');
      await queue.cancel(render.id);
      const ended = await queue.get(render.id);
      assert.equal(ended?.state, 'cancelled');
      assert.deepEqual(ended?.payload, {});
      const t = await enqueue(queue, 'kept');
      await queue.cancel(t.id);
      assert.deepEqual((await queue.get(t.id))?.payload, payload('kept'));
    });

    test('claim takes the oldest queued job of the asked type, under a lease, once', async () => {
      const clock = manualClock();
      const { nodes, enqueue, accountId } = await deployment(1, { clock: clock.now, leaseClock: clock.now, leaseMs: 10_000 });
      const { queue } = nodes[0]!;
      const ids: string[] = [];
      for (const name of ['a', 'b', 'c']) {
        ids.push((await enqueue(queue, name)).id);
        clock.advance(1);
      }
      const render = await queue.enqueue({
        type: 'render',
        accountId,
        sessionId: null,
        payload: { draft: { id: 'd', version: 1, w: 640, h: 360, t: [] }, name: 'x.mp4' },
        price: 1,
        noCreditsMessage: 'no credits',
      });
      const first = await queue.claim('transcribe');
      assert.equal(first?.id, ids[0]);
      assert.equal(first?.state, 'running');
      assert.equal(first?.attempts, 1);
      assert.match(first?.leaseOwner ?? '', /^node0\//);
      assert.equal(first?.leaseUntil, clock.now() + 10_000);
      assert.equal((await queue.claim('transcribe'))?.id, ids[1]);
      assert.equal((await queue.claim('render'))?.id, render.id);
      assert.equal((await queue.claim('transcribe'))?.id, ids[2]);
      assert.equal(await queue.claim('transcribe'), undefined);
      assert.equal(await queue.claim('render'), undefined);
    });

    test('eight workers claiming at once on two nodes: each of 30 jobs is claimed exactly once', async () => {
      const { nodes, enqueue } = await deployment(2);
      const jobs = [];
      for (let i = 0; i < 30; i++) jobs.push(await enqueue(nodes[0]!.queue, `j${i}`));
      const claimed: string[] = [];
      await Promise.all(
        Array.from({ length: 8 }, async (_, w) => {
          const queue = nodes[w % 2]!.queue;
          for (let j = await queue.claim('transcribe'); j; j = await queue.claim('transcribe')) claimed.push(j.id);
        }),
      );
      assert.equal(claimed.length, 30, 'every job claimed');
      assert.equal(new Set(claimed).size, 30, 'no job claimed twice');
      assert.deepEqual(new Set(claimed), new Set(jobs.map((j) => j.id)));
    });

    test("a dead worker's lease expires: another worker takes the job, the late finisher is refused, the job is charged once", async () => {
      const clock = manualClock();
      const { nodes, enqueue, balance } = await deployment(2, { leaseClock: clock.now, leaseMs: 1000 });
      const [a, b] = [nodes[0]!.queue, nodes[1]!.queue];
      const job = await enqueue(a, 'talk', 3);
      const lost = await a.claim('transcribe');
      assert.ok(lost);
      assert.deepEqual(await b.reap(), { requeued: 0, failed: 0 }, 'a live lease is left alone');
      assert.equal(await a.renew(lost), 'held');
      clock.advance(1001);
      assert.deepEqual(await b.reap(), { requeued: 1, failed: 0 });
      assert.equal((await b.get(job.id))?.state, 'queued');
      assert.equal(await a.renew(lost), 'lost', 'the old lease is gone');
      const taken = await b.claim('transcribe');
      assert.equal(taken?.id, job.id);
      assert.equal(taken?.attempts, 2);
      assert.notEqual(taken?.leaseOwner, lost.leaseOwner);

      // The first worker wakes up and finishes: refused, nothing stored (the transcript it made is dropped), nothing charged.
      const { db, accountId } = { db: nodes[0]!.db, accountId: job.accountId };
      const transcript = { session_id: null, account_id: accountId, media_id: null, job_id: job.id, language: 'en', text: 't', body: '{}', created_at: 1 };
      await db
        .insertInto('transcripts')
        .values({ ...transcript, id: 'tr_1' })
        .execute();
      await assert.rejects(a.complete(lost, result(1)), (e) => codeOf(e) === ErrorCode.BadRequest);
      assert.equal(await db.selectFrom('transcripts').select('id').where('id', '=', 'tr_1').executeTakeFirst(), undefined, "the lost run's transcript is gone");
      await db
        .insertInto('transcripts')
        .values({ ...transcript, id: 'tr_2' })
        .execute();
      await assert.rejects(a.fail(lost, { code: ErrorCode.AsrFailed, message: 'x' }), (e) => codeOf(e) === ErrorCode.BadRequest);
      await a.progress(lost, 0.9);
      let row = await b.get(job.id);
      assert.equal(row?.state, 'running');
      assert.equal(row?.result, null);
      assert.equal(row?.progress, 0, "the lost worker's progress is not written");
      assert.deepEqual(await balance(), { available: 97, frozen: 3, total: 100 }, 'still held, not charged');

      await b.complete(taken!, result(2));
      row = await b.get(job.id);
      assert.equal(row?.state, 'completed');
      assert.deepEqual(row?.result, result(2));
      await assert.rejects(b.complete(taken!, result(2)), (e) => codeOf(e) === ErrorCode.BadRequest, 'a job completes once');
      assert.ok(
        await db.selectFrom('transcripts').select('id').where('id', '=', 'tr_2').executeTakeFirst(),
        "a refused second completion leaves the job's own transcript",
      );
      assert.deepEqual(await balance(), { available: 97, frozen: 0, total: 97 }, 'charged once');
    });

    test('a job whose workers keep dying fails after max attempts with a clear error, its hold released', async () => {
      const clock = manualClock();
      const { nodes, enqueue, balance } = await deployment(2, { leaseClock: clock.now, leaseMs: 1000, maxAttempts: 3 });
      const [a, b] = [nodes[0]!.queue, nodes[1]!.queue];
      const job = await enqueue(a, 'poison', 5);
      const seen: JobEvent[] = [];
      nodes[1]!.events.subscribe((e) => e.id === job.id && seen.push(e));
      const done = waitForJob(b, job);
      for (let attempt = 1; attempt <= 3; attempt++) {
        const j = await (attempt % 2 ? a : b).claim('transcribe');
        assert.equal(j?.attempts, attempt);
        clock.advance(1001);
        const reaped = await (attempt % 2 ? b : a).reap();
        assert.deepEqual(reaped, attempt < 3 ? { requeued: 1, failed: 0 } : { requeued: 0, failed: 1 });
      }
      const failed = await done;
      assert.equal(failed.state, 'failed');
      assert.deepEqual(failed.error, { code: ErrorCode.Internal, message: 'failed after 3 attempts: the worker stopped while running it' });
      assert.equal(await a.claim('transcribe'), undefined, 'not queued again');
      assert.deepEqual(await balance(), { available: 100, frozen: 0, total: 100 }, 'hold released, nothing charged');
      assert.ok(
        seen.some((e) => e.state === 'failed'),
        'the other process heard it fail',
      );
    });

    test('progress and completion published by one process are heard by another', async () => {
      const { nodes, enqueue } = await deployment(2);
      const [worker, api] = [nodes[0]!.queue, nodes[1]!.queue];
      const job = await enqueue(api, 'talk');
      const heard: JobEvent[] = [];
      const finished = waitForJob(api, job, { onEvent: (e) => heard.push(e) });
      const running = await worker.claim('transcribe');
      assert.ok(running);
      await worker.progress(running, 0.5, 'Transcribing talk: 15 s of 30 s');
      await worker.complete(running, result(7));
      const done = await finished;
      assert.equal(done.state, 'completed');
      assert.equal(done.result?.transcriptId, 'tr_7', 'the result is typed by the job type, no cast');
      const progress = heard.find((e) => e.state === 'running' && e.progress === 0.5);
      assert.equal(progress?.message, 'Transcribing talk: 15 s of 30 s');
      assert.ok(heard.some((e) => e.state === 'completed'));
    });

    test('a cancel asked on one process stops the job running on another; its hold is released', async () => {
      const { nodes, enqueue, balance } = await deployment(2, { leaseMs: 60_000 });
      const [worker, api] = [nodes[0]!.queue, nodes[1]!.queue];
      const errors: unknown[] = [];
      let started!: () => void;
      const isRunning = new Promise<void>((r) => (started = r));
      const runner = new JobRunner(worker, {
        slots: { transcribe: 1 },
        pollMs: 50,
        handlers: {
          transcribe: (_job: Job<'transcribe'>, ctx) =>
            new Promise((_, reject) => {
              started();
              ctx.signal.addEventListener('abort', () => reject(new VidscribeError(ErrorCode.Cancelled, 'Transcription cancelled')));
            }),
        },
        onError: (e) => errors.push(e),
      });
      runner.start();
      toClose.push({ close: () => runner.stop() });
      const job = await enqueue(api, 'long', 4);
      await isRunning;
      assert.deepEqual(await balance(), { available: 96, frozen: 4, total: 100 });
      assert.equal(await cancelJob(api, job.id), true);
      const done = await waitForJob(api, job);
      assert.equal(done.state, 'cancelled');
      assert.equal(done.error?.code, ErrorCode.Cancelled);
      assert.deepEqual(await balance(), { available: 100, frozen: 0, total: 100 });
      assert.equal(await cancelJob(api, job.id), false, 'an ended job cannot be cancelled');
      await runner.stop();
      assert.deepEqual(errors, []);
    });

    test('the credits race, run: 2N jobs enqueued at once on two nodes with credits for N, two runners: exactly N run, each charged once', async () => {
      const N = 5;
      const { nodes, enqueue, balance } = await deployment(2);
      const settled = await Promise.allSettled(Array.from({ length: 2 * N }, (_, i) => enqueue(nodes[i % 2]!.queue, `r${i}`, 100 / N)));
      const queued = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      assert.equal(queued.length, N);
      for (const r of settled) if (r.status === 'rejected') assert.equal(codeOf(r.reason), ErrorCode.NoCredits);
      const ran: string[] = [];
      const errors: unknown[] = [];
      const runners = nodes.map(
        ({ queue }) =>
          new JobRunner(queue, {
            slots: { transcribe: 2 },
            pollMs: 50,
            handlers: {
              transcribe: async (j) => {
                ran.push(j.id);
                assert.ok((await balance()).available >= 0);
                return result(1);
              },
            },
            onError: (e) => errors.push(e),
          }),
      );
      for (const r of runners) {
        r.start();
        toClose.push({ close: () => r.stop() });
      }
      const done = await Promise.all(queued.map((j) => waitForJob(nodes[1]!.queue, j)));
      for (const r of runners) await r.stop();
      assert.deepEqual(
        done.map((j) => j.state),
        Array(N).fill('completed'),
      );
      assert.equal(ran.length, N, 'each ran once');
      assert.equal(new Set(ran).size, N);
      assert.deepEqual(errors, []);
      assert.deepEqual(await balance(), { available: 0, frozen: 0, total: 0 });
      const charges = await nodes[0]!.db.selectFrom('ledger').select(['job_id', 'delta']).where('reason', '=', 'job').execute();
      assert.equal(charges.length, N, 'one charge per job');
    });

    test('a worker shutting down gives its running job back to the queue, the attempt not counted, the hold kept', async () => {
      const { nodes, enqueue, balance } = await deployment(1);
      const { queue } = nodes[0]!;
      let started!: () => void;
      const isRunning = new Promise<void>((r) => (started = r));
      const runner = new JobRunner(queue, {
        slots: { transcribe: 1 },
        pollMs: 50,
        handlers: {
          transcribe: (_j, ctx) =>
            new Promise((_, reject) => {
              started();
              ctx.signal.addEventListener('abort', () => reject(new VidscribeError(ErrorCode.Cancelled, 'stopped')));
            }),
        },
      });
      runner.start();
      toClose.push({ close: () => runner.stop() });
      const job = await enqueue(queue, 'x', 2);
      await isRunning;
      await runner.stop();
      const back = await queue.get(job.id);
      assert.equal(back?.state, 'queued');
      assert.equal(back?.attempts, 0);
      assert.equal(back?.leaseOwner, null);
      assert.deepEqual(await balance(), { available: 98, frozen: 2, total: 100 });
      assert.equal((await queue.claim('transcribe'))?.id, job.id, 'the next worker takes it');
    });

    test('a worker whose lease was taken while it ran stops the job and records nothing', async () => {
      const { nodes, enqueue, balance } = await deployment(1, { leaseMs: 300 });
      const { queue, db } = nodes[0]!;
      const errors: string[] = [];
      let started!: () => void;
      const isRunning = new Promise<void>((r) => (started = r));
      let aborted!: () => void;
      const stopped = new Promise<void>((r) => (aborted = r));
      const runner = new JobRunner(queue, {
        slots: { transcribe: 1 },
        pollMs: 50,
        reapMs: 60_000,
        handlers: {
          transcribe: (_j, ctx) =>
            new Promise((_, reject) => {
              started();
              ctx.signal.addEventListener('abort', () => {
                aborted();
                reject(new VidscribeError(ErrorCode.Cancelled, 'stopped'));
              });
            }),
        },
        onError: (e) => errors.push(String(e)),
      });
      runner.start();
      toClose.push({ close: () => runner.stop() });
      const job = await enqueue(queue, 'x', 2);
      await isRunning;
      // Another worker has it now (as after this one stalled past its lease and the reaper gave it away).
      await db.updateTable('jobs').set({ lease_owner: 'other/1' }).where('id', '=', job.id).execute();
      await stopped;
      await runner.stop();
      const row = await queue.get(job.id);
      assert.equal(row?.state, 'running');
      assert.equal(row?.leaseOwner, 'other/1');
      assert.equal(row?.error, null, 'no failure recorded by the worker that lost it');
      assert.deepEqual(await balance(), { available: 98, frozen: 2, total: 100 });
      assert.ok(
        errors.some((e) => /lease was lost/.test(e)),
        errors.join('\n'),
      );
    });

    test("a running job whose cancel was missed is cancelled at its worker's next renewal, or by the reaper once its worker is gone", async () => {
      const clock = manualClock();
      const { nodes, enqueue, balance } = await deployment(2, { leaseClock: clock.now, leaseMs: 1000 });
      const [a, b] = [nodes[0]!.queue, nodes[1]!.queue];
      const job = await enqueue(a, 'x', 2);
      const running = await a.claim('transcribe');
      assert.ok(running);
      assert.equal(await b.cancel(job.id), true);
      assert.equal(await a.renew(running), 'cancel', 'the flag reaches the worker even without the event');
      clock.advance(1001);
      assert.deepEqual(await b.reap(), { requeued: 0, failed: 1 }, 'its worker died: cancelled, not run again');
      assert.equal((await b.get(job.id))?.state, 'cancelled');
      assert.deepEqual(await balance(), { available: 100, frozen: 0, total: 100 });
    });

    test('a worker that dies mid-job loses it to a running worker, which finishes it once', async () => {
      // Real time here: the second worker's own reaper and heartbeat run; the first "dies" by never renewing.
      const { nodes, enqueue, balance } = await deployment(2, { leaseMs: 300 });
      const [dead, alive] = [nodes[0]!.queue, nodes[1]!.queue];
      const job = await enqueue(alive, 'orphan', 2);
      const orphan = await dead.claim('transcribe');
      assert.equal(orphan?.id, job.id);
      const ran: Job<'transcribe'>[] = [];
      const errors: unknown[] = [];
      const runner = new JobRunner(alive, {
        slots: { transcribe: 1 },
        pollMs: 50,
        reapMs: 50,
        handlers: {
          transcribe: async (j) => {
            ran.push(j);
            return result(9);
          },
        },
        onError: (e) => errors.push(e),
      });
      runner.start();
      toClose.push({ close: () => runner.stop() });
      const done = await waitForJob(alive, job);
      await runner.stop();
      assert.equal(done.state, 'completed');
      assert.equal(done.attempts, 2);
      assert.equal(ran.length, 1);
      assert.deepEqual(errors, []);
      await assert.rejects(dead.complete(orphan!, result(1)), (e) => codeOf(e) === ErrorCode.BadRequest);
      assert.deepEqual(await balance(), { available: 98, frozen: 0, total: 98 }, 'charged once');
    });

    test('a poison job (its worker process is killed every time it runs it) ends failed after 3 attempts, its hold released', async () => {
      const { nodes, enqueue, balance, url } = await deployment(1, { leaseMs: 400 });
      const { queue } = nodes[0]!;
      const job = await enqueue(queue, 'poison', 3);
      for (let attempt = 1; attempt <= 3; attempt++) {
        const worker = spawn(process.execPath, ['--import', 'tsx', CRASHING_WORKER, url, '400'], { stdio: ['ignore', 'ignore', 'inherit'] });
        const [, signal] = await once(worker, 'exit');
        assert.equal(signal, 'SIGKILL', 'the worker died on the job');
        const died = await queue.get(job.id);
        assert.equal(died?.state, 'running');
        assert.equal(died?.attempts, attempt);
        // This node's reaper (as every worker runs it) notices once the dead worker's lease has expired.
        let reaped = { requeued: 0, failed: 0 };
        for (let tries = 0; reaped.requeued + reaped.failed === 0; tries++) {
          assert.ok(tries < 300, 'reaped within 30 s of a 0.4 s lease');
          await setTimeout(100);
          reaped = await queue.reap();
        }
        assert.deepEqual(reaped, attempt < 3 ? { requeued: 1, failed: 0 } : { requeued: 0, failed: 1 });
      }
      const failed = await queue.get(job.id);
      assert.equal(failed?.state, 'failed');
      assert.equal(failed?.error?.message, 'failed after 3 attempts: the worker stopped while running it');
      assert.deepEqual(await balance(), { available: 100, frozen: 0, total: 100 });
    });

    if (backend.name === 'postgres') {
      test('the LISTEN connection, when the server ends it, is reconnected and hears events again; a long message is cut to fit NOTIFY', async () => {
        const { nodes, url } = await deployment(2);
        const [sender, listener] = [nodes[0]!, nodes[1]!];
        const reported: unknown[] = [];
        const events = await PostgresJobEvents.open(url, listener.db, (e) => reported.push(e));
        toClose.push(events);
        const heard: JobEvent[] = [];
        events.subscribe((e) => heard.push(e));
        const listening = async () =>
          (await sql<{ pid: number }>`select pid from pg_stat_activity where query like 'LISTEN%' and datname = current_database()`.execute(listener.db)).rows;
        const before = await listening();
        await sql`select pg_terminate_backend(pid) from pg_stat_activity where query like 'LISTEN%' and datname = current_database()`.execute(listener.db);
        const event: JobEvent = { id: 'job_x', type: 'render', accountId: 'a', state: 'running', progress: 0.5, message: 'é'.repeat(5000) };
        for (let tries = 0; !heard.length; tries++) {
          assert.ok(tries < 300, 'heard again within 30 s');
          await setTimeout(100);
          await sender.events.publish(event);
        }
        assert.ok(before.length >= 3, 'every bus was listening');
        assert.ok(reported.length >= 1, 'the lost connection was reported');
        assert.equal(heard[0]?.id, 'job_x');
        assert.ok((heard[0]?.message?.length ?? 0) <= 1000);
      });
    }

    test(`on start, ${backend.name === 'sqlite' ? 'every running job (the one process stopped)' : 'only expired leases (other nodes run on)'} go back to the queue`, async () => {
      const { nodes, enqueue } = await deployment(2, { leaseMs: 60_000 });
      const [a, b] = [nodes[0]!.queue, nodes[1]!.queue];
      const job = await enqueue(a, 'x');
      await a.claim('transcribe');
      const recovered = await b.recoverInterrupted();
      if (backend.name === 'sqlite') {
        assert.equal(recovered, 1);
        assert.equal((await b.get(job.id))?.state, 'queued');
      } else {
        assert.equal(recovered, 0);
        assert.equal((await b.get(job.id))?.state, 'running');
      }
    });
  });
}
