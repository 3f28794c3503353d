/**
 * `vidscribe chat [files…] [--server URL]`: the terminal chat client. Without --server it starts
 * the embedded engine in this process on a loopback port and talks HTTP to it, so local and
 * remote use one client.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { runChat } from '../chat/chat.ts';
import { ErrorCode, VidscribeError } from '../shared/errors.ts';

export interface ChatCommandOptions {
  server?: string;
  data?: string;
  out?: string;
  stillWorkingSec?: string;
  rateLimitWaitSec?: string;
}

/** The embedded engine's data: --data, else $XDG_DATA_HOME/vidscribe, else ~/.local/share/vidscribe. */
export function localDataDir(o: { data?: string }, env: NodeJS.ProcessEnv = process.env): string {
  return o.data ?? join(env.XDG_DATA_HOME || join(homedir(), '.local', 'share'), 'vidscribe');
}

function seconds(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^\d+(\.\d+)?$/.test(v.trim()) || !Number.isFinite(n) || n > 86_400)
    throw new VidscribeError(ErrorCode.BadRequest, `${name} must be a number of seconds from 0 to 86400, got "${v.slice(0, 40)}"`);
  return n * 1000;
}

export async function runChatCommand(files: string[], o: ChatCommandOptions): Promise<number> {
  const tty = Boolean(process.stdout.isTTY);
  const write = (s: string) => process.stdout.write(s);
  let base = o.server;
  let serverKey = o.server;
  let close: (() => Promise<void>) | undefined;
  write('Connecting…\n');
  if (!base) {
    const dataDir = localDataDir(o);
    // Loaded only here: a chat with a remote server needs none of the engine.
    const [{ openServices }, { buildApp }] = await Promise.all([import('../api/services.ts'), import('../api/app.ts')]);
    const svc = await openServices({ dataDir });
    const app = await buildApp(svc, { logger: { level: 'warn', stream: process.stderr } });
    base = await app.listen({ port: 0, host: '127.0.0.1' });
    serverKey = `local:${svc.config.dataDir}`;
    close = async () => {
      await app.close();
      await svc.close();
    };
  } else {
    try {
      new URL(base);
    } catch {
      throw new VidscribeError(ErrorCode.BadRequest, `--server must be a URL such as http://127.0.0.1:8787, got "${base.slice(0, 80)}"`);
    }
  }
  const rl = createInterface({ input: process.stdin, terminal: false });
  // The iterator is made now: lines piped in while the engine starts and the files upload are buffered, not lost.
  const it = rl[Symbol.asyncIterator]();
  const lines = { [Symbol.asyncIterator]: () => it };
  try {
    return await runChat({
      base,
      serverKey,
      files,
      lines,
      write,
      out: o.out,
      tty,
      stillWorkingMs: seconds(o.stillWorkingSec, '--still-working'),
      rateLimitWaitMs: seconds(o.rateLimitWaitSec, '--rate-limit-wait'),
    });
  } finally {
    rl.close();
    await close?.();
  }
}
