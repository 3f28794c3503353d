/**
 * `vidscribe serve` (the API and workers: embedded defaults, or cluster pieces and a role) and
 * `vidscribe credits add` (admin).
 */
import { createServer } from 'node:http';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { buildApp } from '../api/app.ts';
import { openServices, type Role, type Services } from '../api/services.ts';
import { DEFAULT_PRICES, type Prices } from '../credits/ledger.ts';
import { ErrorCode, VidscribeError } from '../shared/errors.ts';
import { reapOrphans, recordChildrenIn } from '../shared/process.ts';

export interface ServeOptions {
  port: string;
  host: string;
  data: string;
  model?: string;
  publicUrl?: string;
  allowedHosts?: string;
  allowPrivateUrls?: boolean;
  maxUploadMb?: string;
  quotaMb?: string;
  asrSlots?: string;
  renderSlots?: string;
  prices?: string;
  tokensPerHour?: string;
  registrationsPerHour?: string;
  trustProxy?: string;
  signupCredits?: string;
  llmUrl?: string;
  llmModel?: string;
  database?: string;
  dbPool?: string;
  blobs?: string;
  role?: string;
  leaseSeconds?: string;
  maxAttempts?: string;
}

/** A pool larger than this is a typo: Postgres would refuse the connections long before. */
const MAX_DB_POOL = 1000;

export interface ClusterConfig {
  database?: string;
  /** Postgres connections this process holds at most; only with a postgres:// database. */
  dbPool?: number;
  blobs?: string;
  role: Role;
  secret?: string;
}

/**
 * `--database`, `--db-pool`, `--blobs`, `--role` (or VIDSCRIBE_DATABASE, VIDSCRIBE_DB_POOL,
 * VIDSCRIBE_BLOBS, VIDSCRIBE_ROLE; a flag wins) and VIDSCRIBE_SECRET (env only: it signs download
 * links). None of them: the embedded defaults. A process with only one role shares its work with others, so it needs the shared
 * pieces: Postgres (SQLite is one process's) and S3 (a local folder is one node's).
 */
export function clusterConfig(o: Pick<ServeOptions, 'database' | 'dbPool' | 'blobs' | 'role'>, env: NodeJS.ProcessEnv = process.env): ClusterConfig {
  const database = o.database ?? (env.VIDSCRIBE_DATABASE || undefined);
  const pool = o.dbPool ?? (env.VIDSCRIBE_DB_POOL || undefined);
  const blobs = o.blobs ?? (env.VIDSCRIBE_BLOBS || undefined);
  const role = o.role ?? (env.VIDSCRIBE_ROLE || 'all');
  if (role !== 'api' && role !== 'worker' && role !== 'all')
    throw new VidscribeError(ErrorCode.BadRequest, `--role must be api, worker or all, got "${role.slice(0, 40)}"`);
  if (database !== undefined && !/^(postgres(ql)?:\/\/|sqlite:)/.test(database))
    throw new VidscribeError(ErrorCode.BadRequest, '--database must be a postgres://… URL (or sqlite:path)');
  if (blobs !== undefined && !blobs.startsWith('s3://'))
    throw new VidscribeError(ErrorCode.BadRequest, '--blobs must be an s3://bucket?endpoint=…&region=… URL');
  if (role !== 'all' && (!database?.startsWith('postgres') || !blobs))
    throw new VidscribeError(ErrorCode.BadRequest, `--role ${role} shares the work with other processes: it needs --database postgres://… and --blobs s3://…`);
  // Postgres's own limit is 100 connections by default, shared by every process: the pool of each
  // must fit, so it is told, not guessed. SQLite has one connection: a pool size there is a mistake.
  let dbPool: number | undefined;
  if (pool !== undefined) {
    if (!database?.startsWith('postgres'))
      throw new VidscribeError(ErrorCode.BadRequest, '--db-pool sizes the Postgres pool: it needs --database postgres://…');
    dbPool = /^\d{1,4}$/.test(pool.trim()) ? Number(pool) : Number.NaN;
    if (!(dbPool >= 1 && dbPool <= MAX_DB_POOL))
      throw new VidscribeError(ErrorCode.BadRequest, `--db-pool must be a whole number from 1 to ${MAX_DB_POOL}, got "${pool.slice(0, 40)}"`);
  }
  return { database, ...(dbPool !== undefined ? { dbPool } : {}), blobs, role, ...(env.VIDSCRIBE_SECRET ? { secret: env.VIDSCRIBE_SECRET } : {}) };
}

/**
 * The agent's optional language-model planner: `--llm-url` and `--llm-model` (or VIDSCRIBE_LLM_URL
 * and VIDSCRIBE_LLM_MODEL), both or neither; the API key only from VIDSCRIBE_LLM_KEY, so it never
 * shows in a process list.
 */
export function llmConfig(
  o: Pick<ServeOptions, 'llmUrl' | 'llmModel'>,
  env: NodeJS.ProcessEnv = process.env,
): { url: string; model: string; apiKey?: string } | undefined {
  const url = o.llmUrl ?? env.VIDSCRIBE_LLM_URL;
  const model = o.llmModel ?? env.VIDSCRIBE_LLM_MODEL;
  if (!url && !model) return undefined;
  if (!url || !model) throw new VidscribeError(ErrorCode.BadRequest, '--llm-url and --llm-model go together (or VIDSCRIBE_LLM_URL and VIDSCRIBE_LLM_MODEL)');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new VidscribeError(ErrorCode.BadRequest, `--llm-url must be an http(s) URL such as http://127.0.0.1:8080/v1, got "${url.slice(0, 80)}"`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new VidscribeError(ErrorCode.BadRequest, `--llm-url must be an http(s) URL such as http://127.0.0.1:8080/v1, got "${url.slice(0, 80)}"`);
  }
  return { url, model, ...(env.VIDSCRIBE_LLM_KEY ? { apiKey: env.VIDSCRIBE_LLM_KEY } : {}) };
}

/** `--prices '{"transcribePerMinute":2}'`: any of the Prices fields, whole credits. */
function parsePrices(json: string | undefined): Partial<Prices> | undefined {
  if (json === undefined) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch {
    throw new VidscribeError(ErrorCode.BadRequest, `--prices must be JSON, got ${json}`);
  }
  const known = Object.keys(DEFAULT_PRICES);
  if (typeof v !== 'object' || v === null) throw new VidscribeError(ErrorCode.BadRequest, '--prices must be a JSON object');
  for (const [k, n] of Object.entries(v)) {
    if (!known.includes(k)) throw new VidscribeError(ErrorCode.BadRequest, `--prices: unknown price "${k}"; known: ${known.join(', ')}`);
    if (!Number.isSafeInteger(n) || (n as number) < 0 || (n as number) > MAX_CREDITS)
      throw new VidscribeError(ErrorCode.BadRequest, `--prices: ${k} must be a whole number of credits from 0 to ${MAX_CREDITS}`);
  }
  return v as Partial<Prices>;
}

/** The most credits one command moves or one price costs: far above any real use, far below where sums lose precision. */
const MAX_CREDITS = 1_000_000_000;

/** Digits only: `1e300`, `0x10` and `5.0` are not what a person means by a count. */
function wholeNumber(v: string, name: string, max: number, signed = false): number {
  const n = Number(v);
  if (!(signed ? /^[+-]?\d{1,10}$/ : /^\d{1,10}$/).test(v.trim()) || !Number.isSafeInteger(n) || Math.abs(n) > max) {
    throw new VidscribeError(
      ErrorCode.BadRequest,
      `${name} must be a whole number ${signed ? `from -${max} to ${max}` : `from 0 to ${max}`}, got "${v.slice(0, 40)}"`,
    );
  }
  return n;
}

function positiveInt(v: string | undefined, name: string): number | undefined {
  return v === undefined ? undefined : wholeNumber(v, name, MAX_CREDITS);
}

/** The address sets `--trust-proxy` takes by name (proxy-addr's, which Fastify uses). */
const PROXY_NETWORKS = ['loopback', 'linklocal', 'uniquelocal'];

/**
 * `--trust-proxy`: a comma-separated list of addresses, CIDR networks (10.0.0.0/8, fd00::/8) and
 * named sets (PROXY_NETWORKS). Anything else is refused here, by name, rather than by the
 * framework's first request or not at all: `true` or a hop count would trust a header any client
 * can write.
 */
export function trustedProxies(v: string | undefined): string[] | undefined {
  if (v === undefined) return undefined;
  const entries = v
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
  for (const e of entries) {
    const [address = '', prefix, extra] = e.split('/');
    const family = isIP(address);
    const prefixOk = prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 6 ? 128 : 32));
    if (!PROXY_NETWORKS.includes(e) && !(family && prefixOk && extra === undefined)) {
      throw new VidscribeError(
        ErrorCode.BadRequest,
        `--trust-proxy takes addresses, CIDR networks and ${PROXY_NETWORKS.join(', ')}, comma-separated; "${e.slice(0, 60)}" is none of them`,
      );
    }
  }
  if (entries.length === 0) throw new VidscribeError(ErrorCode.BadRequest, '--trust-proxy needs at least one address or network');
  return entries;
}

export async function runServe(o: ServeOptions): Promise<void> {
  const port = positiveInt(o.port, '--port') ?? 8787;
  const maxMb = positiveInt(o.maxUploadMb, '--max-upload-mb');
  // Free tokens are a stranger's for the asking: what one account may store is bounded (0: not).
  const quotaMb = positiveInt(o.quotaMb, '--quota-mb');
  const trustProxy = trustedProxies(o.trustProxy);
  // A previous server killed with -9 may have left children behind (where they could not die with it):
  // they would compete with the jobs this start resumes, so they go first. The record lives in the data folder.
  const children = join(resolve(o.data), 'children');
  const stopped = reapOrphans(children);
  if (stopped.length > 0)
    process.stderr.write(`vidscribe: stopped ${stopped.length} process group(s) a previous server left running (${stopped.join(', ')})\n`);
  recordChildrenIn(children);
  const cluster = clusterConfig(o);
  const svc = await openServices({
    ...cluster,
    dataDir: o.data,
    model: o.model,
    publicUrl: o.publicUrl,
    allowedHosts: o.allowedHosts
      ?.split(',')
      .map((h) => h.trim())
      .filter(Boolean),
    allowPrivateUrls: o.allowPrivateUrls,
    maxUploadBytes: maxMb ? maxMb * 1024 * 1024 : undefined,
    quotaBytes: quotaMb ? quotaMb * 1024 * 1024 : undefined,
    asrSlots: positiveInt(o.asrSlots, '--asr-slots'),
    renderSlots: positiveInt(o.renderSlots, '--render-slots'),
    prices: parsePrices(o.prices),
    anonymousTokensPerHour: positiveInt(o.tokensPerHour, '--tokens-per-hour'),
    registrationsPerHour: positiveInt(o.registrationsPerHour, '--registrations-per-hour'),
    signupCredits: positiveInt(o.signupCredits, '--signup-credits'),
    leaseMs: o.leaseSeconds === undefined ? undefined : Math.max(1, wholeNumber(o.leaseSeconds, '--lease-seconds', 86_400)) * 1000,
    maxAttempts: o.maxAttempts === undefined ? undefined : Math.max(1, wholeNumber(o.maxAttempts, '--max-attempts', 100)),
    llm: llmConfig(o),
  });
  if (cluster.role === 'worker') return serveWorker(svc, port, o.host);
  // Warnings and faults only, as JSON lines on stderr: a request's own errors are answered, not logged.
  const app = await buildApp(svc, { logger: { level: 'warn', stream: process.stderr }, trustProxy });
  const address = await app.listen({ port, host: o.host });
  process.stderr.write(
    `vidscribe: serving on ${address} (${cluster.role === 'api' ? 'API only, ' : ''}data in ${svc.config.dataDir}, model ${svc.config.model}${svc.config.llm ? `, planner ${svc.config.llm.model}` : ''}); API docs at ${address}/docs\n`,
  );
  // Ready line on stdout for scripts and tests that start the server.
  process.stdout.write(`listening ${address}\n`);
  const shutdown = async () => {
    await app.close();
    await svc.close();
    process.exit(0);
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

/**
 * A worker runs jobs and serves no API: only GET /healthz (role and worker id, so a load balancer
 * or an operator can see it is up and match it to the jobs' lease owners).
 */
async function serveWorker(svc: Services, port: number, host: string): Promise<void> {
  const workerId = svc.queue.workerId;
  const http = createServer((req, res) => {
    const healthy = req.method === 'GET' && req.url === '/healthz';
    res.writeHead(healthy ? 200 : 404, { 'content-type': 'application/json' });
    res.end(JSON.stringify(healthy ? { ok: true, role: 'worker', workerId } : { code: ErrorCode.NotFound, message: 'a worker serves only /healthz' }));
  });
  await new Promise<void>((ok, fail) => {
    http.once('error', fail);
    http.listen(port, host, () => ok());
  });
  const a = http.address() as { address: string; port: number };
  const address = `http://${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}`;
  process.stderr.write(`vidscribe: worker ${workerId} running jobs (data in ${svc.config.dataDir}); health at ${address}/healthz\n`);
  process.stdout.write(`listening ${address}\n`);
  const shutdown = async () => {
    http.close();
    await svc.close();
    process.exit(0);
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

export async function runCreditsAdd(accountOrToken: string, amount: string, o: { data: string }): Promise<void> {
  const n = wholeNumber(amount, 'N (credits to add)', MAX_CREDITS, true);
  if (n === 0) throw new VidscribeError(ErrorCode.BadRequest, 'N (credits to add) must not be 0');
  const svc = await openServices({ dataDir: o.data, noWorkers: true, database: process.env.VIDSCRIBE_DATABASE || undefined });
  try {
    const accountId = await svc.accounts.resolveAccount(accountOrToken);
    await svc.ledger.grant(svc.db, accountId, n, 'admin');
    const b = await svc.ledger.balance(svc.db, accountId);
    process.stdout.write(`${accountId}: available ${b.available}, frozen ${b.frozen}, total ${b.total}\n`);
  } finally {
    await svc.close();
  }
}
