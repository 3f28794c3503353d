import cliProgress from 'cli-progress';

export interface ProgressReporter {
  /** `detail` (e.g. "28 fps") is shown on a terminal only. */
  update(item: number, stage: string, doneSec: number, totalSec: number, detail?: string): void;
  finish(item: number, ok: boolean): void;
  /** A line from below (model download progress, worker logs), shown without breaking the bars. */
  log(line: string): void;
  stop(): void;
}

/**
 * One bar per item (file, render) on a terminal; on a pipe or a file (logs, CI) a plain line each
 * time an item enters a stage or passes another 10 % of it.
 */
export function createProgressReporter(names: string[], stream: NodeJS.WriteStream = process.stderr): ProgressReporter {
  return stream.isTTY ? ttyReporter(names, stream) : plainReporter(names, stream);
}

const percentOf = (done: number, total: number) => (total > 0 ? Math.min(100, (done / total) * 100) : 0);

function ttyReporter(names: string[], stream: NodeJS.WriteStream): ProgressReporter {
  const width = Math.min(32, Math.max(...names.map((n) => n.length)));
  const multi = new cliProgress.MultiBar(
    {
      stream,
      format: `{name} |{bar}| {percentage}% {stage} {done}/{total}s {detail}`,
      barCompleteChar: '█',
      barIncompleteChar: '░',
      hideCursor: true,
      clearOnComplete: false,
      autopadding: true,
    },
    cliProgress.Presets.shades_classic,
  );
  const bars = new Map<number, cliProgress.SingleBar>();
  const bar = (i: number) => {
    let b = bars.get(i);
    if (!b) {
      b = multi.create(100, 0, { name: fit(names[i] ?? '', width), stage: 'queued', done: '0', total: '?', detail: '' });
      bars.set(i, b);
    }
    return b;
  };
  return {
    update(i, stage, doneSec, totalSec, detail = '') {
      bar(i).update(Math.round(percentOf(doneSec, totalSec)), { stage, done: doneSec.toFixed(0), total: totalSec.toFixed(0), detail });
    },
    finish(i, ok) {
      const b = bar(i);
      b.update(ok ? 100 : b.getProgress() * 100, { stage: ok ? 'done' : 'FAILED', detail: '' });
      b.stop();
    },
    log(line) {
      multi.log(line + '\n');
    },
    stop() {
      multi.stop();
    },
  };
}

function plainReporter(names: string[], stream: NodeJS.WriteStream): ProgressReporter {
  const last = new Map<number, string>();
  return {
    update(i, stage, doneSec, totalSec) {
      const pct = Math.floor(percentOf(doneSec, totalSec));
      const key = `${stage}:${Math.floor(pct / 10)}`;
      if (last.get(i) === key) return;
      last.set(i, key);
      const where = totalSec > 0 ? ` ${pct}% (${doneSec.toFixed(1)}/${totalSec.toFixed(1)} s)` : '';
      stream.write(`${names[i]}: ${stage}${where}\n`);
    },
    finish(i, ok) {
      stream.write(`${names[i]}: ${ok ? 'done' : 'failed'}\n`);
    },
    log(line) {
      stream.write(line + '\n');
    },
    stop() {},
  };
}

function fit(s: string, width: number): string {
  return s.length > width ? s.slice(0, width - 1) + '…' : s.padEnd(width);
}
