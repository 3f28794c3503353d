/**
 * `npm run bench:agent`: how much of the agent table (test/api/agent-table.ts) the deterministic
 * parser understands — a row counts when the tool calls it leads to (parser + validateIntents on
 * the row's session, no server) are the ones the row expects, questions included — and, when a
 * planner is configured, the latency it adds per request. A bench prints; it never fails.
 */
import { parseRequest, type Intent } from '../src/agent/intent.ts';
import { ChatCompletionsPlanner, plannerForRequest } from '../src/agent/planner/index.ts';
import { toolName } from '../src/agent/runner.ts';
import { validateIntents } from '../src/agent/validate.ts';
import { AGENT_TABLE, type AgentRow } from '../test/api/agent-table.ts';

/** The tool calls the runner makes for these intents on the row's session (captions transcribe first when there is no transcript). */
function predictedCalls(intents: readonly Intent[], row: AgentRow): string[] {
  const calls: string[] = [];
  const pending: string[] = [];
  for (const i of intents) {
    if (i.kind === 'captions') {
      calls.push(...pending.splice(0));
      if (row.setup === 'untranscribed video') calls.push('transcribe_media');
      calls.push(toolName(i));
    } else if (['trim', 'aspect', 'resolution', 'title', 'music', 'remove'].includes(i.kind)) pending.push(toolName(i));
    else if (i.kind === 'export' && i.each) {
      // A batch export renders each video of the session on its own.
      const videos = sessionOf(row).media.filter((m) => m.kind === 'video').length;
      calls.push(...pending.splice(0), ...Array.from({ length: videos }, () => toolName(i)));
    } else {
      calls.push(...pending.splice(0), toolName(i));
    }
  }
  return [...calls, ...pending];
}

function sessionOf(row: AgentRow) {
  const video = { name: 'clip.mp4', kind: 'video' as const };
  const media =
    row.setup === 'two videos'
      ? [video, { name: 'second.mp4', kind: 'video' as const }]
      : row.setup === 'video+song'
        ? [video, { name: 'song.mp3', kind: 'audio' as const }]
        : [video];
  return { media, hasDraft: row.setup !== 'two videos' || (row.before?.length ?? 0) > 0 };
}

function understood(row: AgentRow): boolean {
  const parsed = parseRequest(row.say);
  if (parsed.question) return row.question === true;
  if (parsed.unknown) return row.calls.length === 0 && !row.question;
  const checked = validateIntents(parsed.intents, sessionOf(row));
  if (!checked.ok) return 'question' in checked && row.question === true;
  return !row.question && JSON.stringify(predictedCalls(checked.intents, row)) === JSON.stringify(row.calls);
}

const rows = AGENT_TABLE;
const t0 = performance.now();
const misses = rows.filter((r) => !understood(r));
const parseMs = (performance.now() - t0) / rows.length;
const share = (rows.length - misses.length) / rows.length;
console.log(
  `agent table: ${rows.length - misses.length} of ${rows.length} rows understood by the parser (${(share * 100).toFixed(1)} %), ${parseMs.toFixed(2)} ms a row`,
);
for (const r of misses) {
  const p = parseRequest(r.say);
  console.log(
    `  missed: ${JSON.stringify(r.say)} → ${p.question ? `question ${p.question}` : JSON.stringify(p.intents.map(toolName))}, expected ${r.question ? 'a question' : JSON.stringify(r.calls)}`,
  );
}

// The planner (src/agent/planner/), when one is configured: its added latency per request (it
// runs only where the parser found nothing, but here every row is sent, to time it fairly) and the
// share of rows its plan gets right.
const url = process.env.VIDSCRIBE_LLM_URL;
const model = process.env.VIDSCRIBE_LLM_MODEL;
if (!url || !model) {
  console.log('planner: not configured (set VIDSCRIBE_LLM_URL and VIDSCRIBE_LLM_MODEL to measure its added latency per request)');
} else {
  const planning = { planner: new ChatCompletionsPlanner({ url, model }), timeoutMs: 60_000 };
  const times: number[] = [];
  let right = 0;
  const answerable = rows.filter((r) => !r.question);
  for (const row of answerable) {
    const session = sessionOf(row);
    const media = session.media.map((m, i) => ({ id: `med_${i}`, name: m.name, kind: m.kind, durationSec: 10 }));
    const t = performance.now();
    const planned = await plannerForRequest(planning).plan({ message: row.say, media, draft: null });
    times.push(performance.now() - t);
    const checked = validateIntents(planned, session);
    const calls = checked.ok ? predictedCalls(checked.intents, row) : [];
    if (JSON.stringify(calls) === JSON.stringify(row.calls)) right++;
  }
  times.sort((a, b) => a - b);
  const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))]!.toFixed(0);
  console.log(`planner (${model}): ${right} of ${answerable.length} rows right on its own; added latency p50 ${at(0.5)} ms, p95 ${at(0.95)} ms per request`);
}
