// One row of the live debugger: a button that shows what arrived and opens its JSON.
//
// The JSON is rendered only while the row is open: the list holds up to 500 rows. A refused item
// of a batch comes without its JSON (the server names it by messageId and index), so its row has
// nothing to open and is not a button.

import { useState } from 'preact/hooks';
import { formatClock, formatNumber } from '../format.ts';
import { prettyItem, type LiveRow } from '../live_rows.ts';
import { JsonView } from './JsonView.tsx';

export function LiveRowView({ row }: { row: LiveRow }) {
  const [open, setOpen] = useState(false);
  const detailsId = `live-${row.key}`;

  switch (row.kind) {
    case 'dropped':
      return (
        <li class="live-row live-row--notice" data-testid="live-row" data-kind="dropped">
          <span class="time">{formatClock(row.at)}</span>
          <span>
            The server skipped {formatNumber(row.count)} events for this page (more than it sends per second). Narrow the
            filters to see them all.
          </span>
        </li>
      );
    case 'stream_error':
      return (
        <li class="live-row live-row--notice live-row--bad" data-testid="live-row" data-kind="stream_error">
          <span class="time">{formatClock(row.at)}</span>
          <span role="alert">The server could not start the stream: {row.message}. The page reconnects by itself.</span>
        </li>
      );
    case 'unreadable':
      return (
        <li class="live-row live-row--notice" data-testid="live-row" data-kind="unreadable">
          <span>An unreadable “{row.frameEvent}” frame: <code>{row.data}</code></span>
        </li>
      );
    case 'rejected': {
      const summary = (
        <>
          <span class="time">{formatClock(row.receivedAt)}</span>
          <span class="source">{row.source}</span>
          <span class="badge badge--bad">rejected</span>
          <span class="what">
            <code>{row.code}</code> {row.reason}
            {row.index !== null ? <span class="muted"> · batch[{row.index}]</span> : null}
            {row.messageId ? <span class="muted"> · messageId <code>{row.messageId}</code></span> : null}
          </span>
        </>
      );
      if (!row.item) {
        return (
          <li class="live-row live-row--rejected" data-testid="live-row" data-kind="rejected">
            <div class="row-static">{summary}</div>
          </li>
        );
      }
      return (
        <li class="live-row live-row--rejected" data-testid="live-row" data-kind="rejected">
          <button type="button" class="row-toggle" aria-expanded={open} aria-controls={detailsId} onClick={() => setOpen(!open)}>
            {summary}
          </button>
          <div id={detailsId} hidden={!open}>
            {open ? (
              <pre class="json" tabIndex={0} aria-label="The refused request as sent (first 2 KB)">{prettyItem(row.item)}</pre>
            ) : null}
          </div>
        </li>
      );
    }
    case 'event':
      return (
        <li class="live-row" data-testid="live-row" data-kind="event">
          <button type="button" class="row-toggle" aria-expanded={open} aria-controls={detailsId} onClick={() => setOpen(!open)}>
            <span class="time">{formatClock(row.receivedAt)}</span>
            <span class="source">{row.source}</span>
            <span class="badge">{row.type || '?'}</span>
            <span class="what">
              {row.name ? <strong>{row.name}</strong> : null} {row.user ? <span class="muted">{row.user}</span> : null}
            </span>
          </button>
          <div id={detailsId} hidden={!open}>
            {open ? <JsonView value={row.event} label={`Event ${row.seq}`} /> : null}
          </div>
        </li>
      );
  }
}
