/**
 * `vidscribe render draft.json` and `vidscribe convert input.mp4`: the CLI edge of the render
 * domain. Parses flags, builds or reads the draft, shows progress, maps Ctrl-C to cancellation.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { AsrWorker, modelFromFlags, transcribeFile } from '../asr/index.ts';
import { probeMedia } from '../media/index.ts';
import {
  ASPECTS,
  CAPTION_SPEAKERS,
  RESOLUTIONS,
  addBackgroundMusic,
  addTitle,
  draftFromMedia,
  renderDraft,
  setCaptions,
  timelineDuration,
  type Aspect,
  type CaptionSpeakers,
  type Draft,
  type Fit,
  type RenderResult,
  type Resolution,
} from '../render/index.ts';
import { ErrorCode, VidscribeError } from '../shared/errors.ts';
import { withInterrupt } from './interrupt.ts';
import { createProgressReporter } from './progress.ts';
import { checkLanguageFlag, speakerHintFromFlags } from './transcribe-command.ts';

export interface RenderCommandOptions {
  out?: string;
  timeout?: string;
}

export interface ConvertCommandOptions {
  out?: string;
  resolution?: string;
  aspect?: string;
  fit?: string;
  captions?: boolean;
  /** With --captions: find the speakers and show them as a name prefix or a colour (name|color|none). */
  speakerLabels?: string;
  /** With --speaker-labels: how many speakers there are (exactly, or at least / at most). */
  speakers?: string;
  minSpeakers?: string;
  maxSpeakers?: string;
  model?: string;
  /** Auto mode for --captions: English to the fast tiny.en, the rest to base. */
  fast?: boolean;
  language?: string;
  title?: string;
  titleDuration?: string;
  bgm?: string;
  bgmVolume?: string;
  duck?: boolean;
  saveDraft?: string;
  timeout?: string;
}

function seconds(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new VidscribeError(ErrorCode.BadRequest, `${name} must be a number of seconds above 0, got "${value}"`);
  return n;
}

function oneOf<T extends string>(value: string | undefined, allowed: readonly T[], name: string): T | undefined {
  if (value === undefined) return undefined;
  if (!allowed.includes(value as T)) throw new VidscribeError(ErrorCode.BadRequest, `${name} must be one of ${allowed.join(', ')}, got "${value}"`);
  return value as T;
}

/** Runs the render with a progress bar and Ctrl-C → cancel; prints ffmpeg's last words on failure. */
async function renderWithProgress(draft: unknown, out: string, baseDir: string, timeoutSec: number | undefined, signal: AbortSignal): Promise<RenderResult> {
  const bar = createProgressReporter([basename(out)]);
  try {
    const result = await renderDraft(draft, {
      out,
      baseDir,
      signal,
      timeoutMs: timeoutSec ? timeoutSec * 1000 : undefined,
      onProgress: (p) => bar.update(0, 'render', (p.percent / 100) * p.totalSec, p.totalSec, p.fps ? `${p.fps.toFixed(0)} fps` : ''),
    });
    bar.finish(0, true);
    return result;
  } catch (e) {
    if (e instanceof VidscribeError && e.stderr && e.code === ErrorCode.RenderFailed) process.stderr.write(`\nffmpeg said:\n${e.stderr}\n`);
    throw e;
  } finally {
    bar.stop();
  }
}

function summary(r: RenderResult): void {
  const speed = r.wallSec > 0 ? ` in ${r.wallSec.toFixed(1)} s (${(r.frames / r.wallSec).toFixed(0)} fps)` : '';
  process.stderr.write(`vidscribe: rendered ${r.durationSec.toFixed(1)} s${speed} → ${r.out} (${(r.sizeBytes / 1024 / 1024).toFixed(1)} MB)\n`);
}

/** `vidscribe render draft.json --out video.mp4`: relative sources resolve against the draft's folder. */
export async function runRender(draftFile: string, o: RenderCommandOptions): Promise<number> {
  const path = resolve(draftFile);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new VidscribeError(ErrorCode.FileNotFound, `${draftFile}: draft file not found`, { cause: e });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new VidscribeError(ErrorCode.InvalidDraft, `${draftFile} is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
  const out = resolve(o.out ?? join(dirname(path), `${basename(path, extname(path))}.mp4`));
  const timeout = seconds(o.timeout, '--timeout');
  const r = await withInterrupt((signal) => renderWithProgress(json, out, dirname(path), timeout, signal));
  summary(r);
  return 0;
}

/** `vidscribe convert input.mp4 ...`: builds a draft from the file and the flags, transcribing for captions when asked. */
export async function runConvert(input: string, o: ConvertCommandOptions): Promise<number> {
  const resolution = oneOf(o.resolution ?? '1080p', RESOLUTIONS, '--resolution') as Resolution;
  const aspect = oneOf(o.aspect, ASPECTS, '--aspect') as Aspect | undefined;
  const fit = oneOf(o.fit, ['contain', 'cover', 'blur'] as const, '--fit') as Fit | undefined;
  const titleSec = seconds(o.titleDuration, '--title-duration') ?? 3;
  const speakerLabels = oneOf(o.speakerLabels, CAPTION_SPEAKERS, '--speaker-labels') as CaptionSpeakers | undefined;
  if (speakerLabels && !o.captions) throw new VidscribeError(ErrorCode.BadRequest, '--speaker-labels labels captions: add --captions');
  const labelled = speakerLabels !== undefined && speakerLabels !== 'none';
  const speakerHint = speakerHintFromFlags(o);
  if (Object.keys(speakerHint).length && !labelled) {
    throw new VidscribeError(ErrorCode.BadRequest, 'The speaker count is for --speaker-labels: add --captions --speaker-labels name (or color)');
  }
  checkLanguageFlag(o.language);
  const timeout = seconds(o.timeout, '--timeout');
  let bgmVolume = 0.35;
  if (o.bgmVolume !== undefined) {
    bgmVolume = Number(o.bgmVolume);
    if (!Number.isFinite(bgmVolume) || bgmVolume < 0 || bgmVolume > 1)
      throw new VidscribeError(ErrorCode.BadRequest, `--bgm-volume must be between 0 and 1 (0.35 = 35 %), got "${o.bgmVolume}"`);
  }
  const src = resolve(input);
  const info = await probeMedia(src, { maxBytes: Number.MAX_SAFE_INTEGER });
  const suffix = aspect && aspect !== '16:9' ? `.${aspect.replace(':', 'x')}` : '';
  const out = resolve(o.out ?? join(dirname(src), `${basename(src, extname(src))}.${resolution}${suffix}.mp4`));
  if (out === src) throw new VidscribeError(ErrorCode.BadRequest, '--out would overwrite the input');

  return withInterrupt(async (signal) => {
    let draft: Draft = draftFromMedia(info, { id: basename(src, extname(src)), src, aspect, resolution, fit });
    if (o.captions) {
      if (info.audio.length === 0) throw new VidscribeError(ErrorCode.NoAudioStream, `${basename(src)} has no audio, so there is nothing to caption`);
      const bar = createProgressReporter([basename(out)]);
      const worker = new AsrWorker({ model: modelFromFlags(o) });
      try {
        const transcript = await transcribeFile(worker, src, {
          language: o.language,
          media: info,
          // Diarize only when the speakers will be shown: it costs time and adds nothing otherwise.
          ...(labelled ? { diarize: speakerHint } : {}),
          signal,
          onProgress: (p) => bar.update(0, p.stage, p.doneSec, p.totalSec),
        });
        if (labelled && transcript.speakers === undefined) {
          throw new VidscribeError(ErrorCode.AsrFailed, 'Speaker diarization did not run: the transcript came back without speakers');
        }
        draft = setCaptions(draft, transcript, speakerLabels ? { speakers: speakerLabels } : {});
      } finally {
        bar.stop();
        await worker.close();
      }
    }
    if (o.title) draft = addTitle(draft, o.title, { durationMs: Math.min(Math.round(titleSec * 1000), timelineDuration(draft)) });
    if (o.bgm) {
      const total = timelineDuration(draft);
      // Ducking needs something to duck under: the input's own sound.
      draft = addBackgroundMusic(draft, resolve(o.bgm), {
        volume: bgmVolume,
        fade_in_ms: Math.min(500, Math.floor(total / 4)),
        fade_out_ms: Math.min(1500, Math.floor(total / 4)),
        duck: (o.duck ?? true) && info.audio.length > 0,
      });
    }
    if (o.saveDraft) {
      const p = resolve(o.saveDraft);
      await mkdir(dirname(p), { recursive: true });
      await writeFile(p, JSON.stringify(draft, null, 2) + '\n');
    }
    const r = await renderWithProgress(draft, out, process.cwd(), timeout, signal);
    summary(r);
    return 0;
  });
}
