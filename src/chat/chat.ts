/**
 * `vidscribe chat`: a conversation with the agent in a terminal (or a pipe). Each line is a
 * request, streamed back from POST /run_sse; a line that is a path to an existing file is uploaded
 * instead; new files in the session (transcripts, exports) are downloaded into the out folder.
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { adviceFor, ChatClient, type SessionState } from './client.ts';

export const STILL_WORKING_MS = 2 * 60_000;

export interface ChatOptions {
  /** The server's base URL; the embedded engine's when started locally. */
  base: string;
  serverKey?: string;
  files: string[];
  /** One request per item (readline's lines, or any async iterable in tests). */
  lines: AsyncIterable<string>;
  write: (s: string) => void;
  out?: string;
  tty?: boolean;
  env?: NodeJS.ProcessEnv;
  stillWorkingMs?: number;
  rateLimitWaitMs?: number;
}

/**
 * A path as a terminal pastes or drags it: maybe in quotes, maybe with backslash-escaped spaces
 * (`/a/my\ clip.mp4`). Returns the absolute path when the line names an existing file.
 */
export function pastedPath(line: string): string | undefined {
  let s = line.trim();
  if (!s) return undefined;
  const q = s[0];
  if ((q === '"' || q === "'") && s.length > 1 && s.endsWith(q)) s = s.slice(1, -1);
  else if (s.includes('\\') && !/^[A-Za-z]:\\/.test(s)) s = s.replace(/\\(.)/g, '$1');
  if (s.startsWith('file://')) {
    try {
      s = decodeURIComponent(new URL(s).pathname);
    } catch {
      return undefined;
    }
  }
  try {
    return statSync(s).isFile() ? resolve(s) : undefined;
  } catch {
    return undefined;
  }
}

/** Runs the conversation; resolves with the exit code (0 unless the last request failed). */
export async function runChat(o: ChatOptions): Promise<number> {
  const say = (s: string) => o.write(`${s}\n`);
  const client = new ChatClient({ base: o.base, serverKey: o.serverKey, env: o.env, rateLimitWaitMs: o.rateLimitWaitMs, log: say });
  const outDir = resolve(o.out ?? '.');
  const downloaded = new Set<string>();
  let seenJobs = new Map<string, string>();

  await client.connect();
  await client.newSession();
  // Files already in the session are not the user's to download again (none, for a new session).
  let failed = false;

  const upload = async (path: string) => {
    const r = await client.upload(path);
    if (r.code === 0) say(`Uploaded ${path}`);
    else {
      say(`Could not upload ${path}: ${adviceFor(r.code, r.message, client)}`);
      failed = true;
    }
  };
  for (const f of o.files) {
    const p = pastedPath(f);
    if (p) await upload(p);
    else {
      say(`No such file: ${f}`);
      failed = true;
    }
  }

  /** Downloads each file of the session not yet downloaded; reports what changed. */
  const syncState = async (summarise: boolean) => {
    const st = await client.state();
    if (st.code !== 0 || !st.data) {
      say(`Could not read the session: ${adviceFor(st.code, st.message, client)}`);
      return;
    }
    const s = st.data as SessionState;
    const fresh = s.files.filter((f) => !downloaded.has(f.id));
    for (const f of fresh) {
      const path = await client.download(f, outDir);
      downloaded.add(f.id);
      say(`Saved ${path}`);
    }
    if (summarise) {
      const jobs = s.jobs.filter((j) => seenJobs.get(j.id) !== j.status).map((j) => `${j.type ?? 'job'} ${j.status}`);
      say(
        fresh.length || jobs.length
          ? `What changed: ${[fresh.length ? `${fresh.length} new file(s)` : '', ...jobs].filter(Boolean).join(', ')}.`
          : 'Nothing changed in the session.',
      );
    }
    seenJobs = new Map(s.jobs.map((j) => [j.id, j.status]));
  };

  const ask = async (text: string): Promise<boolean> => {
    let finalText = false;
    let toolFailed = false;
    let barShown = false;
    let quietSince = Date.now();
    const quietMs = o.stillWorkingMs ?? STILL_WORKING_MS;
    const endBar = () => {
      if (barShown) o.write('\n');
      barShown = false;
    };
    const timer = setInterval(
      () => {
        if (Date.now() - quietSince >= quietMs) {
          endBar();
          say('⏳ Still working…');
          quietSince = Date.now();
        }
      },
      Math.max(10, Math.min(quietMs, 5000) / 4),
    );
    try {
      const r = await client.run(text, {
        onActivity: () => {},
        onText: (t, partial) => {
          quietSince = Date.now();
          const m = partial ? /^(.*?):?\s*(\d{1,3})\s*%$/.exec(t.trim()) : null;
          if (m && o.tty) {
            const pct = Math.min(100, Number(m[2]));
            const filled = Math.round(pct / 5);
            o.write(`\r${m[1]} [${'█'.repeat(filled)}${'░'.repeat(20 - filled)}] ${pct} %`);
            barShown = true;
            return;
          }
          endBar();
          if (!partial) finalText = finalText || t.trim().length > 0;
          say(t);
        },
        onToolCall: (name, args) => {
          quietSince = Date.now();
          endBar();
          const what = args.name ?? args.file ?? args.media_name ?? args.format ?? '';
          say(`→ ${name}${what ? ` ${String(what)}` : ''}`);
        },
        onToolResult: (name, response) => {
          quietSince = Date.now();
          if (response.status === 'error') {
            toolFailed = true;
            endBar();
            say(`✗ ${name}: ${adviceFor(Number(response.code), String(response.message ?? ''), client)}`);
          }
        },
      });
      endBar();
      if (r.code !== 0) {
        say(adviceFor(r.code, r.message, client));
        return false;
      }
      await syncState(!finalText);
      return !toolFailed;
    } finally {
      clearInterval(timer);
    }
  };

  for await (const raw of o.lines) {
    const line = raw.trim();
    if (!line) continue;
    try {
      const path = pastedPath(line);
      if (path) {
        failed = false;
        await upload(path);
      } else failed = !(await ask(line));
    } catch (e) {
      say(`Error: ${(e as Error).message}`);
      failed = true;
    }
  }
  return failed ? 1 : 0;
}
