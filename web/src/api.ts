// Calls to the cdp server: every request carries "Authorization: Bearer <token>", and every
// error becomes an ApiError with the server's stable code and one-line message.
//
// Lifecycle: App sets the token with setApiToken after sign-in and registers onUnauthorized, which
// it uses to go back to the sign-in page when the server stops accepting the token.

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface ApiAnswer<T> {
  status: number;
  data: T;
  // The path the answer came from after redirects (a merged-away profile answers 308).
  url: string;
}

export interface CallOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  body?: unknown;
  signal?: AbortSignal;
  // Use this token instead of the session's (sign-in checks a token before keeping it).
  token?: string;
  // Leave a 401 to the caller instead of ending the session (sign-in, role probes).
  quietUnauthorized?: boolean;
}

let currentToken = '';
let unauthorizedHandler: (error: ApiError) => void = () => {};

export function setApiToken(token: string): void {
  currentToken = token;
}

export function onUnauthorized(handler: (error: ApiError) => void): void {
  unauthorizedHandler = handler;
}

function headers(options: CallOptions, accept: string): Headers {
  const result = new Headers({ Accept: accept });
  const token = options.token ?? currentToken;
  if (token) result.set('Authorization', `Bearer ${token}`);
  if (options.body !== undefined) result.set('Content-Type', 'application/json');
  return result;
}

// Reads the error of a non-2xx answer: {"error":{"code","message"}} or, from something that is
// not cdp (a proxy), its status and text.
async function errorOf(response: Response): Promise<ApiError> {
  const text = await response.text().catch(() => '');
  try {
    const parsed = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
    if (parsed.error && typeof parsed.error.code === 'string') {
      return new ApiError(response.status, parsed.error.code, String(parsed.error.message ?? parsed.error.code));
    }
  } catch {
    // not JSON: fall through
  }
  const snippet = text.trim().slice(0, 200);
  return new ApiError(response.status, `http_${response.status}`,
    `the server answered HTTP ${response.status} ${response.statusText}${snippet ? `: ${snippet}` : ''}`);
}

// Sends a request; answers the raw Response when it is 2xx, throws ApiError otherwise (also for
// a network failure, code "network").
export async function request(path: string, options: CallOptions = {}, accept = 'application/json'): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(path, {
      method: options.method ?? 'GET',
      headers: headers(options, accept),
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: options.signal,
      cache: 'no-store',
    });
  } catch (cause) {
    if (cause instanceof DOMException && cause.name === 'AbortError') throw cause;
    throw new ApiError(0, 'network', `cannot reach the server (${String(cause)}); is cdp running?`);
  }
  if (response.ok) return response;
  const error = await errorOf(response);
  if (response.status === 401 && !options.quietUnauthorized) unauthorizedHandler(error);
  throw error;
}

// A JSON call. A 2xx without a body answers null data.
export async function api<T>(path: string, options: CallOptions = {}): Promise<ApiAnswer<T>> {
  const response = await request(path, options);
  const text = await response.text();
  let data: T;
  try {
    data = (text ? JSON.parse(text) : null) as T;
  } catch {
    throw new ApiError(response.status, 'invalid_answer', `the server's answer to ${path} is not JSON`);
  }
  return { status: response.status, data, url: new URL(response.url, location.href).pathname };
}

export async function apiText(path: string, options: CallOptions = {}): Promise<string> {
  const response = await request(path, options, 'text/plain');
  return response.text();
}

export function isAbort(error: unknown): boolean {
  return error instanceof DOMException && error.name === 'AbortError';
}

// One line for people: "message (code)".
export function describeError(error: unknown): string {
  if (error instanceof ApiError) return error.code.startsWith('http_') || error.code === 'network'
    ? error.message : `${error.message} (${error.code})`;
  return String(error instanceof Error ? error.message : error);
}

// A query string from the non-empty values, percent-encoded with %20 for spaces: the server
// reads '+' as itself, not as a space.
export function query(params: Record<string, string | number | null | undefined>): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(params)) {
    if (value === null || value === undefined || value === '') continue;
    parts.push(`${encodeURIComponent(key)}=${encodeURIComponent(String(value))}`);
  }
  return parts.length ? `?${parts.join('&')}` : '';
}
