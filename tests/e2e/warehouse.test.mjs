// The PostgreSQL warehouse destination end to end: events from the real Segment SDK, audience and
// trait changes, loaded into a real PostgreSQL (scripts/test-postgres.sh starts it; its address is
// CDP_TEST_POSTGRES), through a SIGKILL of the server in the middle of delivery: every row once.
// A webhook subscribed to trait changes gets them too.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Analytics } from '@segment/analytics-node';
import { startServer } from './lib/server.mjs';
import { api, eventually } from './lib/admin_api.mjs';
import { startReceiver } from './lib/receiver.mjs';

const WRITE_KEY = 'wk_warehouse';
const postgres = process.env.CDP_TEST_POSTGRES;
const skip = postgres ? false
  : 'no PostgreSQL: `export $(scripts/test-postgres.sh start)` runs this test';
if (!postgres && process.env.CDP_REQUIRE_POSTGRES) {
  throw new Error('CDP_TEST_POSTGRES is not set: run scripts/test-postgres.sh start');
}
const [host, port] = (postgres ?? ':').split(':');
const schema = `e2e_${randomBytes(4).toString('hex')}`;

// One value (the first column of the first row) of a query, as psql prints it.
function sql(query) {
  return execFileSync('psql', ['-h', host, '-p', port, '-U', 'cdp', '-d', 'cdp_test', '-tAqc',
    `SET client_min_messages = warning; SET search_path TO ${schema}; ${query}`], { encoding: 'utf8' }).trim();
}
const count = (table) => {
  try { return Number(sql(`SELECT count(*) FROM ${table}`)); } catch { return 0; }
};

describe('warehouse', { skip }, () => {
  let server;
  let hooks;
  before(async () => {
    hooks = await startReceiver();
    server = await startServer({
      sources: [{ name: 'web', writeKey: WRITE_KEY }],
      extraToml: ['[activation]', 'allowed_networks = ["127.0.0.0/8"]'].join('\n'),
    });
  });
  after(async () => {
    await server?.stop();
    server?.cleanup();
    await hooks?.close();
    if (postgres) sql(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  });

  it('loads events, users, profiles and audiences once each through a SIGKILL', async () => {
    let answer = await api(server, '/admin/v1/audiences/pro', { method: 'PUT', body: { condition: 'trait.plan = "pro"' } });
    assert.ok(answer.status === 200 || answer.status === 202, JSON.stringify(answer.body));
    const definition = {
      type: 'postgres',
      postgres: { host, port: Number(port), user: 'cdp', dbname: 'cdp_test', password: 'unused', schema },
      // Slowed down, so that the SIGKILL below comes in the middle of the load.
      events: {}, audiences: {}, traits: {}, batch_size: 20, max_per_second: 100,
    };
    answer = await api(server, '/admin/v1/destinations/warehouse', { method: 'PUT', body: definition });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.equal(answer.body.postgres.password, undefined, 'the password is never answered');
    assert.equal(answer.body.signed, true);
    assert.deepEqual((await api(server, '/admin/v1/destinations/warehouse/test', { method: 'POST' })).body, { ok: true });
    answer = await api(server, '/admin/v1/destinations/warehouse/sample', { method: 'POST' });
    assert.equal(answer.body.delivered, true, JSON.stringify(answer.body));
    assert.equal(sql("SELECT count(*) FROM tracks WHERE id LIKE 'sample-%'"), '1');
    answer = await api(server, '/admin/v1/destinations/plans', {
      method: 'PUT', body: { type: 'webhook', url: hooks.url, traits: { names: ['plan'] } },
    });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));

    let analytics = new Analytics({ writeKey: WRITE_KEY, host: server.url, flushAt: 20 });
    for (let i = 0; i < 300; i++) {
      analytics.track({ messageId: `t-${i}`, userId: `user-${i % 10}`, event: 'Order Completed', properties: { total: i, sku: `s${i % 3}` } });
      if (i % 30 === 0) {
        analytics.identify({ messageId: `i-${i}`, userId: `user-${i / 30}`, traits: { plan: i % 60 === 0 ? 'pro' : 'free', email: `u${i / 30}@x.test` } });
      }
    }
    await analytics.closeAndFlush();
    const loaded = await eventually(() => count('order_completed'), (n) => n > 0, 'a first load');
    assert.ok(loaded < 300, `the kill comes mid-load (${loaded} of 300 loaded)`);
    await server.kill();
    await server.start();
    // A new property that is text where the column holds numbers: the value is quarantined.
    analytics = new Analytics({ writeKey: WRITE_KEY, host: server.url, flushAt: 20 });
    for (let i = 300; i < 400; i++) {
      analytics.track({ messageId: `t-${i}`, userId: `user-${i % 10}`, event: 'Order Completed', properties: { total: i === 399 ? 'lots' : i, coupon: 'XMAS' } });
    }
    await analytics.closeAndFlush();

    // Every row once, as it was sent (a reload after the kill changed nothing).
    await eventually(() => count('order_completed'), (n) => n === 400, 'every track loaded', 120000);
    assert.equal(sql("SELECT count(*) FROM order_completed WHERE total = substring(id from 3)::bigint"), '399');
    assert.equal(sql('SELECT count(*) FROM (SELECT audience, profile_id, type FROM audience_changes GROUP BY 1, 2, 3 HAVING count(*) > 1) AS twice'), '0');
    assert.equal(count('tracks'), 401, 'every track once, and the sample');
    assert.equal(count('identifies'), 10);
    assert.equal(sql("SELECT count(*) FROM order_completed WHERE coupon = 'XMAS'"), '100');
    assert.equal(sql("SELECT value || ' ' || reason FROM cdp_quarantine WHERE message_id = 't-399'"),
      'lots the column is bigint, the value is text');
    assert.equal(sql('SELECT count(*) FROM users'), '10');
    assert.equal(sql("SELECT plan FROM users WHERE id = 'user-2'"), 'pro');
    assert.equal(sql("SELECT count(*) FROM profiles WHERE plan IS NOT NULL AND email LIKE '%@x.test'"), '10');
    await eventually(() => count('audience_memberships'), (n) => n === 5, 'the pro users');
    assert.equal(sql('SELECT count(*) FROM audience_memberships WHERE in_audience'), '5');
    assert.equal(sql('SELECT count(DISTINCT id) FROM audience_changes'), '5');

    // The webhook got each user's plan, and only the plan.
    await eventually(() => new Set(hooks.bodies.map((b) => b.user_id)).size, (n) => n === 10, 'trait changes');
    const change = hooks.bodies.find((b) => b.user_id === 'user-2');
    assert.equal(change.type, 'traits_changed');
    assert.deepEqual(change.traits, { plan: 'pro' });
    assert.match(change.messageId, /^traits-\d+\.\d+$/);
  });
});
