// Probabilistic matching of profiles on a running server: two imported files that share no key
// (a CRM export with customer ids, a loyalty list with emails) become one profile per person
// through `cdp match link`; each merge is a "probabilistic" identity edge with its score and
// explanation; the same unmerge as any merge splits it and keeps it split; uncertain pairs wait
// in a review queue that `cdp match accept|reject` decides.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { cdp, startServer, ADMIN_TOKEN } from './lib/server.mjs';

async function api(server, target, init = {}) {
  const response = await fetch(`${server.url}${target}`, {
    ...init,
    headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, 'Content-Type': 'application/json',
      ...(init.headers ?? {}) },
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

async function eventually(probe, ready, what, timeoutMs = 30000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    last = await probe();
    if (ready(last)) return last;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${what} never happened; last: ${JSON.stringify(last)?.slice(0, 400)}`);
}

const PEOPLE = 80;
// Person p: a CRM record (customer crm-p) and a loyalty record (email pP@example.com) that
// differ by a nickname or a surname typo.
function files(dir) {
  const firsts = ['robert', 'elizabeth', 'william', 'margaret', 'james', 'catherine'];
  const nicknames = ['bob', 'liz', 'bill', 'maggie', 'jim', 'kate'];
  const syllables = ['ash', 'bel', 'cor', 'dun', 'fen', 'gar', 'hol', 'kin', 'lam', 'mor', 'nor',
    'pen', 'ros', 'sal', 'tor', 'wil'];
  const cities = ['leeds', 'york', 'bath', 'hull'];
  const crm = ['customer_id,first,last,dob,city'];
  const loyalty = ['email,first,last,dob,city'];
  for (let p = 0; p < PEOPLE; p++) {
    const surname = syllables[p % 16] + syllables[(Math.floor(p / 16) + 5) % 16] + (p % 2 ? 'ley' : 'ford');
    const dob = `${1940 + (p % 50)}-0${1 + (p % 9)}-1${p % 9}`;
    crm.push(`crm-${p},${firsts[p % 6]},${surname},${dob},${cities[p % 4]}`);
    loyalty.push(`p${p}@example.com,${p % 2 ? nicknames[p % 6] : firsts[p % 6]},${surname}${p % 3 ? '' : 'e'},${dob},${cities[p % 4]}`);
  }
  const mapping = (source, id) => `source = "${source}"
[columns]
${id}
first = { trait = "firstName", type = "name" }
last = { trait = "lastName", type = "name" }
dob = { trait = "birthday", type = "date" }
city = { trait = "city" }
`;
  writeFileSync(path.join(dir, 'crm.csv'), crm.join('\n') + '\n');
  writeFileSync(path.join(dir, 'loyalty.csv'), loyalty.join('\n') + '\n');
  writeFileSync(path.join(dir, 'crm.toml'), mapping('crm', 'customer_id = { identifier = "user_id" }'));
  writeFileSync(path.join(dir, 'loyalty.toml'), mapping('loyalty', 'email = { identifier = "email" }'));
}

async function startWithMatching(settings) {
  const server = await startServer({});
  await server.stop();
  writeFileSync(path.join(server.dir, 'match.toml'), `[columns]
firstName = "first_name"
lastName = "surname"
birthday = "date"
city = "place"
[settings]
u_sample_pairs = 20000
${settings}
`);
  writeFileSync(server.configFile, `${await import('node:fs').then((fs) => fs.readFileSync(server.configFile, 'utf8'))}
[matching]
spec = ${JSON.stringify(path.join(server.dir, 'match.toml'))}
after_import = false
`);
  await server.start();
  files(server.dir);
  const connection = ['--server', server.url, '--token', ADMIN_TOKEN];
  for (const name of ['crm', 'loyalty']) {
    const result = await cdp('import', path.join(server.dir, `${name}.csv`), '--mapping',
      path.join(server.dir, `${name}.toml`), ...connection);
    assert.equal(result.code, 0, result.stderr);
  }
  return { server, connection };
}

async function sameProfile(server, p) {
  const crm = await api(server, `/v1/profiles/user_id:crm-${p}`);
  const loyalty = await api(server, `/v1/profiles/email:p${p}%40example.com`);
  return crm.status === 200 && loyalty.status === 200 && crm.body.id === loyalty.body.id;
}

describe('cdp match link', () => {
  let server;
  let connection;
  before(async () => ({ server, connection } = await startWithMatching('')));
  after(async () => {
    await server?.stop();
    server?.cleanup();
  });

  it('merges the records of one person that share no key, and only those', async () => {
    const result = await cdp('match', 'link', ...connection);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /profiles\s+160 \(160 new\)/);
    const links = Number(result.stdout.match(/links\s+(\d+)/)[1]);
    assert.ok(links >= 72, `at least 90% of the people linked, got ${links}`);
    let together = 0;
    await eventually(async () => {
      together = 0;
      for (let p = 0; p < PEOPLE; p++) together += await sameProfile(server, p) ? 1 : 0;
      return together;
    }, (count) => count === links, 'the links applied');
    // No profile holds two customers.
    for (let p = 0; p < PEOPLE; p++) {
      const profile = await api(server, `/v1/profiles/user_id:crm-${p}`);
      assert.equal(profile.body.identifiers.filter((i) => i.type === 'user_id').length, 1);
    }
  });

  it('shows each merge as a probabilistic edge with its score and explanation', async () => {
    const merges = await api(server, '/v1/profiles/user_id:crm-1/merges');
    const edge = merges.body.edges.find((e) => e.kind === 'probabilistic');
    assert.ok(edge, JSON.stringify(merges.body));
    assert.ok(edge.score >= 0.9);
    assert.deepEqual(edge.identifiers.sort(), ['email:p1@example.com', 'user_id:crm-1']);
    assert.ok(edge.explanation.fields.some((f) => f.comparison === 'firstName' && f.level));
    assert.match(edge.rule, /match probability/);
  });

  it('explains how any two profiles score, through the CLI and the API', async () => {
    const cli = await cdp('match', 'explain-profiles', 'user_id:crm-4', 'email:p5@example.com',
      ...connection);
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, /firstName\s+James\s+Kate/);
    assert.match(cli.stdout, /match weight -?\d+\.\d+, probability 0\.\d+/);
    const strangers = await api(server,
      '/admin/v1/matching/explain?a=user_id:crm-4&b=email:p5%40example.com');
    assert.equal(strangers.status, 200);
    assert.ok(strangers.body.explanation.probability < 0.5, JSON.stringify(strangers.body));
    assert.equal(strangers.body.termFrequencies, false);
    const missing = await api(server, '/admin/v1/matching/explain?a=user_id:nobody&b=user_id:crm-4');
    assert.equal(missing.status, 404);
  });

  it('is undone by the same unmerge as any merge, and stays undone', async () => {
    const profile = await api(server, '/v1/profiles/user_id:crm-1');
    const merged = profile.body.merged_from[0];
    const split = await api(server, `/v1/profiles/user_id:crm-1/unmerge`, {
      method: 'POST', body: JSON.stringify({ merged }),
    });
    assert.equal(split.status, 200, JSON.stringify(split.body));
    assert.equal(await sameProfile(server, 1), false);
    // A full run proposes the pair again; the unmerge's block refuses it.
    const again = await cdp('match', 'link', '--full', ...connection);
    assert.equal(again.code, 0, again.stderr);
    await eventually(() => server.metrics(), (text) => /^cdp_processor_lag_events 0$/m.test(text),
      'the processor to apply the new links');
    assert.equal(await sameProfile(server, 1), false);
    const edges = (await api(server, '/v1/profiles/user_id:crm-1/merges')).body.edges;
    assert.ok(edges.some((e) => e.kind === 'drop' && /probabilistic link refused: unmerged: split by unmerge/.test(e.rule)),
      JSON.stringify(edges.map((e) => e.rule)));
  });
});

describe('the review queue', () => {
  let server;
  let connection;
  // A match threshold no pair reaches: every pair above 0.5 waits for a person.
  before(async () => ({ server, connection } = await startWithMatching(
    'threshold = 0.9999999999\nreview_threshold = 0.5')));
  after(async () => {
    await server?.stop();
    server?.cleanup();
  });

  it('holds uncertain pairs until a person accepts or rejects them', async () => {
    const run = await cdp('match', 'link', ...connection);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /links\s+0/);
    const queued = Number(run.stdout.match(/for review\s+(\d+)/)[1]);
    assert.ok(queued >= 72, run.stdout);
    const listed = await cdp('match', 'reviews', '--limit', '3', ...connection);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /review \d+ \(pending\): \S+ {2}~ {2}\S+ {2}probability 0\.\d+/);
    assert.match(listed.stdout, /firstName/);

    const pending = (await api(server, '/admin/v1/matching/reviews?limit=1000')).body.reviews;
    const pair = (r) => [r.a, r.b].sort().join(' ');
    const truePair = (r) => { const [email, crm] = [r.a, r.b].sort(); return crm === `user_id:crm-${email.slice(7, email.indexOf('@'))}`; };
    const accept = pending.find(truePair);
    const reject = pending.find((r) => truePair(r) && r.id !== accept.id);
    const accepted = await cdp('match', 'accept', String(accept.id), ...connection);
    assert.equal(accepted.code, 0, accepted.stderr);
    assert.match(accepted.stdout, /accepted: the link is in the log/);
    const p = accept.a.startsWith('user_id:') ? accept.a.slice(12) : accept.b.slice(12);
    await eventually(() => sameProfile(server, p), Boolean, 'the accepted pair merged');
    const rejected = await cdp('match', 'reject', String(reject.id), ...connection);
    assert.equal(rejected.code, 0, rejected.stderr);
    const twice = await cdp('match', 'accept', String(reject.id), ...connection);
    assert.equal(twice.code, 1);
    assert.match(twice.stderr, /was rejected already/);

    // A second run queues no pair twice, and the rejected pair stays rejected.
    const rerun = await cdp('match', 'link', '--full', ...connection);
    assert.equal(rerun.code, 0, rerun.stderr);
    const all = (await api(server, '/admin/v1/matching/reviews?state=all&limit=1000')).body.reviews;
    assert.equal(new Set(all.map(pair)).size, all.length);
    assert.equal(all.find((r) => r.id === reject.id).state, 'rejected');
    assert.equal(all.find((r) => r.id === accept.id).state, 'accepted');
  });
});
