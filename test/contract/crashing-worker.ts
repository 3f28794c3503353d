/**
 * A worker process that dies (SIGKILL, by its own hand) in the middle of every job it takes: the
 * poison job of the queue contract. Usage: crashing-worker.ts <database-url> <lease-ms>
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreditLedger } from '../../src/credits/ledger.ts';
import { SqlJobQueue } from '../../src/jobs/queue.ts';
import { JobRunner } from '../../src/jobs/runner.ts';
import { openDatabase } from '../../src/storage/database.ts';

const [url, leaseMs] = process.argv.slice(2);
const db = await openDatabase(url, mkdtempSync(join(tmpdir(), 'vidscribe-crashing-worker-')));
const queue = new SqlJobQueue(db, new CreditLedger(), Date.now, { leaseMs: Number(leaseMs) });
const die = async (): Promise<never> => {
  process.kill(process.pid, 'SIGKILL');
  return new Promise<never>(() => {});
};
new JobRunner(queue, {
  slots: { transcribe: 1 },
  pollMs: 50,
  handlers: { transcribe: die },
  onError: (e) => process.stderr.write(`crashing worker: ${String(e)}\n`),
}).start();
