/**
 * Media intake (issue 8, findings 12 and 13), against a real server with the real ffprobe, ffmpeg
 * and model:
 * - 12: an MP3 whose first frame makes ffprobe estimate a fraction of its length is priced on
 *   what is decoded, and reports the decoded duration; an account that cannot pay the true
 *   price gets 2001 and is charged nothing.
 * - 13: an uploaded HLS playlist (named .mp4) is refused with one code whether the path it names
 *   exists or not, and neither ffprobe, ffmpeg nor the ASR worker's own decoder opens that path.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, constants, openSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { basename, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ONE_OFF_UPLOADS_AT_ONCE_PER_ACCOUNT, oneOffUploadsInProgressOf, uploadsInProgressOf } from '../../src/api/uploads.ts';
import { AsrWorker } from '../../src/asr/index.ts';
import { extractSpeechAudio, probeMedia, type MediaInfo } from '../../src/media/index.ts';
import { ErrorCode } from '../../src/shared/errors.ts';
import { rejectsWith } from '../helpers/assert.ts';
import { SAMPLE_MP4, ffmpeg, tempDir, wavHeader } from '../helpers/media.ts';
import { form, newUser, startServer, streamUpload, type TestServer } from '../helpers/server.ts';

const work = tempDir('vidscribe-sec-media-');

function ffprobeDuration(file: string): number {
  return Number(execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', file], { encoding: 'utf8' }).trim());
}

function decodedDuration(file: string): number {
  const pcm = execFileSync('ffmpeg', ['-nostdin', '-v', 'quiet', '-i', file, '-ac', '1', '-ar', '16000', '-f', 's16le', '-'], { maxBuffer: 1 << 30 });
  return pcm.length / 2 / 16000;
}

/**
 * Three seconds at 320 kb/s followed by about two minutes of the same speech at 32 kb/s, no Xing
 * header: ffprobe takes the first frame's bitrate for the whole file and estimates ~16 s.
 */
function lyingMp3(): string {
  const lame = ['-ac', '1', '-ar', '44100', '-c:a', 'libmp3lame', '-map_metadata', '-1', '-id3v2_version', '0', '-write_id3v1', '0', '-write_xing', '0'];
  const head = join(work, 'head.mp3');
  const body = join(work, 'body.mp3');
  ffmpeg('-i', SAMPLE_MP4, '-t', '3', ...lame, '-b:a', '320k', head);
  ffmpeg('-stream_loop', '10', '-i', SAMPLE_MP4, ...lame, '-b:a', '32k', body);
  const out = join(work, 'liar.mp3');
  writeFileSync(out, Buffer.concat([readFileSync(head), readFileSync(body)]));
  return out;
}

async function transcribeV1(srv: TestServer, token: string, file: string) {
  const fd = form([{ name: 'talk.mp3', body: readFileSync(file), type: 'audio/mpeg' }]);
  fd.append('model', 'whisper-1');
  fd.append('response_format', 'verbose_json');
  const res = await fetch(`${srv.url}/v1/audio/transcriptions`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: fd });
  return { status: res.status, body: (await res.json()) as any };
}

describe('12: a transcription is priced on the duration actually decoded', () => {
  let srv: TestServer;
  let liar: string;
  let decoded: number;
  before(async () => {
    liar = lyingMp3();
    decoded = decodedDuration(liar);
    // The fixture must really make ffprobe lie, or the tests below prove nothing.
    assert.ok(ffprobeDuration(liar) < 30, `ffprobe estimates ${ffprobeDuration(liar)} s`);
    assert.ok(decoded > 120, `decoded ${decoded} s`);
    srv = await startServer({ asrSlots: 1, renderSlots: 0 });
  });
  after(() => srv.close());

  test('an MP3 whose header claims ~16 s but decodes to over 2 min is charged 3 credits, and /v1 reports the decoded duration', async () => {
    const u = await newUser(srv.url);
    const r = await transcribeV1(srv, u.api.token!, liar);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.ok(Math.abs(r.body.duration - decoded) < 1, `duration ${r.body.duration}, decoded ${decoded}`);
    const price = Math.ceil(decoded / 60);
    assert.equal(price, 3);
    assert.deepEqual((await u.api.call('GET', '/api/credits/balance/simple')).body.data, { available: 100 - price, frozen: 0, total: 100 - price });
  });

  test('an account that can pay the estimate but not the decoded length gets 2001 and is charged nothing', async () => {
    const u = await newUser(srv.url);
    await srv.svc.ledger.grant(srv.svc.db, u.accountId, -98, 'test: leave 2 credits');
    const r = await transcribeV1(srv, u.api.token!, liar);
    assert.equal(r.status, 402, JSON.stringify(r.body));
    assert.equal(r.body.error?.code ?? r.body.code, 2001, JSON.stringify(r.body));
    assert.deepEqual((await u.api.call('GET', '/api/credits/balance/simple')).body.data, { available: 2, frozen: 0, total: 2 });
  });

  test("a job's error names the file as its sender did, not as the store keeps it", async () => {
    // A WAV header with no samples: ffprobe takes it, the decoding finds nothing.
    const header = wavHeader(0);
    const u = await newUser(srv.url);
    const fd = form([{ name: 'my interview.wav', body: header, type: 'audio/wav' }]);
    const res = await fetch(`${srv.url}/v1/audio/transcriptions`, { method: 'POST', headers: { authorization: `Bearer ${u.api.token}` }, body: fd });
    const body = (await res.json()) as { error?: { code?: number; message?: string } };
    assert.equal(body.error?.code, ErrorCode.CorruptMedia, JSON.stringify(body));
    assert.match(body.error?.message ?? '', /^my interview\.wav: /, JSON.stringify(body));
  });

  test('a file with no length in its header is decoded only as far as its account can pay: then 2001, nothing charged', async () => {
    // Live Matroska names no duration: held at one minute's price, it held 30 hours of audio, all
    // of it decoded (gigabytes of PCM, the speech model held meanwhile) before the 2001.
    const live = join(work, 'live.mkv');
    ffmpeg('-f', 'lavfi', '-i', 'sine=f=300:r=16000:d=180', '-ac', '1', '-c:a', 'flac', '-live', '1', '-f', 'matroska', live);
    assert.ok(!(ffprobeDuration(live) > 0), 'the fixture names no duration');
    const u = await newUser(srv.url);
    await srv.svc.ledger.grant(srv.svc.db, u.accountId, -99, 'test: leave 1 credit');
    const r = await transcribeV1(srv, u.api.token!, live);
    assert.equal(r.status, 402, JSON.stringify(r.body));
    assert.match(r.body.error?.message ?? '', /longer than the 1\.0 min your credits pay for/, JSON.stringify(r.body));
    assert.deepEqual((await u.api.call('GET', '/api/credits/balance/simple')).body.data, { available: 1, frozen: 0, total: 1 });
  });
});

describe('/v1 keeps no file for a transcription it will not run', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startServer({ asrSlots: 0, renderSlots: 0 });
  });
  after(() => srv.close());

  test('an account that cannot pay gets 2001 before its file enters the store', async () => {
    const u = await newUser(srv.url);
    await srv.svc.ledger.grant(srv.svc.db, u.accountId, -100, 'test: no credits left');
    // A file no one has sent before (the store keeps one copy per content).
    const file = join(work, 'unique.wav');
    ffmpeg('-f', 'lavfi', '-i', `sine=f=${300 + Math.floor(Math.random() * 500)}:d=3`, '-ar', '16000', file);
    const blobs = () => readdirSync(join(srv.dataDir, 'blobs'), { recursive: true }).length;
    const before = blobs();
    const fd = form([{ name: 'unique.wav', body: readFileSync(file), type: 'audio/wav' }]);
    fd.append('model', 'whisper-1');
    const res = await fetch(`${srv.url}/v1/audio/transcriptions`, { method: 'POST', headers: { authorization: `Bearer ${u.api.token}` }, body: fd });
    const body = (await res.json()) as { error?: { code?: unknown }; code?: unknown };
    assert.equal(res.status, 402, JSON.stringify(body));
    assert.equal(body.error?.code ?? body.code, 2001);
    assert.equal(blobs(), before, 'nothing was added to the store');
  });
});

describe('/v1 checks the account before reading its file, as a session upload does', () => {
  const MB = 1024 * 1024;
  let srv: TestServer;
  before(async () => {
    srv = await startServer({ asrSlots: 0, renderSlots: 0, quotaBytes: MB });
  });
  after(() => srv.close());
  const v1 = () => `${srv.url}/v1/audio/transcriptions`;

  test('past the storage quota: 4002 where the quota ends, not after 20 MB; no credits: 2001 before the file is read', async () => {
    const u = await newUser(srv.url);
    const big = await streamUpload(v1(), u.api.token!, 'big.wav', 20 * MB);
    assert.equal(big.status, 413, JSON.stringify(big.body));
    assert.equal(big.body.error?.code, 4002);
    assert.match(big.body.error?.message ?? '', /storage quota/);
    assert.ok(big.sentWhenAnswered < 20 * MB, `answered after ${big.sentWhenAnswered} bytes`);
    const poor = await newUser(srv.url);
    await srv.svc.ledger.grant(srv.svc.db, poor.accountId, -100, 'test: no credits left');
    const refused = await streamUpload(v1(), poor.api.token!, 'talk.wav', 20 * MB);
    assert.equal(refused.status, 402, JSON.stringify(refused.body));
    assert.equal(refused.body.error?.code, 2001);
    assert.ok(refused.sentWhenAnswered < 20 * MB, `answered after ${refused.sentWhenAnswered} bytes`);
    assert.deepEqual(readdirSync(join(srv.dataDir, 'tmp')), [], 'no scratch left');
  });

  test(`a /v1 file past the ${ONE_OFF_UPLOADS_AT_ONCE_PER_ACCOUNT} an account may be sending at once is 429; their places come back when they end`, async () => {
    const u = await newUser(srv.url);
    const boundary = 'held-upload';
    const { hostname, port } = new URL(srv.url);
    // Uploads that send the start of a file and wait.
    const held = Array.from({ length: ONE_OFF_UPLOADS_AT_ONCE_PER_ACCOUNT }, () => {
      const req = request({
        host: hostname,
        port,
        path: '/v1/audio/transcriptions',
        method: 'POST',
        headers: { authorization: `Bearer ${u.api.token}`, 'content-type': `multipart/form-data; boundary=${boundary}`, 'transfer-encoding': 'chunked' },
      });
      req.on('error', () => {});
      req.write(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\nContent-Type: audio/wav\r\n\r\n`);
      req.write(Buffer.alloc(64 * 1024, 1));
      return req;
    });
    const sending = () => oneOffUploadsInProgressOf(u.accountId);
    for (let i = 0; i < 100 && sending() < ONE_OFF_UPLOADS_AT_ONCE_PER_ACCOUNT; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(sending(), ONE_OFF_UPLOADS_AT_ONCE_PER_ACCOUNT);
    const more = await streamUpload(v1(), u.api.token!, 'd.wav', 64 * 1024);
    assert.equal(more.status, 429, JSON.stringify(more.body));
    assert.equal(more.body.error?.code, 429);
    assert.equal(uploadsInProgressOf(u.accountId), 0, 'a session upload has places of its own');
    for (const req of held) req.destroy();
    for (let i = 0; i < 100 && sending() > 0; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(sending(), 0);
  });
});

describe('/v1 keeps no file after its job: an API client never fills its storage quota', () => {
  const size = readFileSync(SAMPLE_MP4).length;
  let srv: TestServer;
  before(async () => {
    // Room for two files of the sample's size; three transcriptions of it run one after the other.
    srv = await startServer({ asrSlots: 1, renderSlots: 0, quotaBytes: 2 * size });
  });
  after(() => srv.close());

  test('three transcriptions in a row all succeed (the third was 4002 while each file was kept), and the store holds none of their files', async () => {
    const u = await newUser(srv.url);
    const blobsBefore = readdirSync(join(srv.dataDir, 'blobs'), { recursive: true }).filter((f) => String(f).includes('.')).length;
    for (let i = 0; i < 3; i++) {
      const fd = form([{ name: 'jfk.mp4', body: readFileSync(SAMPLE_MP4), type: 'video/mp4' }]);
      fd.append('model', 'whisper-1');
      fd.append('response_format', 'text');
      const res = await fetch(`${srv.url}/v1/audio/transcriptions`, { method: 'POST', headers: { authorization: `Bearer ${u.api.token}` }, body: fd });
      const text = await res.text();
      assert.equal(res.status, 200, `call ${i + 1}: ${text}`);
      assert.match(text, /country/i);
      assert.deepEqual(await srv.svc.queue.oneOffUploads(u.accountId), { files: 0, bytes: 0 });
    }
    const blobsAfter = readdirSync(join(srv.dataDir, 'blobs'), { recursive: true }).filter((f) => String(f).includes('.')).length;
    assert.equal(blobsAfter, blobsBefore, 'no file of the three is left in the store');
    const jobs = await srv.svc.db.selectFrom('jobs').select(['state', 'payload']).where('account_id', '=', u.accountId).execute();
    assert.equal(jobs.length, 3);
    for (const j of jobs) {
      assert.equal(j.state, 'completed');
      await rejectsWith(srv.svc.blobs.stat((JSON.parse(j.payload) as { storeKey: string }).storeKey), ErrorCode.NotFound);
    }
  });
});

describe('/v1 files of jobs that ended while no request waited are removed when the server starts', () => {
  test('a cancelled /v1 job left with its file by a stopped server: the next start removes the file and stops counting it', async () => {
    const first = await startServer({ asrSlots: 0, renderSlots: 0 });
    const u = await newUser(first.url);
    const scratch = first.svc.blobs.scratchPath('mp4');
    writeFileSync(scratch, readFileSync(SAMPLE_MP4));
    const blob = await first.svc.blobs.putUnshared(scratch, { ext: 'mp4', sha256: 'x' });
    const job = await first.svc.queue.enqueue({
      type: 'transcribe',
      accountId: u.accountId,
      sessionId: null,
      payload: { mediaId: null, storeKey: blob.key, name: 'jfk.mp4', durationSec: 11, sizeBytes: blob.sizeBytes, ownBlob: true, options: {} },
      price: 1,
      noCreditsMessage: 'no credits',
    });
    await first.svc.queue.cancel(job.id);
    await first.close({ keepData: true });
    const again = await startServer({ dataDir: first.dataDir, asrSlots: 0, renderSlots: 0 });
    try {
      for (let i = 0; i < 100 && (await again.svc.queue.oneOffUploads(u.accountId)).files > 0; i++) await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(await again.svc.queue.oneOffUploads(u.accountId), { files: 0, bytes: 0 });
      await rejectsWith(again.svc.blobs.stat(blob.key), ErrorCode.NotFound);
    } finally {
      await again.close();
    }
  });
});

describe('a picture is decoded only up to 50 megapixels', () => {
  test('an 8000 × 8000 PNG (64 MP, 2 GB for ffprobe at 16 bits) is refused with 4005 naming the limit; 4000 × 3000 is a picture', async () => {
    const srv = await startServer({ asrSlots: 0, renderSlots: 0 });
    try {
      const big = join(work, 'big.png');
      const fine = join(work, 'fine.png');
      ffmpeg('-f', 'lavfi', '-i', 'color=c=black:s=8000x8000', '-frames:v', '1', '-pix_fmt', 'rgba64be', big);
      ffmpeg('-f', 'lavfi', '-i', 'color=c=black:s=4000x3000', '-frames:v', '1', fine);
      const u = await newUser(srv.url);
      const refused = await u.api.call('POST', `/api/upload-video/nemo_agent/me/${u.sessionId}`, form([{ name: 'big.png', body: readFileSync(big) }]));
      assert.equal(refused.body.code, ErrorCode.CorruptMedia, JSON.stringify(refused.body));
      assert.match(refused.body.message, /larger than 50 megapixels/);
      const taken = await u.api.call('POST', `/api/upload-video/nemo_agent/me/${u.sessionId}`, form([{ name: 'fine.png', body: readFileSync(fine) }]));
      assert.equal(taken.body.code, 0, JSON.stringify(taken.body));
      assert.equal(taken.body.data.media[0].kind, 'image');
    } finally {
      await srv.close();
    }
  });
});

describe('13: user media is opened only by the allowed demuxers', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startServer({ asrSlots: 0, renderSlots: 0 });
  });
  after(() => srv.close());

  const playlist = (target: string) => `#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n${target}\n#EXT-X-ENDLIST\n`;

  /**
   * A FIFO named like a segment: whoever opens it for reading is seen by a non-blocking open for
   * writing (which fails with ENXIO while no reader has it open). If ffprobe opens it, it is
   * released with an immediate EOF so that nothing hangs.
   */
  function watchedFifo(): { path: string; opened: () => boolean; stop: () => void } {
    const path = join(work, `segment-${Math.random().toString(36).slice(2)}.mp4`);
    execFileSync('mkfifo', [path]);
    let opened = false;
    const t = setInterval(() => {
      try {
        closeSync(openSync(path, constants.O_WRONLY | constants.O_NONBLOCK));
        opened = true;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENXIO') throw e;
      }
    }, 5);
    return { path, opened: () => opened, stop: () => clearInterval(t) };
  }

  test('a playlist naming /etc/passwd, an existing video, a missing path or a FIFO: the same refusal, and the FIFO is never opened', async () => {
    const u = await newUser(srv.url);
    const fifo = watchedFifo();
    try {
      const answers: { status: number; code: number; message: string }[] = [];
      for (const target of ['/etc/passwd', SAMPLE_MP4, join(work, 'no-such-file.mp4'), fifo.path]) {
        const res = await fetch(`${srv.url}/api/upload-video/nemo_agent/me/${u.sessionId}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${u.api.token}` },
          body: form([{ name: 'clip.mp4', body: playlist(target) }]),
        });
        const body = (await res.json()) as any;
        answers.push({ status: res.status, code: body.code, message: body.message });
      }
      assert.equal(answers[0]!.code, ErrorCode.UnsupportedFormat, JSON.stringify(answers));
      for (const a of answers) assert.deepEqual(a, answers[0], `one answer whatever the playlist names: ${JSON.stringify(answers)}`);
      assert.equal(fifo.opened(), false, 'ffprobe opened the file the playlist names');
      assert.deepEqual((await u.api.call('GET', `/api/state/nemo_agent/me/${u.sessionId}/latest`)).body.data.media, []);
    } finally {
      fifo.stop();
    }
  });

  test('the CLI path (probe, then extraction) refuses a playlist without opening what it names', async () => {
    const fifo = watchedFifo();
    try {
      const list = join(work, 'list.mp4');
      writeFileSync(list, playlist(fifo.path));
      await rejectsWith(probeMedia(list), ErrorCode.UnsupportedFormat);
      // Extraction is guarded on its own too, even if handed a file that skipped the probe.
      const info: MediaInfo = {
        path: list,
        sizeBytes: 100,
        container: 'mov,mp4,m4a,3gp,3g2,mj2',
        durationSec: 10,
        audio: [{ audioIndex: 0, streamIndex: 0, codec: 'aac', channels: 1, sampleRate: 16000 }],
        video: [],
      };
      await rejectsWith(extractSpeechAudio(info), ErrorCode.CorruptMedia);
      assert.equal(fifo.opened(), false, 'ffprobe or ffmpeg opened the file the playlist names');
    } finally {
      fifo.stop();
    }
  });

  test('the ASR worker, decoding a file itself, opens only the sound demuxers: a playlist is refused unopened', async () => {
    const fifo = watchedFifo();
    const worker = new AsrWorker({ model: 'tiny.en' });
    try {
      // An HLS playlist, and an ffconcat list (its decoder's FFmpeg opens a relative name beside the list).
      const hls = join(work, 'list-for-worker.mp4');
      writeFileSync(hls, playlist(fifo.path));
      const concat = join(work, 'concat-for-worker.mp4');
      writeFileSync(concat, `ffconcat version 1.0\nfile ${basename(fifo.path)}\n`);
      for (const list of [hls, concat]) {
        await rejectsWith(worker.transcribe({ mediaPath: list, streamIndex: 0, expectedSec: 10 }), ErrorCode.CorruptMedia, /could not open/);
      }
      // Long enough for the fifo watcher to see an open that happened.
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(fifo.opened(), false, 'the worker opened the file a list names');
    } finally {
      fifo.stop();
      await worker.close();
    }
  });
});

describe('a free token cannot fill the disk: uploads one account keeps are bounded (--quota-mb)', () => {
  const size = readFileSync(SAMPLE_MP4).length;
  let srv: TestServer;
  before(async () => {
    // Room for exactly two samples.
    srv = await startServer({ asrSlots: 0, renderSlots: 0, quotaBytes: 2 * size });
  });
  after(() => srv.close());

  const upload = (u: Awaited<ReturnType<typeof newUser>>, sessionId: string, n = 1) =>
    u.api.call(
      'POST',
      `/api/upload-video/nemo_agent/me/${sessionId}`,
      form(Array.from({ length: n }, (_, i) => ({ name: `jfk${i}.mp4`, body: readFileSync(SAMPLE_MP4) }))),
    );

  test('across sessions: the upload that would pass the quota is 4002 and stores nothing; a full account is refused before its upload is read; another account is not affected', async () => {
    const u = await newUser(srv.url);
    assert.equal((await upload(u, u.sessionId)).body.code, 0);
    const second = await u.api.call('POST', '/api/tasks/me/with-session/nemo_agent', { task_name: 'second' });
    const sid2 = second.body.data.session_id as string;
    const over = await upload(u, sid2, 2);
    assert.equal(over.status, 413);
    assert.equal(over.body.code, ErrorCode.FileTooLarge);
    assert.match(over.body.message, /storage quota/);
    assert.equal(over.body.data.used_bytes, size);
    const state = await u.api.call('GET', `/api/state/nemo_agent/me/${sid2}/latest`);
    assert.deepEqual(state.body.data.media, [], 'nothing of the refused upload was recorded');
    assert.equal((await upload(u, sid2)).body.code, 0, 'one more fits');
    // Full: refused before a byte of the file is read (the reply comes while the body is still unread).
    const full = await upload(u, sid2);
    assert.equal(full.body.code, ErrorCode.FileTooLarge);
    assert.match(full.body.message, /fill its storage quota/);
    // URL uploads count too.
    const byUrl = await u.api.call('POST', `/api/upload-video/nemo_agent/me/${sid2}`, { urls: ['http://127.0.0.1:9/x.mp4'] });
    assert.equal(byUrl.body.code, ErrorCode.FileTooLarge);
    const other = await newUser(srv.url);
    assert.equal((await upload(other, other.sessionId, 2)).body.code, 0);
  });

  test('a request of more files than the quota has room for is cut off at the file that passes it, as the quota', async () => {
    const u = await newUser(srv.url);
    const r = await upload(u, u.sessionId, 3);
    assert.equal(r.body.code, ErrorCode.FileTooLarge);
    assert.match(r.body.message, /storage quota: it keeps 0\.\d MB of .*, and the upload is larger than the .* left/);
    assert.deepEqual((await u.api.call('GET', `/api/state/nemo_agent/me/${u.sessionId}/latest`)).body.data.media, []);
  });

  test('a /v1 file counts in the quota while its job waits; when the client hangs up, the job is cancelled and the file removed', async () => {
    const u = await newUser(srv.url);
    const v1 = (signal?: AbortSignal) => {
      const fd = form([{ name: 'jfk.mp4', body: readFileSync(SAMPLE_MP4), type: 'video/mp4' }]);
      fd.append('model', 'whisper-1');
      return fetch(`${srv.url}/v1/audio/transcriptions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${u.api.token}` },
        body: fd,
        ...(signal ? { signal } : {}),
      });
    };
    // No ASR slot here: the request waits for its job; once the job is queued, the client gives up.
    const ac = new AbortController();
    const waiting = v1(ac.signal).catch(() => undefined);
    for (let i = 0; i < 100 && (await srv.svc.queue.oneOffUploads(u.accountId)).files === 0; i++) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(await srv.svc.queue.oneOffUploads(u.accountId), { files: 1, bytes: size });
    assert.equal((await upload(u, u.sessionId, 2)).body.code, ErrorCode.FileTooLarge, 'the waiting /v1 file and two more pass the quota of two');
    const [job] = await srv.svc.db.selectFrom('jobs').select(['id', 'payload']).where('account_id', '=', u.accountId).execute();
    const key = (JSON.parse(job!.payload) as { storeKey: string }).storeKey;
    assert.equal((await srv.svc.blobs.stat(key)).sizeBytes, size);
    ac.abort();
    await waiting;
    for (let i = 0; i < 100 && (await srv.svc.queue.oneOffUploads(u.accountId)).files > 0; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal((await srv.svc.queue.get(job!.id))?.state, 'cancelled');
    assert.deepEqual(await srv.svc.queue.oneOffUploads(u.accountId), { files: 0, bytes: 0 }, 'no longer counted');
    await rejectsWith(srv.svc.blobs.stat(key), ErrorCode.NotFound);
    assert.equal((await upload(u, u.sessionId, 2)).body.code, 0, 'the quota has room for two again');
    const full = await v1();
    const body = (await full.json()) as { error?: { code?: unknown; message?: string } };
    assert.equal(full.status, 413, JSON.stringify(body));
    assert.match(body.error?.message ?? '', /fill its storage quota|would pass/);
    const jobs = await srv.svc.db.selectFrom('jobs').select('id').where('account_id', '=', u.accountId).execute();
    assert.equal(jobs.length, 1, 'no second job');
  });

  test('a full session refuses an upload before storing it (it was refused only as it was recorded, leaving its file behind)', async () => {
    const small = await startServer({ asrSlots: 0, renderSlots: 0, sessionLimits: { mediaPerSession: 1 } });
    try {
      const u = await newUser(small.url);
      const file = join(work, 'unique-full.wav');
      ffmpeg('-f', 'lavfi', '-i', `sine=f=${300 + Math.floor(Math.random() * 500)}:d=2`, '-ar', '16000', file);
      const send = () =>
        u.api.call('POST', `/api/upload-video/nemo_agent/me/${u.sessionId}`, form([{ name: 'unique-full.wav', body: readFileSync(file), type: 'audio/wav' }]));
      const blobs = () => readdirSync(join(small.dataDir, 'blobs'), { recursive: true }).filter((f) => String(f).includes('.')).length;
      assert.equal((await upload(u, u.sessionId)).body.code, 0);
      const before = blobs();
      const r = await send();
      assert.equal(r.status, 400);
      assert.match(r.body.message, /at most 1 uploads/);
      assert.equal(blobs(), before, 'nothing entered the store');
    } finally {
      await small.close();
    }
  });

  test('an account has at most 3 uploads in progress at once: a fourth is 429 until one ends', async () => {
    const u = await newUser(srv.url);
    const { port } = new URL(srv.url);
    // Three uploads that send their first bytes and then wait.
    const hanging = Array.from({ length: 3 }, () => {
      const req = request({
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: `/api/upload-video/nemo_agent/me/${u.sessionId}`,
        headers: { authorization: `Bearer ${u.api.token}`, 'content-type': 'multipart/form-data; boundary=x', 'transfer-encoding': 'chunked' },
      });
      req.on('error', () => undefined);
      req.write('--x\r\nContent-Disposition: form-data; name="file"; filename="slow.mp4"\r\nContent-Type: video/mp4\r\n\r\n');
      req.write(readFileSync(SAMPLE_MP4).subarray(0, 1000));
      return req;
    });
    // Until the server has all three under way (a loaded machine may take a while to get there).
    for (let i = 0; i < 200 && uploadsInProgressOf(u.accountId) < 3; i++) await new Promise((r) => setTimeout(r, 25));
    assert.equal(uploadsInProgressOf(u.accountId), 3);
    const fourth = await upload(u, u.sessionId);
    assert.equal(fourth.status, 429);
    assert.equal(fourth.body.code, 429);
    assert.equal((await upload(await newUser(srv.url), u.sessionId)).body.code, 1002, 'another account is not held up (and cannot use this session)');
    for (const req of hanging) req.destroy();
    let after = fourth;
    for (let i = 0; i < 40 && after.body.code !== 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      after = await upload(u, u.sessionId);
    }
    assert.equal(after.body.code, 0, 'once they end, the account uploads again');
  });
});
