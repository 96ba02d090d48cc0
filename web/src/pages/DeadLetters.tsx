// A destination's dead letters: the messages it gave up on, why, every attempt, and replay.
//
// API (admin token): GET /admin/v1/destinations/{name}/dead-letters?limit=50&after=ID, and
// POST /admin/v1/destinations/{name}/dead-letters/replay with {"ids": [...]} for the chosen ones
// or no body for all (the first 10,000), after a confirmation. It answers {"replayed": N}.

import { useEffect, useState } from 'preact/hooks';
import { api, describeError, query } from '../api.ts';
import { Dialog } from '../components/Dialog.tsx';
import { ErrorMessage } from '../components/ErrorMessage.tsx';
import { JsonView } from '../components/JsonView.tsx';
import { failuresByReason } from '../failures.ts';
import { formatNumber, formatTime } from '../format.ts';
import type { DeadLetter, DeadLettersPage } from '../types.ts';

const PAGE = 50;

export function DeadLetters({ name, onReplayed }: { name: string; onReplayed: () => void }) {
  const [letters, setLetters] = useState<DeadLetter[]>([]);
  const [next, setNext] = useState<number | null>(null);
  const [chosen, setChosen] = useState<Set<number>>(new Set());
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [result, setResult] = useState<string | null>(null);
  const [confirm, setConfirm] = useState<'chosen' | 'all' | null>(null);
  const base = `/admin/v1/destinations/${encodeURIComponent(name)}/dead-letters`;

  const load = async (after: number | null, replace: boolean) => {
    setBusy(true);
    try {
      const { data } = await api<DeadLettersPage>(`${base}${query({ limit: PAGE, after })}`);
      setLetters((existing) => (replace ? data.dead_letters : [...existing, ...data.dead_letters]));
      setNext(data.next ?? null);
      setError(null);
    } catch (caught) {
      setError(describeError(caught));
    } finally {
      setBusy(false);
    }
  };

  useEffect(() => {
    void load(null, true);
  }, [name]);

  const replay = async (which: 'chosen' | 'all') => {
    setConfirm(null);
    setBusy(true);
    setResult(null);
    setError(null);
    try {
      const body = which === 'chosen' ? { ids: [...chosen] } : undefined;
      const { data } = await api<{ replayed: number }>(`${base}/replay`, { method: 'POST', body });
      setResult(`${formatNumber(data.replayed)} dead ${data.replayed === 1 ? 'letter' : 'letters'} went back into the outbox; they are retried at once with a new retry window.`);
      setChosen(new Set());
      onReplayed();
      await load(null, true);
    } catch (caught) {
      setError(describeError(caught));
    } finally {
      setBusy(false);
    }
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
      {failures.length > 0 ? (
        <p data-testid="failures-by-reason">
          Failures by reason{next ? ' (of those loaded)' : ''}:{' '}
          {failures.map(([reason, count], index) => (
            <span key={reason}>{index > 0 ? ', ' : ''}<strong>{reason}</strong> × {formatNumber(count)}</span>
          ))}
        </p>
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
            <button type="button" class="secondary" disabled={busy} onClick={() => void load(next, false)}>Load more dead letters</button>
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
