import { readFileSync, readdirSync } from 'node:fs';

/** Resident memory (bytes) of a process and all its descendants, read from /proc (Linux). */
export function treeRssBytes(rootPid: number): number {
  const children = new Map<number, number[]>();
  const rss = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const ppid = Number(/PPid:\s+(\d+)/.exec(status)?.[1] ?? 0);
      rss.set(pid, Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024);
      children.set(ppid, [...(children.get(ppid) ?? []), pid]);
    } catch {
      // the process ended between listing and reading: it holds no memory any more
    }
  }
  let total = 0;
  const stack = [rootPid];
  while (stack.length) {
    const pid = stack.pop()!;
    total += rss.get(pid) ?? 0;
    stack.push(...(children.get(pid) ?? []));
  }
  return total;
}

/** Samples the tree's RSS every `intervalMs` and remembers the peak. */
export function startRssSampler(rootPid = process.pid, intervalMs = 100): { stop(): number; peak(): number } {
  let peak = treeRssBytes(rootPid);
  const timer = setInterval(() => {
    peak = Math.max(peak, treeRssBytes(rootPid));
  }, intervalMs);
  return {
    peak: () => peak,
    stop() {
      clearInterval(timer);
      return Math.max(peak, treeRssBytes(rootPid));
    },
  };
}
