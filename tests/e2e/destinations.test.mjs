// Destinations on a running server: events sent with the Segment Node.js SDK reach webhooks
// (signed, batched) through 5xx bursts, 429s with Retry-After, timeouts, connection resets and a
// SIGKILL of the server, at least once and with nothing lost; a failing destination does not hold
// up another; refused messages become dead letters that replay; consent is honoured; audience
// changes are delivered; SSRF targets are refused; audiences are exported to files with
// identifiers hashed for ad platforms.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Analytics } from '@segment/analytics-node';
import { startServer } from './lib/server.mjs';
import { api, eventually } from './lib/admin_api.mjs';
import { startReceiver } from './lib/receiver.mjs';

const WRITE_KEY = 'wk_destinations';
const SECRET = 'whsec_e2e';


function sendTracks(analytics, prefix, n, extra = {}) {
  const ids = [];
  for (let i = 0; i < n; i++) {
    const messageId = `${prefix}-${i}`;
    ids.push(messageId);
    analytics.track({ messageId, userId: `user-${i % 7}`, event: 'Order Completed', properties: { total: i }, ...extra });
  }
  return ids;
}

describe('destinations', () => {
  let server;
  let analytics;
  let flaky;   // scripted failures, defined in the config file
  let steady;  // always answers 200, defined through the API
  before(async () => {
    // A 503 burst, a 429 with Retry-After, a timeout, a reset and every tenth request a 500,
    // with successes between them (so the backoff stays in seconds); 200 otherwise.
    flaky = await startReceiver({
      secret: SECRET,
      script: (request, index) => {
        if (index < 2) return { status: 503 };
        if (index === 3) return { status: 429, headers: { 'Retry-After': '1' } };
        if (index === 5) return { delayMs: 1500 };
        if (index === 7) return { reset: true };
        if (index % 10 === 0) return { status: 500 };
        return {};
      },
    });
    steady = await startReceiver({ secret: SECRET });
    server = await startServer({
      sources: [{ name: 'backend', writeKey: WRITE_KEY }],
      extraToml: [
        '[activation]',
        'allowed_networks = ["127.0.0.0/8"]',
        '[[destinations]]',
        'name = "flaky"',
        'type = "webhook"',
        `url = "${flaky.url}"`,
        `secret = "${SECRET}"`,
        'batch_size = 20',
        'timeout_ms = 1000',
        'events = { types = ["track"] }',
      ].join('\n'),
    });
    analytics = new Analytics({ writeKey: WRITE_KEY, host: server.url, flushAt: 50 });
  });
  after(async () => {
    await analytics?.closeAndFlush();
    await server?.stop();
    server?.cleanup();
    await flaky?.close();
    await steady?.close();
  });

  it('refuses bad definitions, config-file destinations and SSRF targets, saying why', async () => {
    let answer = await api(server, '/admin/v1/destinations/bad', { method: 'PUT', body: { type: 'webhook', url: 'ftp://x/', events: {} } });
    assert.equal(answer.status, 400);
    assert.match(answer.body.error.message, /http:\/\/ or https:\/\//);
    answer = await api(server, '/admin/v1/destinations/flaky', { method: 'PUT', body: { type: 'webhook', url: steady.url, events: {} } });
    assert.equal(answer.status, 409);
    assert.match(answer.body.error.message, /config file/);

    answer = await api(server, '/admin/v1/destinations/metadata', {
      method: 'PUT', body: { type: 'webhook', url: 'http://169.254.169.254/latest/meta-data', events: {} },
    });
    assert.equal(answer.status, 200);
    answer = await api(server, '/admin/v1/destinations/metadata/test', { method: 'POST' });
    assert.equal(answer.body.ok, false);
    assert.match(answer.body.error, /169\.254\.169\.254 is a link-local address.*SSRF/);
    answer = await api(server, '/admin/v1/destinations/metadata/sample', { method: 'POST' });
    assert.equal(answer.body.delivered, false);
    assert.match(answer.body.error, /SSRF/);
    assert.equal((await api(server, '/admin/v1/destinations/metadata', { method: 'DELETE' })).status, 200);
    assert.equal((await api(server, '/admin/v1/destinations/metadata')).status, 404);
  });

  it('delivers every event at least once through failures and a SIGKILL, without holding up another destination', async () => {
    let answer = await api(server, '/admin/v1/destinations/steady', {
      method: 'PUT',
      body: { type: 'webhook', url: steady.url, secret: SECRET, batch_size: 50, events: { types: ['track'] } },
    });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.equal(answer.body.signed, true);
    assert.equal(answer.body.secret, undefined, 'the secret is never answered');
    // What GET answers can be sent back as it is: the secret stays (every request below is
    // checked for it).
    const shown = await api(server, '/admin/v1/destinations/steady');
    answer = await api(server, '/admin/v1/destinations/steady', { method: 'PUT', body: shown.body });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.equal(answer.body.signed, true);
    answer = await api(server, '/admin/v1/destinations/steady/test', { method: 'POST' });
    assert.deepEqual(answer.body, { ok: true });
    answer = await api(server, '/admin/v1/destinations/steady/sample', { method: 'POST' });
    assert.equal(answer.body.delivered, true);
    assert.equal(answer.body.status, 200);

    const first = sendTracks(analytics, 'a', 200);
    await analytics.closeAndFlush();
    // The steady destination has everything while the flaky one is still working through its
    // failures.
    await eventually(() => first.filter((id) => steady.delivered.has(id)).length, (n) => n === 200, 'steady delivery');
    const flakyWhenSteadyDone = first.filter((id) => flaky.delivered.has(id)).length;
    assert.ok(flakyWhenSteadyDone < 200, `flaky had ${flakyWhenSteadyDone} of 200 when steady finished`);

    // Crash while the flaky destination is mid-way, then more events.
    await eventually(() => flaky.delivered.size, (n) => n > 0, 'a first flaky delivery');
    await server.kill();
    await server.start();
    analytics = new Analytics({ writeKey: WRITE_KEY, host: server.url, flushAt: 50 });
    const second = sendTracks(analytics, 'b', 100);
    await analytics.closeAndFlush();
    const all = [...first, ...second];
    await eventually(() => all.filter((id) => flaky.delivered.has(id)).length, (n) => n === all.length, 'flaky delivery', 120000);
    await eventually(() => all.filter((id) => steady.delivered.has(id)).length, (n) => n === all.length, 'steady delivery');
    assert.equal(flaky.badSignatures + steady.badSignatures, 0, 'every request was signed');
    console.log(`flaky: ${flaky.requests} requests, ${flaky.duplicates()} duplicates; steady: ${steady.duplicates()} duplicates`);

    // Each message's history says what happened to it: one in the first (503) request was
    // retried until delivered.
    const firstFailed = flaky.requestIds[0][0];
    const history = await eventually(() => api(server, `/admin/v1/destinations/flaky/messages/${firstFailed}`),
      (a) => a.body?.state === 'delivered', 'the delivery record');
    assert.ok(history.body.attempts.length >= 2, JSON.stringify(history.body));
    assert.equal(history.body.attempts[0].error, 'HTTP 503');
    const flakyInfo = await eventually(
      async () => (await api(server, '/admin/v1/destinations')).body.destinations.find((d) => d.name === 'flaky'),
      (info) => info.status.outbox === 0, 'an empty outbox');
    assert.equal(flakyInfo.configured, true);
    assert.equal(flakyInfo.status.dead_letters, 0);
    const metrics = await server.metrics();
    assert.match(metrics, /cdp_delivery_messages_total\{destination="steady",outcome="delivered"\} \d+/);
  });

  it('keeps refused messages as dead letters that replay, and honours consent', async () => {
    let refuse = true;
    const picky = await startReceiver({
      script: (request) => (refuse && request.json.event === 'Bad Event' ? { status: 400, body: '{"error":"unknown event"}' } : {}),
    });
    try {
      let answer = await api(server, '/admin/v1/destinations/picky', {
        method: 'PUT',
        body: { type: 'webhook', url: picky.url, events: {}, consent_categories: ['Advertising'] },
      });
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      analytics = new Analytics({ writeKey: WRITE_KEY, host: server.url, flushAt: 10 });
      analytics.track({ messageId: 'bad-1', userId: 'u1', event: 'Bad Event' });
      analytics.track({ messageId: 'good-1', userId: 'u1', event: 'Good Event' });
      analytics.track({ messageId: 'denied-1', userId: 'u1', event: 'Good Event', context: { consent: { categoryPreferences: { Advertising: false } } } });
      analytics.track({ messageId: 'granted-1', userId: 'u1', event: 'Good Event', context: { consent: { categoryPreferences: { Advertising: true } } } });
      await analytics.closeAndFlush();
      await eventually(() => picky.messages(), (ids) => ids.includes('granted-1'), 'delivery to picky');
      assert.deepEqual(picky.messages().sort(), ['good-1', 'granted-1'], 'bad-1 refused, denied-1 not sent');
      const letters = await eventually(() => api(server, '/admin/v1/destinations/picky/dead-letters'),
        (a) => a.body.dead_letters.length === 1, 'a dead letter');
      const letter = letters.body.dead_letters[0];
      assert.equal(letter.messageId, 'bad-1');
      assert.match(letter.reason, /HTTP 400.*unknown event/);
      assert.equal(letter.message.event, 'Bad Event');

      refuse = false;
      answer = await api(server, '/admin/v1/destinations/picky/dead-letters/replay', { method: 'POST', body: { ids: [letter.id] } });
      assert.deepEqual(answer.body, { replayed: 1 });
      await eventually(() => picky.messages(), (ids) => ids.includes('bad-1'), 'the replayed dead letter');
      await eventually(() => api(server, '/admin/v1/destinations/picky/messages/bad-1'),
        (a) => a.body?.state === 'delivered', 'the replayed delivery record');
      assert.equal((await api(server, '/admin/v1/destinations/picky/dead-letters')).body.dead_letters.length, 0);
      assert.equal(picky.messages().includes('denied-1'), false);
    } finally {
      await api(server, '/admin/v1/destinations/picky', { method: 'DELETE' });
      await picky.close();
    }
  });

  it('delivers audience entries and exits from the change log', async () => {
    const marketing = await startReceiver();
    try {
      let answer = await api(server, '/admin/v1/destinations/marketing', {
        method: 'PUT', body: { type: 'webhook', url: marketing.url, audiences: { names: ['pro_users'] } },
      });
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      answer = await api(server, '/admin/v1/audiences/pro_users', { method: 'PUT', body: { condition: 'trait.plan = "pro"' } });
      assert.ok(answer.status === 200 || answer.status === 202, JSON.stringify(answer.body));
      analytics = new Analytics({ writeKey: WRITE_KEY, host: server.url, flushAt: 1 });
      analytics.identify({ userId: 'ada', traits: { plan: 'pro' } });
      await analytics.closeAndFlush();
      await eventually(() => marketing.bodies.length, (n) => n >= 1, 'audience_entered');
      analytics = new Analytics({ writeKey: WRITE_KEY, host: server.url, flushAt: 1 });
      analytics.identify({ userId: 'ada', traits: { plan: 'free' } });
      await analytics.closeAndFlush();
      await eventually(() => marketing.bodies.length, (n) => n >= 2, 'audience_exited');
      assert.deepEqual(marketing.bodies.map((b) => [b.type, b.audience]),
        [['audience_entered', 'pro_users'], ['audience_exited', 'pro_users']]);
      assert.match(marketing.bodies[0].messageId, /^audience-\d+\.\d+$/);
      assert.match(marketing.bodies[0].profile, /^p_\d+$/);
      assert.equal(marketing.bodies[0].user_id, 'ada', 'the user a receiver can act on');
    } finally {
      await marketing.close();
    }
  });

  it('exports audience snapshots and diffs with identifiers hashed for Google', async () => {
    let answer = await api(server, '/admin/v1/audiences/big_spenders', { method: 'PUT', body: { condition: 'trait.tier = "gold"' } });
    assert.ok(answer.status === 200 || answer.status === 202, JSON.stringify(answer.body));
    analytics = new Analytics({ writeKey: WRITE_KEY, host: server.url, flushAt: 10 });
    analytics.identify({ userId: 'grace', traits: { tier: 'gold', email: 'Grace.Hopper@gmail.com', phone: '+1 555 123 4567' } });
    analytics.identify({ userId: 'alan', traits: { tier: 'gold', email: 'alan@example.com' } });
    await analytics.closeAndFlush();
    const members = () => api(server, '/v1/audiences/big_spenders/members');
    await eventually(members, (a) => a.body?.members?.length === 2, 'two members');

    answer = await api(server, '/admin/v1/destinations/google_ads', {
      method: 'PUT',
      body: { type: 'files', path: 'ads/google', audiences: { names: ['big_spenders'] }, hashing: 'google' },
    });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.deepEqual((await api(server, '/admin/v1/destinations/google_ads/test', { method: 'POST' })).body, { ok: true });
    const folder = path.join(server.dir, 'data', 'exports', 'ads', 'google', 'big_spenders');
    const snapshot = () => readdirSync(folder).filter((f) => f.endsWith('-snapshot.csv')).sort();
    await eventually(() => { try { return snapshot(); } catch { return []; } }, (f) => f.length === 1, 'the first export');
    const sha = (text) => createHash('sha256').update(text).digest('hex');
    const rows = readFileSync(path.join(folder, snapshot()[0]), 'utf8').trim().split('\n');
    assert.equal(rows[0], 'profile,email,phone');
    const cells = rows.slice(1).map((row) => row.split(',').slice(1));
    // Google's rule: trimmed, lower-cased, dots removed before @gmail.com; phones in E.164.
    assert.deepEqual(cells.sort(), [
      [sha('alan@example.com'), ''],
      [sha('gracehopper@gmail.com'), sha('+15551234567')],
    ].sort());

    // Alan leaves; an export now (the files destination's "sample") writes the diff.
    analytics = new Analytics({ writeKey: WRITE_KEY, host: server.url, flushAt: 1 });
    analytics.identify({ userId: 'alan', traits: { tier: 'silver' } });
    await analytics.closeAndFlush();
    await eventually(members, (a) => a.body?.members?.length === 1, 'one member');
    answer = await api(server, '/admin/v1/destinations/google_ads/sample', { method: 'POST' });
    assert.equal(answer.body.delivered, true, JSON.stringify(answer.body));
    const summary = JSON.parse(answer.body.body);
    assert.deepEqual(summary.map((s) => [s.audience, s.members, s.added, s.removed]), [['big_spenders', 1, 0, 1]]);
    const removed = readdirSync(folder).filter((f) => f.endsWith('-removed.csv')).sort().at(-1);
    assert.match(readFileSync(path.join(folder, removed), 'utf8'), new RegExp(sha('alan@example.com')));
  });
});
