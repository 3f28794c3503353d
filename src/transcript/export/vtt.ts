import { buildCues, type Cue, type CueOptions } from '../cues.ts';
import { formatTimestamp } from '../time.ts';
import type { Transcript } from '../types.ts';
import { safeCueLine } from './srt.ts';

// WebVTT cue text is markup: a bare "<" or "&" would start a tag or entity.
const escapeVtt = (s: string): string => s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');

/** A voice span opening the cue, `<v Ana>`: the name is escaped like cue text (an annotation ends at ">") and kept to one line. */
const voiceTag = (c: Cue): string => (c.speaker ? `<v ${escapeVtt(safeCueLine(c.speaker.name.replace(/\s+/g, ' ').trim()))}>` : '');

/** WebVTT text from ready-made cues: `WEBVTT` header, numeric cue identifiers, `HH:MM:SS.mmm` timings; a speaker's cue opens with a `<v Name>` voice tag. */
export function cuesToVtt(cues: readonly Cue[]): string {
  const body = cues.map(
    (c, i) =>
      `${i + 1}\n${formatTimestamp(c.start, '.')} --> ${formatTimestamp(c.end, '.')}\n${voiceTag(c)}${c.lines.map((l) => escapeVtt(safeCueLine(l))).join('\n')}\n`,
  );
  return ['WEBVTT\n', ...body].join('\n');
}

export function toVtt(t: Transcript, opts?: CueOptions): string {
  return cuesToVtt(buildCues(t, opts));
}
