/**
 * What a vidscribe client (`vidscribe chat`, `vidscribe mcp`) keeps about itself, in the user's
 * config folder and never in a project folder: one client id per user, and its tokens per server.
 * The server issues one anonymous token per client id every 7 days, so a second run must reuse
 * the token it got, not ask again.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** `$XDG_CONFIG_HOME/vidscribe`, else `~/.config/vidscribe`. */
export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'vidscribe');
}

/** A stable id of this client, made once. */
export function clientId(env: NodeJS.ProcessEnv = process.env): string {
  const dir = configDir(env);
  const file = join(dir, 'client-id');
  if (existsSync(file)) {
    const id = readFileSync(file, 'utf8').trim();
    if (id) return id;
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const id = `client-${randomUUID()}`;
  writeFileSync(file, `${id}\n`, { mode: 0o600 });
  return id;
}

export interface StoredToken {
  token: string;
  anonymous_id?: string;
}

/** Tokens per server (its URL, or the data folder of an embedded engine), beside the client id. */
export function tokenStore(env: NodeJS.ProcessEnv = process.env) {
  const file = join(configDir(env), 'tokens.json');
  const read = (): Record<string, StoredToken> => {
    if (!existsSync(file)) return {};
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as Record<string, StoredToken>;
    } catch {
      return {}; // a damaged file only costs a new token
    }
  };
  return {
    get: (server: string): StoredToken | undefined => read()[server],
    set: (server: string, t: StoredToken) => {
      mkdirSync(configDir(env), { recursive: true, mode: 0o700 });
      writeFileSync(file, JSON.stringify({ ...read(), [server]: t }), { mode: 0o600 });
    },
    forget: (server: string) => {
      const all = read();
      if (!(server in all)) return;
      delete all[server];
      writeFileSync(file, JSON.stringify(all), { mode: 0o600 });
    },
  };
}
