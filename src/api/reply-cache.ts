/**
 * Replies the web app and agents poll (the session state, the credit balance) kept serialized
 * while the database has not changed. Building the state reply (five reads, the draft parsed,
 * links signed, the JSON written) cost about three bare requests, the balance one more than one
 * (bench:api); a kept reply costs a map lookup.
 *
 * "Not changed" is SQLite's own word: a second, read-only connection to the same file reads
 * `PRAGMA data_version`, which moves whenever any other connection commits — this process's own
 * (every write of the server goes through it) or another process's (`vidscribe credits add`). It
 * is read before a reply is built, so a write landing meanwhile leaves an entry no later read
 * matches: a stale reply is never served. An entry names the account it was built for, and the
 * links it holds (base URL and their expiry step), so it is never served to another account or
 * with expired links; a session changes hands (bind) only by a write. On Postgres other nodes
 * write unseen, and an in-memory SQLite has no second connection: no cache there (`open` gives
 * undefined), and every reply is read from the database as before.
 */
import SQLite from 'better-sqlite3';
import { sql } from 'kysely';
import { type Db, dialectOf } from '../storage/database.ts';

interface Entry {
  accountId: string;
  version: number;
  links: string;
  body: Buffer;
}

export interface ReplyCacheLimits {
  /** Replies kept (the least recently read dropped first). */
  maxEntries: number;
  /** Bytes of replies kept in all; a reply larger than an eighth of it is not kept. */
  maxBytes: number;
}

export const REPLY_CACHE_LIMITS: ReplyCacheLimits = { maxEntries: 2000, maxBytes: 32 * 1024 * 1024 };

export class ReplyCache {
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;
  private readonly dataVersion: SQLite.Statement<[], number>;

  private constructor(
    private readonly watcher: SQLite.Database,
    readonly limits: ReplyCacheLimits,
  ) {
    this.dataVersion = watcher.prepare<[], number>('PRAGMA data_version').pluck();
  }

  /** A cache for this database, or undefined where a write could go unseen (Postgres, in-memory SQLite). */
  static async open(db: Db, limits: ReplyCacheLimits = REPLY_CACHE_LIMITS): Promise<ReplyCache | undefined> {
    if (dialectOf(db) !== 'sqlite') return undefined;
    const { rows } = await sql<{ file: string }>`select file from pragma_database_list where name = 'main'`.execute(db);
    const file = rows[0]?.file;
    if (!file) return undefined;
    return new ReplyCache(new SQLite(file, { readonly: true, fileMustExist: true }), limits);
  }

  /** The database's version now: read it before building a reply, and keep the reply under it. */
  version(): number {
    return this.dataVersion.get()!;
  }

  get size(): number {
    return this.entries.size;
  }

  get sizeBytes(): number {
    return this.bytes;
  }

  /** The kept reply under `key`, if it was built for this account, at this version, with these links. */
  get(key: string, accountId: string, version: number, links: string): Buffer | undefined {
    const e = this.entries.get(key);
    if (!e || e.accountId !== accountId || e.version !== version || e.links !== links) return undefined;
    // Most recently read last: the first entry is the next to drop.
    this.entries.delete(key);
    this.entries.set(key, e);
    return e.body;
  }

  set(key: string, accountId: string, version: number, links: string, body: Buffer): void {
    this.drop(key);
    if (body.length > this.limits.maxBytes / 8) return;
    this.entries.set(key, { accountId, version, links, body });
    this.bytes += body.length;
    for (const oldest of this.entries.keys()) {
      if (this.entries.size <= this.limits.maxEntries && this.bytes <= this.limits.maxBytes) break;
      this.drop(oldest);
    }
  }

  close(): void {
    this.entries.clear();
    this.bytes = 0;
    this.watcher.close();
  }

  private drop(key: string): void {
    const e = this.entries.get(key);
    if (!e) return;
    this.entries.delete(key);
    this.bytes -= e.body.length;
  }
}
