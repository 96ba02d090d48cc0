// Events sent with the official Segment Node.js SDK become the expected profiles, read back through
// the Profile API; a server killed while it applies events ends with the same profiles.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Analytics } from '@segment/analytics-node';
import { startServer, basicAuth } from './lib/server.mjs';

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
