import { languageLabel } from '../languages.ts';
import { formatClock } from '../time.ts';
import type { Transcript } from '../types.ts';
import { buildParagraphs, defaultTitle, paragraphSpeaker, type ParagraphOptions } from './paragraphs.ts';

export interface MarkdownOptions extends ParagraphOptions {
  /** Heading text; defaults to the source file name without extension, else "Transcript". */
  title?: string;
  /** Prefix each paragraph with `**[hh:mm:ss]**`. Default true. */
  timestamps?: boolean;
}

// Spoken text can contain characters Markdown would read as emphasis, links, HTML or headings.
const escapeMd = (s: string): string =>
  s
    .replace(/[\\`*_[\]<>#|~]/g, (c) => '\\' + c)
    // A block starting "1. " or "- " would become a list.
    .replace(/^(\d+)\.(\s)/, '$1\\.$2')
    .replace(/^([-+])(\s)/, '\\$1$2');

/** Markdown: `# title`, a metadata list, then one paragraph per pause-separated block. */
export function toMarkdown(t: Transcript, opts: MarkdownOptions = {}): string {
  const stamps = opts.timestamps ?? true;
  const meta = [
    t.source && `- **Source:** ${escapeMd(t.source)}`,
    `- **Duration:** ${formatClock(t.duration)}`,
    `- **Language:** ${escapeMd(languageLabel(t.language))}`,
    t.task === 'translate' && '- **Task:** translation',
  ].filter(Boolean);
  const paragraphs = buildParagraphs(t, opts).map((p) => {
    const who = paragraphSpeaker(t, p);
    return (stamps ? `**[${formatClock(p.start)}]** ` : '') + (who === undefined ? '' : `**${escapeMd(who)}:** `) + escapeMd(p.text);
  });
  return [`# ${escapeMd(defaultTitle(t, opts.title))}`, meta.join('\n'), ...paragraphs].join('\n\n') + '\n';
}
