import { existsSync, statSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { AsrWorker, modelFromFlags, transcribeEach, type TranscribeFileOptions, type TranscribeProgress } from '../asr/index.ts';
import { ErrorCode, VidscribeError } from '../shared/errors.ts';
import {
  EXPORT_FORMATS,
  exportTranscript,
  hasSpeakers,
  isExportFormat,
  parseSpeakerNames,
  renameSpeakers,
  speakerCountHint,
  type ExportFormat,
  type SpeakerCountHint,
  type Transcript,
  whisperLanguageName,
} from '../transcript/index.ts';
import { withInterrupt } from './interrupt.ts';
import { createProgressReporter } from './progress.ts';

export interface TranscribeCommandOptions {
  format: string;
  out?: string;
  model?: string;
  /** Auto mode: English to the fast tiny.en, the rest to base. */
  fast?: boolean;
  language?: string;
  task?: string;
  prompt?: string;
  hotwords?: string;
  audioTrack?: string;
  beamSize?: string;
  vad?: boolean;
  timestamps?: boolean;
  maxLineChars?: string;
  maxSizeMb?: string;
  threads?: string;
  /** Find who speaks when (speaker diarization). */
  diarize?: boolean;
  speakers?: string;
  minSpeakers?: string;
  maxSpeakers?: string;
  /** "Ana,Ben": names in order of first appearance; implies diarize. */
  speakerNames?: string;
}

/** --speakers, --min-speakers and --max-speakers as a count hint (empty: none given); throws a coded error on bad flags. */
export function speakerHintFromFlags(o: Pick<TranscribeCommandOptions, 'speakers' | 'minSpeakers' | 'maxSpeakers'>): SpeakerCountHint {
  return speakerCountHint(o, (k) => `--${k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())}`);
}

/** The diarization the flags ask for (undefined: none), with names to apply; throws a coded error on bad flags. */
export function diarizeFromFlags(o: Pick<TranscribeCommandOptions, 'diarize' | 'speakers' | 'minSpeakers' | 'maxSpeakers' | 'speakerNames'>): {
  diarize?: SpeakerCountHint;
  names?: string[];
} {
  const hint = speakerHintFromFlags(o);
  const names = o.speakerNames === undefined ? undefined : parseSpeakerNames(o.speakerNames);
  const wanted = o.diarize === true || names !== undefined || Object.keys(hint).length > 0;
  if (!wanted) return {};
  if (names && hint.speakers !== undefined && names.length > hint.speakers) {
    throw new VidscribeError(ErrorCode.BadRequest, `--speaker-names gives ${names.length} names for --speakers ${hint.speakers}`);
  }
  return names ? { diarize: hint, names } : { diarize: hint };
}

/** The transcript with the --speaker-names applied in order of first appearance (extra names are for speakers who did not show up). */
function withSpeakers(t: Transcript, diarize: SpeakerCountHint | undefined, names: string[] | undefined): Transcript {
  if (!diarize) return t;
  // Asked for speakers and got a transcript without any: say so rather than write unlabelled files.
  if (t.speakers === undefined) throw new VidscribeError(ErrorCode.AsrFailed, 'Speaker diarization did not run: the transcript came back without speakers');
  return names && hasSpeakers(t) ? renameSpeakers(t, names) : t;
}

interface FileReport {
  file: string;
  ok: boolean;
  outputs: string[];
  error?: VidscribeError;
  audioSec?: number;
  wallSec?: number;
  /** Spoken language and the model that decoded it (auto mode picks per file). */
  language?: string;
  model?: string;
}

export function parseFormats(spec: string): ExportFormat[] {
  const formats = spec
    .split(',')
    .map((f) => f.trim().toLowerCase())
    .filter(Boolean);
  const bad = formats.filter((f) => !isExportFormat(f));
  if (bad.length || formats.length === 0) {
    throw new VidscribeError(ErrorCode.BadRequest, `Unknown format ${bad.join(', ') || '(none)'}; choose from ${EXPORT_FORMATS.join(', ')}`);
  }
  return [...new Set(formats)] as ExportFormat[];
}

function intOption(value: string | undefined, name: string, min = 0): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new VidscribeError(ErrorCode.BadRequest, `${name} must be a whole number ≥ ${min}, got "${value}"`);
  return n;
}

/** `--language`: a code Whisper knows, checked before any work (it failed in the worker, per file, with 5001). */
export function checkLanguageFlag(language: string | undefined): void {
  if (language !== undefined && !whisperLanguageName(language))
    throw new VidscribeError(ErrorCode.BadRequest, `--language must be an ISO 639-1 code Whisper knows (en, de, zh…), got "${language.slice(0, 20)}"`);
}

/** `vidscribe transcribe <files...>`: returns the process exit status. */
export async function runTranscribe(files: string[], o: TranscribeCommandOptions): Promise<number> {
  const formats = parseFormats(o.format);
  const toStdout = o.out === '-';
  if (toStdout && formats.length !== 1) throw new VidscribeError(ErrorCode.BadRequest, '--out - prints one format only; pick one with --format');
  if (toStdout && files.length > 1)
    throw new VidscribeError(ErrorCode.BadRequest, `--out - prints one file's transcript; ${files.length} files were given: use --out DIR`);
  if (!toStdout) checkOutputs(files, formats, o.out);
  if (toStdout && formats[0] === 'docx' && process.stdout.isTTY)
    throw new VidscribeError(ErrorCode.BadRequest, 'DOCX is binary: redirect stdout to a file, or use --out DIR');
  checkLanguageFlag(o.language);
  if (o.task && o.task !== 'transcribe' && o.task !== 'translate')
    throw new VidscribeError(ErrorCode.BadRequest, `--task must be transcribe or translate, got "${o.task}"`);
  const audioTrack = intOption(o.audioTrack, '--audio-track');
  const beamSize = intOption(o.beamSize, '--beam-size', 1);
  const maxLineChars = intOption(o.maxLineChars, '--max-line-chars', 10);
  const maxSizeMb = intOption(o.maxSizeMb, '--max-size-mb', 1);
  const threads = intOption(o.threads, '--threads', 1);
  const { diarize, names } = diarizeFromFlags(o);
  const model = modelFromFlags(o);

  const progress = createProgressReporter(files.map((f) => basename(f)));
  const worker = new AsrWorker({ model, threads, onLog: (line) => progress.log(line) });
  const outcomes: FileReport[] = [];
  const started = new Map<number, number>();
  const optionsFor = (i: number, signal: AbortSignal): TranscribeFileOptions => ({
    language: o.language,
    task: o.task as 'transcribe' | 'translate' | undefined,
    initialPrompt: o.prompt,
    hotwords: o.hotwords,
    audioTrack,
    beamSize,
    vadFilter: o.vad,
    maxBytes: maxSizeMb ? maxSizeMb * 1024 * 1024 : undefined,
    ...(diarize ? { diarize } : {}),
    signal,
    onProgress: (p: TranscribeProgress) => {
      if (!started.has(i)) started.set(i, performance.now());
      progress.update(i, p.stage, p.doneSec, p.totalSec);
    },
  });
  await withInterrupt(async (signal) => {
    try {
      for await (const r of transcribeEach(worker, files, (i) => optionsFor(i, signal))) {
        const file = r.path;
        try {
          if ('error' in r) throw r.error;
          const transcript = withSpeakers(r.transcript, diarize, names);
          const outputs: string[] = [];
          for (const format of formats) {
            const body = await exportTranscript(transcript, format, { timestamps: o.timestamps, maxLineChars });
            if (toStdout) {
              process.stdout.write(body);
              outputs.push('stdout');
            } else {
              outputs.push(await writeAtomically(outputPath(file, format, o.out), body));
            }
          }
          progress.finish(r.index, true);
          const wallSec = (performance.now() - (started.get(r.index) ?? performance.now())) / 1000;
          outcomes.push({ file, ok: true, outputs, audioSec: r.transcript.duration, wallSec, language: r.transcript.language, model: r.model });
        } catch (e) {
          const err = e instanceof VidscribeError ? e : new VidscribeError(ErrorCode.AsrFailed, String((e as Error)?.message ?? e), { cause: e });
          progress.finish(r.index, false);
          outcomes.push({ file, ok: false, outputs: [], error: err });
          if (signal.aborted) break;
        }
      }
    } finally {
      progress.stop();
      await worker.close();
    }
  });
  printSummary(outcomes, files.length);
  return outcomes.length === files.length && outcomes.every((r) => r.ok) ? 0 : 1;
}

/**
 * Refused before any work: an --out that is not a folder (it was found only when the first
 * transcript was written), and two inputs whose transcripts would land on one path (talk.wav and
 * talk.mp3: the second silently replaced the first).
 */
function checkOutputs(files: string[], formats: ExportFormat[], outDir: string | undefined): void {
  if (outDir !== undefined && existsSync(outDir) && !statSync(outDir).isDirectory())
    throw new VidscribeError(ErrorCode.BadRequest, `--out ${outDir} is a file, not a folder`);
  const writer = new Map<string, string>();
  for (const file of new Set(files.map((f) => resolve(f)))) {
    for (const format of formats) {
      const out = outputPath(file, format, outDir);
      const other = writer.get(out);
      if (other)
        throw new VidscribeError(ErrorCode.BadRequest, `${other} and ${file} would both be written to ${out}: give them separate --out folders, or rename one`);
      writer.set(out, file);
    }
  }
}

function outputPath(input: string, format: ExportFormat, outDir: string | undefined): string {
  const name = basename(input, extname(input));
  return join(resolve(outDir ?? dirname(input)), `${name}.${format}`);
}

/** Written under a temporary name and renamed, so a reader never sees half a file. */
async function writeAtomically(path: string, body: string | Uint8Array): Promise<string> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.partial`;
  await writeFile(tmp, body);
  await rename(tmp, path);
  return path;
}

function printSummary(outcomes: FileReport[], total: number): void {
  const ok = outcomes.filter((r) => r.ok);
  const lines = ['', `vidscribe: ${ok.length} of ${total} file(s) transcribed`];
  for (const r of outcomes) {
    if (r.ok) {
      const how = r.language && r.model ? `${r.language}, ${r.model}` : '';
      const speed =
        r.audioSec && r.wallSec ? ` (${how ? `${how}: ` : ''}${r.audioSec.toFixed(1)} s of audio in ${r.wallSec.toFixed(1)} s)` : how ? ` (${how})` : '';
      lines.push(`  ok     ${r.file}${speed}${r.outputs[0] === 'stdout' ? '' : ' → ' + r.outputs.join(', ')}`);
    } else {
      lines.push(`  failed ${r.file}: [${r.error?.code}] ${r.error?.message}`);
    }
  }
  if (outcomes.length < total) lines.push(`  ${total - outcomes.length} file(s) not started (interrupted)`);
  process.stderr.write(lines.join('\n') + '\n');
}
