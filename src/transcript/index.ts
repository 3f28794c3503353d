/** Public surface of the transcript domain: the model, subtitle cues and the exporters. */
export * from './types.ts';
export { buildCues, cueDefaultsFor, definedOnly, DEFAULT_CUE_OPTIONS, VERTICAL_CUE_OPTIONS, type Cue, type CueOptions } from './cues.ts';
export { formatTimestamp, formatClock } from './time.ts';
export { whisperLanguageName, languageLabel } from './languages.ts';
export * from './export/index.ts';
export {
  assignSpeakers,
  renameSpeakers,
  speakerName,
  hasSpeakers,
  cleanSpeakerName,
  defaultSpeakerName,
  MAX_SPEAKER_NAME_CHARS,
  MAX_SPEAKERS,
  speakerCountHint,
  parseSpeakerNames,
  type SpeakerCountHint,
  type SpeakerTurn,
} from './speakers.ts';
