// A destination's dead letters: the messages it gave up on, why, every attempt, and replay.
//
// API (admin token): GET /admin/v1/destinations/{name}/dead-letters?limit=50&after=ID, and
// POST /admin/v1/destinations/{name}/dead-letters/replay with {"ids": [...]} for the chosen ones
// or no body for all (the first 10,000), after a confirmation. It answers {"replayed": N}.
// Closing the panel aborts the reads under way.
//
// "Failures by reason" groups the loaded dead letters by their last attempt's error
// (failures.ts), beside the destination's own last error (its status' last_error), which may be
// a failure that is still being retried.

import { useEffect, useRef, useState } from 'preact/hooks';
import { api, describeError, isAbort, query } from '../api.ts';
import { Dialog } from '../components/Dialog.tsx';
import { ErrorMessage } from '../components/ErrorMessage.tsx';
import { JsonView } from '../components/JsonView.tsx';
import { failuresByReason } from '../failures.ts';
import { formatNumber, formatTime } from '../format.ts';
import type { DeadLetter, DeadLettersPage } from '../types.ts';

const PAGE = 50;

export function DeadLetters({ name, lastError, lastErrorAt, onReplayed }: {
  name: string; lastError?: string; lastErrorAt?: string; onReplayed: () => void;
}) {
  const [letters, setLetters] = useState<DeadLetter[]>([]);
  const [next, setNext] = useState<number | null>(null);
  const [chosen, setChosen] = useState<Set<number>>(new Set());
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [result, setResult] = useState<string | null>(null);
  const [confirm, setConfirm] = useState<'chosen' | 'all' | null>(null);
  const controller = useRef<AbortController | null>(null);
  const base = `/admin/v1/destinations/${encodeURIComponent(name)}/dead-letters`;

  // REQUIRES: called with the signal of the current controller.
  const load = async (after: number | null, replace: boolean, signal: AbortSignal) => {
    setBusy(true);
    try {
      const { data } = await api<DeadLettersPage>(`${base}${query({ limit: PAGE, after })}`, { signal });
      if (signal.aborted) return;
      setLetters((existing) => (replace ? data.dead_letters : [...existing, ...data.dead_letters]));
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
    setLetters([]);
    setNext(null);
    setChosen(new Set());
    void load(null, true, current.signal);
    return () => current.abort();
  }, [name]);

  const replay = async (which: 'chosen' | 'all') => {
    const signal = controller.current?.signal;
    if (!signal || signal.aborted) return;
    setConfirm(null);
    setBusy(true);
    setResult(null);
    setError(null);
    try {
      const body = which === 'chosen' ? { ids: [...chosen] } : undefined;
      const { data } = await api<{ replayed: number }>(`${base}/replay`, { method: 'POST', body, signal });
      if (signal.aborted) return;
      setResult(`${formatNumber(data.replayed)} dead ${data.replayed === 1 ? 'letter' : 'letters'} went back into the outbox; they are retried at once with a new retry window.`);
      setChosen(new Set());
      onReplayed();
      await load(null, true, signal);
    } catch (caught) {
      if (isAbort(caught) || signal.aborted) return;
      setError(describeError(caught));
    } finally {
      if (!signal.aborted) setBusy(false);
    }
  };

  const loadMore = () => {
    const signal = controller.current?.signal;
    if (signal && !signal.aborted && next !== null) void load(next, false, signal);
  };

  const toggle = (id: number) => {
    const updated = new Set(chosen);
    if (updated.has(id)) updated.delete(id);
    else updated.add(id);
    setChosen(updated);
  };

  const failures = failuresByReason(letters);
  return (
    <div class="dead-letters" data-testid="dead-letters">
      <ErrorMessage error={error} />
      {result ? <p class="note" role="status" data-testid="replay-result">{result}</p> : null}
      {letters.length === 0 && !busy && !error ? <p class="note">No dead letters.</p> : null}
      {failures.length > 0 || lastError ? (
        <div data-testid="failures-by-reason">
          <h3>Failures by reason</h3>
          <p class="hint">
            From the dead letters{next ? ' loaded so far' : ''}, each by its last attempt's error, and the destination's
            last error (which may still be retried).
          </p>
          {failures.length > 0 ? (
            <p>
              Dead letters:{' '}
              {failures.map(([reason, count], index) => (
                <span key={reason}>{index > 0 ? ', ' : ''}<strong>{reason}</strong> × {formatNumber(count)}</span>
              ))}
            </p>
          ) : null}
          {lastError ? (
            <p>
              The destination's last error: <strong>{lastError}</strong>{lastErrorAt ? ` at ${formatTime(lastErrorAt)}` : ''}
            </p>
          ) : null}
        </div>
      ) : null}
      {letters.length > 0 ? (
        <>
          <div class="actions">
            <button type="button" disabled={busy || chosen.size === 0} onClick={() => setConfirm('chosen')} data-testid="replay-chosen">
              Replay {formatNumber(chosen.size)} chosen
            </button>
            <button type="button" class="secondary" disabled={busy} onClick={() => setConfirm('all')} data-testid="replay-all">
              Replay all
            </button>
          </div>
          <ul class="letter-list">
            {letters.map((letter) => (
              <li key={letter.id} class="letter" data-testid="dead-letter">
                <input
                  type="checkbox"
                  id={`letter-${name}-${letter.id}`}
                  checked={chosen.has(letter.id)}
                  onChange={() => toggle(letter.id)}
                />
                <div>
                  <label for={`letter-${name}-${letter.id}`}>
                    #{letter.id} · <code>{letter.messageId}</code> · first attempt {formatTime(letter.first_attempt)}
                  </label>
                  <p class="reason">{letter.reason}</p>
                  <details>
                    <summary>Message and {formatNumber(letter.attempts.length)} {letter.attempts.length === 1 ? 'attempt' : 'attempts'}</summary>
                    <ol class="attempts">
                      {letter.attempts.map((attempt, index) => (
                        <li key={index}>{formatTime(attempt.at)}: {attempt.error ?? (attempt.status ? `HTTP ${attempt.status}` : 'failed')}</li>
                      ))}
                    </ol>
                    <JsonView value={letter.message} label={`Message ${letter.messageId}`} />
                  </details>
                </div>
              </li>
            ))}
          </ul>
          {next ? (
            <button type="button" class="secondary" disabled={busy} onClick={loadMore}>Load more dead letters</button>
          ) : null}
        </>
      ) : null}
      <Dialog
        open={confirm !== null}
        title={confirm === 'all' ? `Replay every dead letter of ${name}?` : `Replay ${chosen.size} dead letters of ${name}?`}
        onClose={() => setConfirm(null)}
        testId="replay-dialog"
      >
        <p>
          {confirm === 'all'
            ? 'The first 10,000 dead letters go back into the outbox and are sent again at once, each with a new retry window.'
            : 'The chosen dead letters go back into the outbox and are sent again at once, each with a new retry window.'}
        </p>
        <div class="dialog-actions">
          <button type="button" class="secondary" autofocus onClick={() => setConfirm(null)}>Cancel</button>
          <button type="button" onClick={() => confirm && void replay(confirm)} data-testid="replay-confirm">Replay</button>
        </div>
      </Dialog>
    </div>
  );
}
