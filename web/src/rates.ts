// Per-second rates from successive readings of Prometheus counters, kept for a moving window.
//
// The overview reads /metrics every 2 s and adds each reading here; the chart draws the result.
// A counter that went down means the server restarted, so the new value is the count since then.
// A key missing from the previous reading counted 0 then (labelled counters appear on first use),
// but the very first reading gives no rate: the count before it is unknown. No DOM: unit-tested.

export interface Reading {
  timeMs: number;
  counters: ReadonlyMap<string, number>;
}

// Columns for a chart: times in seconds and one array of rates per key (null where the key had no
// rate yet), every array as long as `times`.
export interface AlignedRates {
  times: number[];
  keys: string[];
  rates: (number | null)[][];
}

// The rate of one counter between two readings, per second; null when the time did not advance.
export function counterRate(previous: number, current: number, elapsedMs: number): number | null {
  if (!(elapsedMs > 0)) return null;
  const increase = current >= previous ? current - previous : current;
  return (increase * 1000) / elapsedMs;
}

export class RateSeries {
  private previous: Reading | null = null;
  private points: { timeMs: number; rates: Map<string, number> }[] = [];
  private readonly keyOrder: string[] = [];

  // REQUIRES: windowMs > 0.
  constructor(private readonly windowMs: number) {}

  // Adds a reading; readings must come in time order (an older one is ignored).
  add(reading: Reading): void {
    const previous = this.previous;
    if (previous && reading.timeMs <= previous.timeMs) return;
    this.previous = reading;
    if (!previous) {
      for (const key of reading.counters.keys()) this.noteKey(key);
      return;
    }
    const elapsed = reading.timeMs - previous.timeMs;
    const rates = new Map<string, number>();
    for (const [key, value] of reading.counters) {
      this.noteKey(key);
      const rate = counterRate(previous.counters.get(key) ?? 0, value, elapsed);
      if (rate !== null) rates.set(key, rate);
    }
    this.points.push({ timeMs: reading.timeMs, rates });
    const oldest = reading.timeMs - this.windowMs;
    while (this.points.length > 0 && this.points[0].timeMs < oldest) this.points.shift();
  }

  // The rates of the last reading, by key; null before two readings gave one.
  lastRates(): ReadonlyMap<string, number> | null {
    return this.points.length > 0 ? this.points[this.points.length - 1].rates : null;
  }

  // The latest rate of each key (0 for a key without one yet).
  latest(): Map<string, number> {
    const last = this.points[this.points.length - 1];
    const out = new Map<string, number>();
    for (const key of this.keyOrder) out.set(key, last?.rates.get(key) ?? 0);
    return out;
  }

  // Keys in the order they were first seen, so a chart's colours stay put.
  keys(): string[] {
    return [...this.keyOrder];
  }

  aligned(): AlignedRates {
    const keys = this.keys();
    return {
      times: this.points.map((point) => point.timeMs / 1000),
      keys,
      rates: keys.map((key) => this.points.map((point) => point.rates.get(key) ?? null)),
    };
  }

  private noteKey(key: string): void {
    if (!this.keyOrder.includes(key)) this.keyOrder.push(key);
  }
}
