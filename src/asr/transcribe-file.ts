import { basename } from 'node:path';
import { extractSpeechAudio, probeTranscribable, type MediaInfo } from '../media/index.ts';
import type { Transcript } from '../transcript/types.ts';
import { collapseRepetitions } from './repetition.ts';
import { splitIntoSentences } from './sentences.ts';
import type { AsrOptions, AsrWorker } from './worker-client.ts';

export type TranscribeStage = 'probe' | 'extract' | 'transcribe';

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
}

/** Any media file in, a Transcript out: probe, extract 16 kHz mono, recognise, guard against loops, split into sentences. */
export async function transcribeFile(worker: AsrWorker, path: string, opts: TranscribeFileOptions = {}): Promise<Transcript> {
  const info = opts.media ?? (await probeTranscribable(path, { maxBytes: opts.maxBytes, signal: opts.signal }));
  opts.onProgress?.({ stage: 'extract', doneSec: 0, totalSec: info.durationSec });
  const audio = await extractSpeechAudio(info, { audioTrack: opts.audioTrack, signal: opts.signal });
  try {
    const result = await worker.transcribe(audio.pcmPath, opts, {
      signal: opts.signal,
      // tiny.en runs at >10x real time here; a 10-minute floor leaves room for the biggest models.
      timeoutMs: opts.timeoutMs ?? Math.max(10 * 60_000, audio.seconds * 5000),
      onProgress: (p) => opts.onProgress?.({ stage: 'transcribe', doneSec: p.doneSec, totalSec: p.totalSec }),
    });
    return {
      language: result.language,
      duration: info.durationSec || audio.seconds,
      task: opts.task ?? 'transcribe',
      source: basename(path),
      segments: splitIntoSentences(collapseRepetitions(result.segments)),
    };
  } finally {
    await audio.dispose();
  }
}
