import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isVidscribeError } from '../../shared/errors.ts';
import { MAX_PLAN_CALLS, planJsonSchema, planToIntents, TOOL_NAMES, unaskedPaidIntents, type PlanMedia } from './tools.ts';

const media: PlanMedia[] = [
  { id: 'm1', name: 'intro.mp4', kind: 'video' },
  { id: 'm2', name: 'song.mp3', kind: 'audio' },
  { id: 'm3', name: 'talk.mp4', kind: 'video' },
  { id: 'm4', name: 'logo.png', kind: 'image' },
];

/** The problems a refused plan lists, or [] when it was accepted. */
function problemsOf(raw: unknown): string[] {
  try {
    planToIntents(raw, media);
    return [];
  } catch (e) {
    assert.ok(isVidscribeError(e, 400), String(e));
    return e.data?.problems as string[];
  }
}

describe('planToIntents: tool calls become the parser’s intents', () => {
  test('every tool, with seconds turned into milliseconds and media ids into selectors', () => {
    const intents = planToIntents(
      {
        calls: [
          { tool: 'trim', args: { start_sec: 1.5, end_sec: 10 } },
          { tool: 'set_aspect', args: { aspect: '9:16' } },
          { tool: 'set_resolution', args: { resolution: '720p' } },
          { tool: 'add_title', args: { text: 'Hello', start_sec: 0, duration_sec: 2, position: 'top' } },
          { tool: 'add_background_music', args: { volume: 0.2, media_id: 'm2', fade_in_sec: 1 } },
          { tool: 'add_captions', args: { media_id: 'm3' } },
          { tool: 'transcribe_media', args: { format: 'srt', timestamps: false, language: 'es', translate_to: 'en' } },
          { tool: 'export_video', args: {} },
        ],
      },
      media,
    );
    assert.deepEqual(intents, [
      { kind: 'trim', startMs: 1500, endMs: 10000 },
      { kind: 'aspect', aspect: '9:16' },
      { kind: 'resolution', resolution: '720p' },
      { kind: 'title', text: 'Hello', startMs: 0, durationMs: 2000, position: 'top' },
      { kind: 'music', volume: 0.2, fadeInMs: 1000, media: { by: 'ordinal', index: 0, kind: 'audio' } },
      { kind: 'captions', media: { by: 'ordinal', index: 1, kind: 'video' } },
      { kind: 'transcribe', format: 'srt', timestamps: false, language: 'es', translateTo: 'en' },
      { kind: 'export' },
    ]);
    assert.deepEqual(
      planToIntents(
        [
          { tool: 'remove', args: { what: 'music' } },
          { tool: 'undo', args: { steps: 2 } },
          { tool: 'redo', args: { steps: 1 } },
          { tool: 'start_over', args: {} },
        ],
        media,
      ),
      [{ kind: 'remove', what: 'music' }, { kind: 'undo', steps: 2 }, { kind: 'redo', steps: 1 }, { kind: 'startOver' }],
    );
  });

  test('a bare array is a plan too; an empty one plans nothing', () => {
    assert.deepEqual(planToIntents([{ tool: 'set_aspect', args: { aspect: '1:1' } }], media), [{ kind: 'aspect', aspect: '1:1' }]);
    assert.deepEqual(planToIntents({ calls: [] }, media), []);
  });

  const refused: [string, unknown, RegExp][] = [
    ['an unknown tool', [{ tool: 'add_sparkles', args: {} }], /unknown tool "add_sparkles"/],
    ['an unknown argument', [{ tool: 'set_aspect', args: { aspect: '9:16', rotate: 90 } }], /rotate/],
    ['an aspect the parser cannot produce', [{ tool: 'set_aspect', args: { aspect: '4:5' } }], /aspect/],
    ['a resolution out of the list', [{ tool: 'set_resolution', args: { resolution: '4k' } }], /resolution/],
    ['a volume over 1', [{ tool: 'add_background_music', args: { volume: 5 } }], /volume/],
    ['a negative start', [{ tool: 'add_title', args: { text: 'Hi', start_sec: -1, duration_sec: 2 } }], /start_sec/],
    ['a zero-length title', [{ tool: 'add_title', args: { text: 'Hi', start_sec: 0, duration_sec: 0 } }], /duration_sec/],
    ['an empty title', [{ tool: 'add_title', args: { text: '  ', start_sec: 0, duration_sec: 2 } }], /text/],
    ['a trim that keeps nothing', [{ tool: 'trim', args: { start_sec: 5, end_sec: 2 } }], /keeps nothing/],
    ['a trim from 0 to the end', [{ tool: 'trim', args: { start_sec: 0 } }], /keeps nothing/],
    ['a format out of the list', [{ tool: 'transcribe_media', args: { format: 'pdf', timestamps: false } }], /format/],
    ['a media id not in the session', [{ tool: 'export_video', args: { media_id: 'm9' } }], /not a media item of this session/],
    ['music from a video', [{ tool: 'add_background_music', args: { volume: 0.3, media_id: 'm1' } }], /not audio/],
    ['captions on an image', [{ tool: 'add_captions', args: { media_id: 'm4' } }], /an image/],
    ['too many calls', Array.from({ length: MAX_PLAN_CALLS + 1 }, () => ({ tool: 'set_aspect', args: { aspect: '1:1' } })), /plan|10/],
    ['removing something that is not removable', [{ tool: 'remove', args: { what: 'video' } }], /what/],
    ['undoing 0 steps', [{ tool: 'undo', args: { steps: 0 } }], /steps/],
    ['undoing half a step', [{ tool: 'redo', args: { steps: 1.5 } }], /steps/],
    ['not a plan at all', { answer: 'make it vertical' }, /plan|calls/],
  ];
  for (const [what, raw, says] of refused) {
    test(`refused whole: ${what}`, () => {
      const problems = problemsOf(raw);
      assert.ok(problems.length > 0, 'refused');
      assert.match(problems.join('\n'), says);
    });
  }

  test('one bad call refuses the good ones with it', () => {
    const problems = problemsOf([
      { tool: 'set_aspect', args: { aspect: '9:16' } },
      { tool: 'add_sparkles', args: {} },
    ]);
    assert.equal(problems.length, 1);
  });
});

describe('unaskedPaidIntents: a plan may not spend credits the message does not ask for', () => {
  const cases: [message: string, kinds: ('transcribe' | 'captions' | 'export')[], unasked: string[]][] = [
    ['what does he say around the middle', ['transcribe'], ['transcribe']],
    ['could u transcirbe the talk pls', ['transcribe'], []],
    ['i need the words as an srt', ['transcribe'], []],
    ['把他说的整理成逐字稿', ['transcribe'], []],
    ['make the words show up at the bottom', ['captions'], ['captions']],
    ['stick subtitles on it', ['captions'], []],
    ['能不能加个字幕', ['captions'], []],
    ['make it nice', ['export'], ['export']],
    ['then spit out an mp4', ['export'], []],
    ['弄好了导出', ['export'], []],
  ];
  for (const [message, kinds, unasked] of cases) {
    test(`"${message}": ${unasked.length ? `refuses ${unasked.join()}` : 'allowed'}`, () => {
      const intents = kinds.map((kind) => (kind === 'transcribe' ? { kind, format: 'txt' as const, timestamps: false } : { kind }));
      assert.deepEqual(unaskedPaidIntents(intents, message), unasked);
    });
  }
  test('free edits never need words', () => {
    assert.deepEqual(
      unaskedPaidIntents(
        [
          { kind: 'aspect', aspect: '9:16' },
          { kind: 'title', text: 'Hi', startMs: 0, durationMs: 1000 },
        ],
        'whatever',
      ),
      [],
    );
  });
});

test('planJsonSchema: an object of at most 10 calls, one shape per tool, each naming its tool', () => {
  const schema = planJsonSchema() as any;
  assert.equal(schema.properties.calls.maxItems, MAX_PLAN_CALLS);
  const shapes = schema.properties.calls.items.anyOf;
  assert.deepEqual(
    shapes.map((s: any) => s.properties.tool.const),
    TOOL_NAMES,
  );
  const aspect = shapes.find((s: any) => s.properties.tool.const === 'set_aspect');
  assert.deepEqual(aspect.properties.args.properties.aspect.enum, ['16:9', '9:16', '1:1']);
  assert.equal(aspect.properties.args.additionalProperties, false);
  assert.ok(!JSON.stringify(schema).includes('$schema'));
});
