/**
 * A Kysely query built and compiled once, then run with new values: for the few reads every
 * request makes (balance, session, state), where building and compiling the query cost more
 * than running it (bench:api). Values are bound by name through sentinel parameters, so the
 * SQL stays Kysely's and the same code runs on Postgres.
 */
import { CompiledQuery, type Compilable } from 'kysely';
import type { Db } from './database.ts';

const SENTINEL = '\u0000vidscribe-param:';

export class PreparedQuery<V extends Record<string, unknown>, R> {
  /**
   * Compiled by each database's own dialect (SQLite, Postgres), once: keyed by its adapter, which
   * a database's transactions share, so a query run inside a transaction is not compiled again.
   */
  private readonly compiled = new WeakMap<object, CompiledQuery<R>>();

  constructor(private readonly build: (db: Db, param: <K extends keyof V & string>(name: K) => V[K]) => Compilable<R>) {}

  async execute(db: Db, values: V): Promise<R[]> {
    const adapter = db.getExecutor().adapter;
    let compiled = this.compiled.get(adapter);
    if (!compiled) {
      compiled = this.build(db, ((name: string) => `${SENTINEL}${name}`) as never).compile();
      this.compiled.set(adapter, compiled);
    }
    const parameters = compiled.parameters.map((p) => (typeof p === 'string' && p.startsWith(SENTINEL) ? values[p.slice(SENTINEL.length)] : p));
    const r = await db.executeQuery<R>(CompiledQuery.raw(compiled.sql, parameters) as CompiledQuery<R>);
    return r.rows;
  }

  async first(db: Db, values: V): Promise<R | undefined> {
    return (await this.execute(db, values))[0];
  }
}
