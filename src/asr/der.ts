/**
 * Diarization error rate (NIST md-eval's definition, scored on a 10 ms grid): missed speech +
 * false alarm + speaker confusion, over the reference's speech time, after mapping the system's
 * speakers onto the reference's one-to-one in the way that agrees most. Time within `collar`
 * seconds of a reference turn's start or end is not scored (boundaries are uncertain by that much).
 */

/** One stretch of one voice (seconds); `speaker` is any label. Turns of different speakers may overlap. */
export interface Turn {
  start: number;
  end: number;
  speaker: string | number;
}

export interface DerResult {
  /** (missed + falseAlarm + confusion) / scored reference speech; 0 when there is no reference speech and no system speech. */
  der: number;
  /** Seconds of reference speech scored (an overlap of two speakers counts twice). */
  scored: number;
  missed: number;
  falseAlarm: number;
  confusion: number;
  /** System speaker → reference speaker, as mapped. */
  mapping: Map<string, string>;
}

const STEP = 0.01;

/** DER of `hypothesis` against `reference` with a collar (seconds; 0.25 is the usual choice). */
export function diarizationErrorRate(reference: readonly Turn[], hypothesis: readonly Turn[], collar = 0.25): DerResult {
  const end = Math.max(0, ...reference.map((t) => t.end), ...hypothesis.map((t) => t.end));
  const n = Math.ceil(end / STEP - 1e-9);
  const refIds = [...new Set(reference.map((t) => String(t.speaker)))];
  const hypIds = [...new Set(hypothesis.map((t) => String(t.speaker)))];
  const ref = activity(reference, refIds, n);
  const hyp = activity(hypothesis, hypIds, n);
  const scoredFrame = new Uint8Array(n).fill(1);
  for (const t of reference) {
    for (const edge of [t.start, t.end]) {
      const lo = Math.max(0, Math.round((edge - collar) / STEP));
      const hi = Math.min(n, Math.round((edge + collar) / STEP));
      scoredFrame.fill(0, lo, hi);
    }
  }
  // Frames where reference speaker r and system speaker h both speak, for the mapping.
  const together = refIds.map(() => hypIds.map(() => 0));
  for (let f = 0; f < n; f++) {
    if (!scoredFrame[f]) continue;
    for (let r = 0; r < refIds.length; r++) {
      if (!ref[r]![f]) continue;
      for (let h = 0; h < hypIds.length; h++) if (hyp[h]![f]) together[r]![h]!++;
    }
  }
  const assign = bestAssignment(together);
  let scored = 0;
  let missed = 0;
  let falseAlarm = 0;
  let confusion = 0;
  for (let f = 0; f < n; f++) {
    if (!scoredFrame[f]) continue;
    let nRef = 0;
    let nHyp = 0;
    let correct = 0;
    for (let r = 0; r < refIds.length; r++) if (ref[r]![f]) nRef++;
    for (let h = 0; h < hypIds.length; h++) {
      if (!hyp[h]![f]) continue;
      nHyp++;
      const r = assign[h]!;
      if (r >= 0 && ref[r]![f]) correct++;
    }
    scored += nRef;
    missed += Math.max(0, nRef - nHyp);
    falseAlarm += Math.max(0, nHyp - nRef);
    confusion += Math.min(nRef, nHyp) - correct;
  }
  const mapping = new Map<string, string>();
  assign.forEach((r, h) => {
    if (r >= 0) mapping.set(hypIds[h]!, refIds[r]!);
  });
  const errors = missed + falseAlarm + confusion;
  return {
    der: scored > 0 ? errors / scored : errors > 0 ? 1 : 0,
    scored: scored * STEP,
    missed: missed * STEP,
    falseAlarm: falseAlarm * STEP,
    confusion: confusion * STEP,
    mapping,
  };
}

/** Per speaker, which 10 ms frames hold their speech. */
function activity(turns: readonly Turn[], ids: string[], n: number): Uint8Array[] {
  const rows = ids.map(() => new Uint8Array(n));
  for (const t of turns) {
    const row = rows[ids.indexOf(String(t.speaker))]!;
    row.fill(1, Math.max(0, Math.round(t.start / STEP)), Math.min(n, Math.round(t.end / STEP)));
  }
  return rows;
}

/**
 * For each system speaker, the reference speaker it maps to (-1: none), one-to-one, maximising
 * the time they share. Exhaustive over the few speakers a diarized file has; beyond 8 on either
 * side, greedy by largest shared time.
 */
export function bestAssignment(together: readonly (readonly number[])[]): number[] {
  const nRef = together.length;
  const nHyp = nRef ? together[0]!.length : 0;
  if (nRef > 8 || nHyp > 8) return greedyAssignment(together, nRef, nHyp);
  let best = -1;
  let bestAssign: number[] = new Array(nHyp).fill(-1);
  const current: number[] = new Array(nHyp).fill(-1);
  const used = new Array(nRef).fill(false);
  const search = (h: number, score: number) => {
    if (h === nHyp) {
      if (score > best) {
        best = score;
        bestAssign = [...current];
      }
      return;
    }
    current[h] = -1;
    search(h + 1, score);
    for (let r = 0; r < nRef; r++) {
      if (used[r]) continue;
      used[r] = true;
      current[h] = r;
      search(h + 1, score + together[r]![h]!);
      used[r] = false;
      current[h] = -1;
    }
  };
  search(0, 0);
  return bestAssign;
}

function greedyAssignment(together: readonly (readonly number[])[], nRef: number, nHyp: number): number[] {
  const pairs: [number, number, number][] = [];
  for (let r = 0; r < nRef; r++) for (let h = 0; h < nHyp; h++) pairs.push([together[r]![h]!, r, h]);
  pairs.sort((a, b) => b[0] - a[0]);
  const out = new Array(nHyp).fill(-1);
  const usedRef = new Set<number>();
  for (const [, r, h] of pairs) {
    if (out[h] !== -1 || usedRef.has(r)) continue;
    out[h] = r;
    usedRef.add(r);
  }
  return out;
}

/** Turns from RTTM text (`SPEAKER <file> <chan> <start> <duration> <NA> <NA> <speaker> …`). */
export function parseRttm(text: string): Turn[] {
  return text
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f[0] === 'SPEAKER' && f.length >= 8)
    .map((f) => ({ start: Number(f[3]), end: Number(f[3]) + Number(f[4]), speaker: f[7]! }));
}
