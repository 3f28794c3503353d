/**
 * Accounts and their bearer tokens: anonymous tokens (one per client id per 7 days, with a
 * credit grant), registration (optionally binding an anonymous account's credits), and token
 * lookup. The clock is injectable so the 7-day rules are testable.
 */
import { randomBytes, randomUUID, scrypt } from 'node:crypto';
import { promisify } from 'node:util';
import { CreditLedger, DEFAULT_PRICES, type Prices } from '../credits/ledger.ts';
import { ErrorCode, VidscribeError } from '../shared/errors.ts';
import type { Db } from '../storage/database.ts';

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

const scryptAsync = promisify(scrypt) as (pw: string, salt: Buffer, len: number) => Promise<Buffer>;

async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, 32);
  return `scrypt$${salt.toString('base64')}$${key.toString('base64')}`;
}

const newToken = () => `vs_${randomBytes(24).toString('base64url')}`;

/** How long a token lookup is reused: every authenticated request needs one (bench:api). */
const TOKEN_CACHE_MS = 10_000;
const TOKEN_CACHE_MAX = 10_000;

export class Accounts {
  private readonly tokenCache = new Map<string, { accountId: string; kind: Caller['kind']; expiresAt: number; until: number }>();

  constructor(
    private readonly db: Db,
    private readonly ledger: CreditLedger,
    private readonly prices: Prices = DEFAULT_PRICES,
    private readonly now: () => number = Date.now,
  ) {}

  /** A new anonymous account with its grant, unless this client already got a token in the last 7 days (429). */
  async anonymousToken(clientId: string): Promise<IssuedToken> {
    const id = clientId.trim();
    if (!id || id.length > 200) throw new VidscribeError(ErrorCode.BadRequest, 'The X-Client-Id header is required (a stable id of this client, at most 200 characters)');
    return this.db.transaction().execute(async (trx) => {
      const now = this.now();
      const recent = await trx.selectFrom('tokens').select(['created_at']).where('client_id', '=', id).where('created_at', '>', now - TOKEN_TTL_MS)
        .orderBy('created_at', 'desc').executeTakeFirst();
      if (recent) {
        const retry = new Date(Number(recent.created_at) + TOKEN_TTL_MS).toISOString();
        throw new VidscribeError(ErrorCode.RateLimited, `This client already has an anonymous token; one is issued per client every 7 days (next after ${retry}). Register to keep going.`, {
          data: { retry_after: retry },
        });
      }
      const accountId = `anon_${randomUUID().replaceAll('-', '')}`;
      await trx.insertInto('accounts').values({ id: accountId, kind: 'anonymous', client_id: id, email: null, password_hash: null, created_at: now }).execute();
      const issued = { token: newToken(), accountId, expiresAt: now + TOKEN_TTL_MS };
      await trx.insertInto('tokens').values({ token: issued.token, account_id: accountId, client_id: id, created_at: now, expires_at: issued.expiresAt }).execute();
      if (this.prices.anonymousGrant > 0) await this.ledger.grant(trx, accountId, this.prices.anonymousGrant, 'anonymous grant');
      return issued;
    });
  }

  /** The caller behind a bearer token (read from the request at the HTTP edge), or 1001. */
  async authenticate(token: string): Promise<Caller> {
    const now = this.now();
    let hit = this.tokenCache.get(token);
    if (!hit || hit.until <= now) hit = await this.lookupToken(token, now);
    if (Number(hit.expiresAt) <= now) throw new VidscribeError(ErrorCode.BadToken, 'The token has expired: get a new one, or register to keep your credits');
    return { accountId: hit.accountId, kind: hit.kind, token };
  }

  private async lookupToken(token: string, now: number) {
    const row = await this.db.selectFrom('tokens').innerJoin('accounts', 'accounts.id', 'tokens.account_id')
      .select(['tokens.account_id', 'tokens.expires_at', 'accounts.kind']).where('tokens.token', '=', token).executeTakeFirst();
    if (!row) throw new VidscribeError(ErrorCode.BadToken, 'Unknown token: get a new one from POST /api/auth/anonymous-token');
    const hit = { accountId: row.account_id, kind: row.kind, expiresAt: Number(row.expires_at), until: now + TOKEN_CACHE_MS };
    if (this.tokenCache.size >= TOKEN_CACHE_MAX) this.tokenCache.clear();
    this.tokenCache.set(token, hit);
    return hit;
  }

  /** Creates a registered account; `bind` (an anonymous account id) moves that account's credits, tokens and sessions to it. */
  async register(input: { email: string; password: string; bind?: string }): Promise<IssuedToken & { moved: number }> {
    const email = input.email.trim().toLowerCase();
    if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) throw new VidscribeError(ErrorCode.BadRequest, 'email must be an email address');
    if (input.password.length < 8) throw new VidscribeError(ErrorCode.BadRequest, 'password must be at least 8 characters');
    const hash = await hashPassword(input.password);
    const created = await this.db.transaction().execute(async (trx) => {
      const now = this.now();
      if (await trx.selectFrom('accounts').select('id').where('email', '=', email).executeTakeFirst()) {
        throw new VidscribeError(ErrorCode.BadRequest, `An account with ${email} already exists`);
      }
      const accountId = `acct_${randomUUID().replaceAll('-', '')}`;
      await trx.insertInto('accounts').values({ id: accountId, kind: 'registered', client_id: null, email, password_hash: hash, created_at: now }).execute();
      let moved = 0;
      if (input.bind) {
        const anon = await trx.selectFrom('accounts').select(['id', 'kind']).where('id', '=', input.bind).executeTakeFirst();
        if (!anon || anon.kind !== 'anonymous') throw new VidscribeError(ErrorCode.BadRequest, `bind: no anonymous account ${input.bind}`);
        moved = await this.ledger.transferAvailable(trx, anon.id, accountId);
        await trx.updateTable('sessions').set({ account_id: accountId }).where('account_id', '=', anon.id).execute();
        await trx.updateTable('media').set({ account_id: accountId }).where('account_id', '=', anon.id).execute();
        await trx.updateTable('files').set({ account_id: accountId }).where('account_id', '=', anon.id).execute();
        await trx.updateTable('transcripts').set({ account_id: accountId }).where('account_id', '=', anon.id).execute();
        // The anonymous token keeps working, now as the registered account.
        await trx.updateTable('tokens').set({ account_id: accountId }).where('account_id', '=', anon.id).execute();
      }
      if (this.prices.signupGrant > 0) await this.ledger.grant(trx, accountId, this.prices.signupGrant, 'signup grant');
      const token = newToken();
      const expiresAt = now + REGISTERED_TOKEN_TTL_MS;
      await trx.insertInto('tokens').values({ token, account_id: accountId, client_id: null, created_at: now, expires_at: expiresAt }).execute();
      return { token, accountId, expiresAt, moved };
    });
    // bind re-pointed tokens: forget what was cached about them, once the change is committed.
    if (input.bind) this.tokenCache.clear();
    return created;
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
