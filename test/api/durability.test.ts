/**
 * Durability with a real server process: `vidscribe serve` is killed with SIGKILL in the middle
 * of a transcription and started again on the same data folder; the job resumes and completes,
 * the credits add up, and the uploaded file is intact. Also the admin command `credits add`.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ROOT, SAMPLE_MP4, ffmpeg } from '../helpers/media.ts';
import { serveProcess as serve } from '../helpers/serve-process.ts';
import { apiClient, newUser, postRunSse } from '../helpers/server.ts';

const BIN = join(ROOT, 'bin', 'vidscribe.js');
const work = mkdtempSync(join(tmpdir(), 'vidscribe-durability-'));
after(() => rmSync(work, { recursive: true, force: true }));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');

describe('a killed server resumes its jobs', () => {
  test('kill -9 mid-transcription, restart: the job completes once, credits are consistent, the upload is intact', async () => {
    // About three minutes of real speech (the JFK excerpt 16 times) keeps the job running long enough to be killed.
    const long = join(work, 'long.m4a');
    ffmpeg('-stream_loop', '15', '-i', SAMPLE_MP4, '-vn', '-c:a', 'aac', '-b:a', '64k', long);
    const dataDir = join(work, 'data');
    let server = await serve(dataDir);
    try {
      const u = await newUser(server.url);
      const fd = new FormData();
      fd.append('file', new Blob([new Uint8Array(readFileSync(long))]), 'long.m4a');
      const up = (await (
        await fetch(`${server.url}/api/upload-video/nemo_agent/me/${u.sessionId}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${u.api.token}` },
          body: fd,
        })
      ).json()) as any;
      assert.equal(up.code, 0, JSON.stringify(up));

      // Start the transcription through the agent and let the stream die with the server.
      const sse = postRunSse(server.url, u.api.token!, u.sessionId, 'transcribe this into a text document');

      let job: any;
      for (let i = 0; i < 600; i++) {
        job = (await u.api.call('GET', `/api/state/nemo_agent/me/${u.sessionId}/latest`)).body.data.jobs[0];
        if (job?.status === 'running' && job.progress > 0) break;
        await sleep(50);
      }
      assert.equal(job?.status, 'running', 'the transcription is under way when the server is killed');
      const price = job.price;
      assert.equal(price, Math.ceil(up.data.media[0].duration / 60), '1 credit per started minute');
      assert.deepEqual((await u.api.call('GET', '/api/credits/balance/simple')).body.data, { available: 100 - price, frozen: price, total: 100 });

      server.proc.kill('SIGKILL');
      await new Promise((r) => server.proc.once('exit', r));
      await sse;

      server = await serve(dataDir);
      const again = apiClient(server.url, u.api.token);
      let state: any;
      for (let i = 0; i < 1200; i++) {
        state = (await again.call('GET', `/api/state/nemo_agent/me/${u.sessionId}/latest`)).body.data;
        if (state.jobs[0].status === 'completed' || state.jobs[0].status === 'failed') break;
        await sleep(100);
      }
      assert.equal(state.jobs.length, 1);
      assert.equal(state.jobs[0].status, 'completed', JSON.stringify(state.jobs[0]));
      assert.equal(state.transcripts.length, 1, 'exactly one transcript');
      assert.ok((state.transcripts[0].text.match(/ask not what your country/gi) ?? []).length >= 12, 'the whole three minutes were transcribed');
      assert.deepEqual(
        (await again.call('GET', '/api/credits/balance/simple')).body.data,
        { available: 100 - price, frozen: 0, total: 100 - price },
        'charged once',
      );
      assert.equal(state.media[0].name, 'long.m4a');
      const blobs = readdirSync(join(dataDir, 'blobs'), { recursive: true, withFileTypes: true }).filter((e) => e.isFile() && e.name.endsWith('.m4a'));
      assert.equal(blobs.length, 1);
      assert.equal(sha(join(blobs[0]!.parentPath, blobs[0]!.name)), sha(long), 'the upload is byte-identical');
      assert.deepEqual(readdirSync(join(dataDir, 'tmp')), [], 'no debris from the killed process');
    } finally {
      server.proc.kill('SIGTERM');
    }
  });

  test('vidscribe credits add <account|token> N', async () => {
    const dataDir = join(work, 'admin');
    const server = await serve(dataDir);
    let u: Awaited<ReturnType<typeof newUser>>;
    try {
      u = await newUser(server.url);
    } finally {
      server.proc.kill('SIGTERM');
      await new Promise((r) => server.proc.once('exit', r));
    }
    const byToken = execFileSync(process.execPath, [BIN, 'credits', 'add', u.api.token!, '25', '--data', dataDir], { cwd: ROOT, encoding: 'utf8' });
    assert.match(byToken, new RegExp(`${u.accountId}: available 125, frozen 0, total 125`));
    const byAccount = execFileSync(process.execPath, [BIN, 'credits', 'add', u.accountId, '5', '--data', dataDir], { cwd: ROOT, encoding: 'utf8' });
    assert.match(byAccount, /available 130/);
    const unknown = (() => {
      try {
        execFileSync(process.execPath, [BIN, 'credits', 'add', 'nobody', '5', '--data', dataDir], { cwd: ROOT, encoding: 'utf8', stdio: 'pipe' });
        return '';
      } catch (e) {
        return String((e as { stderr: string }).stderr);
      }
    })();
    assert.match(unknown, /\[4104\] No account or token "nobody"/);
  });
});
