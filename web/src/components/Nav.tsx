// The header: the console's name, the pages, the role, and signing out.
//
// Below 900 px the page links fold behind a "Menu" button (aria-expanded); the links stay plain
// links so they work with the keyboard and without the menu script.

import { useEffect, useState } from 'preact/hooks';
import type { Role } from '../session.ts';

const PAGES = [
  { section: 'overview', href: '#/overview', label: 'Overview' },
  { section: 'debugger', href: '#/debugger', label: 'Live events' },
  { section: 'profiles', href: '#/profiles', label: 'Profiles' },
  { section: 'audiences', href: '#/audiences', label: 'Audiences' },
  { section: 'destinations', href: '#/destinations', label: 'Destinations' },
];

export function Nav({ section, role, onLogout }: { section: string; role: Role; onLogout: () => void }) {
  const [open, setOpen] = useState(false);
  // A chosen page closes the folded menu.
  useEffect(() => setOpen(false), [section]);
  return (
    <header class="topbar">
      <a class="brand" href="#/overview">cdp console</a>
      <button
        type="button"
        class="menu-toggle"
        aria-expanded={open}
        aria-controls="main-nav"
        onClick={() => setOpen(!open)}
        data-testid="nav-toggle"
      >
        Menu
      </button>
      <nav id="main-nav" aria-label="Pages" class={open ? 'nav nav--open' : 'nav'}>
        <ul>
          {PAGES.map((page) => (
            <li key={page.section}>
              <a
                href={page.href}
                aria-current={page.section === section ? 'page' : undefined}
                data-testid={`nav-${page.section}`}
                onClick={() => setOpen(false)}
              >
                {page.label}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <div class="session">
        <span class="role" data-testid="role">{role === 'admin' ? 'Admin' : 'Read only'}</span>
        <button type="button" class="secondary" onClick={onLogout} data-testid="logout">
          Log out
        </button>
      </div>
    </header>
  );
}
