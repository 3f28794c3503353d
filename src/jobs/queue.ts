/**
 * The persistent job queue: the `jobs` table itself. Jobs and their state live in the database
 * (SQLite by default, Postgres for several processes), so a job's credit hold and its enqueue are
 * one transaction, and a restarted server — even after kill -9 — finds what was queued or running.
 *
 * A worker claims a job with a lease (Postgres: `FOR UPDATE SKIP LOCKED`, so concurrent claimers
 * never take the same row; SQLite serialises writers) and renews it while the job runs. A job whose
 * lease expired (its worker died) is queued again by any worker's reaper, at most `max_attempts`
 * times in all; then it fails with a clear error and its hold is released. Completing, failing and
 * progress count only for the lease holder, so a worker that lost its lease can neither store a
 * result nor charge: a job completes once and is charged once.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { CreditLedger } from '../credits/ledger.ts';
import { ErrorCode, VidscribeError } from '../shared/errors.ts';
import type { RawBuilder, UpdateQueryBuilder, UpdateResult } from 'kysely';
import { dialectOf, sql, type Database, type Db, type JobsTable } from '../storage/database.ts';
import { PreparedQuery } from '../storage/prepared.ts';
import { InProcessJobEvents, type JobEvent, type JobEvents } from './events.ts';
import { isJobType, JobType, type PayloadOf, type ResultOf } from './types.ts';

export { JobType };
export type { JobEvent, JobEvents };
export type JobState = JobsTable['state'];

export interface JobError {
  code: number;
  message: string;
}

interface JobBase {
  id: string;
  accountId: string;
  sessionId: string | null;
  state: JobState;
  /** 0..1 */
  progress: number;
  error: JobError | null;
  price: number;
  /** Claims so far (a job whose worker died is claimed again, up to maxAttempts). */
  attempts: number;
  maxAttempts: number;
  /** The lease of the claim that runs it (one value per claim), while it runs. */
  leaseOwner: string | null;
  leaseUntil: number | null;
  createdAt: number;
  updatedAt: number;
}

/**
 * A job of one type (or, unqualified, any job: a union the type narrows). Its payload is what its
 * handler runs on; once a render has ended it is `{}` (its draft is dropped: see end).
 */
export type Job<T extends JobType = JobType> = T extends JobType ? JobBase & { type: T; payload: PayloadOf<T>; result: ResultOf<T> | null } : never;
/** A job as lists show it: everything but its payload. */
export type JobSummary<T extends JobType = JobType> = T extends JobType ? JobBase & { type: T; result: ResultOf<T> | null } : never;

export interface NewJob<T extends JobType> {
  type: T;
  accountId: string;
  sessionId: string | null;
  payload: PayloadOf<T>;
  price: number;
  /** Shown with 2001 when the account cannot pay. */
  noCreditsMessage: string;
}

/** What a lease renewal found: still ours, lost (expired and taken, or ended), or ours but a cancel was asked for. */
export type LeaseState = 'held' | 'lost' | 'cancel';

export interface JobQueue {
  /** State changes and progress, in every process sharing the database; cancel requests. */
  readonly events: JobEvents;
  /** This process's name in leases (host, pid and a random part). */
  readonly workerId: string;
  /** How long a claim lasts without renewal. */
  readonly leaseMs: number;
  enqueue<T extends JobType>(job: NewJob<T>): Promise<Job<T>>;
  /** Takes the oldest queued job of this type, marks it running under a new lease, or undefined. */
  claim<T extends JobType>(type: T): Promise<Job<T> | undefined>;
  /** Extends a running job's lease; tells whether it is still the caller's. */
  renew(job: Job): Promise<LeaseState>;
  /** A running job's progress, 0..1: every listener hears it; the database is updated now and then (by the lease holder only). */
  progress(job: Job, progress: number, message?: string): Promise<void>;
  /** Stores the result and charges the hold, once; refused (and nothing stored) when the caller's lease was lost. */
  complete<T extends JobType>(job: Job<T>, result: ResultOf<T>): Promise<void>;
  /** Ends a job the caller holds as failed or cancelled, releasing its hold; refused when the lease was lost. */
  fail(job: Job, error: JobError, state?: 'failed' | 'cancelled'): Promise<void>;
  /** Gives a running job back to the queue without counting the attempt (a worker shutting down). */
  requeue(job: Job): Promise<void>;
  /**
   * Cancels a job wherever it is: one not claimed (or whose worker died) at once, its hold released;
   * a running one is asked to stop (its worker, wherever it is, aborts it). False when it has ended.
   */
  cancel(id: string): Promise<boolean>;
  /** A running job's true price, once known (by its lease holder): its hold is raised (2001 when the account cannot cover it) or lowered. */
  reprice(job: Job, price: number, noCreditsMessage: string): Promise<void>;
  get(id: string): Promise<Job | undefined>;
  /** The session's newest jobs (at most SESSION_JOBS_LISTED), oldest first, without their payloads. */
  listForSession(sessionId: string): Promise<JobSummary[]>;
  /**
   * The bytes of the files the account's one-off transcriptions (/v1: no session) keep in the
   * store, each counted as at least `minBytes`; and how many such files there are.
   */
  oneOffUploads(accountId: string, minBytes?: number): Promise<{ files: number; bytes: number }>;
  /**
   * An ended one-off transcription whose file was removed from the store (or, of old, may be
   * shared): oneOffUploads no longer counts it. False for a job not ended, or not counted.
   */
  forgetUpload(jobId: string): Promise<boolean>;
  /** Ended jobs (any account) whose one-off upload is still counted: at most `limit` ids, in id order after `afterId`. */
  endedOneOffUploads(limit: number, afterId?: string): Promise<string[]>;
  /** Running jobs whose lease expired go back to the queue, or fail once they reached max attempts. Any worker runs it now and then. */
  reap(): Promise<{ requeued: number; failed: number }>;
  /**
   * On start. SQLite (one process per database): every running job was this process's before it
   * stopped, so each is reaped at once. Postgres: only expired leases (other nodes' jobs run on).
   */
  recoverInterrupted(): Promise<number>;
}

export interface QueueOptions {
  events?: JobEvents;
  workerId?: string;
  /** Default 30 s: a dead worker's job is taken by another within this plus the reaper's period. */
  leaseMs?: number;
  /** Default 3. */
  maxAttempts?: number;
  /**
   * The clock leases run on. Default: the database server's on Postgres (nodes whose clocks
   * disagree still agree on when a lease ends), Date.now on SQLite; real time even when the
   * service's clock is a test's (a token test moving days ahead must not expire a running job's lease).
   */
  leaseClock?: () => number;
  /** Jobs one account may start in an hour (default JOBS_PER_HOUR). */
  jobsPerHour?: number;
}

/**
 * Jobs one account may start in an hour: ten a minute, far above what a person or an agent's
 * batch asks, but a bound on the rows a free token can leave behind by starting and cancelling
 * jobs (a cancelled job gives its credits back).
 */
export const JOBS_PER_HOUR = 600;
export const DEFAULT_LEASE_MS = 30_000;
export const DEFAULT_MAX_ATTEMPTS = 3;

/** The states a job does not leave. */
export const ENDED_STATES: readonly JobState[] = ['completed', 'failed', 'cancelled'];
export const isEnded = (state: JobState): boolean => ENDED_STATES.includes(state);

/** What a new job keeps for its account: a one-off transcription's upload (/v1, no session), by its size. */
function keptBytesOf<T extends JobType>(input: NewJob<T>): number | null {
  if (input.type !== JobType.Transcribe || input.sessionId !== null) return null;
  return (input.payload as PayloadOf<'transcribe'>).sizeBytes ?? null;
}

function toJob(r: JobsTable): Job {
  if (!isJobType(r.type)) throw new VidscribeError(ErrorCode.Internal, `job ${r.id} has an unknown type ${r.type}`);
  const job = {
    id: r.id,
    type: r.type,
    accountId: r.account_id,
    sessionId: r.session_id,
    state: r.state,
    progress: r.progress,
    payload: JSON.parse(r.payload),
    result: r.result === null ? null : JSON.parse(r.result),
    error: r.error === null ? null : JSON.parse(r.error),
    price: r.price,
    attempts: r.attempts,
    maxAttempts: r.max_attempts,
    leaseOwner: r.lease_owner,
    leaseUntil: r.lease_until === null ? null : Number(r.lease_until),
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  };
  // The row's type names its payload and result: JSON written by enqueue and complete for that type.
  return job as Job;
}

const eventOf = (j: Job, message?: string): JobEvent => ({
  id: j.id,
  type: j.type,
  accountId: j.accountId,
  state: j.state,
  progress: j.progress,
  ...(message ? { message } : {}),
});

/** The clear error of a job whose workers kept stopping under it. */
export function attemptsExhausted(attempts: number): JobError {
  return { code: ErrorCode.Internal, message: `failed after ${attempts} attempts: the worker stopped while running it` };
}

type JobsUpdate = UpdateQueryBuilder<Database, 'jobs', 'jobs', UpdateResult>;

/**
 * Jobs a session's state lists: the newest. Starting and cancelling jobs is free (600 an hour), and
 * the state listed every one, payload parsed: 35 cancelled renders made it take 3.3 s.
 */
export const SESSION_JOBS_LISTED = 100;

const jobsOfSession = new PreparedQuery<{ sessionId: string }, Omit<JobsTable, 'payload'>>((db, p) =>
  db
    .selectFrom('jobs')
    .select([
      'id',
      'type',
      'account_id',
      'session_id',
      'state',
      'progress',
      'result',
      'error',
      'price',
      'attempts',
      'max_attempts',
      'lease_owner',
      'lease_until',
      'cancel_requested_at',
      'kept_bytes',
      'created_at',
      'updated_at',
    ])
    .where('session_id', '=', p('sessionId'))
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(SESSION_JOBS_LISTED),
);

/** How often progress is written to the database; listeners hear every update. */
const PROGRESS_WRITE_MS = 1000;

export class SqlJobQueue implements JobQueue {
  readonly events: JobEvents;
  readonly workerId: string;
  readonly leaseMs: number;
  private readonly maxAttempts: number;
  private readonly lastWrite = new Map<string, number>();
  private readonly pg: boolean;
  private readonly leaseClock: (() => number) | undefined;

  private readonly jobsPerHour: number;
  constructor(
    private readonly db: Db,
    private readonly ledger: CreditLedger,
    private readonly now: () => number = Date.now,
    opts: QueueOptions = {},
  ) {
    this.events = opts.events ?? new InProcessJobEvents();
    this.workerId = opts.workerId ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
    this.leaseMs = opts.leaseMs ?? DEFAULT_LEASE_MS;
    this.maxAttempts = opts.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
    this.jobsPerHour = opts.jobsPerHour ?? JOBS_PER_HOUR;
    this.pg = dialectOf(db) === 'postgres';
    this.leaseClock = opts.leaseClock ?? (this.pg ? undefined : Date.now);
  }

  /** Now, in epoch ms, on the lease clock: a value, or the database server's clock read in the statement. */
  private leaseNow(): number | RawBuilder<number> {
    return this.leaseClock ? this.leaseClock() : sql<number>`(extract(epoch from clock_timestamp()) * 1000)::bigint`;
  }

  private leaseEnd(): number | RawBuilder<number> {
    const now = this.leaseNow();
    return typeof now === 'number' ? now + this.leaseMs : sql<number>`${now} + ${this.leaseMs}`;
  }

  private publish(e: JobEvent): Promise<void> {
    return this.events.publish(e);
  }

  async enqueue<T extends JobType>(input: NewJob<T>): Promise<Job<T>> {
    const id = `job_${randomUUID().replaceAll('-', '')}`;
    const now = this.now();
    const row: JobsTable = {
      id,
      type: input.type,
      account_id: input.accountId,
      session_id: input.sessionId,
      state: 'queued',
      progress: 0,
      payload: JSON.stringify(input.payload),
      result: null,
      error: null,
      price: input.price,
      attempts: 0,
      max_attempts: this.maxAttempts,
      lease_owner: null,
      lease_until: null,
      cancel_requested_at: null,
      kept_bytes: keptBytesOf(input),
      created_at: now,
      updated_at: now,
    };
    await this.db.transaction().execute(async (trx) => {
      await trx.insertInto('jobs').values(row).execute();
      // The hold locks the account (Postgres), so two jobs starting at once are counted one after the other.
      await this.ledger.hold(trx, input.accountId, id, input.price, input.noCreditsMessage);
      const started = await trx
        .selectFrom('jobs')
        .select((e) => e.fn.countAll<number>().as('n'))
        .where('account_id', '=', input.accountId)
        .where('created_at', '>', now - 3600_000)
        .executeTakeFirst();
      if (Number(started?.n ?? 0) > this.jobsPerHour)
        throw new VidscribeError(
          ErrorCode.RateLimited,
          `This account has started ${this.jobsPerHour} jobs in the last hour, the most it may: try again in a few minutes`,
        );
    });
    const job = toJob(row) as Job<T>;
    await this.publish(eventOf(job));
    return job;
  }

  async claim<T extends JobType>(type: T): Promise<Job<T> | undefined> {
    const now = this.now();
    const leaseUntil = this.leaseEnd();
    const lease = `${this.workerId}/${randomBytes(4).toString('hex')}`;
    // One statement: the oldest queued job of the type, locked and skipped by concurrent claimers on Postgres.
    const row = await this.db
      .updateTable('jobs')
      .set({ state: 'running', attempts: sql<number>`attempts + 1`, lease_owner: lease, lease_until: leaseUntil, cancel_requested_at: null, updated_at: now })
      .where('id', '=', (eb) => {
        const next = eb.selectFrom('jobs').select('id').where('state', '=', 'queued').where('type', '=', type).orderBy('created_at').orderBy('id').limit(1);
        return this.pg ? next.forUpdate().skipLocked() : next;
      })
      .where('state', '=', 'queued')
      .returningAll()
      .executeTakeFirst();
    if (!row) return undefined;
    const job = toJob(row) as Job<T>;
    await this.publish(eventOf(job));
    return job;
  }

  async renew(job: Job): Promise<LeaseState> {
    if (!job.leaseOwner) return 'lost';
    const r = await this.db
      .updateTable('jobs')
      .set({ lease_until: this.leaseEnd() })
      .where('id', '=', job.id)
      .where('state', '=', 'running')
      .where('lease_owner', '=', job.leaseOwner)
      .returning('cancel_requested_at')
      .executeTakeFirst();
    if (!r) return 'lost';
    return r.cancel_requested_at === null ? 'held' : 'cancel';
  }

  async progress(job: Job, progress: number, message?: string): Promise<void> {
    const p = Math.max(0, Math.min(1, progress));
    const now = this.now();
    await this.publish({ ...eventOf(job, message), state: 'running', progress: p });
    if (now - (this.lastWrite.get(job.id) ?? 0) >= PROGRESS_WRITE_MS && job.leaseOwner) {
      this.lastWrite.set(job.id, now);
      await this.db
        .updateTable('jobs')
        .set({ progress: p, updated_at: now })
        .where('id', '=', job.id)
        .where('state', '=', 'running')
        .where('lease_owner', '=', job.leaseOwner)
        .execute();
    }
  }

  async complete<T extends JobType>(job: Job<T>, result: ResultOf<T>): Promise<void> {
    try {
      await this.finish(job, { state: 'completed', result: JSON.stringify(result ?? null), progress: 1 }, 'settle');
    } catch (e) {
      // Refused: what this run stored (its transcript, its file) is not the job's result; the run that owns the job makes its own.
      const made: { transcriptId?: string; fileId?: string } = { ...result };
      const kept: { transcriptId?: string; fileId?: string } = (await this.get(job.id))?.result ?? {};
      if (made.transcriptId === kept.transcriptId) delete made.transcriptId;
      if (made.fileId === kept.fileId) delete made.fileId;
      if (made.transcriptId) await this.db.deleteFrom('transcripts').where('id', '=', made.transcriptId).where('job_id', '=', job.id).execute();
      if (made.fileId) await this.db.deleteFrom('files').where('id', '=', made.fileId).where('job_id', '=', job.id).execute();
      throw e;
    }
  }

  async fail(job: Job, error: JobError, state: 'failed' | 'cancelled' = 'failed'): Promise<void> {
    await this.finish(job, { state, error: JSON.stringify(error) }, 'release');
  }

  async requeue(job: Job): Promise<void> {
    if (!job.leaseOwner) return;
    this.lastWrite.delete(job.id);
    const r = await this.db
      .updateTable('jobs')
      .set({ state: 'queued', attempts: sql<number>`attempts - 1`, lease_owner: null, lease_until: null, progress: 0, updated_at: this.now() })
      .where('id', '=', job.id)
      .where('state', '=', 'running')
      .where('lease_owner', '=', job.leaseOwner)
      .where('cancel_requested_at', 'is', null)
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) === 1) await this.publish({ ...eventOf(job), state: 'queued', progress: 0 });
  }

  async cancel(id: string): Promise<boolean> {
    const error = JSON.stringify({ code: ErrorCode.Cancelled, message: 'Cancelled before it started' } satisfies JobError);
    const now = this.now();
    const leaseNow = this.leaseNow();
    // Not claimed, or its worker died (lease expired): nobody runs it, so it is cancelled here.
    const unclaimed = await this.end(id, { state: 'cancelled', error }, 'release', (q) =>
      q.where((eb) => eb.or([eb('state', '=', 'queued'), eb.and([eb('state', '=', 'running'), eb('lease_until', '<', leaseNow)])])),
    );
    if (unclaimed) return true;
    // Running: the flag reaches its worker at the next renewal even if the event is missed.
    const r = await this.db.updateTable('jobs').set({ cancel_requested_at: now }).where('id', '=', id).where('state', '=', 'running').executeTakeFirst();
    if (Number(r.numUpdatedRows) !== 1) return false;
    await this.events.requestCancel(id);
    return true;
  }

  async reprice(job: Job, price: number, noCreditsMessage: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await this.ledger.adjustHold(trx, job.id, price, noCreditsMessage);
      const r = await trx
        .updateTable('jobs')
        .set({ price, updated_at: this.now() })
        .where('id', '=', job.id)
        .where('state', '=', 'running')
        .where('lease_owner', '=', job.leaseOwner ?? '')
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) !== 1) throw new VidscribeError(ErrorCode.BadRequest, `job ${job.id} is not running under this worker's lease`);
    });
  }

  /** The lease holder ends its job; refused when the lease is no longer the caller's. */
  private async finish(job: Job, set: Partial<JobsTable>, credits: 'settle' | 'release'): Promise<void> {
    const owner = job.leaseOwner;
    const done = owner !== null && (await this.end(job.id, set, credits, (q) => q.where('state', '=', 'running').where('lease_owner', '=', owner)));
    if (!done)
      throw new VidscribeError(ErrorCode.BadRequest, `job ${job.id} is no longer this worker's: it ended, or its lease expired and it was queued again`);
  }

  /** Moves a job to its final state and settles or releases its credits, in one transaction; false when `guard` matched nothing. */
  private async end(id: string, set: Partial<JobsTable>, credits: 'settle' | 'release', guard: (q: JobsUpdate) => JobsUpdate): Promise<boolean> {
    this.lastWrite.delete(id);
    const done = await this.db.transaction().execute(async (trx) => {
      const r = await guard(trx.updateTable('jobs'))
        // An ended job never runs again, so a render's payload (its whole draft, up to a few MB)
        // is dropped: starting and cancelling renders, which costs nothing, must not pile drafts up.
        .set({
          ...set,
          payload: sql<string>`case when type = 'render' then '{}' else payload end`,
          lease_owner: null,
          lease_until: null,
          updated_at: this.now(),
        })
        .where('id', '=', id)
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) !== 1) return false;
      if (credits === 'settle') {
        await this.ledger.settle(trx, id);
        // Results belong to whoever owns the job now: a registration (bind) may have moved it while it ran.
        for (const table of ['files', 'transcripts'] as const) {
          await trx
            .updateTable(table)
            .set((eb) => ({ account_id: eb.selectFrom('jobs').select('account_id').where('id', '=', id) }))
            .where('job_id', '=', id)
            .execute();
        }
      } else await this.ledger.release(trx, id);
      return true;
    });
    if (!done) return false;
    const job = await this.get(id);
    if (job) await this.publish(eventOf(job));
    return true;
  }

  async get(id: string): Promise<Job | undefined> {
    const r = await this.db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? toJob(r) : undefined;
  }

  async listForSession(sessionId: string): Promise<JobSummary[]> {
    const rows = await jobsOfSession.execute(this.db, { sessionId });
    return rows.reverse().map((r) => {
      const { payload: _none, ...summary } = toJob({ ...r, payload: 'null' });
      return summary as JobSummary;
    });
  }

  async oneOffUploads(accountId: string, minBytes = 0): Promise<{ files: number; bytes: number }> {
    // Summed in the database: an API client's history of /v1 jobs can be long, and each upload asks.
    const r = await this.db
      .selectFrom('jobs')
      .select([
        sql<number>`count(kept_bytes)`.as('files'),
        sql<number>`coalesce(sum(case when kept_bytes < ${minBytes} then ${minBytes} else kept_bytes end), 0)`.as('bytes'),
      ])
      .where('account_id', '=', accountId)
      .where('kept_bytes', 'is not', null)
      .executeTakeFirst();
    return { files: Number(r?.files ?? 0), bytes: Number(r?.bytes ?? 0) };
  }

  async forgetUpload(jobId: string): Promise<boolean> {
    const r = await this.db.updateTable('jobs').set({ kept_bytes: null }).where('id', '=', jobId).where('state', 'in', ENDED_STATES).executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async endedOneOffUploads(limit: number, afterId = ''): Promise<string[]> {
    const rows = await this.db
      .selectFrom('jobs')
      .select('id')
      .where('kept_bytes', 'is not', null)
      .where('state', 'in', ENDED_STATES)
      .where('id', '>', afterId)
      .orderBy('id')
      .limit(limit)
      .execute();
    return rows.map((r) => r.id);
  }

  async reap(): Promise<{ requeued: number; failed: number }> {
    const now = this.now();
    const leaseNow = this.leaseNow();
    const changed = await this.db.transaction().execute(async (trx) => {
      let expired = trx
        .selectFrom('jobs')
        .select(['id', 'attempts', 'max_attempts', 'cancel_requested_at'])
        .where('state', '=', 'running')
        .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', leaseNow)]))
        .orderBy('created_at')
        .limit(100);
      // Two reapers never handle the same job: each locks what it reaps and skips what another holds.
      if (this.pg) expired = expired.forUpdate().skipLocked();
      const rows = await expired.execute();
      const out: { id: string; state: JobState }[] = [];
      for (const r of rows) {
        const cancelled = r.cancel_requested_at !== null;
        if (cancelled || r.attempts >= r.max_attempts) {
          const error: JobError = cancelled ? { code: ErrorCode.Cancelled, message: 'Cancelled' } : attemptsExhausted(r.attempts);
          await trx
            .updateTable('jobs')
            .set({ state: cancelled ? 'cancelled' : 'failed', error: JSON.stringify(error), lease_owner: null, lease_until: null, updated_at: now })
            .where('id', '=', r.id)
            .execute();
          await this.ledger.release(trx, r.id);
          out.push({ id: r.id, state: cancelled ? 'cancelled' : 'failed' });
        } else {
          await trx
            .updateTable('jobs')
            .set({ state: 'queued', lease_owner: null, lease_until: null, progress: 0, updated_at: now })
            .where('id', '=', r.id)
            .execute();
          out.push({ id: r.id, state: 'queued' });
        }
      }
      return out;
    });
    for (const c of changed) {
      const job = await this.get(c.id);
      if (job) await this.publish(eventOf(job));
    }
    return { requeued: changed.filter((c) => c.state === 'queued').length, failed: changed.filter((c) => c.state !== 'queued').length };
  }

  async recoverInterrupted(): Promise<number> {
    if (!this.pg) await this.db.updateTable('jobs').set({ lease_until: null }).where('state', '=', 'running').execute();
    const { requeued, failed } = await this.reap();
    return requeued + failed;
  }
}

/** A completed job's result (a completed job without one is a fault of ours). */
export function resultOf<T extends JobType>(job: Job<T>): ResultOf<T> {
  if (job.state !== 'completed' || job.result === null) throw new VidscribeError(ErrorCode.Internal, `job ${job.id} has no result (${job.state})`);
  // TypeScript does not narrow a generic job's result through its type; Job<T> pairs them.
  return job.result as ResultOf<T>;
}
