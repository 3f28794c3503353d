/**
 * `npm run bench:agent`: how much of the agent table (test/api/agent-table.ts) the deterministic
 * parser understands — a row counts when the tool calls it leads to (parser + validateIntents on
 * the row's session, no server) are the ones the row expects, questions included — and, when a
 * planner is configured, the latency it adds per request. A bench prints; it never fails.
 */
import { parseRequest, type Intent } from '../src/agent/intent.ts';
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
    else {
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

// TODO(planner): when the planner (src/agent/planner/) is configured (--llm-url / --llm-model, or
// VIDSCRIBE_LLM_URL here), time planner.plan() per row and print the added latency (p50, p95) and
// its share understood. The planner is another piece of work; without it there is nothing to time.
if (process.env.VIDSCRIBE_LLM_URL) console.log('planner: configured, but no planner module is wired into this bench yet');
else console.log('planner: not configured (set VIDSCRIBE_LLM_URL to measure its added latency per request)');
