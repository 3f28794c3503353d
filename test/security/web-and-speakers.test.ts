/**
 * Issues 10, 12 and 13 attacked as a stranger with a free anonymous token would: the web app's
 * routes, transcript corrections and speaker renames, signed media links, on the real server
 * (and on a real Postgres where the storage backend is what breaks). Each test here is a finding
 * that failed before its fix.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PROJECT_ROOT, pythonExecutable } from '../../src/asr/models.ts';
import { startPostgres, type PostgresServer } from '../helpers/postgres.ts';
import { SAMPLE_MP4 } from '../helpers/media.ts';
import { form, newUser, startServer, type TestServer } from '../helpers/server.ts';

describe('ids holding control characters, on Postgres', () => {
  let pg: PostgresServer;
  let srv: TestServer;
  before(async () => {
    pg = await startPostgres();
    srv = await startServer({ database: await pg.createDatabase(), noWorkers: true });
  });
  after(async () => {
    await srv?.close();
    await pg?.stop();
  });

  // Postgres refuses a NUL in any text it is given, even to compare: every id in a path reached a
  // query and came back as 500 Internal error (SQLite simply found nothing).
  test('a NUL in a session, transcript, render, media or file id, or in the agent name, is a 400, not a 500', async () => {
    const a = await newUser(srv.url);
    const t = `/api/state/nemo_agent/me/${a.sessionId}/transcripts`;
    const calls: [string, string, unknown?][] = [
      ['POST', '/api/tasks/me/with-session/a%00b', {}],
      ['GET', '/api/state/nemo_agent/me/a%00b/latest'],
      ['GET', `${t}/a%00b`],
      ['PATCH', `${t}/a%01b`, { base_version: 1, words: [{ segment: 0, index: 0, word: 'x' }] }],
      ['GET', `${t}/a%00b/export?format=txt`],
      ['GET', '/api/render/proxy/lambda/a%00b'],
      ['GET', '/api/media/a%00b?expires=1&sig=x'],
      ['GET', '/api/files/a%00b?expires=1&sig=x'],
    ];
    for (const [method, path, body] of calls) {
      const r = await a.api.call(method, path, body);
      assert.equal(r.status, 400, `${method} ${path}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.code, 400, path);
    }
    const sse = await fetch(`${srv.url}/run_sse`, {
      method: 'POST',
      headers: { authorization: `Bearer ${a.api.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ app_name: 'nemo_agent', user_id: 'me', session_id: 'a\u0000', new_message: { role: 'user', parts: [{ text: 'hi' }] } }),
    });
    assert.equal(sse.status, 400, await sse.text());
    // Still up, and the caller's own session still answers.
    assert.equal((await a.api.call('GET', `/api/state/nemo_agent/me/${a.sessionId}/latest`)).body.code, 0);
  });
});

// The speaker clustering, run by the real worker module in the worker's Python: average linkage
// holds every pair of windows' distance, so memory grew with the square of the speech's length
// (12 000 windows, 2.5 hours of speech, took 1.1 GB; a bought-credits account could send more).
const CLUSTER_PROBE = String.raw`
import resource, sys
import numpy as np
sys.path.insert(0, sys.argv[1])
import diarize
n = 12000
rng = np.random.default_rng(1)
a, b = rng.normal(size=256), rng.normal(size=256)
truth = (np.arange(n) // 40) % 2
e = np.where(truth[:, None] == 0, a, b) + rng.normal(scale=0.6, size=(n, 256))
e = (e / np.linalg.norm(e, axis=1, keepdims=True)).astype(np.float32)
import scipy.cluster.hierarchy
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
labels = diarize.cluster(e, np.full(n, 0.75), 2, 1, 16)
agree = max(np.mean(labels == truth), np.mean(labels != truth))
print(len(set(labels.tolist())), float(agree), (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) // 1024)
`;

describe('speaker clustering of long speech', () => {
  test('12 000 windows are told apart into the two voices within a bounded memory (it needed over 1 GB)', () => {
    const r = spawnSync(pythonExecutable(), ['-c', CLUSTER_PROBE, join(PROJECT_ROOT, 'src', 'asr', 'worker')], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 0, r.stderr);
    const [speakers, agreement, extraMb] = r.stdout.trim().split(' ').map(Number);
    assert.equal(speakers, 2, r.stdout);
    assert.ok(agreement! >= 0.95, `windows with their true voice: ${agreement}`);
    assert.ok(extraMb! < 300, `clustering took ${extraMb} MB more`);
  });
});

describe('signed links', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startServer({ noWorkers: true });
  });
  after(async () => {
    await srv?.close();
  });

  // A media link signed "media.<id>.<expiry>" and a file link signed "<id>.<expiry>" coincided for
  // the file id "media.<id>": the media link's signature was accepted by /api/files (it then found
  // no such file, but the check that should refuse it had passed).
  test("a media link's signature does not open /api/files, nor a file link's /api/media", async () => {
    const a = await newUser(srv.url);
    const up = await a.api.call('POST', `/api/upload-video/nemo_agent/me/${a.sessionId}`, form([{ name: 'jfk.mp4', body: readFileSync(SAMPLE_MP4) }]));
    assert.equal(up.body.code, 0, JSON.stringify(up.body));
    const state = await a.api.call('GET', `/api/state/nemo_agent/me/${a.sessionId}/latest`);
    const media = new URL(state.body.data.media[0].url);
    assert.equal((await fetch(media)).status, 200, 'the media link itself plays');
    const id = decodeURIComponent(media.pathname.split('/').pop()!);
    const replayed = await fetch(`${srv.url}/api/files/${encodeURIComponent(`media.${id}`)}${media.search}`);
    assert.equal(replayed.status, 401);
    assert.equal(((await replayed.json()) as { code: number }).code, 1001);
  });
});
