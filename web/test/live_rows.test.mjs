// The live debugger's rows from stream frames.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { countRow, frameToRow, NO_COUNTS, prependRows, SeenFrames, prettyItem } from '../.test-build/live_rows.js';

const eventFrame = (seq, event) => ({ event: 'event', id: String(seq),
  data: JSON.stringify({ seq, source: 'web', receivedAt: '2026-01-01T00:00:00.000Z', event }) });
const rejectedFrame = (data) => ({ event: 'rejected', id: '', data: JSON.stringify(data) });

test('an event frame shows its type, name and user', () => {
  const row = frameToRow(eventFrame(3, { type: 'track', event: 'Order Completed', userId: 'u1', anonymousId: 'a1' }), new SeenFrames(), 0);
  assert.equal(row.kind, 'event');
  assert.deepEqual([row.seq, row.source, row.type, row.name, row.user], [3, 'web', 'track', 'Order Completed', 'u1']);
  const page = frameToRow(eventFrame(4, { type: 'page', name: 'Pricing', anonymousId: 'a1' }), new SeenFrames(), 0);
  assert.deepEqual([page.name, page.user], ['Pricing', 'a1']);
});

test('the same event after a reconnection is not shown twice', () => {
  const seen = new SeenFrames();
  assert.ok(frameToRow(eventFrame(3, { type: 'track' }), seen, 0));
  assert.equal(frameToRow(eventFrame(3, { type: 'track' }), seen, 0), null);
  assert.ok(frameToRow(eventFrame(4, { type: 'track' }), seen, 0));
});

test('refused items of one batch are a row each, with their messageId and index and no item', () => {
  const seen = new SeenFrames();
  const refusal = (index, messageId) => rejectedFrame({ source: 'web', receivedAt: '2026-01-01T00:00:00.000Z',
    code: 'missing_user_id', reason: 'r', messageId, index });
  const first = frameToRow(refusal(1, 'm-2'), seen, 0);
  const second = frameToRow(refusal(4, 'm-5'), seen, 0);
  assert.deepEqual([first.kind, first.code, first.reason, first.messageId, first.index, first.item],
    ['rejected', 'missing_user_id', 'r', 'm-2', 1, '']);
  assert.deepEqual([second.messageId, second.index], ['m-5', 4]);
  assert.notEqual(first.key, second.key);
  // The server never sends a refusal twice: one that looks the same is another request.
  const again = frameToRow(refusal(1, 'm-2'), seen, 0);
  assert.ok(again, 'not dropped as a duplicate');
  assert.notEqual(again.key, first.key);
});

test('a request refused as a whole keeps its item and has no index', () => {
  const row = frameToRow(rejectedFrame({ source: 'web', receivedAt: 't', code: 'invalid_json', reason: 'r', item: '{"a":' }),
    new SeenFrames(), 0);
  assert.deepEqual([row.item, row.index, row.messageId], ['{"a":', null, '']);
  const zero = frameToRow(rejectedFrame({ source: 'web', code: 'c', reason: 'r', messageId: 'm-1', index: 0 }), new SeenFrames(), 0);
  assert.equal(zero.index, 0, 'index 0 is an index');
});

test('a stream_error frame becomes a notice with the server\'s message', () => {
  const row = frameToRow({ event: 'stream_error', id: '', data: '{"message":"16 live event streams are open already; close one"}' },
    new SeenFrames(), 42);
  assert.deepEqual([row.kind, row.message, row.at], ['stream_error', '16 live event streams are open already; close one', 42]);
  assert.equal(frameToRow({ event: 'stream_error', id: '', data: '{}' }, new SeenFrames(), 0).message, 'no reason given');
});

test('dropped notices, unknown frames and unreadable data', () => {
  const dropped = frameToRow({ event: 'dropped', id: '', data: '{"count":12}' }, new SeenFrames(), 99);
  assert.deepEqual([dropped.kind, dropped.count, dropped.at], ['dropped', 12, 99]);
  assert.equal(frameToRow({ event: 'hello', id: '', data: '{}' }, new SeenFrames(), 0), null);
  assert.equal(frameToRow({ event: 'error', id: '', data: '{"message":"x"}' }, new SeenFrames(), 0), null,
    'the old name of stream_error is not a frame the server sends any more');
  assert.equal(frameToRow({ event: 'event', id: '', data: 'not json' }, new SeenFrames(), 0).kind, 'unreadable');
});

test('counts add events, refusals and what the server skipped, and nothing for notices', () => {
  const seen = new SeenFrames();
  let counts = NO_COUNTS;
  for (const frame of [
    eventFrame(1, { type: 'track' }), eventFrame(2, { type: 'track' }),
    rejectedFrame({ code: 'c', reason: 'r', index: 0 }),
    { event: 'dropped', id: '', data: '{"count":7}' },
    { event: 'stream_error', id: '', data: '{"message":"m"}' },
  ]) counts = countRow(counts, frameToRow(frame, seen, 0));
  assert.deepEqual(counts, { events: 2, rejected: 1, dropped: 7 });
  assert.deepEqual(NO_COUNTS, { events: 0, rejected: 0, dropped: 0 }, 'not changed in place');
  const notice = frameToRow({ event: 'stream_error', id: '', data: '{"message":"m"}' }, seen, 0);
  assert.equal(countRow(counts, notice), counts, 'the same object, so the page does not render again');
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
