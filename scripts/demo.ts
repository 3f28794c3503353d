/**
 * `npm run demo`: the main job on the embedded defaults. Starts the vidscribe service (SQLite,
 * local files, in-process workers, the bundled model) in a temporary data folder, then does what
 * a user's agent does: anonymous token → session → upload the bundled sample video → ask the
 * agent over SSE to "transcribe the spoken dialogue into a text document" → print the document.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from '../src/api/app.ts';
import { openServices } from '../src/api/services.ts';
import { PROJECT_ROOT } from '../src/asr/index.ts';

const SAMPLE = join(PROJECT_ROOT, 'samples', 'jfk_inaugural_1961.mp4');
const step = (s: string) => process.stderr.write(`[demo] ${s}\n`);

const dataDir = mkdtempSync(join(tmpdir(), 'vidscribe-demo-'));
const svc = await openServices({ dataDir });
const app = await buildApp(svc);
const base = await app.listen({ port: 0, host: '127.0.0.1' });
try {
  step(`vidscribe serving on ${base} (SQLite + files in ${dataDir}, model ${svc.config.model})`);
  const json = async (path: string, init: RequestInit) => {
    // biome-ignore lint/suspicious/noExplicitAny: the demo reads whatever each endpoint returns
    const body = (await (await fetch(base + path, init)).json()) as { code: number; message: string; data: any };
    if (body.code !== 0) throw new Error(`${path}: [${body.code}] ${body.message}`);
    return body.data;
  };
  const { token } = await json('/api/auth/anonymous-token', { method: 'POST', headers: { 'x-client-id': `demo-${process.pid}-${Date.now()}` } });
  const auth = { authorization: `Bearer ${token}` };
  const { session_id } = await json('/api/tasks/me/with-session/nemo_agent', {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ task_name: 'project', language: 'en' }),
  });
  const fd = new FormData();
  fd.append('file', new Blob([new Uint8Array(readFileSync(SAMPLE))], { type: 'video/mp4' }), 'jfk_inaugural_1961.mp4');
  const { media } = await json(`/api/upload-video/nemo_agent/me/${session_id}`, { method: 'POST', headers: auth, body: fd });
  step(`uploaded ${media[0].name} (${media[0].duration.toFixed(1)} s, ${media[0].width}×${media[0].height})`);
  const message = 'transcribe the spoken dialogue into a text document';
  step(`agent: "${message}"`);
  const res = await fetch(`${base}/run_sse`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ app_name: 'nemo_agent', user_id: 'me', session_id, new_message: { role: 'user', parts: [{ text: message }] }, streaming: true }),
  });
  let buffer = '';
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += Buffer.from(chunk).toString('utf8');
    let i: number;
    while ((i = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, i);
      buffer = buffer.slice(i + 2);
      if (!block.startsWith('data: ')) continue;
      const e = JSON.parse(block.slice(6));
      for (const p of e.content.parts) {
        if (p.functionCall) step(`tool call ${p.functionCall.name} ${JSON.stringify(p.functionCall.args)}`);
        else if (p.text && e.partial) step(p.text);
      }
    }
  }
  const state = await json(`/api/state/nemo_agent/me/${session_id}/latest`, { headers: auth });
  const doc = state.files.find((f: { name: string }) => f.name.endsWith('.txt'));
  const balance = await json('/api/credits/balance/simple', { headers: auth });
  step(`document ${doc.name}; credits: ${balance.available} available, ${100 - balance.total} charged`);
  process.stdout.write(await (await fetch(doc.url)).text());
} finally {
  await app.close();
  await svc.close();
  rmSync(dataDir, { recursive: true, force: true });
}
