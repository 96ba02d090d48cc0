// The live debugger's rows, from the frames of GET /admin/v1/live/events.
//
//   event: event         {"seq","source","receivedAt","event":{...stored event...}}
//   event: rejected      {"source","receivedAt","code","reason","messageId"?,"index"?,"item"?}
//                        a request refused as a whole (item: the first 2 KB of its body), or one
//                        item of a batch (messageId and its index in the batch, no item)
//   event: dropped       {"count":N}   the server skipped N events for this client
//   event: stream_error  {"message"}   the server could not start the stream (it closes it)
//
// A reconnection sends the backlog of stored events again, so rows remember the seqs they hold
// and the same event is not shown twice. Refusals are never sent again (they are not stored),
// so every rejected frame is a row of its own: two items of one batch refused for the same
// reason are two rows. No DOM: unit-tested under plain node.

import type { SseFrame } from './sse.ts';

export type LiveRow =
  | { kind: 'event'; key: string; seq: number; source: string; receivedAt: string; type: string; name: string;
      user: string; event: Record<string, unknown> }
  | { kind: 'rejected'; key: string; source: string; receivedAt: string; code: string; reason: string;
      messageId: string; index: number | null; item: string }
  | { kind: 'dropped'; key: string; count: number; at: number }
  | { kind: 'stream_error'; key: string; message: string; at: number }
  | { kind: 'unreadable'; key: string; frameEvent: string; data: string };

export const ROW_CAP = 500;

let nextKey = 0;
function freshKey(prefix: string): string {
  nextKey += 1;
  return `${prefix}-${nextKey}`;
}

// One row per frame; null for a frame of a kind the console does not know (newer servers may
// add some) or an event already shown.
export function frameToRow(frame: SseFrame, seen: SeenFrames, nowMs: number): LiveRow | null {
  let data: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(frame.data);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
    data = parsed as Record<string, unknown>;
  } catch {
    return { kind: 'unreadable', key: freshKey('bad'), frameEvent: frame.event, data: frame.data.slice(0, 2048) };
  }
  switch (frame.event) {
    case 'event': {
      const seq = Number(data.seq);
      if (Number.isFinite(seq) && !seen.addSeq(seq)) return null;
      const event = (typeof data.event === 'object' && data.event !== null ? data.event : {}) as Record<string, unknown>;
      return {
        kind: 'event',
        key: Number.isFinite(seq) ? `seq-${seq}` : freshKey('event'),
        seq,
        source: text(data.source),
        receivedAt: text(data.receivedAt ?? event.receivedAt),
        type: text(event.type),
        name: text(event.event ?? event.name),
        user: text(event.userId ?? event.anonymousId),
        event,
      };
    }
    case 'rejected': {
      const index = typeof data.index === 'number' && Number.isInteger(data.index) && data.index >= 0 ? data.index : null;
      return {
        kind: 'rejected',
        key: freshKey('rejected'),
        source: text(data.source),
        receivedAt: text(data.receivedAt),
        code: text(data.code),
        reason: text(data.reason),
        messageId: text(data.messageId),
        index,
        item: text(data.item),
      };
    }
    case 'dropped':
      return { kind: 'dropped', key: freshKey('dropped'), count: Number(data.count) || 0, at: nowMs };
    case 'stream_error':
      return { kind: 'stream_error', key: freshKey('stream-error'), message: text(data.message) || 'no reason given', at: nowMs };
    default:
      return null;
  }
}

function text(value: unknown): string {
  if (value === undefined || value === null) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

// Newest first, at most `cap`: `fresh` holds rows oldest first, as they arrived.
export function prependRows(rows: readonly LiveRow[], fresh: readonly LiveRow[], cap: number = ROW_CAP): LiveRow[] {
  if (fresh.length === 0) return rows as LiveRow[];
  return [...[...fresh].reverse(), ...rows].slice(0, cap);
}

// What the counter above the list says: frames received since the stream (with these filters)
// started, whether shown, waiting while paused, or cleared.
export interface LiveCounts {
  events: number;
  rejected: number;
  dropped: number;
}

export const NO_COUNTS: LiveCounts = { events: 0, rejected: 0, dropped: 0 };

// `counts` with `row` added.
export function countRow(counts: LiveCounts, row: LiveRow): LiveCounts {
  switch (row.kind) {
    case 'event':
      return { ...counts, events: counts.events + 1 };
    case 'rejected':
      return { ...counts, rejected: counts.rejected + 1 };
    case 'dropped':
      return { ...counts, dropped: counts.dropped + row.count };
    default:
      return counts;
  }
}

// The events shown since the stream (with these filters) started, by seq. Bounded: it forgets
// the oldest, which a backlog of 20 cannot bring back anyway.
export class SeenFrames {
  private readonly seqs = new Set<number>();

  constructor(private readonly limit = 5000) {}

  addSeq(seq: number): boolean {
    if (this.seqs.has(seq)) return false;
    this.seqs.add(seq);
    if (this.seqs.size > this.limit) {
      const oldest = this.seqs.values().next();
      if (!oldest.done) this.seqs.delete(oldest.value);
    }
    return true;
  }
}

// The JSON text of a rejected item, pretty-printed when it parses (it is cut at 2 KB, so it may not).
export function prettyItem(item: string): string {
  try {
    return JSON.stringify(JSON.parse(item), null, 2);
  } catch {
    return item;
  }
}
