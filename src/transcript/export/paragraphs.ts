/** Grouping of segments into reading paragraphs, shared by the TXT, Markdown and DOCX exporters. */
import { speakerName } from '../speakers.ts';
import type { Transcript } from '../types.ts';

export interface ParagraphOptions {
  /** Silence (seconds) between segments that starts a new paragraph. Default 2. */
  paragraphGap?: number;
  /** A paragraph longer than this (characters) is closed at the next sentence end, so monologues stay readable. Default 800. */
  maxParagraphChars?: number;
}

export interface Paragraph {
  start: number;
  end: number;
  text: string;
  /** Speaker id, in a diarized transcript: a paragraph holds one speaker's words. */
  speaker?: number;
}

const SENTENCE_END = /[.?!…。？！]["'”’»)\]]*$/u;

export function buildParagraphs(t: Transcript, opts: ParagraphOptions = {}): Paragraph[] {
  const gap = opts.paragraphGap ?? 2;
  const maxChars = opts.maxParagraphChars ?? 800;
  const out: Paragraph[] = [];
  let cur: Paragraph | undefined;
  for (const seg of t.segments) {
    const text = seg.text.replace(/\s+/g, ' ').trim();
    if (!text) continue;
    const longEnough = cur !== undefined && cur.text.length >= maxChars && SENTENCE_END.test(cur.text);
    if (!cur || seg.start - cur.end > gap || longEnough || seg.speaker !== cur.speaker) {
      cur = { start: seg.start, end: seg.end, text };
      if (seg.speaker !== undefined) cur.speaker = seg.speaker;
      out.push(cur);
    } else {
      cur.text += ' ' + text;
      cur.end = Math.max(cur.end, seg.end);
    }
  }
  return out;
}

/** Title for headers: explicit, else the source file name without its extension, else "Transcript". */
export function defaultTitle(t: Transcript, title?: string): string {
  if (title?.trim()) return title.trim();
  const base = t.source
    ?.split(/[\\/]/)
    .pop()
    ?.replace(/\.[^.]+$/, '')
    .trim();
  return base || 'Transcript';
}

/** The name to print before a paragraph: one line, whatever was stored (names from older data may not have been cleaned). */
export function paragraphSpeaker(t: Transcript, p: Paragraph): string | undefined {
  if (p.speaker === undefined || !t.speakers?.length) return undefined;
  return speakerName(t, p.speaker).replace(/\s+/g, ' ').trim();
}
