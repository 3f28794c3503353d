import cliProgress from 'cli-progress';

export interface ProgressReporter {
  update(fileIndex: number, stage: string, doneSec: number, totalSec: number): void;
  finish(fileIndex: number, ok: boolean): void;
  /** A line from below (model download progress, worker logs), shown without breaking the bars. */
  log(line: string): void;
  stop(): void;
}

/** A bar per file on a terminal; plain progress lines (every 10 %) when stderr is a pipe or a file. */
export function createProgressReporter(names: string[], stream: NodeJS.WriteStream = process.stderr): ProgressReporter {
  return stream.isTTY ? ttyReporter(names, stream) : plainReporter(names, stream);
}

function ttyReporter(names: string[], stream: NodeJS.WriteStream): ProgressReporter {
  const width = Math.min(32, Math.max(...names.map((n) => n.length)));
  const multi = new cliProgress.MultiBar(
    {
      stream,
      format: `{name} |{bar}| {percentage}% {stage} {done}/{total}s`,
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
      b = multi.create(100, 0, { name: fit(names[i] ?? '', width), stage: 'queued', done: '0', total: '?' });
      bars.set(i, b);
    }
    return b;
  };
  return {
    update(i, stage, doneSec, totalSec) {
      const pct = totalSec > 0 ? Math.min(100, (doneSec / totalSec) * 100) : 0;
      bar(i).update(Math.round(pct), { stage, done: doneSec.toFixed(0), total: totalSec.toFixed(0) });
    },
    finish(i, ok) {
      const b = bar(i);
      b.update(ok ? 100 : b.getProgress() * 100, { stage: ok ? 'done' : 'FAILED' });
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
  const lastDecile = new Map<number, number>();
  return {
    update(i, stage, doneSec, totalSec) {
      const pct = totalSec > 0 ? Math.floor(Math.min(100, (doneSec / totalSec) * 100)) : 0;
      const decile = stage === 'transcribe' ? Math.floor(pct / 10) : -1;
      if (lastDecile.get(i) === decile && stage === 'transcribe') return;
      lastDecile.set(i, decile);
      stream.write(`${names[i]}: ${stage} ${stage === 'transcribe' ? `${pct}% (${doneSec.toFixed(1)}/${totalSec.toFixed(1)} s)` : ''}\n`);
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
