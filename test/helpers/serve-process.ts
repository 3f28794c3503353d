/**
 * A real `vidscribe serve` process (not in the test's own event loop): for crash tests, and for
 * races that only show when client and server run on separate processes.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './media.ts';

const BIN = join(ROOT, 'bin', 'vidscribe.js');

export interface ServeProcess {
  proc: ChildProcessWithoutNullStreams;
  url: string;
  /** Everything the server wrote to stderr so far. */
  stderr(): string;
}

export function serveProcess(dataDir: string, extraArgs: string[] = []): Promise<ServeProcess> {
  const proc = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--data', dataDir, ...extraArgs], {
    cwd: ROOT,
    env: { ...process.env, HF_HUB_OFFLINE: '1' },
  });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    proc.stderr.on('data', (d) => (err += d));
    proc.stdout.on('data', (d) => {
      out += d;
      const m = /listening (http:\/\/\S+)/.exec(out);
      if (m) resolve({ proc, url: m[1]!, stderr: () => err });
    });
    proc.on('exit', (code) => reject(new Error(`server exited (${code}): ${err}`)));
  });
}
