/**
 * Issue 9, parts 3 and 4: the agent takes things away, undoes, and never spends credits on a
 * guess. Every row of the agent table (test/api/agent-table.ts) runs over real HTTP and SSE on a
 * real server, in a session of its own: the messages before it, then the message under test, and
 * for that message the tool calls made (functionCall names), the credits spent (the ledger's total
 * before and after), the draft left (as stored, byte for byte where undo and redo promise it) and
 * the reply. Most sessions hold media whose transcript is already stored, so only the rows marked
 * `model` run the real speech model.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Draft } from '../../src/render/index.ts';
import { Sessions, type MediaItem } from '../../src/sessions/sessions.ts';
import type { Transcript } from '../../src/transcript/index.ts';
import { LIBRI_61, makeMusic, makeSpeechMp4, tempDir } from '../helpers/media.ts';
import { form, newUser, runSse, startServer, type Api, type TestServer } from '../helpers/server.ts';
import { AGENT_TABLE, type AgentRow, type Setup } from './agent-table.ts';

const calls = (events: any[]) => events.flatMap((e) => e.content.parts.filter((p: any) => p.functionCall).map((p: any) => p.functionCall.name as string));
const finalText = (events: any[]): string => {
  const last = events.at(-1);
  assert.ok(
    last && !last.partial && last.content.parts.some((p: any) => typeof p.text === 'string' && p.text.length > 0),
    'every request ends with a text reply',
  );
  return last.content.parts.map((p: any) => p.text).join('');
};
const hasHan = (s: string) => /\p{Script=Han}/u.test(s);

describe('the agent table: adding, taking away, undo, and questions instead of guesses', () => {
  let srv: TestServer;
  let user: { api: Api; accountId: string };
  const sources: Record<'video' | 'second' | 'song', MediaItem> = {} as never;
  const transcript = (durationSec: number): Transcript => ({
    language: 'en',
    duration: durationSec,
    segments: [
      { id: 0, start: 0, end: durationSec / 2, text: 'He began a confused complaint', words: [] },
      { id: 1, start: durationSec / 2, end: durationSec - 0.1, text: 'against the wizard who had vanished.', words: [] },
    ],
  });

  before(async () => {
    srv = await startServer({ asrSlots: 1, renderSlots: 1 });
    const u = await newUser(srv.url);
    user = u;
    const dir = tempDir('vidscribe-agent-table-');
    const video = makeSpeechMp4(LIBRI_61.file, join(dir, 'clip.mp4'));
    const song = makeMusic(join(dir, 'song.mp3'), 8);
    const up = await u.api.call(
      'POST',
      `/api/upload-video/nemo_agent/me/${u.sessionId}`,
      form([
        { name: 'clip.mp4', body: readFileSync(video) },
        { name: 'second.mp4', body: readFileSync(video) },
        { name: 'song.mp3', body: readFileSync(song) },
      ]),
    );
    assert.equal(up.body.code, 0, JSON.stringify(up.body));
    const media = await srv.svc.sessions.media(u.sessionId);
    sources.video = media.find((m) => m.name === 'clip.mp4')!;
    sources.second = media.find((m) => m.name === 'second.mp4')!;
    sources.song = media.find((m) => m.name === 'song.mp3')!;
  });
  after(() => srv?.close());

  /** A session of its own for a row, holding the setup's media (the stored uploads, no new probe). */
  async function sessionFor(setup: Setup): Promise<string> {
    const s = await user.api.call('POST', '/api/tasks/me/with-session/nemo_agent', { task_name: 'table', language: 'en' });
    const session = await srv.svc.sessions.get(user.accountId, s.body.data.session_id);
    const add = (m: MediaItem) =>
      srv.svc.sessions.addMedia(session, { name: m.name, kind: m.kind, storeKey: m.storeKey, sizeBytes: m.sizeBytes, info: { ...m.info, path: m.name } });
    const video = await add(sources.video);
    if (setup === 'two videos') await add(sources.second);
    if (setup === 'video+song') await add(sources.song);
    if (setup !== 'untranscribed video' && setup !== 'two videos') {
      const t = transcript(video.durationSec);
      await srv.svc.sessions.addTranscript({
        accountId: user.accountId,
        sessionId: session.id,
        mediaId: video.id,
        jobId: `fixture-${video.id}`,
        transcript: t,
        text: t.segments.map((x) => x.text).join(' '),
      });
    }
    return session.id;
  }

  const storedDraft = async (sid: string) => (await srv.svc.db.selectFrom('sessions').select('draft').where('id', '=', sid).executeTakeFirstOrThrow()).draft;
  const creditsTotal = async () => (await user.api.call('GET', '/api/credits/balance/simple')).body.data.total as number;

  const runRow = async (row: AgentRow) => {
    const sid = await sessionFor(row.setup);
    const snapshots: (string | null)[] = [];
    for (const msg of row.before ?? []) {
      finalText((await runSse(srv.url, user.api.token!, sid, msg)).events);
      snapshots.push(await storedDraft(sid));
    }
    const draftBefore = await storedDraft(sid);
    const versionsBefore = (await srv.svc.sessions.draftHistory(sid)).versions;
    const creditsBefore = await creditsTotal();

    const sse = await runSse(srv.url, user.api.token!, sid, row.say);
    assert.equal(sse.status, 200);
    const reply = finalText(sse.events);
    const made = calls(sse.events);
    const spent = creditsBefore - (await creditsTotal());
    const raw = await storedDraft(sid);
    const history = await srv.svc.sessions.draftHistory(sid);
    const why = `${JSON.stringify(row.say)} → calls ${JSON.stringify(made)}, reply: ${reply}`;

    assert.deepEqual(made, row.calls, why);
    assert.equal(spent, row.credits, `credits spent: ${why}`);
    if (row.question) {
      assert.deepEqual(made, [], 'a question makes no tool call');
      assert.equal(spent, 0, 'a question costs nothing');
      assert.equal(raw, draftBefore, 'a question leaves the draft as it was');
      assert.equal(history.versions, versionsBefore);
      assert.match(reply, /[?？]/, why);
    }
    if (row.reply) assert.match(reply, row.reply, why);
    // Replies in the user's language: Chinese for a message with Chinese in it, else English.
    assert.equal(hasHan(reply), hasHan(row.say), `reply language: ${why}`);
    if (row.credits > 0) assert.match(reply, /This used \d+ credits?; \d+ left\.|本次用了 \d+ 积分，还剩 \d+/, why);

    // The state endpoint shows the stored draft.
    const state = await user.api.call('GET', `/api/state/nemo_agent/me/${sid}/latest`);
    assert.deepEqual(state.body.data.draft, raw === null ? null : JSON.parse(raw));

    const want = row.draft;
    if (!want) return;
    if (want.none) assert.equal(raw, null, why);
    if (want.sameAsAfter !== undefined)
      assert.equal(raw, snapshots[want.sameAsAfter], `byte for byte the draft after ${JSON.stringify(row.before?.[want.sameAsAfter])}: ${why}`);
    if (want.versions !== undefined) assert.equal(history.versions, want.versions, `versions kept: ${why}`);
    if (raw === null) return;
    const d = JSON.parse(raw) as Draft;
    const texts = d.t.filter((t) => t.tt === 7).flatMap((t) => t.sg) as { m: { kind?: string } }[];
    if (want.captions !== undefined)
      assert.equal(
        texts.some((s) => s.m.kind === 'caption'),
        want.captions,
        `captions: ${why}`,
      );
    if (want.titles !== undefined) assert.equal(texts.filter((s) => s.m.kind === 'title').length, want.titles, `titles: ${why}`);
    if (want.music !== undefined)
      assert.equal(
        d.t.some((t) => t.tt === 1 && t.sg.length > 0),
        want.music,
        `music: ${why}`,
      );
    if (want.aspect !== undefined) assert.equal(d.w > d.h ? '16:9' : d.w < d.h ? '9:16' : '1:1', want.aspect, `aspect: ${why}`);
  };

  test('the table has at least 60 rows, English and Chinese, adding, removing, history and questions', () => {
    assert.ok(AGENT_TABLE.length >= 60);
    assert.ok(AGENT_TABLE.filter((r) => hasHan(r.say)).length >= 15);
    assert.ok(AGENT_TABLE.filter((r) => r.calls.some((c) => c.startsWith('remove_'))).length >= 10);
    assert.ok(AGENT_TABLE.filter((r) => r.calls.some((c) => ['undo', 'redo', 'start_over'].includes(c))).length >= 10);
    assert.ok(AGENT_TABLE.filter((r) => r.question).length >= 10);
  });

  AGENT_TABLE.forEach((row, i) => {
    test(`#${i + 1} ${JSON.stringify(row.say)}${row.before?.length ? ` after ${JSON.stringify(row.before)}` : ''} (${row.setup})`, () => runRow(row));
  });

  test('undo restores the previous version byte for byte; a new edit after undo drops the redo branch', async () => {
    const sid = await sessionFor('video');
    const say = async (m: string) => finalText((await runSse(srv.url, user.api.token!, sid, m)).events);
    await say('add captions');
    const captioned = await storedDraft(sid);
    await say('make it vertical');
    const vertical = await storedDraft(sid);
    await say('undo');
    assert.equal(await storedDraft(sid), captioned);
    await say('redo');
    assert.equal(await storedDraft(sid), vertical);
    await say('undo');
    await say("add a title 'New branch'");
    assert.deepEqual(await srv.svc.sessions.draftHistory(sid), { versions: 3, cursor: 3, canUndo: true, canRedo: false });
    assert.match(await say('redo'), /nothing to redo/);
  });

  test('versions kept per session are bounded: the oldest are dropped', async () => {
    const sid = await sessionFor('video');
    const sessions = srv.svc.sessions;
    const base = await baseDraft(sid);
    const kept = Sessions.DRAFT_VERSIONS_KEPT;
    for (let i = 0; i < kept + 25; i++) await sessions.commitDraft(sid, { ...base, id: `v${i}` });
    const h = await sessions.draftHistory(sid);
    assert.equal(h.versions, kept);
    assert.equal((JSON.parse((await storedDraft(sid))!) as Draft).id, `v${kept + 24}`);
    // Undo as far as it goes stops at the oldest version kept.
    const oldest = await sessions.undoDraft(sid, 10_000);
    assert.equal(oldest?.id, 'v25');
  });

  /** A valid one-clip draft of the session's video, as the agent would make it. */
  async function baseDraft(sid: string): Promise<Draft> {
    finalText((await runSse(srv.url, user.api.token!, sid, 'make it 720p')).events);
    return JSON.parse((await storedDraft(sid))!) as Draft;
  }
});
