// Reconnection delays of the live stream.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffDelay, BACKOFF_MAX_MS } from '../.test-build/backoff.js';

test('delays double from about a second and stop growing at the maximum', () => {
  assert.equal(backoffDelay(0, 1 - Number.EPSILON), 1000);
  assert.equal(backoffDelay(0, 0), 800);
  assert.equal(backoffDelay(3, 0.5), 7200);
  assert.equal(backoffDelay(50, 0.99), Math.round(BACKOFF_MAX_MS * (0.8 + 0.2 * 0.99)));
});
