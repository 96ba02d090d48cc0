// The audience page's feed of entries and exits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addNewest, addOlder, changeKey } from '../.test-build/changes.js';

const change = (profile, second, type = 'entered') =>
  ({ profile, type, time: `2026-01-01T00:00:${String(second).padStart(2, '0')}Z` });
const profiles = (feed) => feed.changes.map((c) => `${c.profile}@${Number(c.time.slice(17, 19))}`);

test('the first page is the feed, with the cursor for older changes', () => {
  const feed = addNewest(null, { changes: [change('p_2', 5), change('p_1', 3)], next: 'c1' });
  assert.deepEqual(profiles(feed), ['p_2@5', 'p_1@3']);
  assert.equal(feed.older, 'c1');
  assert.deepEqual(addNewest(null, { changes: [], next: null }), { changes: [], older: null });
});

test('polling adds new changes on top and keeps the rest, and the same change once', () => {
  let feed = addNewest(null, { changes: [change('p_2', 5), change('p_1', 3)], next: 'c1' });
  const same = addNewest(feed, { changes: [change('p_2', 5), change('p_1', 3)], next: 'c1' });
  assert.equal(same, feed, 'nothing new: the same object, so nothing renders again');
  feed = addNewest(feed, { changes: [change('p_3', 9), change('p_2', 7, 'exited'), change('p_2', 5)], next: 'c0' });
  assert.deepEqual(profiles(feed), ['p_3@9', 'p_2@7', 'p_2@5', 'p_1@3']);
  assert.equal(feed.changes[1].type, 'exited');
  assert.equal(feed.older, 'c1', 'the cursor for older changes stays');
});

test('a profile that entered, left and entered again shows all three', () => {
  let feed = addNewest(null, { changes: [change('p_1', 1)], next: null });
  feed = addNewest(feed, { changes: [change('p_1', 3), change('p_1', 2, 'exited'), change('p_1', 1)], next: null });
  assert.deepEqual(feed.changes.map(changeKey), [change('p_1', 3), change('p_1', 2, 'exited'), change('p_1', 1)].map(changeKey));
});

test('a full page with nothing known means a gap: the feed starts again from it', () => {
  let feed = addNewest(null, { changes: [change('p_1', 1)], next: null });
  feed = addNewest(feed, { changes: [change('p_9', 9), change('p_8', 8)], next: 'c8' });
  assert.deepEqual(profiles(feed), ['p_9@9', 'p_8@8']);
  assert.equal(feed.older, 'c8', 'Load older continues from the new page');
  // A page that is not full holds everything since: no gap.
  feed = addNewest(feed, { changes: [change('p_10', 10)], next: null });
  assert.deepEqual(profiles(feed), ['p_10@10', 'p_9@9', 'p_8@8']);
  assert.equal(feed.older, 'c8');
});

test('an empty feed takes the first page that has changes, with its cursor', () => {
  let feed = addNewest(null, { changes: [], next: null });
  feed = addNewest(feed, { changes: [change('p_1', 1)], next: 'c1' });
  assert.deepEqual([profiles(feed), feed.older], [['p_1@1'], 'c1']);
});

test('older pages go at the end, without repeats, and end at a null cursor', () => {
  let feed = addNewest(null, { changes: [change('p_3', 3), change('p_2', 2)], next: 'c2' });
  feed = addOlder(feed, { changes: [change('p_2', 2), change('p_1', 1)], next: null });
  assert.deepEqual(profiles(feed), ['p_3@3', 'p_2@2', 'p_1@1']);
  assert.equal(feed.older, null);
});

test('a change the server rewrote (out and back within a millisecond) shows as it ended', () => {
  const first = addNewest(null, { changes: [change('p_1', 5, 'exited'), change('p_2', 4)], next: null });
  const later = addNewest(first, { changes: [change('p_1', 5, 'entered'), change('p_2', 4)], next: null });
  assert.deepEqual(later.changes.map((c) => [c.profile, c.type]), [['p_1', 'entered'], ['p_2', 'entered']]);
});
