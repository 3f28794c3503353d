/** Public surface of the render domain: the draft, pure operations on it, and the renderer. */
export {
  draftSchema,
  parseDraft,
  fieldPath,
  TrackType,
  MAX_SEGMENTS,
  MAX_CANVAS_SIDE,
  MAX_CANVAS_SHORT_SIDE,
  type Draft,
  type Track,
  type VideoTrack,
  type AudioTrack,
  type TextTrack,
  type TimelineSegment,
  type VideoSegment,
  type AudioSegment,
  type TextSegment,
  type VideoMeta,
  type AudioMeta,
  type TextMeta,
  type TextStyle,
  type Fit,
  type TextKind,
  type TextPosition,
  type DraftIssue,
} from './draft.ts';
export {
  createDraft,
  draftFromMedia,
  setAspect,
  setCaptions,
  addText,
  addTitle,
  addBackgroundMusic,
  trimDraft,
  seedExampleDraft,
  type FromMediaOptions,
  type CaptionOptions,
  type TextOptions,
  type MusicOptions,
} from './operations.ts';
export { canvasFor, timelineDuration, visibleVideo, ASPECTS, RESOLUTIONS, type Aspect, type Resolution, type VideoPiece } from './timeline.ts';
export { buildAss, safeArea, DEFAULT_FONTS_DIR, FONT_NAME } from './ass.ts';
export { compileDraft, encoderArgs, ENCODING, type SourceInfo, type CompiledRender, type EncodingSettings } from './compile.ts';
export { renderDraft, resolveSources, type RenderOptions, type RenderResult } from './renderer.ts';
export type { RenderProgress } from './progress.ts';
