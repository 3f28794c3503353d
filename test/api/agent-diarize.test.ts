/**
 * "Who said what" through the agent, end to end: a real server, the real model and diarization on a
 * real two-speaker recording, the SSE stream read as a client reads it, the exported file fetched.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { tempDir } from '../helpers/media.ts';
import { newUser, runSse, startServer, type TestServer } from '../helpers/server.ts';
import { buildEvalSet } from '../helpers/two-speakers.ts';

type Event = any;
const calls = (events: Event[]) => events.flatMap((e) => e.content.parts.filter((p: Event) => p.functionCall).map((p: Event) => p.functionCall));

describe('the agent labels speakers', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startServer({ asrSlots: 1, renderSlots: 0 });
  });
  after(() => srv.close());

  test('"who said what?" transcribes with speakers: the reply counts them, the document names them paragraph by paragraph', async () => {
    const mf = buildEvalSet(tempDir('vidscribe-agent-diarize-')).find((f) => f.kind === 'male/female')!;
    const u = await newUser(srv.url);
    const fd = new FormData();
    fd.append('file', new Blob([new Uint8Array(readFileSync(mf.wav))]), 'interview.wav');
    const up = (await (
      await fetch(`${srv.url}/api/upload-video/nemo_agent/me/${u.sessionId}`, { method: 'POST', headers: { authorization: `Bearer ${u.api.token}` }, body: fd })
    ).json()) as { code: number };
    assert.equal(up.code, 0, JSON.stringify(up));

    const sse = await runSse(srv.url, u.api.token!, u.sessionId, 'who said what?');
    assert.equal(sse.status, 200);
    const [call] = calls(sse.events);
    assert.ok(call, JSON.stringify(sse.events.at(-1)?.content));
    assert.equal(call.name, 'transcribe_media');
    assert.equal(call.args.diarize, true);
    const reply = sse.events
      .at(-1)
      .content.parts.map((p: Event) => p.text ?? '')
      .join('');
    assert.match(reply, /interview\.txt \(\d+ words, 2 speakers, \d+ credits?\)/);
    assert.match(reply, /Speaker 1: /);

    const state = (await u.api.call('GET', `/api/state/nemo_agent/me/${u.sessionId}/latest`)).body.data;
    const txt = state.files.find((f: { name: string }) => f.name === 'interview.txt');
    assert.ok(txt, 'the document is a file in the session');
    const paragraphs = (await (await fetch(txt.url)).text()).trimEnd().split('\n\n');
    const first = mf.reference[0]!.speaker;
    assert.deepEqual(
      paragraphs.map((p) => p.split(':')[0]),
      mf.reference.map((t) => (t.speaker === first ? 'Speaker 1' : 'Speaker 2')),
    );
  });
});
