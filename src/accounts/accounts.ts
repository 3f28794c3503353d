/**
 * Accounts and their bearer tokens: anonymous tokens (one per client id per 7 days, with a
 * credit grant), registration (optionally binding the caller's own anonymous account), login,
 * refresh, logout, and token lookup. The clock is injectable so the expiry rules are testable.
 *
 * Tokens are revocable: logout, refresh and bind set `revoked_at`, and a revoked token opens
 * nothing from that moment (the lookup cache forgets it at once). The cache lives in this
 * process, so it is on only for SQLite (one process owns the database); on Postgres every
 * lookup reads the database, since another API node may have revoked the token.
 *
 * On Postgres, transactions run side by side, so the rules SQLite's one-writer-at-a-time kept
 * for free are kept by locks: one anonymous token per client id and one account per email (a
 * transaction-scoped advisory lock on the id or email), and one bind per anonymous token (its row
 * locked before it is re-checked).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { type CreditLedger, DEFAULT_PRICES, type Prices } from '../credits/ledger.ts';
import { ErrorCode, VidscribeError } from '../shared/errors.ts';
import { type Db, dialectOf, sql } from '../storage/database.ts';
import { checkNewPassword, hashPassword, normalizeEmail, verifyPassword } from './credentials.ts';

export const TOKEN_TTL_MS = 7 * 24 * 3600_000;
export const REGISTERED_TOKEN_TTL_MS = 30 * 24 * 3600_000;

export interface Caller {
  accountId: string;
  kind: 'anonymous' | 'registered';
  token: string;
}

export interface IssuedToken {
  token: string;
  accountId: string;
  expiresAt: number;
}

export interface Registered extends IssuedToken {
  /** Credits that became available on the new account by binding (held ones move too, still held). */
  moved: number;
  /** Jobs of the bound anonymous account, now the new account's. */
  movedJobs: number;
}

const newToken = () => `vs_${randomBytes(24).toString('base64url')}`;

/**
 * A login for an unknown email is checked against this hash (of a random password nobody
 * knows), so it costs the same scrypt as a known one: the answer's time does not tell.
 */
const DUMMY_HASH = 'scrypt$/yUoZ8bqoft6ANryhdyeEw==$f07i7kHaFhjoXNRT35qTInv4MYzObDrdntx/jNbi5qs=';

/** How long a token lookup is reused: every authenticated request needs one (bench:api). */
const TOKEN_CACHE_MS = 10_000;
const TOKEN_CACHE_MAX = 10_000;

/**
 * On Postgres, makes the rest of the transaction wait for any other transaction holding the same
 * key (released at commit or rollback), so a check and the insert it guards are one step.
 */
async function serialize(trx: Db, key: string): Promise<void> {
  if (dialectOf(trx) === 'postgres') await sql`select pg_advisory_xact_lock(hashtextextended(${key}, 0))`.execute(trx);
}

/** What an account owns besides credits: moved as a whole by bind. */
const OWNED_TABLES = ['sessions', 'media', 'files', 'transcripts'] as const;

export class Accounts {
  private readonly tokenCache = new Map<string, { accountId: string; kind: Caller['kind']; expiresAt: number; until: number }>();
  /** Bumped by every revocation: a lookup that began before one must not cache what it read. */
  private revocations = 0;
  /** How long a lookup is reused; 0: not cached. */
  private readonly tokenCacheMs: number;

  constructor(
    private readonly db: Db,
    private readonly ledger: CreditLedger,
    private readonly prices: Prices = DEFAULT_PRICES,
    private readonly now: () => number = Date.now,
    opts: { tokenCacheMs?: number } = {},
  ) {
    this.tokenCacheMs = opts.tokenCacheMs ?? (dialectOf(db) === 'postgres' ? 0 : TOKEN_CACHE_MS);
  }

  /** A new anonymous account with its grant, unless this client already got a token in the last 7 days (429). */
  async anonymousToken(clientId: string): Promise<IssuedToken> {
    const id = clientId.trim();
    if (!id || id.length > 200)
      throw new VidscribeError(ErrorCode.BadRequest, 'The X-Client-Id header is required (a stable id of this client, at most 200 characters)');
    return this.db.transaction().execute(async (trx) => {
      await serialize(trx, `client:${id}`);
      const now = this.now();
      const recent = await trx
        .selectFrom('tokens')
        .select(['created_at'])
        .where('client_id', '=', id)
        .where('created_at', '>', now - TOKEN_TTL_MS)
        .orderBy('created_at', 'desc')
        .executeTakeFirst();
      if (recent) {
        const retry = new Date(Number(recent.created_at) + TOKEN_TTL_MS).toISOString();
        throw new VidscribeError(
          ErrorCode.RateLimited,
          `This client already has an anonymous token; one is issued per client every 7 days (next after ${retry}). Register to keep going.`,
          {
            data: { retry_after: retry },
          },
        );
      }
      const accountId = `anon_${randomUUID().replaceAll('-', '')}`;
      await trx.insertInto('accounts').values({ id: accountId, kind: 'anonymous', client_id: id, email: null, password_hash: null, created_at: now }).execute();
      const issued = await this.issue(trx, accountId, TOKEN_TTL_MS, id);
      if (this.prices.anonymousGrant > 0) await this.ledger.grant(trx, accountId, this.prices.anonymousGrant, 'anonymous grant');
      return issued;
    });
  }

  /** The caller behind a bearer token (read from the request at the HTTP edge), or 1001. */
  async authenticate(token: string): Promise<Caller> {
    const now = this.now();
    let hit = this.tokenCache.get(token);
    if (!hit || hit.until <= now) hit = await this.lookupToken(token, now);
    return this.live(token, hit, now);
  }

  /**
   * The caller, if this token's lookup is cached and fresh, without a promise (the HTTP edge's
   * fast path); undefined when it must be read (then `authenticate`). An expired token is 1001
   * here too: the cache keeps the expiry, never a verdict.
   */
  cachedCaller(token: string): Caller | undefined {
    const now = this.now();
    const hit = this.tokenCache.get(token);
    return hit && hit.until > now ? this.live(token, hit, now) : undefined;
  }

  private live(token: string, hit: { accountId: string; kind: Caller['kind']; expiresAt: number }, now: number): Caller {
    if (Number(hit.expiresAt) <= now) {
      throw new VidscribeError(
        ErrorCode.BadToken,
        hit.kind === 'registered'
          ? 'The token has expired: log in again (POST /api/auth/login)'
          : // Binding needs the anonymous account's own valid token: an expired one cannot be kept, so the message does not offer it.
            'The anonymous token has expired: get a new one (POST /api/auth/anonymous-token). An anonymous account is kept by registering with bind while its token is valid',
      );
    }
    return { accountId: hit.accountId, kind: hit.kind, token };
  }

  private async lookupToken(token: string, now: number) {
    const seen = this.revocations;
    const row = await this.db
      .selectFrom('tokens')
      .innerJoin('accounts', 'accounts.id', 'tokens.account_id')
      .select(['tokens.account_id', 'tokens.expires_at', 'tokens.revoked_at', 'accounts.kind'])
      .where('tokens.token', '=', token)
      .executeTakeFirst();
    if (!row) throw new VidscribeError(ErrorCode.BadToken, 'Unknown token: get a new one from POST /api/auth/anonymous-token, or log in');
    if (row.revoked_at !== null)
      throw new VidscribeError(ErrorCode.BadToken, 'This token was revoked (logged out, refreshed, or its anonymous account was registered): log in');
    const hit = { accountId: row.account_id, kind: row.kind, expiresAt: Number(row.expires_at), until: now + this.tokenCacheMs };
    if (this.tokenCacheMs > 0 && seen === this.revocations) {
      if (this.tokenCache.size >= TOKEN_CACHE_MAX) this.tokenCache.clear();
      this.tokenCache.set(token, hit);
    }
    return hit;
  }

  /** Forgets cached lookups of revoked tokens; called once the revocation is committed. */
  private forget(tokens: readonly string[]): void {
    this.revocations++;
    for (const t of tokens) this.tokenCache.delete(t);
  }

  private async issue(trx: Db, accountId: string, ttlMs: number, clientId: string | null = null): Promise<IssuedToken> {
    const now = this.now();
    const issued = { token: newToken(), accountId, expiresAt: now + ttlMs };
    await trx
      .insertInto('tokens')
      .values({ token: issued.token, account_id: accountId, client_id: clientId, created_at: now, expires_at: issued.expiresAt, revoked_at: null })
      .execute();
    return issued;
  }

  /**
   * Creates a registered account. `bind` (an anonymous account id) moves everything that account
   * owns — credits, held credits, jobs, sessions, media, files, transcripts — to the new one, and
   * revokes its tokens. Only the anonymous account's own token may do that: `binder` is the
   * request's bearer, and it must name the account `bind` names. An id alone binds nothing.
   */
  async register(input: { email: string; password: string; bind?: string }, binder?: Caller): Promise<Registered> {
    const email = normalizeEmail(input.email);
    checkNewPassword(input.password);
    if (input.bind !== undefined) {
      if (!binder) {
        throw new VidscribeError(ErrorCode.BadToken, 'bind needs the anonymous account\'s own token: send it as "Authorization: Bearer <token>"');
      }
      if (binder.kind !== 'anonymous')
        throw new VidscribeError(ErrorCode.BadRequest, "bind: the token is a registered account's; only an anonymous account can be bound");
      if (binder.accountId !== input.bind)
        throw new VidscribeError(ErrorCode.BadRequest, 'bind: that is not the account of the token you sent; only your own anonymous account can be bound');
    }
    const hash = await hashPassword(input.password);
    let revoked: string[] = [];
    const created = await this.db.transaction().execute(async (trx) => {
      await serialize(trx, `email:${email}`);
      const now = this.now();
      if (await trx.selectFrom('accounts').select('id').where('email', '=', email).executeTakeFirst()) {
        throw new VidscribeError(ErrorCode.BadRequest, 'An account with this email already exists: log in (POST /api/auth/login)');
      }
      const accountId = `acct_${randomUUID().replaceAll('-', '')}`;
      await trx.insertInto('accounts').values({ id: accountId, kind: 'registered', client_id: null, email, password_hash: hash, created_at: now }).execute();
      let moved = 0,
        movedJobs = 0;
      if (input.bind !== undefined && binder) {
        // Re-checked here, in the transaction: two registrations racing with one token bind once.
        const live = await trx
          .selectFrom('tokens')
          .select('token')
          .where('token', '=', binder.token)
          .where('account_id', '=', binder.accountId)
          .where('revoked_at', 'is', null)
          .where('expires_at', '>', now)
          // Postgres: a racing bind that committed first has revoked this row; waiting on its lock, this one then finds it gone.
          .$if(dialectOf(trx) === 'postgres', (q) => q.forUpdate())
          .executeTakeFirst();
        if (!live) throw new VidscribeError(ErrorCode.BadToken, 'bind: the anonymous token is no longer valid (already registered, logged out or expired)');
        const anon = binder.accountId;
        // The credits' lock order (credits/ledger.ts): the accounts, then the jobs, then their holds. A job
        // finishing meanwhile holds its row, then its hold: this waits for it rather than deadlocking.
        await this.ledger.lockAccounts(trx, [anon, accountId]);
        const jobs = await trx.updateTable('jobs').set({ account_id: accountId }).where('account_id', '=', anon).executeTakeFirst();
        movedJobs = Number(jobs.numUpdatedRows);
        moved = (await this.ledger.transferAll(trx, anon, accountId)).available;
        for (const table of OWNED_TABLES) await trx.updateTable(table).set({ account_id: accountId }).where('account_id', '=', anon).execute();
        // The anonymous tokens stop here: whoever else holds one must not reach the registered account.
        revoked = (await trx.selectFrom('tokens').select('token').where('account_id', '=', anon).where('revoked_at', 'is', null).execute()).map((t) => t.token);
        await trx.updateTable('tokens').set({ revoked_at: now }).where('account_id', '=', anon).where('revoked_at', 'is', null).execute();
      }
      if (this.prices.signupGrant > 0) await this.ledger.grant(trx, accountId, this.prices.signupGrant, 'signup grant');
      const issued = await this.issue(trx, accountId, REGISTERED_TOKEN_TTL_MS);
      return { ...issued, moved, movedJobs };
    });
    if (revoked.length) this.forget(revoked);
    return created;
  }

  /** Email + password → a new token. One answer for an unknown email and a wrong password, in about the same time. */
  async login(input: { email: string; password: string }): Promise<IssuedToken> {
    const email = normalizeEmail(input.email);
    const row = await this.db
      .selectFrom('accounts')
      .select(['id', 'password_hash'])
      .where('email', '=', email)
      .where('kind', '=', 'registered')
      .executeTakeFirst();
    const matches = await verifyPassword(input.password, row?.password_hash ?? DUMMY_HASH);
    if (!row?.password_hash || !matches) throw new VidscribeError(ErrorCode.BadToken, 'Wrong email or password');
    return this.db.transaction().execute((trx) => this.issue(trx, row.id, REGISTERED_TOKEN_TTL_MS));
  }

  /**
   * A live registered token → a new one with a fresh lifetime; the old one is revoked in the
   * same step (two refreshes racing with one token: one wins, the other gets 1001). Anonymous
   * tokens keep their 7 days: registering is how an anonymous account lives on.
   */
  async refresh(caller: Caller): Promise<IssuedToken> {
    if (caller.kind !== 'registered')
      throw new VidscribeError(
        ErrorCode.BadRequest,
        'Anonymous tokens are not refreshed: register (with this token as bearer and bind) to keep your credits and sessions',
      );
    const issued = await this.db.transaction().execute(async (trx) => {
      await this.revokeIn(trx, caller.token);
      return this.issue(trx, caller.accountId, REGISTERED_TOKEN_TTL_MS);
    });
    this.forget([caller.token]);
    return issued;
  }

  /** Revokes the caller's token: from now on it is 1001. */
  async logout(caller: Caller): Promise<void> {
    await this.db.transaction().execute((trx) => this.revokeIn(trx, caller.token));
    this.forget([caller.token]);
  }

  private async revokeIn(trx: Db, token: string): Promise<void> {
    const r = await trx.updateTable('tokens').set({ revoked_at: this.now() }).where('token', '=', token).where('revoked_at', 'is', null).executeTakeFirst();
    if (Number(r.numUpdatedRows) !== 1) throw new VidscribeError(ErrorCode.BadToken, 'This token was already revoked: log in');
  }

  /** Who the caller is: account id, kind, email (registered), and when this token expires. */
  async describe(caller: Caller): Promise<{ accountId: string; kind: Caller['kind']; email: string | null; expiresAt: number }> {
    const row = await this.db
      .selectFrom('tokens')
      .innerJoin('accounts', 'accounts.id', 'tokens.account_id')
      .select(['accounts.id', 'accounts.kind', 'accounts.email', 'tokens.expires_at'])
      .where('tokens.token', '=', caller.token)
      .executeTakeFirst();
    if (!row) throw new VidscribeError(ErrorCode.BadToken, 'Unknown token: log in');
    return { accountId: row.id, kind: row.kind, email: row.email, expiresAt: Number(row.expires_at) };
  }

  /** `vidscribe credits add <account|token> N`: an account id or a token names the account. */
  async resolveAccount(accountOrToken: string): Promise<string> {
    const acct = await this.db.selectFrom('accounts').select('id').where('id', '=', accountOrToken).executeTakeFirst();
    if (acct) return acct.id;
    const tok = await this.db.selectFrom('tokens').select('account_id').where('token', '=', accountOrToken).executeTakeFirst();
    if (tok) return tok.account_id;
    throw new VidscribeError(ErrorCode.NotFound, `No account or token "${accountOrToken}"`);
  }
}
