/**
 * Chinese script of a transcript. Whisper writes Mandarin in whichever script its training data
 * leaned to for the audio (often traditional, even for mainland speech), so the script is set
 * afterwards from what was asked: simplified for zh, zh-CN, zh-Hans, zh-SG and by default;
 * traditional for zh-TW, zh-HK, zh-MO, zh-Hant.
 *
 * The conversion is OpenCC's (npm opencc-js, its dictionaries in plain JavaScript): phrase-level
 * and maintained, which a character table is not (后/後, 发/發/髮 depend on the word). It runs in
 * TypeScript rather than in the worker so it applies equally to every model and to transcripts
 * made before, and costs microseconds a segment.
 */
import * as OpenCC from 'opencc-js';
import { baseLanguage } from './languages.ts';
import type { Transcript } from './types.ts';

export type ChineseScript = 'simplified' | 'traditional' | 'hongkong';

const TRADITIONAL_REGIONS = new Set(['tw', 'hant', 'mo']);

/** The script a language tag asks for; undefined when the tag is not Chinese. */
export function chineseScriptFor(tag: string | undefined): ChineseScript | undefined {
  if (!tag) return undefined;
  const parts = tag.trim().toLowerCase().split(/[-_]/);
  if (parts[0] !== 'zh' && parts[0] !== 'yue') return undefined;
  const rest = parts.slice(1);
  // zh-Hant-HK and zh-HK: Hong Kong's traditional forms; zh-Hans-HK stays simplified.
  if (rest.includes('hans')) return 'simplified';
  if (rest.includes('hk')) return 'hongkong';
  if (rest.some((p) => TRADITIONAL_REGIONS.has(p))) return 'traditional';
  return 'simplified';
}

const converters = new Map<ChineseScript, (text: string) => string>();

function converter(script: ChineseScript): (text: string) => string {
  const known = converters.get(script);
  if (known) return known;
  // From "t" (any traditional) to mainland simplified; from mainland to Taiwan or Hong Kong standard forms.
  const made: (text: string) => string =
    script === 'simplified' ? OpenCC.Converter({ from: 't', to: 'cn' }) : OpenCC.Converter({ from: 'cn', to: script === 'hongkong' ? 'hk' : 'tw' });
  converters.set(script, made);
  return made;
}

/** Text in the given Chinese script (characters outside Chinese pass through unchanged). */
export function toChineseScript(text: string, script: ChineseScript): string {
  return converter(script)(text);
}

/**
 * The transcript with its Chinese written in the script `requested` asks for (simplified when it
 * says nothing). Segment texts and word texts are both converted, so exports and word timings agree.
 * A transcript in another language is returned as it is.
 */
export function applyChineseScript(t: Transcript, requested?: string): Transcript {
  const lang = baseLanguage(t.language);
  if (lang !== 'zh') return t;
  // A request for another language (a mismatched hint) says nothing about the script.
  const script = (requested && baseLanguage(requested) === lang ? chineseScriptFor(requested) : undefined) ?? 'simplified';
  const convert = converter(script);
  return {
    ...t,
    segments: t.segments.map((s) => ({ ...s, text: convert(s.text), words: s.words.map((w) => ({ ...w, word: convert(w.word) })) })),
  };
}
