/**
 * `vidscribe chat` against real servers: the seed workflow through the real CLI on piped stdin,
 * and the error table (expired token, lost session, no credits, rate limit).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TOKEN_TTL_MS } from '../../src/accounts/accounts.ts';
import { pastedPath, runChat } from '../../src/chat/chat.ts';
import { ChatClient } from '../../src/chat/client.ts';
import { newUser, startServer } from '../helpers/server.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const SAMPLE = join(ROOT, 'samples/jfk_inaugural_1961.mp4');
const SEED_REQUEST = 'transcribe the spoken dialogue into a text document';

let tmp: string;
before(() => {
  tmp = mkdtempSync(join(tmpdir(), 'vidscribe-chat-'));
});
after(() => rmSync(tmp, { recursive: true, force: true }));

/** A fresh config folder (client id, tokens) per test, never the user's. */
const envFor = (name: string) => ({ ...process.env, XDG_CONFIG_HOME: join(tmp, name, 'config'), VIDSCRIBE_TOKEN: '' });

/** Lines fed one at a time: the chat asks for the next only when the previous reply is done. */
async function* linesWith(steps: (string | (() => unknown))[]): AsyncIterable<string> {
  for (const s of steps) {
    if (typeof s === 'string') yield s;
    else await s();
  }
}

describe('vidscribe chat', { concurrency: false }, () => {
  test('the seed workflow through the CLI on piped stdin: the transcript lands in --out', async () => {
    const srv = await startServer();
    try {
      const out = join(tmp, 'seed-out');
      const child = spawn(process.execPath, [join(ROOT, 'bin/vidscribe.js'), 'chat', SAMPLE, '--server', srv.url, '--out', out], {
        cwd: tmp,
        env: { ...envFor('seed'), HF_HUB_OFFLINE: '1' },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => {
        stdout += d;
      });
      child.stderr.on('data', (d) => {
        stderr += d;
      });
      child.stdin.end(`${SEED_REQUEST}\n`);
      const code = await new Promise<number | null>((r) => child.on('close', r));
      assert.equal(code, 0, `exit ${code}\n${stdout}\n${stderr}`);
      assert.match(stdout, /^→ transcribe_media jfk_inaugural_1961\.mp4$/m, stdout);
      assert.doesNotMatch(stdout, /\x1b\[/, 'no colours or escapes on a pipe');
      const txt = readdirSync(out).filter((f) => f.endsWith('.txt'));
      assert.equal(txt.length, 1, `one transcript in --out: ${readdirSync(out).join(', ')}\n${stdout}`);
      assert.match(stdout, new RegExp(`Saved ${join(out, txt[0] as string).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
      assert.match(readFileSync(join(out, txt[0] as string), 'utf8'), /country/i);
    } finally {
      await srv.close();
    }
  });

  test('without --server the engine starts in-process (data in --data) and the same client talks HTTP to it', async () => {
    const data = join(tmp, 'local-data');
    const child = spawn(process.execPath, [join(ROOT, 'bin/vidscribe.js'), 'chat', '--data', data], {
      cwd: tmp,
      env: { ...envFor('local'), HF_HUB_OFFLINE: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stdin.end('hello\n');
    const code = await new Promise<number | null>((r) => child.on('close', r));
    assert.equal(code, 0, stdout);
    assert.match(stdout, /^Connecting…$/m);
    assert.match(stdout, /transcribe/i, 'the agent answered');
    assert.ok(existsSync(join(data, 'vidscribe.db')), 'the local engine keeps its data in --data');
  });

  test('an expired token is renewed (1001) and its lost session replaced with the files re-uploaded', async () => {
    let clock = Date.now();
    const srv = await startServer({ now: () => clock, noWorkers: true });
    try {
      let text = '';
      const env = envFor('expired');
      const code = await runChat({
        base: srv.url,
        files: [SAMPLE],
        lines: linesWith([
          'hello',
          () => {
            clock += TOKEN_TTL_MS + 3600_000;
          },
          'hello',
        ]),
        write: (s) => {
          text += s;
        },
        out: join(tmp, 'expired-out'),
        env,
      });
      assert.equal(code, 0, text);
      assert.match(text, /Token expired or not valid: getting a new one/, text);
      assert.match(text, /The session is gone: starting a new one/, text);
      assert.equal(text.match(/^Uploaded /gm)?.length, 2, `uploaded at the start and again into the new session:\n${text}`);
      // The new token is the one stored for the next run.
      const stored = JSON.parse(readFileSync(join(env.XDG_CONFIG_HOME, 'vidscribe', 'tokens.json'), 'utf8'))[srv.url];
      assert.equal((await srv.svc.accounts.authenticate(stored.token)).accountId, stored.anonymous_id);
    } finally {
      await srv.close();
    }
  });

  test('a session that no longer exists for this account is replaced (1002)', async () => {
    const srv = await startServer({ noWorkers: true });
    try {
      const other = await newUser(srv.url);
      let text = '';
      const code = await runChat({
        base: srv.url,
        files: [SAMPLE],
        lines: linesWith([
          'hello',
          // The session now belongs to someone else: for this account it does not exist.
          () => srv.svc.db.updateTable('sessions').set({ account_id: other.accountId }).where('account_id', '!=', other.accountId).execute(),
          'hello',
        ]),
        write: (s) => {
          text += s;
        },
        env: envFor('lost-session'),
      });
      assert.equal(code, 0, text);
      assert.match(text, /The session is gone: starting a new one/, text);
      assert.doesNotMatch(text, /Token expired/, text);
      assert.equal(text.match(/^Uploaded /gm)?.length, 2, text);
    } finally {
      await srv.close();
    }
  });

  test('not enough credits (2001) prints the register link of the anonymous account; the exit code says it failed', async () => {
    const srv = await startServer({ prices: { transcribePerMinute: 1000 }, noWorkers: true });
    try {
      let text = '';
      const code = await runChat({
        base: srv.url,
        files: [SAMPLE],
        lines: linesWith([SEED_REQUEST]),
        write: (s) => {
          text += s;
        },
        env: envFor('credits'),
      });
      assert.equal(code, 1, text);
      assert.match(text, new RegExp(`Register to get more \\(and keep this session\\): ${srv.url}/register\\?bind=anon_`), text);
    } finally {
      await srv.close();
    }
  });

  test('429 is waited out and retried once, not more', async () => {
    // This stub stands in for the rate limiter, which a real server would hit only after 30 tokens an hour.
    let hits = 0;
    let refuse = 1;
    const stub = createServer((_req, res) => {
      hits++;
      res.setHeader('content-type', 'application/json');
      if (refuse-- > 0) {
        res.statusCode = 429;
        res.end(JSON.stringify({ code: 429, message: 'Rate limit exceeded' }));
      } else res.end(JSON.stringify({ code: 0, message: 'ok', data: { available: 100, token: 'tok', anonymous_id: 'anon_x' } }));
    });
    await new Promise<void>((r) => stub.listen(0, '127.0.0.1', r));
    try {
      const base = `http://127.0.0.1:${(stub.address() as AddressInfo).port}`;
      const logged: string[] = [];
      const client = new ChatClient({ base, env: { ...envFor('429'), VIDSCRIBE_TOKEN: 't' }, rateLimitWaitMs: 50, log: (l) => logged.push(l) });
      const r = await client.call('GET', '/api/credits/balance/simple');
      assert.equal(r.code, 0);
      assert.equal(hits, 2);
      assert.match(logged.join('\n'), /Too many requests: waiting/);

      hits = 0;
      refuse = 5;
      const again = await client.call('GET', '/api/credits/balance/simple');
      assert.equal(again.code, 429, 'a second 429 is reported, not retried forever');
      assert.equal(hits, 2);

      // The token request too: that is where the limiter bites first.
      hits = 0;
      refuse = 1;
      const fresh = new ChatClient({ base, env: envFor('429-token'), rateLimitWaitMs: 50 });
      await fresh.connect();
      assert.equal(fresh.token, 'tok');
      assert.equal(hits, 2);
    } finally {
      await new Promise((r) => stub.close(r));
    }
  });

  test('a quiet reply gets a still-working note; a reply without text is summarised from the state', async () => {
    // A stub agent that stays quiet, then ends without text (a real one always ends with text).
    const stub = createServer((req, res) => {
      const json = (data: unknown) => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ code: 0, message: 'ok', data }));
      };
      if (req.url === '/run_sse') {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        setTimeout(() => res.end(`data: ${JSON.stringify({ content: { parts: [{ functionCall: { name: 'transcribe_media', args: {} } }] } })}\n\n`), 400);
      } else if (req.url?.startsWith('/api/state/'))
        json({ session_id: 's', media: [], jobs: [{ id: 'j', type: 'transcribe', status: 'completed' }], files: [] });
      else json({ session_id: 's', token: 't' });
    });
    await new Promise<void>((r) => stub.listen(0, '127.0.0.1', r));
    try {
      let text = '';
      const code = await runChat({
        base: `http://127.0.0.1:${(stub.address() as AddressInfo).port}`,
        files: [],
        lines: linesWith(['transcribe it']),
        write: (s) => {
          text += s;
        },
        env: { ...envFor('quiet'), VIDSCRIBE_TOKEN: 't' },
        stillWorkingMs: 100,
      });
      assert.equal(code, 0, text);
      assert.match(text, /⏳ Still working…/);
      assert.match(text, /What changed: transcribe completed\./);
    } finally {
      await new Promise((r) => stub.close(r));
    }
  });

  test('a pasted path (quoted, or with escaped spaces) is recognised as a file', () => {
    const spaced = join(tmp, 'my clip.mp4');
    writeFileSync(spaced, 'x');
    assert.equal(pastedPath(`'${spaced}'`), spaced);
    assert.equal(pastedPath(`"${spaced}"`), spaced);
    assert.equal(pastedPath(spaced.replaceAll(' ', '\\ ')), spaced);
    assert.equal(pastedPath(`  ${SAMPLE}  `), SAMPLE);
    assert.equal(pastedPath('transcribe the clip'), undefined);
    assert.equal(pastedPath(tmp), undefined, 'a folder is not uploaded');
  });
});
