/**
 * Child processes (issue 8, finding 16): a `vidscribe serve` killed with -9 in the middle of a
 * transcription and a render takes its ASR worker and ffmpeg with it, and a restart finds nothing
 * left over; a restart stops a recorded process group that did survive, and only when it still
 * runs the recorded command.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { reapOrphans, recordChildrenIn, runTool } from '../../src/shared/process.ts';
import { SAMPLE_MP4, ffmpeg, tempDir } from '../helpers/media.ts';
import { serveProcess, type ServeProcess } from '../helpers/serve-process.ts';
import { ATTRIBUTION, form, newUser, oneClipDraft, postRunSse } from '../helpers/server.ts';

const work = tempDir('vidscribe-sec-proc-');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Proc {
  pid: number;
  ppid: number;
  comm: string;
  state: string;
}

/** Live processes from /proc (a zombie has exited: it only waits to be reaped). */
function processes(): Proc[] {
  const out: Proc[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (state !== 'Z') out.push({ pid: Number(name), ppid: Number(ppid), comm, state: state! });
    } catch {
      // the process ended while we looked: it is not alive
    }
  }
  return out;
}

const alive = (pid: number) => processes().some((p) => p.pid === pid);

describe('16: children die with the server', () => {
  let server: ServeProcess | undefined;
  after(() => server?.proc.kill('SIGTERM'));

  test('kill -9 during a transcription and a render: the ASR worker and ffmpeg are gone within seconds, and a restart finds no leftovers', async () => {
    // Three minutes of video: the transcription and the render both run long enough to be caught.
    const long = join(work, 'long.mp4');
    ffmpeg('-stream_loop', '15', '-i', SAMPLE_MP4, '-c', 'copy', long);
    const dataDir = join(work, 'data');
    server = await serveProcess(dataDir, ['--asr-slots', '1', '--render-slots', '1']);
    const u = await newUser(server.url);
    const up = (await (
      await fetch(`${server.url}/api/upload-video/nemo_agent/me/${u.sessionId}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${u.api.token}` },
        body: form([{ name: 'long.mp4', body: readFileSync(long) }]),
      })
    ).json()) as any;
    assert.equal(up.code, 0, JSON.stringify(up));

    const draft = oneClipDraft(up.data.media[0].id, { id: 'long', w: 1920, h: 1080, d: 120_000, fit: 'blur' });
    const render = await u.api.call('POST', '/api/render/proxy/lambda', { session_id: u.sessionId, draft }, ATTRIBUTION);
    assert.equal(render.body.code, 0, JSON.stringify(render.body));
    const sse = postRunSse(server.url, u.api.token!, u.sessionId, 'transcribe this into a text document');

    // Wait until the server's children include the render's ffmpeg and the ASR worker, both at work.
    const serverPid = server.proc.pid!;
    let children: Proc[] = [];
    let jobs: any[] = [];
    for (let i = 0; i < 600; i++) {
      children = processes().filter((p) => p.ppid === serverPid);
      jobs = (await u.api.call('GET', `/api/state/nemo_agent/me/${u.sessionId}/latest`)).body.data.jobs as any[];
      if (children.some((p) => p.comm === 'ffmpeg') && children.some((p) => /^python/.test(p.comm))) break;
      await sleep(100);
    }
    const ours = children.filter((p) => p.comm === 'ffmpeg' || /^python/.test(p.comm));
    assert.ok(
      ours.some((p) => p.comm === 'ffmpeg') && ours.some((p) => /^python/.test(p.comm)),
      `children: ${JSON.stringify(children)}; jobs: ${JSON.stringify(jobs)}`,
    );
    server.proc.kill('SIGKILL');
    await new Promise((r) => server!.proc.once('exit', r));
    await sse;
    let left = ours;
    for (let i = 0; i < 50 && left.length > 0; i++) {
      await sleep(100);
      left = left.filter((p) => alive(p.pid));
    }
    assert.deepEqual(left, [], 'the worker and ffmpeg outlived the server');
    // A kill -9 leaves no time to clear records: they are there for the restart.
    const recorded = readdirSync(join(dataDir, 'children'));
    for (const p of ours) assert.ok(recorded.includes(`${p.pid}.json`), `child ${p.pid} (${p.comm}) was recorded`);

    // The restart has nothing to stop, and the dead server's records are cleared.
    server = await serveProcess(dataDir, ['--asr-slots', '1', '--render-slots', '1']);
    assert.doesNotMatch(server.stderr(), /process group\(s\) a previous server left running/);
    for (const p of ours) assert.equal(existsSync(join(dataDir, 'children', `${p.pid}.json`)), false, `record of ${p.pid} cleared`);
    server.proc.kill('SIGTERM');
    await new Promise((r) => server!.proc.once('exit', r));
    server = undefined;
  });

  test('a restart stops a recorded process group that survived, and leaves a recycled pid running another command alone', async () => {
    const dir = join(work, 'records');
    // Two stand-ins for survivors, each the leader of its own process group as the runner makes them.
    const survivor = spawn('sleep', ['300'], { detached: true, stdio: 'ignore' });
    const stranger = spawn('sleep', ['301'], { detached: true, stdio: 'ignore' });
    try {
      recordChildrenIn(dir);
      writeFileSync(join(dir, `${survivor.pid}.json`), JSON.stringify({ pgid: survivor.pid, argv: ['sleep', '300'], startedAt: Date.now() }));
      // A record whose pid now belongs to something else (the pid was recycled).
      writeFileSync(join(dir, `${stranger.pid}.json`), JSON.stringify({ pgid: stranger.pid, argv: ['ffmpeg', '-i', 'x.mp4'], startedAt: Date.now() }));
      const survivorExit = new Promise((r) => survivor.once('exit', (_c, s) => r(s)));

      assert.deepEqual(reapOrphans(dir), [survivor.pid]);
      assert.equal(await survivorExit, 'SIGKILL');
      assert.ok(alive(stranger.pid!), 'a process running another command is left alone');
      assert.deepEqual(readdirSync(dir), [], 'records cleared');

      // A child of the runner is recorded while it runs, and its record goes when it exits.
      const seen: string[][] = [];
      const t = setInterval(() => seen.push(readdirSync(dir)), 5);
      await runTool('sleep', ['0.3'], { what: 'sleeping' });
      clearInterval(t);
      assert.ok(
        seen.some((names) => names.length === 1),
        'recorded while running',
      );
      assert.deepEqual(readdirSync(dir), [], 'record removed on exit');
    } finally {
      survivor.kill('SIGKILL');
      stranger.kill('SIGKILL');
    }
  });
});
