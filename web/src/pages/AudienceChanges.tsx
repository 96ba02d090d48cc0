// Who entered or left an audience, newest first: new changes turn up every 5 s, older ones
// come with "Load older". Shown to read sessions too.
//
// API: GET /v1/audiences/{name}/changes?limit=50[&before=CURSOR] (admin or read token), newest
// first, with `next` to pass as `before` for older ones. The first page is read again every
// POLL_MS and merged (changes.ts). Another audience, or leaving the page, aborts what is under way.

import { useEffect, useRef, useState } from 'preact/hooks';
import { api, describeError, isAbort, query } from '../api.ts';
import { addNewest, addOlder, changeKey, type AudienceChangesPage, type ChangeFeed } from '../changes.ts';
import { ErrorMessage } from '../components/ErrorMessage.tsx';
import { formatTime } from '../format.ts';
import { routeHref } from '../route.ts';

const PAGE = 50;
const POLL_MS = 5000;

export function AudienceChanges({ audience }: { audience: string }) {
  const [feed, setFeed] = useState<ChangeFeed | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loadingOlder, setLoadingOlder] = useState(false);
  const controller = useRef<AbortController | null>(null);
  const base = `/v1/audiences/${encodeURIComponent(audience)}/changes`;

  useEffect(() => {
    const current = new AbortController();
    controller.current = current;
    const { signal } = current;
    let timer: ReturnType<typeof setTimeout> | undefined;
    setFeed(null);
    setError(null);
    setLoadingOlder(false);
    const poll = async () => {
      try {
        const { data } = await api<AudienceChangesPage>(`${base}${query({ limit: PAGE })}`, { signal });
        if (signal.aborted) return;
        setFeed((existing) => addNewest(existing, data));
        setError(null);
      } catch (caught) {
        if (isAbort(caught) || signal.aborted) return;
        setError(describeError(caught));
      }
      if (!signal.aborted) timer = setTimeout(poll, POLL_MS);
    };
    void poll();
    return () => {
      current.abort();
      clearTimeout(timer);
    };
  }, [base]);

  const loadOlder = async () => {
    const signal = controller.current?.signal;
    const before = feed?.older;
    if (!signal || signal.aborted || !before) return;
    setLoadingOlder(true);
    try {
      const { data } = await api<AudienceChangesPage>(`${base}${query({ limit: PAGE, before })}`, { signal });
      if (signal.aborted) return;
      // A poll may have started the feed again meanwhile: then this page no longer follows it.
      setFeed((existing) => (existing && existing.older === before ? addOlder(existing, data) : existing));
      setError(null);
    } catch (caught) {
      if (isAbort(caught) || signal.aborted) return;
      setError(describeError(caught));
    } finally {
      if (!signal.aborted) setLoadingOlder(false);
    }
  };

  const changes = feed?.changes ?? [];
  return (
    <section class="card" aria-labelledby="changes-heading" data-testid="audience-changes">
      <h2 id="changes-heading">Entered and exited, newest first</h2>
      <ErrorMessage error={error} />
      {!feed && !error ? <p class="note">Loading…</p> : null}
      {feed && changes.length === 0 ? <p class="note">No profile has entered or left this audience yet.</p> : null}
      {changes.length > 0 ? (
        <div class="table-scroll">
          <table>
            <thead>
              <tr><th scope="col">Change</th><th scope="col">Profile</th><th scope="col">Time</th></tr>
            </thead>
            <tbody>
              {changes.map((change) => (
                <tr key={changeKey(change)} data-testid="audience-change">
                  <td>
                    <span class={change.type === 'entered' ? 'badge badge--good' : 'badge badge--muted'}>{change.type}</span>
                  </td>
                  <th scope="row"><a href={routeHref({ page: 'profile', id: change.profile })}>{change.profile}</a></th>
                  <td>{formatTime(change.time)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {feed?.older ? (
        <button type="button" class="secondary" disabled={loadingOlder} onClick={() => void loadOlder()} data-testid="audience-changes-older">
          {loadingOlder ? 'Loading…' : 'Load older'}
        </button>
      ) : null}
    </section>
  );
}
