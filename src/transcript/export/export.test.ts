import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSync, type NodeCue } from 'subtitle';
import webvtt from 'webvtt-parser';
import { strFromU8, unzipSync } from 'fflate';
import { isVidscribeError, ErrorCode } from '../../shared/errors.ts';
import { buildCues, VERTICAL_CUE_OPTIONS, formatClock, transcriptText, type Transcript } from '../index.ts';
import { assertCueRules, meeting, speak, spokenWords, type PlainCue } from '../test-fixtures.ts';
import {
  EXPORT_CONTENT_TYPES,
  EXPORT_FORMATS,
  exportTranscript,
  isExportFormat,
  toDocx,
  toJson,
  toMarkdown,
  toSrt,
  toTxt,
  toVerboseJson,
  toVtt,
} from './index.ts';

const { WebVTTParser } = webvtt;
const t = meeting();
const words = spokenWords(t);

const decodeEntities = (s: string): string => s.replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&amp;', '&');

/** Cues as the `subtitle` package reads them back (it reports milliseconds). */
function parseSubtitles(text: string): PlainCue[] {
  return parseSync(text)
    .filter((n): n is NodeCue => n.type === 'cue')
    .map((n) => ({ start: n.data.start / 1000, end: n.data.end / 1000, lines: n.data.text.split('\n').map(decodeEntities) }));
}

/** A transcript whose text would break naive SRT/VTT/Markdown/XML writers. */
const tricky = (): Transcript =>
  speak([{ text: 'R&D said <b>bold</b> things --> like 5 * 3 = 15 and_this.', pauseAfter: 0.5 }, { text: '# Not a heading, [not](a link) `code` - fine.' }], {
    source: 'notes & <draft>.wav',
  });

describe('SRT', () => {
  test('parses back with subtitle.parseSync and obeys the cue rules', () => {
    const srt = toSrt(t);
    const cues = parseSubtitles(srt);
    assert.equal(cues.length, buildCues(t).length);
    assertCueRules(cues, words, { mediaEnd: t.duration });
    assert.match(srt, /^1\n00:00:00,500 --> \d\d:\d\d:\d\d,\d{3}\n/);
    // Numbered 1..n with a blank line between cues.
    const numbers = srt.split('\n\n').map((block) => block.split('\n')[0]);
    assert.deepEqual(
      numbers,
      cues.map((_, i) => String(i + 1)),
    );
  });

  test('vertical options (28 chars) hold after the round trip', () => {
    const cues = parseSubtitles(toSrt(t, VERTICAL_CUE_OPTIONS));
    assertCueRules(cues, words, { ...VERTICAL_CUE_OPTIONS, mediaEnd: t.duration });
    assert.ok(cues.length > parseSubtitles(toSrt(t)).length);
  });

  test('"-->" in speech cannot fake a timing line', () => {
    const x = tricky();
    const cues = parseSubtitles(toSrt(x));
    const text = cues.flatMap((c) => c.lines).join(' ');
    assert.ok(!text.includes('-->'));
    assert.ok(text.includes('R&D said <b>bold</b> things → like'));
  });

  test('empty transcript gives an empty file', () => {
    assert.equal(toSrt({ language: 'en', duration: 0, segments: [] }), '');
  });
});

describe('WebVTT', () => {
  test('parses with subtitle and with the W3C webvtt-parser without errors, and obeys the cue rules', () => {
    const vtt = toVtt(t);
    assert.ok(vtt.startsWith('WEBVTT\n\n'));
    assert.match(vtt, /\n00:00:00\.500 --> \d\d:\d\d:\d\d\.\d{3}\n/);
    const cues = parseSubtitles(vtt);
    assertCueRules(cues, words, { mediaEnd: t.duration });

    const w3c = new WebVTTParser().parse(vtt);
    assert.deepEqual(w3c.errors, []);
    assert.equal(w3c.cues.length, cues.length);
    w3c.cues.forEach((c, i) => {
      assert.ok(Math.abs(c.startTime - cues[i]!.start) < 0.0005 && Math.abs(c.endTime - cues[i]!.end) < 0.0005);
    });
  });

  test('markup characters are escaped so the cue text is valid', () => {
    const x = tricky();
    const vtt = toVtt(x, VERTICAL_CUE_OPTIONS);
    const w3c = new WebVTTParser().parse(vtt);
    assert.deepEqual(w3c.errors, []);
    assert.ok(vtt.includes('R&amp;D') && vtt.includes('&lt;b&gt;bold&lt;/b&gt;'));
    const expected = spokenWords(x).map((w) => w.replaceAll('-->', '→'));
    assertCueRules(parseSubtitles(vtt), expected, { ...VERTICAL_CUE_OPTIONS, mediaEnd: x.duration });
  });

  test('empty transcript is still a valid WebVTT file', () => {
    const vtt = toVtt({ language: 'en', duration: 0, segments: [] });
    assert.deepEqual(new WebVTTParser().parse(vtt).errors, []);
  });
});

describe('TXT', () => {
  test('paragraphs split on pauses longer than 2 s', () => {
    const paragraphs = toTxt(t).trimEnd().split('\n\n');
    // The fixture pauses 3.2 s after the fast speaker and 2.5 s after the questions; the 1.5 s pause does not split.
    assert.equal(paragraphs.length, 3);
    assert.ok(paragraphs[0]!.startsWith('Good evening') && paragraphs[0]!.endsWith('in the greenhouse.'));
    assert.ok(paragraphs[1]!.startsWith('The soil report'));
    assert.ok(paragraphs[2]!.startsWith('Yes: compost') && paragraphs[2]!.endsWith('Thanks.'));
    // Nothing lost: the paragraphs are the transcript text.
    assert.equal(paragraphs.join(' '), transcriptText(t));
  });

  test('paragraphGap and maxParagraphChars change the split', () => {
    assert.equal(toTxt(t, { paragraphGap: 1 }).trimEnd().split('\n\n').length, 4);
    // Only the 800-character cap splits this ~830-character minute once no pause is long enough.
    assert.equal(toTxt(t, { paragraphGap: 10 }).trimEnd().split('\n\n').length, 2);
    assert.equal(toTxt(t, { paragraphGap: 10, maxParagraphChars: Infinity }).trimEnd().split('\n\n').length, 1);
    const short = toTxt(t, { paragraphGap: 10, maxParagraphChars: 100 }).trimEnd().split('\n\n');
    assert.ok(short.length > 3);
    // Only closed at sentence ends.
    assert.ok(
      short.slice(0, -1).every((p) => /[.?!]$/.test(p)),
      JSON.stringify(short),
    );
  });

  test('timestamps option stamps each paragraph with its start', () => {
    const paragraphs = toTxt(t, { timestamps: true }).trimEnd().split('\n\n');
    const starts = [t.segments[0]!, t.segments[5]!, t.segments[7]!].map((s) => `[${formatClock(s.start)}] `);
    assert.deepEqual(
      paragraphs.map((p) => p.slice(0, 11)),
      starts,
    );
    assert.ok(paragraphs.every((p) => /^\[\d\d:\d\d:\d\d\] \S/.test(p)));
    assert.ok(!/\[\d\d:/.test(toTxt(t)));
  });

  test('header option adds title, source, duration and language', () => {
    const txt = toTxt(t, { header: true });
    assert.ok(
      txt.startsWith('Riverside Garden Meeting\nSource: media/Riverside Garden Meeting.mp4\nDuration: 00:01:00\nLanguage: English (en)\n\nGood evening'),
    );
  });
});

describe('Markdown', () => {
  test('heading, metadata list, stamped paragraphs', () => {
    const md = toMarkdown(t);
    const blocks = md.trimEnd().split('\n\n');
    assert.equal(blocks[0], '# Riverside Garden Meeting');
    assert.deepEqual(blocks[1]!.split('\n'), ['- **Source:** media/Riverside Garden Meeting.mp4', '- **Duration:** 00:01:00', '- **Language:** English (en)']);
    const paragraphs = blocks.slice(2);
    assert.equal(paragraphs.length, 3);
    assert.ok(paragraphs.every((p) => /^\*\*\[\d\d:\d\d:\d\d\]\*\* \S/.test(p)));
    assert.ok(paragraphs[1]!.startsWith(`**[${formatClock(t.segments[5]!.start)}]** The soil report`));
  });

  test('title option, no timestamps, and escaping of Markdown syntax in speech', () => {
    const md = toMarkdown(tricky(), { title: 'Notes', timestamps: false });
    assert.ok(md.startsWith('# Notes\n'));
    assert.ok(!md.includes('**['));
    assert.ok(md.includes('5 \\* 3') && md.includes('\\<b\\>') && md.includes('and\\_this') && md.includes('\\# Not a heading') && md.includes('\\[not\\]'));
    // No line of the body may start a heading.
    assert.ok(md.split('\n').filter((l) => l.startsWith('#')).length === 1);
  });

  test('without a source the title falls back to "Transcript" and the list omits Source', () => {
    const md = toMarkdown({ ...t, source: undefined });
    assert.ok(md.startsWith('# Transcript\n\n- **Duration:**'));
  });
});

describe('verbose_json', () => {
  const SEGMENT_KEYS = ['avg_logprob', 'compression_ratio', 'end', 'id', 'no_speech_prob', 'seek', 'start', 'temperature', 'text', 'tokens'];

  test('matches the OpenAI verbose_json schema', () => {
    const json = JSON.parse(toJson(t)) as Record<string, unknown>;
    assert.deepEqual(Object.keys(json).sort(), ['duration', 'language', 'segments', 'task', 'text', 'words']);
    assert.equal(json.task, 'transcribe');
    assert.equal(json.language, 'en');
    assert.equal(json.duration, t.duration);
    assert.equal(json.text, transcriptText(t));
    const segments = json.segments as Record<string, unknown>[];
    assert.equal(segments.length, t.segments.length);
    segments.forEach((s, i) => {
      assert.deepEqual(Object.keys(s).sort(), SEGMENT_KEYS);
      for (const k of ['id', 'seek', 'start', 'end', 'temperature', 'avg_logprob', 'compression_ratio', 'no_speech_prob']) {
        assert.equal(typeof s[k], 'number', `segments[${i}].${k}`);
        assert.ok(Number.isFinite(s[k]));
      }
      assert.ok(Number.isInteger(s.id) && Number.isInteger(s.seek));
      assert.equal(typeof s.text, 'string');
      assert.ok(Array.isArray(s.tokens));
      assert.ok((s.avg_logprob as number) <= 0);
      assert.ok((s.compression_ratio as number) > 0);
      assert.ok((s.no_speech_prob as number) >= 0 && (s.no_speech_prob as number) <= 1);
      assert.ok((s.start as number) <= (s.end as number));
    });
    const ws = json.words as Record<string, unknown>[];
    // Every timed word, trimmed like OpenAI's (the segment without word timings contributes none).
    assert.deepEqual(
      ws.map((w) => w.word),
      t.segments.flatMap((s) => s.words.map((w) => w.word.trim())),
    );
    for (const w of ws) {
      assert.deepEqual(Object.keys(w).sort(), ['end', 'start', 'word']);
      assert.ok(typeof w.start === 'number' && typeof w.end === 'number' && w.start <= w.end);
    }
  });

  test('keeps decoder statistics that are present and defaults only the missing ones', () => {
    const x = meeting();
    Object.assign(x.segments[0]!, { seek: 3000, tokens: [50364, 2205], temperature: 0.2, avg_logprob: -0.31, compression_ratio: 1.4, no_speech_prob: 0.02 });
    const v = toVerboseJson(x);
    assert.deepEqual(
      { ...v.segments[0]!, text: undefined, start: undefined, end: undefined },
      {
        id: 0,
        seek: 3000,
        tokens: [50364, 2205],
        temperature: 0.2,
        avg_logprob: -0.31,
        compression_ratio: 1.4,
        no_speech_prob: 0.02,
        text: undefined,
        start: undefined,
        end: undefined,
      },
    );
    const d = v.segments[1]!;
    assert.equal(d.seek, Math.round(x.segments[1]!.start * 100));
    assert.deepEqual(d.tokens, []);
    assert.equal(d.temperature, 0);
    assert.equal(d.no_speech_prob, 0);
    // Derived from word probabilities: mean log-probability.
    const ps = x.segments[1]!.words.map((w) => Math.log(w.probability));
    assert.ok(Math.abs(d.avg_logprob - ps.reduce((a, b) => a + b, 0) / ps.length) < 1e-9);
    // The segment without words has no probabilities to average.
    assert.equal(v.segments[6]!.avg_logprob, 0);
  });

  test('languageName maps ISO codes to OpenAI names; indent 0 is compact', () => {
    assert.equal(toVerboseJson(t, { languageName: true }).language, 'english');
    assert.equal(toVerboseJson({ ...t, language: 'pt-BR' }, { languageName: true }).language, 'portuguese');
    assert.equal(toVerboseJson({ ...t, language: 'xx' }, { languageName: true }).language, 'xx');
    assert.equal(toVerboseJson({ ...t, language: 'de' }).language, 'de');
    assert.equal(toVerboseJson({ ...t, task: 'translate' }).task, 'translate');
    assert.equal(toJson(t, { indent: 0 }).trimEnd().split('\n').length, 1);
  });

  test('repetitive text has a higher compression ratio (hallucination signal preserved)', () => {
    const rep = toVerboseJson(speak([{ text: 'thank you '.repeat(30).trim() }, { text: 'The quick brown fox jumps over the lazy dog.' }]));
    assert.ok(rep.segments[0]!.compression_ratio > 2.4 && rep.segments[1]!.compression_ratio < 2);
  });
});

describe('DOCX', () => {
  /** Visible text of WordprocessingML, run by run. */
  const runs = (xml: string): string[] =>
    [...xml.matchAll(/<w:t(?:\s[^>]*)?>([^<]*)<\/w:t>/g)].map((m) => decodeEntities(m[1]!).replaceAll('&quot;', '"').replaceAll('&apos;', "'"));

  test('unzips to a WordprocessingML document with title, metadata and every word in order', async () => {
    const buf = await toDocx(t);
    assert.ok(Buffer.isBuffer(buf));
    assert.equal(buf.subarray(0, 2).toString('latin1'), 'PK');
    const files = unzipSync(new Uint8Array(buf));
    assert.ok(files['[Content_Types].xml'] && files['word/document.xml']);
    const xml = strFromU8(files['word/document.xml']!);
    assert.match(xml, /<w:document[\s>]/);
    assert.match(xml, /<w:body>/);
    const text = runs(xml).join('');
    assert.ok(text.startsWith('Riverside Garden Meeting'));
    for (const s of [
      'Source: media/Riverside Garden Meeting.mp4',
      'Duration: 00:01:00',
      'Language: English (en)',
      `[${formatClock(t.segments[5]!.start)}] The soil report`,
    ]) {
      assert.ok(text.includes(s), s);
    }
    let pos = 0;
    for (const w of words) {
      const at = text.indexOf(w, pos);
      assert.ok(at >= 0, `word "${w}" missing or out of order`);
      pos = at + w.length;
    }
    // Three paragraphs of speech (plus title, metadata and a spacer).
    assert.equal((xml.match(/\[\d\d:\d\d:\d\d\] /g) ?? []).length, 3);
  });

  test('XML-special characters survive, control characters are dropped, timestamps can be turned off', async () => {
    const x = tricky();
    x.segments[1]!.text += ' bell\u0007.';
    const xml = strFromU8(unzipSync(new Uint8Array(await toDocx(x, { timestamps: false, title: 'Draft' })))['word/document.xml']!);
    const text = runs(xml).join('');
    assert.ok(text.includes('R&D said <b>bold</b>') && text.includes('notes & <draft>.wav') && text.startsWith('Draft'));
    assert.ok(!xml.includes('\u0007') && text.includes('bell.'));
    assert.ok(!/\[\d\d:\d\d:\d\d\]/.test(text));
  });
});

describe('exportTranscript', () => {
  test("every format resolves to a Buffer with that format's content", async () => {
    assert.deepEqual([...EXPORT_FORMATS].sort(), ['docx', 'json', 'md', 'srt', 'txt', 'vtt']);
    const expected: Record<string, string> = { txt: toTxt(t), srt: toSrt(t), vtt: toVtt(t), json: toJson(t), md: toMarkdown(t) };
    for (const f of EXPORT_FORMATS) {
      const out = await exportTranscript(t, f);
      assert.ok(Buffer.isBuffer(out), f);
      assert.ok(EXPORT_CONTENT_TYPES[f]);
      if (f === 'docx') assert.ok(unzipSync(new Uint8Array(out))['word/document.xml']);
      else assert.equal(out.toString('utf8'), expected[f]);
    }
  });

  test('options reach the exporters', async () => {
    // One options bag for every format: keys meant for other exporters must be ignored, not rejected.
    const srt = (await exportTranscript(t, 'srt', { maxLineChars: 28, timestamps: true, title: 'x', languageName: true })).toString('utf8');
    assertCueRules(parseSubtitles(srt), words, { maxLineChars: 28, mediaEnd: t.duration });
    assert.equal(JSON.parse((await exportTranscript(t, 'json', { languageName: true })).toString('utf8')).language, 'english');
    assert.match((await exportTranscript(t, 'txt', { timestamps: true })).toString('utf8'), /^\[00:00:00\] Good/);
  });

  test('isExportFormat and unsupported formats', async () => {
    assert.ok(EXPORT_FORMATS.every(isExportFormat));
    for (const bad of ['pdf', 'SRT', '', undefined, 3]) assert.equal(isExportFormat(bad), false);
    await assert.rejects(exportTranscript(t, 'pdf' as never), (e: unknown) => isVidscribeError(e, ErrorCode.UnsupportedFormat));
  });
});
