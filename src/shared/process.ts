import { execa, type Options, type ResultPromise } from 'execa';
import { ErrorCode, VidscribeError, stderrTail } from './errors.ts';

/** Grace period between SIGTERM and SIGKILL when a child is cancelled or times out. */
export const KILL_GRACE_MS = 3000;

export interface RunOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
  /** What the tool was doing, for the error message ("probing input.mp4"). */
  what: string;
  /** Error code to use when the tool itself fails (non-zero exit). */
  failCode?: ErrorCode;
}

export interface RunResult {
  stdout: string;
  stderr: string;
}

/**
 * Runs a command-line tool to completion (ffprobe, a short ffmpeg job) with a timeout and
 * cancellation (SIGTERM, then SIGKILL after a grace period), turning every failure into one
 * VidscribeError carrying the exit code and the tail of stderr.
 */
export async function runTool(file: string, args: readonly string[], opts: RunOptions): Promise<RunResult> {
  const child = startTool(file, args, opts);
  return settleTool(child, opts);
}

export function startTool(file: string, args: readonly string[], opts: RunOptions & Pick<Options, 'stdout' | 'stdin'>): ResultPromise {
  return execa(file, args, {
    timeout: opts.timeoutMs,
    cancelSignal: opts.signal,
    forceKillAfterDelay: KILL_GRACE_MS,
    stdin: opts.stdin ?? 'ignore',
    stdout: opts.stdout ?? 'pipe',
    stripFinalNewline: false,
    maxBuffer: 64 * 1024 * 1024,
  });
}

export async function settleTool(child: ResultPromise, opts: RunOptions): Promise<RunResult> {
  try {
    const r = await child;
    return { stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
  } catch (e) {
    throw toolError(e, opts);
  }
}

interface ExecaLikeError {
  timedOut?: boolean;
  isCanceled?: boolean;
  exitCode?: number;
  stderr?: unknown;
  code?: string;
  shortMessage?: string;
}

export function toolError(e: unknown, opts: RunOptions): VidscribeError {
  const err = (e ?? {}) as ExecaLikeError;
  const stderr = typeof err.stderr === 'string' ? stderrTail(err.stderr) : undefined;
  const details = { cause: e, stderr, exitCode: err.exitCode ?? null };
  if (err.timedOut) return new VidscribeError(ErrorCode.Timeout, `Timed out ${opts.what} after ${opts.timeoutMs} ms`, details);
  if (err.isCanceled) return new VidscribeError(ErrorCode.Cancelled, `Cancelled while ${opts.what}`, details);
  if (err.code === 'ENOENT') {
    return new VidscribeError(ErrorCode.MediaToolFailed, `Could not start a tool needed for ${opts.what}: ${err.shortMessage ?? 'not found'}. Run \`npm run setup\`.`, details);
  }
  const last = stderr?.split('\n').filter(Boolean).at(-1) ?? err.shortMessage ?? 'unknown failure';
  return new VidscribeError(opts.failCode ?? ErrorCode.MediaToolFailed, `Failed ${opts.what}: ${last}`, details);
}
