// Destinations: each one's state, delivery counts and rates, and its dead letters with replay.
//
// API (admin token): GET /admin/v1/destinations every 5 s; GET /metrics every 5 s for the rates
// per destination (delivery_rates.ts: cdp_delivery_messages_total by outcome, differentiated,
// cdp_delivery_lag_events, cdp_delivery_outbox_messages); the dead letters are in DeadLetters.tsx.

import { useEffect, useRef, useState } from 'preact/hooks';
import { api, apiText, describeError, isAbort } from '../api.ts';
import { AdminOnlyNote } from '../components/AdminOnly.tsx';
import { ErrorMessage } from '../components/ErrorMessage.tsx';
import { StateBadge } from '../components/StateBadge.tsx';
import { DeliveryRates, type DeliveryNow } from '../delivery_rates.ts';
import { formatBytes, formatNumber, formatRate, formatTime } from '../format.ts';
import { useLoad, useTitle } from '../hooks.ts';
import { parsePrometheus } from '../metrics.ts';
import type { Role } from '../session.ts';
import type { Destination } from '../types.ts';
import { DeadLetters } from './DeadLetters.tsx';

const POLL_MS = 5000;

export function Destinations({ role }: { role: Role }) {
  useTitle('Destinations');
  const admin = role === 'admin';
  const list = useLoad(async (signal) => {
    if (!admin) return [];
    return (await api<{ destinations: Destination[] }>('/admin/v1/destinations', { signal })).data.destinations;
  }, [admin], admin ? POLL_MS : 0);
  const delivery = useDeliveryRates(admin);
  const [open, setOpen] = useState<string | null>(null);

  return (
    <section class="page">
      <h1 tabIndex={-1}>Destinations</h1>
      {!admin ? <AdminOnlyNote what="The destinations page" /> : (
        <p class="hint">
          Rates are messages per second between the last two readings of <code>/metrics</code> (every 5 s); a failed
          attempt is one that will be repeated.
        </p>
      )}
      <ErrorMessage error={list.error} />
      <ErrorMessage error={delivery.error} testId="destination-metrics-error" />
      {admin && list.data && list.data.length === 0 ? (
        <p class="note">No destinations are defined. Define one with PUT /admin/v1/destinations/NAME (docs/activation.md).</p>
      ) : null}
      <ul class="destination-list" data-testid="destination-list">
        {(list.data ?? []).map((destination) => (
          <li key={destination.name}>
            <DestinationCard
              destination={destination}
              now={delivery.rates.now(destination.name)}
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

// Reads /metrics every POLL_MS while the page is shown (admin sessions only).
function useDeliveryRates(admin: boolean): { rates: DeliveryRates; error: string | null } {
  const rates = useRef<DeliveryRates | null>(null);
  if (!rates.current) rates.current = new DeliveryRates();
  const [, setReadings] = useState(0);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if (!admin) return;
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const read = async () => {
      try {
        const text = await apiText('/metrics', { signal: controller.signal });
        rates.current?.add(parsePrometheus(text), Date.now());
        setReadings((count) => count + 1);
        setError(null);
      } catch (caught) {
        if (isAbort(caught) || controller.signal.aborted) return;
        setError(`Cannot read /metrics for the delivery rates: ${describeError(caught)}`);
      }
      if (!controller.signal.aborted) timer = setTimeout(read, POLL_MS);
    };
    void read();
    return () => {
      controller.abort();
      clearTimeout(timer);
    };
  }, [admin]);

  return { rates: rates.current, error };
}

function perSecond(rate: number | undefined): string {
  return rate === undefined ? '—/s' : `${formatRate(rate)}/s`;
}

function DestinationCard({ destination, now, open, onToggle, onReplayed }: {
  destination: Destination; now: DeliveryNow; open: boolean; onToggle: () => void; onReplayed: () => void;
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
        <div>
          <dt>Delivered</dt>
          <dd>{formatNumber(status.delivered)} <span class="rate" data-testid="destination-rate-delivered">{perSecond(now.rates?.delivered)}</span></dd>
        </div>
        <div>
          <dt>Failed attempts</dt>
          <dd>{formatNumber(status.failed_attempts)} <span class="rate" data-testid="destination-rate-retried">{perSecond(now.rates?.retried)}</span></dd>
        </div>
        <div>
          <dt>Dead letters</dt>
          <dd>
            <span data-testid="destination-dead-letters">{formatNumber(status.dead_letters)}</span>{' '}
            <span class="rate" data-testid="destination-rate-dead">{perSecond(now.rates?.dead)}</span>
          </dd>
        </div>
        <div><dt>Outbox</dt><dd>{formatNumber(now.outbox ?? status.outbox)} ({formatBytes(status.outbox_bytes)})</dd></div>
        <div><dt>Events not read yet</dt><dd data-testid="destination-lag">{formatNumber(now.lagEvents)}</dd></div>
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
        {open ? (
          <DeadLetters name={destination.name} lastError={status.last_error} lastErrorAt={status.last_error_at} onReplayed={onReplayed} />
        ) : null}
      </div>
    </section>
  );
}
