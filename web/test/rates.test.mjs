// Per-second rates from counter readings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RateSeries, counterRate } from '../.test-build/rates.js';

const reading = (timeMs, entries) => ({ timeMs, counters: new Map(entries) });

test('a counter rate is the increase per second; a reset counts from zero', () => {
  assert.equal(counterRate(10, 30, 2000), 10);
  assert.equal(counterRate(100, 4, 2000), 2, 'the server restarted: 4 since then');
  assert.equal(counterRate(1, 2, 0), null);
});

test('the first reading gives no rate; a key that appears later counted 0 before', () => {
  const series = new RateSeries(300000);
  series.add(reading(0, [['web', 100]]));
  assert.deepEqual(series.aligned(), { times: [], keys: ['web'], rates: [[]] });
  series.add(reading(2000, [['web', 110], ['ios', 4]]));
  series.add(reading(4000, [['web', 110], ['ios', 8]]));
  assert.deepEqual(series.aligned(), { times: [2, 4], keys: ['web', 'ios'], rates: [[5, 0], [2, 2]] });
  assert.deepEqual([...series.latest()], [['web', 0], ['ios', 2]]);
});

test('points older than the window are dropped, and readings out of order are ignored', () => {
  const series = new RateSeries(5000);
  for (let t = 0; t <= 10000; t += 1000) series.add(reading(t, [['web', t / 100]]));
  series.add(reading(9000, [['web', 0]]));
  const { times, rates } = series.aligned();
  assert.deepEqual(times, [5, 6, 7, 8, 9, 10]);
  assert.ok(rates[0].every((rate) => rate === 10));
});
