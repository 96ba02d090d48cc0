// Live event debugger: events as the server stores them, and the items it refuses with the
// reason, filtered by source, type and name. Admin token only (raw events of every source and
// refused bodies are what the admin API shows); a read session sees a note instead.
//
// API: GET /admin/v1/live/events?source=S&type=T&name=N&backlog=20, a text/event-stream read with
// fetch (see live_stream.ts). Changing a filter reconnects; leaving the page aborts the request.
// Frames are collected in a ref and shown, with the counts, every 200 ms (FLUSH_MS), so a busy
// stream re-renders the page (and updates the live region) at most five times a second.

import { useEffect, useRef, useState } from 'preact/hooks';
import { query } from '../api.ts';
import { AdminOnlyNote } from '../components/AdminOnly.tsx';
import { LiveRowView } from '../components/LiveRowView.tsx';
import { useDebounced, useTitle } from '../hooks.ts';
import { followStream, type StreamState } from '../live_stream.ts';
import { countRow, frameToRow, NO_COUNTS, prependRows, ROW_CAP, SeenFrames, type LiveCounts, type LiveRow } from '../live_rows.ts';
import { formatNumber } from '../format.ts';
import type { Role } from '../session.ts';

const EVENT_TYPES = ['track', 'identify', 'page', 'screen', 'group', 'alias'];
const FLUSH_MS = 200;

interface Filters {
  source: string;
  type: string;
  name: string;
}

export function Debugger({ role }: { role: Role }) {
  useTitle('Live events');
  if (role !== 'admin') {
    return (
      <section class="page">
        <h1 tabIndex={-1}>Live events</h1>
        <AdminOnlyNote what="The live event stream" />
      </section>
    );
  }
  return <LiveEvents />;
}

function LiveEvents() {
  const [filters, setFilters] = useState<Filters>({ source: '', type: '', name: '' });
  // Typing in a text filter reconnects once the typing stops, not at every key.
  const applied = useDebounced(filters, 400);
  const [rows, setRows] = useState<LiveRow[]>([]);
  const [paused, setPaused] = useState(false);
  const [waiting, setWaiting] = useState(0);
  const [counts, setCounts] = useState<LiveCounts>(NO_COUNTS);
  const [stream, setStream] = useState<StreamState>({ state: 'connecting' });
  const [generation, setGeneration] = useState(0);
  // Rows that arrived since the last flush (or while paused), oldest first.
  const pending = useRef<LiveRow[]>([]);
  // Counted per frame here, shown at the next flush.
  const countsRef = useRef<LiveCounts>(NO_COUNTS);
  const pausedRef = useRef(paused);
  pausedRef.current = paused;

  useEffect(() => {
    const controller = new AbortController();
    const seen = new SeenFrames();
    pending.current = [];
    countsRef.current = NO_COUNTS;
    setRows([]);
    setWaiting(0);
    setCounts(NO_COUNTS);
    const flush = setInterval(() => {
      // Same values bail out of rendering, so a quiet stream costs nothing here.
      setCounts(countsRef.current);
      if (pausedRef.current || pending.current.length === 0) {
        setWaiting(pending.current.length);
        return;
      }
      const fresh = pending.current;
      pending.current = [];
      setWaiting(0);
      setRows((current) => prependRows(current, fresh));
    }, FLUSH_MS);
    // The reason the server gave in a stream_error frame, shown while reconnecting.
    let streamError: string | null = null;
    const path = `/admin/v1/live/events${query({ source: applied.source.trim(), type: applied.type, name: applied.name.trim(), backlog: 20 })}`;
    void followStream({
      path,
      signal: controller.signal,
      onState: (state) => {
        if (state.state === 'open') streamError = null;
        setStream(state.state === 'waiting' && streamError ? { ...state, reason: streamError } : state);
      },
      onFrame: (frame) => {
        const row = frameToRow(frame, seen, Date.now());
        if (!row) return;
        if (row.kind === 'stream_error') streamError = row.message;
        pending.current.push(row);
        // While paused, keep at most what the list can show.
        if (pending.current.length > ROW_CAP) pending.current.splice(0, pending.current.length - ROW_CAP);
        countsRef.current = countRow(countsRef.current, row);
      },
    });
    return () => {
      controller.abort();
      clearInterval(flush);
    };
  }, [applied.source, applied.type, applied.name, generation]);

  const update = (key: keyof Filters) => (event: Event) =>
    setFilters({ ...filters, [key]: (event.currentTarget as HTMLInputElement | HTMLSelectElement).value });

  const clear = () => {
    pending.current = [];
    setWaiting(0);
    setRows([]);
  };

  return (
    <section class="page">
      <h1 tabIndex={-1}>Live events</h1>
      <form class="toolbar" onSubmit={(event) => event.preventDefault()} aria-label="Filters">
        <div class="field">
          <label for="live-source">Source</label>
          <input id="live-source" value={filters.source} onInput={update('source')} placeholder="any" data-testid="live-filter-source" />
        </div>
        <div class="field">
          <label for="live-type">Type</label>
          <select id="live-type" value={filters.type} onChange={update('type')} data-testid="live-filter-type">
            <option value="">any</option>
            {EVENT_TYPES.map((type) => <option key={type} value={type}>{type}</option>)}
          </select>
        </div>
        <div class="field">
          <label for="live-name">Event or page name</label>
          <input id="live-name" value={filters.name} onInput={update('name')} placeholder="any" data-testid="live-filter-name" />
        </div>
        <div class="actions">
          <button type="button" aria-pressed={paused} onClick={() => setPaused(!paused)} data-testid="live-pause">
            {paused ? 'Resume' : 'Pause'}
          </button>
          <button type="button" class="secondary" onClick={clear} data-testid="live-clear">Clear</button>
        </div>
      </form>
      <StreamStatus stream={stream} onRetry={() => setGeneration(generation + 1)} />
      <p class="counts" role="status" aria-live="polite" aria-atomic="true" data-testid="live-count">
        {formatNumber(counts.events)} events, {formatNumber(counts.rejected)} rejected
        {counts.dropped > 0 ? `, ${formatNumber(counts.dropped)} skipped by the server` : ''}
        {paused ? ` · paused, ${formatNumber(waiting)} waiting` : ''} · showing the latest {formatNumber(rows.length)} (at most {ROW_CAP})
      </p>
      {rows.length === 0 ? (
        <p class="note" data-testid="live-empty">
          Nothing yet. Events appear here as sources send them; refused items appear too, with the reason.
        </p>
      ) : (
        <ol class="live-list" aria-label="Events, newest first" data-testid="live-list">
          {rows.map((row) => <LiveRowView key={row.key} row={row} />)}
        </ol>
      )}
    </section>
  );
}

function StreamStatus({ stream, onRetry }: { stream: StreamState; onRetry: () => void }) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (stream.state !== 'waiting') return;
    const timer = setInterval(() => setNow(Date.now()), 500);
    return () => clearInterval(timer);
  }, [stream]);
  let text: string;
  let tone = 'muted';
  switch (stream.state) {
    case 'connecting':
      text = 'Connecting…';
      break;
    case 'open':
      text = 'Connected: following new events.';
      tone = 'good';
      break;
    case 'waiting':
      text = `Disconnected (${stream.reason}). Reconnecting in ${Math.max(0, Math.ceil((stream.retryAtMs - now) / 1000))} s…`;
      tone = 'bad';
      break;
    case 'failed':
      text = `The server refused the stream: ${stream.reason}`;
      tone = 'bad';
      break;
  }
  return (
    <p class={`stream-status stream-status--${tone}`} data-testid="live-status" data-state={stream.state}>
      {text}
      {stream.state === 'failed' ? (
        <button type="button" class="secondary inline" onClick={onRetry} data-testid="live-retry">Try again</button>
      ) : null}
    </p>
  );
}
