// Profile explorer: find a profile by id or identifier, or the profiles with a trait value.
//
// API: GET /v1/profiles/{ref} for each reference the input may mean (search.ts), until one is
// found; POST /admin/v1/audiences/preview?sample=20 with {"condition": "trait.NAME = VALUE"}
// for a trait (admin token), which answers how many profiles match and the first ids. A new
// search, or leaving the page, aborts the one under way: its answer changes nothing.

import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, api, describeError, isAbort } from '../api.ts';
import { AdminOnlyNote } from '../components/AdminOnly.tsx';
import { ErrorMessage } from '../components/ErrorMessage.tsx';
import { formatNumber } from '../format.ts';
import { useTitle } from '../hooks.ts';
import { routeHref } from '../route.ts';
import { classifySearch, parseTraitValue, profilePath, traitCondition } from '../search.ts';
import type { Role } from '../session.ts';
import type { AudiencePreview, Profile } from '../types.ts';

const SAMPLE = 20;

interface TraitResult {
  condition: string;
  preview: AudiencePreview;
}

// Kept while the tab lives, so coming back from a profile shows the last search.
let lastInput = '';
let lastTraitResult: TraitResult | null = null;

export function ProfileSearch({ role }: { role: Role }) {
  useTitle('Profiles');
  const [input, setInput] = useState(lastInput);
  const [traitName, setTraitName] = useState('');
  const [traitValue, setTraitValue] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [traitResult, setTraitResult] = useState<TraitResult | null>(lastTraitResult);
  const running = useRef<AbortController | null>(null);
  useEffect(() => () => running.current?.abort(), []);

  // Aborts the search under way, if any: its answer must not move the page any more.
  const cancelSearch = () => {
    running.current?.abort();
    running.current = null;
    setBusy(false);
  };

  const showTraitResult = (result: TraitResult | null) => {
    lastTraitResult = result;
    setTraitResult(result);
  };

  const searchTrait = async (condition: string, signal: AbortSignal) => {
    if (role !== 'admin') {
      setError('Searching by trait needs the admin token (it runs an audience preview).');
      return;
    }
    const { data } = await api<AudiencePreview>(`/admin/v1/audiences/preview?sample=${SAMPLE}`, {
      method: 'POST', body: { condition, exact: true }, signal,
    });
    if (!signal.aborted) showTraitResult({ condition, preview: data });
  };

  // Runs a search; its errors show unless a newer search (or leaving the page) aborted it.
  const run = async (body: (signal: AbortSignal) => Promise<void>) => {
    cancelSearch();
    const controller = new AbortController();
    running.current = controller;
    const { signal } = controller;
    setBusy(true);
    try {
      await body(signal);
    } catch (caught) {
      if (!isAbort(caught) && !signal.aborted) setError(describeError(caught));
    } finally {
      if (!signal.aborted) setBusy(false);
    }
  };

  const search = async (event: Event) => {
    event.preventDefault();
    cancelSearch();
    lastInput = input;
    const parsed = classifySearch(input);
    setError(null);
    showTraitResult(null);
    if (parsed.kind === 'empty') {
      setError('Type a profile id, an identifier (type:value), an email, a user id or trait.NAME = "value".');
      return;
    }
    if (parsed.kind === 'invalid') {
      setError(parsed.message);
      return;
    }
    await run(async (signal) => {
      if (parsed.kind === 'trait') {
        await searchTrait(parsed.condition, signal);
        return;
      }
      for (const ref of parsed.refs) {
        try {
          const { data } = await api<Profile>(profilePath(ref), { signal });
          if (!signal.aborted) location.hash = routeHref({ page: 'profile', id: data.id });
          return;
        } catch (caught) {
          if (!(caught instanceof ApiError && caught.code === 'profile_not_found')) throw caught;
        }
      }
      if (!signal.aborted) {
        setError(`No profile holds ${parsed.refs.join(' or ')}. Events reach profiles moments after they arrive; check the spelling and the identifier type.`);
      }
    });
  };

  const searchByTraitForm = async (event: Event) => {
    event.preventDefault();
    cancelSearch();
    setError(null);
    if (!traitName.trim()) {
      setError('Give the name of the trait, e.g. plan.');
      return;
    }
    const value = parseTraitValue(traitValue);
    if (value === undefined) {
      setError(`The value ${traitValue.trim()} starts with a quote but is not a string in double quotes.`);
      return;
    }
    const condition = traitCondition(traitName.trim(), value);
    await run((signal) => searchTrait(condition, signal));
  };

  return (
    <section class="page">
      <h1 tabIndex={-1}>Profiles</h1>
      <form class="card search" role="search" onSubmit={search} aria-label="Find a profile">
        <label for="profile-search">Find a profile</label>
        <p id="profile-search-help" class="hint">
          A profile id (<code>p_12</code>), an identifier (<code>email:jane@example.com</code>, <code>user_id:42</code>,{' '}
          <code>anonymous_id:…</code>), a plain email or user id, or <code>trait.plan = "pro"</code> (also{' '}
          <code>trait.vip = true</code>, <code>trait.seats = 3</code>).
        </p>
        <div class="inline-form">
          <input
            id="profile-search"
            type="search"
            value={input}
            onInput={(event) => setInput(event.currentTarget.value)}
            aria-describedby="profile-search-help"
            spellcheck={false}
            autocomplete="off"
            data-testid="profile-search"
          />
          <button type="submit" disabled={busy} data-testid="profile-search-submit">Search</button>
        </div>
      </form>

      <form class="card search" onSubmit={searchByTraitForm} aria-labelledby="trait-search-heading">
        <h2 id="trait-search-heading">Search by trait</h2>
        {role !== 'admin' ? <AdminOnlyNote what="Searching by trait" /> : (
          <>
          <p id="trait-value-help" class="hint">
            <code>true</code>, <code>false</code>, <code>null</code> and numbers match those values; in double quotes
            (<code>"3"</code>) a value is text.
          </p>
          <div class="inline-form">
            <div class="field">
              <label for="trait-name">Trait name</label>
              <input id="trait-name" value={traitName} onInput={(event) => setTraitName(event.currentTarget.value)} placeholder="plan" data-testid="trait-name" />
            </div>
            <div class="field">
              <label for="trait-value">Value</label>
              <input id="trait-value" value={traitValue} onInput={(event) => setTraitValue(event.currentTarget.value)} placeholder="pro" aria-describedby="trait-value-help" data-testid="trait-value" />
            </div>
            <button type="submit" disabled={busy} data-testid="trait-search-submit">Search</button>
          </div>
          </>
        )}
      </form>

      <ErrorMessage error={error} testId="profile-search-error" />
      {traitResult ? <TraitMatches result={traitResult} /> : null}
    </section>
  );
}

function TraitMatches({ result }: { result: TraitResult }) {
  const { preview } = result;
  return (
    <section class="card" aria-labelledby="trait-matches-heading" data-testid="trait-matches">
      <h2 id="trait-matches-heading">
        {formatNumber(preview.size)} {preview.size === 1 ? 'profile matches' : 'profiles match'} <code>{result.condition}</code>
      </h2>
      {preview.sample.length === 0 ? <p class="note">No profile has this value.</p> : (
        <>
          <ul class="id-list">
            {preview.sample.map((id) => (
              <li key={id}><a href={routeHref({ page: 'profile', id })}>{id}</a></li>
            ))}
          </ul>
          {preview.size > preview.sample.length ? (
            <p class="note">The first {preview.sample.length} by profile id. Save the condition as an audience to list them all.</p>
          ) : null}
        </>
      )}
    </section>
  );
}
