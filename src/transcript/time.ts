/** Timestamp formatting shared by the exporters. All inputs are seconds. */

/** Whole milliseconds, never negative (exporters must not print "-00:00:01"). */
export function toMillis(seconds: number): number {
  return Number.isFinite(seconds) && seconds > 0 ? Math.round(seconds * 1000) : 0;
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/**
 * Subtitle timestamp `HH:MM:SS<sep>mmm`: `,` for SRT, `.` for WebVTT.
 * Rounded to the millisecond first so 59.9996 prints as 00:01:00,000, not 00:00:59,1000.
 */
export function formatTimestamp(seconds: number, sep: ',' | '.'): string {
  const ms = toMillis(seconds);
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor(ms / 60_000) % 60;
  const s = Math.floor(ms / 1000) % 60;
  return `${pad(h)}:${pad(m)}:${pad(s)}${sep}${pad(ms % 1000, 3)}`;
}

/** Reading-text clock `hh:mm:ss` (paragraph stamps, durations). Truncates: a paragraph at 4.9 s starts in second 4. */
export function formatClock(seconds: number): string {
  const total = Number.isFinite(seconds) && seconds > 0 ? Math.floor(seconds + 1e-9) : 0;
  return `${pad(Math.floor(total / 3600))}:${pad(Math.floor(total / 60) % 60)}:${pad(total % 60)}`;
}
