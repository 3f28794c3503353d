import numberToWords from 'number-to-words';

/**
 * Word error rate with the normalisation the shared corpus asks for: lower case, punctuation
 * dropped, numbers spelled out, "mr" → "mister", apostrophe variants unified, hyphens split.
 */
export function normalizeForWer(text: string): string[] {
  let t = text.toLowerCase().replace(/[’‘`]/g, "'");
  t = t.replace(/(\d),(\d{3})\b/g, '$1$2'); // 1,000 → 1000
  t = t.replace(/\d+(st|nd|rd|th)\b/g, (m) => numberToWords.toWordsOrdinal(parseInt(m, 10)));
  t = t.replace(/\b(1[1-9]|20)(\d\d)\b/g, (_m, hi: string, lo: string) => ` ${spokenYear(Number(hi), Number(lo))} `);
  t = t.replace(/\d+/g, (m) => (m.length > 15 ? m : ` ${numberToWords.toWords(Number(m))} `));
  t = t
    .replace(/\bmr\b\.?/g, 'mister')
    .replace(/\bmrs\b\.?/g, 'missus')
    .replace(/\bdr\b\.?/g, 'doctor');
  t = t.replace(/[-‐–—]/g, ' ');
  t = t.replace(/[^\p{L}\p{N}'\s]/gu, ' ');
  t = t.replace(/(^|\s)'+|'+(?=\s|$)/g, ' ');
  return t.split(/\s+/).filter(Boolean);
}

/** Four-digit numbers from 1100 to 2099 are read as years: 1813 → "eighteen thirteen". */
function spokenYear(hi: number, lo: number): string {
  if (hi === 20 && lo < 10) return numberToWords.toWords(2000 + lo);
  const head = numberToWords.toWords(hi);
  if (lo === 0) return `${head} hundred`;
  return `${head} ${lo < 10 ? `oh ${numberToWords.toWords(lo)}` : numberToWords.toWords(lo)}`;
}

export interface WerCounts {
  errors: number;
  referenceWords: number;
}

/** Levenshtein distance over words: substitutions + deletions + insertions. */
export function wordErrors(reference: string, hypothesis: string): WerCounts {
  const r = normalizeForWer(reference);
  return { errors: editDistance(r, normalizeForWer(hypothesis)).whole, referenceWords: r.length };
}

export function wer(reference: string, hypothesis: string): number {
  const { errors, referenceWords } = wordErrors(reference, hypothesis);
  return referenceWords === 0 ? (errors === 0 ? 0 : 1) : errors / referenceWords;
}

/** Edit distance between two token lists, and the best prefix of the reference (for a cut recording). */
function editDistance(r: readonly string[], h: readonly string[]): { whole: number; bestPrefix: { errors: number; length: number } } {
  let prev = Array.from({ length: h.length + 1 }, (_, j) => j);
  let bestPrefix = { errors: h.length, length: 0 };
  for (let i = 1; i <= r.length; i++) {
    const cur = [i];
    for (let j = 1; j <= h.length; j++) {
      const sub = prev[j - 1]! + (r[i - 1] === h[j - 1] ? 0 : 1);
      cur.push(Math.min(sub, prev[j]! + 1, cur[j - 1]! + 1));
    }
    prev = cur;
    if (prev[h.length]! <= bestPrefix.errors) bestPrefix = { errors: prev[h.length]!, length: i };
  }
  return { whole: prev[h.length]!, bestPrefix };
}

/**
 * Word errors of a transcript of the first part of a recording, against the part of the
 * reference it matches best (the reference's prefix with the fewest errors).
 */
export function prefixWordErrors(reference: string, hypothesis: string): WerCounts {
  const { bestPrefix } = editDistance(normalizeForWer(reference), normalizeForWer(hypothesis));
  return { errors: bestPrefix.errors, referenceWords: bestPrefix.length };
}

/**
 * Characters for the character error rate (Chinese, Japanese: no spaces between words):
 * Unicode-normalised (NFKC: full-width forms to their plain ones), lower case, and only letters
 * and digits — punctuation and whitespace are not what was said.
 */
export function normalizeForCer(text: string): string[] {
  return [
    ...text
      .normalize('NFKC')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}]/gu, ''),
  ];
}

/** Character error rate: edit distance over characters / reference characters. */
export function cer(reference: string, hypothesis: string): number {
  const r = normalizeForCer(reference);
  const errors = editDistance(r, normalizeForCer(hypothesis)).whole;
  return r.length === 0 ? (errors === 0 ? 0 : 1) : errors / r.length;
}
