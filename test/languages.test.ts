import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import { AsrWorker, prepareAudio, recogniseWithInfo, type Recognised } from '../src/asr/index.ts';
import { cer, prefixWordErrors, wer } from '../src/asr/wer.ts';
import { AsrPool, transcribeHandler, type HandlerDeps, type TranscribeJobResult } from '../src/jobs/handlers.ts';
import type { Job } from '../src/jobs/queue.ts';
import { applyChineseScript, chineseScriptFor, toChineseScript } from '../src/transcript/chinese-script.ts';
import { transcriptText, type Transcript } from '../src/transcript/index.ts';
import { SHARED_SPEECH, ffmpeg, hasSharedSpeech, readSpeechManifest, tempDir } from './helpers/media.ts';

/**
 * Languages by default (issue 9, parts 4 and 5; issue 15): with no model named, the language is
 * detected by the bundled multilingual model and base decodes every language, English included;
 * `--fast` (auto) sends English to tiny.en and the rest to base. Chinese comes out in simplified
 * characters unless traditional is asked for.
 *
 * Thresholds are ~1.3x what this machine measured on these very items (tiny.en and base, int8),
 * so a wrong route (tiny.en on German gives WER near 1), a wrong language or lost audio fails them.
 */
const MAX_ERROR_RATE: Record<string, { metric: 'cer' | 'wer'; max: number }> = {
  // Measured CER 0.167 (广州市佛地产中间协会分析: 2 of 12 characters wrong).
  zh: { metric: 'cer', max: 0.22 },
  // Measured WER 0.000: 1.3x of nothing is nothing, so one word of 14 is allowed.
  fr: { metric: 'wer', max: 0.1 },
  // Measured CER 0.286 (spontaneous speech, base model).
  ja: { metric: 'cer', max: 0.37 },
  // First 40 s only (the whole item is 68 s): measured WER 0.203 against the matching part of the reference.
  de: { metric: 'wer', max: 0.27 },
  // First 40 s only (the whole item is 70 s): measured WER 0.111.
  es: { metric: 'wer', max: 0.15 },
  // Measured WER 0.000 on JFK (tiny.en and base): one word of 22 allowed.
  en: { metric: 'wer', max: 0.1 },
};

/** Characters that exist only in traditional writing: none may appear in simplified output. */
const TRADITIONAL_ONLY = [...'廣認為說這個們時國會來對學還後點現問題產間協'];

const MULTILINGUAL = resolve(SHARED_SPEECH, '..', 'speech-multilingual');
const hasMultilingual = () => existsSync(join(MULTILINGUAL, 'manifest.tsv'));
const skip = hasSharedSpeech() && hasMultilingual() ? false : `no shared corpora at ${SHARED_SPEECH} and ${MULTILINGUAL}: language tests skipped`;
if (skip && process.env.CI === 'true') {
  test('the shared speech corpora are present under CI', () => assert.fail(String(skip)));
}

/** Seconds of the German and Spanish items transcribed: the whole file stays near 2 minutes of audio. */
const CUT_SEC = 40;

interface Item {
  id: string;
  language: string;
  file: string;
  reference: string;
  /** Only the first CUT_SEC seconds are transcribed. */
  cut?: boolean;
}

function multilingualItems(): Item[] {
  const [header, ...rows] = readFileSync(join(MULTILINGUAL, 'manifest.tsv'), 'utf8').trim().split('\n');
  const cols = header!.split('\t');
  return rows.map((r) => {
    const c = r.split('\t');
    const col = (name: string) => c[cols.indexOf(name)]!;
    return { id: col('id'), language: col('language'), file: join(MULTILINGUAL, col('file')), reference: col('reference_transcript') };
  });
}

function items(dir: string): Item[] {
  const speech = readSpeechManifest();
  const cutItems = speech
    .filter((it) => /_(de|es)$/.test(it.id))
    .map((it) => {
      const file = join(dir, `${it.id}.first${CUT_SEC}s.wav`);
      ffmpeg('-i', it.wav, '-t', String(CUT_SEC), '-c:a', 'pcm_s16le', file);
      return { id: it.id, language: it.id.slice(-2), file, reference: it.reference, cut: true };
    });
  const jfk = speech.find((it) => it.id === 'jfk_inaugural_1961')!;
  return [...multilingualItems(), ...cutItems, { id: jfk.id, language: 'en', file: jfk.wav, reference: jfk.reference }];
}

const simplified = (s: string) => toChineseScript(s, 'simplified');

function errorRate(item: Item, hypothesis: string): number {
  const rule = MAX_ERROR_RATE[item.language]!;
  // Both sides in simplified characters: the script is checked separately, not counted as errors.
  if (rule.metric === 'cer') return item.language === 'zh' ? cer(simplified(item.reference), simplified(hypothesis)) : cer(item.reference, hypothesis);
  if (item.cut) {
    const c = prefixWordErrors(item.reference, hypothesis);
    return c.errors / Math.max(1, c.referenceWords);
  }
  return wer(item.reference, hypothesis);
}

async function run(worker: AsrWorker, file: string, opts: { language?: string; languageHint?: string } = {}): Promise<Recognised> {
  return recogniseWithInfo(worker, await prepareAudio(file), opts);
}

describe('languages by default: no model given', { skip }, () => {
  const dir = tempDir();
  const worker = new AsrWorker();
  after(() => worker.close());
  const detectSec: number[] = [];

  test('each language is detected and decoded by base (English too) within its error bound', async () => {
    const all = items(dir);
    assert.deepEqual([...new Set(all.map((i) => i.language))].sort(), ['de', 'en', 'es', 'fr', 'ja', 'zh']);
    const failures: string[] = [];
    const measured: string[] = [];
    for (const item of all) {
      const r = await run(worker, item.file);
      const text = transcriptText(r.transcript);
      const rate = errorRate(item, text);
      const rule = MAX_ERROR_RATE[item.language]!;
      detectSec.push(r.detectSec);
      measured.push(
        `${item.id}: ${r.transcript.language} (${r.languageProbability}) → ${r.model}, ${rule.metric} ${rate.toFixed(3)}, detection ${r.detectSec} s: ${text}`,
      );
      if (r.transcript.language !== item.language) failures.push(`${item.id}: detected ${r.transcript.language}, expected ${item.language}`);
      if (r.model !== 'base') failures.push(`${item.id}: decoded by ${r.model}, expected base`);
      if (rate > rule.max) failures.push(`${item.id}: ${rule.metric} ${rate.toFixed(3)} > ${rule.max}`);
      if (item.language === 'zh') {
        const words = r.transcript.segments.flatMap((s) => s.words.map((w) => w.word)).join('');
        const traditional = TRADITIONAL_ONLY.filter((ch) => text.includes(ch) || words.includes(ch));
        if (traditional.length) failures.push(`${item.id}: traditional characters ${traditional.join(' ')} in simplified output: ${text}`);
        if (!/[\u4e00-\u9fff]/.test(text)) failures.push(`${item.id}: no Chinese characters at all: ${text}`);
      }
    }
    assert.deepEqual(failures, [], measured.join('\n'));
    assert.ok(
      detectSec.every((s) => s > 0),
      `every file was detected: ${detectSec}`,
    );
  });

  test('a given language skips detection: zh-TW is decoded by base and written in traditional characters, words included', async () => {
    const zh = multilingualItems().find((i) => i.language === 'zh')!;
    const r = await run(worker, zh.file, { language: 'zh-TW' });
    assert.equal(r.model, 'base');
    assert.equal(r.detectSec, 0);
    assert.equal(r.transcript.language, 'zh');
    const text = transcriptText(r.transcript);
    assert.match(text, /廣州/, text);
    const words = r.transcript.segments.flatMap((s) => s.words.map((w) => w.word)).join('');
    assert.match(words, /廣州/, words);
    assert.equal(words.replace(/\s/g, ''), text.replace(/\s/g, ''), 'word texts agree with the segment text');
    assert.ok(cer(simplified(zh.reference), simplified(text)) <= MAX_ERROR_RATE.zh!.max, text);
  });
});

describe('the fast choice (--fast, --model auto)', { skip }, () => {
  const dir = tempDir();
  const worker = new AsrWorker({ model: 'auto' });
  after(() => worker.close());

  test('English is detected and goes to tiny.en, German to base, each within its error bound', async () => {
    const chosen = items(dir).filter((i) => i.language === 'en' || i.language === 'de');
    assert.equal(chosen.length, 2);
    for (const item of chosen) {
      const r = await run(worker, item.file);
      const text = transcriptText(r.transcript);
      assert.equal(r.transcript.language, item.language, text);
      assert.equal(r.model, item.language === 'en' ? 'tiny.en' : 'base', item.id);
      assert.ok(r.detectSec > 0, 'detected');
      assert.ok(errorRate(item, text) <= MAX_ERROR_RATE[item.language]!.max, `${item.id}: ${text}`);
    }
  });
});

describe('the transcribe job says what it heard', { skip }, () => {
  test('a French file in a session made in English: detected as French (the hint does not force English), base, with a preview; a job naming base reuses the auto worker', async () => {
    const fr = multilingualItems().find((i) => i.language === 'fr')!;
    const pool = new AsrPool({ model: 'auto' });
    after(() => pool.close());
    const stored: Transcript[] = [];
    let audioFile = fr.file;
    const deps = {
      blobs: { localPath: async () => audioFile },
      sessions: {
        get: async () => ({ id: 'ses_1', language: 'en' }),
        addTranscript: async (r: { transcript: Transcript }) => {
          stored.push(r.transcript);
          return { id: 'tr_1' };
        },
      },
      queue: { reprice: async () => {} },
      credits: { available: async () => 100 },
    } as unknown as HandlerDeps;
    const job = {
      id: 'job_1',
      accountId: 'acc_1',
      sessionId: 'ses_1',
      price: 1,
      payload: { mediaId: 'med_1', storeKey: 'k', name: 'test_fr.wav', durationSec: 6.672, options: {} },
    } as unknown as Job<'transcribe'>;
    const result = (await transcribeHandler(deps, pool)(job, { signal: new AbortController().signal, slot: 0, progress: () => {} })) as TranscribeJobResult;
    assert.equal(result.language, 'fr');
    assert.equal(result.model, 'base');
    assert.match(result.preview ?? '', /^Sous le consulat/);
    assert.ok(wer(fr.reference, result.preview ?? '') <= MAX_ERROR_RATE.fr!.max, result.preview);
    assert.equal(stored.length, 1);

    // A job that names base runs on the same process (auto holds both models), English or not.
    const first = await pool.acquire(0);
    const pid = first.worker.pid;
    first.release();
    const uberi = readSpeechManifest().find((it) => it.id === 'uberi_english_one_two_three')!;
    audioFile = uberi.wav;
    const named = { ...job, id: 'job_2', payload: { ...(job.payload as object), name: 'english.wav', durationSec: 2.745, model: 'base' } } as Job<'transcribe'>;
    const r2 = (await transcribeHandler(deps, pool)(named, { signal: new AbortController().signal, slot: 0, progress: () => {} })) as TranscribeJobResult;
    assert.equal(r2.model, 'base');
    assert.equal(r2.language, 'en');
    assert.ok(wer(uberi.reference, r2.preview ?? '') <= 0.34, r2.preview);
    const again = await pool.acquire(0, 'base');
    assert.equal(again.worker.pid, pid, 'no new worker process for base');
    again.release();
  });
});

describe('Chinese script', () => {
  test('simplified for zh, zh-CN, zh-Hans and by default; traditional for zh-TW, zh-Hant, zh-HK', () => {
    for (const tag of ['zh', 'zh-CN', 'zh-Hans', 'zh_SG', 'zh-Hans-HK', undefined])
      assert.equal(chineseScriptFor(tag) ?? 'simplified', 'simplified', String(tag));
    assert.equal(chineseScriptFor('zh-TW'), 'traditional');
    assert.equal(chineseScriptFor('zh-Hant'), 'traditional');
    assert.equal(chineseScriptFor('zh-HK'), 'hongkong');
    assert.equal(chineseScriptFor('en'), undefined);
  });

  const traditional: Transcript = {
    language: 'zh',
    duration: 2,
    segments: [
      {
        id: 0,
        start: 0,
        end: 2,
        text: '廣州認為這個問題',
        words: [
          { word: '廣州', start: 0, end: 0.5, probability: 0.9 },
          { word: '認為', start: 0.5, end: 1, probability: 0.9 },
          { word: '這個問題', start: 1, end: 2, probability: 0.9 },
        ],
      },
    ],
  };

  test('segment and word texts are converted together (OpenCC), and other languages are left alone', () => {
    const s = applyChineseScript(traditional);
    assert.equal(s.segments[0]!.text, '广州认为这个问题');
    assert.deepEqual(
      s.segments[0]!.words.map((w) => w.word),
      ['广州', '认为', '这个问题'],
    );
    const back = applyChineseScript(s, 'zh-TW');
    assert.equal(back.segments[0]!.text, '廣州認為這個問題');
    assert.deepEqual(
      back.segments[0]!.words.map((w) => w.word),
      ['廣州', '認為', '這個問題'],
    );
    // A hint in another language says nothing about the script: simplified.
    assert.equal(applyChineseScript(traditional, 'en').segments[0]!.text, '广州认为这个问题');
    const japanese = { ...traditional, language: 'ja' };
    assert.equal(applyChineseScript(japanese), japanese);
  });

  test('the character error rate ignores punctuation, spaces and full-width forms', () => {
    assert.equal(cer('广州市房地产', '广州市，房地产。'), 0);
    assert.equal(cer('ＡＢ c', 'abc'), 0);
    assert.ok(Math.abs(cer('广州市房地产中介协会分析', '广州市佛地产中间协会分析') - 2 / 12) < 1e-9);
    assert.equal(prefixWordErrors('one two three four five', 'one two three').errors, 0);
  });
});
