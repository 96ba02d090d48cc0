// One profile: its traits with where each came from, identifiers, computed traits, audiences,
// first and last seen, and its event timeline.
//
// API: GET /v1/profiles/{id} and /v1/profiles/{id}/traits (a merged-away id answers 308 to the
// survivor; fetch follows it and the page moves to the survivor's route), and
// GET /v1/profiles/{id}/events?limit=50&cursor=... for the timeline (Timeline.tsx).

import { useEffect } from 'preact/hooks';
import { api } from '../api.ts';
import { ErrorMessage } from '../components/ErrorMessage.tsx';
import { formatNumber, formatTime, formatValue } from '../format.ts';
import { useLoad, useTitle } from '../hooks.ts';
import { routeHref } from '../route.ts';
import { profilePath } from '../search.ts';
import type { Profile, ProfileTraits } from '../types.ts';
import { Timeline } from './Timeline.tsx';

// "p_5 was merged into p_4", shown once on the survivor's page after a redirect.
const redirectedFrom = new Map<string, string>();

export function ProfilePage({ id }: { id: string }) {
  useTitle(`Profile ${id}`);
  const loaded = useLoad(async (signal) => {
    const [profile, traits] = await Promise.all([
      api<Profile>(profilePath(id), { signal }),
      api<ProfileTraits>(`${profilePath(id)}/traits`, { signal }),
    ]);
    if (profile.data.id !== id && !signal.aborted) {
      redirectedFrom.set(profile.data.id, id);
      location.replace(routeHref({ page: 'profile', id: profile.data.id }));
    }
    return { profile: profile.data, traits: traits.data };
  }, [id]);

  const profile = loaded.data?.profile.id === id ? loaded.data.profile : null;
  const provenance = loaded.data?.traits.traits ?? {};
  const mergedFrom = redirectedFrom.get(id);
  // Once: leaving the survivor's page forgets the redirect.
  useEffect(() => () => { redirectedFrom.delete(id); }, [id]);

  return (
    <section class="page">
      <h1 tabIndex={-1} data-testid="profile-heading">Profile {id}</h1>
      {mergedFrom ? (
        <p class="note" role="status" data-testid="profile-redirected">
          {mergedFrom} was merged into {id}; this is the profile it is part of now.
        </p>
      ) : null}
      <ErrorMessage error={loaded.error} testId="profile-error" />
      {loaded.loading && !profile ? <p class="note">Loading…</p> : null}
      {profile ? (
        <>
          <p class="page-actions">
            <a class="button-link" href={routeHref({ page: 'graph', id })} data-testid="profile-graph-link">Identity graph</a>
            <a href="#/profiles">Search again</a>
          </p>
          <Summary profile={profile} />
          <div class="grid grid--wide">
            <section class="card" aria-labelledby="traits-heading" data-testid="profile-traits">
              <h2 id="traits-heading">Traits</h2>
              <TraitTable traits={profile.traits} provenance={provenance} />
            </section>
            <section class="card" aria-labelledby="identifiers-heading" data-testid="profile-identifiers">
              <h2 id="identifiers-heading">Identifiers</h2>
              <div class="table-scroll">
                <table>
                  <thead><tr><th scope="col">Identifier</th><th scope="col">First seen</th><th scope="col">Last seen</th></tr></thead>
                  <tbody>
                    {profile.identifiers.map((identifier) => (
                      <tr key={`${identifier.type}:${identifier.value}`}>
                        <th scope="row"><code>{identifier.type}:{identifier.value}</code></th>
                        <td>{formatTime(identifier.first_seen)}</td>
                        <td>{formatTime(identifier.last_seen)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            </section>
            <ComputedAndAudiences profile={profile} />
          </div>
          <Timeline profileId={id} />
        </>
      ) : null}
    </section>
  );
}

function Summary({ profile }: { profile: Profile }) {
  return (
    <dl class="stats stats--row" data-testid="profile-summary">
      <div><dt>First seen</dt><dd>{formatTime(profile.first_seen)}</dd></div>
      <div><dt>Last seen</dt><dd>{formatTime(profile.last_seen)}</dd></div>
      <div><dt>Events</dt><dd>{formatNumber(profile.event_count)}</dd></div>
      {profile.merged_from && profile.merged_from.length > 0 ? (
        <div><dt>Merged from</dt><dd>{profile.merged_from.join(', ')}</dd></div>
      ) : null}
      {profile.groups && profile.groups.length > 0 ? (
        <div><dt>Accounts</dt><dd>{profile.groups.join(', ')}</dd></div>
      ) : null}
    </dl>
  );
}

function TraitTable({ traits, provenance }: { traits: Record<string, unknown>; provenance: ProfileTraits['traits'] }) {
  const names = Object.keys(traits).sort();
  if (names.length === 0) return <p class="note">No traits yet.</p>;
  return (
    <div class="table-scroll">
      <table>
        <thead>
          <tr><th scope="col">Trait</th><th scope="col">Value</th><th scope="col">Source</th><th scope="col">Set at</th></tr>
        </thead>
        <tbody>
          {names.map((name) => {
            const from = provenance[name];
            return (
              <tr key={name}>
                <th scope="row">{name}</th>
                <td class="value">{formatValue(traits[name])}</td>
                <td>{from?.source ?? '—'}</td>
                <td title={from ? `messageId ${from.message_id}` : undefined}>{formatTime(from?.timestamp)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

function ComputedAndAudiences({ profile }: { profile: Profile }) {
  const computed = Object.entries(profile.computed_traits ?? {});
  const audiences = profile.audiences ?? [];
  return (
    <section class="card" aria-labelledby="computed-heading" data-testid="profile-audiences">
      <h2 id="computed-heading">Computed traits and audiences</h2>
      {computed.length === 0 ? <p class="note">No computed traits.</p> : (
        <dl class="pairs">
          {computed.map(([name, value]) => (
            <div key={name}><dt>{name}</dt><dd>{formatValue(value)}</dd></div>
          ))}
        </dl>
      )}
      {audiences.length === 0 ? <p class="note">In no audience.</p> : (
        <ul class="plain">
          {audiences.map((audience) => (
            <li key={audience.name}>
              <a href={routeHref({ page: 'audience', name: audience.name })}>{audience.name}</a>{' '}
              <span class="muted">since {formatTime(audience.entered_at)}</span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
