import { languageLabel } from '../languages.ts';
import { formatClock } from '../time.ts';
import type { Transcript } from '../types.ts';
import { buildParagraphs, defaultTitle, paragraphSpeaker, type ParagraphOptions } from './paragraphs.ts';

export interface TxtOptions extends ParagraphOptions {
  /** Start each paragraph with `[hh:mm:ss]`. Default false. */
  timestamps?: boolean;
  /** Put title, source, duration and language above the text. Default false (plain text for pipes). */
  header?: boolean;
  title?: string;
}

/** Plain text in paragraphs separated by a blank line; a paragraph starts after a long pause, or with a new speaker ("Ana: …"). */
export function toTxt(t: Transcript, opts: TxtOptions = {}): string {
  const paragraphs = buildParagraphs(t, opts).map((p) => {
    const who = paragraphSpeaker(t, p);
    const text = who === undefined ? p.text : `${who}: ${p.text}`;
    return opts.timestamps ? `[${formatClock(p.start)}] ${text}` : text;
  });
  const blocks: string[] = [];
  if (opts.header) {
    const meta = [t.source && `Source: ${t.source}`, `Duration: ${formatClock(t.duration)}`, `Language: ${languageLabel(t.language)}`];
    blocks.push([defaultTitle(t, opts.title), ...meta.filter(Boolean)].join('\n'));
  }
  blocks.push(...paragraphs);
  return blocks.length ? blocks.join('\n\n') + '\n' : '';
}
