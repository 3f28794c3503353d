/**
 * The ASR workers of a process. A worker runs one job per model replica at once (two on this
 * machine kind; src/asr/PROTOCOL.md, "jobs"), and a file of one window takes one replica: a
 * worker held by one job at a time left the other replica idle. So each worker here is shared by
 * `jobsPerWorker` transcription slots. A job asking for a model its slot's worker does not serve
 * waits until that worker's jobs are done, then the worker is replaced; jobs are let in in the
 * order they asked, so one waiting for a replacement is not overtaken by later ones.
 */
import { AsrWorker } from '../asr/index.ts';
import { ErrorCode, VidscribeError } from '../shared/errors.ts';

/** A job's hold on a worker; `release` once the job is done with it (a second call does nothing). */
export interface AsrLease {
  worker: AsrWorker;
  release(): void;
}

interface Waiting {
  model: string;
  admit(lease: AsrLease): void;
  fail(e: unknown): void;
}

/** One worker and the jobs holding or waiting for it. */
interface SharedWorker {
  worker?: AsrWorker;
  holders: number;
  waiting: Waiting[];
  replacing: boolean;
}

/** How a process's transcriptions share its ASR workers and its cores. */
export interface AsrLayout {
  /** Transcription slots: jobs transcribing at once. */
  transcriptions: number;
  /** Slots sharing one worker. */
  jobsPerWorker: number;
  /** CPU threads of each worker. */
  threads: number;
}

/**
 * `transcriptions` (`--asr-slots`; default one per core) in workers of two replicas where there
 * are two cores or more, the cores split between the workers: with every worker on every core,
 * four workers on 8 cores ran 32 decoding threads.
 */
export function asrLayout(cores: number, transcriptions?: number): AsrLayout {
  // 0 is allowed: a process that runs no transcriptions (an API node's tests, render-only nodes).
  const t = transcriptions === undefined ? Math.max(1, cores) : Math.max(0, Math.floor(transcriptions));
  const jobsPerWorker = t >= 2 && cores >= 2 ? 2 : 1;
  const workers = Math.max(1, Math.ceil(t / jobsPerWorker));
  return { transcriptions: t, jobsPerWorker, threads: Math.max(1, Math.floor(cores / workers)) };
}

export class AsrPool {
  private readonly shared = new Map<number, SharedWorker>();
  private readonly jobsPerWorker: number;

  /**
   * `jobsPerWorker` (default 2, the worker's replicas on two or more cores): the slots that share
   * one worker; `threads`, each worker's CPU threads (default: the worker's, every core); `create`
   * makes a worker (default: an AsrWorker; tests make one that fails).
   */
  constructor(private readonly defaults: { model: string; threads?: number; jobsPerWorker?: number; create?: (model: string, threads?: number) => AsrWorker }) {
    this.jobsPerWorker = Math.max(1, Math.floor(defaults.jobsPerWorker ?? 2));
  }

  /**
   * The worker for a job in `slot` that serves `model`, held until the lease is released. A job
   * aborted (`signal`) while it waits leaves the line at once, with a Cancelled error.
   */
  acquire(slot: number, model = this.defaults.model, signal?: AbortSignal): Promise<AsrLease> {
    const index = Math.floor(slot / this.jobsPerWorker);
    let s = this.shared.get(index);
    if (!s) {
      s = { holders: 0, waiting: [], replacing: false };
      this.shared.set(index, s);
    }
    const shared = s;
    return new Promise<AsrLease>((admit, fail) => {
      if (signal?.aborted) return fail(new VidscribeError(ErrorCode.Cancelled, 'Cancelled'));
      const leave = () => {
        const at = shared.waiting.indexOf(waiting);
        if (at < 0) return; // admitted already: the job's own steps see the abort
        shared.waiting.splice(at, 1);
        fail(new VidscribeError(ErrorCode.Cancelled, 'Cancelled'));
        this.letIn(shared); // the next in line may go in now
      };
      const waiting: Waiting = {
        model,
        admit: (lease) => {
          signal?.removeEventListener('abort', leave);
          admit(lease);
        },
        fail: (e) => {
          signal?.removeEventListener('abort', leave);
          fail(e);
        },
      };
      signal?.addEventListener('abort', leave, { once: true });
      shared.waiting.push(waiting);
      this.letIn(shared);
    });
  }

  /** Lets waiting jobs in, in order, while the worker serves their model; replaces it once idle. */
  private letIn(s: SharedWorker): void {
    while (s.waiting.length && !s.replacing) {
      const next = s.waiting[0]!;
      if (s.worker?.serves(next.model)) {
        s.waiting.shift();
        s.holders++;
        next.admit(this.lease(s, s.worker));
        continue;
      }
      if (s.holders > 0) return; // the current worker's jobs finish first
      s.replacing = true;
      const old = s.worker;
      s.worker = undefined;
      void (async () => {
        await old?.close();
        // An auto worker holds tiny.en and base too: asking for either later needs no new process.
        s.worker = (this.defaults.create ?? ((model, threads) => new AsrWorker({ model, threads })))(next.model, this.defaults.threads);
      })().then(
        () => {
          s.replacing = false;
          this.letIn(s);
        },
        (e: unknown) => {
          s.replacing = false;
          // By identity: the job may have left the line (aborted) while its worker was being made.
          const at = s.waiting.indexOf(next);
          if (at >= 0) {
            s.waiting.splice(at, 1);
            next.fail(e);
          }
          this.letIn(s);
        },
      );
      return;
    }
  }

  private lease(s: SharedWorker, worker: AsrWorker): AsrLease {
    let held = true;
    return {
      worker,
      release: () => {
        if (!held) return;
        held = false;
        s.holders--;
        this.letIn(s);
      },
    };
  }

  async close(): Promise<void> {
    const shared = [...this.shared.values()];
    this.shared.clear();
    const closed = new VidscribeError(ErrorCode.AsrFailed, 'The ASR workers were closed');
    for (const s of shared) for (const w of s.waiting.splice(0)) w.fail(closed);
    const workers = shared.flatMap((s) => (s.worker ? [s.worker] : []));
    await Promise.allSettled(workers.map((w) => w.close()));
  }
}
