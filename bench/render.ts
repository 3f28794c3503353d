/**
 * Render benchmark (not a test): a 60 s 1080p draft against plain ffmpeg transcoding the same
 * source with the same codec settings, in the same run, then the cost of captions, a title and
 * ducked background music on top. `npm run bench:render [-- --seconds 60 --repeat 1]`.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { addBackgroundMusic, addTitle, draftFromMedia, encoderArgs, ENCODING, renderDraft, setCaptions, type Draft } from '../src/render/index.ts';
import { probeMedia } from '../src/media/index.ts';
import { runTool } from '../src/shared/process.ts';
import type { Cue } from '../src/transcript/index.ts';
import { FIXTURES, SHARED_SPEECH } from '../test/helpers/media.ts';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '60' }, repeat: { type: 'string', default: '1' } } });
const seconds = Number(values.seconds);
const repeat = Math.max(1, Number(values.repeat));
const dir = mkdtempSync(join(tmpdir(), 'vidscribe-bench-render-'));
const ff = (...args: string[]) =>
  execFileSync('ffmpeg', ['-nostdin', '-hide_banner', '-v', 'error', '-y', ...args], { stdio: ['ignore', 'ignore', 'inherit'] });

try {
  const speech = existsSync(join(SHARED_SPEECH, 'original', 'jfk_inaugural_1961.flac'))
    ? join(SHARED_SPEECH, 'original', 'jfk_inaugural_1961.flac')
    : join(FIXTURES, 'librispeech_1089-134686-0000.flac');
  const source = join(dir, 'source.mp4');
  const music = join(dir, 'music.mp3');
  process.stderr.write(`making a ${seconds} s 1080p30 source (testsrc2 + looped real speech)…\n`);
  ff(
    '-f',
    'lavfi',
    '-i',
    'testsrc2=s=1920x1080:r=30',
    '-stream_loop',
    '-1',
    '-i',
    speech,
    '-t',
    String(seconds),
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-crf',
    '18',
    '-pix_fmt',
    'yuv420p',
    '-c:a',
    'aac',
    '-b:a',
    '128k',
    source,
  );
  ff('-f', 'lavfi', '-i', 'aevalsrc=0.2*sin(2*PI*220*t)+0.1*sin(2*PI*330*t)*(0.5+0.5*sin(2*PI*2*t)):s=44100:c=stereo', '-t', '20', '-c:a', 'libmp3lame', music);

  const info = await probeMedia(source);
  const frames = Math.round(seconds * 30);
  const single = draftFromMedia(info, { id: 'bench' });
  const cues: Cue[] = Array.from({ length: Math.floor(seconds / 3) }, (_, i) => ({
    index: i + 1,
    start: i * 3,
    end: i * 3 + 2.8,
    lines: ['And so my fellow Americans, ask not what', `your country can do for you (${i + 1})`],
  }));
  const withText = addTitle(setCaptions(single, cues), 'Urban Dreams');
  const withAll = addBackgroundMusic(withText, music, { volume: 0.35, fade_out_ms: 1500, duck: true });

  const plain = async (): Promise<void> => {
    await runTool('ffmpeg', ['-nostdin', '-hide_banner', '-v', 'error', '-y', '-i', source, ...encoderArgs(), join(dir, 'plain.mp4')], {
      what: 'plain transcode',
    });
  };
  const draft = (d: Draft, name: string) => async (): Promise<void> => void (await renderDraft(d, { out: join(dir, `${name}.mp4`) }));
  const runs: [string, () => Promise<void>][] = [
    ['plain ffmpeg transcode', plain],
    ['draft: one video segment', draft(single, 'single')],
    ['draft: + captions + title', draft(withText, 'text')],
    ['draft: + captions + title + BGM (ducked)', draft(withAll, 'all')],
  ];
  // Wall time and the CPU time of the finished child processes (ffmpeg, ffprobe): on a shared
  // machine the CPU seconds are the steadier measure of what the graph costs.
  const best = new Map<string, { wall: number; cpu: number }>();
  for (let r = 0; r < repeat; r++) {
    for (const [name, run] of runs) {
      const cpu0 = childCpuSec();
      const t0 = performance.now();
      await run();
      const m = { wall: (performance.now() - t0) / 1000, cpu: childCpuSec() - cpu0 };
      process.stderr.write(`  ${name}: ${m.wall.toFixed(2)} s wall, ${m.cpu.toFixed(2)} s CPU\n`);
      const prev = best.get(name);
      best.set(name, { wall: Math.min(prev?.wall ?? Infinity, m.wall), cpu: Math.min(prev?.cpu ?? Infinity, m.cpu) });
    }
  }
  const base = best.get('plain ffmpeg transcode')!;
  console.log(
    `\nrender benchmark: ${seconds} s of 1080p30 (${frames} frames), libx264 ${ENCODING.preset} CRF ${ENCODING.crf} + AAC ${ENCODING.audioBitrate}, ${cpus().length} cores, best of ${repeat}`,
  );
  console.log('| run | wall s | fps | × plain (wall) | CPU s | × plain (CPU) |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
  for (const [name] of runs) {
    const m = best.get(name)!;
    console.log(
      `| ${name} | ${m.wall.toFixed(2)} | ${(frames / m.wall).toFixed(1)} | ${(m.wall / base.wall).toFixed(3)} | ${m.cpu.toFixed(2)} | ${(m.cpu / base.cpu).toFixed(3)} |`,
    );
  }
  const one = best.get('draft: one video segment')!;
  console.log(
    `\nsingle-segment draft vs plain transcode: ${(one.wall / base.wall).toFixed(3)}× wall, ${(one.cpu / base.cpu).toFixed(3)}× CPU (target ≤ 1.05×)`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}

/** user+sys seconds of this process's reaped children (/proc/self/stat cutime + cstime, in clock ticks of 1/100 s). */
function childCpuSec(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields after the command name start at field 3 (state); cutime and cstime are fields 16 and 17.
  return (Number(fields[16 - 3]) + Number(fields[17 - 3])) / 100;
}
