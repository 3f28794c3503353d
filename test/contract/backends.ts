/**
 * The storage backends every contract test runs against: the embedded SQLite and a real
 * Postgres 15 (one throwaway cluster per test file, started on first use; each `open()` is a
 * fresh, migrated database on it, so tests do not see each other's rows).
 *
 *   for (const backend of backends()) describe(backend.name, () => { after(() => backend.close()); … });
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, type Db } from '../../src/storage/database.ts';
import { startPostgres, type PostgresServer } from '../helpers/postgres.ts';

export interface Backend {
  name: 'sqlite' | 'postgres';
  /** A URL for a fresh, empty database on this backend (what `openDatabase` and `openServices({ database })` take). */
  url(): Promise<string>;
  /** A fresh database, migrated; closed by `close()`. */
  open(): Promise<Db>;
  /** Closes every database opened here and stops the server (Postgres) or removes the files (SQLite). */
  close(): Promise<void>;
}

function backend(name: Backend['name'], newUrl: () => Promise<string>, stop: () => Promise<void>): Backend {
  const opened: Db[] = [];
  const scratch = mkdtempSync(join(tmpdir(), `vidscribe-contract-${name}-`));
  return {
    name,
    url: newUrl,
    async open() {
      const db = await openDatabase(await newUrl(), scratch);
      opened.push(db);
      return db;
    },
    async close() {
      for (const db of opened.splice(0)) await db.destroy();
      await stop();
      rmSync(scratch, { recursive: true, force: true });
    },
  };
}

export function sqliteBackend(): Backend {
  const dir = mkdtempSync(join(tmpdir(), 'vidscribe-sqlite-'));
  let n = 0;
  return backend(
    'sqlite',
    async () => `sqlite:${join(dir, `db${++n}.db`)}`,
    async () => rmSync(dir, { recursive: true, force: true }),
  );
}

export function postgresBackend(): Backend {
  let server: Promise<PostgresServer> | undefined;
  return backend(
    'postgres',
    async () => {
      server ??= startPostgres();
      return (await server).createDatabase();
    },
    async () => {
      if (server) await (await server).stop();
      server = undefined;
    },
  );
}

/** SQLite and Postgres, in that order. */
export function backends(): Backend[] {
  return [sqliteBackend(), postgresBackend()];
}
