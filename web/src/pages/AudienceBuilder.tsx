// The audience builder: a condition in the condition language (docs/audiences.md), its size
// while typing, where the server says it is wrong, and saving it under a name.
//
// API (admin token): POST /admin/v1/audiences/preview?sample=10 300 ms after the typing stops
// (the previous preview is aborted; past the server's budget the size is an estimate, and "Count
// exactly" asks again with {"exact": true}), PUT /admin/v1/audiences/{name} with {"condition",
// "description"}.

import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, api, describeError, isAbort } from '../api.ts';
import { conditionErrorPlace, conditionErrorText, type ConditionErrorPlace } from '../condition.ts';
import { formatNumber } from '../format.ts';
import { useDebounced } from '../hooks.ts';
import { routeHref } from '../route.ts';
import type { Audience, AudiencePreview } from '../types.ts';

export interface BuilderDraft {
  name: string;
  condition: string;
  description: string;
}

type PreviewState =
  | { state: 'empty' }
  | { state: 'checking' }
  | { state: 'ok'; preview: AudiencePreview }
  | { state: 'invalid'; message: string; place: ConditionErrorPlace | null }
  | { state: 'failed'; message: string };

const EXAMPLE = 'trait.plan = "pro" and performed "Order Completed" at least 2 times in last 30 days';

export function AudienceBuilder({ draft, onSaved }: { draft: BuilderDraft | null; onSaved: () => void }) {
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [condition, setCondition] = useState('');
  const [preview, setPreview] = useState<PreviewState>({ state: 'empty' });
  // The condition whose size was asked for exactly (it stays estimated once the text changes).
  const [exactFor, setExactFor] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const [saveError, setSaveError] = useState<string | null>(null);
  const textarea = useRef<HTMLTextAreaElement>(null);
  const settled = useDebounced(condition, 300);
  // A save answered after the page was left must not move the page.
  const shown = useRef(true);
  useEffect(() => () => { shown.current = false; }, []);

  useEffect(() => {
    if (!draft) return;
    setName(draft.name);
    setDescription(draft.description);
    setCondition(draft.condition);
  }, [draft]);

  // Another text goes back to an estimate, also when the counted one comes back.
  useEffect(() => {
    if (exactFor !== null && exactFor !== settled) setExactFor(null);
  }, [settled, exactFor]);
  const exact = exactFor === settled;

  useEffect(() => {
    if (settled.trim() === '') {
      setPreview({ state: 'empty' });
      return;
    }
    const controller = new AbortController();
    setPreview({ state: 'checking' });
    api<AudiencePreview>('/admin/v1/audiences/preview?sample=10', {
      method: 'POST', body: { condition: settled, exact }, signal: controller.signal,
    }).then(
      ({ data }) => setPreview({ state: 'ok', preview: data }),
      (caught) => {
        if (isAbort(caught)) return;
        if (caught instanceof ApiError && caught.code === 'invalid_definition') {
          setPreview({ state: 'invalid', message: caught.message, place: conditionErrorPlace(caught.message, settled) });
        } else {
          setPreview({ state: 'failed', message: describeError(caught) });
        }
      },
    );
    return () => controller.abort();
  }, [settled, exact]);

  const goToError = (place: ConditionErrorPlace) => {
    const element = textarea.current;
    if (!element) return;
    element.focus();
    element.setSelectionRange(place.offset, Math.min(element.value.length, place.offset + 1));
  };

  const save = async (event: Event) => {
    event.preventDefault();
    setSaveError(null);
    const trimmed = name.trim();
    if (!trimmed) {
      setSaveError('Give the audience a name (1-200 characters, no "/").');
      return;
    }
    if (trimmed.includes('/')) {
      setSaveError(`An audience name cannot hold "/": ${trimmed}`);
      return;
    }
    setSaving(true);
    try {
      const body: Record<string, string> = { condition };
      if (description.trim()) body.description = description.trim();
      // 200: applied; 202: still being applied, which the audience's page shows with its progress.
      await api<Audience>(`/admin/v1/audiences/${encodeURIComponent(trimmed)}`, { method: 'PUT', body });
      if (!shown.current) return;
      onSaved();
      location.hash = routeHref({ page: 'audience', name: trimmed });
    } catch (caught) {
      if (caught instanceof ApiError && caught.code === 'invalid_definition') {
        const place = conditionErrorPlace(caught.message, condition);
        setPreview({ state: 'invalid', message: caught.message, place });
      }
      setSaveError(describeError(caught));
    } finally {
      setSaving(false);
    }
  };

  const invalid = preview.state === 'invalid';
  return (
    <section class="card" aria-labelledby="builder-heading">
      <h2 id="builder-heading">Build an audience</h2>
      <form onSubmit={save} class="builder" data-testid="audience-builder">
        <div class="field">
          <label for="audience-condition">Condition</label>
          <p id="audience-condition-help" class="hint">
            In the condition language, e.g. <code>{EXAMPLE}</code>. See docs/audiences.md.
          </p>
          <textarea
            id="audience-condition"
            ref={textarea}
            rows={5}
            spellcheck={false}
            value={condition}
            onInput={(event) => setCondition(event.currentTarget.value)}
            aria-describedby="audience-condition-help audience-preview"
            aria-invalid={invalid ? true : undefined}
            data-testid="audience-condition"
          />
        </div>
        <div id="audience-preview" class="preview" aria-live="polite" aria-atomic="true" data-testid="audience-preview" data-state={preview.state}>
          <PreviewView preview={preview} onGoToError={goToError} onCountExactly={() => setExactFor(settled)} />
        </div>
        <div class="inline-form">
          <div class="field">
            <label for="audience-name">Name</label>
            <input id="audience-name" value={name} onInput={(event) => setName(event.currentTarget.value)} data-testid="audience-name" />
          </div>
          <div class="field field--grow">
            <label for="audience-description">Description <span class="muted">(optional)</span></label>
            <input id="audience-description" value={description} onInput={(event) => setDescription(event.currentTarget.value)} />
          </div>
          <button type="submit" disabled={saving || condition.trim() === ''} data-testid="audience-save">
            {saving ? 'Saving…' : 'Save'}
          </button>
        </div>
        {saveError ? <p class="error" role="alert" data-testid="audience-save-error">{saveError}</p> : null}
      </form>
    </section>
  );
}

function PreviewView({ preview, onGoToError, onCountExactly }: {
  preview: PreviewState;
  onGoToError: (place: ConditionErrorPlace) => void;
  onCountExactly: () => void;
}) {
  switch (preview.state) {
    case 'empty':
      return <p class="muted">Type a condition to see how many profiles hold it now.</p>;
    case 'checking':
      return <p class="muted">Counting…</p>;
    case 'failed':
      return <p class="error">{preview.message}</p>;
    case 'invalid':
      return (
        <div class="error" data-testid="audience-condition-error">
          {preview.place ? (
            <>
              <p>
                Line {preview.place.line}, column {preview.place.column}: {conditionErrorText(preview.message)}
              </p>
              <pre class="error-place" aria-hidden="true">{preview.place.lineText}{'\n'}{preview.place.marker}</pre>
              <button type="button" class="secondary small" onClick={() => preview.place && onGoToError(preview.place)}>
                Go to the error
              </button>
            </>
          ) : <p>{preview.message}</p>}
        </div>
      );
    case 'ok': {
      const { size, exact, size_low: low, size_high: high, candidates, read, profiles, sample, elapsed_ms: elapsed } = preview.preview;
      return (
        <div>
          {exact ? (
            <p>
              <strong data-testid="audience-preview-size">{formatNumber(size)}</strong> {size === 1 ? 'profile holds' : 'profiles hold'} this
              condition now <span class="muted">({formatNumber(profiles)} read in {formatNumber(elapsed)} ms)</span>
            </p>
          ) : (
            <p>
              About <strong data-testid="audience-preview-size">{formatNumber(size)}</strong> profiles hold this condition now{' '}
              <span class="muted" data-testid="audience-preview-estimate">
                (95% likely between {formatNumber(low)} and {formatNumber(high)}: estimated from {formatNumber(read)} of
                {' '}{formatNumber(candidates)} candidates in {formatNumber(elapsed)} ms)
              </span>{' '}
              <button type="button" class="secondary small" data-testid="audience-preview-exact" onClick={onCountExactly}>
                Count exactly
              </button>
            </p>
          )}
          {sample.length > 0 ? (
            <p class="sample">
              For example:{' '}
              {sample.map((id, index) => (
                <span key={id}>{index > 0 ? ', ' : ''}<a href={routeHref({ page: 'profile', id })}>{id}</a></span>
              ))}
            </p>
          ) : null}
        </div>
      );
    }
  }
}
