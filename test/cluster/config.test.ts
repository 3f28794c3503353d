/**
 * `vidscribe serve`'s cluster flags and environment variables (clusterConfig, a pure function):
 * none means the embedded defaults; a flag wins over its variable; a single role needs the shared
 * pieces (Postgres and S3).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { clusterConfig } from '../../src/cli/serve-command.ts';

const PG = 'postgres://u@db:5432/vidscribe';
const S3 = 's3://media?endpoint=http://s3:9000&region=eu-west-1';

describe('serve: --database, --db-pool, --blobs, --role and their environment variables', () => {
  test('nothing given: the embedded defaults (SQLite and files in --data, API and jobs in one process)', () => {
    assert.deepEqual(clusterConfig({}, {}), { database: undefined, blobs: undefined, role: 'all' });
  });

  test('environment variables, and a flag wins over its variable; VIDSCRIBE_SECRET from the environment only', () => {
    const env = { VIDSCRIBE_DATABASE: PG, VIDSCRIBE_BLOBS: S3, VIDSCRIBE_ROLE: 'worker', VIDSCRIBE_SECRET: 'ab'.repeat(32) };
    assert.deepEqual(clusterConfig({}, env), { database: PG, blobs: S3, role: 'worker', secret: 'ab'.repeat(32) });
    assert.equal(clusterConfig({ role: 'api' }, env).role, 'api');
    assert.equal(clusterConfig({ database: 'postgres://other/db' }, env).database, 'postgres://other/db');
    assert.deepEqual(clusterConfig({ database: PG, blobs: S3 }, {}), { database: PG, blobs: S3, role: 'all' });
    assert.deepEqual(clusterConfig({ database: PG }, {}), { database: PG, blobs: undefined, role: 'all' }, 'Postgres with local files is one node');
  });

  test('a single role needs Postgres and S3; unknown roles and odd URLs are refused with 400', () => {
    for (const [o, why] of [
      [{ role: 'api' }, /needs --database postgres/],
      [{ role: 'worker', database: PG }, /needs --database postgres/],
      [{ role: 'worker', database: 'sqlite:/tmp/x.db', blobs: S3 }, /needs --database postgres/],
      [{ role: 'scheduler' }, /api, worker or all/],
      [{ database: 'mysql://db' }, /postgres/],
      [{ blobs: '/mnt/media' }, /s3:\/\//],
    ] as const) {
      assert.throws(
        () => clusterConfig(o, {}),
        (e: Error & { code?: number }) => e.code === 400 && why.test(e.message),
        JSON.stringify(o),
      );
    }
    assert.equal(clusterConfig({ role: 'api', database: PG, blobs: S3 }, {}).role, 'api');
  });

  test('--db-pool (or VIDSCRIBE_DB_POOL) sizes the Postgres pool: 1 to 1000, only with Postgres; the flag wins', () => {
    assert.equal(clusterConfig({ database: PG, dbPool: '4' }, {}).dbPool, 4);
    assert.equal(clusterConfig({ database: PG }, { VIDSCRIBE_DB_POOL: '25' }).dbPool, 25);
    assert.equal(clusterConfig({ database: PG, dbPool: '3' }, { VIDSCRIBE_DB_POOL: '25' }).dbPool, 3);
    assert.equal('dbPool' in clusterConfig({ database: PG }, {}), false, 'not given: the default pool');
    for (const [o, why] of [
      [{ database: PG, dbPool: '0' }, /from 1 to 1000/],
      [{ database: PG, dbPool: '1001' }, /from 1 to 1000/],
      [{ database: PG, dbPool: '-2' }, /from 1 to 1000/],
      [{ database: PG, dbPool: '2.5' }, /from 1 to 1000/],
      [{ database: PG, dbPool: 'ten' }, /from 1 to 1000/],
      [{ dbPool: '4' }, /needs --database postgres/],
      [{ database: 'sqlite:/tmp/x.db', dbPool: '4' }, /needs --database postgres/],
    ] as const) {
      assert.throws(
        () => clusterConfig(o, {}),
        (e: Error & { code?: number }) => e.code === 400 && why.test(e.message),
        JSON.stringify(o),
      );
    }
  });
});
