/**
 * The persistent job queue. Jobs and their state live in the database (embedded default: the
 * same SQLite file), so a restarted server — even after kill -9 — finds what was queued or
 * running and carries on. A job's price is held in the same transaction that queues it.
 * A Redis/BullMQ queue implements the same JobQueue interface for the scaled deployment.
 */
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import type { CreditLedger } from '../credits/ledger.ts';
import { ErrorCode, VidscribeError } from '../shared/errors.ts';
import type { Db, JobsTable } from '../storage/database.ts';
import { PreparedQuery } from '../storage/prepared.ts';

export const JobType = { Transcribe: 'transcribe', Render: 'render' } as const;
export type JobType = (typeof JobType)[keyof typeof JobType];
export type JobState = JobsTable['state'];

export interface JobError {
  code: number;
  message: string;
}

export interface Job<P = unknown, R = unknown> {
  id: string;
  type: JobType;
  accountId: string;
  sessionId: string | null;
  state: JobState;
  /** 0..1 */
  progress: number;
  payload: P;
  result: R | null;
  error: JobError | null;
  price: number;
  attempts: number;
  createdAt: number;
  updatedAt: number;
}

export interface NewJob<P = unknown> {
  type: JobType;
  accountId: string;
  sessionId: string | null;
  payload: P;
  price: number;
  /** Shown with 2001 when the account cannot pay. */
  noCreditsMessage: string;
}

/** What listeners hear: every state change, and progress with a line a person can read. */
export interface JobEvent {
  job: Job;
  message?: string;
}

export interface JobQueue {
  readonly events: EventEmitter<{ job: [JobEvent] }>;
  enqueue<P>(job: NewJob<P>): Promise<Job<P>>;
  /** Takes the oldest queued job of this type and marks it running, or undefined. */
  claim(type: JobType): Promise<Job | undefined>;
  /** A running job's progress, 0..1: every listener hears it; the database is updated now and then. */
  progress(job: Job, progress: number, message?: string): Promise<void>;
  complete(id: string, result: unknown): Promise<void>;
  fail(id: string, error: JobError, state?: 'failed' | 'cancelled'): Promise<void>;
  /** Cancels a job no worker has taken yet (its hold is released); false when it is not queued. */
  cancelQueued(id: string): Promise<boolean>;
  /** A running job's true price, once known: its hold is raised (2001 when the account cannot cover it) or lowered. */
  reprice(id: string, price: number, noCreditsMessage: string): Promise<void>;
  get(id: string): Promise<Job | undefined>;
  listForSession(sessionId: string): Promise<Job[]>;
  /** After a restart: jobs left running by a dead process go back to the queue. Returns how many. */
  recoverInterrupted(): Promise<number>;
}

function toJob(r: JobsTable): Job {
  return {
    id: r.id,
    type: r.type as JobType,
    accountId: r.account_id,
    sessionId: r.session_id,
    state: r.state,
    progress: r.progress,
    payload: JSON.parse(r.payload),
    result: r.result === null ? null : JSON.parse(r.result),
    error: r.error === null ? null : JSON.parse(r.error),
    price: r.price,
    attempts: r.attempts,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  };
}

const jobsOfSession = new PreparedQuery<{ sessionId: string }, JobsTable>((db, p) =>
  db.selectFrom('jobs').selectAll().where('session_id', '=', p('sessionId')).orderBy('created_at'),
);

/** How often progress is written to the database; listeners hear every update. */
const PROGRESS_WRITE_MS = 1000;

export class SqlJobQueue implements JobQueue {
  readonly events = new EventEmitter<{ job: [JobEvent] }>();
  private readonly lastWrite = new Map<string, number>();

  constructor(
    private readonly db: Db,
    private readonly ledger: CreditLedger,
    private readonly now: () => number = Date.now,
  ) {
    this.events.setMaxListeners(0);
  }

  async enqueue<P>(input: NewJob<P>): Promise<Job<P>> {
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
      created_at: now,
      updated_at: now,
    };
    await this.db.transaction().execute(async (trx) => {
      await trx.insertInto('jobs').values(row).execute();
      await this.ledger.hold(trx, input.accountId, id, input.price, input.noCreditsMessage);
    });
    const job = toJob(row) as Job<P>;
    this.events.emit('job', { job });
    return job;
  }

  async claim(type: JobType): Promise<Job | undefined> {
    const row = await this.db.transaction().execute(async (trx) => {
      const next = await trx
        .selectFrom('jobs')
        .selectAll()
        .where('state', '=', 'queued')
        .where('type', '=', type)
        .orderBy('created_at')
        .orderBy('id')
        .limit(1)
        .executeTakeFirst();
      if (!next) return undefined;
      const now = this.now();
      const claimed = await trx
        .updateTable('jobs')
        .set({ state: 'running', attempts: next.attempts + 1, updated_at: now })
        .where('id', '=', next.id)
        .where('state', '=', 'queued')
        .executeTakeFirst();
      return Number(claimed.numUpdatedRows) === 1 ? { ...next, state: 'running' as const, attempts: next.attempts + 1, updated_at: now } : undefined;
    });
    if (!row) return undefined;
    const job = toJob(row);
    this.events.emit('job', { job });
    return job;
  }

  async progress(job: Job, progress: number, message?: string): Promise<void> {
    const p = Math.max(0, Math.min(1, progress));
    const now = this.now();
    this.events.emit('job', { job: { ...job, state: 'running', progress: p, updatedAt: now }, message });
    if (now - (this.lastWrite.get(job.id) ?? 0) >= PROGRESS_WRITE_MS) {
      this.lastWrite.set(job.id, now);
      await this.db.updateTable('jobs').set({ progress: p, updated_at: now }).where('id', '=', job.id).where('state', '=', 'running').execute();
    }
  }

  async complete(id: string, result: unknown): Promise<void> {
    await this.finish(id, { state: 'completed', result: JSON.stringify(result ?? null), progress: 1 }, 'settle');
  }

  async fail(id: string, error: JobError, state: 'failed' | 'cancelled' = 'failed'): Promise<void> {
    await this.finish(id, { state, error: JSON.stringify(error) }, 'release');
  }

  async cancelQueued(id: string): Promise<boolean> {
    const error: JobError = { code: ErrorCode.Cancelled, message: 'Cancelled before it started' };
    return this.finish(id, { state: 'cancelled', error: JSON.stringify(error) }, 'release', ['queued']);
  }

  async reprice(id: string, price: number, noCreditsMessage: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await this.ledger.adjustHold(trx, id, price, noCreditsMessage);
      const r = await trx.updateTable('jobs').set({ price, updated_at: this.now() }).where('id', '=', id).where('state', '=', 'running').executeTakeFirst();
      if (Number(r.numUpdatedRows) !== 1) throw new VidscribeError(ErrorCode.BadRequest, `job ${id} is not running`);
    });
  }

  /** Moves a job to its final state and settles or releases its credits, in one transaction. */
  private async finish(id: string, set: Partial<JobsTable>, credits: 'settle' | 'release', from: JobState[] = ['queued', 'running']): Promise<boolean> {
    this.lastWrite.delete(id);
    const done = await this.db.transaction().execute(async (trx) => {
      const r = await trx
        .updateTable('jobs')
        .set({ ...set, updated_at: this.now() })
        .where('id', '=', id)
        .where('state', 'in', from)
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
    if (!done) {
      if (from.includes('running')) throw new VidscribeError(ErrorCode.BadRequest, `job ${id} has already finished`);
      return false;
    }
    const job = await this.get(id);
    if (job) this.events.emit('job', { job });
    return true;
  }

  async get(id: string): Promise<Job | undefined> {
    const r = await this.db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? toJob(r) : undefined;
  }

  async listForSession(sessionId: string): Promise<Job[]> {
    const rows = await jobsOfSession.execute(this.db, { sessionId });
    return rows.map(toJob);
  }

  async recoverInterrupted(): Promise<number> {
    const r = await this.db.updateTable('jobs').set({ state: 'queued', updated_at: this.now() }).where('state', '=', 'running').executeTakeFirst();
    return Number(r.numUpdatedRows);
  }
}
