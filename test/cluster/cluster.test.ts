/**
 * A real cluster: Postgres, an S3 server (s3rver), one `vidscribe serve --role api` process and two
 * `--role worker` processes (real child processes with the real model and ffmpeg). Jobs spread
 * over both workers; a worker SIGKILLed mid-job loses the job to the other, which finishes it,
 * charged once; SSE progress reaches the client through the API process; a render cancelled
 * through the API stops on its worker; a job that crashes its worker every time fails after the
 * attempt cap with its credits released.
 *
 * Leases are 5 s here (`--lease-seconds 5`, default 30) so a dead worker's job moves on quickly.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startCluster, watchLeases, workerOf, type Cluster, type NodeProcess } from '../helpers/cluster.ts';
import { FIXTURES, SAMPLE_MP4 } from '../helpers/media.ts';
import { ATTRIBUTION, newUser, oneClipDraft, runSse } from '../helpers/server.ts';
import { ErrorCode } from '../../src/shared/errors.ts';

const POISON = 'poison-pill';
const FILES = [SAMPLE_MP4, `${FIXTURES}/librispeech_1089-134686-0000.flac`, `${FIXTURES}/librispeech_61-70968-0000.flac`, `${FIXTURES}/mfa_thoughts.flac`];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, f: () => Promise<T | undefined | false>, timeoutMs = 120_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

function transcribeV1(base: string, token: string, path: string, name = basename(path)): Promise<{ status: number; body: any }> {
  const fd = new FormData();
  fd.append('file', new Blob([new Uint8Array(readFileSync(path))]), name);
  fd.append('model', 'whisper-1');
  return fetch(`${base}/v1/audio/transcriptions`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: fd }).then(async (r) => ({
    status: r.status,
    body: await r.json(),
  }));
}

async function uploadToSession(base: string, token: string, sid: string, path: string): Promise<string> {
  const fd = new FormData();
  fd.append('file', new Blob([new Uint8Array(readFileSync(path))]), basename(path));
  const r = (await (
    await fetch(`${base}/api/upload-video/nemo_agent/me/${sid}`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: fd })
  ).json()) as any;
  assert.equal(r.code, 0, JSON.stringify(r));
  return r.data.media[0].id;
}

/** Every live descendant of `pid` named `name` (ffmpeg under a worker). */
function descendantsNamed(pid: number, name: string): number[] {
  const rows = execFileSync('ps', ['-eo', 'pid=,ppid=,comm='], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .map(([p, pp, comm]) => ({ pid: Number(p), ppid: Number(pp), comm: comm ?? '' }));
  const tree = new Set([pid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const r of rows) if (tree.has(r.ppid) && !tree.has(r.pid)) grew = tree.add(r.pid) !== undefined;
  }
  return rows.filter((r) => tree.has(r.pid) && r.pid !== pid && r.comm === name).map((r) => r.pid);
}

describe('a cluster: Postgres + S3, one API process and two worker processes', () => {
  let c: Cluster;
  before(async () => {
    c = await startCluster({
      workers: 2,
      args: ['--lease-seconds', '5', '--max-attempts', '3', '--max-upload-mb', '5'],
      workerArgs: ['--asr-slots', '1', '--render-slots', '1'],
      // TEST ONLY (see crashOnPoison in src/api/services.ts): a worker kills itself on a file named so.
      workerEnv: { VIDSCRIBE_TEST_CRASH_ON: POISON },
    });
  });
  after(async () => c?.stop());

  test('the API process serves the API and runs no jobs; a worker serves only /healthz', async () => {
    const health = (await (await fetch(`${c.workers[0]!.url}/healthz`)).json()) as any;
    assert.equal(health.role, 'worker');
    assert.equal(health.workerId, c.workers[0]!.workerId);
    assert.equal((await fetch(`${c.workers[0]!.url}/api/auth/anonymous-token`, { method: 'POST' })).status, 404);
    const token = (await (await fetch(`${c.api.url}/api/auth/anonymous-token`, { method: 'POST', headers: { 'x-client-id': 'roles-test' } })).json()) as any;
    assert.equal(token.code, 0);
    assert.notEqual(c.workers[0]!.workerId, c.workers[1]!.workerId);
  });

  test('an upload through the API is stored in the bucket, not on the API node; its media plays back with one byte range (206)', async () => {
    const u = await newUser(c.api.url);
    const mediaId = await uploadToSession(c.api.url, u.api.token!, u.sessionId, SAMPLE_MP4);
    const [m] = await c.query<{ store_key: string }>('select store_key from media where id = $1', [mediaId]);
    assert.ok(
      c.s3.writes.some((w) => w.key === m?.store_key),
      'written to S3',
    );
    assert.deepEqual(readdirSync(join(c.api.dataDir, 'tmp')), [], 'no scratch left on the API node');
    assert.ok(!existsSync(join(c.api.dataDir, 'blobs')), 'no local blob store on the API node');
    const st = (await u.api.call('GET', `/api/state/nemo_agent/me/${u.sessionId}/latest`)).body.data;
    const whole = readFileSync(SAMPLE_MP4);
    const part = await fetch(st.media[0].url, { headers: { range: 'bytes=1000-1999' } });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get('content-range'), `bytes 1000-1999/${whole.length}`);
    assert.ok(Buffer.from(await part.arrayBuffer()).equals(whole.subarray(1000, 2000)));
    assert.ok(!existsSync(join(c.api.dataDir, 'cache', m?.store_key ?? '')), 'served from the bucket, not copied to the API node');
  });

  test('a second API node with the same secret takes the tokens and opens the signed links of the first; one with another secret refuses the links', async () => {
    const u = await newUser(c.api.url);
    await uploadToSession(c.api.url, u.api.token!, u.sessionId, SAMPLE_MP4);
    const st = (await u.api.call('GET', `/api/state/nemo_agent/me/${u.sessionId}/latest`)).body.data;
    const link = new URL(st.media[0].url);
    const [twin, stranger] = await Promise.all([c.addApi(), c.addApi(randomBytes(32).toString('hex'))]);
    const auth = { authorization: `Bearer ${u.api.token}` };
    // Tokens live in the shared database: any API node knows them.
    const state = (await (await fetch(`${twin.url}/api/state/nemo_agent/me/${u.sessionId}/latest`, { headers: auth })).json()) as any;
    assert.equal(state.code, 0);
    assert.equal(state.data.media[0].id, st.media[0].id);
    // Links are signed with the cluster's key: the twin opens one the first node made...
    const part = await fetch(`${twin.url}${link.pathname}${link.search}`, { headers: { range: 'bytes=0-99' } });
    assert.equal(part.status, 206);
    assert.ok(Buffer.from(await part.arrayBuffer()).equals(readFileSync(SAMPLE_MP4).subarray(0, 100)));
    // ...and a node with a key of its own does not (a coded error, no bytes).
    const refused = await fetch(`${stranger.url}${link.pathname}${link.search}`);
    assert.equal(refused.status, 401);
    assert.equal(((await refused.json()) as any).code, ErrorCode.BadToken);
  });

  test('an upload that is too large or not media is refused and leaves nothing in the bucket or on the API node', async () => {
    const u = await newUser(c.api.url);
    const writes = c.s3.writes.length;
    for (const [bytes, code] of [
      [randomBytes(6 * 1024 * 1024), 4002],
      [randomBytes(50_000), undefined],
    ] as const) {
      const fd = new FormData();
      fd.append('file', new Blob([new Uint8Array(bytes)]), 'clip.mp4');
      const r = (await (
        await fetch(`${c.api.url}/api/upload-video/nemo_agent/me/${u.sessionId}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${u.api.token}` },
          body: fd,
        })
      ).json()) as any;
      assert.notEqual(r.code, 0, JSON.stringify(r));
      if (code) assert.equal(r.code, code, JSON.stringify(r));
    }
    assert.equal(c.s3.writes.length, writes, 'nothing written to the bucket');
    assert.deepEqual(readdirSync(join(c.api.dataDir, 'tmp')), [], 'no scratch left on the API node');
  });

  test('several transcriptions through the API are spread over both workers, each run and charged once', async () => {
    const u = await newUser(c.api.url);
    const watch = watchLeases(c);
    const replies = await Promise.all(FILES.map((f) => transcribeV1(c.api.url, u.api.token!, f)));
    const owners = await watch.stop();
    for (const r of replies) assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.match(replies[0]!.body.text, /ask not what your country/i);
    const jobs = await c.query<{ id: string; state: string }>('select id, state from jobs where account_id = $1', [u.accountId]);
    assert.equal(jobs.length, FILES.length);
    for (const lease of [...owners.values()].flat()) assert.ok(workerOf(c, lease), `${lease}: only workers run jobs (not the API process)`);
    const ranOn = new Set(jobs.map((j) => workerOf(c, owners.get(j.id)?.at(-1) ?? null)?.name));
    assert.deepEqual([...ranOn].sort(), ['worker1', 'worker2'], `lease owners seen: ${JSON.stringify([...owners])}`);
    for (const j of jobs) assert.equal(j.state, 'completed');
    const charges = await c.query<{ job_id: string; n: string }>(
      "select job_id, count(*) as n from ledger where reason = 'job' and account_id = $1 group by job_id",
      [u.accountId],
    );
    assert.equal(charges.length, FILES.length);
    for (const ch of charges) assert.equal(Number(ch.n), 1, `${ch.job_id} charged once`);
    const transcripts = await c.query<{ job_id: string; n: string }>('select job_id, count(*) as n from transcripts where account_id = $1 group by job_id', [
      u.accountId,
    ]);
    for (const t of transcripts) assert.equal(Number(t.n), 1);
  });

  test('SIGKILL the worker running a transcription: the other finishes it, charged once; progress streams over SSE through the API', async () => {
    const u = await newUser(c.api.url);
    await uploadToSession(c.api.url, u.api.token!, u.sessionId, SAMPLE_MP4);
    const before = (await u.api.call('GET', '/api/credits/balance/simple')).body.data;
    const watch = watchLeases(c);
    const sse = runSse(c.api.url, u.api.token!, u.sessionId, 'transcribe the spoken dialogue into a text document');
    const job = await until('the transcription to run on a worker', async () => {
      const [j] = await c.query<{ id: string; lease_owner: string | null }>("select id, lease_owner from jobs where account_id = $1 and state = 'running'", [
        u.accountId,
      ]);
      return j?.lease_owner ? j : undefined;
    });
    const victim = workerOf(c, job.lease_owner) as NodeProcess;
    assert.ok(victim, `lease ${job.lease_owner} belongs to a worker`);
    victim.proc.kill('SIGKILL');
    await victim.exited;
    const result = await sse;
    const owners = (await watch.stop()).get(job.id) ?? [];
    c.workers.splice(c.workers.indexOf(victim), 1);

    assert.equal(result.status, 200);
    const texts = result.events.flatMap((e: any) => e.content.parts.filter((p: any) => typeof p.text === 'string').map((p: any) => p.text as string));
    assert.ok(
      texts.some((t: string) => /Transcribing .*: \d+ %/.test(t)),
      'progress reached the client through the API process',
    );
    assert.match(texts.at(-1) ?? '', /ask not what your country can do for you/i);
    const [row] = await c.query<{ state: string; attempts: number }>('select state, attempts from jobs where id = $1', [job.id]);
    assert.equal(row?.state, 'completed');
    assert.equal(row?.attempts, 2);
    const finisher = workerOf(c, owners.at(-1) ?? null);
    assert.ok(finisher && finisher !== victim, `the other worker finished it (owners ${owners.join(', ')})`);
    const charges = await c.query("select * from ledger where reason = 'job' and job_id = $1", [job.id]);
    assert.equal(charges.length, 1, 'charged once');
    const transcripts = await c.query('select id from transcripts where job_id = $1', [job.id]);
    assert.equal(transcripts.length, 1, 'one transcript');
    const afterBalance = (await u.api.call('GET', '/api/credits/balance/simple')).body.data;
    assert.deepEqual(afterBalance, { available: before.available - 1, frozen: 0, total: before.total - 1 });
    await c.addWorker();
  });

  test('a render cancelled through the API (DELETE) stops on its worker, its credits released', async () => {
    const u = await newUser(c.api.url);
    const mediaId = await uploadToSession(c.api.url, u.api.token!, u.sessionId, SAMPLE_MP4);
    const before = (await u.api.call('GET', '/api/credits/balance/simple')).body.data;
    const exp = await u.api.call(
      'POST',
      '/api/render/proxy/lambda',
      { session_id: u.sessionId, draft: oneClipDraft(mediaId, { w: 1920, h: 1080, d: 11_000 }) },
      ATTRIBUTION,
    );
    assert.equal(exp.body.code, 0, JSON.stringify(exp.body));
    const id = exp.body.data.render_id as string;
    const running = await until('the render to run on a worker', async () => {
      const [j] = await c.query<{ lease_owner: string | null }>("select lease_owner from jobs where id = $1 and state = 'running'", [id]);
      return j?.lease_owner ? j : undefined;
    });
    const worker = workerOf(c, running.lease_owner) as NodeProcess;
    assert.ok(worker);
    await until('ffmpeg to start on the worker', async () => descendantsNamed(worker.pid, 'ffmpeg').length > 0, 60_000);
    const del = await u.api.call('DELETE', `/api/render/proxy/lambda/${id}`);
    assert.equal(del.body.code, 0, JSON.stringify(del.body));
    assert.equal(del.body.data.status, 'cancelled');
    const [row] = await c.query<{ state: string }>('select state from jobs where id = $1', [id]);
    assert.equal(row?.state, 'cancelled');
    await until('ffmpeg on the worker to stop', async () => descendantsNamed(worker.pid, 'ffmpeg').length === 0, 20_000);
    assert.equal(worker.proc.exitCode, null, 'the worker lives on');
    const [hold] = await c.query<{ state: string }>('select state from holds where job_id = $1', [id]);
    assert.equal(hold?.state, 'released');
    assert.deepEqual((await u.api.call('GET', '/api/credits/balance/simple')).body.data, before);
    assert.equal((await c.query('select * from files where job_id = $1', [id])).length, 0, 'no file from a cancelled render');
  });

  test('a job that crashes its worker every time fails after 3 attempts, credits released (workers restarted as a supervisor would)', async () => {
    const u = await newUser(c.api.url);
    const before = (await u.api.call('GET', '/api/credits/balance/simple')).body.data;
    let supervising = true;
    const crashes: string[] = [];
    const supervisor = (async () => {
      while (supervising) {
        for (const w of [...c.workers]) {
          if (w.proc.exitCode !== null || w.proc.signalCode !== null) {
            crashes.push(w.name);
            c.workers.splice(c.workers.indexOf(w), 1);
            await c.addWorker();
          }
        }
        await sleep(200);
      }
    })();
    const reply = await transcribeV1(c.api.url, u.api.token!, `${FIXTURES}/librispeech_61-70968-0000.flac`, `${POISON}.flac`);
    supervising = false;
    await supervisor;
    assert.notEqual(reply.status, 200, JSON.stringify(reply.body));
    assert.match(reply.body.error.message, /after 3 attempts/);
    const [row] = await c.query<{ id: string; state: string; attempts: number }>('select id, state, attempts from jobs where account_id = $1', [u.accountId]);
    assert.equal(row?.state, 'failed');
    assert.equal(row?.attempts, 3);
    assert.equal(crashes.length, 3, `three worker crashes: ${crashes.join(', ')}`);
    const [hold] = await c.query<{ state: string }>('select state from holds where job_id = $1', [row?.id]);
    assert.equal(hold?.state, 'released');
    assert.equal((await c.query("select * from ledger where reason = 'job' and job_id = $1", [row?.id])).length, 0, 'never charged');
    assert.deepEqual((await u.api.call('GET', '/api/credits/balance/simple')).body.data, before);
  });
});
