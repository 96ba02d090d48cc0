// Events sent with the official Segment Node.js SDK become the expected profiles, read back through
// the Profile API; a server killed while it applies events ends with the same profiles; a change
// of identity rules is planned and applied with `cdp identity plan|apply`.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Analytics } from '@segment/analytics-node';
import { cdp, startServer, basicAuth } from './lib/server.mjs';

const WRITE_KEY = 'wk_profiles';
const READ_TOKEN = 'read-token-for-tests';

async function profileApi(server, path) {
  const response = await fetch(`${server.url}${path}`, {
    headers: { Authorization: `Bearer ${READ_TOKEN}` },
    redirect: 'manual',
  });
  const body = await response.text();
  return { status: response.status, headers: response.headers, body: body ? JSON.parse(body) : null };
}

// Polls until `ready(answer)` holds: the processor applies events moments after they are stored.
async function eventually(server, path, ready, timeoutMs = 20000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    last = await profileApi(server, path);
    if (ready(last)) return last;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${path} never became ready; last answer ${JSON.stringify(last)}`);
}

describe('profiles from @segment/analytics-node', () => {
  let server;
  before(async () => {
    server = await startServer({
      sources: [{ name: 'backend', writeKey: WRITE_KEY }],
      server: { read_token: READ_TOKEN },
    });
  });
  after(async () => {
    await server?.stop();
    server?.cleanup();
  });

  it('stitches anonymous activity, identify and traits into one profile', async () => {
    const analytics = new Analytics({ writeKey: WRITE_KEY, host: server.url, flushAt: 1, maxRetries: 3 });
    analytics.page({ anonymousId: 'anon-e2e', name: 'Pricing', timestamp: new Date('2024-03-01T10:00:00Z') });
    analytics.identify({
      userId: 'user-e2e', anonymousId: 'anon-e2e', timestamp: new Date('2024-03-01T10:01:00Z'),
      traits: { email: 'Ada@Example.com', plan: 'trial' },
    });
    analytics.track({ userId: 'user-e2e', event: 'Upgraded', timestamp: new Date('2024-03-01T10:02:00Z') });
    analytics.identify({ userId: 'user-e2e', traits: { plan: 'pro' }, timestamp: new Date('2024-03-01T10:03:00Z') });
    // Segment's priority example: a second user_id with the same email gets its own profile.
    analytics.identify({ userId: 'user-other', traits: { email: 'ada@example.com' } });
    await analytics.closeAndFlush({ timeout: 30000 });

    const profile = await eventually(server, '/v1/profiles/user_id:user-e2e',
      (answer) => answer.status === 200 && answer.body.event_count === 4);
    assert.equal(profile.body.traits.plan, 'pro', 'the latest identify wins');
    assert.equal(profile.body.traits.email, 'Ada@Example.com');
    const identifiers = profile.body.identifiers.map((id) => `${id.type}:${id.value}`).sort();
    assert.deepEqual(identifiers, ['anonymous_id:anon-e2e', 'email:ada@example.com', 'user_id:user-e2e']);
    for (const ref of ['email:ADA%40example.com', 'anonymous_id:anon-e2e', profile.body.id]) {
      const same = await profileApi(server, `/v1/profiles/${ref}`);
      assert.equal(same.body.id, profile.body.id, ref);
    }

    const events = await profileApi(server, `/v1/profiles/${profile.body.id}/events?limit=2`);
    assert.deepEqual(events.body.events.map((e) => e.type), ['identify', 'track']);
    assert.equal(events.body.events[1].data.event, 'Upgraded');
    const rest = await profileApi(server, `/v1/profiles/${profile.body.id}/events?cursor=${events.body.next_cursor}`);
    assert.deepEqual(rest.body.events.map((e) => e.type), ['identify', 'page']);

    const other = await eventually(server, '/v1/profiles/user_id:user-other', (answer) => answer.status === 200);
    assert.notEqual(other.body.id, profile.body.id);
    const why = await profileApi(server, `/v1/profiles/${other.body.id}/merges`);
    const drop = why.body.edges.find((edge) => edge.kind === 'drop');
    assert.ok(drop, JSON.stringify(why.body));
    assert.deepEqual(drop.identifiers, ['email:ada@example.com']);
    assert.match(drop.rule, /user_id limit 1/);
    assert.equal(drop.other_profile, profile.body.id);
  });

  it('refuses write keys on the Profile API', async () => {
    const response = await fetch(`${server.url}/v1/profiles/user_id:user-e2e`, {
      headers: { Authorization: basicAuth(WRITE_KEY) },
    });
    assert.equal(response.status, 401);
  });
});

describe('processor crash and restart', () => {
  it('ends with exactly the profiles of every acknowledged event', async () => {
    const server = await startServer({
      sources: [{ name: 'load', writeKey: WRITE_KEY }],
      server: { read_token: READ_TOKEN },
      storage: { sync: true },
    });
    try {
      const users = 100;
      const expected = new Map();
      // Batches that also merge: each user's anonymous page view, then its identify.
      let killedBehind = 0;
      for (let round = 0; round < 30; round++) {
        const batch = [];
        for (let user = 0; user < users; user++) {
          batch.push({ type: 'page', anonymousId: `anon-${user}-${round % 3}`, name: 'Home' });
          batch.push({ type: 'identify', userId: `user-${user}`, anonymousId: `anon-${user}-${round % 3}`,
                       traits: { round } });
          expected.set(user, (expected.get(user) ?? 0) + 2);
        }
        const response = await fetch(`${server.url}/v1/batch`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Authorization: basicAuth(WRITE_KEY) },
          body: JSON.stringify({ batch }),
        });
        assert.equal(response.status, 200);
        if (round % 10 === 9) {
          // Mid-stream, usually while the processor is still behind the log.
          if (!/cdp_processor_lag_events 0\n/.test(await server.metrics())) killedBehind++;
          await server.kill();
          await server.start();
        }
      }
      await server.kill();
      await server.start();
      for (let user = 0; user < users; user++) {
        const profile = await eventually(server, `/v1/profiles/user_id:user-${user}`,
          (answer) => answer.status === 200 && answer.body.event_count >= expected.get(user));
        assert.equal(profile.body.event_count, expected.get(user), `user-${user}: every event applied exactly once`);
        assert.equal(profile.body.traits.round, 29);
        assert.equal(profile.body.identifiers.length, 4, 'user_id and three anonymous ids');
      }
      const metrics = await server.metrics();
      assert.match(metrics, /cdp_processor_lag_events 0/);
      console.log(`killed ${killedBehind} of 3 times while the processor was behind`);
    } finally {
      await server.stop();
      server.cleanup();
    }
  });
});

describe('identity rule change: dry run while serving, apply by replay', () => {
  it('plans the merges and splits, then rebuilds the profiles under the new rules', async () => {
    const server = await startServer({
      sources: [{ name: 'backend', writeKey: WRITE_KEY }],
      server: { read_token: READ_TOKEN },
    });
    try {
      const send = (body) => fetch(`${server.url}/v1/identify`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: basicAuth(WRITE_KEY) },
        body: JSON.stringify(body),
      });
      // Two browsers sharing an email merge under the defaults; two user ids sharing one do not.
      for (const body of [
        { anonymousId: 'a1', traits: { email: 'jane@example.com' } },
        { anonymousId: 'a2', traits: { name: 'second browser' } },
        { anonymousId: 'a2', traits: { email: 'jane@example.com' } },
        { userId: 'u1', traits: { email: 'family@example.com' } },
        { userId: 'u2', traits: { email: 'family@example.com' } },
      ]) {
        assert.equal((await send(body)).status, 200);
      }
      const id = async (ref) => (await profileApi(server, `/v1/profiles/${ref}`)).body.id;
      await eventually(server, '/v1/profiles/user_id:u2', (answer) => answer.status === 200);
      await eventually(server, '/v1/profiles/anonymous_id:a2',
        (answer) => answer.status === 200 && answer.body.identifiers.length === 3);
      assert.notEqual(await id('user_id:u1'), await id('user_id:u2'));

      const newConfig = path.join(server.dir, 'new-rules.toml');
      writeFileSync(newConfig, readFileSync(server.configFile, 'utf8') +
        '[identity.types.anonymous_id]\nlimit = 1\n[identity.types.user_id]\nlimit = 2\n');
      const plan = await cdp('identity', 'plan', '--config', newConfig, '--json');
      assert.equal(plan.code, 0, plan.stderr);
      const report = JSON.parse(plan.stdout);
      assert.equal(report.rules_changed, true);
      assert.equal(report.events, 5);
      assert.equal(report.merges, 1);
      assert.deepEqual(report.merge_examples[0].identifiers,
        ['email:family@example.com', 'user_id:u1', 'user_id:u2']);
      assert.equal(report.splits, 1);
      assert.equal(report.split_examples[0].after_count, 2);

      const busy = await cdp('identity', 'apply', '--config', newConfig);
      assert.equal(busy.code, 1, 'apply refuses a directory a server is using');
      assert.match(busy.stderr, /stop `cdp serve` first/);

      await server.stop();
      const applied = await cdp('identity', 'apply', '--config', newConfig);
      assert.equal(applied.code, 0, applied.stderr);
      server.configFile = newConfig;
      await server.start();
      assert.equal(await id('user_id:u1'), await id('user_id:u2'), 'user_id limit 2 merges them');
      assert.notEqual(await id('anonymous_id:a1'), await id('anonymous_id:a2'),
        'anonymous_id limit 1 splits the browsers');
      const again = await cdp('identity', 'plan', '--config', newConfig, '--json');
      assert.equal(JSON.parse(again.stdout).rules_changed, false);
    } finally {
      await server.stop();
      server.cleanup();
    }
  });
});
