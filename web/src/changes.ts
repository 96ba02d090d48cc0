// The entries and exits of one audience, newest first, from pages of GET /admin/v1/changes.
//
// The change log is read oldest first and has no filter, so the audience page reads it from a
// starting point, keeps the changes of its audience and shows the latest few. No DOM: unit-tested.

export interface ChangeRecord {
  type: string;
  audience?: string;
  profile: string;
  user_id?: string;
  traits?: Record<string, unknown>;
  time: string;
  cause: string;
  seq: number;
  cursor: string;
}

// Adds a page (oldest first) to what was kept (newest first): the entries and exits of
// `audience`, newest first, at most `keep` of them.
export function keepAudienceChanges(
  kept: readonly ChangeRecord[],
  page: readonly ChangeRecord[],
  audience: string,
  keep: number,
): ChangeRecord[] {
  const fresh = page
    .filter((change) => change.audience === audience &&
      (change.type === 'audience_entered' || change.type === 'audience_exited'))
    .reverse();
  return [...fresh, ...kept].slice(0, keep);
}

// The `after` cursor to start reading from so that about the last `window` raw log entries are
// covered: the change log's cursors are "<seq>.<index>" and any seq may start a page. Null means
// "from the beginning".
export function tailCursor(lastSeq: number, window: number): string | null {
  const start = lastSeq - window;
  return start > 0 ? `${start}.0` : null;
}
