/**
 * `npm run cluster:demo`: vidscribe as a cluster on this machine. Starts a throwaway Postgres, an
 * S3 test server (s3rver), one `vidscribe serve --role api` process and two `--role worker`
 * processes, runs the seed workflow against the API (token → session → upload → transcribe over
 * SSE → export → download), prints which worker did what, and stops everything.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { EnvelopeView, MediaView } from '../src/api/views.ts';
import { startCluster, watchLeases, workerOf } from '../test/helpers/cluster.ts';
import { SAMPLE_MP4 } from '../test/helpers/media.ts';
import { ATTRIBUTION, newUser, oneClipDraft, runSse } from '../test/helpers/server.ts';

const say = (s: string) => process.stdout.write(`${s}\n`);

/** The text part of an agent event (ADK shape: content.parts[].text), if it has one. */
function textPart(event: unknown): string | undefined {
  const parts = (event as { content?: { parts?: { text?: unknown }[] } } | undefined)?.content?.parts;
  const text = parts?.find((p) => typeof p.text === 'string')?.text;
  return typeof text === 'string' ? text : undefined;
}

async function main(): Promise<void> {
  say('starting Postgres, the S3 test server, 1 API process and 2 worker processes…');
  const c = await startCluster({ workers: 2, workerArgs: ['--asr-slots', '1', '--render-slots', '1'] });
  const watch = watchLeases(c);
  try {
    say(`  api      pid ${c.api.pid}  ${c.api.url}`);
    for (const w of c.workers) say(`  ${w.name}  pid ${w.pid}  worker id ${w.workerId}`);
    say(`  database ${c.databaseUrl}`);
    say(`  blobs    ${c.s3.url}`);

    const u = await newUser(c.api.url);
    say(`\ntoken and session: account ${u.accountId}, session ${u.sessionId}`);
    const fd = new FormData();
    fd.append('file', new Blob([new Uint8Array(readFileSync(SAMPLE_MP4))]), basename(SAMPLE_MP4));
    const up = (await (
      await fetch(`${c.api.url}/api/upload-video/nemo_agent/me/${u.sessionId}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${u.api.token}` },
        body: fd,
      })
    ).json()) as EnvelopeView<{ media: MediaView[] }>;
    const uploaded = up.data?.media[0];
    if (up.code !== 0 || !uploaded) throw new Error(`upload: ${JSON.stringify(up)}`);
    const mediaId = uploaded.id;
    const stored = c.s3.writes.length;
    say(`uploaded ${basename(SAMPLE_MP4)} (${uploaded.size_bytes} bytes) → stored in S3 (${stored} write(s) to the bucket so far)`);

    say('\n"transcribe the spoken dialogue into a text document" over SSE (through the API process):');
    const sse = await runSse(c.api.url, u.api.token!, u.sessionId, 'transcribe the spoken dialogue into a text document', (e) => {
      const text = textPart(e.data);
      if (text && e.data?.partial) say(`  … ${text.trim()}`);
    });
    const last = textPart(sse.events.at(-1)) ?? '';
    say(`  reply: ${String(last).split('\n').slice(0, 3).join(' ').slice(0, 300)}`);

    say('\nexport (1280×720 render of the clip):');
    const exp = await u.api.call(
      'POST',
      '/api/render/proxy/lambda',
      { session_id: u.sessionId, draft: oneClipDraft(mediaId, { w: 1280, h: 720, d: 11_000 }) },
      ATTRIBUTION,
    );
    if (exp.body.code !== 0) throw new Error(`export: ${JSON.stringify(exp.body)}`);
    let st: { status: string; url?: string };
    for (;;) {
      st = (await u.api.call('GET', `/api/render/proxy/lambda/${exp.body.data.render_id}`)).body.data;
      if (st.status === 'completed' || st.status === 'failed') break;
      await new Promise((r) => setTimeout(r, 250));
    }
    if (st.status !== 'completed' || !st.url) throw new Error(`render ${st.status}: ${JSON.stringify(st)}`);
    const res = await fetch(st.url);
    const mp4 = Buffer.from(await res.arrayBuffer());
    const ranged = await fetch(st.url, { headers: { range: 'bytes=0-1023' } });
    say(`  downloaded ${mp4.length} bytes (HTTP ${res.status}); a ranged request got HTTP ${ranged.status} ${ranged.headers.get('content-range')}`);
    await ranged.arrayBuffer();

    const owners = await watch.stop();
    say('\nwho did what (from the job rows’ leases):');
    const jobs = await c.query<{ id: string; type: string; state: string; attempts: number }>('select id, type, state, attempts from jobs order by created_at');
    for (const j of jobs) {
      const ran = (owners.get(j.id) ?? []).map((o) => workerOf(c, o)?.name ?? o).join(' → ') || '(not seen running)';
      say(`  ${j.type.padEnd(10)} ${j.id}  ${j.state}, ${j.attempts} attempt(s), ran on ${ran}`);
    }
    const b = (await u.api.call('GET', '/api/credits/balance/simple')).body.data;
    say(`\ncredits left: ${b.available} of 100 (charged once per job)`);
  } finally {
    await watch.stop();
    say('\nstopping the cluster…');
    await c.stop();
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`cluster demo failed: ${(e as Error)?.stack ?? String(e)}\n`);
    process.exit(1);
  },
);
