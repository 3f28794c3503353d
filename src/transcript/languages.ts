/**
 * ISO 639-1 codes to the lower-case English names Whisper/OpenAI use in `language`
 * (verbose_json says "english", not "en"). Names follow openai/whisper's tokenizer table.
 */
const WHISPER_LANGUAGES: Readonly<Record<string, string>> = {
  en: 'english',
  zh: 'chinese',
  de: 'german',
  es: 'spanish',
  ru: 'russian',
  ko: 'korean',
  fr: 'french',
  ja: 'japanese',
  pt: 'portuguese',
  tr: 'turkish',
  pl: 'polish',
  ca: 'catalan',
  nl: 'dutch',
  ar: 'arabic',
  sv: 'swedish',
  it: 'italian',
  id: 'indonesian',
  hi: 'hindi',
  fi: 'finnish',
  vi: 'vietnamese',
  he: 'hebrew',
  uk: 'ukrainian',
  el: 'greek',
  ms: 'malay',
  cs: 'czech',
  ro: 'romanian',
  da: 'danish',
  hu: 'hungarian',
  ta: 'tamil',
  no: 'norwegian',
  th: 'thai',
  ur: 'urdu',
  hr: 'croatian',
  bg: 'bulgarian',
  lt: 'lithuanian',
  la: 'latin',
  mi: 'maori',
  ml: 'malayalam',
  cy: 'welsh',
  sk: 'slovak',
  te: 'telugu',
  fa: 'persian',
  lv: 'latvian',
  bn: 'bengali',
  sr: 'serbian',
  az: 'azerbaijani',
  sl: 'slovenian',
  kn: 'kannada',
  et: 'estonian',
  mk: 'macedonian',
  br: 'breton',
  eu: 'basque',
  is: 'icelandic',
  hy: 'armenian',
  ne: 'nepali',
  mn: 'mongolian',
  bs: 'bosnian',
  kk: 'kazakh',
  sq: 'albanian',
  sw: 'swahili',
  gl: 'galician',
  mr: 'marathi',
  pa: 'punjabi',
  si: 'sinhala',
  km: 'khmer',
  sn: 'shona',
  yo: 'yoruba',
  so: 'somali',
  af: 'afrikaans',
  oc: 'occitan',
  ka: 'georgian',
  be: 'belarusian',
  tg: 'tajik',
  sd: 'sindhi',
  gu: 'gujarati',
  am: 'amharic',
  yi: 'yiddish',
  lo: 'lao',
  uz: 'uzbek',
  fo: 'faroese',
  ht: 'haitian creole',
  ps: 'pashto',
  tk: 'turkmen',
  nn: 'nynorsk',
  mt: 'maltese',
  sa: 'sanskrit',
  lb: 'luxembourgish',
  my: 'myanmar',
  bo: 'tibetan',
  tl: 'tagalog',
  mg: 'malagasy',
  as: 'assamese',
  tt: 'tatar',
  haw: 'hawaiian',
  ln: 'lingala',
  ha: 'hausa',
  ba: 'bashkir',
  jw: 'javanese',
  jv: 'javanese',
  su: 'sundanese',
  yue: 'cantonese',
};

/** The language part of a tag: "zh-TW" → "zh", "en_US" → "en". */
export function baseLanguage(code: string): string {
  return code.trim().toLowerCase().split(/[-_]/)[0] ?? '';
}

/** Whisper's lower-case name for an ISO code ("en-US" → "english"); undefined when unknown. */
export function whisperLanguageName(code: string): string | undefined {
  const base = baseLanguage(code);
  return Object.hasOwn(WHISPER_LANGUAGES, base) ? WHISPER_LANGUAGES[base] : undefined;
}

/**
 * The code Whisper itself takes for an ISO code ("en-US" → "en"); undefined when unknown. Javanese
 * is ISO "jv" but Whisper's "jw": "jv" reached the worker as it was, and failed there (5001).
 */
export function whisperLanguageCode(code: string): string | undefined {
  const base = baseLanguage(code);
  if (!whisperLanguageName(base)) return undefined;
  return base === 'jv' ? 'jw' : base;
}

/** The ISO code for a code Whisper answers with: its "jw" is Javanese, ISO "jv". */
export function isoLanguageCode(whisperCode: string): string {
  return whisperCode === 'jw' ? 'jv' : whisperCode;
}

/** Human label for headers: "English (en)", or the code itself when unknown. */
export function languageLabel(code: string): string {
  const name = whisperLanguageName(code);
  if (!name) return code;
  return `${name.replace(/\b\p{L}/gu, (c) => c.toUpperCase())} (${code})`;
}
