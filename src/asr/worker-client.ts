import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import type { ResultPromise } from 'execa';
import { SOUND_DEMUXERS } from '../media/index.ts';
import { ErrorCode, VidscribeError, stderrTail } from '../shared/errors.ts';
import { KILL_GRACE_MS, startTool, timerMs } from '../shared/process.ts';
import type { SpeakerTurn } from '../transcript/speakers.ts';
import type { TranscriptSegment } from '../transcript/types.ts';
import { baseLanguage, isoLanguageCode, whisperLanguageCode } from '../transcript/languages.ts';
import { AUTO_MULTILINGUAL_MODEL, WORKER_SCRIPT, pythonExecutable, resolveModel, type ModelSpec } from './models.ts';

/** Speaker diarization wanted: a count, or a range; nothing given = counted automatically. */
export interface DiarizeOptions {
  /** Exactly this many speakers. */
  speakers?: number;
  minSpeakers?: number;
  maxSpeakers?: number;
}

/** Options of one transcription, mapped onto faster-whisper's `transcribe()` by the worker. */
export interface AsrOptions {
  /**
   * ISO 639-1 code, optionally with a region or script ("zh-TW", "zh-Hant": traditional Chinese
   * output); omit to auto-detect (multilingual models only). Given, it skips detection.
   */
  language?: string;
  /**
   * In auto mode, decode with this one of the two loaded models (tiny.en or base) instead of
   * routing by language; ignored by a worker holding a single model.
   */
  model?: string;
  /** A soft guess (the session's language): detection still runs, and this wins when the detector finds it plausible. Also picks the Chinese script. */
  languageHint?: string;
  task?: 'transcribe' | 'translate';
  wordTimestamps?: boolean;
  /** Silero VAD gating (on by default): drops decoded segments the VAD heard no voice in and the model doubts. */
  vadFilter?: boolean;
  /** Context to steer spelling and style ("custom vocabulary"). */
  initialPrompt?: string;
  /** Words to favour, space-separated (faster-whisper `hotwords`). */
  hotwords?: string;
  beamSize?: number;
  /** How many ≤30 s clips are decoded together (default 8); 1 gives the finest progress and cancellation. */
  batchSize?: number;
  temperature?: number;
  conditionOnPreviousText?: boolean;
  /** Find who speaks when; absent = no diarization, the output exactly as without it. */
  diarize?: DiarizeOptions;
}

/**
 * What the worker listens to: a path to raw 16 kHz mono s16le PCM (as media/extractSpeechAudio
 * writes it), or a probed media file's audio stream, which the worker decodes itself (no ffmpeg
 * process to start: what makes short files cheap).
 */
export type WorkerAudio = string | MediaAudio;

export interface MediaAudio {
  mediaPath: string;
  /** The stream's index in the container (ffprobe's `index`, AudioStreamInfo.streamIndex). */
  streamIndex: number;
  /** The probed duration: sizes the worker's buffer (0 when unknown). */
  expectedSec: number;
}

function toWorkerAudio(audio: WorkerAudio): Record<string, unknown> {
  if (typeof audio === 'string') return { audio };
  return {
    media: { path: audio.mediaPath, stream: audio.streamIndex, format_whitelist: SOUND_DEMUXERS.join(','), expected_seconds: audio.expectedSec },
  };
}

export interface AsrWorkerOptions {
  /** Model directory or name; default the bundled tiny.en. */
  model?: string;
  /** CTranslate2 compute type; int8 is the fast choice on CPU. */
  computeType?: string;
  threads?: number;
  /** Time allowed to load the model (a first download can take long). */
  startTimeoutMs?: number;
  /** Receives the worker's stderr lines (logs, model download progress). */
  onLog?: (line: string) => void;
}

export interface AsrProgress {
  doneSec: number;
  totalSec: number;
}

export interface AsrRunOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
  onProgress?: (p: AsrProgress) => void;
  onSegment?: (s: TranscriptSegment) => void;
}

export interface AsrResult {
  language: string;
  languageProbability: number;
  /** The model that decoded the audio ("tiny.en" or "base" in auto mode). */
  model: string;
  /** Seconds spent detecting the language (0 when it was given or the model is fixed). */
  detectSec: number;
  duration: number;
  segments: TranscriptSegment[];
  /** Seconds the worker spent inside faster-whisper. */
  workerWallSec: number;
  /** 30 s windows Whisper's encoder ran on, language detection included: the cost of a file, whatever the machine. */
  encoderWindows: number;
  /** Who speaks when: present when `options.diarize` was given. */
  speakers?: AsrSpeakers;
}

/** The diarizer's answer: turns in seconds, `speaker` numbered from 0 in order of first appearance. */
export interface AsrSpeakers {
  turns: SpeakerTurn[];
  count: number;
  /** Seconds the worker spent diarizing. */
  wallSec: number;
}

type WorkerMessage =
  | { event: 'ready'; multilingual: boolean; pid: number }
  | { event: 'fatal'; code: number; message: string }
  | { id: string; event: 'pong'; busy: boolean }
  | { id: string; event: 'cancelling' }
  | { id: string; event: 'started' }
  | { id: string; event: 'info'; language: string; language_probability: number; duration: number; model?: string; detect_wall?: number }
  | { id: string; event: 'segment'; segment: TranscriptSegment }
  | { id: string; event: 'progress'; done: number; total: number }
  | { id: string; event: 'speakers'; turns: SpeakerTurn[]; count: number; wall?: number }
  | { id: string; event: 'done'; duration: number; language: string; wall: number; encoder_windows?: number }
  | { id?: string; event: 'error'; code: number; message: string };

interface Pending {
  onMessage(m: WorkerMessage): void;
  fail(e: VidscribeError): void;
}

type WorkerProcess = ResultPromise & { stdin: Writable; stdout: Readable; stderr: Readable };

const STDERR_KEEP = 16_000;

/**
 * The faster-whisper worker as a repository: one long-lived Python process with the model loaded
 * once, spoken to in JSON lines (src/asr/PROTOCOL.md). It is started lazily, restarted after a
 * crash, and killed (SIGTERM, then SIGKILL) when a request is cancelled or times out and the
 * worker does not stop by itself.
 */
export class AsrWorker {
  readonly model: ModelSpec;
  private readonly opts: AsrWorkerOptions;
  private proc: WorkerProcess | undefined;
  private starting: Promise<void> | undefined;
  private multilingual = false;
  private stderr = '';
  private readonly pending = new Map<string, Pending>();
  private nextId = 1;
  private closed = false;

  constructor(opts: AsrWorkerOptions = {}) {
    this.opts = opts;
    this.model = resolveModel(opts.model);
  }

  /** Starts the process and waits until the model is loaded. Idempotent. */
  async start(): Promise<void> {
    if (this.closed) throw new VidscribeError(ErrorCode.AsrFailed, 'The ASR worker was closed');
    // `starting` first: the process exists before its model is loaded.
    if (this.starting) return this.starting;
    if (this.proc) return;
    this.starting = this.spawnProcess().finally(() => (this.starting = undefined));
    return this.starting;
  }

  get isMultilingual(): boolean {
    return this.multilingual;
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  /** Health check: true when the worker answers within the time limit, even while busy. */
  async ping(timeoutMs = 5000): Promise<boolean> {
    if (!this.proc) return false;
    const id = `ping-${this.nextId++}`;
    return new Promise<boolean>((resolvePing) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolvePing(false);
      }, timeoutMs);
      this.pending.set(id, {
        onMessage: (m) => {
          if (m.event !== 'pong') return;
          clearTimeout(timer);
          this.pending.delete(id);
          resolvePing(true);
        },
        fail: () => {
          clearTimeout(timer);
          this.pending.delete(id);
          resolvePing(false);
        },
      });
      this.send({ id, op: 'ping' });
    });
  }

  /** Transcribes the audio (a media file's stream, or PCM); with `options.diarize`, also who speaks when. */
  async transcribe(audio: WorkerAudio, options: AsrOptions = {}, run: AsrRunOptions = {}): Promise<AsrResult> {
    run.signal?.throwIfAborted();
    // Sent before the model is loaded (the worker decodes the audio meanwhile); the options are
    // checked against the model once it is.
    const loaded = this.start().then(() => this.checkOptions(options));
    const id = `t-${this.nextId++}`;
    const segments: TranscriptSegment[] = [];
    let language = options.language ? baseLanguage(options.language) : 'en';
    let languageProbability = 0;
    const forced = this.forcedRoute(options);
    let model = this.model.english
      ? forced === 'english' || (!forced && language === 'en')
        ? this.model.english.label
        : AUTO_MULTILINGUAL_MODEL
      : this.model.label;
    let detectSec = 0;
    let speakers: AsrSpeakers | undefined;
    const request = { id, op: 'transcribe', ...toWorkerAudio(audio), options: { ...toWorkerOptions(options), model: this.forcedRoute(options) } };
    return this.exchange<AsrResult>(request, run, 'Transcription', loaded, (m) => {
      switch (m.event) {
        case 'info':
          language = isoLanguageCode(m.language);
          languageProbability = m.language_probability;
          if (m.model) model = this.labelOf(m.model);
          detectSec = m.detect_wall ?? 0;
          break;
        case 'segment':
          segments.push(m.segment);
          run.onSegment?.(m.segment);
          break;
        case 'progress':
          run.onProgress?.({ doneSec: m.done, totalSec: m.total });
          break;
        case 'speakers':
          speakers = { turns: m.turns, count: m.count, wallSec: m.wall ?? 0 };
          break;
        case 'done': {
          if (options.diarize && !speakers) throw new VidscribeError(ErrorCode.AsrFailed, 'The ASR worker finished without the speakers it was asked for');
          const result: AsrResult = {
            language,
            languageProbability,
            model,
            detectSec,
            duration: m.duration,
            segments,
            workerWallSec: m.wall,
            encoderWindows: m.encoder_windows ?? 0,
          };
          return speakers ? { ...result, speakers } : result;
        }
      }
      return undefined;
    });
  }

  /** Who speaks when in the audio, without transcribing it. */
  async diarize(audio: WorkerAudio, options: DiarizeOptions = {}, run: Pick<AsrRunOptions, 'signal' | 'timeoutMs'> = {}): Promise<AsrSpeakers> {
    run.signal?.throwIfAborted();
    const loaded = this.start();
    let speakers: AsrSpeakers | undefined;
    const request = { id: `d-${this.nextId++}`, op: 'diarize', ...toWorkerAudio(audio), options: toWorkerDiarize(options) };
    return this.exchange<AsrSpeakers>(request, run, 'Diarization', loaded, (m) => {
      if (m.event === 'speakers') speakers = { turns: m.turns, count: m.count, wallSec: m.wall ?? 0 };
      if (m.event !== 'done') return undefined;
      if (!speakers) throw new VidscribeError(ErrorCode.AsrFailed, 'The ASR worker finished a diarization without speakers');
      return speakers;
    });
  }

  /**
   * One request's exchange: sends it at once, even before the model is loaded; feeds its
   * messages to `handle` once `loaded` holds (an error before that ends it at once) until that
   * returns a result (on `done`) or the worker reports an error; cancel and timeout ask the
   * worker to stop, then kill it if it does not within the grace period. The time limit counts
   * from the model's load, and again from the worker's `started`.
   */
  private async exchange<T>(
    request: { id: string } & Record<string, unknown>,
    run: Pick<AsrRunOptions, 'signal' | 'timeoutMs'>,
    what: string,
    loaded: Promise<void>,
    handle: (m: WorkerMessage) => T | undefined,
  ): Promise<T> {
    if (!this.proc) await loaded; // the worker could not be started: that error
    const proc = this.proc;
    if (!proc) throw new VidscribeError(ErrorCode.AsrFailed, 'The ASR worker is not running');
    const { id } = request;
    return new Promise<T>((resolveRun, rejectRun) => {
      let settled = false;
      let killTimer: NodeJS.Timeout | undefined;
      let timeout: NodeJS.Timeout | undefined;
      // Messages that came before `loaded` held: the options are not checked yet.
      let held: WorkerMessage[] | undefined = [];
      const finish = (err: VidscribeError | undefined, result?: T) => {
        if (settled) return;
        settled = true;
        this.pending.delete(id);
        clearTimeout(timeout);
        clearTimeout(killTimer);
        run.signal?.removeEventListener('abort', onAbort);
        if (err) rejectRun(err);
        else resolveRun(result as T);
      };
      // Ask the worker to stop at the next segment; if it does not within the grace period, kill it.
      const stop = (code: ErrorCode, message: string) => {
        if (settled || stopCode) return; // already stopping (a timeout and a cancel can both fire)
        this.send({ id: `c-${id}`, op: 'cancel', target: id });
        killTimer = setTimeout(() => {
          this.kill(proc);
          finish(new VidscribeError(code, message, { stderr: this.stderrTail() }));
        }, KILL_GRACE_MS);
        stopCode = { code, message };
      };
      let stopCode: { code: ErrorCode; message: string } | undefined;
      const onAbort = () => stop(ErrorCode.Cancelled, `${what} cancelled`);
      run.signal?.addEventListener('abort', onAbort, { once: true });
      const startTimeout = () => {
        clearTimeout(timeout);
        timeout = run.timeoutMs ? setTimeout(() => stop(ErrorCode.Timeout, `${what} timed out after ${run.timeoutMs} ms`), timerMs(run.timeoutMs)) : undefined;
      };

      const onMessage = (m: WorkerMessage) => {
        if (m.event === 'error') {
          const code = stopCode && m.code === ErrorCode.Cancelled ? stopCode.code : (m.code as ErrorCode);
          const message = stopCode && m.code === ErrorCode.Cancelled ? stopCode.message : `ASR worker: ${m.message}`;
          finish(new VidscribeError(code, message, { stderr: this.stderrTail() }));
          return;
        }
        if (held) {
          held.push(m);
          return;
        }
        if (m.event === 'started') {
          // The worker runs a few requests at once and queues the rest: the time limit counts
          // from when this one starts, not from when it was sent.
          if (!stopCode) startTimeout();
          return;
        }
        try {
          const result = handle(m);
          if (result !== undefined) finish(undefined, result);
        } catch (e) {
          finish(e instanceof VidscribeError ? e : new VidscribeError(ErrorCode.AsrFailed, String(e), { cause: e }));
        }
      };
      const fail = (e: VidscribeError) => {
        // The worker died before its model was loaded: the start's own error says why.
        if (held)
          loaded.then(
            () => finish(e),
            () => undefined,
          );
        else finish(e);
      };
      this.pending.set(id, { onMessage, fail });
      this.send(request);
      loaded.then(
        () => {
          const early = held ?? [];
          held = undefined;
          if (!stopCode) startTimeout();
          for (const m of early) onMessage(m);
        },
        (e: unknown) => {
          // A model that did not load, or options it cannot take: the request is withdrawn.
          this.send({ id: `c-${id}`, op: 'cancel', target: id });
          finish(e instanceof VidscribeError ? e : new VidscribeError(ErrorCode.AsrFailed, String(e), { cause: e }));
        },
      );
    });
  }

  /** Stops the worker: asks politely, then SIGTERM, then SIGKILL. */
  async close(): Promise<void> {
    this.closed = true;
    const proc = this.proc;
    if (!proc) return;
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    try {
      proc.stdin.end(JSON.stringify({ op: 'shutdown' }) + '\n');
    } catch {
      // stdin already closed: the process is on its way out; the kill below makes sure.
    }
    const t = setTimeout(() => this.kill(proc), 2000);
    await exited;
    clearTimeout(t);
  }

  /** The user's name for a model the worker reports by its path. */
  private labelOf(arg: string): string {
    if (this.model.english && arg === this.model.english.arg) return this.model.english.label;
    if (this.model.english && arg === this.model.arg) return AUTO_MULTILINGUAL_MODEL;
    return this.model.label;
  }

  /** Auto mode's worker-side name of the model a request names, if it names one of the two. */
  private forcedRoute(o: AsrOptions): 'english' | 'multilingual' | undefined {
    if (!this.model.english || !o.model) return undefined;
    if (o.model === this.model.english.label) return 'english';
    return o.model === AUTO_MULTILINGUAL_MODEL ? 'multilingual' : undefined;
  }

  /** Whether this worker can decode with the named model without a restart. */
  serves(model: string): boolean {
    return model === this.model.label || (this.model.english !== undefined && (model === this.model.english.label || model === AUTO_MULTILINGUAL_MODEL));
  }

  private checkOptions(o: AsrOptions): void {
    if (this.multilingual && this.forcedRoute(o) !== 'english') return;
    const name = this.forcedRoute(o) === 'english' ? this.model.english!.label : this.model.label;
    if (o.task === 'translate') {
      throw new VidscribeError(ErrorCode.BadRequest, `Model ${name} is English-only: translation needs a multilingual model (for example --model base).`);
    }
    if (o.language && baseLanguage(o.language) !== 'en') {
      throw new VidscribeError(
        ErrorCode.BadRequest,
        `Model ${name} is English-only and cannot transcribe language "${o.language}": use a multilingual model (for example --model base).`,
      );
    }
  }

  private stderrTail(): string {
    return stderrTail(this.stderr);
  }

  /** SIGTERM; the process runner follows with SIGKILL after its grace period. */
  private kill(proc: WorkerProcess): void {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill('SIGTERM');
  }

  private send(msg: object): void {
    const proc = this.proc;
    if (!proc || !proc.stdin.writable) return;
    proc.stdin.write(JSON.stringify(msg) + '\n');
  }

  private spawnProcess(): Promise<void> {
    const env: NodeJS.ProcessEnv = { ...process.env, PYTHONUNBUFFERED: '1' };
    // A model on disk never needs the hub: forbid the network so nothing is fetched by surprise.
    if (this.model.local) env.HF_HUB_OFFLINE = '1';
    const args = [WORKER_SCRIPT, '--model', this.model.arg, '--compute-type', this.opts.computeType ?? 'int8'];
    if (this.model.english) args.push('--english-model', this.model.english.arg);
    if (this.opts.threads) args.push('--threads', String(this.opts.threads));
    // Through the one process runner: its own process group, dies with the server, recorded for a restart's clean-up.
    const proc = startTool(pythonExecutable(), args, { what: 'running the ASR worker', stdin: 'pipe', stdout: 'pipe', env, buffer: false }) as WorkerProcess;
    // The runner's promise rejects when the worker dies; the 'exit' and 'error' handlers below report that with the stderr tail.
    proc.catch(() => undefined);
    this.stderr = '';

    return new Promise<void>((resolveStart, rejectStart) => {
      let ready = false;
      const startTimer = setTimeout(
        () => {
          this.kill(proc);
          rejectStart(new VidscribeError(ErrorCode.Timeout, `The ASR worker did not load model ${this.model.label} in time`, { stderr: this.stderrTail() }));
        },
        this.opts.startTimeoutMs ?? (this.model.local ? 120_000 : 30 * 60_000),
      );

      proc.on('error', (e) => {
        clearTimeout(startTimer);
        if (this.proc === proc) this.proc = undefined; // never started: the next request tries again
        rejectStart(
          new VidscribeError(ErrorCode.AsrFailed, `Could not start the ASR worker (${pythonExecutable()}): ${e.message}. Run \`npm run setup\`.`, { cause: e }),
        );
      });
      proc.stdin.on('error', () => {
        // EPIPE after the worker died: the exit handler reports it with the stderr tail.
      });
      // Split on \r too: download progress bars redraw one line with carriage returns.
      let partial = '';
      proc.stderr.setEncoding('utf8').on('data', (chunk: string) => {
        const lines = (partial + chunk).split(/\r\n|\r|\n/);
        partial = lines.pop() ?? '';
        for (const line of lines) {
          if (!line) continue;
          this.stderr = (this.stderr + line + '\n').slice(-STDERR_KEEP);
          this.opts.onLog?.(line);
        }
      });
      createInterface({ input: proc.stdout }).on('line', (line) => {
        let m: WorkerMessage;
        try {
          m = JSON.parse(line) as WorkerMessage;
        } catch {
          this.stderr = (this.stderr + `[stdout] ${line}\n`).slice(-STDERR_KEEP);
          return;
        }
        if (m.event === 'ready') {
          ready = true;
          this.multilingual = m.multilingual;
          clearTimeout(startTimer);
          resolveStart();
        } else if (m.event === 'fatal') {
          clearTimeout(startTimer);
          rejectStart(new VidscribeError(m.code as ErrorCode, m.message, { stderr: this.stderrTail() }));
        } else if ('id' in m && m.id) {
          this.pending.get(m.id)?.onMessage(m);
        } else if (m.event === 'error') {
          this.stderr = (this.stderr + `[worker] ${m.message}\n`).slice(-STDERR_KEEP);
        }
      });
      proc.on('exit', (code, signal) => {
        clearTimeout(startTimer);
        if (this.proc === proc) this.proc = undefined;
        const err = new VidscribeError(ErrorCode.AsrFailed, `The ASR worker exited unexpectedly (${signal ?? `exit code ${code}`})`, {
          stderr: this.stderrTail(),
          exitCode: code,
        });
        if (!ready) rejectStart(err);
        // Whatever was in flight fails; the next request starts a fresh worker.
        for (const p of [...this.pending.values()]) p.fail(err);
        this.pending.clear();
      });
      this.proc = proc;
    });
  }
}

function toWorkerOptions(o: AsrOptions): Record<string, unknown> {
  return {
    // Whisper knows languages, not regions or scripts: "zh-TW" is decoded as zh, its script is set afterwards (chinese-script.ts).
    language: o.language ? (whisperLanguageCode(o.language) ?? baseLanguage(o.language)) : undefined,
    language_hint: o.languageHint ? (whisperLanguageCode(o.languageHint) ?? baseLanguage(o.languageHint)) : undefined,
    task: o.task ?? 'transcribe',
    word_timestamps: o.wordTimestamps ?? true,
    vad_filter: o.vadFilter ?? true,
    initial_prompt: o.initialPrompt,
    hotwords: o.hotwords,
    beam_size: o.beamSize ?? 5,
    batch_size: o.batchSize,
    temperature: o.temperature,
    condition_on_previous_text: o.conditionOnPreviousText ?? false,
    diarize: o.diarize ? toWorkerDiarize(o.diarize) : undefined,
  };
}

function toWorkerDiarize(d: DiarizeOptions): Record<string, number | undefined> {
  return { speakers: d.speakers, min_speakers: d.minSpeakers, max_speakers: d.maxSpeakers };
}
