// The official RudderStack Node.js SDK (@rudderstack/rudder-sdk-node) against a real `cdp`: every
// call type is stored once with the fields the SDK sent (gzip-compressed, as the SDK sends by
// default), also when the server fails once and the SDK retries or resends a batch.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { gunzipSync } from 'node:zlib';
import Analytics from '@rudderstack/rudder-sdk-node';
import { startServer } from './lib/server.mjs';
import { startFaultProxy } from './lib/proxy.mjs';
import { assertServerTimes, metricValue, storedOnce } from './lib/checks.mjs';

const WRITE_KEY = 'wk_rudder_node';
const SDK_VERSION = createRequire(import.meta.url)('@rudderstack/rudder-sdk-node/package.json').version;

const CALLS = [
  {
    call: 'identify',
    params: { userId: 'user-1', traits: { email: 'ada@example.com', plan: 'pro' } },
    check: (event) => {
      assert.equal(event.userId, 'user-1');
      assert.deepEqual(event.traits, { email: 'ada@example.com', plan: 'pro' });
      assert.deepEqual(event.context.traits, { email: 'ada@example.com', plan: 'pro' });
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
      assert.deepEqual(event.properties, { path: '/docs/install' });
    },
  },
  {
    call: 'screen',
    params: { userId: 'user-1', name: 'Settings', properties: { tab: 'billing' } },
    check: (event) => {
      assert.equal(event.userId, 'user-1');
      assert.equal(event.name, 'Settings');
      assert.deepEqual(event.properties, { tab: 'billing' });
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

// Sends one call of each type with messageIds `${prefix}-<type>` and waits until the SDK reports
// each delivered (its per-call callback). Returns the expectations and the callbacks' errors.
async function sendEveryCall(dataPlaneUrl, prefix) {
  const handlerErrors = [];
  const client = new Analytics(WRITE_KEY, {
    dataPlaneUrl,
    flushAt: 2,
    flushInterval: 100,
    retryCount: 3,
    logLevel: 'none',
    errorHandler: (error) => handlerErrors.push(error),
  });
  const expected = CALLS.map((item) => ({ ...item, messageId: `${prefix}-${item.call}` }));
  const delivered = expected.map(
    (item) => new Promise((resolve) => client[item.call]({ ...item.params, messageId: item.messageId }, resolve)),
  );
  await client.flush();
  const callbackErrors = (await Promise.all(delivered)).filter(Boolean);
  assert.deepEqual(callbackErrors, [], 'every call was delivered');
  assert.deepEqual(handlerErrors, []);
  return expected;
}

async function assertStored(server, prefix, expected, startedMs) {
  const stored = await storedOnce(server, prefix);
  assert.equal(stored.size, expected.length, `stored: ${[...stored.keys()].join(', ')}`);
  for (const item of expected) {
    const record = stored.get(item.messageId);
    assert.ok(record, `${item.messageId} was stored`);
    assert.equal(record.source, 'rudder');
    const { event } = record;
    assert.equal(event.type, item.call);
    assert.equal(event.messageId, item.messageId);
    assert.equal(event.channel, 'server');
    // The RudderStack SDK names itself "analytics-node".
    assert.deepEqual(event.context.library, { name: 'analytics-node', version: SDK_VERSION });
    assert.ok(event.originalTimestamp, 'originalTimestamp kept');
    assertServerTimes(record, startedMs, event.originalTimestamp);
    item.check(event);
  }
}

// The messageIds of a request the proxy saw, after checking it was gzip-compressed.
function gzippedMessageIds(request) {
  assert.equal(request.headers['content-encoding'], 'gzip');
  assert.equal(request.body[0], 0x1f, 'gzip magic');
  assert.equal(request.body[1], 0x8b, 'gzip magic');
  const body = JSON.parse(gunzipSync(request.body));
  return body.batch.map((event) => event.messageId);
}

describe('@rudderstack/rudder-sdk-node against cdp', () => {
  let server;

  before(async () => {
    server = await startServer({ sources: [{ name: 'rudder', writeKey: WRITE_KEY }] });
  });

  after(async () => {
    await server?.stop();
    server?.cleanup();
  });

  it('stores every call type exactly once, sent gzip-compressed with Basic auth', async () => {
    const prefix = `rs-${randomUUID()}`;
    const startedMs = Date.now();
    const proxy = await startFaultProxy(server.url);
    try {
      const expected = await sendEveryCall(proxy.url, prefix);
      assert.ok(proxy.requests.length >= 3, `${proxy.requests.length} requests`);
      const sent = [];
      for (const request of proxy.requests) {
        assert.equal(request.url, '/v1/batch');
        assert.equal(request.headers.authorization, `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}`);
        assert.equal(request.upstreamStatus, 200, request.upstreamBody);
        sent.push(...gzippedMessageIds(request));
      }
      assert.deepEqual(sent.sort(), expected.map((item) => item.messageId).sort());
      await assertStored(server, prefix, expected, startedMs);
    } finally {
      await proxy.close();
    }
  });

  it('stores every call type sent straight to the server', async () => {
    const prefix = `rs-${randomUUID()}`;
    const startedMs = Date.now();
    const expected = await sendEveryCall(server.url, prefix);
    await assertStored(server, prefix, expected, startedMs);
  });

  it('retries a batch the server answered 503 and stores it once', async () => {
    const prefix = `rs-${randomUUID()}`;
    const startedMs = Date.now();
    const proxy = await startFaultProxy(server.url, (index) => (index === 0 ? 'fail-503' : 'forward'));
    try {
      const expected = await sendEveryCall(proxy.url, prefix);
      const failedIds = gzippedMessageIds(proxy.requests[0]);
      const forwarded = proxy.requests.filter((request) => request.action === 'forward');
      assert.equal(forwarded.length, proxy.requests.length - 1);
      assert.ok(forwarded.some((request) => JSON.stringify(gzippedMessageIds(request)) === JSON.stringify(failedIds)),
        'the SDK retried the failed batch');
      await assertStored(server, prefix, expected, startedMs);
    } finally {
      await proxy.close();
    }
  });

  for (const action of ['forward-then-503', 'forward-then-disconnect']) {
    it(`deduplicates a batch the SDK resends after ${action === 'forward-then-503' ? 'a 503' : 'a lost answer'}`,
      async () => {
        const prefix = `rs-${randomUUID()}`;
        const startedMs = Date.now();
        const duplicatesBefore = metricValue(await server.metrics(), 'cdp_events_duplicate_total');
        const proxy = await startFaultProxy(server.url, (index) => (index === 0 ? action : 'forward'));
        try {
          const expected = await sendEveryCall(proxy.url, prefix);
          const first = proxy.requests[0];
          assert.equal(first.upstreamStatus, 200, 'the server stored the first delivery');
          const firstIds = gzippedMessageIds(first);
          const resend = proxy.requests.slice(1).find(
            (request) => JSON.stringify(gzippedMessageIds(request)) === JSON.stringify(firstIds));
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
