import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bestAssignment, diarizationErrorRate, parseRttm, type Turn } from './der.ts';

const near = (actual: number, expected: number, what: string) => assert.ok(Math.abs(actual - expected) < 1e-6, `${what}: ${actual} ≠ ${expected}`);

describe('diarization error rate', () => {
  const reference: Turn[] = [
    { start: 0, end: 10, speaker: 'A' },
    { start: 10, end: 20, speaker: 'B' },
  ];

  test('a perfect answer with other labels scores 0, whatever the labels are', () => {
    const r = diarizationErrorRate(reference, [
      { start: 0, end: 10, speaker: 1 },
      { start: 10, end: 20, speaker: 0 },
    ]);
    near(r.der, 0, 'der');
    assert.deepEqual(
      [...r.mapping],
      [
        ['1', 'A'],
        ['0', 'B'],
      ],
    );
  });

  test('without a collar: one speaker for everything confuses half the speech', () => {
    const r = diarizationErrorRate(reference, [{ start: 0, end: 20, speaker: 'x' }], 0);
    near(r.scored, 20, 'scored');
    near(r.confusion, 10, 'confusion');
    near(r.der, 0.5, 'der');
  });

  test('missed speech and false alarm, by hand; the collar removes 0.25 s either side of every reference boundary', () => {
    // Reference speech 0–10 (A) and 10–20 (B). System: A heard only from 2 s, B until 22 s.
    const hyp: Turn[] = [
      { start: 2, end: 10, speaker: 'a' },
      { start: 10, end: 22, speaker: 'b' },
    ];
    const noCollar = diarizationErrorRate(reference, hyp, 0);
    near(noCollar.missed, 2, 'missed');
    near(noCollar.falseAlarm, 2, 'false alarm');
    near(noCollar.der, 4 / 20, 'der');
    // Collars: [−0.25, 0.25], [9.75, 10.25] (twice), [19.75, 20.25]: scored reference speech is
    // 20 − 0.25 − 0.5 − 0.25 = 19 s; the miss 0.25–2 = 1.75 s, the false alarm 20.25–22 = 1.75 s.
    const collar = diarizationErrorRate(reference, hyp, 0.25);
    near(collar.scored, 19, 'scored');
    near(collar.missed, 1.75, 'missed');
    near(collar.falseAlarm, 1.75, 'false alarm');
    near(collar.der, 3.5 / 19, 'der');
  });

  test('a boundary placed 0.2 s late costs nothing with the 0.25 s collar, 0.2 s without', () => {
    const hyp: Turn[] = [
      { start: 0, end: 10.2, speaker: 1 },
      { start: 10.2, end: 20, speaker: 2 },
    ];
    near(diarizationErrorRate(reference, hyp).der, 0, 'with collar');
    near(diarizationErrorRate(reference, hyp, 0).confusion, 0.2, 'without collar');
  });

  test('overlapping reference speech: one system speaker there misses the other voice', () => {
    const ref: Turn[] = [
      { start: 0, end: 4, speaker: 'A' },
      { start: 2, end: 4, speaker: 'B' },
    ];
    const r = diarizationErrorRate(ref, [{ start: 0, end: 4, speaker: 1 }], 0);
    near(r.scored, 6, 'scored counts the overlap twice');
    near(r.missed, 2, 'missed');
    near(r.der, 2 / 6, 'der');
  });

  test('an extra system speaker maps to nobody: its time is confusion', () => {
    const r = diarizationErrorRate(
      [{ start: 0, end: 10, speaker: 'A' }],
      [
        { start: 0, end: 7, speaker: 1 },
        { start: 7, end: 10, speaker: 2 },
      ],
      0,
    );
    near(r.confusion, 3, 'confusion');
    assert.equal(r.mapping.get('1'), 'A');
    assert.equal(r.mapping.has('2'), false);
  });

  test('no speech anywhere is no error; speech invented over silence is all error', () => {
    near(diarizationErrorRate([], []).der, 0, 'empty');
    near(diarizationErrorRate([], [{ start: 0, end: 1, speaker: 1 }]).der, 1, 'invented');
  });

  test('bestAssignment takes the one-to-one mapping with most shared time, not the greedy first pick', () => {
    // Greedy would pair h0 with r0 (5) and leave h1 with r1 (0): 5. The best is h0→r1, h1→r0: 4 + 4.
    assert.deepEqual(
      bestAssignment([
        [5, 4],
        [4, 0],
      ]),
      [1, 0],
    );
  });

  test('parseRttm reads start, duration and speaker', () => {
    assert.deepEqual(parseRttm('SPEAKER sample 1 6.690 0.430 <NA> <NA> speaker90 <NA> <NA>\n\nSPEAKER sample 1 7.5 1 <NA> <NA> s2 <NA> <NA>\n'), [
      { start: 6.69, end: 6.69 + 0.43, speaker: 'speaker90' },
      { start: 7.5, end: 8.5, speaker: 's2' },
    ]);
  });
});
