// The official Segment Node.js SDK (@segment/analytics-node) against a real `cdp`: every call
// type is stored once, with the fields the SDK sent, also when the server (or the network) fails
// once and the SDK retries or resends a batch.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Analytics } from '@segment/analytics-node';
import { startServer } from './lib/server.mjs';
import { startFaultProxy } from './lib/proxy.mjs';
import { assertServerTimes, metricValue, storedOnce } from './lib/checks.mjs';

const WRITE_KEY = 'wk_segment_node';

// Sends one call of each type with messageIds `${prefix}-<type>`; returns what each should store.
function sendEveryCall(analytics, prefix) {
  const expected = [
    {
      call: 'identify',
      params: { userId: 'user-1', traits: { email: 'ada@example.com', plan: 'pro' } },
      check: (event) => {
        assert.equal(event.userId, 'user-1');
        assert.deepEqual(event.traits, { email: 'ada@example.com', plan: 'pro' });
      },
    },
    {
      call: 'track',
      params: { anonymousId: 'anon-1', event: 'Order Completed', properties: { total: 42.5, items: ['a', 'b'] } },
      check: (event) => {
        assert.equal(event.anonymousId, 'anon-1');
        assert.equal(event.userId, undefined);
        assert.equal(event.event, 'Order Completed');
        assert.deepEqual(event.properties, { total: 42.5, items: ['a', 'b'] });
      },
    },
    {
      call: 'page',
      params: { userId: 'user-1', category: 'Docs', name: 'Install', properties: { path: '/docs/install' } },
      check: (event) => {
        assert.equal(event.userId, 'user-1');
        assert.equal(event.name, 'Install');
        assert.equal(event.category, 'Docs');
        assert.equal(event.properties.path, '/docs/install');
      },
    },
    {
      call: 'screen',
      params: { userId: 'user-1', name: 'Settings', properties: { tab: 'billing' } },
      check: (event) => {
        assert.equal(event.userId, 'user-1');
        assert.equal(event.name, 'Settings');
        assert.equal(event.properties.tab, 'billing');
      },
    },
    {
      call: 'group',
      params: { userId: 'user-1', groupId: 'org-7', traits: { name: 'Acme', employees: 12 } },
      check: (event) => {
        assert.equal(event.userId, 'user-1');
        assert.equal(event.groupId, 'org-7');
        assert.deepEqual(event.traits, { name: 'Acme', employees: 12 });
      },
    },
    {
      call: 'alias',
      params: { userId: 'user-1', previousId: 'anon-1' },
      check: (event) => {
        assert.equal(event.userId, 'user-1');
        assert.equal(event.previousId, 'anon-1');
      },
    },
  ];
  for (const item of expected) {
    item.messageId = `${prefix}-${item.call}`;
    analytics[item.call]({ ...item.params, messageId: item.messageId });
  }
  return expected;
}

function newAnalytics(host, options = {}) {
  const analytics = new Analytics({ writeKey: WRITE_KEY, host, flushAt: 2, flushInterval: 200, maxRetries: 3, ...options });
  const errors = [];
  analytics.on('error', (error) => errors.push(error));
  const requests = [];
  analytics.on('http_request', (request) => requests.push(request));
  return { analytics, errors, requests };
}

// Checks that each expected call was stored exactly once with the SDK's fields.
async function assertStored(server, prefix, expected, startedMs) {
  const stored = await storedOnce(server, prefix);
  assert.equal(stored.size, expected.length, `stored: ${[...stored.keys()].join(', ')}`);
  for (const item of expected) {
    const record = stored.get(item.messageId);
    assert.ok(record, `${item.messageId} was stored`);
    assert.equal(record.source, 'segment');
    const { event } = record;
    assert.equal(event.type, item.call);
    assert.equal(event.messageId, item.messageId);
    assert.equal(event.context.library.name, '@segment/analytics-node');
    assert.match(event.context.library.version, /^3\./);
    assert.equal(event.writeKey, undefined, 'the write key is not stored with the event');
    // The SDK sets `timestamp`; the server keeps it as originalTimestamp and corrects it by sentAt.
    assert.ok(event.originalTimestamp, 'originalTimestamp kept');
    assertServerTimes(record, startedMs, event.originalTimestamp);
    item.check(event);
  }
  return stored;
}

describe('@segment/analytics-node against cdp', () => {
  let server;

  before(async () => {
    server = await startServer({ sources: [{ name: 'segment', writeKey: WRITE_KEY }] });
  });

  after(async () => {
    await server?.stop();
    server?.cleanup();
  });

  it('stores every call type exactly once with its fields', async () => {
    const prefix = `seg-${randomUUID()}`;
    const startedMs = Date.now();
    const { analytics, errors, requests } = newAnalytics(server.url);
    const expected = sendEveryCall(analytics, prefix);
    await analytics.closeAndFlush({ timeout: 30000 });
    assert.deepEqual(errors, []);
    assert.equal(requests.length, 3, 'six calls in batches of two');
    assert.ok(requests.every((request) => request.url === `${server.url}/v1/batch`));
    await assertStored(server, prefix, expected, startedMs);
  });

  it('retries a batch the server answered 503 and stores it once', async () => {
    const prefix = `seg-${randomUUID()}`;
    const startedMs = Date.now();
    const proxy = await startFaultProxy(server.url, (index) => (index === 0 ? 'fail-503' : 'forward'));
    try {
      const { analytics, errors } = newAnalytics(proxy.url);
      const expected = sendEveryCall(analytics, prefix);
      await analytics.closeAndFlush({ timeout: 30000 });
      assert.deepEqual(errors, []);
      assert.equal(proxy.requests.length, 4, 'three batches and one retry');
      const failed = JSON.parse(proxy.requests[0].body);
      const retry = proxy.requests.find((request) => request.index > 0 && request.headers['x-retry-count'] === '1');
      assert.ok(retry, 'the SDK retried with X-Retry-Count: 1');
      assert.deepEqual(JSON.parse(retry.body).batch.map((event) => event.messageId),
        failed.batch.map((event) => event.messageId));
      await assertStored(server, prefix, expected, startedMs);
    } finally {
      await proxy.close();
    }
  });

  for (const action of ['forward-then-disconnect', 'forward-then-503']) {
    it(`deduplicates a batch the SDK resends after ${action === 'forward-then-503' ? 'a 503' : 'a lost answer'}`,
      async () => {
        const prefix = `seg-${randomUUID()}`;
        const startedMs = Date.now();
        const duplicatesBefore = metricValue(await server.metrics(), 'cdp_events_duplicate_total');
        const proxy = await startFaultProxy(server.url, (index) => (index === 0 ? action : 'forward'));
        try {
          const { analytics, errors } = newAnalytics(proxy.url);
          const expected = sendEveryCall(analytics, prefix);
          await analytics.closeAndFlush({ timeout: 30000 });
          assert.deepEqual(errors, []);
          assert.equal(proxy.requests.length, 4, 'three batches and one resend');
          const first = proxy.requests[0];
          assert.equal(first.upstreamStatus, 200, 'the server stored the first delivery');
          const firstIds = JSON.parse(first.body).batch.map((event) => event.messageId);
          const resend = proxy.requests.slice(1).find((request) =>
            JSON.stringify(JSON.parse(request.body).batch.map((event) => event.messageId)) === JSON.stringify(firstIds));
          assert.ok(resend, 'the SDK resent the same batch');
          assert.equal(resend.upstreamStatus, 200);
          assert.equal(JSON.parse(resend.upstreamBody).duplicates, firstIds.length);
          await assertStored(server, prefix, expected, startedMs);
          const duplicatesAfter = metricValue(await server.metrics(), 'cdp_events_duplicate_total');
          assert.equal(duplicatesAfter - duplicatesBefore, firstIds.length);
        } finally {
          await proxy.close();
        }
      });
  }
});
