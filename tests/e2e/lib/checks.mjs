// Helpers shared by the end-to-end tests: reading metrics and checking stored events.
import assert from 'node:assert/strict';

// The value of a Prometheus sample, e.g. metricValue(text, 'cdp_events_accepted_total{source="web"}');
// 0 when the sample is absent (labelled counters appear on first use).
export function metricValue(metricsText, sample) {
  for (const line of metricsText.split('\n')) {
    if (line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    if (space > 0 && line.slice(0, space) === sample) return Number(line.slice(space + 1));
  }
  return 0;
}

// The raw log records whose event.messageId starts with `prefix`, checked to hold each messageId once.
export async function storedOnce(server, prefix) {
  const records = (await server.events()).filter((record) => String(record.event.messageId).startsWith(prefix));
  const counts = new Map();
  for (const record of records) counts.set(record.event.messageId, (counts.get(record.event.messageId) ?? 0) + 1);
  for (const [messageId, count] of counts) assert.equal(count, 1, `messageId ${messageId} stored ${count} times`);
  return new Map(records.map((record) => [record.event.messageId, record]));
}

const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

// Checks the server-set times of a stored record: receivedAt within [startedMs, now], the same on
// the record and its event, and timestamp within `toleranceMs` of the client's own time.
export function assertServerTimes(record, startedMs, clientTime, toleranceMs = 2000) {
  const { event } = record;
  assert.match(record.receivedAt, ISO_MS);
  assert.equal(event.receivedAt, record.receivedAt, 'event.receivedAt is the record receivedAt');
  const received = Date.parse(record.receivedAt);
  assert.ok(received >= startedMs - 1 && received <= Date.now() + 1, `receivedAt ${record.receivedAt} is now`);
  assert.match(event.timestamp, ISO_MS);
  const timestamp = Date.parse(event.timestamp);
  assert.ok(timestamp <= received, `timestamp ${event.timestamp} is not after receivedAt ${record.receivedAt}`);
  assert.ok(Math.abs(timestamp - Date.parse(clientTime)) <= toleranceMs,
    `timestamp ${event.timestamp} is near the client's time ${clientTime}`);
}
