/**
 * A real vidscribe cluster on this machine, for the cluster tests, `npm run cluster:demo` and
 * `npm run bench:cluster`: a throwaway Postgres, an S3 test server (s3rver), one `vidscribe serve
 * --role api` process and N `--role worker` processes, each a separate Node process with its own
 * data folder (its scratch), all sharing the database and the bucket.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { ROOT } from './media.ts';
import { startPostgres, type PostgresServer } from './postgres.ts';
import { startS3, type S3Server } from './s3.ts';

const BIN = join(ROOT, 'bin', 'vidscribe.js');

export interface NodeProcess {
  name: string;
  proc: ChildProcess;
  pid: number;
  /** The API's base URL, or the worker's health address. */
  url: string;
  /** Worker only: its id, the prefix of the lease owner of every job it claims. */
  workerId?: string;
  dataDir: string;
  stderr(): string;
  exited: Promise<number | null>;
}

export interface ClusterOptions {
  workers?: number;
  /** Extra environment for the worker processes (the poison-job test's crash marker). */
  workerEnv?: Record<string, string>;
  /** Extra `serve` arguments for every process. */
  args?: string[];
  /** Extra `serve` arguments for workers only (slots). */
  workerArgs?: string[];
}

export interface Cluster {
  pg: PostgresServer;
  s3: S3Server;
  databaseUrl: string;
  api: NodeProcess;
  workers: NodeProcess[];
  /** Starts one more worker (a replacement after a kill). */
  addWorker(): Promise<NodeProcess>;
  /** Starts one more API node on the same database and bucket, signing links with the cluster's key unless `secret` is given. */
  addApi(secret?: string): Promise<NodeProcess>;
  /** A query on the shared database (the tests' and demo's view of the job rows). */
  query<T extends pg.QueryResultRow = Record<string, unknown>>(text: string, values?: unknown[]): Promise<T[]>;
  stop(): Promise<void>;
}

function startNode(name: string, args: string[], env: Record<string, string>): Promise<NodeProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), `vidscribe-${name}-`));
  const proc = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--data', dataDir, ...args], {
    cwd: ROOT,
    env: { ...process.env, HF_HUB_OFFLINE: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  proc.stderr?.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  // If this process ends without stopping the cluster (a failed test run), its nodes go with it.
  const reap = () => proc.kill('SIGKILL');
  process.once('exit', reap);
  void exited.then(() => process.off('exit', reap));
  return new Promise((resolve, reject) => {
    let out = '';
    proc.stdout?.on('data', (d) => {
      out += d;
      const m = /listening (http:\/\/\S+)/.exec(out);
      if (m) {
        resolve({ name, proc, pid: proc.pid ?? 0, url: m[1] ?? '', dataDir, stderr: () => err, exited });
      }
    });
    void exited.then((code) => reject(new Error(`${name} exited (${code}) before it was ready: ${err.slice(-3000)}`)));
  });
}

export async function startCluster(o: ClusterOptions = {}): Promise<Cluster> {
  const pgServer = await startPostgres();
  const s3 = await startS3();
  const databaseUrl = await pgServer.createDatabase();
  const common = ['--database', databaseUrl, '--blobs', s3.url, ...(o.args ?? [])];
  // Every API node signs download links with the same key.
  const env = { ...s3.env, VIDSCRIBE_SECRET: randomBytes(32).toString('hex') };
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  const nodes: NodeProcess[] = [];
  let n = 0;
  // The API process starts first: it migrates the database the workers then open.
  const api = await startNode('api', ['--role', 'api', ...common], env);
  nodes.push(api);
  const addWorker = async () => {
    const w = await startNode(`worker${++n}`, ['--role', 'worker', ...common, ...(o.workerArgs ?? [])], { ...env, ...o.workerEnv });
    const health = (await (await fetch(`${w.url}/healthz`)).json()) as { workerId: string };
    w.workerId = health.workerId;
    nodes.push(w);
    cluster.workers.push(w);
    return w;
  };
  let apis = 1;
  const addApi = async (secret?: string) => {
    const node = await startNode(`api${++apis}`, ['--role', 'api', ...common], { ...env, ...(secret ? { VIDSCRIBE_SECRET: secret } : {}) });
    nodes.push(node);
    return node;
  };
  const cluster: Cluster = {
    pg: pgServer,
    s3,
    databaseUrl,
    api,
    workers: [],
    addWorker,
    addApi,
    async query(text, values) {
      return (await pool.query(text, values as unknown[])).rows;
    },
    async stop() {
      for (const node of nodes) if (node.proc.exitCode === null && node.proc.signalCode === null) node.proc.kill('SIGTERM');
      await Promise.all(nodes.map((node) => Promise.race([node.exited, new Promise((r) => setTimeout(r, 10_000)).then(() => node.proc.kill('SIGKILL'))])));
      for (const node of nodes) rmSync(node.dataDir, { recursive: true, force: true });
      await pool.end();
      await s3.stop();
      await pgServer.stop();
    },
  };
  try {
    for (let i = 0; i < (o.workers ?? 2); i++) await addWorker();
  } catch (e) {
    await cluster.stop();
    throw e;
  }
  return cluster;
}

/** Which worker (by its id) a lease owner belongs to: leases are `<workerId>/<random>`. */
export function workerOf(cluster: Cluster, leaseOwner: string | null): NodeProcess | undefined {
  return leaseOwner ? cluster.workers.find((w) => w.workerId && leaseOwner.startsWith(`${w.workerId}/`)) : undefined;
}

/**
 * Polls the job rows and records every lease owner each job had while running (the lease is
 * cleared when a job ends): which worker ran what. `stop()` returns job id → owners, in order.
 */
export function watchLeases(cluster: Cluster, everyMs = 50): { owners: Map<string, string[]>; stop(): Promise<Map<string, string[]>> } {
  const owners = new Map<string, string[]>();
  let running = true;
  const loop = (async () => {
    while (running) {
      const rows = await cluster.query<{ id: string; lease_owner: string | null }>("select id, lease_owner from jobs where state = 'running'").catch(() => []);
      for (const r of rows) {
        if (!r.lease_owner) continue;
        const list = owners.get(r.id) ?? [];
        if (list.at(-1) !== r.lease_owner) list.push(r.lease_owner);
        owners.set(r.id, list);
      }
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    owners,
    async stop() {
      running = false;
      await loop;
      return owners;
    },
  };
}
