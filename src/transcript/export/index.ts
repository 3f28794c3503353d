/**
 * One entry point for every export format. `exportTranscript` always resolves to a Buffer
 * (UTF-8 for the text formats) so callers can write files, HTTP bodies or stdout the same way;
 * use the per-format functions (toSrt, toTxt...) when you want a string.
 */
import { VidscribeError, ErrorCode } from '../../shared/errors.ts';
import type { CueOptions } from '../cues.ts';
import type { Transcript } from '../types.ts';
import { toDocx, type DocxOptions } from './docx.ts';
import { toJson, type JsonOptions } from './json.ts';
import { toMarkdown, type MarkdownOptions } from './md.ts';
import { toSrt } from './srt.ts';
import { toTxt, type TxtOptions } from './txt.ts';
import { toVtt } from './vtt.ts';

export const EXPORT_FORMATS = ['txt', 'srt', 'vtt', 'json', 'docx', 'md'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export const EXPORT_CONTENT_TYPES: Readonly<Record<ExportFormat, string>> = {
  txt: 'text/plain; charset=utf-8',
  srt: 'application/x-subrip; charset=utf-8',
  vtt: 'text/vtt; charset=utf-8',
  json: 'application/json',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  md: 'text/markdown; charset=utf-8',
};

export function isExportFormat(s: unknown): s is ExportFormat {
  return typeof s === 'string' && (EXPORT_FORMATS as readonly string[]).includes(s);
}

/**
 * Options for every format in one bag; each exporter reads only its own. Note `timestamps`
 * defaults to false for TXT but true for Markdown and DOCX.
 */
export interface ExportOptions extends CueOptions, TxtOptions, MarkdownOptions, JsonOptions, DocxOptions {}

export async function exportTranscript(t: Transcript, format: ExportFormat, opts: ExportOptions = {}): Promise<Buffer> {
  switch (format) {
    case 'txt':
      return Buffer.from(toTxt(t, opts), 'utf8');
    case 'srt':
      return Buffer.from(toSrt(t, opts), 'utf8');
    case 'vtt':
      return Buffer.from(toVtt(t, opts), 'utf8');
    case 'json':
      return Buffer.from(toJson(t, opts), 'utf8');
    case 'md':
      return Buffer.from(toMarkdown(t, opts), 'utf8');
    case 'docx':
      return toDocx(t, opts);
    default:
      // Reached only from untyped callers (CLI flags, API bodies).
      throw new VidscribeError(ErrorCode.UnsupportedFormat, `Unsupported export format: ${String(format)}`, {
        data: { allowed: [...EXPORT_FORMATS] },
      });
  }
}

export { toSrt, cuesToSrt } from './srt.ts';
export { toVtt, cuesToVtt } from './vtt.ts';
export { toTxt, type TxtOptions } from './txt.ts';
export { toMarkdown, type MarkdownOptions } from './md.ts';
export { toJson, toVerboseJson, compressionRatio, type JsonOptions, type VerboseJson, type VerboseJsonSegment, type VerboseJsonWord } from './json.ts';
export { toDocx, type DocxOptions } from './docx.ts';
export { buildParagraphs, type Paragraph, type ParagraphOptions } from './paragraphs.ts';
