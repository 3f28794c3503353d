/** Issue 13: requests for who said what become a transcription with speaker diarization. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseRequest, type Intent } from './intent.ts';
import { CHINESE as chinese, ENGLISH as english } from './replies.ts';
import { validateIntents } from './validate.ts';

const speakers = (extra: Partial<Extract<Intent, { kind: 'transcribe' }>> = {}): Intent => ({
  kind: 'transcribe',
  format: 'txt',
  timestamps: false,
  diarize: true,
  ...extra,
});

const CASES: [string, Intent[]][] = [
  ['who said what?', [speakers()]],
  ['Who said what in this interview', [speakers()]],
  ['label the speakers', [speakers()]],
  ['identify the speakers please', [speakers()]],
  ['transcribe with speaker labels', [speakers()]],
  ['transcribe it and tell me who is speaking', [speakers()]],
  ['a Word document with speaker names and timestamps', [speakers({ format: 'docx', timestamps: true })]],
  ['SRT with the speakers labelled by speaker', [speakers({ format: 'srt' })]],
  ['diarize this recording', [speakers()]],
  ['区分说话人', [speakers()]],
  ['谁说了什么', [speakers()]],
  ['把采访转写成文字，区分不同说话人', [speakers()]],
  ['转写并标注说话人，带时间戳', [speakers({ timestamps: true })]],
  ['add captions with speaker names', [{ kind: 'captions', speakers: true }]],
  ['加字幕，区分说话人', [{ kind: 'captions', speakers: true }]],
];

describe('speaker diarization requests', () => {
  for (const [message, intents] of CASES) {
    it(message, () => assert.deepEqual(parseRequest(message), { intents, unknown: false }));
  }

  it('the intents pass validation (the schema the planner is held to as well)', () => {
    const ctx = { media: [{ name: 'interview.mp4', kind: 'video' as const }], hasDraft: true };
    for (const [message, intents] of CASES) assert.deepEqual(validateIntents(parseRequest(message).intents, ctx), { ok: true, intents }, message);
    assert.equal(validateIntents([{ kind: 'transcribe', format: 'txt', timestamps: false, diarize: 'yes' }], ctx).ok, false);
  });

  it('plain requests do not ask for speakers', () => {
    for (const message of ['transcribe the spoken dialogue into a text document', '转写成文字', 'add captions', 'the speaker is loud, transcribe it']) {
      const parsed = parseRequest(message);
      assert.ok(
        parsed.intents.every((i) => !('diarize' in i) && !('speakers' in i)),
        `${message}: ${JSON.stringify(parsed.intents)}`,
      );
    }
  });

  it('the reply counts the speakers when there are some', () => {
    assert.match(english.transcribed('talk.mp4', 'talk.txt', 120, 2, 'http://x/f', 'Speaker 1: Hi.', 2), /\(120 words, 2 speakers, 2 credits\)/);
    assert.match(english.transcribed('talk.mp4', 'talk.txt', 120, 2, 'http://x/f', 'Hi.'), /\(120 words, 2 credits\)/);
    assert.match(chinese.transcribed('talk.mp4', 'talk.txt', 120, 2, 'http://x/f', 'Hi.', 3), /120 词，3 位说话人，2 积分/);
  });
});
