// One row of the live debugger: a button that shows what arrived and opens its JSON.
//
// The JSON is rendered only while the row is open: the list holds up to 500 rows.

import { useState } from 'preact/hooks';
import { formatClock, formatNumber } from '../format.ts';
import { prettyItem, type LiveRow } from '../live_rows.ts';
import { JsonView } from './JsonView.tsx';

export function LiveRowView({ row }: { row: LiveRow }) {
  const [open, setOpen] = useState(false);
  const detailsId = `live-${row.key}`;

  if (row.kind === 'dropped') {
    return (
      <li class="live-row live-row--notice" data-testid="live-row" data-kind="dropped">
        <span class="time">{formatClock(row.at)}</span>
        <span>
          The server skipped {formatNumber(row.count)} events for this page (more than it sends per second). Narrow the
          filters to see them all.
        </span>
      </li>
    );
  }
  if (row.kind === 'unreadable') {
    return (
      <li class="live-row live-row--notice" data-testid="live-row" data-kind="unreadable">
        <span>An unreadable “{row.frameEvent}” frame: <code>{row.data}</code></span>
      </li>
    );
  }

  const rejected = row.kind === 'rejected';
  return (
    <li class={rejected ? 'live-row live-row--rejected' : 'live-row'} data-testid="live-row" data-kind={row.kind}>
      <button
        type="button"
        class="row-toggle"
        aria-expanded={open}
        aria-controls={detailsId}
        onClick={() => setOpen(!open)}
      >
        <span class="time">{formatClock(row.receivedAt)}</span>
        <span class="source">{row.source}</span>
        {rejected ? (
          <>
            <span class="badge badge--bad">rejected</span>
            <span class="what">
              <code>{row.code}</code> {row.reason}
            </span>
          </>
        ) : (
          <>
            <span class="badge">{row.type || '?'}</span>
            <span class="what">
              {row.name ? <strong>{row.name}</strong> : null} {row.user ? <span class="muted">{row.user}</span> : null}
            </span>
          </>
        )}
      </button>
      <div id={detailsId} hidden={!open}>
        {open ? (
          rejected ? (
            <pre class="json" tabIndex={0} aria-label="The refused item as sent (first 2 KB)">{prettyItem(row.item)}</pre>
          ) : (
            <JsonView value={row.event} label={`Event ${row.seq}`} />
          )
        ) : null}
      </div>
    </li>
  );
}
