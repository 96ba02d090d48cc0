// The admin API (sources, raw events) and the `cdp events tail|export` commands of a real `cdp`.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ADMIN_TOKEN, CDP_BIN, basicAuth, cdp, startServer } from './lib/server.mjs';

const CONFIG_KEY = 'wk_config';

async function admin(server, method, urlPath, body, token = ADMIN_TOKEN) {
  const headers = {};
  if (token !== null) headers.Authorization = token.includes(' ') ? token : `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(`${server.url}${urlPath}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, json, text, headers: response.headers };
}

async function track(server, writeKey, messageId) {
  const response = await fetch(`${server.url}/v1/track`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: basicAuth(writeKey) },
    body: JSON.stringify({ userId: 'user-1', event: 'Clicked', messageId }),
  });
  return { status: response.status, json: await response.json() };
}

async function adminEventsText(server, query = 'from=1&limit=10000') {
  const response = await admin(server, 'GET', `/admin/v1/events?${query}`);
  assert.equal(response.status, 200, response.text);
  return response;
}

describe('admin API: sources', () => {
  let server;

  before(async () => {
    server = await startServer({ sources: [{ name: 'config-web', writeKey: CONFIG_KEY }] });
  });

  after(async () => {
    await server?.stop();
    server?.cleanup();
  });

  it('lists the sources from the config file as config-managed', async () => {
    const response = await admin(server, 'GET', '/admin/v1/sources');
    assert.equal(response.status, 200, response.text);
    assert.deepEqual(response.json.sources.find((source) => source.name === 'config-web'),
      { name: 'config-web', writeKey: CONFIG_KEY, enabled: true, managedBy: 'config' });
  });

  it('creates a source whose generated write key ingests', async () => {
    const created = await admin(server, 'POST', '/admin/v1/sources', { name: 'shop' });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.json.name, 'shop');
    assert.equal(created.json.enabled, true);
    assert.equal(created.json.managedBy, 'api');
    assert.ok(created.json.writeKey.length >= 16, `generated key ${created.json.writeKey}`);

    assert.equal((await track(server, created.json.writeKey, 'shop-1')).status, 200);
    const records = (await server.events()).filter((record) => record.event.messageId === 'shop-1');
    assert.deepEqual(records.map((record) => record.source), ['shop']);

    const fetched = await admin(server, 'GET', '/admin/v1/sources/shop');
    assert.deepEqual(fetched.json, created.json);
  });

  it('creates a source with a chosen write key, and refuses a taken name or key', async () => {
    const created = await admin(server, 'POST', '/admin/v1/sources', { name: 'app', writeKey: 'wk_app_chosen' });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.json.writeKey, 'wk_app_chosen');
    assert.equal((await track(server, 'wk_app_chosen', 'app-1')).status, 200);

    const sameName = await admin(server, 'POST', '/admin/v1/sources', { name: 'app' });
    assert.equal(sameName.status, 409, sameName.text);
    assert.match(sameName.json.error.message, /app/);
    const sameKey = await admin(server, 'POST', '/admin/v1/sources', { name: 'app2', writeKey: CONFIG_KEY });
    assert.equal(sameKey.status, 409, sameKey.text);
    const badName = await admin(server, 'POST', '/admin/v1/sources', { name: 'Not A Name!' });
    assert.equal(badName.status, 400, badName.text);
    const noName = await admin(server, 'POST', '/admin/v1/sources', { writeKey: 'x' });
    assert.equal(noName.status, 400, noName.text);
  });

  it('disables and enables a source', async () => {
    const { json: source } = await admin(server, 'POST', '/admin/v1/sources', { name: 'toggle' });
    const disabled = await admin(server, 'PATCH', '/admin/v1/sources/toggle', { enabled: false });
    assert.equal(disabled.status, 200, disabled.text);
    assert.equal(disabled.json.enabled, false);
    const refused = await track(server, source.writeKey, 'toggle-1');
    assert.equal(refused.status, 401);
    assert.equal(refused.json.error.code, 'invalid_write_key');

    const enabled = await admin(server, 'PATCH', '/admin/v1/sources/toggle', { enabled: true });
    assert.equal(enabled.json.enabled, true);
    assert.equal((await track(server, source.writeKey, 'toggle-2')).status, 200);
  });

  it('rotates a write key: the old one stops working, the new one ingests', async () => {
    const { json: source } = await admin(server, 'POST', '/admin/v1/sources', { name: 'rotating' });
    const rotated = await admin(server, 'PATCH', '/admin/v1/sources/rotating', { rotateWriteKey: true });
    assert.equal(rotated.status, 200, rotated.text);
    assert.notEqual(rotated.json.writeKey, source.writeKey);
    assert.equal((await track(server, source.writeKey, 'rotating-old')).status, 401);
    assert.equal((await track(server, rotated.json.writeKey, 'rotating-new')).status, 200);
  });

  it('deletes a source: its key stops working', async () => {
    const { json: source } = await admin(server, 'POST', '/admin/v1/sources', { name: 'doomed' });
    const deleted = await admin(server, 'DELETE', '/admin/v1/sources/doomed');
    assert.equal(deleted.status, 200, deleted.text);
    assert.equal((await track(server, source.writeKey, 'doomed-1')).status, 401);
    assert.equal((await admin(server, 'GET', '/admin/v1/sources/doomed')).status, 404);
    assert.equal((await admin(server, 'PATCH', '/admin/v1/sources/doomed', { enabled: true })).status, 404);
  });

  it('refuses to change a config-managed source with 409', async () => {
    for (const [method, body] of [['PATCH', { enabled: false }], ['PATCH', { rotateWriteKey: true }], ['DELETE', undefined]]) {
      const response = await admin(server, method, '/admin/v1/sources/config-web', body);
      assert.equal(response.status, 409, `${method} ${JSON.stringify(body)}: ${response.text}`);
      assert.match(response.json.error.message, /config/);
    }
    assert.equal((await track(server, CONFIG_KEY, 'config-still-works')).status, 200);
  });

  it('keeps API-created sources across a restart', async () => {
    const { json: source } = await admin(server, 'POST', '/admin/v1/sources', { name: 'durable' });
    await server.stop();
    await server.start();
    const fetched = await admin(server, 'GET', '/admin/v1/sources/durable');
    assert.equal(fetched.status, 200, fetched.text);
    assert.equal(fetched.json.writeKey, source.writeKey);
    assert.equal((await track(server, source.writeKey, 'durable-1')).status, 200);
  });

  it('refuses a wrong or missing admin token, and a write key used as one, with 401', async () => {
    for (const token of ['wrong-token', `${ADMIN_TOKEN}x`, CONFIG_KEY, basicAuth(CONFIG_KEY), `Basic ${ADMIN_TOKEN}`, null]) {
      for (const urlPath of ['/admin/v1/sources', '/admin/v1/events?from=1']) {
        const response = await admin(server, 'GET', urlPath, undefined, token);
        assert.equal(response.status, 401, `${token} on ${urlPath}: ${response.text}`);
        assert.equal(response.json.error.code, 'invalid_admin_token');
      }
    }
    const create = await admin(server, 'POST', '/admin/v1/sources', { name: 'sneaky' }, CONFIG_KEY);
    assert.equal(create.status, 401);
    assert.equal((await admin(server, 'GET', '/admin/v1/sources/sneaky')).status, 404);
  });
});

describe('raw events: admin API and `cdp events`', () => {
  let server;
  let dataDir;
  const EVENT_COUNT = 12;

  before(async () => {
    server = await startServer({ sources: [{ name: 'config-web', writeKey: CONFIG_KEY }] });
    dataDir = path.join(server.dir, 'data');
    const batch = Array.from({ length: EVENT_COUNT }, (_, i) => ({
      type: 'track', userId: `user-${i % 3}`, event: 'Viewed', properties: { i }, messageId: `raw-${i}`,
    }));
    const response = await fetch(`${server.url}/v1/batch`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: basicAuth(CONFIG_KEY) },
      body: JSON.stringify({ batch }),
    });
    assert.equal(response.status, 200);
  });

  after(async () => {
    await server?.stop();
    server?.cleanup();
  });

  it('pages through the raw log with from, limit and X-Next-Seq', async () => {
    const first = await adminEventsText(server, 'from=1&limit=5');
    const lines = first.text.split('\n').filter(Boolean).map((line) => JSON.parse(line));
    assert.deepEqual(lines.map((record) => record.seq), [1, 2, 3, 4, 5]);
    assert.equal(first.headers.get('x-next-seq'), '6');
    assert.match(first.headers.get('content-type'), /ndjson/);
    const rest = await adminEventsText(server, 'from=6&limit=100');
    assert.equal(rest.text.split('\n').filter(Boolean).length, EVENT_COUNT - 5);
    assert.equal(rest.headers.get('x-next-seq'), String(EVENT_COUNT + 1));
    const past = await adminEventsText(server, `from=${EVENT_COUNT + 1}`);
    assert.equal(past.text, '');
    assert.equal(past.headers.get('x-next-seq'), String(EVENT_COUNT + 1));
    for (const query of ['from=abc', 'limit=0', 'limit=-1']) {
      const bad = await admin(server, 'GET', `/admin/v1/events?${query}`);
      assert.equal(bad.status, 400, `${query}: ${bad.text}`);
    }
  });

  it('reports RocksDB statistics per column family to the admin token only', async () => {
    const stats = await fetch(`${server.url}/admin/v1/storage/stats`, {
      headers: { Authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    assert.equal(stats.status, 200);
    const text = await stats.text();
    for (const family of ['raw_log', 'dedup', 'meta']) {
      assert.match(text, new RegExp(`Compaction Stats \\[${family}\\]`));
    }
    assert.match(text, /Stalls\(count\)/);
    const denied = await fetch(`${server.url}/admin/v1/storage/stats`, {
      headers: { Authorization: basicAuth(CONFIG_KEY) },
    });
    assert.equal(denied.status, 401);
  });

  it('`cdp events export` writes the same JSON Lines as the admin API, while the server runs', async () => {
    const expected = (await adminEventsText(server)).text;
    const out = path.join(server.dir, 'export-running.jsonl');
    const result = await cdp('events', 'export', '--data', dataDir, '--out', out);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(readFileSync(out, 'utf8'), expected);
    assert.equal(expected.split('\n').filter(Boolean).length, EVENT_COUNT);
    assert.equal(existsSync(`${out}.partial`), false);
  });

  it('`cdp events export --from --to` writes that range', async () => {
    const out = path.join(server.dir, 'export-range.jsonl');
    const result = await cdp('events', 'export', '--data', dataDir, '--from', '3', '--to', '7', '--out', out);
    assert.equal(result.code, 0, result.stderr);
    const records = readFileSync(out, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line));
    assert.deepEqual(records.map((record) => record.seq), [3, 4, 5, 6, 7]);
    assert.deepEqual(records.map((record) => record.event.messageId), ['raw-2', 'raw-3', 'raw-4', 'raw-5', 'raw-6']);
  });

  it('`cdp events tail --from --limit` prints those records while the server runs', async () => {
    const result = await cdp('events', 'tail', '--data', dataDir, '--from', '4', '--limit', '3');
    assert.equal(result.code, 0, result.stderr);
    const records = result.stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line));
    assert.deepEqual(records.map((record) => record.seq), [4, 5, 6]);
    assert.deepEqual(records.map((record) => record.event.properties.i), [3, 4, 5]);
    const expected = (await adminEventsText(server, 'from=4&limit=3')).text;
    assert.equal(result.stdout, expected);
  });

  it('`cdp events tail` sees events stored after it was last run', async () => {
    const response = await fetch(`${server.url}/v1/track`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: basicAuth(CONFIG_KEY) },
      body: JSON.stringify({ userId: 'user-9', event: 'Late', messageId: 'raw-late' }),
    });
    assert.equal(response.status, 200);
    const result = await cdp('events', 'tail', '--data', dataDir, '--from', String(EVENT_COUNT + 1));
    assert.equal(result.code, 0, result.stderr);
    const records = result.stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line));
    assert.deepEqual(records.map((record) => [record.seq, record.event.messageId]), [[EVENT_COUNT + 1, 'raw-late']]);
  });

  it('`cdp events tail --follow` prints events as the server stores them, and stops on SIGTERM', async () => {
    const next = EVENT_COUNT + 2;
    const child = spawn(CDP_BIN, ['events', 'tail', '--data', dataDir, '--from', String(next), '--follow'],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => { stdout += chunk; });
    child.stderr.on('data', (chunk) => { stderr += chunk; });
    const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    try {
      const seen = async (count) => {
        const deadline = Date.now() + 10000;
        while (stdout.split('\n').filter(Boolean).length < count) {
          assert.ok(Date.now() < deadline, `tail printed ${JSON.stringify(stdout)} (stderr ${stderr})`);
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      };
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(stdout, '', 'nothing past the end yet');
      for (const messageId of ['follow-1', 'follow-2']) {
        const response = await fetch(`${server.url}/v1/track`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Authorization: basicAuth(CONFIG_KEY) },
          body: JSON.stringify({ userId: 'user-9', event: 'Followed', messageId }),
        });
        assert.equal(response.status, 200);
      }
      await seen(2);
      const records = stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line));
      assert.deepEqual(records.map((record) => [record.seq, record.event.messageId]),
        [[next, 'follow-1'], [next + 1, 'follow-2']]);
      child.kill('SIGTERM');
      assert.deepEqual(await exited, { code: 0, signal: null });
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('`cdp events tail` and `export` read the log after the server stopped', async () => {
    const expected = (await adminEventsText(server)).text;
    await server.stop();
    try {
      const tail = await cdp('events', 'tail', '--data', dataDir, '--from', '2', '--limit', '2');
      assert.equal(tail.code, 0, tail.stderr);
      assert.equal(tail.stdout, expected.split('\n').slice(1, 3).join('\n') + '\n');

      const out = path.join(server.dir, 'export-stopped.jsonl');
      const exported = await cdp('events', 'export', '--data', dataDir, '--out', out);
      assert.equal(exported.code, 0, exported.stderr);
      assert.equal(readFileSync(out, 'utf8'), expected);
    } finally {
      await server.start();
    }
  });

  it('`cdp events tail` on a directory without a database fails with a message', async () => {
    const empty = mkdtempSync(path.join(tmpdir(), 'cdp-e2e-empty-'));
    try {
      const result = await cdp('events', 'tail', '--data', path.join(empty, 'missing'));
      assert.notEqual(result.code, 0);
      assert.match(result.stderr, /^cdp: /m);
      assert.equal(result.stdout, '');
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
