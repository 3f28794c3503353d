export {
  probeMedia,
  probeLoad,
  PROBES_AT_ONCE,
  audioStreamOf,
  probeTranscribable,
  identifyUpload,
  type UploadKind,
  DEFAULT_MAX_BYTES,
  type MediaInfo,
  type AudioStreamInfo,
  type VideoStreamInfo,
  type ProbeOptions,
} from './probe.ts';
export { extractSpeechAudio, PCM_SAMPLE_RATE, type ExtractedAudio, type ExtractOptions } from './extract.ts';
export {
  USER_MEDIA_DEMUXERS,
  SOUND_DEMUXERS,
  USER_MEDIA_INPUT_ARGS,
  TRANSCRIBABLE_EXTENSIONS,
  IMAGE_EXTENSIONS,
  UPLOAD_EXTENSIONS,
  extensionOf,
  uploadKindOf,
  unsupportedUploadMessage,
  extensionOfContentType,
  extensionForContent,
} from './formats.ts';
export { fetchUrlToFile, isPublicAddress, downloadFileName, type FetchUrlOptions, type FetchedFile } from './fetch-url.ts';
