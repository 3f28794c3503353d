/**
 * The OpenAI-compatible endpoint driven by the official `openai` npm SDK, unchanged but for its
 * base URL and key, against a real server with the real model; and the SSE stream's keep-alive
 * pings and 15-minute cap (shortened here).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import OpenAI, { toFile } from 'openai';
import { wer } from '../../src/asr/wer.ts';
import { LIBRI_1089, SAMPLE_MP4, ffmpeg, tempDir } from '../helpers/media.ts';
import { newUser, runSse, startServer, type TestServer } from '../helpers/server.ts';

describe('POST /v1/audio/transcriptions with the official OpenAI SDK', () => {
  let srv: TestServer;
  let client: OpenAI;
  let api: Awaited<ReturnType<typeof newUser>>['api'];
  let accountId: string;
  before(async () => {
    srv = await startServer({ asrSlots: 1, renderSlots: 0 });
    const u = await newUser(srv.url);
    api = u.api;
    accountId = u.accountId;
    client = new OpenAI({ apiKey: u.api.token!, baseURL: `${srv.url}/v1`, maxRetries: 0 });
  });
  after(() => srv.close());

  test('json, verbose_json with word timestamps, srt and text; each call is charged', async () => {
    const audio = readFileSync(LIBRI_1089.file);
    const plain = await client.audio.transcriptions.create({ file: await toFile(audio, 'stew.flac'), model: 'whisper-1' });
    assert.ok(wer(LIBRI_1089.text, plain.text) < 0.2, plain.text);

    const verbose = await client.audio.transcriptions.create({
      file: await toFile(audio, 'stew.flac'),
      model: 'whisper-1',
      response_format: 'verbose_json',
      timestamp_granularities: ['word', 'segment'],
      language: 'en',
    });
    assert.equal(verbose.language, 'english');
    assert.ok(Math.abs(verbose.duration - 10.43) < 0.1);
    assert.ok(verbose.words && verbose.words.length >= 20, 'word timings');
    const stew = verbose.words!.find((w) => w.word.toLowerCase().includes('stew'));
    assert.ok(stew && stew.start > 0.5 && stew.end < 3, JSON.stringify(stew));
    assert.ok(verbose.segments && verbose.segments.length >= 1);

    const srt = await client.audio.transcriptions.create({
      file: await toFile(readFileSync(SAMPLE_MP4), 'jfk.mp4'),
      model: 'whisper-1',
      response_format: 'srt',
    });
    assert.match(srt as unknown as string, /^1\n00:00:0\d,\d{3} --> 00:00:\d\d,\d{3}\n/);
    const text = await client.audio.transcriptions.create({
      file: await toFile(readFileSync(SAMPLE_MP4), 'jfk.mp4'),
      model: 'whisper-1',
      response_format: 'text',
    });
    assert.match(text as unknown as string, /country/i);

    assert.deepEqual((await api.call('GET', '/api/credits/balance/simple')).body.data, { available: 96, frozen: 0, total: 96 }, 'four started minutes');

    // No model named on the server or in the request ("whisper-1" is OpenAI's name, not ours): base decoded every one, English too.
    const jobs = await srv.svc.db.selectFrom('jobs').select(['result']).where('account_id', '=', accountId).where('type', '=', 'transcribe').execute();
    assert.equal(jobs.length, 4);
    assert.deepEqual(
      jobs.map((j) => (JSON.parse(j.result ?? 'null') as { model?: string } | null)?.model),
      ['base', 'base', 'base', 'base'],
    );
  });

  test('errors arrive as the SDK expects: bad key 401, wrong file 415, English-only model asked to translate 400 (and not charged)', async () => {
    const bad = new OpenAI({ apiKey: 'nope', baseURL: `${srv.url}/v1`, maxRetries: 0 });
    await assert.rejects(bad.audio.transcriptions.create({ file: await toFile(readFileSync(LIBRI_1089.file), 'a.flac'), model: 'whisper-1' }), (e: unknown) => {
      assert.ok(e instanceof OpenAI.AuthenticationError);
      return true;
    });
    await assert.rejects(
      client.audio.transcriptions.create({ file: await toFile(Buffer.from('just text'), 'notes.txt'), model: 'whisper-1' }),
      (e: unknown) => {
        assert.ok(e instanceof OpenAI.APIError);
        assert.equal(e.status, 415);
        return true;
      },
    );
    // A real picture: a format this endpoint does not take (415, 4001, as the CLI says), not "no audio stream".
    const png = join(tempDir(), 'photo.png');
    ffmpeg('-f', 'lavfi', '-i', 'color=c=red:s=64x64', '-frames:v', '1', png);
    await assert.rejects(client.audio.transcriptions.create({ file: await toFile(readFileSync(png), 'photo.png'), model: 'whisper-1' }), (e: unknown) => {
      assert.ok(e instanceof OpenAI.APIError);
      assert.deepEqual([e.status, (e.error as { code?: number })?.code], [415, 4001]);
      return true;
    });
    const before = (await api.call('GET', '/api/credits/balance/simple')).body.data;
    await assert.rejects(
      // Named: the server's default (base) would translate.
      client.audio.translations.create({ file: await toFile(readFileSync(LIBRI_1089.file), 'a.flac'), model: 'tiny.en' }),
      (e: unknown) => {
        assert.ok(e instanceof OpenAI.BadRequestError, String(e));
        assert.match(e.message, /English-only/);
        return true;
      },
    );
    assert.deepEqual((await api.call('GET', '/api/credits/balance/simple')).body.data, before, 'a failed job releases its hold');
  });
});

describe('/run_sse keep-alive and cap', () => {
  test('pings while work waits, then at the cap a text reply says the work continues', async () => {
    // No ASR slot: the transcription stays queued, so the stream has only pings to send until the cap.
    const srv = await startServer({ asrSlots: 0, renderSlots: 0 }, { sse: { pingMs: 100, capMs: 700 } });
    try {
      const u = await newUser(srv.url);
      const fd = new FormData();
      fd.append('file', new Blob([new Uint8Array(readFileSync(SAMPLE_MP4))]), 'talk.mp4');
      await fetch(`${srv.url}/api/upload-video/nemo_agent/me/${u.sessionId}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${u.api.token}` },
        body: fd,
      });
      const r = await runSse(srv.url, u.api.token!, u.sessionId, 'transcribe the spoken dialogue into a text document');
      assert.ok(r.comments.filter((c) => c.trim() === 'ping').length >= 3, `pings: ${r.comments.length}`);
      assert.match(r.raw, /^: ping\n\n/m);
      const last = r.events.at(-1);
      assert.match(last.content.parts[0].text, /15-minute stream limit.*continues/s);
      const jobs = (await u.api.call('GET', `/api/state/nemo_agent/me/${u.sessionId}/latest`)).body.data.jobs;
      assert.equal(jobs[0].status, 'queued', 'the job outlives the stream');
    } finally {
      await srv.close();
    }
  });
});
