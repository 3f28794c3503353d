import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Intent } from '../intent.ts';
import { jsonIn } from './chat-completions.ts';
import { type Planner, plannerForRequest } from './index.ts';

const media = [{ id: 'm1', name: 'clip.mp4', kind: 'video' as const, durationSec: 4 }];

describe('jsonIn: the plan in a reply’s content', () => {
  test('plain JSON, fenced JSON, JSON in prose', () => {
    assert.deepEqual(jsonIn('{"calls":[]}'), { calls: [] });
    assert.deepEqual(jsonIn('```json\n[{"tool":"trim","args":{"start_sec":1}}]\n```'), [{ tool: 'trim', args: { start_sec: 1 } }]);
    assert.deepEqual(jsonIn('Sure! Here is the plan: {"calls": [{"tool": "set_aspect", "args": {"aspect": "9:16"}}]} Hope it helps.'), [
      { tool: 'set_aspect', args: { aspect: '9:16' } },
    ]);
  });
  test('no JSON: an error', () => {
    assert.throws(() => jsonIn('I would make it vertical.'), /no JSON plan/);
  });
});

describe('plannerForRequest: bounded, never failing the request', () => {
  const fixed = (intents: Intent[]): Planner => ({ plan: async () => intents });

  test('a plan of free edits is returned as it is', async () => {
    const p = plannerForRequest({ planner: fixed([{ kind: 'aspect', aspect: '9:16' }]) });
    assert.deepEqual(await p.plan({ message: 'phone shaped', media, draft: null }), [{ kind: 'aspect', aspect: '9:16' }]);
  });

  test('no media: the planner is not asked', async () => {
    let asked = 0;
    const p = plannerForRequest({
      planner: {
        plan: async () => {
          asked++;
          return [];
        },
      },
    });
    assert.deepEqual(await p.plan({ message: 'phone shaped', media: [], draft: null }), []);
    assert.equal(asked, 0);
  });

  test('spending the message does not ask for: refused and logged', async () => {
    const logged: string[] = [];
    const p = plannerForRequest({
      planner: fixed([{ kind: 'aspect', aspect: '9:16' }, { kind: 'export' }]),
      log: (_d, m) => logged.push(m),
    });
    assert.deepEqual(await p.plan({ message: 'phone shaped', media, draft: null }), []);
    assert.match(logged.join(), /spend credits/);
    assert.equal((await p.plan({ message: 'phone shaped, then export it', media, draft: null })).length, 2);
  });

  test('a planner that throws, or ignores its signal and never answers: [] by the timeout, logged', async () => {
    const logged: string[] = [];
    const log = (_d: Record<string, unknown>, m: string) => logged.push(m);
    const throwing = plannerForRequest({ planner: { plan: async () => Promise.reject(new Error('boom')) }, log });
    assert.deepEqual(await throwing.plan({ message: 'x', media, draft: null }), []);
    const stuck = plannerForRequest({ planner: { plan: () => new Promise<Intent[]>(() => {}) }, timeoutMs: 200, log });
    // AbortSignal.timeout does not hold the event loop open (a server does): this does, meanwhile.
    const alive = setInterval(() => {}, 1000);
    const t0 = performance.now();
    assert.deepEqual(await stuck.plan({ message: 'x', media, draft: null }), []);
    clearInterval(alive);
    assert.ok(performance.now() - t0 < 2000);
    assert.equal(logged.length, 2);
  });

  test("the request's own signal stops it too (a client gone)", async () => {
    const gone = new AbortController();
    let sawAbort = false;
    const p = plannerForRequest(
      {
        planner: {
          plan: (_i, signal) =>
            new Promise<Intent[]>((_r, reject) =>
              signal.addEventListener('abort', () => {
                sawAbort = true;
                reject(signal.reason);
              }),
            ),
        },
      },
      gone.signal,
    );
    const planned = p.plan({ message: 'x', media, draft: null });
    gone.abort(new Error('client went away'));
    assert.deepEqual(await planned, []);
    assert.ok(sawAbort, 'the planner was told to stop');
  });
});

describe('vidscribe serve: --llm-url and --llm-model (or their environment variables)', () => {
  test('neither: no planner; both: a planner, the key only from the environment', async () => {
    const { llmConfig } = await import('../../cli/serve-command.ts');
    assert.equal(llmConfig({}, {}), undefined);
    assert.deepEqual(llmConfig({ llmUrl: 'http://127.0.0.1:8080/v1', llmModel: 'qwen' }, {}), { url: 'http://127.0.0.1:8080/v1', model: 'qwen' });
    assert.deepEqual(llmConfig({}, { VIDSCRIBE_LLM_URL: 'http://h:11434/v1', VIDSCRIBE_LLM_MODEL: 'm', VIDSCRIBE_LLM_KEY: 'k' }), {
      url: 'http://h:11434/v1',
      model: 'm',
      apiKey: 'k',
    });
    assert.deepEqual(llmConfig({ llmModel: 'flag' }, { VIDSCRIBE_LLM_URL: 'http://h/v1', VIDSCRIBE_LLM_MODEL: 'env' })?.model, 'flag');
  });
  test('one without the other, or a URL that is not http(s): a 400 saying so', async () => {
    const { llmConfig } = await import('../../cli/serve-command.ts');
    assert.throws(() => llmConfig({ llmUrl: 'http://h/v1' }, {}), /go together/);
    assert.throws(() => llmConfig({ llmModel: 'm' }, {}), /go together/);
    assert.throws(() => llmConfig({ llmUrl: 'file:///etc/passwd', llmModel: 'm' }, {}), /http\(s\) URL/);
    assert.throws(() => llmConfig({ llmUrl: 'not a url', llmModel: 'm' }, {}), /http\(s\) URL/);
  });
});
