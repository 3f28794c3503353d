/**
 * The service's database: one typed schema (Kysely) over SQLite by default, or Postgres
 * (`openDatabase('postgres://…')`) when several processes share it. Every query in the product
 * goes through Kysely, and the migrations below build the same schema on both. Times are epoch
 * milliseconds (bigint); JSON columns hold text.
 */
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, PostgresAdapter, PostgresDialect, SqliteDialect, sql, type Generated, type SqliteDatabase } from 'kysely';
import pg from 'pg';
import { Migrator, type Migration, type MigrationProvider } from 'kysely/migration';

export interface AccountsTable {
  id: string;
  kind: 'anonymous' | 'registered';
  client_id: string | null;
  email: string | null;
  password_hash: string | null;
  created_at: number;
}

export interface TokensTable {
  token: string;
  account_id: string;
  client_id: string | null;
  created_at: number;
  expires_at: number;
  /** Set when the token was logged out, refreshed, or its anonymous account was registered: it opens nothing any more. */
  revoked_at: number | null;
}

/** Every change to an account's credits, signed; the balance is their sum. */
export interface LedgerTable {
  id: Generated<number>;
  account_id: string;
  delta: number;
  reason: string;
  job_id: string | null;
  created_at: number;
}

/** Credits held for a queued or running job until it settles (success) or is released. */
export interface HoldsTable {
  job_id: string;
  account_id: string;
  amount: number;
  state: 'held' | 'settled' | 'released';
  created_at: number;
  updated_at: number;
}

export interface SessionsTable {
  id: string;
  account_id: string;
  agent: string;
  task_name: string;
  language: string;
  /** The current draft (render library format), JSON. */
  draft: string | null;
  /** The draft_versions row the current draft is (undo moves it back, redo forward); null before the first version. */
  draft_cursor: number | null;
  created_at: number;
  updated_at: number;
}

/**
 * Every version of a session's draft, so undo restores the previous one byte for byte. `origin`
 * 'upload' marks a draft made by something other than an edit (uploads): "start over" goes back to
 * the latest of those. Bounded per session (Sessions.DRAFT_VERSIONS_KEPT, oldest dropped).
 */
export interface DraftVersionsTable {
  session_id: string;
  version: number;
  draft: string;
  origin: 'upload' | 'edit';
  created_at: number;
}

export interface MediaTable {
  id: string;
  session_id: string;
  account_id: string;
  name: string;
  kind: 'video' | 'audio' | 'image';
  store_key: string;
  size_bytes: number;
  /** Upload order within the session, from 1: what "the second video" counts. */
  position: number;
  /** ffprobe facts (duration, streams), JSON. */
  info: string;
  created_at: number;
}

export interface TranscriptsTable {
  id: string;
  session_id: string | null;
  account_id: string;
  media_id: string | null;
  job_id: string;
  language: string;
  text: string;
  /** The whole Transcript (segments, words), JSON. */
  body: string;
  /** Starts at 1; each accepted edit adds one, and an edit must name the version it was made on (two tabs cannot both win). */
  version: Generated<number>;
  created_at: number;
}

/** Downloadable results: transcript exports and rendered videos. */
export interface FilesTable {
  id: string;
  account_id: string;
  session_id: string | null;
  job_id: string | null;
  name: string;
  content_type: string;
  store_key: string;
  size_bytes: number;
  created_at: number;
}

export interface JobsTable {
  id: string;
  type: string;
  account_id: string;
  session_id: string | null;
  state: 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';
  progress: number;
  payload: string;
  result: string | null;
  error: string | null;
  price: number;
  attempts: number;
  /** After this many attempts a job whose worker stopped is failed, not queued again (default 3). */
  max_attempts: number;
  /** The running job's lease: who holds it (one value per claim) and until when (epoch ms); renewed while it runs. */
  lease_owner: string | null;
  lease_until: number | null;
  /** Set when a cancel was asked for while it ran: its worker aborts it, or the reaper cancels it once the lease expires. */
  cancel_requested_at: number | null;
  /** A one-off upload's size (/v1): its file is kept for the account, and counted in its storage quota, until removed (null then, and for other jobs). */
  kept_bytes: number | null;
  created_at: number;
  updated_at: number;
}

export interface Database {
  accounts: AccountsTable;
  tokens: TokensTable;
  ledger: LedgerTable;
  holds: HoldsTable;
  sessions: SessionsTable;
  draft_versions: DraftVersionsTable;
  media: MediaTable;
  transcripts: TranscriptsTable;
  files: FilesTable;
  jobs: JobsTable;
}

export type Db = Kysely<Database>;

export type Dialect = 'sqlite' | 'postgres';

/** Which engine a database (or a transaction on one) runs on: for the few statements that differ (row locks, identity columns). */
// biome-ignore lint/suspicious/noExplicitAny: migrations pass Kysely<any>
export function dialectOf(db: Kysely<any>): Dialect {
  return db.getExecutor().adapter instanceof PostgresAdapter ? 'postgres' : 'sqlite';
}

/**
 * Locks an account's or a session's row for the rest of the transaction `trx`, on Postgres, which
 * runs transactions side by side; SQLite needs no lock (one writer at a time). NO KEY UPDATE, not
 * UPDATE: rows that only reference it (a ledger entry, a hold, a token) take a KEY SHARE lock on it,
 * which this one lets through, while two lockers of the same row still queue behind each other.
 */
export async function lockRow(trx: Db, table: 'accounts' | 'sessions', id: string): Promise<void> {
  if (dialectOf(trx) !== 'postgres') return;
  if (!trx.isTransaction) throw new Error(`locking a row of ${table} outside a transaction: the lock would end with the statement`);
  await trx.selectFrom(table).select('id').where('id', '=', id).forNoKeyUpdate().execute();
}

const migrations: Record<string, Migration> = {
  '001_initial': {
    // biome-ignore lint/suspicious/noExplicitAny: a migration sees the schema of its own time, not today's (Kysely's documented pattern)
    async up(db: Kysely<any>) {
      // SQLite keeps exactly the schema it always had (existing databases are never rebuilt); on
      // Postgres an integer is 4 bytes, so byte sizes are bigint, progress a double (not a 4-byte
      // real), and the ledger id an identity column (Postgres has no AUTOINCREMENT).
      const isPg = dialectOf(db) === 'postgres';
      const bytes = isPg ? 'bigint' : 'integer';
      await db.schema
        .createTable('accounts')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('client_id', 'text')
        .addColumn('email', 'text', (c) => c.unique())
        .addColumn('password_hash', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('tokens')
        .addColumn('token', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id'))
        .addColumn('client_id', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('tokens_client').on('tokens').columns(['client_id', 'created_at']).execute();
      await db.schema
        .createTable('ledger')
        .addColumn('id', isPg ? 'bigint' : 'integer', (c) => (isPg ? c.primaryKey().generatedAlwaysAsIdentity() : c.primaryKey().autoIncrement()))
        .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id'))
        .addColumn('delta', 'integer', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('job_id', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('ledger_account').on('ledger').column('account_id').execute();
      await db.schema
        .createTable('holds')
        .addColumn('job_id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id'))
        .addColumn('amount', 'integer', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('holds_account_state').on('holds').columns(['account_id', 'state']).execute();
      await db.schema
        .createTable('sessions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id'))
        .addColumn('agent', 'text', (c) => c.notNull())
        .addColumn('task_name', 'text', (c) => c.notNull())
        .addColumn('language', 'text', (c) => c.notNull())
        .addColumn('draft', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('media')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('session_id', 'text', (c) => c.notNull().references('sessions.id'))
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('store_key', 'text', (c) => c.notNull())
        .addColumn('size_bytes', bytes, (c) => c.notNull())
        .addColumn('position', 'integer', (c) => c.notNull())
        .addColumn('info', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('media_session').on('media').column('session_id').execute();
      await db.schema
        .createTable('transcripts')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('session_id', 'text')
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('media_id', 'text')
        .addColumn('job_id', 'text', (c) => c.notNull())
        .addColumn('language', 'text', (c) => c.notNull())
        .addColumn('text', 'text', (c) => c.notNull())
        .addColumn('body', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('transcripts_session').on('transcripts').column('session_id').execute();
      await db.schema
        .createTable('files')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('session_id', 'text')
        .addColumn('job_id', 'text')
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('content_type', 'text', (c) => c.notNull())
        .addColumn('store_key', 'text', (c) => c.notNull())
        .addColumn('size_bytes', bytes, (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('files_session').on('files').column('session_id').execute();
      await db.schema
        .createTable('jobs')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('session_id', 'text')
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('progress', isPg ? 'double precision' : 'real', (c) => c.notNull().defaultTo(0))
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('result', 'text')
        .addColumn('error', 'text')
        .addColumn('price', 'integer', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('jobs_state').on('jobs').columns(['state', 'type', 'created_at']).execute();
      await db.schema.createIndex('jobs_session').on('jobs').column('session_id').execute();
    },
  },
  // Login, refresh and logout: a token can be revoked before it expires; bind revokes an account's tokens.
  '002_token_revocation': {
    // biome-ignore lint/suspicious/noExplicitAny: a migration sees the schema of its own time, not today's (Kysely's documented pattern)
    async up(db: Kysely<any>) {
      await db.schema.alterTable('tokens').addColumn('revoked_at', 'bigint').execute();
      await db.schema.createIndex('tokens_account').on('tokens').column('account_id').execute();
      await db.schema.createIndex('jobs_account').on('jobs').column('account_id').execute();
      await db.schema.createIndex('files_job').on('files').column('job_id').execute();
      await db.schema.createIndex('transcripts_job').on('transcripts').column('job_id').execute();
    },
  },
  // Undo, redo and "start over": every draft change is a version kept in the session.
  '003_draft_versions': {
    // biome-ignore lint/suspicious/noExplicitAny: a migration sees the schema of its own time, not today's (Kysely's documented pattern)
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('draft_versions')
        .addColumn('session_id', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('draft', 'text', (c) => c.notNull())
        .addColumn('origin', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('draft_versions_pk', ['session_id', 'version'])
        .execute();
      await db.schema.alterTable('sessions').addColumn('draft_cursor', 'integer').execute();
    },
  },
  // Transcript edits from the web app: a version per transcript, so a stale edit is refused (4009).
  '004_transcript_edits': {
    // biome-ignore lint/suspicious/noExplicitAny: a migration sees the schema of its own time, not today's (Kysely's documented pattern)
    async up(db: Kysely<any>) {
      await db.schema
        .alterTable('transcripts')
        .addColumn('version', 'integer', (c) => c.notNull().defaultTo(1))
        .execute();
    },
  },
  // Leases: a running job belongs to one worker until its lease expires; then another takes it, up to max_attempts.
  '005_job_leases': {
    // biome-ignore lint/suspicious/noExplicitAny: a migration sees the schema of its own time, not today's (Kysely's documented pattern)
    async up(db: Kysely<any>) {
      await db.schema.alterTable('jobs').addColumn('lease_owner', 'text').execute();
      await db.schema.alterTable('jobs').addColumn('lease_until', 'bigint').execute();
      await db.schema
        .alterTable('jobs')
        .addColumn('max_attempts', 'integer', (c) => c.notNull().defaultTo(3))
        .execute();
      await db.schema.alterTable('jobs').addColumn('cancel_requested_at', 'bigint').execute();
      await db.schema.createIndex('jobs_lease').on('jobs').columns(['state', 'lease_until']).execute();
    },
  },
  // The uploads an account keeps, summed for its storage quota at every upload.
  '006_media_account': {
    // biome-ignore lint/suspicious/noExplicitAny: a migration sees the schema of its own time, not today's (Kysely's documented pattern)
    async up(db: Kysely<any>) {
      await db.schema.createIndex('media_account').on('media').column('account_id').execute();
    },
  },
  // An account's sessions: counted when one is opened (MAX_SESSIONS_PER_ACCOUNT), listed by GET /api/sessions.
  '007_sessions_account': {
    // biome-ignore lint/suspicious/noExplicitAny: a migration sees the schema of its own time, not today's (Kysely's documented pattern)
    async up(db: Kysely<any>) {
      await db.schema.createIndex('sessions_account').on('sessions').column('account_id').execute();
    },
  },
  // The files one-off transcriptions (/v1) keep, in a column: summed for the quota and swept once
  // their jobs end without parsing payloads in SQL (Postgres refuses to parse a payload that holds
  // an escaped NUL, and one such prompt stopped every account's sweep). Jobs of before keep their
  // files uncounted, as before the quota: a file of theirs may be shared with a session's upload.
  '008_job_kept_bytes': {
    // biome-ignore lint/suspicious/noExplicitAny: a migration sees the schema of its own time, not today's (Kysely's documented pattern)
    async up(db: Kysely<any>) {
      await db.schema
        .alterTable('jobs')
        .addColumn('kept_bytes', dialectOf(db) === 'postgres' ? 'bigint' : 'integer')
        .execute();
      await db.schema.createIndex('jobs_kept').on('jobs').columns(['account_id', 'state']).where(sql.ref('kept_bytes'), 'is not', null).execute();
    },
  },
};

const provider: MigrationProvider = { getMigrations: async () => migrations };

/**
 * The database a deployment names: none → `vidscribe.db` in the data folder (the embedded
 * default); `postgres://…` (or `postgresql://`) → that Postgres; anything else a SQLite file
 * (`sqlite:path` or a plain path, relative to the working directory). Migrated to the latest schema.
 */
export async function openDatabase(url: string | undefined, dataDir: string, opts: { poolMax?: number } = {}): Promise<Db> {
  if (url && /^postgres(ql)?:\/\//i.test(url)) return openPostgres(url, { ...(opts.poolMax !== undefined ? { max: opts.poolMax } : {}) });
  if (!url) return openSqlite(join(dataDir, 'vidscribe.db'));
  const path = url.replace(/^sqlite:(\/\/)?/i, '');
  return openSqlite(path === ':memory:' ? path : resolve(path));
}

/** Postgres connections one process holds at most, unless told (`serve --db-pool`). */
export const DEFAULT_POOL_MAX = 10;

/**
 * Postgres through a connection pool. Postgres returns bigint (epoch ms) and numeric (a SUM of
 * bigints) as strings, to be exact past 2^53; ours are milliseconds and credits, far below it, and
 * the code reads them as numbers, as SQLite gives them. The parsers are this pool's only, not pg's
 * global ones. Migrations take Kysely's advisory lock, so processes starting together migrate once.
 * `max`: connections this process holds at most (default 10; `serve --db-pool`).
 */
export async function openPostgres(url: string, opts: { max?: number } = {}): Promise<Db> {
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.max ?? DEFAULT_POOL_MAX,
    // A node that stops answering mid-transaction (frozen, cut off) must not hold an account's or a
    // job's row lock for ever: Postgres ends such a transaction after a minute (ours take
    // milliseconds), and TCP keep-alives notice a peer that is gone.
    idle_in_transaction_session_timeout: 60_000,
    keepAlive: true,
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === pg.types.builtins.INT8 || oid === pg.types.builtins.NUMERIC ? Number : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
    },
  });
  // An idle connection can fail (Postgres restarted, the network cut): the pool drops it and opens
  // another when one is needed. Unheard, the pool's 'error' event would end the process.
  pool.on('error', (e) => process.stderr.write(`vidscribe: an idle Postgres connection failed (${e.message}); it is replaced on next use\n`));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  try {
    await migrate(db);
  } catch (e) {
    await db.destroy();
    throw e;
  }
  return db;
}

/**
 * Opens (creating if needed) the embedded SQLite database and brings its schema up to date.
 * WAL with synchronous=NORMAL survives a killed process (the durability we promise), and lets
 * readers run while a job writes.
 */
export async function openSqlite(path: string): Promise<Db> {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const sqlite = new SQLite(path);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
  await migrate(db);
  return db;
}

/**
 * Kysely prepares every query anew; the same few SQL strings serve every request, so keep their
 * prepared statements (a third of a small request's cost, measured by bench:api). Statements
 * are only ever run one at a time (Kysely's connection mutex), so sharing them is safe.
 */
function withStatementCache(sqlite: SQLite.Database, max = 500): SqliteDatabase {
  const cache = new Map<string, SQLite.Statement>();
  return {
    close: () => sqlite.close(),
    prepare(text: string) {
      let stmt = cache.get(text);
      if (!stmt) {
        stmt = sqlite.prepare(text);
        if (cache.size >= max) cache.delete(cache.keys().next().value!);
        cache.set(text, stmt);
      }
      return stmt;
    },
  };
}

export async function migrate(db: Db): Promise<void> {
  const { error, results } = await new Migrator({ db, provider }).migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) throw new Error(`database migration ${failed?.migrationName ?? ''} failed: ${String(error)}`, { cause: error });
}

export { sql };
