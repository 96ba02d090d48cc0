// Identity graph: why these identifiers are one profile, and undoing a wrong merge.
//
// API: GET /v1/profiles/{id} and /v1/profiles/{id}/merges (every identity edge of the profile
// and of the profiles merged into it); with the admin token, POST /v1/profiles/{id}/unmerge with
// {"identifier": "type:value"} or {"merged": "p_N"} after a confirmation (unmerge.ts). Leaving
// the page, or moving to another profile's graph, stops waiting for an unmerge under way.

import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api, describeError, isAbort } from '../api.ts';
import { Dialog } from '../components/Dialog.tsx';
import { ErrorMessage } from '../components/ErrorMessage.tsx';
import { IdentityGraphView } from '../components/IdentityGraphView.tsx';
import { formatTime } from '../format.ts';
import { useLoad, useTitle } from '../hooks.ts';
import { buildIdentityGraph, nodeId } from '../identity_graph.ts';
import { routeHref } from '../route.ts';
import { profilePath } from '../search.ts';
import type { Role } from '../session.ts';
import type { Profile, ProfileMerges } from '../types.ts';
import { unmerge, type UnmergeTarget } from '../unmerge.ts';

export function IdentityGraphPage({ id, role }: { id: string; role: Role }) {
  useTitle(`Identity graph of ${id}`);
  const loaded = useLoad(async (signal) => {
    const [profile, merges] = await Promise.all([
      api<Profile>(profilePath(id), { signal }),
      api<ProfileMerges>(`${profilePath(id)}/merges`, { signal }),
    ]);
    if (profile.data.id !== id && !signal.aborted) location.replace(routeHref({ page: 'graph', id: profile.data.id }));
    return { profile: profile.data, merges: merges.data };
  }, [id]);
  const [selected, setSelected] = useState<string | null>(null);
  const [confirming, setConfirming] = useState<UnmergeTarget | null>(null);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const running = useRef<AbortController | null>(null);
  useEffect(() => {
    setResult(null);
    setError(null);
    setBusy(false);
    setSelected(null);
    return () => {
      running.current?.abort();
      running.current = null;
    };
  }, [id]);

  const profile = loaded.data?.profile.id === id ? loaded.data.profile : null;
  const edges = loaded.data?.merges.edges ?? [];
  const held = useMemo(() => profile?.identifiers.map((identifier) => `${identifier.type}:${identifier.value}`) ?? [], [profile]);
  const graph = useMemo(() => buildIdentityGraph(id, held, edges, formatTime), [id, held, edges]);

  const run = async (target: UnmergeTarget) => {
    setConfirming(null);
    setBusy(true);
    setError(null);
    setResult('Unmerging… the processor applies it in log order.');
    running.current?.abort();
    const controller = new AbortController();
    running.current = controller;
    try {
      const outcome = await unmerge(id, target, controller.signal);
      if (controller.signal.aborted) return;
      setResult(outcome.summary);
      setSelected(null);
      loaded.reload();
    } catch (caught) {
      if (isAbort(caught) || controller.signal.aborted) return;
      setResult(null);
      setError(describeError(caught));
    } finally {
      if (!controller.signal.aborted) setBusy(false);
    }
  };

  const admin = role === 'admin';
  const summary = `Identity graph of ${id}: ${held.length} identifiers held now, ${
    graph.nodes.filter((node) => node.kind === 'profile').length} profiles and ${edges.length} identity decisions. ` +
    'The same information is in the lists beside it.';

  return (
    <section class="page">
      <h1 tabIndex={-1}>Identity graph of {id}</h1>
      <p class="page-actions"><a href={routeHref({ page: 'profile', id })}>Back to the profile</a></p>
      <ErrorMessage error={loaded.error} testId="graph-load-error" />
      <ErrorMessage error={error} testId="unmerge-error" />
      {result ? <p class="note" role="status" data-testid="unmerge-result">{result}</p> : null}
      {profile ? (
        <div class="graph-layout">
          <section class="card graph-card" aria-labelledby="graph-heading">
            <h2 id="graph-heading">Graph</h2>
            <IdentityGraphView graph={graph} rootId={nodeId('profile', id)} selected={selected} onSelect={setSelected} summary={summary} />
            <p class="hint">
              Boxes are identifiers (dashed: no longer on this profile), ovals are profiles. Click an identifier to select it.
            </p>
          </section>
          <aside class="card" aria-labelledby="identifiers-list-heading">
            <h2 id="identifiers-list-heading">Identifiers on {id}</h2>
            {!admin ? <p class="note">Unmerging needs the admin token.</p> : null}
            <ul class="identifier-list" data-testid="graph-identifiers">
              {held.map((identifier) => (
                <li key={identifier} class={identifier === selected ? 'selected' : undefined} data-identifier={identifier}>
                  <button type="button" class="link-button" aria-pressed={identifier === selected} onClick={() => setSelected(identifier)}>
                    <code>{identifier}</code>
                  </button>
                  {admin ? (
                    <button
                      type="button"
                      class="danger small"
                      disabled={busy || held.length < 2}
                      title={held.length < 2 ? 'A profile with one identifier has nothing to split' : undefined}
                      onClick={() => { setSelected(identifier); setConfirming({ identifier }); }}
                      data-testid="unmerge-button"
                    >
                      Unmerge…
                    </button>
                  ) : null}
                </li>
              ))}
            </ul>
            {profile.merged_from && profile.merged_from.length > 0 ? (
              <>
                <h3>Profiles merged into {id}</h3>
                <ul class="identifier-list">
                  {profile.merged_from.map((merged) => (
                    <li key={merged}>
                      <code>{merged}</code>
                      {admin ? (
                        <button type="button" class="danger small" disabled={busy} onClick={() => setConfirming({ merged })}>
                          Split off…
                        </button>
                      ) : null}
                    </li>
                  ))}
                </ul>
              </>
            ) : null}
          </aside>
        </div>
      ) : null}
      {edges.length > 0 ? <EdgeTable edges={edges} /> : null}
      <Dialog
        open={confirming !== null}
        title={confirming && 'identifier' in confirming ? `Remove ${confirming.identifier} from ${id}?` : `Split ${confirming && 'merged' in confirming ? confirming.merged : ''} off ${id}?`}
        onClose={() => setConfirming(null)}
        testId="unmerge-dialog"
      >
        <p>
          The profile's events are applied again with the two sides kept apart from now on, whatever later events say,
          until the unmerge is re-allowed. It goes through the log like an event, so a replay repeats it.
        </p>
        <div class="dialog-actions">
          <button type="button" class="secondary" autofocus onClick={() => setConfirming(null)} data-testid="unmerge-cancel">Cancel</button>
          <button type="button" class="danger" onClick={() => confirming && void run(confirming)} data-testid="unmerge-confirm">
            Unmerge
          </button>
        </div>
      </Dialog>
    </section>
  );
}

function EdgeTable({ edges }: { edges: ProfileMerges['edges'] }) {
  return (
    <section class="card" aria-labelledby="edges-heading" data-testid="graph-edges">
      <h2 id="edges-heading">Identity decisions, in log order</h2>
      <div class="table-scroll">
        <table>
          <thead>
            <tr>
              <th scope="col">Kind</th><th scope="col">Rule</th><th scope="col">Profile</th><th scope="col">Identifiers</th>
              <th scope="col">Time</th><th scope="col">messageId</th><th scope="col" class="num">Score</th>
            </tr>
          </thead>
          <tbody>
            {edges.map((edge, index) => (
              <tr key={index}>
                <td><span class={`badge badge--edge-${edge.kind}`}>{edge.kind}</span></td>
                <td>{edge.rule}</td>
                <td>{edge.profile}{edge.other_profile && edge.other_profile !== edge.profile ? ` ← ${edge.other_profile}` : ''}</td>
                <td>{edge.identifiers.map((identifier) => <code key={identifier} class="block">{identifier}</code>)}</td>
                <td>{formatTime(edge.time)}</td>
                <td><code class="small">{edge.message_id ?? '—'}</code></td>
                <td class="num">{typeof edge.score === 'number' ? edge.score : '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
