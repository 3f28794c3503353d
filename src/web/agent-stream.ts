/**
 * POST /run_sse read as it streams (fetch + eventsource-parser: EventSource cannot POST or send
 * a bearer token). Each ADK event goes to `onEvent`; `: ping` comments only prove the line is alive.
 */
import { createParser } from 'eventsource-parser';
import type { AdkEvent } from '../agent/runner.ts';
import { AGENT, ApiError, authedFetch } from './api.ts';
import { STREAM_DROPPED } from './i18n.ts';

export interface StreamHandlers {
  onEvent(e: AdkEvent): void;
  onPing?(): void;
}

/**
 * Sends one message to the agent and streams its reply. Resolves when the final reply arrived;
 * rejects with ApiError (the server refused the request, or STREAM_DROPPED when the stream ended
 * before its final reply) or an AbortError.
 */
export async function streamAgent(sessionId: string, text: string, h: StreamHandlers, signal?: AbortSignal): Promise<void> {
  const res = await authedFetch('/run_sse', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
    body: JSON.stringify({ app_name: AGENT, user_id: 'me', session_id: sessionId, new_message: { role: 'user', parts: [{ text }] }, streaming: true }),
    signal,
  });
  if (!res.ok || !res.body) {
    const body = (await res.json().catch(() => undefined)) as { code?: number; message?: string; data?: Record<string, unknown> } | undefined;
    throw new ApiError(body?.code ?? res.status, body?.message ?? res.statusText, body?.data);
  }
  let finished = false;
  const parser = createParser({
    onEvent(ev) {
      let e: AdkEvent;
      try {
        e = JSON.parse(ev.data) as AdkEvent;
      } catch {
        return; // Not an ADK event: nothing to show.
      }
      if (e.turnComplete || (!e.partial && e.content?.parts?.some((p) => 'text' in p))) finished = true;
      h.onEvent(e);
    },
    onComment() {
      h.onPing?.();
    },
  });
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parser.feed(value);
    }
  } catch (e) {
    if ((e as Error)?.name === 'AbortError') throw e;
    throw new ApiError(STREAM_DROPPED, (e as Error)?.message ?? 'stream failed');
  }
  if (!finished) throw new ApiError(STREAM_DROPPED, 'the reply stopped before its end');
}
