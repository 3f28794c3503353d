/**
 * Cluster benchmark (not a test): `npm run bench:cluster`.
 *
 * 1. Dispatch overhead: from enqueue() being called to the handler starting on an idle worker,
 *    one job at a time. Postgres: the enqueuer and the worker each have their own pool and their
 *    own LISTEN connection (the wake-up crosses the database as it does between machines);
 *    SQLite (the embedded default, one process) measured in the same run as the baseline.
 * 2. Throughput: the same real transcriptions (real model) through a real cluster (API process +
 *    1 worker process with one transcription at once, then two sharing its speech-model process,
 *    then 2 worker processes of one each).
 * 3. Soak: short jobs (a 10–60 ms handler, no ASR) on 4 worker processes of the real job engine,
 *    a running one SIGKILLed and replaced at random every BENCH_KILL_MS; at the end every job must
 *    have completed once and been charged once: lost, completed twice and charged twice are counted.
 *
 * BENCH_DISPATCH_JOBS (200), BENCH_ASR_JOBS (4), BENCH_SOAK_JOBS (1000), BENCH_KILL_MS (400);
 * BENCH_ONLY=dispatch|throughput|soak runs one part.
 * With `--soak-worker <postgres url>` this file is one soak worker process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreditLedger } from '../src/credits/ledger.ts';
import { InProcessJobEvents, PostgresJobEvents } from '../src/jobs/events.ts';
import { type Job, SqlJobQueue } from '../src/jobs/queue.ts';
import { JobRunner } from '../src/jobs/runner.ts';
import type { JobType, ResultOf } from '../src/jobs/types.ts';
import { type Db, openDatabase } from '../src/storage/database.ts';
import { startCluster } from '../test/helpers/cluster.ts';
import { FIXTURES, SAMPLE_MP4 } from '../test/helpers/media.ts';
import { newUser } from '../test/helpers/server.ts';
import { startPostgres } from '../test/helpers/postgres.ts';

const FAKE_RESULT: ResultOf<'transcribe'> = { transcriptId: 'bench', language: 'en', durationSec: 1, words: 0 };
const num = (name: string, d: number) => Number(process.env[name] ?? d);
const say = (s: string) => process.stdout.write(`${s}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
}

async function benchAccount(db: Db, ledger: CreditLedger, credits: number): Promise<string> {
  const id = `acct_bench_${Math.random().toString(36).slice(2)}`;
  await db.insertInto('accounts').values({ id, kind: 'registered', client_id: null, email: null, password_hash: null, created_at: Date.now() }).execute();
  await ledger.grant(db, id, credits, 'bench');
  return id;
}

function fakeJob(accountId: string) {
  return {
    type: 'transcribe' as const,
    accountId,
    sessionId: null,
    payload: { mediaId: null, storeKey: `${'0'.repeat(64)}.wav`, name: 'bench.wav', durationSec: 1, options: {} },
    price: 1,
    noCreditsMessage: 'bench: out of credits',
  };
}

async function dispatchBench(): Promise<void> {
  const n = num('BENCH_DISPATCH_JOBS', 200);
  say(`\n1. dispatch overhead, enqueue() called → handler started on an idle worker (${n} jobs, one at a time)`);
  const dir = mkdtempSync(join(tmpdir(), 'vidscribe-bench-cluster-'));
  try {
    {
      const db = await openDatabase(undefined, dir);
      const ledger = new CreditLedger();
      const account = await benchAccount(db, ledger, 1_000_000);
      const q = new SqlJobQueue(db, ledger, Date.now, { events: new InProcessJobEvents() });
      await dispatchRecording('sqlite', q, q, account, n);
      await db.destroy();
    }
    const server = await startPostgres();
    try {
      const url = await server.createDatabase();
      const dbA = await openDatabase(url, dir);
      const dbB = await openDatabase(url, dir);
      const ledger = new CreditLedger();
      const account = await benchAccount(dbA, ledger, 1_000_000);
      const evA = await PostgresJobEvents.open(url, dbA);
      const evB = await PostgresJobEvents.open(url, dbB);
      const qa = new SqlJobQueue(dbA, ledger, Date.now, { events: evA });
      const qb = new SqlJobQueue(dbB, ledger, Date.now, { events: evB });
      await dispatchRecording('postgres', qa, qb, account, n);
      await evA.close();
      await evB.close();
      await dbA.destroy();
      await dbB.destroy();
    } finally {
      await server.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Like `dispatch`, robust to the worker starting the job before enqueue() returns its id: the
 * handler stamps every start by job id, and the enqueuer reads the stamp afterwards.
 */
async function dispatchRecording(name: string, enqueuer: SqlJobQueue, worker: SqlJobQueue, accountId: string, n: number): Promise<number[]> {
  const starts = new Map<string, number>();
  const runner = new JobRunner(worker, {
    handlers: {
      transcribe: async (job) => {
        starts.set(job.id, performance.now());
        return FAKE_RESULT;
      },
    },
    slots: { transcribe: 1 },
    pollMs: 5000,
  });
  runner.start();
  const times: number[] = [];
  try {
    await sleep(300);
    for (let i = 0; i < n + 10; i++) {
      const t0 = performance.now();
      const { id } = await enqueuer.enqueue(fakeJob(accountId));
      let state: string | undefined;
      for (let k = 0; k < 5000 && state !== 'completed'; k++) {
        state = starts.has(id) ? (await enqueuer.get(id))?.state : undefined;
        if (state !== 'completed') await sleep(1);
      }
      const t1 = starts.get(id);
      if (i >= 10) times.push(t1 === undefined ? Number.NaN : t1 - t0);
    }
  } finally {
    await runner.stop();
  }
  const ok = times.filter((t) => Number.isFinite(t));
  say(
    `  ${name.padEnd(9)} n=${ok.length}  p50 ${pct(ok, 50).toFixed(1)} ms  p99 ${pct(ok, 99).toFixed(1)} ms  max ${Math.max(...ok).toFixed(1)} ms${ok.length < times.length ? `  (${times.length - ok.length} never started)` : ''}`,
  );
  return ok;
}

async function throughputBench(): Promise<void> {
  const n = num('BENCH_ASR_JOBS', 4);
  const files = [
    SAMPLE_MP4,
    join(FIXTURES, 'librispeech_1089-134686-0000.flac'),
    join(FIXTURES, 'librispeech_61-70968-0000.flac'),
    join(FIXTURES, 'mfa_thoughts.flac'),
  ];
  const jobs = Array.from({ length: n }, (_, i) => files[i % files.length] as string);
  say(`\n2. throughput: the same ${n} real transcriptions (POST /v1/audio/transcriptions, all at once) through the API process`);
  // One transcription a worker process at a time, then two sharing its speech-model process (the
  // default on two cores: asrLayout), then two processes of one each.
  for (const [workers, slots] of [
    [1, 1],
    [1, 2],
    [2, 1],
  ] as const) {
    const c = await startCluster({ workers, workerArgs: ['--asr-slots', String(slots), '--render-slots', '1'] });
    try {
      const u = await newUser(c.api.url);
      // One warm-up per worker: each loads its model once.
      await Promise.all(Array.from({ length: workers }, () => v1(c.api.url, u.api.token!, files[1] as string)));
      const t0 = performance.now();
      const replies = await Promise.all(jobs.map((f) => v1(c.api.url, u.api.token!, f)));
      const s = (performance.now() - t0) / 1000;
      const failed = replies.filter((r) => r !== 200).length;
      say(
        `  ${workers} worker process${workers > 1 ? 'es' : ''}, ${slots} transcription${slots > 1 ? 's' : ''} at once each: ${s.toFixed(1)} s, ${((n / s) * 60).toFixed(1)} jobs/min${failed ? `  (${failed} failed)` : ''}  (load ${loadavg()[0]?.toFixed(1)})`,
      );
    } finally {
      await c.stop();
    }
  }
}

async function v1(base: string, token: string, path: string): Promise<number> {
  const fd = new FormData();
  fd.append('file', new Blob([new Uint8Array(readFileSync(path))]), basename(path));
  fd.append('model', 'whisper-1');
  const r = await fetch(`${base}/v1/audio/transcriptions`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: fd });
  await r.arrayBuffer();
  return r.status;
}

/** Worker processes in the soak: a replacement takes seconds to start here, so several stay up while others start. */
const SOAK_WORKERS = 4;

async function soakBench(): Promise<void> {
  const n = num('BENCH_SOAK_JOBS', 1000);
  const killMs = num('BENCH_KILL_MS', 400);
  say(`\n3. soak: ${n} short jobs on ${SOAK_WORKERS} worker processes, one SIGKILLed and replaced every ~${killMs} ms (lease 2 s)`);
  const server = await startPostgres();
  const dir = mkdtempSync(join(tmpdir(), 'vidscribe-bench-soak-'));
  const workers: ChildProcess[] = [];
  try {
    const url = await server.createDatabase();
    const db = await openDatabase(url, dir);
    const ledger = new CreditLedger();
    const account = await benchAccount(db, ledger, n * 10);
    await db.schema.createTable('bench_completions').addColumn('job_id', 'text').addColumn('worker', 'integer').execute();
    const q = new SqlJobQueue(db, ledger, Date.now, { events: new InProcessJobEvents() });
    const self = fileURLToPath(import.meta.url);
    let spawned = 0;
    const ready = new Set<ChildProcess>();
    const spawnWorker = () => {
      const w = spawn(process.execPath, ['--import', 'tsx', self, '--soak-worker', url, String(++spawned)], { stdio: ['ignore', 'pipe', 'inherit'] });
      w.stdout?.once('data', () => ready.add(w));
      w.once('exit', () => ready.delete(w));
      workers.push(w);
      return w;
    };
    for (let i = 0; i < SOAK_WORKERS; i++) spawnWorker();
    while (ready.size < SOAK_WORKERS) await sleep(100);
    const t0 = performance.now();
    for (let i = 0; i < n; i += 50) await Promise.all(Array.from({ length: Math.min(50, n - i) }, () => q.enqueue(fakeJob(account))));
    let kills = 0;
    const deadline = Date.now() + Math.max(120_000, n * 200);
    for (;;) {
      const [r] = await db
        .selectFrom('jobs')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('state', 'in', ['queued', 'running'])
        .execute();
      if (Number(r?.n) === 0 || Date.now() > deadline) break;
      await sleep(killMs * (0.5 + Math.random()));
      // Only a worker that is up and claiming is killed (a process starting up under load takes seconds), and never the last one.
      const live = [...ready];
      const victim = live.length >= 2 ? live[Math.floor(Math.random() * live.length)] : undefined;
      if (victim) {
        victim.kill('SIGKILL');
        kills++;
        spawnWorker();
      }
    }
    const s = (performance.now() - t0) / 1000;
    const rows = await db.selectFrom('jobs').select(['id', 'state', 'attempts']).execute();
    const byState = new Map<string, number>();
    for (const r of rows) byState.set(r.state, (byState.get(r.state) ?? 0) + 1);
    const completions = await db
      .selectFrom('bench_completions' as never)
      .select(['job_id' as never])
      .execute();
    const doneCount = new Map<string, number>();
    for (const c of completions as { job_id: string }[]) doneCount.set(c.job_id, (doneCount.get(c.job_id) ?? 0) + 1);
    const charges = await db.selectFrom('ledger').select(['job_id']).where('reason', '=', 'job').execute();
    const chargeCount = new Map<string, number>();
    for (const c of charges) chargeCount.set(c.job_id ?? '', (chargeCount.get(c.job_id ?? '') ?? 0) + 1);
    const lost = rows.filter((r) => r.state === 'queued' || r.state === 'running').length;
    const twice = [...doneCount.values()].filter((k) => k > 1).length;
    const doubleCharged = [...chargeCount.values()].filter((k) => k > 1).length;
    const completedUncharged = rows.filter((r) => r.state === 'completed' && chargeCount.get(r.id) !== 1).length;
    const failedCharged = rows.filter((r) => r.state !== 'completed' && chargeCount.has(r.id)).length;
    const held = await db.selectFrom('holds').select('job_id').where('state', '=', 'held').execute();
    const retried = rows.filter((r) => r.attempts > 1).length;
    say(`  ${rows.length} jobs in ${s.toFixed(1)} s, ${kills} worker kills, ${retried} jobs run again after a kill`);
    say(`  states: ${[...byState].map(([k, v]) => `${k} ${v}`).join(', ')}`);
    say(
      `  lost ${lost}, completed twice ${twice}, charged twice ${doubleCharged}, completed but not charged once ${completedUncharged}, not completed yet charged ${failedCharged}, holds still held ${held.length}`,
    );
    await db.destroy();
  } finally {
    for (const w of workers) w.kill('SIGKILL');
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One soak worker process: the real runner and queue, a short handler, completions recorded. */
async function soakWorker(url: string, index: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'vidscribe-bench-soak-worker-'));
  const db = await openDatabase(url, dir);
  const ledger = new CreditLedger();
  const events = await PostgresJobEvents.open(url, db);
  class RecordingQueue extends SqlJobQueue {
    override async complete<T extends JobType>(job: Job<T>, result: ResultOf<T>): Promise<void> {
      await super.complete(job, result);
      await db
        .insertInto('bench_completions' as never)
        .values({ job_id: job.id, worker: index } as never)
        .execute();
    }
  }
  const q = new RecordingQueue(db, ledger, Date.now, { events, leaseMs: 2000 });
  const runner = new JobRunner(q, {
    handlers: {
      transcribe: async () => {
        await sleep(10 + Math.random() * 50);
        return FAKE_RESULT;
      },
    },
    slots: { transcribe: 2 },
    onError: () => undefined,
  });
  runner.start();
  process.stdout.write('ready\n');
  process.once('SIGTERM', () => {
    void runner.stop().then(() => process.exit(0));
  });
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
}

async function main(): Promise<void> {
  say(
    `bench:cluster on ${cpus().length} cores (load ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')})`,
  );
  // BENCH_ONLY=dispatch|throughput|soak runs one part.
  const only = process.env.BENCH_ONLY;
  if (!only || only === 'dispatch') await dispatchBench();
  if (!only || only === 'throughput') await throughputBench();
  if (!only || only === 'soak') await soakBench();
}

const at = process.argv.indexOf('--soak-worker');
if (at >= 0) {
  soakWorker(process.argv[at + 1] ?? '', Number(process.argv[at + 2] ?? 0)).catch((e) => {
    process.stderr.write(`soak worker: ${(e as Error)?.stack ?? String(e)}\n`);
    process.exit(1);
  });
} else {
  main().then(
    () => process.exit(0),
    (e) => {
      process.stderr.write(`bench:cluster failed: ${(e as Error)?.stack ?? String(e)}\n`);
      process.exit(1);
    },
  );
}
