import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ErrorCode } from '../shared/errors.ts';
import { rejectsWith } from '../../test/helpers/assert.ts';
import { LIBRI_61, ffmpeg, makeSpeechMp4, tempDir } from '../../test/helpers/media.ts';
import { PROBES_AT_ONCE, TRANSCRIBABLE_EXTENSIONS, extractSpeechAudio, probeLoad, probeMedia, probeTranscribable } from './index.ts';

const dir = tempDir();
const speechSeconds = 4.905;

describe('every transcribable format is probed and its speech extracted at 16 kHz mono', () => {
  const codecs: Record<string, string[]> = {
    mp4: ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac'],
    mov: ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac'],
    avi: ['-c:v', 'mpeg4', '-c:a', 'libmp3lame'],
    webm: ['-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-c:a', 'libopus'],
    mkv: ['-c:v', 'libx264', '-preset', 'ultrafast', '-c:a', 'flac'],
    mp3: ['-c:a', 'libmp3lame'],
    wav: ['-c:a', 'pcm_s16le'],
    m4a: ['-c:a', 'aac'],
    aac: ['-c:a', 'aac'],
    flac: ['-c:a', 'flac'],
    ogg: ['-c:a', 'libvorbis'],
  };
  for (const ext of TRANSCRIBABLE_EXTENSIONS) {
    test(ext, async () => {
      const out = join(dir, `speech.${ext}`);
      const video = ['mp4', 'mov', 'avi', 'webm', 'mkv'].includes(ext);
      const inputs = video ? ['-f', 'lavfi', '-i', 'testsrc2=s=160x120:r=10', '-i', LIBRI_61.file, '-shortest'] : ['-i', LIBRI_61.file];
      ffmpeg(...inputs, ...(codecs[ext] ?? []), out);
      const info = await probeTranscribable(out);
      assert.equal(info.audio.length, 1);
      assert.equal(info.video.length, video ? 1 : 0);
      assert.ok(Math.abs(info.durationSec - speechSeconds) < 0.6, `duration ${info.durationSec}`);
      const audio = await extractSpeechAudio(info);
      try {
        assert.ok(Math.abs(audio.seconds - speechSeconds) < 0.2, `extracted ${audio.seconds} s`);
        assert.equal(statSync(audio.pcmPath).size, Math.round(audio.seconds * 16000) * 2);
      } finally {
        await audio.dispose();
      }
    });
  }
});

describe('bad input gets its coded error, never a hang or crash', () => {
  test('an image is refused with 4001 and the list of formats, by extension and by content', async () => {
    const png = join(dir, 'frame.png');
    ffmpeg('-f', 'lavfi', '-i', 'testsrc2=s=64x64', '-frames:v', '1', png);
    const e = await rejectsWith(probeMedia(png), ErrorCode.UnsupportedFormat, /mp4, mov, avi, webm, mkv, mp3, wav, m4a, aac, flac, ogg/);
    assert.deepEqual(e.data?.formats, [...TRANSCRIBABLE_EXTENSIONS]);
    const disguised = join(dir, 'frame-renamed.mp4');
    copyFileSync(png, disguised);
    await rejectsWith(probeMedia(disguised), ErrorCode.UnsupportedFormat);
    for (const ext of ['jpg', 'gif', 'webp']) {
      const img = join(dir, `frame.${ext}`);
      ffmpeg('-f', 'lavfi', '-i', 'testsrc2=s=64x64', '-frames:v', '1', img);
      await rejectsWith(probeMedia(img), ErrorCode.UnsupportedFormat);
    }
  });

  test('any other format (a text file) is refused with 4001', async () => {
    const txt = join(dir, 'notes.txt');
    writeFileSync(txt, 'not media');
    await rejectsWith(probeMedia(txt), ErrorCode.UnsupportedFormat, /notes\.txt/);
  });

  test('over the size limit is refused with 4002 before any decoding', async () => {
    const mp4 = makeSpeechMp4(LIBRI_61.file, join(dir, 'big.mp4'));
    await rejectsWith(probeMedia(mp4, { maxBytes: 1000 }), ErrorCode.FileTooLarge, /limit/);
  });

  test('a video with no audio stream gives 4003', async () => {
    const silentVideo = join(dir, 'no-audio.mp4');
    ffmpeg('-f', 'lavfi', '-i', 'testsrc2=s=160x120:r=10', '-t', '2', '-c:v', 'libx264', '-preset', 'ultrafast', silentVideo);
    assert.equal((await probeMedia(silentVideo)).audio.length, 0);
    await rejectsWith(probeTranscribable(silentVideo), ErrorCode.NoAudioStream, /no audio stream/);
  });

  test('zero bytes gives 4004; a missing file 4006', async () => {
    const empty = join(dir, 'empty.mp4');
    writeFileSync(empty, '');
    await rejectsWith(probeMedia(empty), ErrorCode.EmptyFile);
    await rejectsWith(probeMedia(join(dir, 'nope.mp4')), ErrorCode.FileNotFound);
  });

  test('random bytes and a truncated MP4 give 4005', async () => {
    const junk = join(dir, 'junk.mp4');
    writeFileSync(junk, Buffer.from(Array.from({ length: 50_000 }, (_, i) => (i * 7919) % 251)));
    await rejectsWith(probeMedia(junk), ErrorCode.CorruptMedia, /corrupt/);
    // ffmpeg writes the moov index at the end by default: cutting the file loses it.
    const whole = makeSpeechMp4(LIBRI_61.file, join(dir, 'whole.mp4'));
    const truncated = join(dir, 'truncated.mp4');
    const bytes = readFileSync(whole);
    writeFileSync(truncated, bytes.subarray(0, Math.floor(bytes.length / 2)));
    await rejectsWith(probeTranscribable(truncated), ErrorCode.CorruptMedia);
  });

  test('truncated audio-only file with a readable header fails clearly or yields the readable part', async () => {
    const wav = join(dir, 'cut.wav');
    ffmpeg('-i', LIBRI_61.file, wav);
    const bytes = readFileSync(wav);
    const cut = join(dir, 'cut-half.wav');
    writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const info = await probeTranscribable(cut);
    const audio = await extractSpeechAudio(info);
    try {
      assert.ok(audio.seconds > 1 && audio.seconds < speechSeconds, `got ${audio.seconds} s`);
    } finally {
      await audio.dispose();
    }
  });
});

test('--audio-track picks the stream; a track that does not exist is a clear 400', async () => {
  const twoTracks = join(dir, 'two-tracks.mkv');
  // Track 0: 1 s tone; track 1: the speech (4.9 s).
  ffmpeg('-f', 'lavfi', '-i', 'sine=f=440:d=1', '-i', LIBRI_61.file, '-map', '0:a', '-map', '1:a', '-c:a', 'flac', twoTracks);
  const info = await probeTranscribable(twoTracks);
  assert.equal(info.audio.length, 2);
  const first = await extractSpeechAudio(info);
  const second = await extractSpeechAudio(info, { audioTrack: 1 });
  try {
    assert.ok(Math.abs(first.seconds - 1) < 0.05, `track 0: ${first.seconds}`);
    assert.ok(Math.abs(second.seconds - speechSeconds) < 0.1, `track 1: ${second.seconds}`);
  } finally {
    await first.dispose();
    await second.dispose();
  }
  await rejectsWith(extractSpeechAudio(info, { audioTrack: 2 }), ErrorCode.BadRequest, /2 audio track/);
});

test('a cancelled extraction stops with 5004', async () => {
  const info = await probeTranscribable(LIBRI_61.file);
  const ac = new AbortController();
  ac.abort();
  await rejectsWith(extractSpeechAudio(info, { signal: ac.signal }), ErrorCode.Cancelled);
});

test('at most PROBES_AT_ONCE ffprobes run at once; the rest wait their turn and each gets its own answer', async () => {
  const dir = tempDir('probe-load-');
  const bad = join(dir, 'bad.mp4');
  writeFileSync(bad, Buffer.alloc(4096, 7));
  const n = PROBES_AT_ONCE * 3;
  const all = Array.from({ length: n }, (_, i) => (i % 2 ? probeMedia(bad) : probeTranscribable(LIBRI_61.file)));
  let mostRunning = 0;
  let mostWaiting = 0;
  const sampler = setInterval(() => {
    const now = probeLoad();
    mostRunning = Math.max(mostRunning, now.running);
    mostWaiting = Math.max(mostWaiting, now.waiting);
  }, 1);
  const settled = await Promise.allSettled(all);
  clearInterval(sampler);
  assert.ok(mostRunning <= PROBES_AT_ONCE && mostRunning > 0, `${mostRunning} at once`);
  assert.ok(mostWaiting > 0, 'some waited their turn');
  for (const [i, r] of settled.entries()) assert.equal(r.status, i % 2 ? 'rejected' : 'fulfilled', `probe ${i}`);
  assert.deepEqual(probeLoad(), { running: 0, waiting: 0 });
  // One whose client left while it waited starts no process: 5004.
  const ac = new AbortController();
  const queued = Array.from({ length: PROBES_AT_ONCE + 1 }, () => probeTranscribable(LIBRI_61.file));
  const gone = probeTranscribable(LIBRI_61.file, { signal: ac.signal });
  ac.abort();
  await rejectsWith(gone, ErrorCode.Cancelled);
  await Promise.all(queued);
});
