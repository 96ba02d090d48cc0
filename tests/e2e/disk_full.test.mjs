// A full disk: the server on a small tmpfs refuses writes with 503/429 + Retry-After, never
// acknowledges an event it did not store, keeps answering health checks and reads, takes writes
// again by itself once space returns, and leaves a data directory that reopens intact.
//
// Needs permission to mount a tmpfs (root in CI); skipped otherwise.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startServer, ADMIN_TOKEN } from './lib/server.mjs';
import { Loader, expectedPad, sendBatch, makeEvent } from './lib/loader.mjs';

const kFilesystemMb = 48;
const kBallastMb = 20;
const kMinFreeMb = 0;
const kPadBytes = 900;

function freeMb(dir) {
  const stats = statfsSync(dir);
  return (stats.bavail * stats.bsize) / (1 << 20);
}

function tryMount(dir) {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${kFilesystemMb}m`, 'tmpfs', dir], { stdio: 'pipe' });
    return null;
  } catch (error) {
    return String(error.stderr || error.message).trim();
  }
}

// Every stored record must be intact and stored once; every acknowledged messageId must be there.
function checkRecords(records, acked, sent) {
  const stored = new Set();
  records.forEach((record, index) => {
    assert.equal(record.seq, index + 1, `seqs must run 1, 2, 3, ... without gaps; record ${index} has seq ${record.seq}`);
    const id = record.event.messageId;
    assert.ok(!stored.has(id), `messageId ${id} is stored twice`);
    stored.add(id);
    assert.ok(sent.has(id), `messageId ${id} was never sent`);
    assert.equal(record.event.properties?.pad, expectedPad(id, kPadBytes), `event ${id} (seq ${record.seq}) is damaged`);
  });
  const lost = [...acked].filter((id) => !stored.has(id));
  assert.deepEqual(lost.slice(0, 10), [], `every acknowledged messageId must be stored (${lost.length} lost)`);
  return stored;
}

async function adminGet(server, target) {
  return fetch(`${server.url}${target}`, { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } });
}

test('a full disk refuses events with 503 and recovers by itself when space returns', { timeout: 240_000 }, async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'cdp-disk-full-'));
  const mountPoint = path.join(dir, 'fs');
  mkdirSync(mountPoint);
  const mountError = tryMount(mountPoint);
  if (mountError) {
    rmSync(dir, { recursive: true, force: true });
    t.skip(`cannot mount a ${kFilesystemMb} MB tmpfs at ${mountPoint} (needs root): ${mountError}`);
    return;
  }
  let server;
  t.after(async () => {
    if (server) await server.kill();
    try {
      execFileSync('umount', [mountPoint], { stdio: 'pipe' });
    } catch (error) {
      execFileSync('umount', ['-l', mountPoint], { stdio: 'pipe' });
    }
    rmSync(dir, { recursive: true, force: true });
  });

  const ballast = path.join(mountPoint, 'ballast');
  writeFileSync(ballast, Buffer.alloc(kBallastMb << 20, 1));
  server = await startServer({ dir, dataDir: path.join(mountPoint, 'data'), storage: { min_free_mb: kMinFreeMb },
                               logLevel: 'info' });

  // Fill the disk. Batches of ~200 KB from several connections form groups of several MB, larger
  // than what is left above the reserve, so RocksDB itself runs out of space, not only the check.
  const loader = new Loader({ url: server.url, connections: 12, batchSize: [300, 420], padBytes: kPadBytes,
                              maxAttempts: 1, retryDelayMs: [20, 50], prefix: 'fill' });
  loader.start();
  const fillDeadline = Date.now() + 120_000;
  let refusedSince = 0;
  while (Date.now() < fillDeadline) {
    await sleep(100);
    const refused = (loader.counts.byStatus['503'] ?? 0) + (loader.counts.byStatus['429'] ?? 0);
    if (refused > 0 && !refusedSince) refusedSince = Date.now();
    if (refusedSince && Date.now() - refusedSince > 3000) break;  // keep pressing a while once full
  }
  await loader.stop();
  t.diagnostic(`fill: acked=${loader.acked.size} answers=${JSON.stringify(loader.counts.byStatus)} ` +
               `free_mb=${freeMb(mountPoint).toFixed(1)}`);
  assert.ok(refusedSince, `the server never refused an event though the disk had ${freeMb(mountPoint).toFixed(1)} MB free`);
  assert.deepEqual(loader.unexpected.slice(0, 3), [], 'a full disk must be answered 503 or 429, nothing else');
  assert.equal(loader.retryAfterMissing, 0, '503 and 429 answers must carry Retry-After');
  assert.equal(loader.counts.byStatus['0'] ?? 0, 0);
  for (const [key, count] of Object.entries(loader.counts.byStatus)) {
    assert.ok(['200', '429', '503'].includes(key), `${count} requests failed without an HTTP answer (${key})`);
  }

  // While full: still refusing, health checks and reads answer.
  const probe = await sendBatch(server.url, 'wk_test', [makeEvent('probe-full', kPadBytes)]);
  assert.ok([429, 503].includes(probe.status), `a write on a full disk was answered ${probe.status}: ${probe.body}`);
  assert.ok(Number(probe.retryAfter) > 0, 'a refusal must say when to retry');
  const health = await fetch(`${server.url}/healthz`);
  assert.equal(health.status, 200);
  assert.deepEqual(await health.json(), { status: 'ok', storage: 'unavailable' });
  const read = await adminGet(server, '/admin/v1/events?from=1&limit=10');
  assert.equal(read.status, 200, 'reads must keep working on a full disk');
  assert.equal((await read.text()).split('\n').filter(Boolean).length, Math.min(10, loader.acked.size));
  checkRecords(await server.events(), loader.acked, loader.sent);

  // Space returns: ingestion resumes without a restart.
  rmSync(ballast);
  const resumeStarted = Date.now();
  let resumed = null;
  let attempt = 0;
  while (Date.now() - resumeStarted < 30_000) {
    const id = `resume-${attempt++}`;
    loader.sent.add(id);
    const answer = await sendBatch(server.url, 'wk_test', [makeEvent(id, kPadBytes)]);
    if (answer.status === 200) {
      loader.acked.add(id);
      resumed = Date.now() - resumeStarted;
      break;
    }
    assert.ok([429, 503].includes(answer.status), `unexpected answer while recovering: ${answer.status} ${answer.body}`);
    await sleep(250);
  }
  t.diagnostic(`resumed after ${resumed} ms, free_mb=${freeMb(mountPoint).toFixed(1)}`);
  assert.ok(resumed !== null, `ingestion did not resume within 30 s of freeing ${kBallastMb} MB: ${server.stderr.slice(-2000)}`);
  assert.deepEqual(await (await fetch(`${server.url}/healthz`)).json(), { status: 'ok', storage: 'writable' });

  // A little more load after recovery, then everything acknowledged must be there once.
  const after = new Loader({ url: server.url, connections: 2, batchSize: [20, 50], padBytes: kPadBytes,
                             maxAttempts: 1, prefix: 'after' });
  after.start();
  await sleep(1000);
  await after.stop();
  const acked = new Set([...loader.acked, ...after.acked]);
  const sent = new Set([...loader.sent, ...after.sent]);
  assert.ok(after.acked.size > 0, `no write succeeded after recovery: ${JSON.stringify(after.counts.byStatus)}`);
  const before = await server.events();
  checkRecords(before, acked, sent);

  // A restart opens the data directory and finds the same records.
  const firstLog = server.stderr;
  await server.stop();
  assert.equal(server.child.exitCode, 0, `cdp did not stop cleanly: ${server.stderr.slice(-2000)}`);
  await server.start();
  const reopened = await server.events();
  assert.equal(reopened.length, before.length, 'a restart must find exactly the records stored before it');
  checkRecords(reopened, acked, sent);
  const last = await sendBatch(server.url, 'wk_test', [makeEvent('after-restart', kPadBytes)]);
  assert.equal(last.status, 200, `a write after the restart failed: ${last.body}`);
  t.diagnostic(`acked=${acked.size} stored=${reopened.length} ` +
               `write_errors=${(firstLog.match(/storage_write_failed/g) ?? []).length} ` +
               `unavailable=${(firstLog.match(/storage_unavailable/g) ?? []).length} ` +
               `recovered=${(firstLog.match(/storage_recovered/g) ?? []).length}`);
  console.error(firstLog.split('\n').filter((l) => /storage|error/i.test(l)).slice(0, 20).join('\n'));
});
