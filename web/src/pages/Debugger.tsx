// Live event debugger: events as the server stores them, and the items it refuses with the
// reason, filtered by source, type and name.
//
// API: GET /admin/v1/live/events?source=S&type=T&name=N&backlog=20, a text/event-stream read with
// fetch (see live_stream.ts). Changing a filter reconnects; leaving the page aborts the request.
// Frames are shown in batches every 200 ms so a busy stream does not re-render per event.

import { useEffect, useRef, useState } from 'preact/hooks';
import { query } from '../api.ts';
import { LiveRowView } from '../components/LiveRowView.tsx';
import { useDebounced, useTitle } from '../hooks.ts';
import { followStream, type StreamState } from '../live_stream.ts';
import { frameToRow, prependRows, ROW_CAP, SeenFrames, type LiveRow } from '../live_rows.ts';
import { formatNumber } from '../format.ts';

const EVENT_TYPES = ['track', 'identify', 'page', 'screen', 'group', 'alias'];
const FLUSH_MS = 200;

interface Filters {
  source: string;
  type: string;
  name: string;
}

// The stream takes the read token too: watching events changes nothing.
export function Debugger() {
  useTitle('Live events');
  return <LiveEvents />;
}

function LiveEvents() {
  const [filters, setFilters] = useState<Filters>({ source: '', type: '', name: '' });
  // Typing in a text filter reconnects once the typing stops, not at every key.
  const applied = useDebounced(filters, 400);
  const [rows, setRows] = useState<LiveRow[]>([]);
  const [paused, setPaused] = useState(false);
  const [waiting, setWaiting] = useState(0);
  const [counts, setCounts] = useState({ events: 0, rejected: 0, dropped: 0 });
  const [stream, setStream] = useState<StreamState>({ state: 'connecting' });
  const [generation, setGeneration] = useState(0);
  const pending = useRef<LiveRow[]>([]);
  const pausedRef = useRef(paused);
  pausedRef.current = paused;

  useEffect(() => {
    const controller = new AbortController();
    const seen = new SeenFrames();
    pending.current = [];
    setRows([]);
    setWaiting(0);
    setCounts({ events: 0, rejected: 0, dropped: 0 });
    const flush = setInterval(() => {
      if (pausedRef.current || pending.current.length === 0) {
        setWaiting(pending.current.length);
        return;
      }
      const fresh = pending.current;
      pending.current = [];
      setWaiting(0);
      setRows((current) => prependRows(current, fresh));
    }, FLUSH_MS);
    const path = `/admin/v1/live/events${query({ source: applied.source.trim(), type: applied.type, name: applied.name.trim(), backlog: 20 })}`;
    void followStream({
      path,
      signal: controller.signal,
      onState: setStream,
      onFrame: (frame) => {
        const row = frameToRow(frame, seen, Date.now());
        if (!row) return;
        pending.current.push(row);
        // While paused, keep at most what the list can show.
        if (pending.current.length > ROW_CAP) pending.current.splice(0, pending.current.length - ROW_CAP);
        setCounts((current) => ({
          events: current.events + (row.kind === 'event' ? 1 : 0),
          rejected: current.rejected + (row.kind === 'rejected' ? 1 : 0),
          dropped: current.dropped + (row.kind === 'dropped' ? row.count : 0),
        }));
      },
    });
    return () => {
      controller.abort();
      clearInterval(flush);
    };
  }, [applied.source, applied.type, applied.name, generation]);

  const update = (key: keyof Filters) => (event: Event) =>
    setFilters({ ...filters, [key]: (event.currentTarget as HTMLInputElement | HTMLSelectElement).value });

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
          <button type="button" class="secondary" onClick={() => setRows([])} data-testid="live-clear">Clear</button>
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
