// Dead letters grouped by failure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { failuresByReason } from '../.test-build/failures.js';

test('letters group by their last error, most frequent first', () => {
  const letters = [
    { reason: 'refused by the destination: HTTP 422: {"error":"a"}', attempts: [{ status: 422, error: 'HTTP 422' }] },
    { reason: 'refused by the destination: HTTP 422: {"error":"b"}', attempts: [{ status: 422, error: 'HTTP 422' }] },
    { reason: 'still failing when its retry window of 4 hours had passed; last error: HTTP 503',
      attempts: [{ status: 500, error: 'HTTP 500' }, { status: 503 }] },
    { reason: 'message too large: 2 MB', attempts: [] },
  ];
  assert.deepEqual(failuresByReason(letters), [['HTTP 422', 2], ['HTTP 503', 1], ['message too large', 1]]);
});
