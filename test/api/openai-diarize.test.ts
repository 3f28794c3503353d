/**
 * Speakers on the OpenAI-compatible endpoint, driven by the official `openai` SDK against a real
 * server and the real model: clients that ask for nothing new get the output they always got, bad
 * speaker hints are refused before any work (and not charged).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import OpenAI, { toFile } from 'openai';
import { LIBRI_1089, tempDir } from '../helpers/media.ts';
import { buildEvalSet } from '../helpers/two-speakers.ts';
import { newUser, startServer, type TestServer } from '../helpers/server.ts';

const SEGMENT_KEYS = ['avg_logprob', 'compression_ratio', 'end', 'id', 'no_speech_prob', 'seek', 'start', 'temperature', 'text', 'tokens'];

describe('speakers on POST /v1/audio/transcriptions', () => {
  let srv: TestServer;
  let client: OpenAI;
  let api: Awaited<ReturnType<typeof newUser>>['api'];
  const audio = readFileSync(LIBRI_1089.file);
  before(async () => {
    srv = await startServer({ asrSlots: 1, renderSlots: 0 });
    const u = await newUser(srv.url);
    api = u.api;
    client = new OpenAI({ apiKey: u.api.token!, baseURL: `${srv.url}/v1`, maxRetries: 0 });
  });
  after(() => srv.close());

  test('a client that asks for nothing new gets no speaker anywhere (verbose_json, json)', async () => {
    const verbose = await client.audio.transcriptions.create({
      file: await toFile(audio, 'stew.flac'),
      model: 'whisper-1',
      response_format: 'verbose_json',
      timestamp_granularities: ['word', 'segment'],
    });
    assert.deepEqual(Object.keys(verbose).sort(), ['duration', 'language', 'segments', 'task', 'text', 'words']);
    for (const s of verbose.segments!) assert.deepEqual(Object.keys(s).sort(), SEGMENT_KEYS);
    for (const w of verbose.words!) assert.deepEqual(Object.keys(w).sort(), ['end', 'start', 'word']);
    // The diarizing model's name with plain json: json cannot show speakers, so nothing changes.
    const plain = await client.audio.transcriptions.create({ file: await toFile(audio, 'stew.flac'), model: 'gpt-4o-transcribe-diarize' });
    assert.deepEqual(Object.keys(plain), ['text']);
  });

  test('bad speaker hints are refused before any work, with the field named, and nothing is charged', async () => {
    const before = (await api.call('GET', '/api/credits/balance/simple')).body.data;
    const refused = async (extra: Record<string, unknown>, message: RegExp): Promise<void> => {
      await assert.rejects(
        client.audio.transcriptions.create({
          file: await toFile(audio, 'stew.flac'),
          model: 'gpt-4o-transcribe-diarize',
          response_format: 'diarized_json',
          ...extra,
        } as OpenAI.Audio.TranscriptionCreateParamsNonStreaming),
        (e: unknown) => {
          assert.ok(e instanceof OpenAI.BadRequestError, String(e));
          assert.match(e.message, message);
          return true;
        },
      );
    };
    await refused({ speakers: 0 }, /speakers must be a whole number from 1 to 16/);
    await refused({ min_speakers: 3, max_speakers: 2 }, /min_speakers \(3\) is more than max_speakers \(2\)/);
    await refused({ speakers: 2, max_speakers: 3 }, /either speakers or min_speakers\/max_speakers/);
    await refused({ known_speaker_names: ['Ana', 'ana'] }, /must not name two speakers alike/);
    await refused({ known_speaker_names: ['Ana', 'Ben', 'Cy'], speakers: 2 }, /gives 3 names for speakers=2/);
    await refused({ known_speaker_names: Array.from({ length: 17 }, (_, i) => `S${i}`) }, /at most 16 names/);
    await refused({ known_speaker_names: ['x'.repeat(65)] }, /at most 64 characters/);
    await refused({ known_speaker_names: ['Ana'], known_speaker_references: ['data:audio/wav;base64,AAAA'] }, /known_speaker_references is not supported/);
    assert.deepEqual((await api.call('GET', '/api/credits/balance/simple')).body.data, before);
  });

  test("diarized_json on a real two-speaker recording: OpenAI's shape, names from known_speaker_names[]; verbose_json gains speaker", async () => {
    const mf = buildEvalSet(tempDir('vidscribe-diarize-api-')).find((f) => f.kind === 'male/female')!;
    const wav = readFileSync(mf.wav);
    const first = mf.reference[0]!.speaker;
    const diarized = (await client.audio.transcriptions.create({
      file: await toFile(wav, 'interview.wav'),
      model: 'gpt-4o-transcribe-diarize',
      response_format: 'diarized_json',
      known_speaker_names: ['Ben', 'Ana'],
    })) as unknown as OpenAI.Audio.TranscriptionDiarized;
    assert.equal(diarized.task, 'transcribe');
    assert.ok(Math.abs(diarized.duration - mf.seconds) < 0.1);
    assert.ok(diarized.text.length > 100);
    for (const s of diarized.segments) {
      assert.deepEqual(Object.keys(s).sort(), ['end', 'id', 'speaker', 'start', 'text', 'type']);
      assert.equal(s.type, 'transcript.text.segment');
      assert.equal(typeof s.id, 'string');
    }
    // Each reference turn's middle lies in a segment of the right speaker.
    for (const turn of mf.reference) {
      const mid = (turn.start + turn.end) / 2;
      const seg = diarized.segments.find((s) => s.start <= mid + 1 && s.end >= mid - 1 && s.speaker === (turn.speaker === first ? 'Ben' : 'Ana'));
      assert.ok(seg, `turn at ${mid.toFixed(1)} s`);
    }
    // Without names: OpenAI's letters, in order of first appearance.
    const lettered = (await client.audio.transcriptions.create({
      file: await toFile(wav, 'interview.wav'),
      model: 'whisper-1',
      response_format: 'diarized_json',
      speakers: 2,
    } as OpenAI.Audio.TranscriptionCreateParamsNonStreaming)) as unknown as OpenAI.Audio.TranscriptionDiarized;
    assert.deepEqual([...new Set(lettered.segments.map((s) => s.speaker))], ['A', 'B']);

    const verbose = (await client.audio.transcriptions.create({
      file: await toFile(wav, 'interview.wav'),
      model: 'whisper-1',
      response_format: 'verbose_json',
      timestamp_granularities: ['word', 'segment'],
      min_speakers: 1,
      max_speakers: 3,
    } as OpenAI.Audio.TranscriptionCreateParamsNonStreaming)) as unknown as OpenAI.Audio.TranscriptionVerbose;
    const names = (xs: { speaker?: string }[] | undefined) => [...new Set((xs ?? []).map((x) => x.speaker))].sort();
    assert.deepEqual(names(verbose.segments as { speaker?: string }[]), ['Speaker 1', 'Speaker 2']);
    assert.deepEqual(names(verbose.words as { speaker?: string }[]), ['Speaker 1', 'Speaker 2']);
  });
});
