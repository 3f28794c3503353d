import { buildCues, type Cue, type CueOptions } from '../cues.ts';
import { formatTimestamp } from '../time.ts';
import type { Transcript } from '../types.ts';

// "-->" inside cue text would be read as a timing line by SRT and WebVTT parsers.
export const safeCueLine = (line: string): string => line.replaceAll('-->', '→');

/** SubRip text from ready-made cues (numbered from 1, blank line after each cue). */
export function cuesToSrt(cues: readonly Cue[]): string {
  return cues
    .map((c, i) => `${i + 1}\n${formatTimestamp(c.start, ',')} --> ${formatTimestamp(c.end, ',')}\n${c.lines.map(safeCueLine).join('\n')}\n`)
    .join('\n');
}

export function toSrt(t: Transcript, opts?: CueOptions): string {
  return cuesToSrt(buildCues(t, opts));
}
