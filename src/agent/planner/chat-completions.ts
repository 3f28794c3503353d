/**
 * A planner that asks any OpenAI-compatible chat-completions server (llama.cpp's llama-server,
 * Ollama, vLLM…) for a plan. The reply is constrained with `response_format: json_schema` — an
 * object of calls, one allowed shape per tool — because small models follow a JSON-schema grammar
 * well and their native tool-call formats badly; a JSON array or object found in plain text is
 * accepted too, for servers that ignore response_format. Plain fetch rather than an SDK: the reply
 * is read with a byte cap, so a misbehaving server cannot fill memory.
 */
import { ErrorCode, VidscribeError } from '../../shared/errors.ts';
import type { Intent } from '../intent.ts';
import type { Planner, PlannerInput } from './index.ts';
import { systemPrompt, userPrompt } from './prompt.ts';
import { planJsonSchema, planToIntents } from './tools.ts';

export interface ChatCompletionsConfig {
  /** Base URL of the API, e.g. http://127.0.0.1:8080/v1 (POST {url}/chat/completions); a full …/chat/completions URL works too. */
  url: string;
  model: string;
  apiKey?: string;
}

/** The most of a reply that is read: a plan of ten calls is a few kB. */
export const MAX_REPLY_BYTES = 64 * 1024;

export class ChatCompletionsPlanner implements Planner {
  readonly #endpoint: string;
  constructor(private readonly cfg: ChatCompletionsConfig) {
    const base = cfg.url.replace(/\/+$/, '');
    this.#endpoint = /\/chat\/completions$/.test(base) ? base : `${base}/chat/completions`;
  }

  async plan(input: PlannerInput, signal: AbortSignal): Promise<Intent[]> {
    const res = await fetch(this.#endpoint, {
      method: 'POST',
      signal,
      headers: { 'content-type': 'application/json', ...(this.cfg.apiKey ? { authorization: `Bearer ${this.cfg.apiKey}` } : {}) },
      body: JSON.stringify({
        model: this.cfg.model,
        temperature: 0,
        max_tokens: 1024,
        messages: [
          { role: 'system', content: systemPrompt() },
          { role: 'user', content: userPrompt(input) },
        ],
        response_format: { type: 'json_schema', json_schema: { name: 'tool_calls', schema: planJsonSchema() } },
      }),
    });
    const body = await readCapped(res, MAX_REPLY_BYTES);
    if (!res.ok) throw new VidscribeError(ErrorCode.MediaToolFailed, `the language model answered HTTP ${res.status}: ${body.slice(0, 200)}`);
    let reply: { choices?: { message?: { content?: unknown } }[] };
    try {
      reply = JSON.parse(body);
    } catch (e) {
      throw new VidscribeError(ErrorCode.MediaToolFailed, 'the language model did not answer JSON', { cause: e });
    }
    const content = reply.choices?.[0]?.message?.content;
    if (typeof content !== 'string') throw new VidscribeError(ErrorCode.MediaToolFailed, 'the language model answered without message content');
    return planToIntents(jsonIn(content), input.media);
  }
}

/** The body as text, refusing (and cancelling) it past `max` bytes. */
async function readCapped(res: Response, max: number): Promise<string> {
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (declared > max) {
    await res.body?.cancel();
    throw tooLarge(max);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (res.body) {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      size += chunk.byteLength;
      // Leaving the loop by throwing cancels the stream: nothing more is read.
      if (size > max) throw tooLarge(max);
      chunks.push(chunk);
    }
  }
  return Buffer.concat(chunks).toString('utf8');
}

const tooLarge = (max: number) => new VidscribeError(ErrorCode.MediaToolFailed, `the language model's reply is over ${max / 1024} kB`);

/**
 * The JSON in a reply's content: the content itself, or the outermost array or object in it
 * (models wrap JSON in prose or ```json fences when no grammar holds them to it).
 */
export function jsonIn(content: string): unknown {
  try {
    return JSON.parse(content);
  } catch {
    // fall through: look for JSON inside the text
  }
  for (const [open, close] of [
    ['[', ']'],
    ['{', '}'],
  ] as const) {
    const start = content.indexOf(open);
    const end = content.lastIndexOf(close);
    if (start < 0 || end <= start) continue;
    try {
      return JSON.parse(content.slice(start, end + 1));
    } catch {
      // not this bracket pair
    }
  }
  throw new VidscribeError(ErrorCode.MediaToolFailed, `the language model's reply holds no JSON plan: ${content.slice(0, 120)}`);
}
