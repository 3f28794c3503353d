import { basename } from 'node:path';
import { audioStreamOf, extractSpeechAudio, probeTranscribable, type ExtractedAudio, type MediaInfo } from '../media/index.ts';
import { ErrorCode, VidscribeError, isVidscribeError } from '../shared/errors.ts';
import { applyChineseScript } from '../transcript/chinese-script.ts';
import { assignSpeakers } from '../transcript/speakers.ts';
import type { Transcript } from '../transcript/types.ts';
import { collapseRepetitions } from './repetition.ts';
import { splitIntoSentences } from './sentences.ts';
import type { AsrOptions, AsrWorker, MediaAudio } from './worker-client.ts';

export type TranscribeStage = 'extract' | 'transcribe';

export interface TranscribeProgress {
  stage: TranscribeStage;
  doneSec: number;
  totalSec: number;
}

export interface TranscribeFileOptions extends AsrOptions {
  /** Audio stream among the file's audio streams, from 0. */
  audioTrack?: number;
  /** Largest input accepted, in bytes (default 500 MB). */
  maxBytes?: number;
  signal?: AbortSignal;
  /** Limit for the recognition step; default scales with the media's length. */
  timeoutMs?: number;
  onProgress?: (p: TranscribeProgress) => void;
  /** Already-probed media info, to skip a second ffprobe. */
  media?: MediaInfo;
  /**
   * Decode the speech to a temporary file before recognition, so its true length is known first
   * (what pricing needs: a crafted header can understate it). Otherwise the worker decodes the
   * stream itself, which saves an ffmpeg start (~65 ms of CPU) per file.
   */
  extract?: boolean;
  /** With `extract`: decode at most this many seconds (what the caller can pay for); `audio.capped` then says so. */
  maxSeconds?: number;
  /** What the file is called in messages (default: its file name; a stored upload's is a hash). */
  name?: string;
}

/** A file checked and ready for the recogniser. */
export interface PreparedAudio {
  path: string;
  media: MediaInfo;
  /** The stream the worker decodes itself, or the speech already decoded to a temporary file. */
  audio: { inWorker: MediaAudio } | ExtractedAudio;
}

/**
 * Probe (every bad input gets its coded error here), pick the audio track, and extract it to 16 kHz
 * mono when asked to, or when the header does not tell how long it is (a browser's WebM): the
 * worker's time limit is set from the length.
 */
export async function prepareAudio(path: string, opts: TranscribeFileOptions & { extract: true }): Promise<PreparedAudio & { audio: ExtractedAudio }>;
export async function prepareAudio(path: string, opts?: TranscribeFileOptions): Promise<PreparedAudio>;
export async function prepareAudio(path: string, opts: TranscribeFileOptions = {}): Promise<PreparedAudio> {
  const media = opts.media ?? (await probeTranscribable(path, { maxBytes: opts.maxBytes, signal: opts.signal, name: opts.name }));
  const stream = audioStreamOf(media, opts.audioTrack ?? 0, opts.name);
  if (!opts.extract && media.durationSec > 0) {
    return { path, media, audio: { inWorker: { mediaPath: path, streamIndex: stream.streamIndex, expectedSec: media.durationSec } } };
  }
  opts.onProgress?.({ stage: 'extract', doneSec: 0, totalSec: media.durationSec });
  const audio = await extractSpeechAudio(media, { audioTrack: opts.audioTrack, signal: opts.signal, maxSeconds: opts.maxSeconds, name: opts.name });
  return { path, media, audio };
}

/** Removes the extracted speech, if any; safe to call twice. */
export async function disposeAudio(prepared: PreparedAudio): Promise<void> {
  if ('dispose' in prepared.audio) await prepared.audio.dispose();
}

/** A transcript and how it was made. */
export interface Recognised {
  transcript: Transcript;
  /** The model that decoded it (base by default; in auto mode tiny.en for English, base for the rest). */
  model: string;
  languageProbability: number;
  /** Seconds spent detecting the language (0 when it was given). */
  detectSec: number;
}

/** Recognise prepared audio, guard against loops, split into sentences; the audio is disposed of. */
export async function recognise(worker: AsrWorker, prepared: PreparedAudio, opts: TranscribeFileOptions = {}): Promise<Transcript> {
  return (await recogniseWithInfo(worker, prepared, opts)).transcript;
}

/** recognise(), also saying which model decoded and how sure the language detection was. */
export async function recogniseWithInfo(worker: AsrWorker, prepared: PreparedAudio, opts: TranscribeFileOptions = {}): Promise<Recognised> {
  const { path, media, audio } = prepared;
  const extracted = 'pcmPath' in audio;
  const seconds = extracted ? audio.seconds : media.durationSec;
  opts.onProgress?.({ stage: 'transcribe', doneSec: 0, totalSec: seconds });
  try {
    const result = await worker.transcribe(extracted ? audio.pcmPath : audio.inWorker, opts, {
      signal: opts.signal,
      // tiny.en runs at >10x real time here; a 10-minute floor leaves room for the biggest models.
      timeoutMs: opts.timeoutMs ?? Math.max(10 * 60_000, seconds * 5000),
      onProgress: (p) => opts.onProgress?.({ stage: 'transcribe', doneSec: p.doneSec, totalSec: p.totalSec }),
    });
    const transcript: Transcript = {
      language: result.language,
      // What was decoded, not what the container's header claims (which a crafted file can get wrong by minutes).
      duration: result.duration || media.durationSec,
      task: opts.task ?? 'transcribe',
      source: basename(path),
      segments: splitIntoSentences(collapseRepetitions(result.segments)),
    };
    // Chinese in the script asked for ("zh-TW": traditional), simplified when nothing says otherwise.
    const written = applyChineseScript(transcript, opts.language ?? opts.languageHint);
    return {
      // Diarized: every word and segment gets its speaker, segments split where the speaker changes.
      transcript: opts.diarize && result.speakers ? assignSpeakers(written, result.speakers.turns) : written,
      model: result.model,
      languageProbability: result.languageProbability,
      detectSec: result.detectSec,
    };
  } catch (e) {
    // The worker could not decode the stream ffprobe accepted: the same words as ffmpeg's failure.
    if (!extracted && isVidscribeError(e, ErrorCode.CorruptMedia)) {
      throw new VidscribeError(ErrorCode.CorruptMedia, `${basename(path)}: the audio could not be decoded; the file is corrupt or truncated`, {
        cause: e,
        stderr: e.stderr,
      });
    }
    throw e;
  } finally {
    await disposeAudio(prepared);
  }
}

/** Any media file in, a Transcript out. */
export async function transcribeFile(worker: AsrWorker, path: string, opts: TranscribeFileOptions = {}): Promise<Transcript> {
  return recognise(worker, await prepareAudio(path, opts), opts);
}

export type FileOutcome = { index: number; path: string; transcript: Transcript; model: string } | { index: number; path: string; error: unknown };

/**
 * Files the worker is given at once: it runs as many as it has replicas of the model (two on two
 * cores or more) and decodes the audio of one waiting for its turn, so the next file is ready
 * when the current one ends, and two files of one window each decode side by side.
 */
export const FILES_IN_FLIGHT = 3;

/**
 * Several files on one worker, one outcome each in their order (a failure does not stop the rest).
 * The worker starts loading its model while the first file is probed, and up to FILES_IN_FLIGHT
 * files are probed and given to it at once; the next is probed as soon as one is recognised.
 */
export async function* transcribeEach(
  worker: AsrWorker,
  paths: readonly string[],
  optionsFor: (index: number) => TranscribeFileOptions = () => ({}),
): AsyncGenerator<FileOutcome> {
  // Loading the model and probing overlap; a failed start is reported by each file's transcribe.
  if (paths.length) worker.start().catch(() => {});
  const outcomes: Promise<FileOutcome>[] = [];
  let unsettled = 0;
  let stopped = false;
  const fill = () => {
    while (!stopped && outcomes.length < paths.length && unsettled < FILES_IN_FLIGHT) {
      const i = outcomes.length;
      const path = paths[i]!;
      unsettled++;
      outcomes.push(
        prepareAudio(path, optionsFor(i))
          .then((prepared) => recogniseWithInfo(worker, prepared, optionsFor(i)))
          .then(
            (r): FileOutcome => ({ index: i, path, transcript: r.transcript, model: r.model }),
            (error: unknown): FileOutcome => ({ index: i, path, error }),
          )
          .finally(() => {
            unsettled--;
            fill();
          }),
      );
    }
  };
  let yielded = 0;
  try {
    fill();
    for (; yielded < outcomes.length; yielded++) yield await outcomes[yielded]!;
  } finally {
    // Stopped early (interrupted, or the consumer broke out): the files already given to the
    // worker end first, so no temporary audio is left behind; no new file starts meanwhile.
    stopped = true;
    await Promise.all(outcomes.slice(yielded));
  }
}
