import type { Job, JobEvent, JobQueue } from './queue.ts';

/**
 * Resolves with the job once it has finished (completed, failed or cancelled), passing every
 * event on the way to `onEvent`. Listens before it looks, so a job finishing in between is not missed.
 */
export function waitForJob(queue: JobQueue, jobId: string, opts: { onEvent?: (e: JobEvent) => void; signal?: AbortSignal } = {}): Promise<Job> {
  return new Promise<Job>((resolve, reject) => {
    let done = false;
    const finish = (job: Job | undefined, err?: unknown) => {
      if (done) return;
      done = true;
      queue.events.off('job', listener);
      opts.signal?.removeEventListener('abort', onAbort);
      if (err || !job) reject(err ?? new Error(`job ${jobId} vanished`));
      else resolve(job);
    };
    const isFinal = (j: Job) => j.state === 'completed' || j.state === 'failed' || j.state === 'cancelled';
    const listener = (e: JobEvent) => {
      if (e.job.id !== jobId) return;
      opts.onEvent?.(e);
      if (isFinal(e.job)) finish(e.job);
    };
    const onAbort = () => finish(undefined, opts.signal?.reason ?? new Error('aborted'));
    if (opts.signal?.aborted) return onAbort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    queue.events.on('job', listener);
    queue.get(jobId).then(
      (j) => {
        if (!j) finish(undefined);
        else if (isFinal(j)) finish(j);
      },
      (e) => finish(undefined, e),
    );
  });
}

/**
 * Cancels a job wherever it is: one not taken yet is cancelled in the queue; one running in this
 * process is aborted (its runner records the cancel and releases the hold). False when it runs
 * elsewhere or has already ended.
 */
export async function cancelJob(queue: JobQueue, runner: { cancel(jobId: string): boolean } | undefined, jobId: string): Promise<boolean> {
  return (await queue.cancelQueued(jobId)) || (runner?.cancel(jobId) ?? false);
}
