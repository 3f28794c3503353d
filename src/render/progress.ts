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

/**
 * `totalFrames`, when known, also bounds the percentage: ffmpeg's out_time is its furthest
 * stream, so a sound that runs on would otherwise show progress the picture never made.
 */
export function createProgressParser(totalSec: number, onProgress: (p: RenderProgress) => void, totalFrames?: number): ProgressParser {
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
        const frame = num(block.frame);
        let share = totalSec > 0 ? outTimeSec / totalSec : 0;
        if (totalFrames && frame !== undefined) share = Math.min(share, frame / totalFrames);
        const percent = done ? 100 : Math.min(99.9, Math.floor(share * 1000) / 10);
        const p: RenderProgress = { percent, outTimeSec: done ? totalSec : outTimeSec, totalSec, done };
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

export interface OutputWatch {
  /** True when this report shows output the previous ones did not: a new frame (or, with no frame count, new time within the timeline). */
  advanced(p: RenderProgress): boolean;
}

/**
 * Progress as the stall guard sees it. ffmpeg reports twice a second whatever happens, and its
 * clock is its furthest stream: a sound running on past the timeline moves it while the picture
 * is stuck. Every render has a picture, so a new frame is the progress that counts.
 */
export function createOutputWatch(totalSec: number): OutputWatch {
  let frame = -1;
  let outTime = -1;
  return {
    advanced(p) {
      if (p.frame !== undefined) {
        const moved = p.frame > frame;
        frame = Math.max(frame, p.frame);
        return moved;
      }
      const t = Math.min(p.outTimeSec, totalSec);
      const moved = t > outTime;
      outTime = Math.max(outTime, t);
      return moved;
    },
  };
}
