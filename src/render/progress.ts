/**
 * Reads ffmpeg's `-progress` output: blocks of key=value lines, each closed by `progress=continue`
 * (or `progress=end`). Pure apart from the callback.
 */

export interface RenderProgress {
  /** Percent of the timeline encoded, 0..100. */
  percent: number;
  outTimeSec: number;
  totalSec: number;
  frame?: number;
  /** Frames encoded per second, as ffmpeg reports it. */
  fps?: number;
  /** Multiple of real time, as ffmpeg reports it. */
  speed?: number;
  done: boolean;
}

export interface ProgressParser {
  /** Feed raw stdout; it may split lines anywhere. */
  push(chunk: string): void;
}

export function createProgressParser(totalSec: number, onProgress: (p: RenderProgress) => void): ProgressParser {
  let pending = '';
  let block: Record<string, string> = {};
  const num = (v: string | undefined): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number.parseFloat(v);
    return Number.isFinite(n) ? n : undefined;
  };
  return {
    push(chunk) {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const raw of lines) {
        const line = raw.trim();
        const eq = line.indexOf('=');
        if (eq <= 0) continue;
        const key = line.slice(0, eq);
        const value = line.slice(eq + 1);
        if (key !== 'progress') {
          block[key] = value;
          continue;
        }
        const done = value === 'end';
        // out_time_us is microseconds; the older out_time_ms is also microseconds (a known misnomer).
        const us = num(block.out_time_us) ?? num(block.out_time_ms);
        const outTimeSec = Math.max(0, (us ?? 0) / 1e6);
        const percent = done ? 100 : totalSec > 0 ? Math.min(99.9, Math.floor((outTimeSec / totalSec) * 1000) / 10) : 0;
        const p: RenderProgress = { percent, outTimeSec: done ? totalSec : outTimeSec, totalSec, done };
        const frame = num(block.frame);
        const fps = num(block.fps);
        const speed = num(block.speed?.replace(/x$/, ''));
        if (frame !== undefined) p.frame = frame;
        if (fps !== undefined) p.fps = fps;
        if (speed !== undefined) p.speed = speed;
        onProgress(p);
        block = {};
      }
    },
  };
}
