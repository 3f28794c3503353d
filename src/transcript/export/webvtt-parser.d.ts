// Minimal typings for the untyped `webvtt-parser` dev dependency (used by the export tests only).
declare module 'webvtt-parser' {
  export interface WebVTTCue {
    id: string;
    startTime: number;
    endTime: number;
    text: string;
  }
  export interface WebVTTParseError {
    message: string;
    line: number;
    col: number;
  }
  export class WebVTTParser {
    constructor(entities?: Record<string, string>);
    parse(input: string, mode?: 'metadata' | 'chapters'): { cues: WebVTTCue[]; errors: WebVTTParseError[]; time: number };
  }
  // CommonJS module whose exports Node cannot detect statically: import the default and destructure.
  const webvtt: { WebVTTParser: typeof WebVTTParser };
  export default webvtt;
}
