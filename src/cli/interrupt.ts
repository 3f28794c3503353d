/** Runs `run` with a signal that Ctrl-C aborts, so work in progress is cancelled, not killed. */
export function withInterrupt<T>(run: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ac = new AbortController();
  const onSigint = () => ac.abort();
  process.once('SIGINT', onSigint);
  return run(ac.signal).finally(() => process.removeListener('SIGINT', onSigint));
}
