// Audiences and computed traits on a running server: definitions over the admin API, events
// sent with the Segment Node.js SDK move profiles in and out, a time window moves them out
// again with no event, the change log and the members list say so, and all of it survives a
// restart.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Analytics } from '@segment/analytics-node';
import { startServer } from './lib/server.mjs';
import { api, eventually } from './lib/admin_api.mjs';
import { sendBatch } from './lib/loader.mjs';

const WRITE_KEY = 'wk_audiences';
const READ_TOKEN = 'read-token-audiences';


const names = (profile) => profile.audiences.map((a) => a.name).sort();

describe('audiences and computed traits', () => {
  let server;
  let analytics;
  before(async () => {
    server = await startServer({
      sources: [{ name: 'backend', writeKey: WRITE_KEY }],
      server: { read_token: READ_TOKEN },
    });
    analytics = new Analytics({ writeKey: WRITE_KEY, host: server.url, flushAt: 1 });
  });
  after(async () => {
    await analytics?.closeAndFlush();
    await server?.stop();
    server?.cleanup();
  });

  it('refuses definitions that do not parse or do not fit, saying where and why', async () => {
    let answer = await api(server, '/admin/v1/audiences/broken', {
      method: 'PUT', body: { condition: 'trait.plan = "pro" and\n  trait.age >> 3' },
    });
    assert.equal(answer.status, 400);
    assert.equal(answer.body.error.code, 'invalid_definition');
    assert.match(answer.body.error.message, /line 2, column 14: expected a value after '>'/);
    answer = await api(server, '/admin/v1/audiences/ghost', {
      method: 'PUT', body: { condition: 'computed.nothing > 1' },
    });
    assert.equal(answer.status, 400);
    assert.match(answer.body.error.message, /no computed trait named 'nothing'/);
    answer = await api(server, '/admin/v1/audiences/x', { method: 'PUT', body: { condition: 'trait.a exists' }, token: READ_TOKEN });
    assert.equal(answer.status, 401);
  });

  it('moves profiles in and out as events arrive and as time passes', async () => {
    let answer = await api(server, '/admin/v1/computed-traits/spend', {
      method: 'PUT', body: { kind: 'sum', event: 'Order Completed', property: 'total' },
    });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.deepEqual(answer.body, { name: 'spend', kind: 'sum', event: 'Order Completed', property: 'total' });
    for (const [name, condition] of [
      ['big spenders', 'computed.spend >= 100'],
      ['pro', { trait: 'plan', op: '=', value: 'pro' }],
      ['recent viewers', 'performed "Product Viewed" in last 3 seconds'],
    ]) {
      answer = await api(server, `/admin/v1/audiences/${encodeURIComponent(name)}`, { method: 'PUT', body: { condition } });
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      assert.equal(answer.body.condition_json !== undefined, true);
    }
    assert.equal((await api(server, '/admin/v1/computed-traits/spend', { method: 'DELETE' })).status, 409,
      'an audience still reads it');

    analytics.identify({ userId: 'u1', traits: { plan: 'pro' } });
    analytics.track({ userId: 'u1', event: 'Order Completed', properties: { total: 60 } });
    analytics.track({ userId: 'u1', event: 'Order Completed', properties: { total: 50 } });
    analytics.track({ userId: 'u2', event: 'Product Viewed', properties: { sku: 'a' } });
    await analytics.flush();

    const u1 = await eventually(() => api(server, '/v1/profiles/user_id:u1', { token: READ_TOKEN }),
      (a) => a.status === 200 && a.body.computed_traits.spend === 110 && a.body.audiences.length === 2,
      'u1 joining two audiences');
    assert.deepEqual(names(u1.body), ['big spenders', 'pro']);
    const u2 = await eventually(() => api(server, '/v1/profiles/user_id:u2', { token: READ_TOKEN }),
      (a) => a.status === 200 && a.body.audiences.length === 1, 'u2 joining recent viewers');
    assert.deepEqual(names(u2.body), ['recent viewers']);
    assert.equal(u2.body.computed_traits.spend, 0);

    const members = await api(server, `/v1/audiences/${encodeURIComponent('recent viewers')}/members`, { token: READ_TOKEN });
    assert.equal(members.status, 200);
    assert.deepEqual(members.body.members.map((m) => m.profile), [u2.body.id]);

    // No event for u2 again: the window closes on its own (a tick in the log).
    await eventually(() => api(server, '/v1/profiles/user_id:u2', { token: READ_TOKEN }),
      (a) => a.body.audiences.length === 0, 'u2 leaving recent viewers', 15000);
    const changes = await api(server, '/admin/v1/changes?limit=100');
    const ofU2 = changes.body.changes.filter((c) => c.profile === u2.body.id && c.type.startsWith('audience_'));
    assert.deepEqual(ofU2.map((c) => [c.type, c.audience]), [
      ['audience_entered', 'recent viewers'], ['audience_exited', 'recent viewers']]);
    assert.equal(ofU2[1].cause, 'time');
    assert.match(ofU2[0].cause, /^event /);
    // History: who was in the audience while u2 was, and the size over time.
    const enteredAt = ofU2[0].time;
    const then = await api(server, `/v1/audiences/${encodeURIComponent('recent viewers')}/members?at=${enteredAt}`, { token: READ_TOKEN });
    assert.equal(then.status, 200, JSON.stringify(then.body));
    assert.deepEqual(then.body.members.map((m) => m.profile), [u2.body.id]);
    const before = new Date(Date.parse(enteredAt) - 1).toISOString();
    const earlier = await api(server, `/v1/audiences/${encodeURIComponent('recent viewers')}/members?at=${before}`, { token: READ_TOKEN });
    assert.equal(earlier.body.size, 0);
    const from = new Date(Date.parse(enteredAt) - 1000).toISOString();
    const sizes = await api(server, `/v1/audiences/${encodeURIComponent('recent viewers')}/sizes?from=${from}&to=${ofU2[1].time}&step=1%20second`, { token: READ_TOKEN });
    assert.equal(sizes.status, 200, JSON.stringify(sizes.body));
    const series = sizes.body.points.map((p) => p.size);
    assert.equal(series[0], 0);
    assert.ok(series.includes(1), JSON.stringify(series));
    // The audience's own entries and exits, newest first, one page at a time (read token).
    const feed = [];
    for (let before = null; ;) {
      const page = await api(server, `/v1/audiences/${encodeURIComponent('recent viewers')}/changes?limit=1${before ? `&before=${before}` : ''}`,
        { token: READ_TOKEN });
      assert.equal(page.status, 200, JSON.stringify(page.body));
      feed.push(...page.body.changes);
      if (page.body.next === null) break;
      before = page.body.next;
    }
    assert.deepEqual(feed.map((c) => [c.profile, c.type, c.time]), [
      [u2.body.id, 'exited', ofU2[1].time], [u2.body.id, 'entered', ofU2[0].time]]);
    assert.equal((await api(server, `/v1/audiences/${encodeURIComponent('recent viewers')}/changes?before=x`,
      { token: READ_TOKEN })).status, 400);
    // One change per page, each page's next the cursor of the following: the same list.
    const paged = [];
    for (let next = null; ;) {
      const page = await api(server, `/admin/v1/changes?limit=1${next ? `&after=${next}` : ''}`);
      if (page.body.changes.length === 0) break;
      paged.push(...page.body.changes);
      next = page.body.next;
    }
    assert.deepEqual(paged.slice(0, changes.body.changes.length), changes.body.changes);
    const later = await api(server, `/admin/v1/changes?after=${changes.body.next}`);
    assert.deepEqual(later.body.changes, []);
    assert.equal(later.body.next, changes.body.next);

    analytics.identify({ userId: 'u1', traits: { plan: 'free' } });
    await analytics.flush();
    await eventually(() => api(server, '/v1/profiles/user_id:u1', { token: READ_TOKEN }),
      (a) => a.body.audiences.length === 1, 'u1 leaving pro');
    // The trait change is in the change log too, with the new value and the user.
    const all = await api(server, '/admin/v1/changes?limit=1000');
    const planChanges = all.body.changes.filter((c) => c.type === 'traits_changed' && c.user_id === 'u1' && 'plan' in c.traits);
    assert.equal(planChanges.at(-1).traits.plan, 'free', JSON.stringify(planChanges));
    assert.match(planChanges.at(-1).cause, /^event /);
  });

  it('keeps definitions, memberships and history across a restart', async () => {
    await server.stop();
    await server.start();
    const list = await api(server, '/admin/v1/audiences');
    assert.deepEqual(list.body.audiences.map((a) => [a.name, a.size]),
      [['big spenders', 1], ['pro', 0], ['recent viewers', 0]]);
    assert.equal(list.body.audiences[0].condition, 'computed.spend >= 100');
    const u1 = await api(server, '/v1/profiles/user_id:u1', { token: READ_TOKEN });
    assert.deepEqual(names(u1.body), ['big spenders']);
    // A preview counts from the history too, and saves nothing.
    const preview = await api(server, '/admin/v1/audiences/preview?sample=5', {
      method: 'POST', body: { condition: 'performed "Order Completed" at least 2 times and trait.plan = "free"' },
    });
    assert.equal(preview.status, 200, JSON.stringify(preview.body));
    assert.equal(preview.body.size, 1);
    assert.deepEqual(preview.body.sample, [u1.body.id]);
    assert.equal(preview.body.profiles, 1);  // the candidates: the free user who ordered
    assert.equal((await api(server, '/admin/v1/audiences')).body.audiences.length, 3);
    const badPreview = await api(server, '/admin/v1/audiences/preview', { method: 'POST', body: { condition: 'performed' } });
    assert.equal(badPreview.status, 400);
    // What GET answers can be sent back as it is.
    const pro = await api(server, '/admin/v1/audiences/pro');
    assert.equal((await api(server, '/admin/v1/audiences/pro', { method: 'PUT', body: pro.body })).status, 200);
    // A new audience sees the history the server already has.
    const answer = await api(server, '/admin/v1/audiences/buyers', {
      method: 'PUT', body: { condition: 'performed "Order Completed" at least 2 times', description: 'repeat buyers' },
    });
    assert.equal(answer.status, 200);
    assert.equal((await api(server, '/admin/v1/audiences/buyers')).body.size, 1);
    assert.equal(answer.body.description, 'repeat buyers');
    assert.deepEqual(answer.body.condition_json, { performed: 'Order Completed', at_least: 2 });
    assert.equal((await api(server, '/admin/v1/audiences/buyers', { method: 'DELETE' })).status, 204);
    assert.equal((await api(server, '/admin/v1/audiences/buyers')).status, 404);
  });
});

// With a preview budget of 0 ms, a preview over more candidates than its first round reads a
// random sample of them and estimates the size; {"exact": true} reads them all.
describe('audience previews past their budget', () => {
  let server;
  before(async () => {
    server = await startServer({
      sources: [{ name: 'backend', writeKey: WRITE_KEY }],
      extraToml: '[audiences]\npreview_budget_ms = 0',
    });
  });
  after(async () => {
    await server?.stop();
    server?.cleanup();
  });

  it('estimates the size from a sample, with an interval that holds the exact size', async () => {
    const users = 2400;
    for (let first = 0; first < users; first += 400) {
      const batch = [];
      for (let user = first; user < first + 400; ++user) {
        batch.push({ type: 'identify', userId: `u${user}`, traits: { plan: user % 4 === 0 ? 'pro' : 'free' } });
        batch.push({ type: 'track', userId: `u${user}`, event: 'Order Completed', properties: { total: user % 100 } });
      }
      assert.equal((await sendBatch(server.url, WRITE_KEY, batch)).status, 200);
    }
    await eventually(() => api(server, `/v1/profiles/user_id:u${users - 1}/events`),
      (answer) => answer.status === 200 && JSON.stringify(answer.body).includes('Order Completed'), 'the last event');
    const condition = 'performed "Order Completed" where property.total >= 40 and not trait.plan = "pro"';
    const estimated = await api(server, '/admin/v1/audiences/preview?sample=3', { method: 'POST', body: { condition } });
    assert.equal(estimated.status, 200, JSON.stringify(estimated.body));
    const exact = await api(server, '/admin/v1/audiences/preview?sample=3', { method: 'POST', body: { condition, exact: true } });
    assert.equal(exact.status, 200, JSON.stringify(exact.body));
    // Exactly: users with total >= 40 (60 in 100) that are not pro (3 in 4).
    assert.equal(exact.body.exact, true);
    assert.equal(exact.body.size, 1080);
    assert.deepEqual([exact.body.size_low, exact.body.size_high], [1080, 1080]);
    assert.equal(exact.body.candidates, users);  // who performed the event
    assert.equal(exact.body.read, users);
    // Estimated: the first round of 1,000 candidates, then the budget is spent.
    assert.equal(estimated.body.exact, false);
    assert.equal(estimated.body.candidates, users);
    assert.equal(estimated.body.read, 1000);
    assert.equal(estimated.body.profiles, 1000);
    assert.ok(estimated.body.size_low <= 1080 && 1080 <= estimated.body.size_high, JSON.stringify(estimated.body));
    assert.ok(estimated.body.size_high - estimated.body.size_low < 200, JSON.stringify(estimated.body));
    assert.equal(estimated.body.sample.length, 3);
    const refused = await api(server, '/admin/v1/audiences/preview', { method: 'POST', body: { condition, exact: 'yes' } });
    assert.equal(refused.status, 400);
    assert.equal(refused.body.error.code, 'invalid_argument');
  });
});
