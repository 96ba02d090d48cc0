// One audience: its definition and size, its members, its size over time, and who entered or
// left it lately.
//
// API: GET /admin/v1/audiences/{name} (admin; 202 while a definition is being applied),
// GET /v1/audiences/{name}/members?limit=50&after=p_N, GET /v1/audiences/{name}/sizes?from&to&step
// and GET /v1/audiences/{name}/changes (AudienceChanges.tsx), all three with the read token too.

import { useEffect, useRef, useState } from 'preact/hooks';
import { api, describeError, isAbort, query } from '../api.ts';
import { AdminOnlyNote } from '../components/AdminOnly.tsx';
import { ErrorMessage } from '../components/ErrorMessage.tsx';
import { TimeChart } from '../components/TimeChart.tsx';
import { formatNumber, formatTime } from '../format.ts';
import { useLoad, useTitle } from '../hooks.ts';
import { routeHref } from '../route.ts';
import type { Role } from '../session.ts';
import type { Audience, AudienceApplying, MembersPage, SizesAnswer } from '../types.ts';
import { AudienceChanges } from './AudienceChanges.tsx';

const MEMBERS_PAGE = 50;
const RANGES = [
  { key: '24h', label: 'Last 24 hours, hourly', spanMs: 24 * 3600e3, step: '1 hour' },
  { key: '7d', label: 'Last 7 days, every 6 hours', spanMs: 7 * 24 * 3600e3, step: '6 hours' },
  { key: '30d', label: 'Last 30 days, daily', spanMs: 30 * 24 * 3600e3, step: '1 day' },
];

export function AudiencePage({ name, role }: { name: string; role: Role }) {
  useTitle(`Audience ${name}`);
  const path = encodeURIComponent(name);
  const admin = role === 'admin';
  return (
    <section class="page">
      <h1 tabIndex={-1} data-testid="audience-heading">Audience {name}</h1>
      <p class="page-actions"><a href="#/audiences">All audiences</a></p>
      {admin ? <Definition path={path} /> : <AdminOnlyNote what="The audience's definition" />}
      <div class="grid grid--wide">
        <Members path={path} />
        <Sizes path={path} />
      </div>
      <AudienceChanges audience={name} />
    </section>
  );
}

function Definition({ path }: { path: string }) {
  const [polling, setPolling] = useState(false);
  const loaded = useLoad(async (signal) => {
    const answer = await api<Audience | AudienceApplying>(`/admin/v1/audiences/${path}`, { signal });
    return answer.data;
  }, [path], polling ? 2000 : 0);
  const applying = loaded.data && 'status' in loaded.data && loaded.data.status === 'applying' ? loaded.data : null;
  useEffect(() => setPolling(applying !== null), [applying !== null]);
  const audience = loaded.data && !applying ? (loaded.data as Audience) : null;
  return (
    <section class="card" aria-labelledby="definition-heading" data-testid="audience-definition">
      <h2 id="definition-heading">Definition</h2>
      <ErrorMessage error={loaded.error} />
      {applying ? (
        <p class="note" role="status">
          The processor is applying this definition: {formatNumber(applying.profiles_done)} of at most{' '}
          {formatNumber(applying.profiles_total)} profiles done.
        </p>
      ) : null}
      {audience ? (
        <>
          <p class="big-number" data-testid="audience-size">
            {formatNumber(audience.size)} <span class="unit">{audience.size === 1 ? 'member' : 'members'}</span>
          </p>
          <pre class="condition">{audience.condition}</pre>
          {audience.description ? <p>{audience.description}</p> : null}
        </>
      ) : null}
    </section>
  );
}

// The members, 50 at a time. Another audience (or leaving the page) aborts the pages under way,
// so a late answer for the previous audience is never shown under this one.
function Members({ path }: { path: string }) {
  const [members, setMembers] = useState<MembersPage['members']>([]);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const controller = useRef<AbortController | null>(null);

  const load = async (after: string | null, replace: boolean) => {
    const signal = controller.current?.signal;
    if (!signal || signal.aborted) return;
    setBusy(true);
    try {
      const { data } = await api<MembersPage>(`/v1/audiences/${path}/members${query({ limit: MEMBERS_PAGE, after })}`, { signal });
      if (signal.aborted) return;
      setMembers((existing) => (replace ? data.members : [...existing, ...data.members]));
      setNext(data.next ?? null);
      setError(null);
    } catch (caught) {
      if (isAbort(caught) || signal.aborted) return;
      setError(describeError(caught));
    } finally {
      if (!signal.aborted) setBusy(false);
    }
  };

  useEffect(() => {
    const current = new AbortController();
    controller.current = current;
    setMembers([]);
    setNext(null);
    setError(null);
    void load(null, true);
    return () => current.abort();
  }, [path]);

  return (
    <section class="card" aria-labelledby="members-heading" data-testid="audience-members">
      <h2 id="members-heading">Members</h2>
      <ErrorMessage error={error} />
      {members.length === 0 && !busy && !error ? <p class="note">No members now.</p> : null}
      {members.length > 0 ? (
        <div class="table-scroll">
          <table>
            <thead><tr><th scope="col">Profile</th><th scope="col">Entered</th></tr></thead>
            <tbody>
              {members.map((member) => (
                <tr key={member.profile}>
                  <th scope="row"><a href={routeHref({ page: 'profile', id: member.profile })}>{member.profile}</a></th>
                  <td>{formatTime(member.entered_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {next ? (
        <button type="button" class="secondary" disabled={busy} onClick={() => void load(next, false)}>
          {busy ? 'Loading…' : 'Load more members'}
        </button>
      ) : null}
    </section>
  );
}

function Sizes({ path }: { path: string }) {
  const [rangeKey, setRangeKey] = useState(RANGES[0].key);
  const range = RANGES.find((candidate) => candidate.key === rangeKey) ?? RANGES[0];
  const loaded = useLoad(async (signal) => {
    const to = new Date();
    const from = new Date(to.getTime() - range.spanMs);
    const target = `/v1/audiences/${path}/sizes${query({ from: from.toISOString(), to: to.toISOString(), step: range.step })}`;
    return (await api<SizesAnswer>(target, { signal })).data.points;
  }, [path, range.key], 60000);
  const points = loaded.data ?? [];
  return (
    <section class="card" aria-labelledby="sizes-heading" data-testid="audience-sizes">
      <h2 id="sizes-heading">Size over time</h2>
      <div class="field">
        <label for="sizes-range">Range</label>
        <select id="sizes-range" value={rangeKey} onChange={(event) => setRangeKey(event.currentTarget.value)}>
          {RANGES.map((candidate) => <option key={candidate.key} value={candidate.key}>{candidate.label}</option>)}
        </select>
      </div>
      <ErrorMessage error={loaded.error} />
      {points.length > 0 ? (
        <>
          <TimeChart
            times={points.map((point) => Date.parse(point.time) / 1000)}
            series={[{ label: 'members', values: points.map((point) => point.size) }]}
            stepped
            height={200}
            valueLabel="members"
            summary={`Members from ${formatTime(points[0].time)} (${points[0].size}) to ${formatTime(points[points.length - 1].time)} (${points[points.length - 1].size}).`}
          />
          <details>
            <summary>Show as a table</summary>
            <table class="compact">
              <thead><tr><th scope="col">Time</th><th scope="col" class="num">Members</th></tr></thead>
              <tbody>
                {points.map((point) => (
                  <tr key={point.time}><td>{formatTime(point.time)}</td><td class="num">{formatNumber(point.size)}</td></tr>
                ))}
              </tbody>
            </table>
          </details>
        </>
      ) : null}
    </section>
  );
}
