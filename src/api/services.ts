/**
 * The composition root: builds the embedded default (SQLite, local blob store, SQL job queue,
 * in-process runner) from a config. The CLI's `serve` and `credits add` both start here; a
 * scaled deployment swaps the storage, queue and blob store implementations in this one place.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { Accounts } from '../accounts/accounts.ts';
import { ChatCompletionsPlanner, type Planner } from '../agent/planner/index.ts';
import { DEFAULT_MODEL } from '../asr/index.ts';
import { CreditLedger, DEFAULT_PRICES, type Prices } from '../credits/ledger.ts';
import { AsrPool, renderHandler, transcribeHandler } from '../jobs/handlers.ts';
import { InProcessJobEvents, PostgresJobEvents } from '../jobs/events.ts';
import { SqlJobQueue, type JobQueue } from '../jobs/queue.ts';
import { JobRunner } from '../jobs/runner.ts';
import { DEFAULT_MAX_BYTES } from '../media/index.ts';
import { Sessions } from '../sessions/sessions.ts';
import { LocalBlobStore, type BlobStore } from '../storage/blob-store.ts';
import { dialectOf, openDatabase, type Db } from '../storage/database.ts';

export interface ServiceConfig {
  /** Everything the server keeps: vidscribe.db, blobs/, tmp/, secret. */
  dataDir: string;
  /** `postgres://…` to keep accounts, sessions, jobs and credits in Postgres; default: vidscribe.db in dataDir (also `sqlite:path`). */
  database?: string;
  /** The speech model for every transcription (default auto: the language is detected, English goes to tiny.en, the rest to base). */
  model?: string;
  prices?: Partial<Prices>;
  /** Largest upload, bytes (default 500 MB). */
  maxUploadBytes?: number;
  /** Lets URL uploads reach private, loopback and link-local addresses (off by default: SSRF). */
  allowPrivateUrls?: boolean;
  /** Worker slots; default: 1 ASR slot per 2 cores (at least 1), 1 render slot. */
  asrSlots?: number;
  renderSlots?: number;
  /** Base URL used in links the API hands out (registration, downloads); default from the request. */
  publicUrl?: string;
  /** Host names (besides localhost) whose Host header may shape links when no public URL is set. */
  allowedHosts?: string[];
  /** New anonymous tokens one address may ask for per hour (default 30): client ids are free to invent, credits are not. */
  anonymousTokensPerHour?: number;
  /** Registrations one address may make per hour (default 5): each one is a sign-up grant. */
  registrationsPerHour?: number;
  /** Login attempts one address may make per hour (default 30): passwords are not to be guessed. */
  loginsPerHour?: number;
  /** Credits granted on registering (default 100; same as prices.signupGrant, which it overrides). */
  signupCredits?: number;
  /** Lifetime of signed download links (default 1 hour). */
  downloadTtlMs?: number;
  /** Injectable clock for the token and link rules. */
  now?: () => number;
  /** Start no job runner (the CLI's admin commands). */
  noWorkers?: boolean;
  /**
   * An OpenAI-compatible chat-completions server (llama.cpp, Ollama, vLLM…) the agent asks to plan
   * requests its parser does not understand; `url` is the API base (…/v1). Off by default.
   */
  llm?: { url: string; model: string; apiKey?: string; timeoutMs?: number };
}

export interface Services {
  config: Required<
    Pick<
      ServiceConfig,
      'dataDir' | 'model' | 'maxUploadBytes' | 'allowPrivateUrls' | 'downloadTtlMs' | 'anonymousTokensPerHour' | 'registrationsPerHour' | 'loginsPerHour'
    >
  > &
    ServiceConfig;
  db: Db;
  blobs: BlobStore;
  ledger: CreditLedger;
  prices: Prices;
  accounts: Accounts;
  sessions: Sessions;
  queue: JobQueue;
  runner: JobRunner | undefined;
  /** The agent's language-model planner, when `llm` is configured. */
  planner: Planner | undefined;
  /** Signs download links; generated once per data folder. */
  secret: Buffer;
  now: () => number;
  close(): Promise<void>;
}

function loadSecret(dataDir: string): Buffer {
  const p = join(dataDir, 'secret');
  if (!existsSync(p)) writeFileSync(p, randomBytes(32).toString('hex'), { mode: 0o600, flag: 'wx' });
  return Buffer.from(readFileSync(p, 'utf8').trim(), 'hex');
}

export async function openServices(cfg: ServiceConfig): Promise<Services> {
  const dataDir = resolve(cfg.dataDir);
  const now = cfg.now ?? Date.now;
  const db = await openDatabase(cfg.database, dataDir);
  const blobs = new LocalBlobStore(dataDir);
  await blobs.init();
  const secret = loadSecret(dataDir);
  const prices = { ...DEFAULT_PRICES, ...cfg.prices, ...(cfg.signupCredits !== undefined ? { signupGrant: cfg.signupCredits } : {}) };
  const ledger = new CreditLedger(now);
  const accounts = new Accounts(db, ledger, prices, now);
  const sessions = new Sessions(db, now);
  // Job events reach every process sharing a Postgres database (LISTEN/NOTIFY); SQLite has one process.
  const logError = (e: unknown, job?: { id: string }) => process.stderr.write(`vidscribe: job ${job?.id ?? '?'}: ${(e as Error)?.stack ?? String(e)}\n`);
  const events = cfg.database && dialectOf(db) === 'postgres' ? await PostgresJobEvents.open(cfg.database, db, logError) : new InProcessJobEvents();
  const queue = new SqlJobQueue(db, ledger, now, { events });
  const config = {
    ...cfg,
    dataDir,
    model: cfg.model ?? DEFAULT_MODEL,
    maxUploadBytes: cfg.maxUploadBytes ?? DEFAULT_MAX_BYTES,
    allowPrivateUrls: cfg.allowPrivateUrls ?? false,
    downloadTtlMs: cfg.downloadTtlMs ?? 3600_000,
    anonymousTokensPerHour: cfg.anonymousTokensPerHour ?? 30,
    registrationsPerHour: cfg.registrationsPerHour ?? 5,
    loginsPerHour: cfg.loginsPerHour ?? 30,
  };
  let runner: JobRunner | undefined;
  const asr = new AsrPool({ model: config.model });
  if (!cfg.noWorkers) {
    // Scratch files are only ever in use by this process's jobs; what is there now is debris of a killed one.
    await blobs.sweepScratch();
    await queue.recoverInterrupted();
    const deps = { sessions, blobs, queue };
    runner = new JobRunner(queue, {
      handlers: { transcribe: transcribeHandler(deps, asr), render: renderHandler(deps) },
      slots: { transcribe: cfg.asrSlots ?? Math.max(1, Math.floor(cpus().length / 2)), render: cfg.renderSlots ?? 1 },
      onError: logError,
    });
    runner.start();
  }
  return {
    config,
    db,
    blobs,
    ledger,
    prices,
    accounts,
    sessions,
    queue,
    runner,
    planner: cfg.llm ? new ChatCompletionsPlanner(cfg.llm) : undefined,
    secret,
    now,
    async close() {
      await runner?.stop();
      await asr.close();
      await events.close();
      await db.destroy();
    },
  };
}
