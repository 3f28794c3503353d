import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, isVidscribeError } from '../shared/errors.ts';
import {
  assignSpeakers,
  cleanSpeakerName,
  hasSpeakers,
  parseSpeakerNames,
  renameSpeakers,
  speakerCountHint,
  speakerName,
  type SpeakerTurn,
} from './speakers.ts';
import { meeting, speak } from './test-fixtures.ts';
import type { Transcript } from './types.ts';

/** Two words per segment, hand-timed so boundaries are exact. */
function tiny(): Transcript {
  return {
    language: 'en',
    duration: 5,
    segments: [
      {
        id: 0,
        start: 0,
        end: 2,
        text: ' Hello there. Hi!',
        avg_logprob: -0.2,
        no_speech_prob: 0.01,
        temperature: 0,
        compression_ratio: 1.1,
        seek: 0,
        tokens: [1, 2, 3],
        words: [
          { word: ' Hello', start: 0, end: 0.5, probability: 0.9 },
          { word: ' there.', start: 0.5, end: 1, probability: 0.9 },
          { word: ' Hi!', start: 1.2, end: 1.8, probability: 0.8 },
        ],
      },
      { id: 1, start: 2.5, end: 4, text: ' How are you?', words: [] },
    ],
  };
}

const rejects = (f: () => unknown, re: RegExp): void =>
  assert.throws(f, (e: unknown) => isVidscribeError(e, ErrorCode.BadRequest) && re.test((e as Error).message));

describe('assignSpeakers', () => {
  test('splits a segment at the speaker change, rebuilds text, keeps stats, renumbers ids', () => {
    const turns: SpeakerTurn[] = [
      { start: 0, end: 1.1, speaker: 7 },
      { start: 1.1, end: 3, speaker: 3 },
    ];
    const out = assignSpeakers(tiny(), turns);
    assert.deepEqual(
      out.segments.map((s) => [s.id, s.speaker, s.text, s.start, s.end]),
      [
        [0, 0, ' Hello there.', 0, 1],
        [1, 1, ' Hi!', 1.2, 2],
        [2, 1, ' How are you?', 2.5, 4],
      ],
    );
    // Diarizer labels 7 and 3 become Speaker 1 and 2 in order of first appearance.
    assert.deepEqual(out.speakers, [
      { id: 0, name: 'Speaker 1' },
      { id: 1, name: 'Speaker 2' },
    ]);
    assert.deepEqual(
      out.segments[0]!.words.map((w) => w.speaker),
      [0, 0],
    );
    for (const piece of out.segments.slice(0, 2)) {
      assert.equal(piece.avg_logprob, -0.2);
      assert.equal(piece.no_speech_prob, 0.01);
      assert.equal(piece.tokens, undefined, 'tokens of the whole segment do not belong to a piece');
    }
    // The input is not modified.
    assert.equal(tiny().segments.length, 2);
  });

  test('a word straddling a boundary goes to the turn it overlaps most; centred on it, to the turn starting there', () => {
    const t = tiny();
    // " there." is 0.5–1.0: 0.3 s in the first turn, 0.2 s in the second.
    assert.equal(
      assignSpeakers(t, [
        { start: 0, end: 0.8, speaker: 0 },
        { start: 0.8, end: 5, speaker: 1 },
      ]).segments[0]!.words[1]!.speaker,
      0,
    );
    // Boundary at 0.75, the word's midpoint: equal overlap, the later turn holds the midpoint.
    const centred = assignSpeakers(t, [
      { start: 0, end: 0.75, speaker: 0 },
      { start: 0.75, end: 5, speaker: 1 },
    ]);
    assert.deepEqual(
      centred.segments.flatMap((s) => s.words.map((w) => w.speaker)),
      [0, 1, 1],
    );
  });

  test('a zero-length word exactly on a boundary belongs to the turn that starts there', () => {
    const t: Transcript = {
      language: 'en',
      duration: 2,
      segments: [
        {
          id: 0,
          start: 0,
          end: 2,
          text: ' a b',
          words: [
            { word: ' a', start: 0.2, end: 0.6, probability: 1 },
            { word: ' b', start: 1, end: 1, probability: 1 },
          ],
        },
      ],
    };
    const out = assignSpeakers(t, [
      { start: 0, end: 1, speaker: 5 },
      { start: 1, end: 2, speaker: 6 },
    ]);
    assert.deepEqual(
      out.segments.map((s) => [s.speaker, s.text]),
      [
        [0, ' a'],
        [1, ' b'],
      ],
    );
  });

  test('a word in a gap between turns takes the nearest turn', () => {
    const out = assignSpeakers(tiny(), [
      { start: 0, end: 0.4, speaker: 1 },
      { start: 1.9, end: 2.1, speaker: 2 },
    ]);
    // " there." (0.5–1.0) is 0.1 s after the first turn; " Hi!" (1.2–1.8) is 0.1 s before the second.
    assert.deepEqual(
      out.segments.flatMap((s) => s.words.map((w) => w.speaker)),
      [0, 0, 1],
    );
    // The wordless segment (2.5–4) is after every turn: the last one.
    assert.equal(out.segments.at(-1)!.speaker, 1);
  });

  test('no turns: one speaker for everything', () => {
    const out = assignSpeakers(meeting(), []);
    assert.deepEqual(out.speakers, [{ id: 0, name: 'Speaker 1' }]);
    assert.equal(out.segments.length, meeting().segments.length);
    assert.ok(out.segments.every((s) => s.speaker === 0 && s.words.every((w) => w.speaker === 0)));
    assert.deepEqual(out.segments[0]!.tokens, meeting().segments[0]!.tokens);
  });

  test('one speaker: segments unchanged apart from the speaker', () => {
    const t = meeting();
    const out = assignSpeakers(t, [{ start: 0, end: t.duration, speaker: 4 }]);
    assert.deepEqual(out.speakers, [{ id: 0, name: 'Speaker 1' }]);
    assert.deepEqual(
      out.segments.map((s) => s.text),
      t.segments.map((s) => s.text),
    );
  });

  test('an empty transcript has no speakers', () => {
    const out = assignSpeakers({ language: 'en', duration: 0, segments: [] }, [{ start: 0, end: 1, speaker: 0 }]);
    assert.deepEqual(out.speakers, []);
    assert.equal(hasSpeakers(out), false);
  });

  test('alternating turns on a realistic transcript: every word gets the speaker of the turn holding it', () => {
    const t = speak(
      [
        { text: 'So tell me how it started.' },
        { text: 'It started with a flood in the basement of the old library.' },
        { text: 'And then?' },
        { text: 'Then we moved everything upstairs in one night.' },
      ],
      { seed: 3 },
    );
    const turns = t.segments.map((s, i) => ({ start: s.start - 0.1, end: s.end + 0.1, speaker: i % 2 === 0 ? 9 : 2 }));
    // A turn order the diarizer may give: not sorted.
    const out = assignSpeakers(t, [...turns].reverse());
    assert.deepEqual(
      out.segments.map((s) => s.speaker),
      [0, 1, 0, 1],
    );
    assert.equal(speakerName(out, 1), 'Speaker 2');
    // Speakers with a turn but no words are not listed.
    assert.equal(assignSpeakers(t, [...turns, { start: 100, end: 101, speaker: 42 }]).speakers!.length, 2);
  });

  test('two thousand alternating turns: three speakers, no segment lost', () => {
    const lines = Array.from({ length: 2000 }, (_, i) => ({ text: `line ${i} has a few more words in it.`, pauseAfter: 0.2 }));
    const t = speak(lines, { seed: 5 });
    const turns = t.segments.map((s, i) => ({ start: s.start, end: s.end + 0.2, speaker: i % 3 }));
    const out = assignSpeakers(t, turns);
    assert.equal(out.speakers!.length, 3);
    assert.equal(out.segments.length, 2000);
  });
});

describe('speaker names', () => {
  const diarized = (): Transcript =>
    assignSpeakers(tiny(), [
      { start: 0, end: 1.1, speaker: 0 },
      { start: 1.1, end: 5, speaker: 1 },
    ]);

  test('renames in order of first appearance; an empty entry keeps the name; extras are ignored', () => {
    const out = renameSpeakers(diarized(), ['  Ana ', 'Ben', 'Cy']);
    assert.deepEqual(out.speakers, [
      { id: 0, name: 'Ana' },
      { id: 1, name: 'Ben' },
    ]);
    assert.equal(speakerName(renameSpeakers(diarized(), ['', 'Ben']), 0), 'Speaker 1');
    assert.equal(speakerName(out, 1), 'Ben');
    // Unknown id: default name rather than a crash.
    assert.equal(speakerName(out, 5), 'Speaker 6');
  });

  test('renames by id', () => {
    const out = renameSpeakers(diarized(), { 1: 'Ben' });
    assert.deepEqual(
      out.speakers!.map((s) => s.name),
      ['Speaker 1', 'Ben'],
    );
    rejects(() => renameSpeakers(diarized(), { 7: 'X' }), /No speaker with id "7"/);
  });

  test('names are one line, trimmed, 1–64 characters', () => {
    assert.equal(cleanSpeakerName('Ana\nMaría\u0007 '), 'Ana María');
    assert.equal(cleanSpeakerName('李明'), '李明');
    assert.equal(cleanSpeakerName('é'.repeat(64)).length, 64);
    rejects(() => cleanSpeakerName('é'.repeat(65)), /at most 64 characters/);
    rejects(() => cleanSpeakerName(' \t\u0000 '), /cannot be empty/);
    rejects(() => cleanSpeakerName(42), /must be text/);
    rejects(() => renameSpeakers(diarized(), { 0: '\n' }), /cannot be empty/);
  });

  test('two speakers cannot share a name; a transcript without speakers cannot be renamed', () => {
    rejects(() => renameSpeakers(diarized(), ['Ana', 'ana']), /cannot both be named/);
    rejects(() => renameSpeakers(tiny(), ['Ana']), /no speakers to rename/);
  });
});

describe('speaker count hints and name lists', () => {
  test('whole numbers 1–16, from numbers or digit strings; absent means automatic', () => {
    assert.deepEqual(speakerCountHint({}), {});
    assert.deepEqual(speakerCountHint({ speakers: '2' }), { speakers: 2 });
    assert.deepEqual(speakerCountHint({ minSpeakers: 2, maxSpeakers: ' 16 ', speakers: '' }), { minSpeakers: 2, maxSpeakers: 16 });
    const flag = (k: string): string => `--${k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())}`;
    for (const bad of [0, 17, 2.5, -1, '3x', 'two', '1e1', true]) {
      rejects(() => speakerCountHint({ speakers: bad }, flag), /--speakers must be a whole number from 1 to 16/);
    }
    rejects(() => speakerCountHint({ speakers: 2, maxSpeakers: 3 }, flag), /either --speakers or --min-speakers\/--max-speakers/);
    rejects(() => speakerCountHint({ minSpeakers: 4, maxSpeakers: 3 }, flag), /--min-speakers \(4\) is more than --max-speakers \(3\)/);
  });

  test('name lists are comma-separated, cleaned, bounded', () => {
    assert.deepEqual(parseSpeakerNames(' Ana , Ben'), ['Ana', 'Ben']);
    assert.deepEqual(parseSpeakerNames(',Ben'), ['', 'Ben']);
    rejects(() => parseSpeakerNames(' , '), /No speaker names/);
    rejects(() => parseSpeakerNames(Array.from({ length: 17 }, (_, i) => `S${i}`).join(',')), /At most 16 speaker names/);
    rejects(() => parseSpeakerNames(`Ana,${'x'.repeat(65)}`), /at most 64 characters/);
  });
});
