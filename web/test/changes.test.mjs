// The audience page's feed of entries and exits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keepAudienceChanges, tailCursor } from '../.test-build/changes.js';

const change = (type, audience, seq) => ({ type, audience, profile: `p_${seq}`, time: '', cause: '', seq, cursor: `${seq}.0` });

test('only the entries and exits of the audience are kept, newest first, up to the limit', () => {
  let kept = keepAudienceChanges([], [
    change('audience_entered', 'vip', 1), change('traits_changed', undefined, 2), change('audience_entered', 'other', 3),
    change('audience_exited', 'vip', 4),
  ], 'vip', 3);
  assert.deepEqual(kept.map((c) => c.seq), [4, 1]);
  kept = keepAudienceChanges(kept, [change('audience_entered', 'vip', 5), change('audience_exited', 'vip', 6)], 'vip', 3);
  assert.deepEqual(kept.map((c) => c.seq), [6, 5, 4]);
});

test('the tail starts a window of seqs before the newest, or at the beginning', () => {
  assert.equal(tailCursor(50000, 20000), '30000.0');
  assert.equal(tailCursor(500, 20000), null);
});
