// Overview: events per second by source over the last five minutes, what was rejected and why,
// how far the processor is behind, profiles and merges, and the health of each destination.
//
// API: GET /metrics every 2 s (Prometheus text; rates are differences of the counters between
// readings), GET /admin/v1/destinations every 5 s (admin token).

import { useEffect, useRef, useState } from 'preact/hooks';
import { api, apiText, describeError, isAbort } from '../api.ts';
import { AdminOnlyNote } from '../components/AdminOnly.tsx';
import { ErrorMessage } from '../components/ErrorMessage.tsx';
import { TimeChart } from '../components/TimeChart.tsx';
import { formatNumber, formatRate, formatTime } from '../format.ts';
import { useLoad, useTitle } from '../hooks.ts';
import { byLabel, parsePrometheus, scalar, total, type Sample } from '../metrics.ts';
import { RateSeries } from '../rates.ts';
import type { Role } from '../session.ts';
import type { Destination } from '../types.ts';
import { StateBadge } from '../components/StateBadge.tsx';

const POLL_MS = 2000;
const WINDOW_MS = 5 * 60 * 1000;

export function Overview({ role }: { role: Role }) {
  useTitle('Overview');
  const { samples, rates, error } = useMetrics();

  return (
    <section class="page">
      <h1 tabIndex={-1}>Overview</h1>
      <ErrorMessage error={error} testId="metrics-error" />
      <IngestChart rates={rates} samples={samples} />
      <div class="grid">
        <Rejections samples={samples} />
        <Processor samples={samples} />
        <Profiles samples={samples} />
      </div>
      <DestinationHealth role={role} />
    </section>
  );
}

// Reads /metrics every POLL_MS while the page is shown.
function useMetrics(): { samples: Sample[] | null; rates: RateSeries; error: string | null } {
  const rates = useRef(new RateSeries(WINDOW_MS));
  const [samples, setSamples] = useState<Sample[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const read = async () => {
      try {
        const text = await apiText('/metrics', { signal: controller.signal });
        const parsed = parsePrometheus(text);
        rates.current.add({ timeMs: Date.now(), counters: byLabel(parsed, 'cdp_events_accepted_total', 'source') });
        setSamples(parsed);
        setError(null);
      } catch (caught) {
        if (isAbort(caught)) return;
        setError(`Cannot read /metrics: ${describeError(caught)}`);
      }
      if (!controller.signal.aborted) timer = setTimeout(read, POLL_MS);
    };
    void read();
    return () => {
      controller.abort();
      clearTimeout(timer);
    };
  }, []);

  return { samples, rates: rates.current, error };
}

function IngestChart({ rates, samples }: { rates: RateSeries; samples: Sample[] | null }) {
  const aligned = rates.aligned();
  const latest = rates.latest();
  const accepted = samples ? byLabel(samples, 'cdp_events_accepted_total', 'source') : new Map<string, number>();
  const now = [...latest.values()].reduce((sum, rate) => sum + rate, 0);
  return (
    <section class="card" aria-labelledby="ingest-heading">
      <h2 id="ingest-heading">Events accepted per second</h2>
      <p class="big-number" data-testid="overview-rate">
        {formatRate(now)} <span class="unit">events/s now, all sources</span>
      </p>
      {aligned.keys.length === 0 ? (
        <p class="note">No source has sent events since the server started.</p>
      ) : (
        <TimeChart
          testId="overview-chart"
          times={aligned.times}
          series={aligned.keys.map((key, index) => ({ label: key || '(none)', values: aligned.rates[index] }))}
          valueLabel="events/s"
          windowSeconds={WINDOW_MS / 1000}
          summary={`Events accepted per second by source over the last 5 minutes: ${
            aligned.keys.map((key) => `${key} ${formatRate(latest.get(key) ?? 0)}/s now`).join(', ')}.`}
        />
      )}
      {accepted.size > 0 ? (
        <table class="compact" data-testid="overview-sources">
          <caption class="visually-hidden">Events accepted by source</caption>
          <thead>
            <tr><th scope="col">Source</th><th scope="col" class="num">Now (events/s)</th><th scope="col" class="num">Accepted since start</th></tr>
          </thead>
          <tbody>
            {[...accepted].map(([source, count]) => (
              <tr key={source}>
                <th scope="row">{source}</th>
                <td class="num">{formatRate(latest.get(source) ?? 0)}</td>
                <td class="num">{formatNumber(count)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}

function Rejections({ samples }: { samples: Sample[] | null }) {
  const events = samples ? byLabel(samples, 'cdp_events_rejected_total', 'reason') : new Map<string, number>();
  const requests = samples ? byLabel(samples, 'cdp_requests_rejected_total', 'reason') : new Map<string, number>();
  return (
    <section class="card" aria-labelledby="rejected-heading" data-testid="overview-rejections">
      <h2 id="rejected-heading">Rejected</h2>
      <ReasonTable caption="Events rejected, by reason (items of a batch that were not stored)" counts={events} />
      <ReasonTable caption="Requests refused as a whole, by reason" counts={requests} />
    </section>
  );
}

function ReasonTable({ caption, counts }: { caption: string; counts: Map<string, number> }) {
  const rows = [...counts].filter(([, count]) => count > 0).sort((a, b) => b[1] - a[1]);
  return (
    <table class="compact">
      <caption>{caption}</caption>
      <thead>
        <tr><th scope="col">Reason</th><th scope="col" class="num">Since start</th></tr>
      </thead>
      <tbody>
        {rows.length === 0 ? (
          <tr><td colSpan={2} class="note">None</td></tr>
        ) : rows.map(([reason, count]) => (
          <tr key={reason}><th scope="row"><code>{reason}</code></th><td class="num">{formatNumber(count)}</td></tr>
        ))}
      </tbody>
    </table>
  );
}

function Processor({ samples }: { samples: Sample[] | null }) {
  const lagEvents = samples ? scalar(samples, 'cdp_processor_lag_events') : null;
  const lagSeconds = samples ? scalar(samples, 'cdp_processor_lag_seconds') : null;
  return (
    <section class="card" aria-labelledby="processor-heading" data-testid="overview-processor">
      <h2 id="processor-heading">Processor</h2>
      <dl class="stats">
        <div><dt>Behind by</dt><dd data-testid="processor-lag">{formatNumber(lagEvents)} events</dd></div>
        <div><dt>Oldest unapplied event waited</dt><dd>{lagSeconds === null ? '—' : `${formatRate(lagSeconds)} s`}</dd></div>
        <div><dt>Events applied</dt><dd data-testid="processor-applied">{formatNumber(samples ? scalar(samples, 'cdp_processor_events_total') : null)}</dd></div>
        <div><dt>Events without identifiers</dt><dd>{formatNumber(samples ? scalar(samples, 'cdp_processor_unidentified_events_total') : null)}</dd></div>
      </dl>
    </section>
  );
}

function Profiles({ samples }: { samples: Sample[] | null }) {
  return (
    <section class="card" aria-labelledby="profiles-heading" data-testid="overview-profiles">
      <h2 id="profiles-heading">Profiles</h2>
      <dl class="stats">
        <div><dt>Created</dt><dd>{formatNumber(samples ? total(samples, 'cdp_profiles_created_total') : null)}</dd></div>
        <div><dt>Merges</dt><dd>{formatNumber(samples ? total(samples, 'cdp_profile_merges_total') : null)}</dd></div>
        <div><dt>Identifiers quarantined</dt><dd>{formatNumber(samples ? total(samples, 'cdp_identifiers_quarantined_total') : null)}</dd></div>
      </dl>
    </section>
  );
}

function DestinationHealth({ role }: { role: Role }) {
  // A read session does not ask: the admin API would only refuse it.
  const destinations = useLoad(async (signal) => {
    if (role !== 'admin') return [];
    return (await api<{ destinations: Destination[] }>('/admin/v1/destinations', { signal })).data.destinations;
  }, [role], role === 'admin' ? 5000 : 0);
  return (
    <section class="card" aria-labelledby="destinations-heading" data-testid="overview-destinations">
      <h2 id="destinations-heading">Destinations</h2>
      {role !== 'admin' ? <AdminOnlyNote what="Destination health" /> : (
        <>
          <ErrorMessage error={destinations.error} />
          {destinations.data && destinations.data.length === 0 ? <p class="note">No destinations are defined.</p> : null}
          {destinations.data && destinations.data.length > 0 ? (
            <div class="table-scroll">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Name</th><th scope="col">State</th><th scope="col" class="num">Delivered</th>
                    <th scope="col" class="num">Failed attempts</th><th scope="col" class="num">Dead letters</th>
                    <th scope="col" class="num">Outbox</th><th scope="col">Last error</th><th scope="col">Last delivery</th>
                  </tr>
                </thead>
                <tbody>
                  {destinations.data.map((destination) => (
                    <tr key={destination.name}>
                      <th scope="row"><a href="#/destinations">{destination.name}</a> <span class="muted">{destination.type}</span></th>
                      <td><StateBadge state={destination.status.state} /></td>
                      <td class="num">{formatNumber(destination.status.delivered)}</td>
                      <td class="num">{formatNumber(destination.status.failed_attempts)}</td>
                      <td class="num">{formatNumber(destination.status.dead_letters)}</td>
                      <td class="num">{formatNumber(destination.status.outbox)}</td>
                      <td>{destination.status.last_error ?? '—'}</td>
                      <td>{formatTime(destination.status.last_delivery_at)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          ) : null}
        </>
      )}
    </section>
  );
}
