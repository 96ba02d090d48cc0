// The entries and exits of one audience, newest first, from pages of
// GET /v1/audiences/{name}/changes?limit=N[&before=CURSOR].
//
// The server answers the newest changes first, and `next`, the cursor to pass as `before` for
// older ones (null at the oldest). The audience page polls the first page for new changes and
// pages back with "Load older"; both are merged here, a change known by its profile and time
// (the server keeps one record per profile and millisecond: a profile that left and came back
// within one shows as it ended, so a later answer's type replaces an earlier one's). No DOM:
// unit-tested under plain node.

export interface AudienceChange {
  profile: string;
  type: string;
  time: string;
}

export interface AudienceChangesPage {
  changes: AudienceChange[];
  next: string | null;
}

// What the page shows: changes newest first, and the cursor for older ones (null: none older,
// or nothing older to ask for).
export interface ChangeFeed {
  changes: AudienceChange[];
  older: string | null;
}

export function changeKey(change: AudienceChange): string {
  return `${change.profile}\u0000${change.time}`;
}

// Adds a first page (newest changes) to the feed; `feed` null: the first answer.
//
// When the page is full (`next` set) and shares no change with a non-empty feed, more changes
// came than a page holds and some between the two are unknown: the feed starts again from this
// page, with its cursor for the older ones, rather than hide a gap.
export function addNewest(feed: ChangeFeed | null, page: AudienceChangesPage): ChangeFeed {
  const fresh = page.changes;
  if (!feed || feed.changes.length === 0) return { changes: [...fresh], older: page.next };
  const known = new Set(feed.changes.map(changeKey));
  const unknown = fresh.filter((change) => !known.has(changeKey(change)));
  const answered = new Map(fresh.map((change) => [changeKey(change), change]));
  const updated = feed.changes.map((change) => {
    const now = answered.get(changeKey(change));
    return now && now.type !== change.type ? now : change;
  });
  const rewritten = updated.some((change, i) => change !== feed.changes[i]);
  if (unknown.length === 0) return rewritten ? { changes: updated, older: feed.older } : feed;
  if (unknown.length === fresh.length && page.next !== null) return { changes: [...fresh], older: page.next };
  return { changes: newestFirst([...unknown, ...updated]), older: feed.older };
}

// Adds an older page (the answer to `before=feed.older`) at the end of the feed.
export function addOlder(feed: ChangeFeed, page: AudienceChangesPage): ChangeFeed {
  const known = new Set(feed.changes.map(changeKey));
  const unknown = page.changes.filter((change) => !known.has(changeKey(change)));
  return { changes: [...feed.changes, ...unknown], older: page.next };
}

// Sorted by time, newest first; changes at the same time keep their order (Array.sort is stable).
function newestFirst(changes: AudienceChange[]): AudienceChange[] {
  const at = (change: AudienceChange) => {
    const time = Date.parse(change.time);
    return Number.isNaN(time) ? -Infinity : time;
  };
  return changes.sort((a, b) => at(b) - at(a));
}
