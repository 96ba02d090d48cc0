// The Segment/RudderStack tracking API of a real `cdp`, over plain HTTP (fetch): paths, write
// keys, body formats, limits, per-item rejections, timestamps, dedup (also across a restart),
// CORS, the settings document, /metrics and /healthz.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { basicAuth, startServer } from './lib/server.mjs';
import { metricValue } from './lib/checks.mjs';

const WRITE_KEY = 'wk_web';
const OTHER_KEY = 'wk_app';
const DISABLED_KEY = 'wk_retired';
const MAX_BATCH_EVENTS = 3;
const MAX_BODY_KB = 64;

const SOURCES = [
  { name: 'web', writeKey: WRITE_KEY },
  { name: 'app', writeKey: OTHER_KEY },
  { name: 'retired', writeKey: DISABLED_KEY, enabled: false },
];

function uid(label) {
  return `${label}-${randomUUID()}`;
}

// POSTs `body` (an object is sent as JSON; a string or Buffer as is) to `path`.
async function post(server, path, body, { writeKey = WRITE_KEY, headers = {} } = {}) {
  const allHeaders = { 'Content-Type': 'application/json', ...headers };
  if (writeKey !== null && !('Authorization' in headers)) allHeaders.Authorization = basicAuth(writeKey);
  const response = await fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: allHeaders,
    body: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, json, text };
}

async function recordsWith(server, messageIds) {
  const wanted = new Set(messageIds);
  return (await server.events()).filter((record) => wanted.has(record.event.messageId));
}

async function recordOf(server, messageId) {
  const records = await recordsWith(server, [messageId]);
  assert.equal(records.length, 1, `${messageId} stored ${records.length} times`);
  return records[0];
}

function assertJsonError(response, status, code) {
  assert.equal(response.status, status, response.text);
  assert.match(response.headers.get('content-type'), /application\/json/);
  assert.equal(response.json?.error?.code, code, response.text);
  assert.equal(typeof response.json.error.message, 'string');
  assert.ok(response.json.error.message.length > 0);
}

// A valid event of `type` (the body of a single-event path or a batch item).
function eventOf(type, messageId, extra = {}) {
  const base = { messageId, userId: 'user-1', ...extra };
  switch (type) {
    case 'identify': return { traits: { plan: 'pro' }, ...base };
    case 'track': return { event: 'Signed Up', properties: { plan: 'pro' }, ...base };
    case 'page': return { name: 'Home', properties: { path: '/' }, ...base };
    case 'screen': return { name: 'Settings', ...base };
    case 'group': return { groupId: 'org-1', traits: { name: 'Acme' }, ...base };
    case 'alias': return { previousId: 'anon-1', ...base };
    default: throw new Error(type);
  }
}

describe('tracking API', () => {
  let server;

  before(async () => {
    server = await startServer({
      sources: SOURCES,
      limits: { max_batch_events: MAX_BATCH_EVENTS, max_body_kb: MAX_BODY_KB },
    });
  });

  after(async () => {
    await server?.stop();
    server?.cleanup();
  });

  describe('paths', () => {
    const singlePaths = [
      ['identify', 'identify'], ['i', 'identify'],
      ['track', 'track'], ['t', 'track'],
      ['page', 'page'], ['p', 'page'],
      ['screen', 'screen'], ['s', 'screen'],
      ['group', 'group'], ['g', 'group'],
      ['alias', 'alias'], ['a', 'alias'],
    ];
    for (const [path, type] of singlePaths) {
      it(`POST /v1/${path} stores one ${type} event`, async () => {
        const messageId = uid(path);
        const response = await post(server, `/v1/${path}`, eventOf(type, messageId));
        assert.equal(response.status, 200, response.text);
        assert.deepEqual(response.json, { success: true, accepted: 1, duplicates: 0, rejected: [] });
        const record = await recordOf(server, messageId);
        assert.equal(record.source, 'web');
        assert.equal(record.event.type, type);
        assert.equal(record.event.userId, 'user-1');
        if (type === 'track') assert.equal(record.event.event, 'Signed Up');
        if (type === 'alias') assert.equal(record.event.previousId, 'anon-1');
        if (type === 'group') assert.equal(record.event.groupId, 'org-1');
      });
    }

    for (const path of ['batch', 'b', 'import']) {
      it(`POST /v1/${path} stores every item of a batch, in order`, async () => {
        const ids = ['identify', 'track', 'page', 'screen', 'group', 'alias'].map((type) => [type, uid(path)]);
        // Six items, but the batch limit is MAX_BATCH_EVENTS: send them in two requests.
        for (let i = 0; i < ids.length; i += MAX_BATCH_EVENTS) {
          const batch = ids.slice(i, i + MAX_BATCH_EVENTS).map(([type, id]) => ({ type, ...eventOf(type, id) }));
          const response = await post(server, `/v1/${path}`, { batch });
          assert.equal(response.status, 200, response.text);
          assert.equal(response.json.accepted, batch.length);
          assert.deepEqual(response.json.rejected, []);
        }
        const records = await recordsWith(server, ids.map(([, id]) => id));
        assert.deepEqual(records.map((record) => [record.event.type, record.event.messageId]), ids);
        const seqs = records.map((record) => record.seq);
        assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b));
      });
    }

    it('assigns a messageId when the client sends none', async () => {
      const marker = uid('no-message-id');
      const response = await post(server, '/v1/track', { userId: 'user-1', event: 'Clicked', properties: { marker } });
      assert.equal(response.status, 200, response.text);
      const records = (await server.events()).filter((record) => record.event.properties?.marker === marker);
      assert.equal(records.length, 1);
      assert.ok(records[0].event.messageId.length > 0);
    });

    it('answers 405 to GET on a tracking path and 404 JSON to an unknown path', async () => {
      const get = await fetch(`${server.url}/v1/track`);
      assert.equal(get.status, 405);
      assert.equal((await get.json()).error.code, 'method_not_allowed');
      const unknown = await post(server, '/v1/nothing-here', { userId: 'u', event: 'e' });
      assertJsonError(unknown, 404, 'not_found');
    });
  });

  describe('write keys', () => {
    it('takes the write key from the body', async () => {
      const messageId = uid('body-key');
      const response = await post(server, '/v1/track', { writeKey: WRITE_KEY, ...eventOf('track', messageId) },
        { writeKey: null });
      assert.equal(response.status, 200, response.text);
      const record = await recordOf(server, messageId);
      assert.equal(record.source, 'web');
      assert.equal(record.event.writeKey, undefined, 'the write key is not stored with the event');
    });

    it('takes the write key from Basic auth (key as user name, empty password)', async () => {
      const messageId = uid('basic-key');
      const response = await post(server, '/v1/track', eventOf('track', messageId), { writeKey: OTHER_KEY });
      assert.equal(response.status, 200, response.text);
      assert.equal((await recordOf(server, messageId)).source, 'app');
    });

    it('takes the write key from the body when Authorization is a Bearer token', async () => {
      const messageId = uid('bearer-key');
      const response = await post(server, '/v1/batch',
        { writeKey: OTHER_KEY, batch: [{ type: 'track', ...eventOf('track', messageId) }] },
        { headers: { Authorization: 'Bearer some-oauth-token' } });
      assert.equal(response.status, 200, response.text);
      assert.equal((await recordOf(server, messageId)).source, 'app');
    });

    it('refuses an unknown, a disabled or a missing write key with 401 JSON and stores nothing', async () => {
      const before = metricValue(await server.metrics(), 'cdp_requests_rejected_total{reason="invalid_write_key"}');
      const ids = [];
      for (const [label, options, bodyKey] of [
        ['unknown', { writeKey: 'wk_nobody' }, undefined],
        ['unknown-in-body', { writeKey: null }, 'wk_nobody'],
        ['disabled', { writeKey: DISABLED_KEY }, undefined],
        ['missing', { writeKey: null }, undefined],
      ]) {
        const messageId = uid(label);
        ids.push(messageId);
        const body = { ...eventOf('track', messageId), ...(bodyKey ? { writeKey: bodyKey } : {}) };
        const response = await post(server, '/v1/track', body, options);
        assertJsonError(response, 401, 'invalid_write_key');
        if (label === 'disabled') assert.match(response.json.error.message, /disabled/);
      }
      assert.deepEqual(await recordsWith(server, ids), []);
      const afterCount = metricValue(await server.metrics(), 'cdp_requests_rejected_total{reason="invalid_write_key"}');
      assert.equal(afterCount - before, 4);
    });
  });

  describe('bodies', () => {
    it('accepts Content-Type text/plain (what browsers send to avoid a preflight)', async () => {
      const messageId = uid('text-plain');
      const response = await post(server, '/v1/t', JSON.stringify(eventOf('track', messageId)),
        { headers: { 'Content-Type': 'text/plain' } });
      assert.equal(response.status, 200, response.text);
      await recordOf(server, messageId);
    });

    it('accepts a gzip-compressed body', async () => {
      const messageId = uid('gzip');
      const body = gzipSync(JSON.stringify({ batch: [{ type: 'track', ...eventOf('track', messageId) }] }));
      const response = await post(server, '/v1/batch', body, { headers: { 'Content-Encoding': 'gzip' } });
      assert.equal(response.status, 200, response.text);
      assert.equal((await recordOf(server, messageId)).event.event, 'Signed Up');
    });

    it('refuses a corrupt gzip body with 400 and an unknown encoding with 415', async () => {
      const corrupt = await post(server, '/v1/track', Buffer.from('not gzip at all'),
        { headers: { 'Content-Encoding': 'gzip' } });
      assertJsonError(corrupt, 400, 'bad_gzip');
      const brotli = await post(server, '/v1/track', JSON.stringify(eventOf('track', uid('br'))),
        { headers: { 'Content-Encoding': 'br' } });
      assertJsonError(brotli, 415, 'unsupported_encoding');
      assert.match(brotli.json.error.message, /br/);
    });

    it('refuses a body over max_body_kb with 413 and stores nothing', async () => {
      const messageId = uid('oversize');
      const big = eventOf('track', messageId, { properties: { blob: 'x'.repeat(MAX_BODY_KB * 1024 + 100) } });
      const response = await post(server, '/v1/track', big);
      assertJsonError(response, 413, 'body_too_large');
      assert.deepEqual(await recordsWith(server, [messageId]), []);
    });

    it('refuses a gzip body that inflates past max_body_kb with 413', async () => {
      const messageId = uid('gzip-bomb');
      const body = gzipSync(JSON.stringify(eventOf('track', messageId, { properties: { blob: 'x'.repeat(1 << 20) } })));
      assert.ok(body.length < MAX_BODY_KB * 1024, 'compressed it is under the limit');
      const response = await post(server, '/v1/track', body, { headers: { 'Content-Encoding': 'gzip' } });
      assertJsonError(response, 413, 'body_too_large');
      assert.deepEqual(await recordsWith(server, [messageId]), []);
    });

    it('answers malformed JSON with 400 and an error that names the problem', async () => {
      const truncated = await post(server, '/v1/track', '{"userId": "u1", "event": "Clicked",');
      assertJsonError(truncated, 400, 'invalid_json');
      assert.match(truncated.json.error.message, /JSON/);
      assert.match(truncated.json.error.message, /ended early|unclosed|incomplete|truncated/i);

      const missingComma = await post(server, '/v1/track', '{"userId": "u1" "event": "Clicked"}');
      assertJsonError(missingComma, 400, 'invalid_json');
      assert.match(missingComma.json.error.message, /comma|structure/i);

      const notObject = await post(server, '/v1/track', '[1, 2]');
      assertJsonError(notObject, 400, 'invalid_json');
      assert.match(notObject.json.error.message, /object/);

      const noBatch = await post(server, '/v1/batch', { events: [] });
      assertJsonError(noBatch, 400, 'invalid_json');
      assert.match(noBatch.json.error.message, /"batch"/);

      const empty = await post(server, '/v1/track', '');
      assertJsonError(empty, 400, 'invalid_json');
      assert.match(empty.json.error.message, /empty/);
    });

    it('answers an invalid event on a single-event path with 400 naming the field', async () => {
      const messageId = uid('no-event-name');
      const response = await post(server, '/v1/track', { userId: 'u1', messageId, properties: {} });
      assertJsonError(response, 400, 'missing_event');
      assert.match(response.json.error.message, /event/);
      assert.deepEqual(await recordsWith(server, [messageId]), []);
    });
  });

  describe('batches', () => {
    it('stores the valid items and lists each rejected one with its index, messageId and code', async () => {
      const ids = Array.from({ length: 3 }, (_, i) => uid(`mixed-${i}`));
      const rejectedBefore = metricValue(await server.metrics(), 'cdp_events_rejected_total{reason="missing_event"}');
      const batchResponse = await post(server, '/v1/batch', {
        batch: [
          { type: 'track', ...eventOf('track', ids[0]) },
          { type: 'track', messageId: ids[1], userId: 'user-1', properties: {} },
          { type: 'identify', ...eventOf('identify', ids[2]) },
        ],
      });
      assert.equal(batchResponse.status, 200, batchResponse.text);
      assert.equal(batchResponse.json.accepted, 2);
      assert.equal(batchResponse.json.rejected.length, 1);
      const [rejected] = batchResponse.json.rejected;
      assert.equal(rejected.index, 1);
      assert.equal(rejected.messageId, ids[1]);
      assert.equal(rejected.code, 'missing_event');
      assert.equal(typeof rejected.reason, 'string');
      const stored = await recordsWith(server, ids);
      assert.deepEqual(stored.map((record) => record.event.messageId), [ids[0], ids[2]]);
      const rejectedAfter = metricValue(await server.metrics(), 'cdp_events_rejected_total{reason="missing_event"}');
      assert.equal(rejectedAfter - rejectedBefore, 1);
    });

    it('rejects items of several kinds, each with its own code', async () => {
      const ids = Array.from({ length: 3 }, (_, i) => uid(`kinds-${i}`));
      const response = await post(server, '/v1/b', {
        batch: [
          { type: 'track', event: 'Clicked', messageId: ids[0] },                     // no userId/anonymousId
          { type: 'launch', userId: 'u1', messageId: ids[1] },                          // unknown type
          { type: 'track', event: 'Clicked', anonymousId: 'anon-9', messageId: ids[2] }, // valid
        ],
      });
      assert.equal(response.status, 200, response.text);
      assert.deepEqual(response.json.rejected.map(({ index, messageId, code }) => ({ index, messageId, code })), [
        { index: 0, messageId: ids[0], code: 'missing_user_id' },
        { index: 1, messageId: ids[1], code: 'invalid_type' },
      ]);
      assert.deepEqual((await recordsWith(server, ids)).map((record) => record.event.messageId), [ids[2]]);
    });

    it(`rejects the items past max_batch_events (${MAX_BATCH_EVENTS}) one by one`, async () => {
      const ids = Array.from({ length: MAX_BATCH_EVENTS + 2 }, (_, i) => uid(`big-batch-${i}`));
      const response = await post(server, '/v1/batch', { batch: ids.map((id) => ({ type: 'track', ...eventOf('track', id) })) });
      assert.equal(response.status, 200, response.text);
      assert.equal(response.json.accepted, MAX_BATCH_EVENTS);
      assert.deepEqual(response.json.rejected.map(({ index, messageId, code }) => ({ index, messageId, code })),
        ids.slice(MAX_BATCH_EVENTS).map((id, i) => ({ index: MAX_BATCH_EVENTS + i, messageId: id, code: 'batch_too_large' })));
      assert.deepEqual((await recordsWith(server, ids)).map((record) => record.event.messageId), ids.slice(0, MAX_BATCH_EVENTS));
    });
  });

  describe('timestamps and context', () => {
    it('corrects the client clock skew with sentAt', async () => {
      // The client's clock is one day behind; the event happened 5 s before it was sent.
      const clientNow = Date.now() - 86400000;
      const messageId = uid('skew');
      const response = await post(server, '/v1/track', eventOf('track', messageId, {
        originalTimestamp: new Date(clientNow - 5000).toISOString(),
        sentAt: new Date(clientNow).toISOString(),
      }));
      assert.equal(response.status, 200, response.text);
      const { event, receivedAt } = await recordOf(server, messageId);
      assert.equal(Date.parse(event.timestamp), Date.parse(receivedAt) - 5000);
      assert.equal(event.originalTimestamp, new Date(clientNow - 5000).toISOString());
      assert.equal(event.receivedAt, receivedAt);
    });

    it('corrects clock skew with the batch envelope sentAt', async () => {
      const clientNow = Date.now() + 3600000; // an hour ahead
      const ids = [uid('envelope-skew-0'), uid('envelope-skew-1')];
      const response = await post(server, '/v1/batch', {
        sentAt: new Date(clientNow).toISOString(),
        batch: [
          { type: 'track', ...eventOf('track', ids[0], { timestamp: new Date(clientNow - 2000).toISOString() }) },
          { type: 'track', ...eventOf('track', ids[1], { timestamp: new Date(clientNow - 7000).toISOString() }) },
        ],
      });
      assert.equal(response.status, 200, response.text);
      const records = await recordsWith(server, ids);
      assert.equal(records.length, 2);
      assert.equal(Date.parse(records[0].event.timestamp), Date.parse(records[0].receivedAt) - 2000);
      assert.equal(Date.parse(records[1].event.timestamp), Date.parse(records[1].receivedAt) - 7000);
    });

    it('keeps the client timestamp without sentAt and uses receivedAt without either', async () => {
      const withTimestamp = uid('ts-only');
      const timestamp = '2021-03-04T05:06:07.089Z';
      assert.equal((await post(server, '/v1/track', eventOf('track', withTimestamp, { timestamp }))).status, 200);
      assert.equal((await recordOf(server, withTimestamp)).event.timestamp, timestamp);

      const bare = uid('no-ts');
      assert.equal((await post(server, '/v1/track', eventOf('track', bare))).status, 200);
      const record = await recordOf(server, bare);
      assert.equal(record.event.timestamp, record.receivedAt);
    });

    it('refuses a timestamp that is not ISO 8601', async () => {
      const response = await post(server, '/v1/track', eventOf('track', uid('bad-ts'), { timestamp: 'yesterday' }));
      assertJsonError(response, 400, 'invalid_timestamp');
      assert.match(response.json.error.message, /yesterday/);
    });

    it('sets context.ip from the connection and keeps one the client sent', async () => {
      const fromConnection = uid('ip-connection');
      assert.equal((await post(server, '/v1/track', eventOf('track', fromConnection, { context: { locale: 'de-DE' } }))).status, 200);
      const record = await recordOf(server, fromConnection);
      assert.equal(record.event.context.ip, '127.0.0.1');
      assert.equal(record.event.context.locale, 'de-DE');

      const fromClient = uid('ip-client');
      assert.equal((await post(server, '/v1/track', eventOf('track', fromClient, { context: { ip: '203.0.113.9' } }))).status, 200);
      assert.equal((await recordOf(server, fromClient)).event.context.ip, '203.0.113.9');
    });

    it('ignores X-Forwarded-For unless trust_forwarded_for is set', async () => {
      const messageId = uid('xff-untrusted');
      const response = await post(server, '/v1/track', eventOf('track', messageId),
        { headers: { 'X-Forwarded-For': '198.51.100.7' } });
      assert.equal(response.status, 200);
      assert.equal((await recordOf(server, messageId)).event.context.ip, '127.0.0.1');
    });
  });

  describe('deduplication', () => {
    it('stores a resent messageId once and counts the duplicate', async () => {
      const messageId = uid('resent');
      const before = metricValue(await server.metrics(), 'cdp_events_duplicate_total');
      const first = await post(server, '/v1/track', eventOf('track', messageId));
      assert.deepEqual(first.json, { success: true, accepted: 1, duplicates: 0, rejected: [] });
      const second = await post(server, '/v1/batch', { batch: [{ type: 'track', ...eventOf('track', messageId) }] });
      assert.equal(second.status, 200, 'a duplicate is acknowledged, so the client stops resending');
      assert.deepEqual(second.json, { success: true, accepted: 1, duplicates: 1, rejected: [] });
      await recordOf(server, messageId);
      assert.equal(metricValue(await server.metrics(), 'cdp_events_duplicate_total') - before, 1);
    });

    it('deduplicates within a source only', async () => {
      const messageId = uid('two-sources');
      assert.equal((await post(server, '/v1/track', eventOf('track', messageId))).json.duplicates, 0);
      assert.equal((await post(server, '/v1/track', eventOf('track', messageId), { writeKey: OTHER_KEY })).json.duplicates, 0);
      const records = await recordsWith(server, [messageId]);
      assert.deepEqual(records.map((record) => record.source).sort(), ['app', 'web']);
    });

    it('stores a messageId resent after a restart once', async () => {
      const own = await startServer({ sources: SOURCES });
      try {
        const messageId = uid('restart');
        assert.equal((await post(own, '/v1/track', eventOf('track', messageId))).json.duplicates, 0);
        await own.stop();
        await own.start();
        const again = await post(own, '/v1/track', eventOf('track', messageId));
        assert.equal(again.status, 200);
        assert.equal(again.json.duplicates, 1);
        await recordOf(own, messageId);
        assert.equal(metricValue(await own.metrics(), 'cdp_events_duplicate_total'), 1);
      } finally {
        await own.stop();
        own.cleanup();
      }
    });
  });

  describe('browsers', () => {
    it('answers a CORS preflight', async () => {
      const response = await fetch(`${server.url}/v1/batch`, {
        method: 'OPTIONS',
        headers: {
          Origin: 'https://shop.example',
          'Access-Control-Request-Method': 'POST',
          'Access-Control-Request-Headers': 'content-type, authorization',
        },
      });
      assert.equal(response.status, 204);
      assert.equal(response.headers.get('access-control-allow-origin'), 'https://shop.example');
      assert.match(response.headers.get('access-control-allow-methods'), /POST/);
      const allowed = response.headers.get('access-control-allow-headers').toLowerCase();
      for (const header of ['content-type', 'authorization', 'content-encoding']) assert.ok(allowed.includes(header), allowed);
    });

    it('adds CORS headers to answers, errors included', async () => {
      const ok = await post(server, '/v1/track', eventOf('track', uid('cors')), { headers: { Origin: 'https://shop.example' } });
      assert.equal(ok.status, 200);
      assert.equal(ok.headers.get('access-control-allow-origin'), 'https://shop.example');
      const denied = await post(server, '/v1/track', eventOf('track', uid('cors-401')),
        { writeKey: 'wk_nobody', headers: { Origin: 'https://shop.example' } });
      assert.equal(denied.status, 401);
      assert.equal(denied.headers.get('access-control-allow-origin'), 'https://shop.example');
    });

    it('serves the settings document pointing analytics.js back at this server', async () => {
      const response = await fetch(`${server.url}/v1/projects/${WRITE_KEY}/settings`);
      assert.equal(response.status, 200);
      const settings = await response.json();
      const segment = settings.integrations['Segment.io'];
      assert.equal(segment.apiKey, WRITE_KEY);
      assert.equal(`${segment.protocol}://${segment.apiHost}`, `${server.url}/v1`);
      assert.equal(segment.apiHost, `127.0.0.1:${server.port}/v1`);

      const unknown = await fetch(`${server.url}/v1/projects/wk_nobody/settings`);
      assert.equal(unknown.status, 404);
      assert.equal((await unknown.json()).error.code, 'invalid_write_key');
    });
  });

  describe('operations', () => {
    it('/metrics exposes the documented counters', async () => {
      const messageId = uid('metrics');
      const before = await server.metrics();
      assert.equal((await post(server, '/v1/track', eventOf('track', messageId))).status, 200);
      assert.equal((await post(server, '/v1/track', eventOf('track', messageId))).json.duplicates, 1);
      assert.equal((await post(server, '/v1/batch', { batch: [{ type: 'track', userId: 'u' }] })).status, 200);
      assert.equal((await post(server, '/v1/track', '{')).status, 400);
      const response = await fetch(`${server.url}/metrics`);
      assert.equal(response.status, 200);
      assert.match(response.headers.get('content-type'), /^text\/plain/);
      const afterText = await response.text();
      const delta = (sample) => metricValue(afterText, sample) - metricValue(before, sample);
      assert.equal(delta('cdp_events_accepted_total{source="web"}'), 1);
      assert.equal(delta('cdp_events_duplicate_total'), 1);
      assert.equal(delta('cdp_events_rejected_total{reason="missing_event"}'), 1);
      assert.equal(delta('cdp_requests_rejected_total{reason="invalid_json"}'), 1);
      assert.equal(delta('cdp_http_requests_total{route="tracking",code="200"}'), 3);
      assert.equal(delta('cdp_http_requests_total{route="tracking",code="400"}'), 1);
      assert.equal(delta('cdp_ingest_ack_latency_seconds_count'), 3, 'one per acknowledged request');
      assert.ok(delta('cdp_ingest_request_bytes_total') > 0);
      assert.equal(metricValue(afterText, 'cdp_raw_log_last_seq'), (await server.events()).at(-1).seq);
      assert.equal(metricValue(afterText, 'cdp_storage_available'), 1);
      for (const name of ['cdp_events_accepted_total', 'cdp_events_duplicate_total', 'cdp_events_rejected_total',
        'cdp_requests_rejected_total', 'cdp_http_requests_total', 'cdp_ingest_request_bytes_total']) {
        assert.match(afterText, new RegExp(`^# TYPE ${name} counter$`, 'm'));
      }
      assert.match(afterText, /^# TYPE cdp_ingest_ack_latency_seconds histogram$/m);
    });

    it('/healthz reports the server and its storage', async () => {
      const response = await fetch(`${server.url}/healthz`);
      assert.equal(response.status, 200);
      assert.deepEqual(await response.json(), { status: 'ok', storage: 'writable' });
    });
  });
});

describe('tracking API behind a proxy with restricted origins', () => {
  let server;

  before(async () => {
    server = await startServer({
      sources: SOURCES,
      server: {
        trust_forwarded_for: true,
        cors_origins: ['https://shop.example'],
        public_url: 'https://collect.example.com/',
      },
    });
  });

  after(async () => {
    await server?.stop();
    server?.cleanup();
  });

  it('takes context.ip from the first X-Forwarded-For address', async () => {
    const messageId = uid('xff');
    const response = await post(server, '/v1/track', eventOf('track', messageId),
      { headers: { 'X-Forwarded-For': '198.51.100.7, 10.0.0.1' } });
    assert.equal(response.status, 200, response.text);
    assert.equal((await recordOf(server, messageId)).event.context.ip, '198.51.100.7');
  });

  it('gives CORS headers only to configured origins', async () => {
    const preflight = (origin) => fetch(`${server.url}/v1/t`, {
      method: 'OPTIONS',
      headers: { Origin: origin, 'Access-Control-Request-Method': 'POST' },
    });
    const allowed = await preflight('https://shop.example');
    assert.equal(allowed.headers.get('access-control-allow-origin'), 'https://shop.example');
    const other = await preflight('https://evil.example');
    assert.equal(other.headers.get('access-control-allow-origin'), null);
  });

  it('points the settings document at public_url', async () => {
    const settings = await (await fetch(`${server.url}/v1/projects/${WRITE_KEY}/settings`)).json();
    assert.equal(settings.integrations['Segment.io'].protocol, 'https');
    assert.equal(settings.integrations['Segment.io'].apiHost, 'collect.example.com/v1');
  });
});
