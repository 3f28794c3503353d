import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { PROJECT_ROOT, pythonExecutable } from '../../src/asr/models.ts';

/**
 * Runs Python code against the ASR worker's module (`W`, src/asr/worker/worker.py), with numpy as
 * `np`, `json`, `SimpleNamespace` as `NS` and a few audio builders (`tone`, `quiet` at 16 kHz),
 * offline; returns the last line the code prints, parsed as JSON. `args` become sys.argv[1:].
 */
export function runWorkerPython<T>(body: string, args: string[] = []): T {
  const script = [
    'import sys, json',
    `sys.path.insert(0, ${JSON.stringify(join(PROJECT_ROOT, 'src/asr/worker'))})`,
    'import numpy as np',
    'import worker as W',
    'from types import SimpleNamespace as NS',
    'R = W.SAMPLE_RATE',
    'def tone(seconds, dbfs=-20.0):',
    '    t = np.arange(int(seconds * R)) / R',
    '    return (np.sqrt(2) * 10 ** (dbfs / 20) * np.sin(2 * np.pi * 220 * t)).astype(np.float32)',
    'def quiet(seconds):',
    '    return np.zeros(int(seconds * R), dtype=np.float32)',
    'def rounded(x):',
    '    return [[round(a, 2), round(b, 2)] for a, b in x]',
    body,
  ].join('\n');
  const out = execFileSync(pythonExecutable(), ['-c', script, ...args], { encoding: 'utf8', env: { ...process.env, HF_HUB_OFFLINE: '1' } });
  return JSON.parse(out.trim().split('\n').at(-1)!) as T;
}
