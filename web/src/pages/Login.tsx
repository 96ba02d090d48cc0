// Sign-in: the admin token or the read token, checked with GET /v1/console/whoami before it is
// kept. Write keys are refused by the server (they only ingest events).

import { useState } from 'preact/hooks';
import { ApiError, api, describeError } from '../api.ts';
import type { Role, Session } from '../session.ts';
import { useTitle } from '../hooks.ts';

export function Login({ onLogin, notice }: { onLogin: (session: Session) => void; notice: string | null }) {
  useTitle('Sign in');
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    const candidate = token.trim();
    if (!candidate) {
      setError('Paste the admin token or the read token of this server.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const { data } = await api<{ role: Role }>('/v1/console/whoami', { token: candidate, quietUnauthorized: true });
      if (data.role !== 'admin' && data.role !== 'read') throw new Error(`the server answered an unknown role: ${JSON.stringify(data.role)}`);
      onLogin({ token: candidate, role: data.role });
    } catch (caught) {
      const message = caught instanceof ApiError && caught.status === 401
        ? `${caught.message} (${caught.code}). Use the admin token or the read token; write keys cannot sign in.`
        : describeError(caught);
      setError(message);
      setBusy(false);
    }
  };

  return (
    <main id="main" class="login">
      <h1>cdp console</h1>
      {notice ? <p class="note" role="status">{notice}</p> : null}
      <form onSubmit={submit} data-testid="login-form" class="card">
        <label for="token">Token</label>
        <p id="token-help" class="hint">
          The admin token (<code>[server] admin_token</code>, or <code>&lt;data&gt;/admin-token</code>) or the read
          token (<code>[server] read_token</code>). It is kept in this tab only, until you log out or close it.
        </p>
        <input
          id="token"
          type="password"
          autocomplete="off"
          spellcheck={false}
          value={token}
          onInput={(event) => setToken(event.currentTarget.value)}
          aria-describedby="token-help login-error"
          aria-invalid={error ? true : undefined}
          data-testid="login-token"
          autofocus
        />
        <button type="submit" disabled={busy} data-testid="login-submit">
          {busy ? 'Checking…' : 'Sign in'}
        </button>
        <div id="login-error">{error ? <p class="error" role="alert" data-testid="login-error">{error}</p> : null}</div>
      </form>
    </main>
  );
}
