// Dead letters counted by what went wrong, for a destination's "failures by reason" line.
//
// The reason text holds the destination's answer body (different for every message), so letters
// are grouped by their last attempt's error ("HTTP 422", "timeout") and, without attempts, by the
// reason up to its first colon. No DOM: unit-tested under plain node.

export interface FailureLike {
  reason: string;
  attempts: { error?: string; status?: number }[];
}

export function failureKey(letter: FailureLike): string {
  const last = letter.attempts[letter.attempts.length - 1];
  if (last?.error) return last.error;
  if (last?.status) return `HTTP ${last.status}`;
  const colon = letter.reason.indexOf(':');
  return colon > 0 ? letter.reason.slice(0, colon) : letter.reason || 'unknown';
}

// [reason, count], most frequent first (ties by name).
export function failuresByReason(letters: readonly FailureLike[]): [string, number][] {
  const counts = new Map<string, number>();
  for (const letter of letters) counts.set(failureKey(letter), (counts.get(failureKey(letter)) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}
