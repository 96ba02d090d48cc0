// Destinations: each one's state and delivery counts, and its dead letters with replay.
//
// API (admin token): GET /admin/v1/destinations every 5 s; the dead letters are in
// DeadLetters.tsx.

import { useState } from 'preact/hooks';
import { api } from '../api.ts';
import { AdminOnlyNote } from '../components/AdminOnly.tsx';
import { ErrorMessage } from '../components/ErrorMessage.tsx';
import { StateBadge } from '../components/StateBadge.tsx';
import { formatBytes, formatNumber, formatTime } from '../format.ts';
import { useLoad, useTitle } from '../hooks.ts';
import type { Role } from '../session.ts';
import type { Destination } from '../types.ts';
import { DeadLetters } from './DeadLetters.tsx';

export function Destinations({ role }: { role: Role }) {
  useTitle('Destinations');
  const admin = role === 'admin';
  const list = useLoad(async (signal) => {
    if (!admin) return [];
    return (await api<{ destinations: Destination[] }>('/admin/v1/destinations', { signal })).data.destinations;
  }, [admin], admin ? 5000 : 0);
  const [open, setOpen] = useState<string | null>(null);

  return (
    <section class="page">
      <h1 tabIndex={-1}>Destinations</h1>
      {!admin ? <AdminOnlyNote what="The destinations page" /> : null}
      <ErrorMessage error={list.error} />
      {admin && list.data && list.data.length === 0 ? (
        <p class="note">No destinations are defined. Define one with PUT /admin/v1/destinations/NAME (docs/activation.md).</p>
      ) : null}
      <ul class="destination-list" data-testid="destination-list">
        {(list.data ?? []).map((destination) => (
          <li key={destination.name}>
            <DestinationCard
              destination={destination}
              open={open === destination.name}
              onToggle={() => setOpen(open === destination.name ? null : destination.name)}
              onReplayed={list.reload}
            />
          </li>
        ))}
      </ul>
    </section>
  );
}

function target(destination: Destination): string {
  if (destination.url) return destination.url;
  if (destination.topic) return `${destination.topic} on ${destination.brokers ?? ''}`;
  if (destination.path) return destination.path;
  if (destination.postgres?.host) return `${destination.postgres.host}${destination.postgres.database ? `/${destination.postgres.database}` : ''}`;
  return '';
}

function DestinationCard({ destination, open, onToggle, onReplayed }: {
  destination: Destination; open: boolean; onToggle: () => void; onReplayed: () => void;
}) {
  const { status } = destination;
  const headingId = `destination-${destination.name}`;
  const panelId = `dead-letters-${destination.name}`;
  return (
    <section class="card" aria-labelledby={headingId} data-testid="destination" data-name={destination.name}>
      <h2 id={headingId} class="destination-title">
        {destination.name} <span class="muted small">{destination.type}</span> <StateBadge state={status.state} />
        {destination.configured ? <span class="badge badge--muted">config file</span> : null}
        {!destination.enabled ? <span class="badge badge--muted">disabled</span> : null}
      </h2>
      {target(destination) ? <p class="muted small"><code>{target(destination)}</code></p> : null}
      <dl class="stats stats--row">
        <div><dt>Delivered</dt><dd>{formatNumber(status.delivered)}</dd></div>
        <div><dt>Failed attempts</dt><dd>{formatNumber(status.failed_attempts)}</dd></div>
        <div><dt>Dead letters</dt><dd data-testid="destination-dead-letters">{formatNumber(status.dead_letters)}</dd></div>
        <div><dt>Outbox</dt><dd>{formatNumber(status.outbox)} ({formatBytes(status.outbox_bytes)})</dd></div>
        <div><dt>Last delivery</dt><dd>{formatTime(status.last_delivery_at)}</dd></div>
        {status.next_attempt ? <div><dt>Next attempt</dt><dd>{formatTime(status.next_attempt)}</dd></div> : null}
      </dl>
      {status.last_error ? (
        <p class="error-inline">
          Last error: <strong>{status.last_error}</strong>{status.last_error_at ? ` at ${formatTime(status.last_error_at)}` : ''}
        </p>
      ) : null}
      <button type="button" class="secondary" aria-expanded={open} aria-controls={panelId} onClick={onToggle} data-testid="dead-letters-toggle">
        {open ? 'Hide dead letters' : `Dead letters (${formatNumber(status.dead_letters)})`}
      </button>
      <div id={panelId} hidden={!open}>
        {open ? <DeadLetters name={destination.name} onReplayed={onReplayed} /> : null}
      </div>
    </section>
  );
}
