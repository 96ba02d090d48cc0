// The SSE frame parser against the wire format's corner cases.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SseParser } from '../.test-build/sse.js';

test('a frame ends at a blank line and carries its event name, data and id', () => {
  const parser = new SseParser();
  const frames = parser.push('event: event\nid: 7\ndata: {"seq":7}\n\n');
  assert.deepEqual(frames, [{ event: 'event', data: '{"seq":7}', id: '7' }]);
});

test('a frame without an event line is a "message"', () => {
  assert.deepEqual(new SseParser().push('data: x\n\n'), [{ event: 'message', data: 'x', id: '' }]);
});

test('chunks may split lines, fields and the blank line anywhere', () => {
  const text = 'event: rejected\ndata: {"code":"invalid_event",\ndata: "reason":"r"}\n\nevent: dropped\ndata: {"count":3}\n\n';
  for (let size = 1; size <= text.length; size++) {
    const parser = new SseParser();
    const frames = [];
    for (let i = 0; i < text.length; i += size) frames.push(...parser.push(text.slice(i, i + size)));
    assert.deepEqual(frames, [
      { event: 'rejected', data: '{"code":"invalid_event",\n"reason":"r"}', id: '' },
      { event: 'dropped', data: '{"count":3}', id: '' },
    ], `chunks of ${size}`);
  }
});

test('CR LF and lone CR end lines too, also when a CR LF pair is split between chunks', () => {
  const parser = new SseParser();
  const frames = [...parser.push('data: a\r'), ...parser.push('\n\r'), ...parser.push('\ndata: b\r\r')];
  assert.deepEqual(frames.map((frame) => frame.data), ['a', 'b']);
});

test('comments (keep-alives) and frames without data produce nothing', () => {
  const parser = new SseParser();
  assert.deepEqual(parser.push(': keep-alive\n\n:\n\nevent: event\n\n'), []);
  // The event name of a frame without data does not leak into the next frame.
  assert.deepEqual(parser.push('data: y\n\n'), [{ event: 'message', data: 'y', id: '' }]);
});

test('only one space after the colon is removed; a field without colon has an empty value', () => {
  const parser = new SseParser();
  assert.deepEqual(parser.push('data:  two spaces\ndata\ndata:none\n\n'),
    [{ event: 'message', data: ' two spaces\n\nnone', id: '' }]);
});

test('ids carry over to later frames; retry is read; a leading BOM is ignored', () => {
  const parser = new SseParser();
  const frames = parser.push('\uFEFFid: 41\nretry: 2500\ndata: a\n\ndata: b\n\n');
  assert.deepEqual(frames.map((frame) => frame.id), ['41', '41']);
  assert.equal(parser.retry, 2500);
  assert.equal(parser.lastEventId, '41');
});

test('an unfinished frame waits for more input', () => {
  const parser = new SseParser();
  assert.deepEqual(parser.push('event: event\ndata: {"seq":1}\n'), []);
  assert.equal(parser.push('\n').length, 1);
});
