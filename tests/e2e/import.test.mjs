// File imports as a user runs them: `cdp import` with a mapping file against a running server,
// bad rows quarantined and listed, good rows becoming profiles and events, the same file
// imported twice adding nothing, a watched drop folder, and a server killed mid-import that
// finishes the import after a restart with every row stored once.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, renameSync, existsSync, readdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { cdp, startServer, ADMIN_TOKEN, CDP_BIN } from './lib/server.mjs';

async function api(server, target, init = {}) {
  const response = await fetch(`${server.url}${target}`, {
    ...init,
    headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, ...(init.headers ?? {}) },
  });
  const text = await response.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch { body = text; }
  return { status: response.status, body };
}

async function eventually(probe, ready, what, timeoutMs = 30000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    last = await probe();
    if (ready(last)) return last;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${what} never happened; last: ${JSON.stringify(last)?.slice(0, 500)}`);
}

const CRM_MAPPING = `
kind = "records"
source = "crm"
[columns]
customer_id = { identifier = "user_id", required = true }
email = { identifier = "email" }
phone = { trait = "phone", type = "phone" }
first_name = { trait = "firstName", type = "name" }
birthday = { trait = "birthday", type = "date", format = "%d/%m/%Y" }
zip = { trait = "postalCode", type = "postcode" }
updated = { timestamp = true }
`;

// Six rows: three good, three bad in different ways (row numbers count the header as 1).
const CRM_CSV = [
  'customer_id,email,phone,first_name,birthday,zip,updated,notes',
  'c-1, Ann.Lee@Example.COM ,(415) 555-0132,ANN,07/03/1984,sw1a 1aa,2024-05-01T10:00:00Z,vip',
  'c-2,not-an-email,,Bob,01/01/1990,,2024-05-01T10:00:00Z,',  // row 3: email
  'c-3,cy@example.com,,cy,31/02/1991,,2024-05-01T10:00:00Z,',  // row 4: no 31 February
  ',di@example.com,,Di,01/01/1992,,2024-05-01T10:00:00Z,',     // row 5: customer_id required
  'c-6,"ed@example.com",,"O\'BRIEN, ED",02/02/1993,94103,1714557600,"said ""hi"""',
  'c-7,fay@example.com,,Fay,03/03/1994,10115,2024-05-01T10:00:00Z,x,extra',  // row 7: 9 fields
  'c-8,gus@example.com,,Gus,04/04/1995,,,',
].join('\n') + '\n';

describe('cdp import', () => {
  let server;
  let dir;
  let watchDir;
  let mappingFile;
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'cdp-import-'));
    watchDir = path.join(dir, 'drop');
    mappingFile = path.join(dir, 'crm.toml');
    writeFileSync(mappingFile, CRM_MAPPING);
    server = await startServer({
      extraToml: `[import]\nmax_file_mb = 1\n[[import.watch]]\ndir = ${JSON.stringify(watchDir)}\n` +
        `mapping = ${JSON.stringify(mappingFile)}\npoll_seconds = 0.2\n`,
    });
  });
  after(async () => {
    await server?.stop();
    server?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  const connection = () => ['--server', server.url, '--token', ADMIN_TOKEN];

  it('imports the good rows, quarantines the bad ones and prints a summary', async () => {
    const file = path.join(dir, 'customers.csv');
    writeFileSync(file, CRM_CSV);
    const result = await cdp('import', file, '--mapping', mappingFile, ...connection());
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /customers\.csv: import \d+ done/);
    assert.match(result.stdout, /rows read\s+7/);
    assert.match(result.stdout, /accepted\s+3\s+\(3 stored/);
    assert.match(result.stdout, /quarantined\s+4/);
    assert.match(result.stdout, /not mapped\s+notes/);
    const id = Number(result.stdout.match(/import (\d+) done/)[1]);

    const listed = await cdp('imports', 'quarantine', String(id), ...connection());
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /customers\.csv row 3: email is not an email address \("not-an-email"\)/);
    assert.match(listed.stdout, /row 4: birthday is not a calendar date \("31\/02\/1991"\)/);
    assert.match(listed.stdout, /row 5: customer_id is required but empty/);
    assert.match(listed.stdout, /row 7: the row has 9 fields where the header has 8/);

    const quarantine = await api(server, `/admin/v1/imports/${id}/quarantine`);
    assert.equal(quarantine.status, 200);
    assert.deepEqual(quarantine.body.rows.map((r) => [r.row, r.column]),
      [[3, 'email'], [4, 'birthday'], [5, 'customer_id'], [7, '']]);

    const record = await api(server, `/admin/v1/imports/${id}`);
    assert.equal(record.body.state, 'done');
    assert.equal(record.body.checksum.length, 64);
    assert.equal(record.body.size, Buffer.byteLength(CRM_CSV));
    assert.equal(record.body.origin, 'cli');

    // The accepted rows became profiles with cleaned values.
    const ann = await eventually(() => api(server, '/v1/profiles/user_id:c-1'),
      (answer) => answer.status === 200, 'profile c-1');
    assert.equal(ann.body.traits.email, 'ann.lee@example.com');
    assert.equal(ann.body.traits.phone, '+14155550132');
    assert.equal(ann.body.traits.firstName, 'Ann');
    assert.equal(ann.body.traits.birthday, '1984-03-07');
    assert.equal(ann.body.traits.postalCode, 'SW1A 1AA');
    assert.equal(ann.body.traits.notes, undefined, 'unmapped columns stay out');
    const ed = await eventually(() => api(server, '/v1/profiles/email:ed@example.com'),
      (answer) => answer.status === 200, 'profile of ed@example.com');
    assert.equal(ed.body.traits.firstName, "O'Brien, Ed");
    const events = (await server.events()).filter((e) => e.source === 'crm');
    assert.equal(events.length, 3);
    assert.ok(events.every((e) => e.event.type === 'identify'));
  });

  it('adds nothing when the same file is imported again', async () => {
    const before = (await server.events()).length;
    const file = path.join(dir, 'customers-again.csv');
    writeFileSync(file, CRM_CSV);
    const result = await cdp('import', file, '--mapping', mappingFile, ...connection());
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /already imported \(import \d+ has the same bytes\); nothing added/);
    assert.equal((await server.events()).length, before);
  });

  it('fails a file whose header does not fit the mapping, with nothing stored', async () => {
    const before = (await server.events()).length;
    const file = path.join(dir, 'wrong.csv');
    writeFileSync(file, 'id,mail\n1,a@example.com\n');
    const result = await cdp('import', file, '--mapping', mappingFile, ...connection());
    assert.equal(result.code, 1);
    assert.match(result.stdout, /FAILED; nothing of it entered the log/);
    assert.match(result.stdout, /columns "customer_id", "email",.* are not in the file's header \(id, mail\)/);
    assert.equal((await server.events()).length, before);
  });

  it('imports JSON Lines events onto the profiles\' timelines', async () => {
    const mapping = path.join(dir, 'orders.toml');
    writeFileSync(mapping, `kind = "events"
source = "orders"
event = "Order Completed"
[columns]
customer = { identifier = "user_id" }
order_id = { message_id = true }
total = { property = "revenue", type = "number" }
items = { property = "products", type = "json" }
at = { timestamp = true }
`);
    const file = path.join(dir, 'orders.jsonl');
    writeFileSync(file, [
      JSON.stringify({ customer: 'c-1', order_id: 'o-1', total: 30.5, items: [{ sku: 'a' }], at: '2024-05-02T09:00:00Z' }),
      'this line is not JSON',
      JSON.stringify({ customer: 'c-8', order_id: 'o-2', total: 'lots', at: '2024-05-02T09:00:00Z' }),
      JSON.stringify({ customer: 'c-8', order_id: 'o-3', total: 12, at: '2024-05-03T09:00:00Z' }),
    ].join('\n') + '\n');
    const result = await cdp('import', file, '--mapping', mapping, ...connection());
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /accepted\s+2/);
    assert.match(result.stdout, /quarantined\s+2/);
    const events = (await server.events()).filter((e) => e.source === 'orders');
    assert.deepEqual(events.map((e) => e.event.messageId), ['o-1', 'o-3']);
    assert.equal(events[0].event.type, 'track');
    assert.equal(events[0].event.event, 'Order Completed');
    assert.deepEqual(events[0].event.properties, { revenue: 30.5, products: [{ sku: 'a' }] });
    const timeline = await eventually(() => api(server, '/v1/profiles/user_id:c-1/events'),
      (answer) => answer.status === 200 && answer.body.events?.some((e) => e.event === 'Order Completed'),
      'the order on c-1\'s timeline');
    assert.ok(timeline.body.events.length >= 2);
  });

  it('imports a file dropped into the watched folder and takes it out of the folder', async () => {
    const partial = path.join(watchDir, 'drop.csv.part');
    writeFileSync(partial, 'customer_id,email,phone,first_name,birthday,zip,updated\n' +
      'w-1,wanda@example.com,,Wanda,05/05/1985,,2024-05-01T10:00:00Z\n');
    renameSync(partial, path.join(watchDir, 'drop.csv'));
    const imported = await eventually(() => api(server, '/admin/v1/imports'),
      (answer) => answer.body.imports.some((i) => i.file === 'drop.csv' && i.state === 'done'),
      'the dropped file imported');
    const record = imported.body.imports.find((i) => i.file === 'drop.csv');
    assert.equal(record.origin, `watch:${watchDir}`);
    assert.equal(record.rowsAccepted, 1);
    assert.deepEqual(readdirSync(watchDir), []);
    await eventually(() => api(server, '/v1/profiles/user_id:w-1'), (a) => a.status === 200,
      'profile w-1');
  });

  it('refuses an upload over the size limit with a clear error', async () => {
    const file = path.join(dir, 'huge.csv');
    writeFileSync(file, 'customer_id\n' + 'x\n'.repeat(600 * 1024));
    const result = await cdp('import', file, '--mapping', mappingFile, ...connection());
    assert.equal(result.code, 1);
    assert.match(result.stderr, /larger than 1 MB \(\[import\] max_file_mb\)/);
  });

  it('refuses uploads without the admin token', async () => {
    const response = await fetch(`${server.url}/admin/v1/imports?mapping=crm&file=x.csv`,
      { method: 'POST', body: 'a,b\n' });
    assert.equal(response.status, 401);
  });
});

describe('an import interrupted by a crash', () => {
  it('finishes after a restart and stores every row once', async () => {
    const server = await startServer({ logLevel: 'info' });
    const dir = server.dir;
    try {
      const mapping = path.join(dir, 'people.toml');
      writeFileSync(mapping, 'source = "bulk"\n[columns]\nid = { identifier = "user_id" }\nscore = { trait = "score", type = "integer" }\n');
      const rows = 150000;
      const lines = ['id,score'];
      for (let i = 0; i < rows; i++) lines.push(`u${i},${i}`);
      const file = path.join(dir, 'bulk.csv');
      writeFileSync(file, lines.join('\n') + '\n');
      const child = spawn(CDP_BIN, ['import', file, '--mapping', mapping, '--no-wait',
        '--server', server.url, '--token', ADMIN_TOKEN]);
      await new Promise((resolve) => child.once('exit', resolve));
      const loading = await eventually(() => api(server, '/admin/v1/imports/1'),
        (answer) => answer.body?.state === 'loading' && answer.body.loadedThroughRow > 0 ||
          answer.body?.state === 'done', 'loading to start', 60000);
      await server.kill();
      await server.start();
      const done = await eventually(() => api(server, '/admin/v1/imports/1'),
        (answer) => answer.body?.state === 'done', 'the import to finish after the restart', 120000);
      assert.equal(done.body.rowsAccepted, rows);
      const stored = (await server.events()).filter((e) => e.source === 'bulk');
      assert.equal(stored.length, rows, 'every row once, none twice');
      assert.equal(new Set(stored.map((e) => e.event.messageId)).size, rows);
      if (loading.body.state === 'done') {
        // The import outran the kill on a fast machine; the count above still holds.
        console.log('note: the import finished before the kill');
      }
      assert.ok(existsSync(path.join(dir, 'data', done.body.rawPath)));
    } finally {
      await server.stop();
      server.cleanup();
    }
  });
});
