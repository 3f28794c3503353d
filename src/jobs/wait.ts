import { type Job, type JobEvent, type JobQueue, isEnded } from './queue.ts';
import type { JobType } from './types.ts';

/** A safety net for an event missed across processes (a LISTEN connection that was down): the job is re-read this often. */
const RECHECK_MS = 5000;

/**
 * Resolves with the job once it has finished (completed, failed or cancelled), wherever it ran,
 * passing every event on the way to `onEvent`. Listens before it looks, so a job finishing in
 * between is not missed.
 */
export function waitForJob<T extends JobType>(
  queue: Pick<JobQueue, 'events' | 'get'>,
  job: { id: string; type: T },
  opts: { onEvent?: (e: JobEvent) => void; signal?: AbortSignal } = {},
): Promise<Job<T>> {
  return new Promise<Job<T>>((resolve, reject) => {
    let done = false;
    const finish = (j: Job | undefined, err?: unknown) => {
      if (done) return;
      done = true;
      unsubscribe();
      clearInterval(recheck);
      opts.signal?.removeEventListener('abort', onAbort);
      if (err || !j) reject(err ?? new Error(`job ${job.id} vanished`));
      else if (!isOfType(j, job.type)) reject(new Error(`job ${job.id} is a ${j.type} job, not ${job.type}`));
      else resolve(j);
    };
    const look = () =>
      queue.get(job.id).then(
        (j) => {
          if (!j) finish(undefined);
          else if (isEnded(j.state)) finish(j);
        },
        (e) => finish(undefined, e),
      );
    const listener = (e: JobEvent) => {
      if (e.id !== job.id || done) return;
      opts.onEvent?.(e);
      if (isEnded(e.state)) look();
    };
    const onAbort = () => finish(undefined, opts.signal?.reason ?? new Error('aborted'));
    const unsubscribe = queue.events.subscribe(listener);
    const recheck = setInterval(look, RECHECK_MS);
    if (opts.signal?.aborted) return onAbort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    look();
  });
}

export function isOfType<T extends JobType>(job: Job, type: T): job is Job<T> {
  return job.type === type;
}

/**
 * Cancels a job wherever it is: one not taken yet (or whose worker died) is cancelled in the
 * queue; a running one is asked to stop, and its worker, in this process or another, aborts it and
 * releases the hold. False when it has already ended.
 */
export function cancelJob(queue: Pick<JobQueue, 'cancel'>, jobId: string): Promise<boolean> {
  return queue.cancel(jobId);
}
