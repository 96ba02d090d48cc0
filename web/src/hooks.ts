// Small hooks the pages share: loading an API answer, polling, debouncing, the current hash route.

import { useEffect, useRef, useState } from 'preact/hooks';
import { describeError, isAbort } from './api.ts';
import { parseRoute, type Route } from './route.ts';

export interface Loaded<T> {
  data: T | null;
  error: string | null;
  loading: boolean;
  // Loads again (keeping the old data on screen until the new answer comes).
  reload: () => void;
}

// Runs `load` when a dependency changes (aborting the previous run) and, with `pollMs`, again
// every pollMs while the page is shown. An error keeps the last data and shows beside it.
export function useLoad<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[], pollMs = 0): Loaded<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [generation, setGeneration] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;

  useEffect(() => {
    setData(null);
    setError(null);
  }, deps);

  useEffect(() => {
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = async () => {
      setLoading(true);
      try {
        const value = await loadRef.current(controller.signal);
        if (controller.signal.aborted) return;
        setData(value);
        setError(null);
      } catch (caught) {
        if (isAbort(caught) || controller.signal.aborted) return;
        setError(describeError(caught));
      }
      setLoading(false);
      if (pollMs > 0 && !controller.signal.aborted) timer = setTimeout(run, pollMs);
    };
    void run();
    return () => {
      controller.abort();
      clearTimeout(timer);
    };
  }, [...deps, generation, pollMs]);

  return { data, error, loading, reload: () => setGeneration((value) => value + 1) };
}

// `value`, once it has stayed the same for `delayMs`.
export function useDebounced<T>(value: T, delayMs: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), delayMs);
    return () => clearTimeout(timer);
  }, [value, delayMs]);
  return settled;
}

// The route of location.hash, following hashchange.
export function useHashRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const update = () => setRoute(parseRoute(location.hash));
    window.addEventListener('hashchange', update);
    return () => window.removeEventListener('hashchange', update);
  }, []);
  return route;
}

// Sets document.title while a page is shown.
export function useTitle(title: string): void {
  useEffect(() => {
    document.title = `${title} · cdp console`;
  }, [title]);
}
