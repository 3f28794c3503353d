/**
 * The worker decodes a probed file's audio stream itself (PyAV), so a file costs one process start
 * (ffprobe) instead of two. Real worker, bundled tiny.en, real media made by ffmpeg.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { rejectsWith } from '../../test/helpers/assert.ts';
import { runWorkerPython } from '../../test/helpers/python-worker.ts';
import { LIBRI_1089, LIBRI_61, ffmpeg, makeSpeechMp4, tempDir } from '../../test/helpers/media.ts';
import { probeTranscribable } from '../media/index.ts';
import { ErrorCode } from '../shared/errors.ts';
import { transcriptText } from '../transcript/types.ts';
import { AsrWorker, prepareAudio, recognise } from './index.ts';
import { wer } from './wer.ts';

const dir = tempDir('vidscribe-worker-decode-');
const worker = new AsrWorker({ model: 'tiny.en' });
after(() => worker.close());

const audioTemps = () => readdirSync(tmpdir()).filter((n) => n.startsWith('vidscribe-audio-')).length;

test('a file with a known length goes to the worker undecoded, and reads as its extracted PCM does', async () => {
  const mp4 = makeSpeechMp4(LIBRI_1089.file, join(dir, 'libri.mp4'));
  const temps = audioTemps();
  const inWorker = await prepareAudio(mp4);
  assert.ok('inWorker' in inWorker.audio, 'no extraction');
  assert.equal(audioTemps(), temps, 'no temporary PCM written');
  const extracted = await prepareAudio(mp4, { extract: true });
  assert.ok('pcmPath' in extracted.audio);

  const a = await recognise(worker, inWorker);
  const b = await recognise(worker, extracted);
  assert.equal(audioTemps(), temps, 'the extracted PCM is removed');
  assert.ok(wer(LIBRI_1089.text, transcriptText(a)) < 0.25, transcriptText(a));
  assert.ok(wer(transcriptText(b), transcriptText(a)) < 0.1, `${transcriptText(a)} | ${transcriptText(b)}`);
  // The duration is what the worker decoded, within a frame of ffmpeg's.
  assert.ok(Math.abs(a.duration - b.duration) < 0.05, `${a.duration} vs ${b.duration}`);
});

test('the worker decodes the audio track asked for, by its place among the audio streams', async () => {
  const twoTracks = join(dir, 'two-tracks.mkv');
  // Track 0: 1 s of tone; track 1: speech.
  ffmpeg('-f', 'lavfi', '-i', 'sine=f=440:d=1', '-i', LIBRI_61.file, '-map', '0:a', '-map', '1:a', '-c:a', 'flac', twoTracks);
  const tone = await recognise(worker, await prepareAudio(twoTracks));
  const speech = await recognise(worker, await prepareAudio(twoTracks, { audioTrack: 1 }));
  assert.ok(Math.abs(tone.duration - 1) < 0.05, `track 0: ${tone.duration} s`);
  assert.ok(wer(LIBRI_61.text, transcriptText(speech)) < 0.3, transcriptText(speech));
  await rejectsWith(prepareAudio(twoTracks, { audioTrack: 2 }), ErrorCode.BadRequest, /2 audio track/);
});

test('a stream ffprobe accepts but nothing of which decodes is a clear 4005, and the worker serves the next file', async () => {
  // An MP4 whose AAC payload is overwritten with noise: the header (and so ffprobe) is intact.
  const mp4 = join(dir, 'noise-payload.m4a');
  ffmpeg('-i', LIBRI_61.file, '-c:a', 'aac', '-movflags', '+faststart', mp4);
  const bytes = readFileSync(mp4);
  const mdat = bytes.indexOf(Buffer.from('mdat'));
  assert.ok(mdat > 0);
  for (let i = mdat + 4; i < bytes.length; i++) bytes[i] = 0xff;
  const broken = join(dir, 'broken.m4a');
  writeFileSync(broken, bytes);
  const info = await probeTranscribable(broken);
  assert.ok(info.durationSec > 1, 'ffprobe still reads the header');
  await rejectsWith(
    prepareAudio(broken).then((p) => recognise(worker, p)),
    ErrorCode.CorruptMedia,
    /broken\.m4a: the audio could not be decoded/,
  );
  const next = await recognise(worker, await prepareAudio(makeSpeechMp4(LIBRI_61.file, join(dir, 'next.mp4'))));
  assert.ok(wer(LIBRI_61.text, transcriptText(next)) < 0.3, transcriptText(next));
});

test('a file whose header gives no length is extracted first, so the time limit follows its true length', async () => {
  // A browser's WebM often has no duration in its header; the probe's answer is set to 0 here to be sure of it.
  const webm = join(dir, 'no-duration.webm');
  ffmpeg('-i', LIBRI_61.file, '-c:a', 'libopus', webm);
  const info = await probeTranscribable(webm);
  const prepared = await prepareAudio(webm, { media: { ...info, durationSec: 0 } });
  assert.ok('pcmPath' in prepared.audio, 'extracted when the length is unknown');
  const t = await recognise(worker, prepared);
  assert.ok(t.duration > 4, `${t.duration} s`);
});

test('the worker gives memory back once idle', async () => {
  const long = join(dir, 'minute.wav');
  ffmpeg(...Array.from({ length: 6 }, () => ['-i', LIBRI_1089.file]).flat(), '-filter_complex', 'concat=n=6:v=0:a=1', long);
  await recognise(worker, await prepareAudio(long));
  const status = () => readFileSync(`/proc/${worker.pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status())![1]);
  const peak = kb('VmHWM');
  const deadline = Date.now() + 10_000;
  while (kb('VmRSS') > peak * 0.8 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
  assert.ok(kb('VmRSS') <= peak * 0.8, `RSS ${kb('VmRSS')} kB against a peak of ${peak} kB`);
});

test('a header claiming an enormous length makes the worker reserve no more than 4 hours, and the file still decodes', async () => {
  const mp4 = makeSpeechMp4(LIBRI_61.file, join(dir, 'claims-forever.mp4'));
  const info = await probeTranscribable(mp4);
  // What a crafted header can claim: before, the worker tried to reserve 10^12 s of samples and failed with 5001.
  const r = await worker.transcribe({ mediaPath: mp4, streamIndex: info.audio[0]!.streamIndex, expectedSec: 1e12 });
  assert.ok(r.duration > 4 && r.duration < 10, `${r.duration} s`);
  assert.ok(wer(LIBRI_61.text, r.segments.map((s) => s.text).join(' ')) < 0.3);
});

test('the audio decoded a few seconds at a time is sample for sample what a frame at a time gives, and what ffmpeg extracts', () => {
  // 44.1 kHz stereo AAC, resampled to 16 kHz mono: 31 s, several conversions of 4 s, and a buffer
  // that grows (no expected length given).
  const m4a = join(dir, 'three-readings.m4a');
  ffmpeg(
    ...Array.from({ length: 3 }, () => ['-i', LIBRI_1089.file]).flat(),
    '-filter_complex',
    'concat=n=3:v=0:a=1,aresample=44100',
    '-ac',
    '2',
    '-c:a',
    'aac',
    m4a,
  );
  const pcm = join(dir, 'three-readings.s16le');
  ffmpeg('-i', m4a, '-ac', '1', '-ar', '16000', '-f', 's16le', pcm);
  const r = runWorkerPython<{ seconds: number; sameAsFrames: boolean; ffmpegLength: number; length: number; ffmpegMaxDiff: number }>(
    [
      'import av',
      'from media_audio import decode_media',
      'audio = decode_media(sys.argv[1], 0, "mov,mp4,m4a", 0)',
      '# The reference: each resampled frame converted on its own.',
      'frames = []',
      'with av.open(sys.argv[1]) as c:',
      '    r = av.AudioResampler(format="s16", layout="mono", rate=16000)',
      '    for f in c.decode(audio=0):',
      '        frames += [o.to_ndarray().reshape(-1).astype(np.float32) / 32768.0 for o in r.resample(f)]',
      '    frames += [o.to_ndarray().reshape(-1).astype(np.float32) / 32768.0 for o in r.resample(None)]',
      'reference = np.concatenate(frames)',
      'extracted = np.fromfile(sys.argv[2], dtype=np.int16).astype(np.float32) / 32768.0',
      'n = min(len(audio), len(extracted))',
      'print(json.dumps({"seconds": len(audio) / R, "length": len(audio), "sameAsFrames": audio.dtype == reference.dtype and np.array_equal(audio, reference),',
      '    "ffmpegLength": len(extracted), "ffmpegMaxDiff": float(np.abs(audio[:n] - extracted[:n]).max() * 32768)}))',
    ].join('\n'),
    [m4a, pcm],
  );
  assert.ok(r.seconds > 30, `${r.seconds} s`);
  assert.ok(r.sameAsFrames, 'the same samples as converting frame by frame');
  assert.ok(Math.abs(r.length - r.ffmpegLength) <= 1600, `${r.length} vs ${r.ffmpegLength} samples`);
  assert.ok(r.ffmpegMaxDiff <= 1, `${r.ffmpegMaxDiff} LSB from ffmpeg's extraction`);
});

test('the next file reuses the memory the last one freed: its pages are not faulted in again', async () => {
  // The worker keeps freed memory for the next window (reuse_freed_memory, one malloc arena).
  // A thread started before that setting had an arena of its own, which maps its blocks over
  // 64 MB (base's encoder attention scores: 72 MB) anew each time: every window faulted them in again.
  const w = new AsrWorker({ model: 'base' });
  try {
    const audio = { mediaPath: LIBRI_1089.file, streamIndex: 0, expectedSec: 10.4 };
    // minflt: the 10th field of /proc/PID/stat, the 8th after the process name's ") ".
    const faults = () => Number(readFileSync(`/proc/${w.pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[7]);
    await w.transcribe(audio);
    const before = faults();
    const again = await w.transcribe(audio);
    const pages = faults() - before;
    assert.ok(wer(LIBRI_1089.text, again.segments.map((s) => s.text).join(' ')) < 0.25);
    assert.ok(pages < 5000, `${pages} pages faulted in for the second file (${Math.round((pages * 4) / 1024)} MB)`);
  } finally {
    await w.close();
  }
});
