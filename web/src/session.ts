// The signed-in token and its role, kept in sessionStorage: gone when the tab closes, never
// shared with other tabs, never in localStorage or a cookie.

export type Role = 'admin' | 'read';

export interface Session {
  token: string;
  role: Role;
}

const KEY = 'cdp.console.session';

export function loadSession(): Session | null {
  try {
    const stored = sessionStorage.getItem(KEY);
    if (!stored) return null;
    const parsed = JSON.parse(stored) as Partial<Session>;
    if (typeof parsed.token !== 'string' || (parsed.role !== 'admin' && parsed.role !== 'read')) return null;
    return { token: parsed.token, role: parsed.role };
  } catch {
    return null;
  }
}

export function saveSession(session: Session): void {
  sessionStorage.setItem(KEY, JSON.stringify(session));
}

export function clearSession(): void {
  sessionStorage.removeItem(KEY);
}
