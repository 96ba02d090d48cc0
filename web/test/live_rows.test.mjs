// The live debugger's rows from stream frames.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { frameToRow, prependRows, SeenFrames, prettyItem } from '../.test-build/live_rows.js';

const eventFrame = (seq, event) => ({ event: 'event', id: String(seq),
  data: JSON.stringify({ seq, source: 'web', receivedAt: '2026-01-01T00:00:00.000Z', event }) });

test('an event frame shows its type, name and user', () => {
  const row = frameToRow(eventFrame(3, { type: 'track', event: 'Order Completed', userId: 'u1', anonymousId: 'a1' }), new SeenFrames(), 0);
  assert.equal(row.kind, 'event');
  assert.deepEqual([row.seq, row.source, row.type, row.name, row.user], [3, 'web', 'track', 'Order Completed', 'u1']);
  const page = frameToRow(eventFrame(4, { type: 'page', name: 'Pricing', anonymousId: 'a1' }), new SeenFrames(), 0);
  assert.deepEqual([page.name, page.user], ['Pricing', 'a1']);
});

test('the same event or rejected item after a reconnection is not shown twice', () => {
  const seen = new SeenFrames();
  assert.ok(frameToRow(eventFrame(3, { type: 'track' }), seen, 0));
  assert.equal(frameToRow(eventFrame(3, { type: 'track' }), seen, 0), null);
  const rejected = { event: 'rejected', id: '', data: JSON.stringify({ source: 'web', receivedAt: 't', code: 'missing_user_id', reason: 'r', item: '{}' }) };
  const row = frameToRow(rejected, seen, 0);
  assert.deepEqual([row.kind, row.code, row.reason], ['rejected', 'missing_user_id', 'r']);
  assert.equal(frameToRow(rejected, seen, 0), null);
});

test('dropped notices, unknown frames and unreadable data', () => {
  const dropped = frameToRow({ event: 'dropped', id: '', data: '{"count":12}' }, new SeenFrames(), 99);
  assert.deepEqual([dropped.kind, dropped.count, dropped.at], ['dropped', 12, 99]);
  assert.equal(frameToRow({ event: 'hello', id: '', data: '{}' }, new SeenFrames(), 0), null);
  assert.equal(frameToRow({ event: 'event', id: '', data: 'not json' }, new SeenFrames(), 0).kind, 'unreadable');
});

test('rows are newest first and capped', () => {
  const rows = prependRows([{ key: 'a' }, { key: 'b' }], [{ key: 'c' }, { key: 'd' }], 3);
  assert.deepEqual(rows.map((row) => row.key), ['d', 'c', 'a']);
});

test('seen frames forget the oldest past their limit', () => {
  const seen = new SeenFrames(2);
  seen.addSeq(1); seen.addSeq(2); seen.addSeq(3);
  assert.equal(seen.addSeq(1), true, 'forgotten');
  assert.equal(seen.addSeq(3), false);
});

test('a rejected item is pretty-printed when it parses, shown as sent when cut', () => {
  assert.equal(prettyItem('{"a":1}'), '{\n  "a": 1\n}');
  assert.equal(prettyItem('{"a":'), '{"a":');
});
