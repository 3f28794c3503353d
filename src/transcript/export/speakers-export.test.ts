/** Every exporter on a diarized transcript, read back with the same independent parsers as export.test.ts. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSync, type NodeCue } from 'subtitle';
import webvtt from 'webvtt-parser';
import { strFromU8, unzipSync } from 'fflate';
import { buildCues, DEFAULT_CUE_OPTIONS, VERTICAL_CUE_OPTIONS } from '../cues.ts';
import { assignSpeakers, renameSpeakers } from '../speakers.ts';
import { assertCueRules, speak, spokenWords, type PlainCue } from '../test-fixtures.ts';
import type { Transcript } from '../types.ts';
import { toDocx, toJson, toMarkdown, toSrt, toTxt, toVtt } from './index.ts';

const { WebVTTParser } = webvtt;
const decodeEntities = (s: string): string => s.replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&amp;', '&');

/** An interview: host and guest alternate; the guest's long answer and the host's "Right." share one Whisper segment. */
function interview(): Transcript {
  const t = speak(
    [
      { text: 'Welcome to the show. Can you tell us how the project began?', pauseAfter: 0.4 },
      { text: 'Sure. It began in a flooded basement, with three volunteers and one pump that barely worked at all.', pauseAfter: 0.2 },
      { text: 'And then what happened next?', pauseAfter: 0.5 },
      { text: 'Then the whole town came to help, which nobody expected. Right. So what did you learn?', pauseAfter: 0.3 },
      { text: 'That people show up when you ask them plainly.' },
    ],
    { source: 'interview.wav', seed: 11 },
  );
  const seg3 = t.segments[3]!;
  const right = seg3.words.findIndex((w) => w.word === ' Right.');
  const turns = [
    { start: 0, end: t.segments[0]!.end + 0.2, speaker: 4 },
    { start: t.segments[1]!.start - 0.2, end: t.segments[1]!.end + 0.1, speaker: 1 },
    { start: t.segments[2]!.start - 0.2, end: t.segments[2]!.end + 0.2, speaker: 4 },
    { start: seg3.start - 0.2, end: seg3.words[right - 1]!.end + 0.05, speaker: 1 },
    { start: seg3.words[right]!.start - 0.05, end: seg3.end + 0.1, speaker: 4 },
    { start: t.segments[4]!.start - 0.1, end: t.duration, speaker: 1 },
  ];
  return assignSpeakers(t, turns);
}

const HOST = 'Ana <host> & "co"';
const GUEST = 'Ben --> B';
const named = (): Transcript => renameSpeakers(interview(), [HOST, GUEST]);

/** Speaker id of every spoken word, in order. */
const wordSpeakers = (t: Transcript): number[] => t.segments.flatMap((s) => s.words.map((w) => w.speaker!));

function parseSubtitles(text: string): PlainCue[] {
  return parseSync(text)
    .filter((n): n is NodeCue => n.type === 'cue')
    .map((n) => ({ start: n.data.start / 1000, end: n.data.end / 1000, lines: n.data.text.split('\n').map(decodeEntities) }));
}

describe('a diarized interview', () => {
  test('has two speakers, and the shared segment was split', () => {
    const t = interview();
    assert.deepEqual(
      t.speakers!.map((s) => s.name),
      ['Speaker 1', 'Speaker 2'],
    );
    assert.deepEqual(
      t.segments.map((s) => s.speaker),
      [0, 1, 0, 1, 0, 1],
    );
    assert.equal(t.segments[4]!.text, ' Right. So what did you learn?');
  });
});

describe('SRT with speakers', () => {
  for (const [label, opts] of [
    ['landscape', {}],
    ['vertical', VERTICAL_CUE_OPTIONS],
  ] as const) {
    test(`${label}: "[Name] " opens the first cue after each change of speaker, and no cue holds two speakers`, () => {
      const t = named();
      const cues = parseSubtitles(toSrt(t, opts));
      const speakers = wordSpeakers(t);
      const names = [HOST, GUEST].map((n) => n.replaceAll('-->', '→'));
      const stripped: PlainCue[] = [];
      let k = 0;
      let prev: number | undefined;
      for (const c of cues) {
        const nWords = (first: string[]) => first.join(' ').split(' ').length;
        const who = speakers[k]!;
        const prefix = `[${names[who]}] `;
        const lines = [...c.lines];
        if (who !== prev) {
          assert.ok(lines[0]!.startsWith(prefix), `cue ${JSON.stringify(c.lines)} should start with ${prefix}`);
          lines[0] = lines[0]!.slice(prefix.length);
        } else {
          assert.ok(!lines[0]!.startsWith('['), `cue ${JSON.stringify(c.lines)} repeats the name`);
        }
        // Lines with the prefix still fit the line length.
        const max = ('maxLineChars' in opts ? opts.maxLineChars : undefined) ?? DEFAULT_CUE_OPTIONS.maxLineChars;
        for (const l of c.lines) assert.ok(Array.from(l).length <= max, `line "${l}" longer than ${max}`);
        const n = nWords(lines);
        assert.deepEqual(new Set(speakers.slice(k, k + n)), new Set([who]), `cue ${JSON.stringify(c.lines)} mixes speakers`);
        k += n;
        prev = who;
        stripped.push({ ...c, lines });
      }
      assertCueRules(stripped, spokenWords(t), { ...opts, mediaEnd: t.duration });
    });
  }

  test('cues carry their speaker, and a prefix stays with its first word even on narrow lines', () => {
    const t = interview();
    for (const maxLineChars of [12, 20, 42]) {
      const cues = buildCues(t, { maxLineChars, speakerPrefix: true });
      assert.ok(cues.every((c) => c.speaker && c.speaker.name === `Speaker ${c.speaker.id + 1}`));
      for (const c of cues)
        assert.ok(
          c.lines.every((l) => !/\[Speaker \d\]$/.test(l)),
          JSON.stringify(c.lines),
        );
      assert.equal(cues.filter((c) => c.lines[0]!.startsWith('[Speaker ')).length, 6);
    }
  });
});

describe('WebVTT with speakers', () => {
  test('every cue opens with a <v Name> voice span, escaped, and the W3C parser reads it without errors', () => {
    const t = named();
    const vtt = toVtt(t);
    const w3c = new WebVTTParser().parse(vtt, 'metadata');
    assert.deepEqual(w3c.errors, []);
    const cues = buildCues(t);
    assert.equal(w3c.cues.length, cues.length);
    w3c.cues.forEach((c, i) => {
      const tree = (c as unknown as { tree: { children: { name?: string; value?: string }[] } }).tree;
      const v = tree.children[0]!;
      assert.equal(v.name, 'v');
      assert.equal(decodeEntities(v.value!), cues[i]!.speaker!.name.replaceAll('-->', '→'));
    });
    assert.ok(vtt.includes('<v Ana &lt;host&gt; &amp; "co">'));
    // `subtitle` reads the same cues; with the voice tags removed, every word is there once, in order.
    const plain = parseSubtitles(vtt.replace(/^<v [^>\n]*>/gm, ''));
    assertCueRules(plain, spokenWords(t), { mediaEnd: t.duration });
  });
});

describe('TXT and Markdown with speakers', () => {
  test('TXT: one "Name: " paragraph per turn, every word under its speaker', () => {
    const t = renameSpeakers(interview(), ['Ana', 'Ben']);
    const paragraphs = toTxt(t).trimEnd().split('\n\n');
    assert.deepEqual(
      paragraphs.map((p) => p.split(': ')[0]),
      ['Ana', 'Ben', 'Ana', 'Ben', 'Ana', 'Ben'],
    );
    assert.equal(paragraphs[4], 'Ana: Right. So what did you learn?');
    const stamped = toTxt(t, { timestamps: true, header: true }).split('\n\n');
    assert.match(stamped[2]!, /^\[00:00:0\d\] Ben: Sure\. It began/);
  });

  test('Markdown: the name in bold, escaped, after the timestamp', () => {
    const md = toMarkdown(named());
    const paragraphs = md.trimEnd().split('\n\n').slice(2);
    assert.equal(paragraphs.length, 6);
    assert.match(paragraphs[0]!, /^\*\*\[00:00:00\]\*\* \*\*Ana \\<host\\> & "co":\*\* Welcome to the show\./);
    assert.match(paragraphs[1]!, /^\*\*\[\d\d:\d\d:\d\d\]\*\* \*\*Ben --\\> B:\*\* Sure\./);
    assert.match(toMarkdown(named(), { timestamps: false }), /\n\n\*\*Ana \\<host\\> & "co":\*\* Welcome/);
  });
});

describe('DOCX with speakers', () => {
  test("each paragraph starts with the speaker's name in a bold run", async () => {
    const xml = strFromU8(unzipSync(new Uint8Array(await toDocx(named())))['word/document.xml']!);
    const paragraphs = [...xml.matchAll(/<w:p>([\s\S]*?)<\/w:p>/g)].map((m) => m[1]!).filter((p) => /\[\d\d:\d\d:\d\d\]/.test(p));
    assert.equal(paragraphs.length, 6);
    const expected = [HOST, GUEST, HOST, GUEST, HOST, GUEST];
    paragraphs.forEach((p, i) => {
      const runs = [...p.matchAll(/<w:r>([\s\S]*?)<\/w:r>/g)].map((m) => m[1]!);
      const nameRun = runs[1]!;
      assert.match(nameRun, /<w:b\/>/, 'name run is bold');
      const text = decodeEntities(/<w:t[^>]*>([^<]*)<\/w:t>/.exec(nameRun)![1]!).replaceAll('&quot;', '"');
      assert.equal(text, `${expected[i]}: `);
      assert.doesNotMatch(runs[2]!, /<w:b\/>/, 'spoken text is not bold');
    });
  });
});

describe('verbose_json with speakers', () => {
  test('segments and words carry the speaker name', () => {
    const t = renameSpeakers(interview(), ['Ana', 'Ben']);
    const json = JSON.parse(toJson(t)) as { segments: { speaker: string; text: string }[]; words: { word: string; speaker: string }[] };
    assert.deepEqual(
      json.segments.map((s) => s.speaker),
      ['Ana', 'Ben', 'Ana', 'Ben', 'Ana', 'Ben'],
    );
    assert.equal(json.words.length, spokenWords(t).length);
    assert.deepEqual(
      json.words.map((w) => w.speaker),
      wordSpeakers(t).map((id) => ['Ana', 'Ben'][id]),
    );
    assert.equal(json.words.find((w) => w.word === 'Right.')!.speaker, 'Ana');
  });
});
