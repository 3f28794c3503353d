import { buildCues, type Cue, type CueOptions } from '../cues.ts';
import { formatTimestamp } from '../time.ts';
import { hasSpeakers } from '../speakers.ts';
import type { Transcript } from '../types.ts';

// "-->" inside cue text would be read as a timing line by SRT and WebVTT parsers.
export const safeCueLine = (line: string): string => line.replaceAll('-->', '→');

/** SubRip text from ready-made cues (numbered from 1, blank line after each cue). */
export function cuesToSrt(cues: readonly Cue[]): string {
  return cues
    .map((c, i) => `${i + 1}\n${formatTimestamp(c.start, ',')} --> ${formatTimestamp(c.end, ',')}\n${c.lines.map(safeCueLine).join('\n')}\n`)
    .join('\n');
}

/** SubRip from a transcript; a diarized one names the speaker ("[Ana] …") on the first cue after each change of speaker. */
export function toSrt(t: Transcript, opts?: CueOptions): string {
  return cuesToSrt(buildCues(t, hasSpeakers(t) ? { ...opts, speakerPrefix: true } : opts));
}
