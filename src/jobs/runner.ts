/**
 * The worker pool of a process: a fixed number of slots per job type (ASR slots each own one
 * loaded model; render slots each run one ffmpeg), sized for the machine's cores. Slots claim jobs
 * from the JobQueue under a lease and renew it while a job runs; a reaper puts back the jobs of
 * workers that died. Any number of processes may run one on the same database.
 */
import { ErrorCode, VidscribeError, isVidscribeError } from '../shared/errors.ts';
import type { Job, JobQueue } from './queue.ts';
import type { JobType, ResultOf } from './types.ts';

export interface JobContext {
  signal: AbortSignal;
  /** Which slot runs the job (an ASR slot's own worker process, say). */
  slot: number;
  progress(fraction: number, message?: string): void;
}

/** Returns the job's result (stored as JSON); throws a VidscribeError for an expected failure. */
export type JobHandler<T extends JobType = JobType> = (job: Job<T>, ctx: JobContext) => Promise<ResultOf<T>>;

export type JobHandlers = { [T in JobType]?: JobHandler<T> };

export interface RunnerOptions {
  handlers: JobHandlers;
  slots: Partial<Record<JobType, number>>;
  /** A safety net for wake-ups missed across processes; a job queued anywhere wakes a slot at once. */
  pollMs?: number;
  /** How often this process looks for jobs whose worker died (default: a third of the lease). */
  reapMs?: number;
  /**
   * Faults, and the full detail of every failed job (the job itself stores only a short,
   * client-safe reason): the runner never drops one silently.
   */
  onError?: (e: unknown, job?: Job) => void;
}

/** Why a running job's handler was aborted. */
type StopReason = 'cancel' | 'lost' | 'shutdown';

export class JobRunner {
  private readonly running = new Map<string, { ac: AbortController; reason?: StopReason }>();
  private readonly waiters = new Set<() => void>();
  private stopped = false;
  private loops: Promise<void>[] = [];
  private unsubscribe: (() => void)[] = [];
  private reaper: NodeJS.Timeout | undefined;

  constructor(
    private readonly queue: JobQueue,
    private readonly opts: RunnerOptions,
  ) {
    for (const type of Object.keys(opts.slots) as JobType[]) {
      if (!opts.handlers[type]) throw new Error(`no handler for job type ${type}`);
    }
  }

  start(): void {
    this.unsubscribe.push(
      this.queue.events.subscribe((e) => {
        if (e.state === 'queued') this.wake();
      }),
      this.queue.events.onCancel((id) => this.abort(id, 'cancel')),
    );
    const reapMs = this.opts.reapMs ?? Math.max(50, Math.floor(this.queue.leaseMs / 3));
    this.reaper = setInterval(() => {
      this.queue.reap().catch((e) => this.opts.onError?.(e));
    }, reapMs);
    this.reaper.unref();
    for (const [type, n] of Object.entries(this.opts.slots) as [JobType, number][]) {
      for (let slot = 0; slot < n; slot++) this.loops.push(this.loop(type, slot));
    }
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        this.waiters.delete(done);
        resolve();
      };
      const t = setTimeout(done, ms);
      this.waiters.add(done);
    });
  }

  private async loop(type: JobType, slot: number): Promise<void> {
    while (!this.stopped) {
      let job: Job | undefined;
      try {
        job = await this.queue.claim(type);
      } catch (e) {
        if (this.stopped) return;
        this.opts.onError?.(e);
      }
      if (!job) {
        await this.sleep(this.opts.pollMs ?? 1000);
        continue;
      }
      await this.run(job, slot);
    }
  }

  /** Runs a job with its own handler (the job's type picks both). */
  private handle<T extends JobType>(job: Job<T>, ctx: JobContext): Promise<ResultOf<T>> {
    const handler = this.opts.handlers[job.type] as JobHandler<T> | undefined;
    if (!handler) throw new Error(`no handler for job type ${job.type}`);
    return handler(job, ctx);
  }

  private async run(job: Job, slot: number): Promise<void> {
    const entry: { ac: AbortController; reason?: StopReason } = { ac: new AbortController() };
    const ac = entry.ac;
    this.running.set(job.id, entry);
    // The heartbeat: a lease renewed a few times per period survives a slow query; one that was
    // lost (this process stalled past it and another worker took the job) stops the handler.
    const heartbeat = setInterval(
      () => {
        this.queue.renew(job).then(
          (lease) => {
            if (lease === 'lost') this.abort(job.id, 'lost');
            else if (lease === 'cancel') this.abort(job.id, 'cancel');
          },
          (e) => this.opts.onError?.(e, job),
        );
      },
      Math.max(10, Math.floor(this.queue.leaseMs / 3)),
    );
    try {
      let result: ResultOf<JobType>;
      try {
        result = await this.handle(job, {
          signal: ac.signal,
          slot,
          progress: (f, message) => {
            this.queue.progress(job, f, message).catch((e) => this.opts.onError?.(e, job));
          },
        });
      } catch (e) {
        await this.failed(job, e, entry.reason);
        return;
      }
      if (entry.reason === 'lost') {
        this.opts.onError?.(new Error(`${job.type} job ${job.id} finished after its lease was lost: its result is dropped`), job);
        return;
      }
      await this.queue.complete(job, result).catch((e) => this.opts.onError?.(e, job));
    } finally {
      clearInterval(heartbeat);
      this.running.delete(job.id);
    }
  }

  private async failed(job: Job, e: unknown, reason: StopReason | undefined): Promise<void> {
    // Shutting down: the job goes back to the queue for this or another process.
    if (reason === 'shutdown') return this.queue.requeue(job).catch((x) => this.opts.onError?.(x, job));
    // Another worker has it now: nothing of this run is recorded.
    if (reason === 'lost') return void this.opts.onError?.(new Error(`${job.type} job ${job.id}: its lease was lost while it ran`, { cause: e }), job);
    const err = isVidscribeError(e) ? e : new VidscribeError(ErrorCode.Internal, 'internal error', { cause: e });
    const cancelled = err.code === ErrorCode.Cancelled || reason === 'cancel';
    if (!isVidscribeError(e) && !cancelled) this.opts.onError?.(e, job);
    else if (!cancelled) {
      const detail = `${job.type} job failed with ${err.code}: ${err.message}${err.stderr ? `\n${err.stderr}` : ''}`;
      this.opts.onError?.(new Error(detail, { cause: err }), job);
    }
    const shown = {
      code: cancelled ? ErrorCode.Cancelled : err.code,
      message: clientMessage(cancelled && err.code !== ErrorCode.Cancelled ? 'Cancelled' : err.message),
    };
    await this.queue.fail(job, shown, cancelled ? 'cancelled' : 'failed').catch((x) => this.opts.onError?.(x, job));
  }

  private abort(jobId: string, reason: StopReason): boolean {
    const entry = this.running.get(jobId);
    if (!entry) return false;
    entry.reason ??= reason;
    entry.ac.abort();
    return true;
  }

  /** Stops taking jobs; running ones are aborted and given back to the queue, for this or another process to run. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const u of this.unsubscribe.splice(0)) u();
    clearInterval(this.reaper);
    for (const id of [...this.running.keys()]) this.abort(id, 'shutdown');
    this.wake();
    await Promise.allSettled(this.loops);
  }
}

/** The longest reason a client is shown for a failed job. */
export const CLIENT_MESSAGE_MAX_CHARS = 300;

/**
 * A failure's message as a client may see it: its first line, no server paths (absolute paths,
 * content-addressed `<sha256>.ext` names), at most CLIENT_MESSAGE_MAX_CHARS. A tool's message can
 * carry its whole command line (hundreds of kB of filter graph and paths); the full detail goes
 * to the server log through onError.
 */
export function clientMessage(message: string): string {
  const first = message.slice(0, 4000).split(/\r?\n/, 1)[0] ?? '';
  const safe = first
    .replace(/\b[0-9a-f]{64}(\.[a-z0-9]{1,8})?\b/gi, '(file)')
    .replace(/(^|[\s"'`(=[<,:])(?:file:\/\/)?\/[^\s"'`()<>[\],;:]+/g, '$1(path)')
    .trim();
  if (!safe) return 'failed';
  return safe.length <= CLIENT_MESSAGE_MAX_CHARS ? safe : `${safe.slice(0, CLIENT_MESSAGE_MAX_CHARS - 1)}…`;
}
