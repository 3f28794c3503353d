/**
 * A throwaway Postgres 15 for tests, the cluster demo and the benchmark: a fresh cluster in a
 * temp folder on a free port, owned by the `postgres` user (initdb refuses to run as root), with
 * its socket in that folder too. `stop()` shuts it down and removes the folder.
 *
 * A test process can die without running its cleanup (SIGKILL, a test runner's timeout), so each
 * cluster also gets a detached watchdog shell that stops it and removes its folder once the
 * process that started it is gone. Exit and SIGINT/SIGTERM handlers stop it sooner.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

const BIN = process.env.VIDSCRIBE_PG_BIN ?? '/usr/lib/postgresql/15/bin';

export interface PostgresServer {
  /** postgres://postgres@127.0.0.1:PORT/DATABASE (trust authentication: no password). */
  url: string;
  port: number;
  /** URL of another database on the same server (created by `createDatabase`). */
  urlOf(database: string): string;
  /** Creates an empty database on this server and returns its URL. */
  createDatabase(name?: string): Promise<string>;
  stop(): Promise<void>;
}

interface Running {
  dir: string;
  watchdog: number | undefined;
}

const running = new Set<Running>();

/** Runs a Postgres binary as the postgres user when we are root (initdb and postgres refuse root). */
function asPostgres(cmd: string, args: string[]): [string, string[]] {
  const bin = join(BIN, cmd);
  return process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
}

function run(cmd: string, args: string[]): void {
  const [c, a] = asPostgres(cmd, args);
  const r = spawnSync(c, a, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} failed (${r.status ?? r.signal}): ${(r.stderr || r.stdout || String(r.error ?? '')).slice(-2000)}`);
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Stops a cluster at once (no checkpoint: its files are about to be deleted) and removes its folder. Synchronous, for exit handlers. */
function stopNow(r: Running): void {
  running.delete(r);
  if (r.watchdog) {
    try {
      process.kill(-r.watchdog, 'SIGKILL');
    } catch {
      // already gone: it only ever outlives us when we were killed
    }
  }
  const data = join(r.dir, 'data');
  if (existsSync(join(data, 'postmaster.pid'))) {
    const [c, a] = asPostgres('pg_ctl', ['stop', '-D', data, '-m', 'immediate', '-w', '-t', '30']);
    spawnSync(c, a, { stdio: 'ignore' });
  }
  rmSync(r.dir, { recursive: true, force: true });
}

let handlersInstalled = false;
function installExitHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.once('exit', () => {
    for (const r of [...running]) stopNow(r);
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      for (const r of [...running]) stopNow(r);
      // Default behaviour of the signal, now that the clusters are gone.
      process.kill(process.pid, signal);
    });
  }
}

/** Starts a Postgres 15 cluster with one database (`vidscribe`) and returns its URL. */
export async function startPostgres(opts: { database?: string } = {}): Promise<PostgresServer> {
  if (!existsSync(join(BIN, 'initdb'))) throw new Error(`Postgres 15 is not installed (no ${BIN}/initdb): run scripts/setup.sh`);
  const dir = mkdtempSync(join(tmpdir(), 'vidscribe-pg-'));
  const r: Running = { dir, watchdog: undefined };
  running.add(r);
  installExitHandlers();
  try {
    if (process.getuid?.() === 0) {
      chownSync(
        dir,
        Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim()),
        Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim()),
      );
    }
    chmodSync(dir, 0o700);
    const data = join(dir, 'data');
    // --no-sync and fsync=off: a test cluster is thrown away, never recovered; durability would only cost time.
    run('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--no-sync']);
    const port = await freePort();
    // The watchdog (its own process group, so it outlives a killed test process): once the starting process is gone, stop the cluster and remove its folder.
    const stopCmd = asPostgres('pg_ctl', ['stop', '-D', data, '-m', 'immediate']).flat().join(' ');
    const script = `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done; ${stopCmd} >/dev/null 2>&1; rm -rf '${dir}'`;
    const watchdog = spawn('sh', ['-c', script], { detached: true, stdio: 'ignore' });
    watchdog.unref();
    r.watchdog = watchdog.pid;
    const options = `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200`;
    try {
      run('pg_ctl', ['start', '-D', data, '-l', join(dir, 'log'), '-w', '-t', '60', '-o', options]);
    } catch (e) {
      const log = existsSync(join(dir, 'log')) ? readFileSync(join(dir, 'log'), 'utf8').slice(-2000) : '';
      throw new Error(`${(e as Error).message}\n${log}`);
    }
    const urlOf = (database: string) => `postgres://postgres@127.0.0.1:${port}/${database}`;
    let n = 0;
    const createDatabase = async (name = `db_${process.pid}_${++n}`) => {
      const client = new pg.Client({ connectionString: urlOf('postgres') });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE "${name.replaceAll('"', '')}"`);
      } finally {
        await client.end();
      }
      return urlOf(name);
    };
    const url = await createDatabase(opts.database ?? 'vidscribe');
    return {
      url,
      port,
      urlOf,
      createDatabase,
      async stop() {
        stopNow(r);
      },
    };
  } catch (e) {
    stopNow(r);
    throw e;
  }
}
