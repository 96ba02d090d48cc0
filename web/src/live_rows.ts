// The live debugger's rows, from the frames of GET /admin/v1/live/events.
//
//   event: event     {"seq","source","receivedAt","event":{...stored event...}}
//   event: rejected  {"source","receivedAt","code","reason","item":"first 2 KB of the item's JSON"}
//   event: dropped   {"count":N}   the server skipped N events for this client
//
// A reconnection sends the backlog again, so rows remember what they hold (seqs, rejected items)
// and the same frame is not shown twice. No DOM: unit-tested under plain node.

import type { SseFrame } from './sse.ts';

export type LiveRow =
  | { kind: 'event'; key: string; seq: number; source: string; receivedAt: string; type: string; name: string;
      user: string; event: Record<string, unknown> }
  | { kind: 'rejected'; key: string; source: string; receivedAt: string; code: string; reason: string; item: string }
  | { kind: 'dropped'; key: string; count: number; at: number }
  | { kind: 'unreadable'; key: string; frameEvent: string; data: string };

export const ROW_CAP = 500;

let nextKey = 0;
function freshKey(prefix: string): string {
  nextKey += 1;
  return `${prefix}-${nextKey}`;
}

// One row per frame; null for a frame of a kind the console does not know (newer servers may
// add some) or one already shown.
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
      const row = {
        kind: 'rejected' as const,
        key: '',
        source: text(data.source),
        receivedAt: text(data.receivedAt),
        code: text(data.code),
        reason: text(data.reason),
        item: text(data.item),
      };
      const identity = `${row.receivedAt}\u0000${row.source}\u0000${row.code}\u0000${row.item}`;
      if (!seen.addRejected(identity)) return null;
      return { ...row, key: freshKey('rejected') };
    }
    case 'dropped':
      return { kind: 'dropped', key: freshKey('dropped'), count: Number(data.count) || 0, at: nowMs };
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

// What has been shown since the stream (with these filters) started. Bounded: it forgets the
// oldest entries, which a backlog of 20 cannot bring back anyway.
export class SeenFrames {
  private readonly seqs = new Set<number>();
  private readonly rejected = new Set<string>();

  constructor(private readonly limit = 5000) {}

  addSeq(seq: number): boolean {
    if (this.seqs.has(seq)) return false;
    remember(this.seqs, seq, this.limit);
    return true;
  }

  addRejected(identity: string): boolean {
    if (this.rejected.has(identity)) return false;
    remember(this.rejected, identity, this.limit);
    return true;
  }
}

function remember<T>(set: Set<T>, value: T, limit: number): void {
  set.add(value);
  if (set.size > limit) {
    const oldest = set.values().next();
    if (!oldest.done) set.delete(oldest.value);
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
