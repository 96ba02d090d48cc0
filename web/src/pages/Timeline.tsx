// A profile's events, newest first, 50 at a time: the next page loads when the end of the list
// scrolls into view (IntersectionObserver) or when "Load older events" is pressed.
//
// API: GET /v1/profiles/{id}/events?limit=50[&cursor=<next_cursor>]. A full page always has a
// next_cursor; the page after the last one is empty with next_cursor null. Moving to another
// profile, or leaving the page, aborts the request under way.

import { useEffect, useRef, useState } from 'preact/hooks';
import { api, describeError, isAbort } from '../api.ts';
import { ErrorMessage } from '../components/ErrorMessage.tsx';
import { JsonView } from '../components/JsonView.tsx';
import { formatTime } from '../format.ts';
import { profilePath } from '../search.ts';
import type { TimelineEvent, TimelinePage } from '../types.ts';

const PAGE = 50;

export function Timeline({ profileId }: { profileId: string }) {
  const [events, setEvents] = useState<TimelineEvent[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [done, setDone] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const sentinel = useRef<HTMLDivElement>(null);
  // What the loads of the current profile share; replaced (and its requests aborted) when the
  // profile changes or the timeline goes away.
  const state = useRef({ busy: false, done: false, cursor: null as string | null, profileId, controller: new AbortController() });

  const loadMore = async () => {
    const current = state.current;
    if (current.busy || current.done || current.controller.signal.aborted) return;
    const { signal } = current.controller;
    current.busy = true;
    setBusy(true);
    try {
      const cursorPart = current.cursor ? `&cursor=${encodeURIComponent(current.cursor)}` : '';
      const { data } = await api<TimelinePage>(`${profilePath(current.profileId)}/events?limit=${PAGE}${cursorPart}`, { signal });
      if (signal.aborted) return;
      setEvents((existing) => [...existing, ...data.events]);
      current.cursor = data.next_cursor;
      current.done = !data.next_cursor || data.events.length === 0;
      setCursor(current.cursor);
      setDone(current.done);
      setError(null);
    } catch (caught) {
      if (isAbort(caught) || signal.aborted) return;
      setError(describeError(caught));
    } finally {
      current.busy = false;
      if (!signal.aborted) setBusy(false);
    }
  };

  useEffect(() => {
    const current = { busy: false, done: false, cursor: null, profileId, controller: new AbortController() };
    state.current = current;
    setEvents([]);
    setCursor(null);
    setDone(false);
    setBusy(false);
    setError(null);
    void loadMore();
    return () => current.controller.abort();
  }, [profileId]);

  useEffect(() => {
    const element = sentinel.current;
    if (!element || done) return;
    const observer = new IntersectionObserver((entries) => {
      if (entries.some((entry) => entry.isIntersecting) && !error) void loadMore();
    }, { rootMargin: '200px' });
    observer.observe(element);
    return () => observer.disconnect();
  }, [done, cursor, error]);

  return (
    <section class="card" aria-labelledby="timeline-heading" data-testid="profile-timeline">
      <h2 id="timeline-heading">Timeline</h2>
      {events.length === 0 && done ? <p class="note">No events.</p> : null}
      <ol class="timeline" aria-busy={busy}>
        {events.map((event) => <TimelineItem key={`${event.seq}`} event={event} />)}
      </ol>
      <ErrorMessage error={error} />
      <div ref={sentinel} class="sentinel" />
      {done ? (
        events.length > 0 ? <p class="note">The first event of this profile is the last one above.</p> : null
      ) : (
        <button type="button" class="secondary" onClick={() => void loadMore()} disabled={busy} data-testid="timeline-more">
          {busy ? 'Loading…' : 'Load older events'}
        </button>
      )}
    </section>
  );
}

function TimelineItem({ event }: { event: TimelineEvent }) {
  const [open, setOpen] = useState(false);
  const data = event.data ?? {};
  const name = event.event ?? (typeof data.name === 'string' ? data.name : '');
  const user = data.userId ?? data.anonymousId;
  const detailsId = `timeline-${event.seq}`;
  return (
    <li class="timeline-item" data-testid="timeline-event">
      <button type="button" class="row-toggle" aria-expanded={open} aria-controls={detailsId} onClick={() => setOpen(!open)}>
        <span class="time">{formatTime(event.timestamp)}</span>
        <span class="badge">{event.type}</span>
        <span class="what">
          {name ? <strong>{name}</strong> : null} {user !== undefined ? <span class="muted">{String(user)}</span> : null}
        </span>
        <span class="source muted">{event.source}</span>
      </button>
      <div id={detailsId} hidden={!open}>
        {open ? <JsonView value={data} label={`Event ${event.seq}`} /> : null}
      </div>
    </li>
  );
}
