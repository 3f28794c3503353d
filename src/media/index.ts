export { probeMedia, probeTranscribable, DEFAULT_MAX_BYTES, type MediaInfo, type AudioStreamInfo, type VideoStreamInfo, type ProbeOptions } from './probe.ts';
export { extractSpeechAudio, PCM_SAMPLE_RATE, type ExtractedAudio, type ExtractOptions } from './extract.ts';
export { TRANSCRIBABLE_EXTENSIONS, IMAGE_EXTENSIONS, extensionOf } from './formats.ts';
