// Destinations' delivery rates and backlog from /metrics readings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DeliveryRates, deliveryCounters } from '../.test-build/delivery_rates.js';
import { parsePrometheus } from '../.test-build/metrics.js';

const metrics = (hook, other = { delivered: 0, retried: 0, dead: 0 }) => parsePrometheus(`
# TYPE cdp_delivery_messages_total counter
cdp_delivery_messages_total{destination="hook",outcome="delivered"} ${hook.delivered}
cdp_delivery_messages_total{destination="hook",outcome="retried"} ${hook.retried}
cdp_delivery_messages_total{destination="hook",outcome="dead"} ${hook.dead}
cdp_delivery_messages_total{destination="warehouse",outcome="delivered"} ${other.delivered}
cdp_delivery_lag_events{destination="hook"} ${hook.lag ?? 0}
cdp_delivery_outbox_messages{destination="hook"} ${hook.outbox ?? 0}
cdp_events_accepted_total{source="web"} 99
`);

test('counters are keyed by destination and outcome, other metrics left out', () => {
  const counters = deliveryCounters(metrics({ delivered: 10, retried: 2, dead: 1 }, { delivered: 7 }));
  assert.equal(counters.size, 4);
  assert.equal(counters.get('hook\u0000delivered'), 10);
  assert.equal(counters.get('warehouse\u0000delivered'), 7);
});

test('rates per outcome come from two readings; gauges from the last one', () => {
  const rates = new DeliveryRates();
  rates.add(metrics({ delivered: 100, retried: 4, dead: 1, lag: 30, outbox: 2 }), 0);
  assert.deepEqual(rates.now('hook'), { rates: null, lagEvents: 30, outbox: 2 }, 'one reading: no rate yet');
  rates.add(metrics({ delivered: 150, retried: 14, dead: 1, lag: 5, outbox: 0 }, { delivered: 20 }), 5000);
  assert.deepEqual(rates.now('hook'), { rates: { delivered: 10, retried: 2, dead: 0 }, lagEvents: 5, outbox: 0 });
  assert.deepEqual(rates.now('warehouse'), { rates: { delivered: 4, retried: 0, dead: 0 }, lagEvents: null, outbox: null });
});

test('a destination the server has no counters for (a files destination) has no rates', () => {
  const rates = new DeliveryRates();
  rates.add(metrics({ delivered: 1, retried: 0, dead: 0 }), 0);
  rates.add(metrics({ delivered: 1, retried: 0, dead: 0 }), 5000);
  assert.deepEqual(rates.now('new-one'), { rates: null, lagEvents: null, outbox: null });
});

test('a reading no newer than the last gives no rate yet', () => {
  const rates = new DeliveryRates();
  rates.add(metrics({ delivered: 1, retried: 0, dead: 0 }), 5000);
  rates.add(metrics({ delivered: 9, retried: 0, dead: 0 }), 5000);
  assert.equal(rates.now('hook').rates, null);
});

test('a restarted server counts from zero again', () => {
  const rates = new DeliveryRates();
  rates.add(metrics({ delivered: 1000, retried: 0, dead: 0 }), 0);
  rates.add(metrics({ delivered: 10, retried: 0, dead: 0 }), 5000);
  assert.equal(rates.now('hook').rates.delivered, 2);
});
