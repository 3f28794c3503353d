/**
 * The composition root: builds the services from a config. The embedded default is SQLite, the
 * local blob store, the SQL job queue and an in-process runner; `database: postgres://…`,
 * `blobs: s3://…` and `role` choose the cluster pieces here, in this one place. The CLI's `serve`
 * and `credits add` both start here.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { Accounts } from '../accounts/accounts.ts';
import { ChatCompletionsPlanner, type Planner } from '../agent/planner/index.ts';
import { DEFAULT_MODEL } from '../asr/index.ts';
import { CreditLedger, DEFAULT_PRICES, type Prices } from '../credits/ledger.ts';
import { AsrPool, asrLayout, renderHandler, transcribeHandler } from '../jobs/handlers.ts';
import { InProcessJobEvents, PostgresJobEvents } from '../jobs/events.ts';
import { SqlJobQueue, type JobQueue } from '../jobs/queue.ts';
import { type JobHandler, JobRunner } from '../jobs/runner.ts';
import { DEFAULT_MAX_BYTES } from '../media/index.ts';
import { type SessionLimits, Sessions } from '../sessions/sessions.ts';
import { ErrorCode, VidscribeError } from '../shared/errors.ts';
import { LocalBlobStore, type BlobStore } from '../storage/blob-store.ts';
import { dialectOf, openDatabase, type Db } from '../storage/database.ts';
import { S3BlobStore, parseS3Url } from '../storage/s3-blob-store.ts';

export interface ServiceConfig {
  /** Everything the server keeps: vidscribe.db, blobs/, tmp/, secret. */
  dataDir: string;
  /** `postgres://…` to keep accounts, sessions, jobs and credits in Postgres; default: vidscribe.db in dataDir (also `sqlite:path`). */
  database?: string;
  /** Postgres connections this process holds at most (default 10); only with a postgres:// database. */
  dbPool?: number;
  /**
   * `s3://bucket[/prefix]?endpoint=…&region=…` to keep media and results in an S3-compatible store
   * (credentials from the standard AWS environment variables); default: blobs/ in dataDir.
   */
  blobs?: string;
  /** What this process does: `api` (HTTP, no jobs), `worker` (jobs, no API), `all` (both; the default). */
  role?: Role;
  /** Hex key for signed download links, the same on every API node; default: generated once per data folder. */
  secret?: string;
  /** How long a worker's claim on a job lasts without renewal (default 30 s): a dead worker's job moves on after about this long. */
  leaseMs?: number;
  /** Runs of one job before it fails for good (default 3): a job that kills its worker every time stops there. */
  maxAttempts?: number;
  /** The speech model for every transcription (default base, every language; auto: the language is detected, English goes to tiny.en, the rest to base). */
  model?: string;
  prices?: Partial<Prices>;
  /** Largest upload, bytes (default 500 MB). */
  maxUploadBytes?: number;
  /**
   * Bytes of uploads one account may keep, all its sessions together (default: no limit, as for
   * the one user of a local engine; `vidscribe serve` sets 10 GB). An upload past it is 4002.
   */
  quotaBytes?: number;
  /** Sessions per account and uploads per session (default MAX_SESSIONS_PER_ACCOUNT, MAX_MEDIA_PER_SESSION); tests lower them. */
  sessionLimits?: Partial<SessionLimits>;
  /** Lets URL uploads reach private, loopback and link-local addresses (off by default: SSRF). */
  allowPrivateUrls?: boolean;
  /** Transcriptions at once (default one per core, two to an ASR worker: asrLayout); render slots (default 1). */
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

export type Role = 'api' | 'worker' | 'all';

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

function loadSecret(dataDir: string, given: string | undefined): Buffer {
  if (given !== undefined) {
    if (!/^(?:[0-9a-f]{2}){16,64}$/i.test(given)) throw new VidscribeError(ErrorCode.BadRequest, 'the download-link secret must be 32 to 128 hex digits');
    return Buffer.from(given, 'hex');
  }
  const p = join(dataDir, 'secret');
  if (!existsSync(p)) writeFileSync(p, randomBytes(32).toString('hex'), { mode: 0o600, flag: 'wx' });
  return Buffer.from(readFileSync(p, 'utf8').trim(), 'hex');
}

/**
 * TEST ONLY: with VIDSCRIBE_TEST_CRASH_ON set, a worker kills its own process (SIGKILL) when it
 * starts a transcription whose file name contains that text: the cluster test's poison job, which
 * must end failed after the attempt cap with its credits released. Unset, the handler is unchanged.
 */
function crashOnPoison(handler: JobHandler<'transcribe'>): JobHandler<'transcribe'> {
  const marker = process.env.VIDSCRIBE_TEST_CRASH_ON;
  if (!marker) return handler;
  return (job, ctx) => {
    if (job.payload.name.includes(marker)) process.kill(process.pid, 'SIGKILL');
    return handler(job, ctx);
  };
}

export async function openServices(cfg: ServiceConfig): Promise<Services> {
  const dataDir = resolve(cfg.dataDir);
  const now = cfg.now ?? Date.now;
  const db = await openDatabase(cfg.database, dataDir, { ...(cfg.dbPool !== undefined ? { poolMax: cfg.dbPool } : {}) });
  // Scratch and cached copies always stay in this node's own data folder, whatever the store.
  const blobs = cfg.blobs ? new S3BlobStore(parseS3Url(cfg.blobs), dataDir) : new LocalBlobStore(dataDir);
  await blobs.init();
  const secret = loadSecret(dataDir, cfg.secret);
  const prices = { ...DEFAULT_PRICES, ...cfg.prices, ...(cfg.signupCredits !== undefined ? { signupGrant: cfg.signupCredits } : {}) };
  const ledger = new CreditLedger(now);
  const accounts = new Accounts(db, ledger, prices, now);
  const sessions = new Sessions(db, now, cfg.sessionLimits);
  // Job events reach every process sharing a Postgres database (LISTEN/NOTIFY); SQLite has one process.
  const logError = (e: unknown, job?: { id: string }) => process.stderr.write(`vidscribe: job ${job?.id ?? '?'}: ${(e as Error)?.stack ?? String(e)}\n`);
  const events = cfg.database && dialectOf(db) === 'postgres' ? await PostgresJobEvents.open(cfg.database, db, logError) : new InProcessJobEvents();
  const queue = new SqlJobQueue(db, ledger, now, {
    events,
    ...(cfg.leaseMs !== undefined ? { leaseMs: cfg.leaseMs } : {}),
    ...(cfg.maxAttempts !== undefined ? { maxAttempts: cfg.maxAttempts } : {}),
  });
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
  const layout = asrLayout(cpus().length, cfg.asrSlots);
  const asr = new AsrPool({ model: config.model, threads: layout.threads, jobsPerWorker: layout.jobsPerWorker });
  // Scratch files are only ever in use by this process (uploads, jobs); what is there now is debris of a killed one.
  if (!cfg.noWorkers) await blobs.sweepScratch();
  if (!cfg.noWorkers && cfg.role !== 'api') {
    await queue.recoverInterrupted();
    const deps = { sessions, blobs, queue, credits: { available: async (accountId: string) => (await ledger.balance(db, accountId)).available } };
    runner = new JobRunner(queue, {
      handlers: { transcribe: crashOnPoison(transcribeHandler(deps, asr)), render: renderHandler(deps) },
      slots: { transcribe: layout.transcriptions, render: cfg.renderSlots ?? 1 },
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
      if (blobs instanceof S3BlobStore) blobs.close();
    },
  };
}
