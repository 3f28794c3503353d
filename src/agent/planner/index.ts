/**
 * An optional language-model planner for requests the keyword parser does not understand. The
 * parser stays the default and the fallback: the runner asks the planner only when the parser
 * found nothing in the message, so a request the parser understands costs nothing extra and a
 * planner can never add a charge to it. A plan comes back as the parser's own intents and goes
 * through the same validation (validateIntents) and checks as the parser's; before that, a plan
 * naming a tool, an argument or a media item that does not exist is refused whole (tools.ts),
 * and so is one that would spend credits (transcribe, captions, export) on work the message does
 * not ask for. Any planner failure — unreachable, slow, oversized, invalid — is logged and the
 * parser's answer is used.
 */
import type { Draft } from '../../render/index.ts';
import type { Intent } from '../intent.ts';
import type { PlannerMedia } from './prompt.ts';
import { unaskedPaidIntents } from './tools.ts';
import { abortable } from '../../shared/abortable.ts';

export { ChatCompletionsPlanner, type ChatCompletionsConfig } from './chat-completions.ts';

export interface PlannerInput {
  message: string;
  /** The session's uploads, in upload order. */
  media: PlannerMedia[];
  draft: Draft | null;
  /** The language the agent answers in (the message's). */
  language: 'en' | 'zh';
}

/** Turns a request into intents; may throw or hang — the caller bounds it and falls back. */
export interface Planner {
  plan(input: PlannerInput, signal: AbortSignal): Promise<Intent[]>;
}

export const DEFAULT_PLANNER_TIMEOUT_MS = 8000;

export interface Planning {
  planner: Planner;
  /** Longest wait for a plan (default 8 s); past it, the parser's answer is used. */
  timeoutMs?: number;
  /** Where refused plans and planner failures are reported (they never reach the user). */
  log?: (detail: Record<string, unknown>, message: string) => void;
}

/** What the runner calls (AgentDeps.planner): a plan for one request, [] when there is none. */
export interface RequestPlanner {
  plan(input: { message: string; media: readonly PlannerMedia[]; draft: Draft | null }): Promise<Intent[]>;
}

/**
 * The planner as the runner calls it for one request: bounded by `timeoutMs` and by the request's
 * own signal (a client gone), and never failing the request — a failure, a timeout or a refused
 * plan is logged and gives no intents, so the runner answers as the parser did.
 */
export function plannerForRequest(planning: Planning, signal?: AbortSignal): RequestPlanner {
  const { planner, timeoutMs = DEFAULT_PLANNER_TIMEOUT_MS, log } = planning;
  return {
    async plan({ message, media, draft }) {
      // Nothing to plan on: the runner answers "upload something first" whatever is planned.
      if (media.length === 0) return [];
      const timeout = AbortSignal.timeout(timeoutMs);
      const stop = signal ? AbortSignal.any([signal, timeout]) : timeout;
      const input: PlannerInput = {
        message,
        media: media.map((m) => ({ id: m.id, name: m.name, kind: m.kind, durationSec: m.durationSec })),
        draft,
        language: /\p{Script=Han}/u.test(message) ? 'zh' : 'en',
      };
      let intents: Intent[];
      try {
        intents = await abortable(planner.plan(input, stop), stop);
      } catch (e) {
        log?.({ err: e }, 'planner failed; the parser answers');
        return [];
      }
      const unasked = unaskedPaidIntents(intents, message);
      if (unasked.length) {
        log?.({ unasked, intents }, 'plan refused: it would spend credits on work the message does not ask for');
        return [];
      }
      return intents;
    },
  };
}
