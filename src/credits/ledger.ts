/**
 * Credits as a ledger, not a counter: grants and charges are signed entries (their sum is the
 * total), and a queued job's price is held until it settles (charged) or is released (failed,
 * cancelled). available = total − frozen. Every change runs inside the caller's transaction, so
 * a check and the hold it guards are one atomic step: concurrent requests cannot overspend.
 *
 * How that holds on each engine. SQLite runs one writing transaction at a time, so a check and
 * its insert can never interleave with another's. Postgres runs them side by side (READ
 * COMMITTED, its default), so every step that spends (hold, adjustHold, transferAll) first locks
 * the account's row (`SELECT … FOR NO KEY UPDATE`): a second spender on the same account waits there
 * until the first commits or rolls back. READ COMMITTED is then enough, and SERIALIZABLE would
 * only add retries: each statement reads what was committed when it starts, and the balance is
 * read by a statement after the lock is granted, so it sees the first spender's hold. Steps that
 * only free credits (release) or move them without changing what is available (settle: −amount
 * in the ledger and the hold closed, in one commit) take no lock; the balance is one statement,
 * so it never sees half of a settle.
 *
 * Lock order, so two transactions never wait for each other: an account's row, then its jobs'
 * rows, then their holds. A transaction that changes a job and its credits takes the account
 * lock first (`lockAccounts`, `lockAccountOfJob`) or takes no account lock at all (settle and
 * release after the job's row, as the queue's finish does).
 */
import { ErrorCode, VidscribeError } from '../shared/errors.ts';
import { type Db, dialectOf, lockRow } from '../storage/database.ts';
import { PreparedQuery } from '../storage/prepared.ts';

export interface Balance {
  available: number;
  frozen: number;
  total: number;
}

/** Prices, in credits; configuration with these defaults. */
export interface Prices {
  /** Per started minute of audio transcribed. */
  transcribePerMinute: number;
  /** Per started minute of video rendered at 1080p (1920×1080 or 1080×1920 and above 720p). */
  render1080pPerMinute: number;
  /** Per started minute rendered at 720p or smaller. */
  render720pPerMinute: number;
  /** Granted to a new anonymous token. */
  anonymousGrant: number;
  /** Granted to a new registered account (on top of credits moved by `bind`). */
  signupGrant: number;
}

export const DEFAULT_PRICES: Prices = {
  transcribePerMinute: 1,
  render1080pPerMinute: 2,
  render720pPerMinute: 1,
  anonymousGrant: 100,
  signupGrant: 100,
};

const startedMinutes = (sec: number) => Math.max(1, Math.ceil(sec / 60 - 1e-9));

export function transcribePrice(durationSec: number, p: Pick<Prices, 'transcribePerMinute'> = DEFAULT_PRICES): number {
  return startedMinutes(durationSec) * p.transcribePerMinute;
}

export function renderPrice(durationSec: number, canvas: { w: number; h: number }, p: Prices = DEFAULT_PRICES): number {
  const perMinute = Math.min(canvas.w, canvas.h) > 720 ? p.render1080pPerMinute : p.render720pPerMinute;
  return startedMinutes(durationSec) * perMinute;
}

/** One statement for both sums: a balance read is the API's most frequent request. */
const balanceQuery = new PreparedQuery<{ accountId: string }, { total: number | null; frozen: number | null }>((db, p) =>
  db.selectNoFrom((eb) => [
    eb
      .selectFrom('ledger')
      .select((x) => x.fn.coalesce(x.fn.sum<number>('delta'), x.lit(0)).as('n'))
      .where('account_id', '=', p('accountId'))
      .as('total'),
    eb
      .selectFrom('holds')
      .select((x) => x.fn.coalesce(x.fn.sum<number>('amount'), x.lit(0)).as('n'))
      .where('account_id', '=', p('accountId'))
      .where('state', '=', 'held')
      .as('frozen'),
  ]),
);

export class CreditLedger {
  constructor(private readonly now: () => number = Date.now) {}

  /** Locks these accounts for the rest of the transaction (Postgres; SQLite needs no lock), always in the same order. */
  async lockAccounts(trx: Db, accountIds: readonly string[]): Promise<void> {
    for (const id of [...new Set(accountIds)].sort()) await lockRow(trx, 'accounts', id);
  }

  /** Locks the account a job's credits are held on (Postgres): the first step of a transaction that changes the job's row and then its hold. */
  async lockAccountOfJob(trx: Db, jobId: string): Promise<void> {
    await this.lockedHold(trx, jobId);
  }

  async balance(db: Db, accountId: string): Promise<Balance> {
    const r = await balanceQuery.first(db, { accountId });
    const t = Number(r?.total ?? 0),
      f = Number(r?.frozen ?? 0);
    return { available: t - f, frozen: f, total: t };
  }

  async grant(db: Db, accountId: string, amount: number, reason: string): Promise<void> {
    if (!Number.isInteger(amount) || amount === 0) throw new VidscribeError(ErrorCode.BadRequest, `credits must be a non-zero whole number, got ${amount}`);
    await db.insertInto('ledger').values({ account_id: accountId, delta: amount, reason, job_id: null, created_at: this.now() }).execute();
  }

  /** Holds `amount` for a job, or throws 2001 when the account cannot pay. Call inside a transaction. */
  async hold(trx: Db, accountId: string, jobId: string, amount: number, noCreditsMessage: string): Promise<void> {
    await lockRow(trx, 'accounts', accountId);
    const { available } = await this.balance(trx, accountId);
    if (available < amount) {
      throw new VidscribeError(ErrorCode.NoCredits, noCreditsMessage, { data: { available, required: amount } });
    }
    const now = this.now();
    await trx.insertInto('holds').values({ job_id: jobId, account_id: accountId, amount, state: 'held', created_at: now, updated_at: now }).execute();
  }

  /** The job succeeded: its hold becomes a charge. Idempotent. */
  async settle(trx: Db, jobId: string): Promise<void> {
    const now = this.now();
    // One statement decides, with the hold's amount and account as they are now: of two settles
    // racing (on Postgres they can), one charges and the other finds nothing held.
    const hold = await trx
      .updateTable('holds')
      .set({ state: 'settled', updated_at: now })
      .where('job_id', '=', jobId)
      .where('state', '=', 'held')
      .returning(['account_id', 'amount'])
      .executeTakeFirst();
    if (!hold) return;
    if (hold.amount > 0) {
      await trx.insertInto('ledger').values({ account_id: hold.account_id, delta: -hold.amount, reason: 'job', job_id: jobId, created_at: now }).execute();
    }
  }

  /**
   * A held job's price changes (its true length, known once decoded, differs from the estimate it
   * was held on). A higher price must be covered by what is available plus what the hold already
   * has, else 2001 and the hold stays as it was. Call inside a transaction.
   */
  async adjustHold(trx: Db, jobId: string, amount: number, noCreditsMessage: string): Promise<void> {
    const hold = await this.lockedHold(trx, jobId);
    if (!hold || hold.state !== 'held') throw new VidscribeError(ErrorCode.BadRequest, `job ${jobId} has no credits held`);
    if (amount > hold.amount) {
      const { available } = await this.balance(trx, hold.account_id);
      if (available < amount - hold.amount) {
        throw new VidscribeError(ErrorCode.NoCredits, noCreditsMessage, { data: { available: available + hold.amount, required: amount } });
      }
    }
    await trx.updateTable('holds').set({ amount, updated_at: this.now() }).where('job_id', '=', jobId).where('state', '=', 'held').execute();
  }

  /**
   * A job's hold, read after its account and then the job's row are locked (Postgres): the lock
   * order above, so a job ending meanwhile (its row, then its hold) is waited for, and a caller
   * that changes the job's row next (the queue's reprice) already holds it. A registration (bind)
   * can move the hold to another account meanwhile; then that account is locked and the hold read again.
   */
  private async lockedHold(trx: Db, jobId: string) {
    let hold = await trx.selectFrom('holds').selectAll().where('job_id', '=', jobId).executeTakeFirst();
    if (dialectOf(trx) !== 'postgres') return hold;
    for (let tries = 0; hold && tries < 5; tries++) {
      await lockRow(trx, 'accounts', hold.account_id);
      await trx.selectFrom('jobs').select('id').where('id', '=', jobId).forNoKeyUpdate().execute();
      const again = await trx.selectFrom('holds').selectAll().where('job_id', '=', jobId).executeTakeFirst();
      if (again?.account_id === hold.account_id) return again;
      hold = again;
    }
    if (hold) throw new Error(`credits: the hold of job ${jobId} kept moving between accounts`);
    return hold;
  }

  /** The job failed or was cancelled: its credits become available again. Idempotent. */
  async release(trx: Db, jobId: string): Promise<void> {
    await trx.updateTable('holds').set({ state: 'released', updated_at: this.now() }).where('job_id', '=', jobId).where('state', '=', 'held').execute();
  }

  /**
   * Moves an account's whole balance to another (registration with `bind`): the ledger total,
   * and the holds of its queued and running jobs, so a job settled or released afterwards
   * charges or frees credits on the new account. Returns what became available there.
   */
  async transferAll(trx: Db, from: string, to: string): Promise<{ available: number; frozen: number }> {
    await this.lockAccounts(trx, [from, to]);
    const { available, frozen, total } = await this.balance(trx, from);
    const now = this.now();
    if (total !== 0) {
      await trx
        .insertInto('ledger')
        .values([
          { account_id: from, delta: -total, reason: `moved to ${to}`, job_id: null, created_at: now },
          { account_id: to, delta: total, reason: `moved from ${from}`, job_id: null, created_at: now },
        ])
        .execute();
    }
    await trx.updateTable('holds').set({ account_id: to, updated_at: now }).where('account_id', '=', from).where('state', '=', 'held').execute();
    return { available, frozen };
  }
}
