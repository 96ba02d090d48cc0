// Each destination's delivery rates and backlog, from successive readings of GET /metrics:
//
//   cdp_delivery_messages_total{destination,outcome="delivered"|"retried"|"dead"}  counters
//   cdp_delivery_lag_events{destination}        raw log events the destination has not read yet
//   cdp_delivery_outbox_messages{destination}   messages waiting for a retry
//
// "retried" counts failed attempts that will be repeated (the status' failed_attempts). The rates
// are per second between the last two readings (rates.ts); the first reading gives none yet.
// No DOM: unit-tested under plain node.

import type { Sample } from './metrics.ts';
import { RateSeries } from './rates.ts';

export const DELIVERY_OUTCOMES = ['delivered', 'retried', 'dead'] as const;
export type DeliveryOutcome = (typeof DELIVERY_OUTCOMES)[number];

export interface DeliveryNow {
  // Messages per second; null until two readings have been made.
  rates: Record<DeliveryOutcome, number> | null;
  // Gauges of the last reading; null when the server did not report them for this destination.
  lagEvents: number | null;
  outbox: number | null;
}

const SEPARATOR = '\u0000';

// The delivery counters of one reading, keyed by destination and outcome.
export function deliveryCounters(samples: readonly Sample[]): Map<string, number> {
  const counters = new Map<string, number>();
  for (const sample of samples) {
    if (sample.name !== 'cdp_delivery_messages_total') continue;
    const destination = sample.labels.destination;
    const outcome = sample.labels.outcome;
    if (destination === undefined || outcome === undefined) continue;
    const key = `${destination}${SEPARATOR}${outcome}`;
    counters.set(key, (counters.get(key) ?? 0) + sample.value);
  }
  return counters;
}

export class DeliveryRates {
  private readonly series = new RateSeries(60000);
  private gauges = new Map<string, { lagEvents?: number; outbox?: number }>();

  // Adds a reading of /metrics made at `timeMs` (readings in time order).
  add(samples: readonly Sample[], timeMs: number): void {
    this.series.add({ timeMs, counters: deliveryCounters(samples) });
    const gauges = new Map<string, { lagEvents?: number; outbox?: number }>();
    for (const sample of samples) {
      const destination = sample.labels.destination;
      if (destination === undefined) continue;
      if (sample.name === 'cdp_delivery_lag_events') {
        gauges.set(destination, { ...gauges.get(destination), lagEvents: sample.value });
      } else if (sample.name === 'cdp_delivery_outbox_messages') {
        gauges.set(destination, { ...gauges.get(destination), outbox: sample.value });
      }
    }
    this.gauges = gauges;
  }

  // What the last readings say about `destination`.
  now(destination: string): DeliveryNow {
    const gauges = this.gauges.get(destination);
    let rates: Record<DeliveryOutcome, number> | null = null;
    // No rate before two readings gave one, nor for a destination without counters (files
    // destinations have none).
    const last = this.series.lastRates();
    const key = (outcome: DeliveryOutcome) => `${destination}${SEPARATOR}${outcome}`;
    if (last && DELIVERY_OUTCOMES.some((outcome) => last.has(key(outcome)))) {
      rates = { delivered: 0, retried: 0, dead: 0 };
      for (const outcome of DELIVERY_OUTCOMES) rates[outcome] = last.get(key(outcome)) ?? 0;
    }
    return { rates, lagEvents: gauges?.lagEvents ?? null, outbox: gauges?.outbox ?? null };
  }
}
