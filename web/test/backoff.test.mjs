// Reconnection delays of the live stream, and waiting them out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffDelay, BACKOFF_MAX_MS, sleep } from '../.test-build/backoff.js';

test('delays double from about a second and stop growing at the maximum', () => {
  assert.equal(backoffDelay(0, 1 - Number.EPSILON), 1000);
  assert.equal(backoffDelay(0, 0), 800);
  assert.equal(backoffDelay(3, 0.5), 7200);
  assert.equal(backoffDelay(50, 0.99), Math.round(BACKOFF_MAX_MS * (0.8 + 0.2 * 0.99)));
});

test('sleep waits, or ends at once when aborted, and leaves no listener behind', async () => {
  let started = Date.now();
  await sleep(30, new AbortController().signal);
  assert.ok(Date.now() - started >= 25, 'waited');

  const controller = new AbortController();
  started = Date.now();
  const waiting = sleep(60000, controller.signal);
  setTimeout(() => controller.abort(), 10);
  await waiting;
  assert.ok(Date.now() - started < 5000, 'the abort ended the wait');

  await sleep(60000, controller.signal);  // already aborted: at once

  const listening = new AbortController();
  let added = 0;
  let removed = 0;
  const signal = listening.signal;
  const add = signal.addEventListener.bind(signal);
  const remove = signal.removeEventListener.bind(signal);
  signal.addEventListener = (...args) => { added++; add(...args); };
  signal.removeEventListener = (...args) => { removed++; remove(...args); };
  await sleep(1, signal);
  assert.deepEqual([added, removed], [1, 1]);
});
