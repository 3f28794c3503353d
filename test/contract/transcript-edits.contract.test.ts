/**
 * The web app's storage rules on SQLite and on a real Postgres: the caller's sessions newest first
 * (bounded, nobody else's), and versioned transcript corrections (migration 004: a stale version
 * is refused with 4009, and of several edits racing on one version exactly one is stored).
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Accounts } from '../../src/accounts/accounts.ts';
import { CreditLedger, DEFAULT_PRICES } from '../../src/credits/ledger.ts';
import { Sessions } from '../../src/sessions/sessions.ts';
import { ErrorCode, isVidscribeError } from '../../src/shared/errors.ts';
import type { Transcript } from '../../src/transcript/index.ts';
import { backends } from './backends.ts';

const w = (word: string, start: number) => ({ word, start, end: start + 0.4, probability: 0.9 });
const transcript: Transcript = {
  language: 'en',
  duration: 2,
  segments: [{ id: 0, start: 0, end: 1.2, text: ' One two three', words: [w(' One', 0), w(' two', 0.4), w(' three', 0.8)] }],
};

for (const backend of backends()) {
  describe(`web app storage contract: ${backend.name}`, () => {
    after(() => backend.close());

    test("the caller's sessions, most recently changed first; bounded; nobody else's", async () => {
      const db = await backend.open();
      let clock = 1_000;
      const sessions = new Sessions(db, () => clock++);
      const accounts = new Accounts(db, new CreditLedger(), DEFAULT_PRICES);
      const a = await accounts.authenticate((await accounts.anonymousToken('client-a')).token);
      const b = await accounts.authenticate((await accounts.anonymousToken('client-b')).token);
      const first = await sessions.create(a.accountId, { agent: 'nemo_agent', taskName: 'first' });
      const second = await sessions.create(a.accountId, { agent: 'nemo_agent', taskName: 'second' });
      await sessions.create(b.accountId, { agent: 'nemo_agent', taskName: 'theirs' });
      const rec = await sessions.addTranscript({
        accountId: a.accountId,
        sessionId: first.id,
        mediaId: null,
        jobId: 'job_1',
        transcript,
        text: 'One two three',
      });
      assert.deepEqual(
        (await sessions.list(a.accountId)).map((s) => s.taskName),
        ['second', 'first'],
      );
      // An edit is a change: the edited session comes first.
      await sessions.editTranscript(first.id, rec.id, 1, { words: [{ segment: 0, index: 0, word: 'Won' }] });
      assert.deepEqual(
        (await sessions.list(a.accountId)).map((s) => s.id),
        [first.id, second.id],
      );
      assert.equal((await sessions.list(a.accountId, 1)).length, 1);
      assert.equal((await sessions.list(a.accountId, 10_000)).length, 2);
      assert.deepEqual(
        (await sessions.list(b.accountId)).map((s) => s.taskName),
        ['theirs'],
      );
    });

    test('versioned corrections: timings kept, text rebuilt, a stale version refused, one of several racing edits stored', async () => {
      const db = await backend.open();
      const sessions = new Sessions(db);
      const accounts = new Accounts(db, new CreditLedger(), DEFAULT_PRICES);
      const a = await accounts.authenticate((await accounts.anonymousToken('client-c')).token);
      const s = await sessions.create(a.accountId, { agent: 'nemo_agent' });
      const rec = await sessions.addTranscript({ accountId: a.accountId, sessionId: s.id, mediaId: null, jobId: 'job_2', transcript, text: 'One two three' });
      assert.equal((await sessions.transcripts(s.id))[0]!.version, 1);

      assert.equal(await sessions.editTranscript(s.id, rec.id, 1, { words: [{ segment: 0, index: 1, word: 'too' }] }), 2);
      const got = await sessions.transcript(s.id, rec.id);
      assert.ok(got);
      assert.equal(got.record.version, 2);
      assert.equal(got.record.text, 'One too three');
      assert.equal(got.transcript.segments[0]!.text, ' One too three');
      assert.deepEqual(
        got.transcript.segments[0]!.words.map((x) => [x.start, x.end]),
        transcript.segments[0]!.words.map((x) => [x.start, x.end]),
      );

      await assert.rejects(
        sessions.editTranscript(s.id, rec.id, 1, { words: [{ segment: 0, index: 2, word: 'tree' }] }),
        (e) => isVidscribeError(e) && e.code === ErrorCode.VersionConflict,
      );
      await assert.rejects(
        sessions.editTranscript(s.id, 'trn_missing', 2, { words: [{ segment: 0, index: 2, word: 'x' }] }),
        (e) => isVidscribeError(e) && e.code === ErrorCode.NotFound,
      );

      const race = await Promise.allSettled(
        Array.from({ length: 6 }, (_, i) => sessions.editTranscript(s.id, rec.id, 2, { words: [{ segment: 0, index: 2, word: `v${i}` }] })),
      );
      assert.equal(race.filter((r) => r.status === 'fulfilled').length, 1);
      for (const r of race) if (r.status === 'rejected') assert.equal((r.reason as { code: number }).code, ErrorCode.VersionConflict);
      const final = await sessions.transcript(s.id, rec.id);
      assert.equal(final?.record.version, 3);
      assert.match(final!.record.text, /^One too v\d$/);
    });
  });
}
