// The Prometheus text parser against what GET /metrics answers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePrometheus, parseSampleLine, byLabel, total, scalar } from '../.test-build/metrics.js';

const TEXT = `# HELP cdp_events_accepted_total Events stored
# TYPE cdp_events_accepted_total counter
cdp_events_accepted_total{source="backend"} 2
cdp_events_accepted_total{source="web"} 4
cdp_events_rejected_total{reason="invalid_event"} 1
cdp_processor_lag_seconds 0.25
cdp_http_requests_total{route="tracking",code="200"} 2
cdp_ingest_ack_latency_seconds_bucket{le="+Inf"} 2
cdp_odd{label="a \\"quoted\\" \\\\ value\\nnext"} 1e3 1700000000000

not a sample line
`;

test('samples with and without labels; comments and junk are skipped', () => {
  const samples = parsePrometheus(TEXT);
  assert.equal(samples.length, 7);
  assert.deepEqual(samples[0], { name: 'cdp_events_accepted_total', labels: { source: 'backend' }, value: 2 });
  assert.deepEqual(samples[4], { name: 'cdp_http_requests_total', labels: { route: 'tracking', code: '200' }, value: 2 });
});

test('label values are unescaped and a trailing timestamp is ignored', () => {
  const sample = parsePrometheus(TEXT).find((s) => s.name === 'cdp_odd');
  assert.deepEqual(sample, { name: 'cdp_odd', labels: { label: 'a "quoted" \\ value\nnext' }, value: 1000 });
});

test('special values', () => {
  assert.equal(parseSampleLine('x +Inf').value, Infinity);
  assert.equal(parseSampleLine('x -Inf').value, -Infinity);
  assert.ok(Number.isNaN(parseSampleLine('x NaN').value));
  assert.equal(parseSampleLine('x{a="1"}'), null);
  assert.equal(parseSampleLine('x{a="1" 3'), null);
});

test('sums by label, totals and scalars', () => {
  const samples = parsePrometheus(TEXT);
  assert.deepEqual([...byLabel(samples, 'cdp_events_accepted_total', 'source')], [['backend', 2], ['web', 4]]);
  assert.equal(total(samples, 'cdp_events_accepted_total'), 6);
  assert.equal(total(samples, 'cdp_missing_total'), 0);
  assert.equal(scalar(samples, 'cdp_processor_lag_seconds'), 0.25);
  assert.equal(scalar(samples, 'cdp_events_accepted_total'), null, 'a labelled metric has no scalar');
});
