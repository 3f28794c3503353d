import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AsrWorker } from '../asr/index.ts';
import { AsrPool, type AsrLease, asrLayout } from './asr-pool.ts';

// The pool's sharing rules, on real AsrWorker objects that are never asked anything, so no
// process starts (a worker starts on its first request); test/api/workflow.test.ts and
// test/languages.test.ts run jobs through the pool with the real model.

test('transcriptions at once: one per core, two to a worker on two cores or more, the cores split between workers', () => {
  assert.deepEqual(asrLayout(2), { transcriptions: 2, jobsPerWorker: 2, threads: 2 });
  assert.deepEqual(asrLayout(8), { transcriptions: 8, jobsPerWorker: 2, threads: 2 });
  assert.deepEqual(asrLayout(1), { transcriptions: 1, jobsPerWorker: 1, threads: 1 });
  // --asr-slots 1: one job at a time on a worker with every core, as before.
  assert.deepEqual(asrLayout(2, 1), { transcriptions: 1, jobsPerWorker: 1, threads: 2 });
  assert.deepEqual(asrLayout(16, 4), { transcriptions: 4, jobsPerWorker: 2, threads: 8 });
  assert.deepEqual(asrLayout(2, 3), { transcriptions: 3, jobsPerWorker: 2, threads: 1 });
  assert.equal(asrLayout(4, 0).transcriptions, 0, 'a node may run no transcriptions');
});

/** Runs `fn` on a new pool, closed afterwards whatever happens. */
async function withPool(opts: ConstructorParameters<typeof AsrPool>[0], fn: (pool: AsrPool) => Promise<void>): Promise<void> {
  const pool = new AsrPool(opts);
  try {
    await fn(pool);
  } finally {
    await pool.close();
  }
}

const settled = async <T>(p: Promise<T>) => {
  let done = false;
  void p.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  await new Promise((r) => setImmediate(r));
  return done;
};

test('two slots share a worker; the next two get another', async () => {
  await withPool({ model: 'tiny.en', jobsPerWorker: 2 }, async (pool) => {
    const [a, b, c] = await Promise.all([pool.acquire(0), pool.acquire(1), pool.acquire(2)]);
    assert.equal(a.worker, b.worker, 'slots 0 and 1: one worker, two jobs at once');
    assert.notEqual(a.worker, c.worker, 'slot 2: a worker of its own');
    for (const l of [a, b, c]) l.release();
  });
});

test('another model waits for the jobs on the worker, then replaces it; later jobs do not overtake it', async () => {
  await withPool({ model: 'tiny.en', jobsPerWorker: 2 }, async (pool) => {
    const first = await pool.acquire(0);
    const old = first.worker;
    const base = pool.acquire(1, 'base');
    const later = pool.acquire(0, 'tiny.en');
    assert.equal(await settled(base), false, 'base waits while a tiny.en job holds the worker');
    assert.equal(await settled(later), false, 'a tiny.en job asking after it waits too, though the worker serves tiny.en');
    first.release();
    first.release(); // a second release changes nothing
    const b: AsrLease = await base;
    assert.notEqual(b.worker, old);
    assert.ok(b.worker.serves('base'));
    assert.equal(await settled(later), false, 'tiny.en now waits for the base job');
    b.release();
    const l = await later;
    assert.ok(l.worker.serves('tiny.en'));
    assert.notEqual(l.worker, b.worker);
    l.release();
  });
});

test('an auto worker serves base and tiny.en without a replacement', async () => {
  await withPool({ model: 'auto', jobsPerWorker: 2 }, async (pool) => {
    const a = await pool.acquire(0);
    const [b, t] = await Promise.all([pool.acquire(1, 'base'), pool.acquire(0, 'tiny.en')]);
    assert.equal(b.worker, a.worker);
    assert.equal(t.worker, a.worker);
    for (const l of [a, b, t]) l.release();
  });
});

test('a job aborted while it waits leaves the line, and the one behind it goes in', async () => {
  await withPool({ model: 'tiny.en', jobsPerWorker: 2 }, async (pool) => {
    const held = await pool.acquire(0);
    const ac = new AbortController();
    const base = pool.acquire(1, 'base', ac.signal);
    const behind = pool.acquire(0, 'tiny.en');
    assert.equal(await settled(behind), false);
    ac.abort();
    await assert.rejects(base, (e: Error & { code?: number }) => e.code === 5004);
    const b = await behind;
    assert.equal(b.worker, held.worker, 'no replacement for a job that left');
    await assert.rejects(pool.acquire(1, 'tiny.en', AbortSignal.abort()), /Cancelled/);
    held.release();
    b.release();
  });
});

test('a worker that cannot be made fails the job that asked for it, not the one behind it', async () => {
  let failNext = true;
  await withPool(
    {
      model: 'tiny.en',
      jobsPerWorker: 2,
      create: (model) => {
        if (failNext && model === 'base') throw new Error('no such model');
        return new AsrWorker({ model });
      },
    },
    async (pool) => {
      const held = await pool.acquire(0);
      const base = pool.acquire(1, 'base');
      const behind = pool.acquire(0, 'tiny.en');
      held.release();
      await assert.rejects(base, /no such model/);
      const b = await behind;
      assert.ok(b.worker.serves('tiny.en'));
      b.release();
      // The same while the job that asked has already left the line: the one behind is not dropped.
      const ac = new AbortController();
      const gone = pool.acquire(0, 'base', ac.signal);
      const next = pool.acquire(1, 'tiny.en');
      ac.abort();
      await assert.rejects(gone, /Cancelled/);
      const n = await next;
      assert.ok(n.worker.serves('tiny.en'));
      n.release();
      failNext = false;
    },
  );
});

test('closing the pool fails the jobs still waiting for a worker', async () => {
  const pool = new AsrPool({ model: 'tiny.en', jobsPerWorker: 1 });
  const held = await pool.acquire(0);
  const waiting = pool.acquire(0, 'base');
  await pool.close();
  await assert.rejects(waiting, /closed/);
  held.release();
});
