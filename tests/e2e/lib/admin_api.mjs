// Helpers for tests that drive the admin and read APIs.
import { ADMIN_TOKEN } from './server.mjs';

// One JSON call: {status, body} (body parsed, null when empty).
export async function api(server, target, { method = 'GET', body, token = ADMIN_TOKEN } = {}) {
  const response = await fetch(`${server.url}${target}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

// Calls `probe` every 100 ms until `ready` accepts what it returned; throws after `timeoutMs`
// with `what` and the last answer.
export async function eventually(probe, ready, what, timeoutMs = 60000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    last = await probe();
    if (ready(last)) return last;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${what} never happened; last: ${JSON.stringify(last)?.slice(0, 600)}`);
}
