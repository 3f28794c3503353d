/**
 * Job events between processes: every state change and progress line of a job, and requests to
 * cancel one, reach every listener of every process that shares the database — the API node
 * holding a client's SSE stream or OpenAI request, and the worker running the job. In one process
 * (the embedded default) that is an EventEmitter; on Postgres it is LISTEN/NOTIFY.
 */
import { EventEmitter } from 'node:events';
import pg from 'pg';
import type { JobsTable } from '../storage/database.ts';
import { sql, type Db } from '../storage/database.ts';
import type { JobType } from './types.ts';

/** What listeners hear: small enough for a NOTIFY payload; whoever needs the whole job reads it (JobQueue.get). */
export interface JobEvent {
  id: string;
  type: JobType;
  accountId: string;
  state: JobsTable['state'];
  /** 0..1 */
  progress: number;
  /** A line a person can read ("Transcribing talk.mp4: 30 s of 120 s"). */
  message?: string;
}

export interface JobEvents {
  /** Tells every listener in every process. Resolves once it is sent (in-process: delivered); never rejects. */
  publish(e: JobEvent): Promise<void>;
  /** Returns the unsubscribe function. */
  subscribe(listener: (e: JobEvent) => void): () => void;
  /** Asks whichever worker runs the job to abort it. */
  requestCancel(jobId: string): Promise<void>;
  onCancel(listener: (jobId: string) => void): () => void;
  close(): Promise<void>;
}

/** The longest message an event carries: a NOTIFY payload must stay under 8000 bytes. */
const MESSAGE_MAX_CHARS = 1000;

type Bus = EventEmitter<{ job: [JobEvent]; cancel: [string] }>;

function on<K extends 'job' | 'cancel'>(bus: Bus, name: K, listener: K extends 'job' ? (e: JobEvent) => void : (id: string) => void): () => void {
  bus.on(name, listener as never);
  return () => bus.off(name, listener as never);
}

/** Every listener is in this process: delivered at once, in order. */
export class InProcessJobEvents implements JobEvents {
  private readonly bus: Bus = new EventEmitter();
  constructor() {
    this.bus.setMaxListeners(0);
  }
  async publish(e: JobEvent): Promise<void> {
    this.bus.emit('job', e);
  }
  subscribe(listener: (e: JobEvent) => void): () => void {
    return on(this.bus, 'job', listener);
  }
  async requestCancel(jobId: string): Promise<void> {
    this.bus.emit('cancel', jobId);
  }
  onCancel(listener: (jobId: string) => void): () => void {
    return on(this.bus, 'cancel', listener);
  }
  async close(): Promise<void> {
    this.bus.removeAllListeners();
  }
}

const JOB_CHANNEL = 'vidscribe_jobs';
const CANCEL_CHANNEL = 'vidscribe_job_cancel';

/**
 * LISTEN/NOTIFY: notifications are sent through the database's pool and heard on one dedicated
 * connection per process, reconnected (and listening again) after an error. A notification sent
 * while that connection is down is not heard: waitForJob re-reads the job now and then for that.
 */
export class PostgresJobEvents implements JobEvents {
  private readonly bus: Bus = new EventEmitter();
  private client: pg.Client | undefined;
  private closed = false;
  private reconnect: NodeJS.Timeout | undefined;

  private constructor(
    private readonly url: string,
    private readonly db: Db,
    private readonly onError: (e: unknown) => void,
  ) {
    this.bus.setMaxListeners(0);
  }

  /** Connected and listening when it resolves. */
  static async open(url: string, db: Db, onError: (e: unknown) => void = () => {}): Promise<PostgresJobEvents> {
    const events = new PostgresJobEvents(url, db, onError);
    await events.connect();
    return events;
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.url });
    client.on('notification', (n) => this.deliver(n.channel, n.payload ?? ''));
    const lost = (e?: unknown) => {
      if (this.client !== client) return;
      this.client = undefined;
      client.end().catch(() => {});
      if (this.closed) return;
      this.onError(new Error('job events: the LISTEN connection was lost; reconnecting', { cause: e }));
      this.scheduleReconnect();
    };
    client.on('error', lost);
    client.on('end', () => lost());
    await client.connect();
    await client.query(`LISTEN ${JOB_CHANNEL}`);
    await client.query(`LISTEN ${CANCEL_CHANNEL}`);
    this.client = client;
  }

  private scheduleReconnect(): void {
    this.reconnect = setTimeout(() => {
      this.connect().catch((e) => {
        this.onError(e);
        if (!this.closed) this.scheduleReconnect();
      });
    }, 1000);
  }

  private deliver(channel: string, payload: string): void {
    try {
      if (channel === CANCEL_CHANNEL) this.bus.emit('cancel', payload);
      else if (channel === JOB_CHANNEL) this.bus.emit('job', JSON.parse(payload) as JobEvent);
    } catch (e) {
      this.onError(e);
    }
  }

  /**
   * Never rejects: the change it tells of is already committed, so a failed notification is
   * reported, and listeners catch up by re-reading (workers poll, waitForJob re-reads the job).
   */
  async publish(e: JobEvent): Promise<void> {
    const small: JobEvent = e.message && e.message.length > MESSAGE_MAX_CHARS ? { ...e, message: `${e.message.slice(0, MESSAGE_MAX_CHARS - 1)}…` } : e;
    await sql`select pg_notify(${JOB_CHANNEL}, ${JSON.stringify(small)})`.execute(this.db).catch(this.onError);
  }

  subscribe(listener: (e: JobEvent) => void): () => void {
    return on(this.bus, 'job', listener);
  }

  /** Never rejects either: the cancel is also recorded on the job, and its worker reads it at the next lease renewal. */
  async requestCancel(jobId: string): Promise<void> {
    await sql`select pg_notify(${CANCEL_CHANNEL}, ${jobId})`.execute(this.db).catch(this.onError);
  }

  onCancel(listener: (jobId: string) => void): () => void {
    return on(this.bus, 'cancel', listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.reconnect);
    const c = this.client;
    this.client = undefined;
    this.bus.removeAllListeners();
    await c?.end();
  }
}
