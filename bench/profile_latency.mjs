// Profile-side latencies of a running cdp, while it ingests:
//   - ingest-to-profile-visible: each batch of identify calls (100 new users) is sent; its last
//     user is then polled through the Profile API until it appears; latency counts from the send;
//   - Profile API: GET /v1/profiles/user_id:... of users that exist, at a fixed rate, open loop
//     (latency from each request's scheduled time).
// Prints one JSON line. Usage (see bench/README.md):
//   node bench/profile_latency.mjs --url http://127.0.0.1:8080 --write-key KEY --token READ_TOKEN \
//     [--events-per-s 10000] [--reads-per-s 2000] [--seconds 30]
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';

const { values } = parseArgs({
  options: {
    url: { type: 'string' }, 'write-key': { type: 'string' }, token: { type: 'string' },
    'events-per-s': { type: 'string', default: '10000' }, 'reads-per-s': { type: 'string', default: '2000' },
    seconds: { type: 'string', default: '30' },
  },
});
const url = values.url;
const auth = 'Basic ' + Buffer.from(`${values['write-key']}:`).toString('base64');
const read = { Authorization: `Bearer ${values.token}` };
const eventsPerS = Number(values['events-per-s']);
const readsPerS = Number(values['reads-per-s']);
const seconds = Number(values.seconds);
const batchSize = 100;
const run = Math.random().toString(36).slice(2, 8);

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const percentile = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] : null);
const summary = (samples) => {
  const sorted = [...samples].sort((a, b) => a - b);
  const round = (x) => (x === null ? null : Math.round(x * 1000) / 1000);
  return { samples: sorted.length, p50: round(percentile(sorted, 0.5)), p90: round(percentile(sorted, 0.9)),
           p99: round(percentile(sorted, 0.99)), max: round(sorted.at(-1) ?? null) };
};

const visible = [];
const readLatency = [];
const errors = {};
const known = [];
let nextUser = 0;
const deadline = performance.now() + seconds * 1000;

async function waitVisible(user, sentAt) {
  for (;;) {
    const response = await fetch(`${url}/v1/profiles/user_id:${user}`, { headers: read });
    await response.arrayBuffer();
    if (response.status === 200) return visible.push(performance.now() - sentAt);
    if (performance.now() - sentAt > 10000) return (errors.never_visible = (errors.never_visible ?? 0) + 1);
    await sleep(1);
  }
}

async function ingest() {
  const interval = (1000 * batchSize) / eventsPerS;
  let due = performance.now();
  const pending = [];
  while (performance.now() < deadline) {
    const batch = [];
    for (let i = 0; i < batchSize; i++) {
      const user = `lat-${run}-${nextUser++}`;
      batch.push({ type: 'identify', userId: user, anonymousId: `a-${user}`, traits: { email: `${user}@example.com`, plan: 'pro' } });
    }
    const last = batch.at(-1).userId;
    const sentAt = performance.now();
    pending.push(fetch(`${url}/v1/batch`, {
      method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: auth }, body: JSON.stringify({ batch }),
    }).then(async (response) => {
      await response.arrayBuffer();
      if (response.status !== 200) return (errors[`ingest_${response.status}`] = (errors[`ingest_${response.status}`] ?? 0) + 1);
      await waitVisible(last, sentAt);
      for (const item of batch) known.push(item.userId);
    }));
    due += interval;
    await sleep(Math.max(0, due - performance.now()));
  }
  await Promise.all(pending);
}

async function reads() {
  while (known.length === 0) await sleep(10);
  const interval = 1000 / readsPerS;
  let due = performance.now();
  const pending = [];
  while (performance.now() < deadline) {
    while (performance.now() >= due) {
      const scheduled = due;
      const user = known[Math.floor(Math.random() * known.length)];
      pending.push(fetch(`${url}/v1/profiles/user_id:${user}`, { headers: read }).then(async (response) => {
        await response.arrayBuffer();
        if (response.status !== 200) errors[`read_${response.status}`] = (errors[`read_${response.status}`] ?? 0) + 1;
        readLatency.push(performance.now() - scheduled);
      }));
      due += interval;
    }
    await sleep(Math.max(0, due - performance.now()));
  }
  await Promise.all(pending);
}

await Promise.all([ingest(), reads()]);
console.log(JSON.stringify({
  events_per_s: eventsPerS, reads_per_s: readsPerS, seconds,
  users_created: nextUser, ingest_to_profile_visible_ms: summary(visible), profile_api_ms: summary(readLatency), errors,
}));
