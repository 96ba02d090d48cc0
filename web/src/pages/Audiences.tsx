// Audiences: every audience with its size, and the builder for a new or changed one.
//
// API: GET /admin/v1/audiences (admin token; the read token can still open an audience's page
// by name, since members and sizes take it).

import { useState } from 'preact/hooks';
import { api } from '../api.ts';
import { AdminOnlyNote } from '../components/AdminOnly.tsx';
import { ErrorMessage } from '../components/ErrorMessage.tsx';
import { formatNumber } from '../format.ts';
import { useLoad, useTitle } from '../hooks.ts';
import { routeHref } from '../route.ts';
import type { Role } from '../session.ts';
import type { Audience } from '../types.ts';
import { AudienceBuilder, type BuilderDraft } from './AudienceBuilder.tsx';

export function Audiences({ role }: { role: Role }) {
  useTitle('Audiences');
  const admin = role === 'admin';
  const list = useLoad(async (signal) => {
    if (!admin) return [];
    return (await api<{ audiences: Audience[] }>('/admin/v1/audiences', { signal })).data.audiences;
  }, [admin], admin ? 10000 : 0);
  const [draft, setDraft] = useState<BuilderDraft | null>(null);

  const edit = (audience: Audience) => {
    setDraft({ name: audience.name, condition: audience.condition, description: audience.description ?? '' });
    document.getElementById('builder-heading')?.scrollIntoView({ block: 'start' });
    document.getElementById('audience-condition')?.focus();
  };

  return (
    <section class="page">
      <h1 tabIndex={-1}>Audiences</h1>
      <section class="card" aria-labelledby="audience-list-heading">
        <h2 id="audience-list-heading">Defined audiences</h2>
        {admin ? (
          <>
            <ErrorMessage error={list.error} />
            {list.data && list.data.length === 0 ? <p class="note">No audiences yet: build one below.</p> : null}
            {list.data && list.data.length > 0 ? (
              <div class="table-scroll">
                <table data-testid="audience-list">
                  <thead>
                    <tr>
                      <th scope="col">Name</th><th scope="col">Condition</th><th scope="col" class="num">Members</th>
                      <th scope="col"><span class="visually-hidden">Actions</span></th>
                    </tr>
                  </thead>
                  <tbody>
                    {list.data.map((audience) => (
                      <tr key={audience.name}>
                        <th scope="row">
                          <a href={routeHref({ page: 'audience', name: audience.name })}>{audience.name}</a>
                          {audience.description ? <div class="muted small">{audience.description}</div> : null}
                        </th>
                        <td><code class="condition">{audience.condition}</code></td>
                        <td class="num">{formatNumber(audience.size)}</td>
                        <td>
                          <button type="button" class="secondary small" onClick={() => edit(audience)} aria-label={`Edit ${audience.name} in the builder`}>
                            Edit
                          </button>
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            ) : null}
          </>
        ) : (
          <>
            <AdminOnlyNote what="Listing audiences" />
            <OpenByName />
          </>
        )}
      </section>
      {admin ? <AudienceBuilder draft={draft} onSaved={list.reload} /> : null}
    </section>
  );
}

// With the read token the list is closed, but an audience's members and sizes are not.
function OpenByName() {
  const [name, setName] = useState('');
  return (
    <form
      class="inline-form"
      onSubmit={(event) => {
        event.preventDefault();
        if (name.trim()) location.hash = routeHref({ page: 'audience', name: name.trim() });
      }}
    >
      <div class="field">
        <label for="open-audience">Open an audience by name</label>
        <input id="open-audience" value={name} onInput={(event) => setName(event.currentTarget.value)} />
      </div>
      <button type="submit">Open</button>
    </form>
  );
}
