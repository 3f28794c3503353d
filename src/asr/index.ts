export {
  AsrWorker,
  type AsrOptions,
  type DiarizeOptions,
  type AsrWorkerOptions,
  type AsrProgress,
  type AsrResult,
  type AsrRunOptions,
  type MediaAudio,
  type WorkerAudio,
} from './worker-client.ts';
export {
  transcribeFile,
  transcribeEach,
  prepareAudio,
  disposeAudio,
  recognise,
  recogniseWithInfo,
  type Recognised,
  type TranscribeFileOptions,
  type TranscribeProgress,
  type TranscribeStage,
  type PreparedAudio,
  type FileOutcome,
} from './transcribe-file.ts';
export {
  resolveModel,
  DEFAULT_MODEL,
  AUTO_MODEL,
  FAST_MODEL,
  modelFromFlags,
  AUTO_ENGLISH_MODEL,
  AUTO_MULTILINGUAL_MODEL,
  BUNDLED_MODELS,
  DOWNLOADABLE_MODELS,
  PROJECT_ROOT,
  type ModelSpec,
} from './models.ts';
export { collapseRepetitions, collapseRepeatedWords } from './repetition.ts';
