import { Document, HeadingLevel, Packer, Paragraph, TextRun } from 'docx';
import { languageLabel } from '../languages.ts';
import { formatClock } from '../time.ts';
import type { Transcript } from '../types.ts';
import { buildParagraphs, defaultTitle, paragraphSpeaker, type ParagraphOptions } from './paragraphs.ts';

export interface DocxOptions extends ParagraphOptions {
  /** Title heading and document property; defaults to the source file name without extension. */
  title?: string;
  /** Start each paragraph with a grey `[hh:mm:ss]`. Default true. */
  timestamps?: boolean;
}

// Control characters are not allowed in XML 1.0; one stray byte from the ASR would make Word refuse the file.
// eslint-disable-next-line no-control-regex
const xmlSafe = (s: string): string => s.replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '');

function metaLine(label: string, value: string): Paragraph {
  return new Paragraph({ children: [new TextRun({ text: `${label}: `, bold: true }), new TextRun(xmlSafe(value))] });
}

/** Word document: title, source/duration/language lines, then (timestamped) paragraphs. */
export async function toDocx(t: Transcript, opts: DocxOptions = {}): Promise<Buffer> {
  const title = xmlSafe(defaultTitle(t, opts.title));
  const stamps = opts.timestamps ?? true;
  const meta = [
    ...(t.source ? [metaLine('Source', t.source)] : []),
    metaLine('Duration', formatClock(t.duration)),
    metaLine('Language', languageLabel(t.language)),
  ];
  const body = buildParagraphs(t, opts).map((p) => {
    const who = paragraphSpeaker(t, p);
    return new Paragraph({
      spacing: { after: 160 },
      children: [
        ...(stamps ? [new TextRun({ text: `[${formatClock(p.start)}] `, color: '808080' })] : []),
        ...(who === undefined ? [] : [new TextRun({ text: `${xmlSafe(who)}: `, bold: true })]),
        new TextRun(xmlSafe(p.text)),
      ],
    });
  });
  const doc = new Document({
    creator: 'vidscribe',
    title,
    sections: [
      {
        children: [new Paragraph({ text: title, heading: HeadingLevel.TITLE }), ...meta, new Paragraph({ text: '' }), ...body],
      },
    ],
  });
  return Packer.toBuffer(doc);
}
