// How long to wait before reconnecting a stream that ended or failed, and waiting that long.
//
// 1 s doubling to at most 30 s, with up to a fifth of random spread so that many consoles that
// lost the same server do not come back in step. No DOM: unit-tested under plain node.

export const BACKOFF_FIRST_MS = 1000;
export const BACKOFF_MAX_MS = 30000;

// REQUIRES: attempt >= 0 (0 for the first retry); random in [0, 1).
export function backoffDelay(attempt: number, random: number = Math.random()): number {
  const base = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** Math.min(attempt, 30));
  return Math.round(base * (0.8 + 0.2 * random));
}

// Resolves after `ms`, or at once when `signal` is aborted (never rejects: the caller looks at
// signal.aborted). Leaves no timer or listener behind either way.
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}
