// The console: sign-in gate, header and the page of the current hash route.
//
// The session (token and role) lives in sessionStorage. Any 401 from the server ends it and shows
// the sign-in page again, except an admin-only call made with the read token (that token is
// still good; the page says the call needs the admin token).

import { useEffect, useRef, useState } from 'preact/hooks';
import { api, onUnauthorized, setApiToken, type ApiError } from './api.ts';
import { Nav } from './components/Nav.tsx';
import { useHashRoute } from './hooks.ts';
import { sectionOf, type Route } from './route.ts';
import { clearSession, loadSession, saveSession, type Role, type Session } from './session.ts';
import { Login } from './pages/Login.tsx';
import { Overview } from './pages/Overview.tsx';
import { Debugger } from './pages/Debugger.tsx';
import { ProfileSearch } from './pages/ProfileSearch.tsx';
import { ProfilePage } from './pages/ProfilePage.tsx';
import { IdentityGraphPage } from './pages/IdentityGraphPage.tsx';
import { Audiences } from './pages/Audiences.tsx';
import { AudiencePage } from './pages/AudiencePage.tsx';
import { Destinations } from './pages/Destinations.tsx';

export function App() {
  const [session, setSession] = useState<Session | null>(() => {
    const stored = loadSession();
    if (stored) setApiToken(stored.token);
    return stored;
  });
  const [notice, setNotice] = useState<string | null>(null);
  const route = useHashRoute();
  const sessionRef = useRef(session);
  sessionRef.current = session;

  const logout = (message: string | null) => {
    clearSession();
    setApiToken('');
    setSession(null);
    setNotice(message);
  };

  useEffect(() => {
    onUnauthorized((error: ApiError) => {
      const current = sessionRef.current;
      if (!current) return;
      if (current.role === 'read' && error.code === 'invalid_admin_token') return;
      logout(`The server no longer accepts this token: ${error.message} (${error.code}). Sign in again.`);
    });
  }, []);

  // A session kept from before a reload is checked again: the server may have a new token now.
  useEffect(() => {
    if (!session) return;
    api<{ role: Role }>('/v1/console/whoami').then(
      ({ data }) => {
        if (data.role !== session.role) {
          const updated = { ...session, role: data.role };
          saveSession(updated);
          setSession(updated);
        }
      },
      () => {},
    );
  }, []);

  if (!session) {
    return (
      <Login
        notice={notice}
        onLogin={(next) => {
          saveSession(next);
          setApiToken(next.token);
          setNotice(null);
          setSession(next);
          if (!location.hash || location.hash === '#/' || location.hash === '#') location.hash = '#/overview';
        }}
      />
    );
  }

  return (
    <>
      <a class="skip-link" href="#main" onClick={skipToMain}>Skip to content</a>
      <Nav section={sectionOf(route)} role={session.role} onLogout={() => logout('You have logged out.')} />
      <main id="main" tabIndex={-1}>
        <Page route={route} role={session.role} />
      </main>
    </>
  );
}

// The skip link must not change the hash (the hash is the route), so it moves focus itself.
function skipToMain(event: Event) {
  event.preventDefault();
  document.getElementById('main')?.focus();
}

function Page({ route, role }: { route: Route; role: Role }) {
  // A new page moves focus to its heading, so screen readers announce where they are.
  useEffect(() => {
    document.querySelector<HTMLElement>('main h1')?.focus({ preventScroll: true });
  }, [route.page, 'id' in route ? route.id : '', 'name' in route ? route.name : '']);

  switch (route.page) {
    case 'overview':
      return <Overview role={role} />;
    case 'debugger':
      return <Debugger role={role} />;
    case 'profiles':
      return <ProfileSearch role={role} />;
    case 'profile':
      return <ProfilePage id={route.id} />;
    case 'graph':
      return <IdentityGraphPage id={route.id} role={role} />;
    case 'audiences':
      return <Audiences role={role} />;
    case 'audience':
      return <AudiencePage name={route.name} role={role} />;
    case 'destinations':
      return <Destinations role={role} />;
    case 'not_found':
      return (
        <section>
          <h1 tabIndex={-1}>Page not found</h1>
          <p>
            There is no page at <code>#{route.path}</code>. <a href="#/overview">Go to the overview</a>.
          </p>
        </section>
      );
  }
}
