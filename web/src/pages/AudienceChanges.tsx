// Who entered or left an audience lately, newest first, following new changes every 5 s.
//
// API: GET /admin/v1/changes?after=CURSOR&limit=N. The change log has no filter and is read oldest
// first, so this starts near its end: from 20,000 raw log entries before the newest
// (cdp_raw_log_last_seq on /metrics), then further back while fewer than KEEP changes of this
// audience turned up, reading at most MAX_PAGES pages each time. Then it polls with `next`.

import { useEffect, useState } from 'preact/hooks';
import { api, apiText, describeError, isAbort, query } from '../api.ts';
import { keepAudienceChanges, tailCursor, type ChangeRecord } from '../changes.ts';
import { ErrorMessage } from '../components/ErrorMessage.tsx';
import { formatTime } from '../format.ts';
import { parsePrometheus, scalar } from '../metrics.ts';
import { routeHref } from '../route.ts';
import type { ChangesPage } from '../types.ts';

const KEEP = 100;
const PAGE = 1000;
const MAX_PAGES = 20;
const WINDOWS = [20000, 1000000, Infinity];
const POLL_MS = 5000;

export function AudienceChanges({ audience }: { audience: string }) {
  const [changes, setChanges] = useState<ChangeRecord[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);

  useEffect(() => {
    const controller = new AbortController();
    const { signal } = controller;
    let timer: ReturnType<typeof setTimeout> | undefined;

    // Reads pages from `after` until the log ends or MAX_PAGES; answers the kept changes and the cursor.
    const readFrom = async (after: string | null, kept: ChangeRecord[], maxPages: number) => {
      let cursor = after;
      for (let page = 0; page < maxPages; page++) {
        const { data } = await api<ChangesPage>(`/admin/v1/changes${query({ after: cursor, limit: PAGE })}`, { signal });
        kept = keepAudienceChanges(kept, data.changes, audience, KEEP);
        cursor = data.next ?? cursor;
        if (data.changes.length < PAGE) break;
      }
      return { kept, cursor };
    };

    const start = async () => {
      try {
        const lastSeq = scalar(parsePrometheus(await apiText('/metrics', { signal })), 'cdp_raw_log_last_seq') ?? 0;
        let result = { kept: [] as ChangeRecord[], cursor: null as string | null };
        for (const window of WINDOWS) {
          const from = Number.isFinite(window) ? tailCursor(lastSeq, window) : null;
          result = await readFrom(from, [], MAX_PAGES);
          if (result.kept.length >= KEEP || from === null) break;
        }
        setChanges(result.kept);
        setLoading(false);
        let { kept, cursor } = result;
        const poll = async () => {
          try {
            ({ kept, cursor } = await readFrom(cursor, kept, MAX_PAGES));
            setChanges(kept);
            setError(null);
          } catch (caught) {
            if (isAbort(caught)) return;
            setError(describeError(caught));
          }
          if (!signal.aborted) timer = setTimeout(poll, POLL_MS);
        };
        timer = setTimeout(poll, POLL_MS);
      } catch (caught) {
        if (isAbort(caught)) return;
        setError(describeError(caught));
        setLoading(false);
      }
    };
    void start();
    return () => {
      controller.abort();
      clearTimeout(timer);
    };
  }, [audience]);

  return (
    <section class="card" aria-labelledby="changes-heading" data-testid="audience-changes">
      <h2 id="changes-heading">Entered and exited, newest first</h2>
      <ErrorMessage error={error} />
      {loading ? <p class="note">Reading the change log…</p> : null}
      {!loading && changes.length === 0 ? <p class="note">No entries or exits recorded lately.</p> : null}
      {changes.length > 0 ? (
        <div class="table-scroll">
          <table>
            <thead>
              <tr><th scope="col">Change</th><th scope="col">Profile</th><th scope="col">user_id</th><th scope="col">Time</th><th scope="col">Cause</th></tr>
            </thead>
            <tbody>
              {changes.map((change) => (
                <tr key={change.cursor} data-testid="audience-change">
                  <td>
                    <span class={change.type === 'audience_entered' ? 'badge badge--good' : 'badge badge--muted'}>
                      {change.type === 'audience_entered' ? 'entered' : 'exited'}
                    </span>
                  </td>
                  <th scope="row"><a href={routeHref({ page: 'profile', id: change.profile })}>{change.profile}</a></th>
                  <td>{change.user_id ?? '—'}</td>
                  <td>{formatTime(change.time)}</td>
                  <td>{change.cause}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  );
}
