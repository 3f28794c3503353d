/**
 * The in-process worker pool: a fixed number of slots per job type (ASR slots each own one
 * loaded model; render slots each run one ffmpeg), sized for the machine's cores. Slots take
 * jobs from the JobQueue, so the same runner serves the SQL queue and a Redis one.
 */
import { ErrorCode, VidscribeError, isVidscribeError } from '../shared/errors.ts';
import type { Job, JobQueue, JobType } from './queue.ts';

export interface JobContext {
  signal: AbortSignal;
  /** Which slot runs the job (an ASR slot's own worker process, say). */
  slot: number;
  progress(fraction: number, message?: string): void;
}

/** Returns the job's result (stored as JSON); throws a VidscribeError for an expected failure. */
export type JobHandler = (job: Job, ctx: JobContext) => Promise<unknown>;

export interface RunnerOptions {
  handlers: Partial<Record<JobType, JobHandler>>;
  slots: Partial<Record<JobType, number>>;
  /** A safety net for wake-ups missed across processes; jobs queued here wake a slot at once. */
  pollMs?: number;
  /**
   * Faults, and the full detail of every failed job (the job itself stores only a short,
   * client-safe reason): the runner never drops one silently.
   */
  onError?: (e: unknown, job?: Job) => void;
}

export class JobRunner {
  private readonly running = new Map<string, AbortController>();
  private readonly waiters = new Set<() => void>();
  private stopped = false;
  private loops: Promise<void>[] = [];

  constructor(
    private readonly queue: JobQueue,
    private readonly opts: RunnerOptions,
  ) {
    for (const type of Object.keys(opts.slots) as JobType[]) {
      if (!opts.handlers[type]) throw new Error(`no handler for job type ${type}`);
    }
  }

  start(): void {
    this.queue.events.on('job', this.onJob);
    for (const [type, n] of Object.entries(this.opts.slots) as [JobType, number][]) {
      for (let slot = 0; slot < n; slot++) this.loops.push(this.loop(type, slot));
    }
  }

  private readonly onJob = ({ job }: { job: Job }) => {
    if (job.state === 'queued') this.wake();
  };

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

  private async run(job: Job, slot: number): Promise<void> {
    const ac = new AbortController();
    this.running.set(job.id, ac);
    const handler = this.opts.handlers[job.type]!;
    try {
      const result = await handler(job, {
        signal: ac.signal,
        slot,
        progress: (f, message) => {
          this.queue.progress(job, f, message).catch((e) => this.opts.onError?.(e, job));
        },
      });
      await this.queue.complete(job.id, result);
    } catch (e) {
      if (this.stopped && ac.signal.aborted) return; // shutting down: the job stays running and is recovered on the next start
      const err = isVidscribeError(e) ? e : new VidscribeError(ErrorCode.Internal, 'internal error', { cause: e });
      const cancelled = err.code === ErrorCode.Cancelled;
      if (!isVidscribeError(e)) this.opts.onError?.(e, job);
      else if (!cancelled) {
        const detail = `${job.type} job failed with ${err.code}: ${err.message}${err.stderr ? `\n${err.stderr}` : ''}`;
        this.opts.onError?.(new Error(detail, { cause: err }), job);
      }
      await this.queue
        .fail(job.id, { code: err.code, message: clientMessage(err.message) }, cancelled ? 'cancelled' : 'failed')
        .catch((x) => this.opts.onError?.(x, job));
    } finally {
      this.running.delete(job.id);
    }
  }

  /** Cancels a running job (its handler sees the abort); returns false when it is not running here. */
  cancel(jobId: string): boolean {
    const ac = this.running.get(jobId);
    if (!ac) return false;
    ac.abort();
    return true;
  }

  /** Stops taking jobs; running ones are aborted and left `running`, so the next start resumes them. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.queue.events.off('job', this.onJob);
    for (const ac of this.running.values()) ac.abort();
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
