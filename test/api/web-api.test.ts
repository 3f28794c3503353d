/**
 * Issue 10, the API the web app stands on, over real HTTP with the real model and ffmpeg: the
 * caller's sessions, the transcript with its words and version, versioned corrections (a stale
 * version refused with 4009, another account's transcript answered like a missing one, bounded
 * bodies), exports and burned-in captions made from the corrected text, media played through
 * signed links that answer Range requests, and the built app served with its caching headers.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { unzipSync } from 'fflate';
import { PROJECT_ROOT } from '../../src/asr/models.ts';
import type { SessionStateView, TranscriptView } from '../../src/api/views.ts';
import { EXPORT_FORMATS } from '../../src/transcript/index.ts';
import { tempDir } from '../helpers/media.ts';
import { newUser, runSse, startServer, transcribedSample, type Api, type TestServer } from '../helpers/server.ts';

const SAMPLE = join(PROJECT_ROOT, 'samples', 'jfk_inaugural_1961.mp4');
const EDIT = 'Zebrafish';

async function state(api: Api, sid: string): Promise<SessionStateView> {
  const r = await api.call('GET', `/api/state/nemo_agent/me/${sid}/latest`);
  assert.equal(r.body.code, 0, JSON.stringify(r.body));
  return r.body.data;
}

async function transcript(api: Api, sid: string, tid: string): Promise<TranscriptView> {
  const r = await api.call('GET', `/api/state/nemo_agent/me/${sid}/transcripts/${tid}`);
  assert.equal(r.body.code, 0, JSON.stringify(r.body));
  return r.body.data;
}

describe('web API: sessions, transcript edits, exports, media playback', () => {
  let srv: TestServer;
  let a: Awaited<ReturnType<typeof newUser>>;
  let b: Awaited<ReturnType<typeof newUser>>;
  let tid: string;
  let mediaUrl: string;
  const path = () => `/api/state/nemo_agent/me/${a.sessionId}/transcripts/${tid}`;

  before(async () => {
    srv = await startServer();
    a = await newUser(srv.url);
    b = await newUser(srv.url);
    await transcribedSample(srv.url, a);
    const st = await state(a.api, a.sessionId);
    assert.equal(st.transcripts.length, 1, JSON.stringify(st.transcripts));
    tid = st.transcripts[0]!.id;
    mediaUrl = st.media[0]!.url;
  });
  after(() => srv.close());

  test('the transcript comes with its words, timings, confidence, duration and version 1', async () => {
    const t = await transcript(a.api, a.sessionId, tid);
    assert.equal(t.version, 1);
    assert.ok(t.duration > 10 && t.duration < 13, String(t.duration));
    assert.equal(t.language, 'en');
    const words = t.segments.flatMap((s) => s.words);
    assert.ok(words.length > 15, `${words.length} words`);
    assert.ok(/americans/i.test(t.text), t.text);
    for (const s of t.segments) {
      assert.equal(typeof s.id, 'number');
      assert.equal(
        s.text,
        s.words
          .map((w) => w.word)
          .join('')
          .trim(),
      );
    }
    for (const w of words) assert.ok(w.start <= w.end && w.probability >= 0 && w.probability <= 1, JSON.stringify(w));
  });

  test("GET /api/sessions: the caller's sessions, newest first, with their media; bounded limit; nobody else's", async () => {
    const second = await a.api.call('POST', '/api/tasks/me/with-session/nemo_agent', { task_name: 'second' });
    const r = await a.api.call('GET', '/api/sessions?limit=20');
    assert.equal(r.body.code, 0);
    const list = r.body.data.sessions as { session_id: string; name: string; media: { name: string; kind: string }[]; updated_at: string }[];
    assert.deepEqual(
      list.map((s) => s.session_id),
      [second.body.data.session_id, a.sessionId],
    );
    assert.equal(list[0]!.name, 'second');
    assert.deepEqual(
      list[1]!.media.map((m) => [m.name, m.kind]),
      [['jfk_inaugural_1961.mp4', 'video']],
    );
    assert.equal((await a.api.call('GET', '/api/sessions?limit=1')).body.data.sessions.length, 1);
    const other = await b.api.call('GET', '/api/sessions');
    assert.deepEqual(
      other.body.data.sessions.map((s: { session_id: string }) => s.session_id),
      [b.sessionId],
    );
    for (const bad of ['0', '101', 'many']) {
      const x = await a.api.call('GET', `/api/sessions?limit=${bad}`);
      assert.equal(x.status, 400, bad);
      assert.equal(x.body.code, 400);
    }
    assert.equal((await apiNoToken(srv.url)).body.code, 1001);
  });

  test('a correction is saved with a new version; timings kept, text rebuilt; a stale version is refused with 4009', async () => {
    const before = await transcript(a.api, a.sessionId, tid);
    const seg = before.segments[0]!;
    const r = await a.api.call('PATCH', path(), { base_version: 1, words: [{ segment: seg.id, index: 1, word: EDIT }] });
    assert.equal(r.body.code, 0, JSON.stringify(r.body));
    assert.deepEqual(r.body.data, { version: 2 });
    const afterEdit = await transcript(a.api, a.sessionId, tid);
    assert.equal(afterEdit.version, 2);
    const w = afterEdit.segments[0]!.words[1]!;
    assert.equal(w.word.trim(), EDIT);
    assert.deepEqual([w.start, w.end], [seg.words[1]!.start, seg.words[1]!.end]);
    assert.deepEqual(
      afterEdit.segments.flatMap((s) => s.words.map((x) => [x.start, x.end])),
      before.segments.flatMap((s) => s.words.map((x) => [x.start, x.end])),
    );
    assert.ok(afterEdit.segments[0]!.text.includes(EDIT), afterEdit.segments[0]!.text);
    assert.ok(afterEdit.text.includes(EDIT), afterEdit.text);
    // The session state lists the corrected text and version too.
    const st = await state(a.api, a.sessionId);
    assert.equal(st.transcripts[0]!.version, 2);
    assert.ok(st.transcripts[0]!.text.includes(EDIT));

    // A second tab still on version 1 loses, and nothing it sent is stored.
    const stale = await a.api.call('PATCH', path(), { base_version: 1, words: [{ segment: seg.id, index: 2, word: 'Stale' }] });
    assert.equal(stale.status, 409);
    assert.equal(stale.body.code, 4009);
    assert.match(stale.body.message, /changed elsewhere/);
    const still = await transcript(a.api, a.sessionId, tid);
    assert.equal(still.version, 2);
    assert.ok(!still.text.includes('Stale'));
  });

  test('two edits of the same version at once: exactly one wins', async () => {
    const t = await transcript(a.api, a.sessionId, tid);
    const seg = t.segments.at(-1)!;
    const results = await Promise.all(
      ['Alpha', 'Beta', 'Gamma'].map((word) => a.api.call('PATCH', path(), { base_version: t.version, words: [{ segment: seg.id, index: 0, word }] })),
    );
    assert.deepEqual(results.map((x) => x.body.code).sort(), [0, 4009, 4009]);
    assert.equal((await transcript(a.api, a.sessionId, tid)).version, t.version + 1);
  });

  test("another account's transcript is answered exactly like a missing one, for reading, editing and exporting", async () => {
    const own = `/api/state/nemo_agent/me/${b.sessionId}/transcripts/${tid}`;
    const missing = `/api/state/nemo_agent/me/${b.sessionId}/transcripts/trn_missing`;
    for (const [p, code] of [
      [path(), 1002],
      [`/api/state/nemo_agent/me/ses_missing/transcripts/${tid}`, 1002],
      [own, 4104],
      [missing, 4104],
    ] as const) {
      const get = await b.api.call('GET', p);
      const patch = await b.api.call('PATCH', p, { base_version: 1, words: [{ segment: 0, index: 0, word: 'Mine' }] });
      const exp = await fetch(`${srv.url}${p}/export?format=txt`, { headers: { authorization: `Bearer ${b.api.token}` } });
      assert.equal(get.body.code, code, p);
      assert.equal(patch.body.code, code, p);
      assert.equal(((await exp.json()) as { code: number }).code, code, p);
    }
    assert.ok(!(await transcript(a.api, a.sessionId, tid)).text.includes('Mine'));
  });

  test('bad edits are refused with 400 and change nothing: oversize, malformed, control characters, words that do not exist', async () => {
    const t = await transcript(a.api, a.sessionId, tid);
    const seg = t.segments[0]!.id;
    const bodies: [string, unknown][] = [
      ['1001 word edits', { base_version: t.version, words: Array.from({ length: 1001 }, () => ({ segment: seg, index: 0, word: 'x' })) }],
      ['a 201-character word', { base_version: t.version, words: [{ segment: seg, index: 0, word: 'x'.repeat(201) }] }],
      ['a line break', { base_version: t.version, words: [{ segment: seg, index: 0, word: 'two\nlines' }] }],
      ['an escape character', { base_version: t.version, words: [{ segment: seg, index: 0, word: 'bad\u001b[31m' }] }],
      ['an empty word', { base_version: t.version, words: [{ segment: seg, index: 0, word: '   ' }] }],
      ['no such word', { base_version: t.version, words: [{ segment: seg, index: 9999, word: 'x' }] }],
      ['no such segment', { base_version: t.version, words: [{ segment: 9999, index: 0, word: 'x' }] }],
      ['no speakers in this transcript', { base_version: t.version, speakers: [{ id: 0, name: 'Ann' }] }],
      ['nothing to change', { base_version: t.version }],
      ['no base version', { words: [{ segment: seg, index: 0, word: 'x' }] }],
      ['a base version that is not a number', { base_version: 'latest', words: [{ segment: seg, index: 0, word: 'x' }] }],
      ['malformed JSON', '{"base_version": 1, "words": ['],
      ['an array', []],
    ];
    for (const [what, body] of bodies) {
      const r = await a.api.call('PATCH', path(), body);
      assert.equal(r.status, 400, `${what}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.code, 400, what);
      assert.equal(typeof r.body.message, 'string', what);
    }
    const big = await fetch(srv.url + path(), {
      method: 'PATCH',
      headers: { authorization: `Bearer ${a.api.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ base_version: t.version, words: [{ segment: seg, index: 0, word: 'x'.repeat(11 * 1024 * 1024) }] }),
    });
    assert.equal(big.status, 413);
    assert.equal(((await big.json()) as { code: number }).code, 4002);
    const now = await transcript(a.api, a.sessionId, tid);
    assert.equal(now.version, t.version);
    assert.deepEqual(now.segments, t.segments);
  });

  test('every export format is made from the corrected transcript', async () => {
    for (const format of EXPORT_FORMATS) {
      const res = await fetch(`${srv.url}${path()}/export?format=${format}`, { headers: { authorization: `Bearer ${a.api.token}` } });
      assert.equal(res.status, 200, format);
      assert.match(res.headers.get('content-disposition') ?? '', new RegExp(`^attachment; filename\\*=UTF-8''jfk_inaugural_1961\\.${format}$`));
      const body = Buffer.from(await res.arrayBuffer());
      const text = format === 'docx' ? Buffer.from(unzipSync(new Uint8Array(body))['word/document.xml']!).toString('utf8') : body.toString('utf8');
      assert.ok(text.includes(EDIT), `${format} lacks the correction`);
    }
    const bad = await fetch(`${srv.url}${path()}/export?format=pdf`, { headers: { authorization: `Bearer ${a.api.token}` } });
    assert.equal(bad.status, 400);
    const noToken = await fetch(`${srv.url}${path()}/export?format=txt`);
    assert.equal(((await noToken.json()) as { code: number }).code, 1001);
  });

  test('captions added after a correction carry the corrected word (the text an export burns in)', async () => {
    const r = await runSse(srv.url, a.api.token!, a.sessionId, 'add captions');
    assert.equal(r.status, 200);
    const st = await state(a.api, a.sessionId);
    const captions = (st.draft?.t ?? [])
      .filter((t) => t.tt === 7)
      .flatMap((t) => t.sg)
      .map((s) => s.m as { kind?: string; text?: string })
      .filter((m) => m.kind === 'caption');
    assert.ok(captions.length > 0, JSON.stringify(st.draft));
    assert.ok(
      captions.some((c) => c.text?.includes(EDIT)),
      captions.map((c) => c.text).join(' | '),
    );
  });

  test('media plays through a signed link without a bearer token, and answers Range requests so a player can seek', async () => {
    const whole = readFileSync(SAMPLE);
    assert.ok(mediaUrl.startsWith(`${srv.url}/api/media/`), mediaUrl);
    // The state, read again, hands out the same link: a polling page does not reload its player.
    assert.equal((await state(a.api, a.sessionId)).media[0]!.url, mediaUrl);
    const full = await fetch(mediaUrl);
    assert.equal(full.status, 200);
    assert.equal(full.headers.get('accept-ranges'), 'bytes');
    assert.equal(full.headers.get('content-type'), 'video/mp4');
    assert.equal(Number(full.headers.get('content-length')), whole.length);
    assert.ok(Buffer.from(await full.arrayBuffer()).equals(whole));

    const part = await fetch(mediaUrl, { headers: { range: 'bytes=100-1123' } });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get('content-range'), `bytes 100-1123/${whole.length}`);
    assert.ok(Buffer.from(await part.arrayBuffer()).equals(whole.subarray(100, 1124)));

    const open = await fetch(mediaUrl, { headers: { range: `bytes=${whole.length - 10}-` } });
    assert.equal(open.status, 206);
    assert.ok(Buffer.from(await open.arrayBuffer()).equals(whole.subarray(whole.length - 10)));

    const tail = await fetch(mediaUrl, { headers: { range: 'bytes=-16' } });
    assert.equal(tail.status, 206);
    assert.ok(Buffer.from(await tail.arrayBuffer()).equals(whole.subarray(whole.length - 16)));

    const beyond = await fetch(mediaUrl, { headers: { range: `bytes=${whole.length}-` } });
    assert.equal(beyond.status, 416);
    assert.equal(beyond.headers.get('content-range'), `bytes */${whole.length}`);
    await beyond.arrayBuffer();

    const one = await fetch(mediaUrl, { headers: { range: 'bytes=0-0' } });
    assert.equal(one.status, 206);
    assert.deepEqual([...Buffer.from(await one.arrayBuffer())], [whole[0]]);
    // Ranges that are not ranges (reversed, another unit, garbage) and a stale If-Range: the whole file.
    for (const headers of <Record<string, string>[]>[
      { range: 'bytes=9-2' },
      { range: 'items=0-1' },
      { range: 'bytes=x-' },
      { range: 'bytes=0-9', 'if-range': '"someone-else"' },
    ]) {
      const r = await fetch(mediaUrl, { headers });
      assert.equal(r.status, 200, JSON.stringify(headers));
      assert.equal((await r.arrayBuffer()).byteLength, whole.length);
    }
    const etag = full.headers.get('etag')!;
    const same = await fetch(mediaUrl, { headers: { range: 'bytes=0-9', 'if-range': etag } });
    assert.equal(same.status, 206);
    await same.arrayBuffer();

    // Several ranges at once: the whole file (allowed), never a multipart answer.
    const multi = await fetch(mediaUrl, { headers: { range: 'bytes=0-1,5-9' } });
    assert.equal(multi.status, 200);
    assert.equal(Number(multi.headers.get('content-length')), whole.length);
    await multi.arrayBuffer();

    const u = new URL(mediaUrl);
    const forged = `${u.origin}${u.pathname}?expires=${u.searchParams.get('expires')}&sig=${'A'.repeat(43)}`;
    assert.equal(((await (await fetch(forged)).json()) as { code: number }).code, 1001);
    const expired = `${u.origin}${u.pathname}?expires=${Date.now() - 1000}&sig=${u.searchParams.get('sig')}`;
    assert.equal(((await (await fetch(expired)).json()) as { code: number }).code, 1001);
    // A media link's signature does not open the file route, nor the other way round.
    assert.equal(((await (await fetch(`${u.origin}/api/files/${u.pathname.split('/').at(-1)}${u.search}`)).json()) as { code: number }).code, 1001);
  });

  test('speakers of a diarized transcript are renamed (shown in the view and the exports); a duplicate name is refused', async () => {
    // A diarized transcript seeded through the domain (diarization is another issue's model run).
    const ses = await a.api.call('POST', '/api/tasks/me/with-session/nemo_agent', { task_name: 'interview' });
    const sid = ses.body.data.session_id as string;
    const w = (word: string, start: number, speaker: number) => ({ word, start, end: start + 0.4, probability: 0.9, speaker });
    const rec = await srv.svc.sessions.addTranscript({
      accountId: a.accountId,
      sessionId: sid,
      mediaId: null,
      jobId: 'job_seeded',
      text: 'Hello there. Hi.',
      transcript: {
        language: 'en',
        duration: 3,
        source: 'interview.mp4',
        speakers: [
          { id: 0, name: 'Speaker 1' },
          { id: 1, name: 'Speaker 2' },
        ],
        segments: [
          { id: 0, start: 0, end: 0.8, text: ' Hello there.', speaker: 0, words: [w(' Hello', 0, 0), w(' there.', 0.4, 0)] },
          { id: 1, start: 1, end: 1.4, text: ' Hi.', speaker: 1, words: [w(' Hi.', 1, 1)] },
        ],
      },
    });
    const p = `/api/state/nemo_agent/me/${sid}/transcripts/${rec.id}`;
    const r = await a.api.call('PATCH', p, { base_version: 1, speakers: [{ id: 1, name: 'Grace Hopper' }] });
    assert.equal(r.body.code, 0, JSON.stringify(r.body));
    const t = await transcript(a.api, sid, rec.id);
    assert.deepEqual(t.speakers, [
      { id: 0, name: 'Speaker 1' },
      { id: 1, name: 'Grace Hopper' },
    ]);
    assert.deepEqual(
      t.segments.map((s) => [s.speaker, s.words.map((x) => x.speaker)]),
      [
        [0, [0, 0]],
        [1, [1]],
      ],
    );
    const md = await fetch(`${srv.url}${p}/export?format=md`, { headers: { authorization: `Bearer ${a.api.token}` } });
    assert.match(await md.text(), /Grace Hopper/);
    const dup = await a.api.call('PATCH', p, { base_version: 2, speakers: [{ id: 0, name: 'grace hopper' }] });
    assert.equal(dup.body.code, 400);
    const unknown = await a.api.call('PATCH', p, { base_version: 2, speakers: [{ id: 7, name: 'Ann' }] });
    assert.equal(unknown.body.code, 400);
    assert.equal((await transcript(a.api, sid, rec.id)).version, 2);
  });

  test('the new routes are documented in /openapi.json', async () => {
    const doc = (await (await fetch(`${srv.url}/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    assert.ok(doc.paths['/api/sessions']?.get);
    assert.ok(doc.paths['/api/state/{agent}/me/{sid}/transcripts/{tid}']?.patch);
    assert.ok(doc.paths['/api/state/{agent}/me/{sid}/transcripts/{tid}/export']?.get);
    assert.ok(doc.paths['/api/media/{id}']?.get);
  });
});

function apiNoToken(base: string) {
  return fetch(`${base}/api/sessions`).then(async (r) => ({ status: r.status, body: (await r.json()) as { code: number } }));
}

describe('web app served at /', () => {
  const work = tempDir('vidscribe-web-root-');
  let srv: TestServer;
  let bare: TestServer;
  before(async () => {
    const root = join(work, 'web');
    mkdirSync(join(root, 'assets'), { recursive: true });
    writeFileSync(join(root, 'index.html'), '<!doctype html><script type="module" src="/assets/index-abc123.js"></script>');
    writeFileSync(join(root, 'assets', 'index-abc123.js'), 'console.log(1)');
    srv = await startServer({}, { webRoot: root });
    bare = await startServer({}, { webRoot: join(work, 'not-built') });
  });
  after(async () => {
    await srv.close();
    await bare.close();
  });

  test('index.html is revalidated on every load, hashed assets are cached for a year, under the same-origin CSP', async () => {
    const index = await fetch(`${srv.url}/`);
    assert.equal(index.status, 200);
    assert.match(index.headers.get('content-type') ?? '', /^text\/html/);
    assert.equal(index.headers.get('cache-control'), 'no-cache');
    assert.match(index.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    assert.match(await index.text(), /index-abc123\.js/);
    const js = await fetch(`${srv.url}/assets/index-abc123.js`);
    assert.equal(js.status, 200);
    assert.match(js.headers.get('content-type') ?? '', /javascript/);
    assert.equal(js.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assert.equal(await js.text(), 'console.log(1)');
  });

  test('an unknown path is the API 404 envelope, and nothing outside the built folder is served', async () => {
    for (const p of ['/assets/missing.js', '/api/nothing', '/../package.json', '/assets/../../package.json', '/%2e%2e/package.json']) {
      const r = await fetch(srv.url + p);
      assert.equal(r.status, 404, p);
      assert.equal(((await r.json()) as { code: number }).code, 4104, p);
    }
    assert.equal((await fetch(`${srv.url}/healthz`)).status, 200);
  });

  test('without a build, / says how to build the app (and the API still works)', async () => {
    const r = await fetch(`${bare.url}/`);
    assert.equal(r.status, 503);
    assert.match(await r.text(), /npm run build:web/);
    assert.equal((await fetch(`${bare.url}/healthz`)).status, 200);
  });
});
