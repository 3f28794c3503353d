/**
 * validateIntents is the one gate for intents, from the parser or a planner: shapes checked
 * against the Intent type, and an export that would pick one of several videos on a guess turned
 * into a question.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AGENT_TABLE } from '../../test/api/agent-table.ts';
import { parseRequest } from './intent.ts';
import { MAX_INTENTS, validateIntents } from './validate.ts';

const one = { media: [{ name: 'clip.mp4', kind: 'video' as const }], hasDraft: true };
const two = { media: [one.media[0]!, { name: 'b.mp4', kind: 'video' as const }], hasDraft: false };

describe('validateIntents', () => {
  it("accepts everything the parser makes of the agent table's requests", () => {
    for (const row of AGENT_TABLE) {
      const r = validateIntents(parseRequest(row.say).intents, one);
      assert.ok(r.ok, `${row.say}: ${JSON.stringify(r)}`);
    }
  });

  it('refuses what is not an Intent, naming the field', () => {
    const bad: [unknown, RegExp][] = [
      [[{ kind: 'delete_everything' }], /kind/],
      [[{ kind: 'aspect', aspect: '4:3' }], /aspect/],
      [[{ kind: 'undo', steps: 0 }], /steps/],
      [[{ kind: 'remove', what: 'video' }], /what/],
      [[{ kind: 'captions', media: { by: 'name', name: 'a.mp4' }, extra: 1 }], /extra|Unrecognized/i],
      [[{ kind: 'trim', startMs: 5000, endMs: 1000 }], /end must come after the start/],
      ['not a list', /intents|array/i],
      [Array.from({ length: MAX_INTENTS + 1 }, () => ({ kind: 'undo', steps: 1 })), /intents/],
    ];
    for (const [intents, why] of bad) {
      const r = validateIntents(intents, one);
      assert.equal(r.ok, false, JSON.stringify(intents).slice(0, 80));
      assert.ok('problems' in r);
      assert.match(r.problems.join(' '), why);
    }
  });

  it('an export with several videos, no draft and no choice is a question, not a pick', () => {
    assert.deepEqual(validateIntents([{ kind: 'export' }], two), { ok: false, question: 'whichVideo' });
    assert.ok(validateIntents([{ kind: 'export', media: { by: 'ordinal', index: 1, kind: 'video' } }], two).ok);
    assert.ok(validateIntents([{ kind: 'export' }], { ...two, hasDraft: true }).ok);
    assert.ok(validateIntents([{ kind: 'export' }], one).ok);
  });
});
