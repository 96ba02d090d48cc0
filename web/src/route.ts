// The console's pages as hash routes (#/overview, #/profiles/p_12/graph, ...).
//
// Rationale: hash routing needs no fallback route on the server and can never shadow an API
// path, since the part after # is not sent. Names in routes are percent-encoded, so an audience
// called "big spenders" is #/audiences/big%20spenders. No DOM: unit-tested under plain node.

export type Route =
  | { page: 'overview' }
  | { page: 'debugger' }
  | { page: 'profiles' }
  | { page: 'profile'; id: string }
  | { page: 'graph'; id: string }
  | { page: 'audiences' }
  | { page: 'audience'; name: string }
  | { page: 'destinations' }
  | { page: 'not_found'; path: string };

// Parses location.hash ("" and "#/" are the overview).
export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, '').replace(/\?.*$/, '');
  const parts = path.split('/').filter((part) => part !== '');
  let decoded: string[];
  try {
    decoded = parts.map((part) => decodeURIComponent(part));
  } catch {
    return { page: 'not_found', path };
  }
  const [first, second, third] = decoded;
  if (decoded.length === 0) return { page: 'overview' };
  switch (first) {
    case 'overview':
    case 'debugger':
    case 'destinations':
      return decoded.length === 1 ? { page: first } : { page: 'not_found', path };
    case 'profiles':
      if (decoded.length === 1) return { page: 'profiles' };
      if (decoded.length === 2) return { page: 'profile', id: second };
      if (decoded.length === 3 && third === 'graph') return { page: 'graph', id: second };
      return { page: 'not_found', path };
    case 'audiences':
      if (decoded.length === 1) return { page: 'audiences' };
      if (decoded.length === 2) return { page: 'audience', name: second };
      return { page: 'not_found', path };
    default:
      return { page: 'not_found', path };
  }
}

// The hash of a route, the inverse of parseRoute.
export function routeHref(route: Route): string {
  switch (route.page) {
    case 'profile':
      return `#/profiles/${encodeURIComponent(route.id)}`;
    case 'graph':
      return `#/profiles/${encodeURIComponent(route.id)}/graph`;
    case 'audience':
      return `#/audiences/${encodeURIComponent(route.name)}`;
    case 'not_found':
      return `#${route.path}`;
    default:
      return `#/${route.page}`;
  }
}

// Which navigation entry a route belongs to (profile pages under "Profiles").
export function sectionOf(route: Route): string {
  switch (route.page) {
    case 'profile':
    case 'graph':
      return 'profiles';
    case 'audience':
      return 'audiences';
    case 'not_found':
      return '';
    default:
      return route.page;
  }
}
