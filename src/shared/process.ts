import { accessSync, constants, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
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

/**
 * Every child process starts here (ffprobe, ffmpeg, the ASR worker). Each runs in its own process
 * group, dies with this process (Linux: `setpriv --pdeathsig KILL`, which execs the tool in place),
 * and, when a record folder is set (`vidscribe serve`), is recorded there until it exits, so that a
 * restart after a kill -9 can stop whatever survived (`reapOrphans`).
 */
/**
 * The longest delay a timer holds (2^31 - 1 ms, 24.8 days): a longer one fires after 1 ms, with a
 * warning. Time limits computed from a file's claimed length (a crafted header can claim years)
 * are capped here.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;
export const timerMs = (ms: number): number => Math.min(ms, MAX_TIMER_MS);

export function startTool(file: string, args: readonly string[], opts: RunOptions & Pick<Options, 'stdout' | 'stdin' | 'env' | 'buffer'>): ResultPromise {
  const [cmd, ...cmdArgs] = [...dieWithParent(), file, ...args] as [string, ...string[]];
  const child = execa(cmd, cmdArgs, {
    timeout: opts.timeoutMs === undefined ? undefined : timerMs(opts.timeoutMs),
    cancelSignal: opts.signal,
    forceKillAfterDelay: KILL_GRACE_MS,
    stdin: opts.stdin ?? 'ignore',
    stdout: opts.stdout ?? 'pipe',
    stripFinalNewline: false,
    maxBuffer: 64 * 1024 * 1024,
    // Its own process group: a restart can kill the whole group, and a terminal's Ctrl+C reaches only us.
    detached: process.platform !== 'win32',
    ...(opts.env ? { env: opts.env } : {}),
    ...(opts.buffer !== undefined ? { buffer: opts.buffer } : {}),
  });
  recordChild(child, [file, ...args]);
  return child;
}

// ---------------------------------------------------------------------------------------------
// Children die with the server, and a restart cleans up after a kill -9
// ---------------------------------------------------------------------------------------------

let recordDir: string | undefined;
let pdeathsigPrefix: string[] | undefined;

/** `setpriv --pdeathsig KILL --` when this is Linux with util-linux's setpriv, else nothing. */
function dieWithParent(): string[] {
  if (pdeathsigPrefix) return pdeathsigPrefix;
  pdeathsigPrefix = [];
  if (process.platform === 'linux') {
    for (const dir of (process.env.PATH ?? '').split(delimiter)) {
      const setpriv = join(dir, 'setpriv');
      try {
        accessSync(setpriv, constants.X_OK);
        pdeathsigPrefix = [setpriv, '--pdeathsig', 'KILL', '--'];
        break;
      } catch {
        // not in this PATH entry: try the next
      }
    }
  }
  return pdeathsigPrefix;
}

/** From now on every child started by `startTool` is recorded in `dir` (one JSON file per process group) until it exits. */
export function recordChildrenIn(dir: string): void {
  mkdirSync(dir, { recursive: true });
  recordDir = dir;
}

interface ChildRecord {
  pgid: number;
  /** The tool's own command line (after any wrapper has exec'd into it). */
  argv: string[];
  startedAt: number;
}

function recordChild(child: ResultPromise, argv: string[]): void {
  const dir = recordDir;
  const pid = child.pid;
  if (!dir || pid === undefined || process.platform === 'win32') return;
  const file = join(dir, `${pid}.json`);
  const record: ChildRecord = { pgid: pid, argv, startedAt: Date.now() };
  // Written before anything else can happen: a kill -9 a moment later must still find it.
  writeFileSync(file, JSON.stringify(record));
  child.once('exit', () => rmSync(file, { force: true }));
}

/** The command line and process group of a live process, from /proc (Linux); undefined when it is gone. */
function liveProcess(pid: number): { argv: string[]; pgid: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid pgrp …": comm may hold spaces and parentheses, so split after the last ')'.
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (state === 'Z') return undefined; // a zombie has already exited
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
      .split('\0')
      .filter((a, i, all) => i < all.length - 1 || a !== '');
    return { argv, pgid: Number(pgrp) };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ESRCH') return undefined;
    throw e;
  }
}

/**
 * After a crash: stops every recorded process group that is still running the command it was
 * recorded with (a recycled pid running something else is left alone), and clears the records.
 * Returns the process groups stopped.
 */
export function reapOrphans(dir: string): number[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.json'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const stopped: number[] = [];
  for (const name of names) {
    const file = join(dir, name);
    let rec: ChildRecord | undefined;
    try {
      rec = JSON.parse(readFileSync(file, 'utf8')) as ChildRecord;
    } catch {
      rec = undefined; // torn write at the moment of the crash: its process was just being started, nothing to match it by
    }
    if (rec && Number.isInteger(rec.pgid) && rec.pgid > 1 && Array.isArray(rec.argv)) {
      const live = liveProcess(rec.pgid);
      // The wrapper (setpriv) may not have exec'd yet: the recorded command is then the tail of its command line.
      if (live && live.pgid === rec.pgid && sameTail(live.argv, rec.argv)) {
        try {
          process.kill(-rec.pgid, 'SIGKILL');
          stopped.push(rec.pgid);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
        }
      }
    }
    rmSync(file, { force: true });
  }
  return stopped;
}

function sameTail(argv: string[], tail: string[]): boolean {
  if (tail.length === 0 || argv.length < tail.length) return false;
  const off = argv.length - tail.length;
  return tail.every((a, i) => argv[off + i] === a);
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
  // 127 with setpriv's complaint: the tool is missing behind the die-with-parent wrapper.
  if (err.code === 'ENOENT' || (err.exitCode === 127 && /^setpriv: failed to execute/m.test(stderr ?? ''))) {
    return new VidscribeError(
      ErrorCode.MediaToolFailed,
      `Could not start a tool needed for ${opts.what}: it is not installed or not on PATH. Run \`npm run setup\`.`,
      details,
    );
  }
  // execa's own message quotes the whole command line (paths, filter graphs): it stays in `cause`, for the log.
  const exit = (e as { signal?: string })?.signal ? `killed by ${(e as { signal?: string }).signal}` : `exit code ${err.exitCode ?? 'unknown'}`;
  const last = stderr?.split('\n').filter(Boolean).at(-1) ?? exit;
  return new VidscribeError(opts.failCode ?? ErrorCode.MediaToolFailed, `Failed ${opts.what}: ${last}`, details);
}
