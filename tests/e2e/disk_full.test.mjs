// A full disk: the server on a small tmpfs refuses writes with 503/429 + Retry-After, never
// acknowledges an event it did not store, keeps answering health checks and reads, takes writes
// again by itself once space returns, and leaves a data directory that reopens intact.
//
// Two ways to be full:
//   - the reserve: [storage] min_free_mb = 4, so the server refuses before the disk is full;
//   - ENOSPC: min_free_mb = 0, so RocksDB's WAL write itself fails with "No space left on device".
//     RocksDB then recovers by itself only once the largest write buffer (64 MB) is free again, so
//     that filesystem is bigger and its ballast frees more than that.
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

const kPadBytes = 900;

function freeMb(dir) {
  const stats = statfsSync(dir);
  return ((stats.bavail * stats.bsize) / (1 << 20)).toFixed(1);
}

// Mounts a tmpfs of `sizeMb` at `dir`; returns null, or why it could not.
function tryMount(dir, sizeMb) {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m`, 'tmpfs', dir], { stdio: 'pipe' });
    return null;
  } catch (error) {
    return String(error.stderr || error.message).trim();
  }
}

function unmount(dir) {
  try {
    execFileSync('umount', [dir], { stdio: 'pipe' });
  } catch {
    execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
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
}

function count(log, msg) {
  return (log.match(new RegExp(`"msg":"${msg}"`, 'g')) ?? []).length;
}

// Fills the disk, checks the server while full, frees the ballast, checks it resumes, restarts it.
// Returns the server's log from before the restart.
async function fillAndRecover(t, { filesystemMb, ballastMb, minFreeMb, resumeWithinMs }) {
  const dir = mkdtempSync(path.join(tmpdir(), 'cdp-disk-full-'));
  const mountPoint = path.join(dir, 'fs');
  mkdirSync(mountPoint);
  const mountError = tryMount(mountPoint, filesystemMb);
  if (mountError) {
    rmSync(dir, { recursive: true, force: true });
    t.skip(`cannot mount a ${filesystemMb} MB tmpfs at ${mountPoint} (needs root): ${mountError}`);
    return null;
  }
  let server;
  t.after(async () => {
    if (server) await server.kill();
    unmount(mountPoint);
    rmSync(dir, { recursive: true, force: true });
  });

  const ballast = path.join(mountPoint, 'ballast');
  writeFileSync(ballast, Buffer.alloc(ballastMb << 20, 1));
  server = await startServer({ dir, dataDir: path.join(mountPoint, 'data'), storage: { min_free_mb: minFreeMb },
                               logLevel: 'info' });

  // Fill the disk from many connections at once with ~350 KB batches, and keep pressing for a
  // while after the first refusal.
  const loader = new Loader({ url: server.url, connections: 12, batchSize: [300, 420], padBytes: kPadBytes,
                              maxAttempts: 1, retryDelayMs: [20, 50], prefix: 'fill' });
  loader.start();
  const fillDeadline = Date.now() + 120_000;
  let refusedSince = 0;
  while (Date.now() < fillDeadline && !(refusedSince && Date.now() - refusedSince > 3000)) {
    await sleep(100);
    const refused = (loader.counts.byStatus['503'] ?? 0) + (loader.counts.byStatus['429'] ?? 0);
    if (refused > 0 && !refusedSince) refusedSince = Date.now();
  }
  await loader.stop();
  t.diagnostic(`full: acked=${loader.acked.size} answers=${JSON.stringify(loader.counts.byStatus)} ` +
               `free_mb=${freeMb(mountPoint)}`);
  for (const [key, n] of Object.entries(loader.counts.byStatus)) {
    assert.ok(['200', '429', '503'].includes(key),
              `${n} requests got ${key} instead of 200/429/503 (did cdp crash?): ${server.stderr.slice(-3000)}`);
  }
  assert.ok(refusedSince, `the server never refused an event; the disk has ${freeMb(mountPoint)} MB free`);
  assert.equal(loader.retryAfterMissing, 0, '503 and 429 answers must carry Retry-After');

  // While full: writes are refused, health checks and reads answer, nothing acknowledged is missing.
  const probe = await sendBatch(server.url, 'wk_test', [makeEvent('probe-full', kPadBytes)]);
  assert.ok([429, 503].includes(probe.status), `a write on a full disk was answered ${probe.status}: ${probe.body}`);
  assert.ok(Number(probe.retryAfter) > 0, 'a refusal must say when to retry');
  const health = await fetch(`${server.url}/healthz`);
  assert.equal(health.status, 200);
  assert.deepEqual(await health.json(), { status: 'ok', storage: 'unavailable' });
  const read = await fetch(`${server.url}/admin/v1/events?from=1&limit=10`,
                           { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } });
  assert.equal(read.status, 200, 'reads must keep working on a full disk');
  assert.equal((await read.text()).split('\n').filter(Boolean).length, Math.min(10, loader.acked.size));
  checkRecords(await server.events(), loader.acked, loader.sent);

  // Space returns: ingestion resumes by itself, without a restart.
  rmSync(ballast);
  const freedAt = Date.now();
  let resumedAfter = null;
  for (let attempt = 0; Date.now() - freedAt < resumeWithinMs; ++attempt) {
    const id = `resume-${attempt}`;
    loader.sent.add(id);
    const answer = await sendBatch(server.url, 'wk_test', [makeEvent(id, kPadBytes)]);
    if (answer.status === 200) {
      loader.acked.add(id);
      resumedAfter = Date.now() - freedAt;
      break;
    }
    assert.ok([429, 503].includes(answer.status), `unexpected answer while recovering: ${answer.status} ${answer.body}`);
    await sleep(250);
  }
  t.diagnostic(`resumed ${resumedAfter} ms after freeing ${ballastMb} MB (free_mb=${freeMb(mountPoint)})`);
  assert.ok(resumedAfter !== null,
            `ingestion did not resume within ${resumeWithinMs} ms of freeing ${ballastMb} MB: ${server.stderr.slice(-3000)}`);
  assert.deepEqual(await (await fetch(`${server.url}/healthz`)).json(), { status: 'ok', storage: 'writable' });

  const after = new Loader({ url: server.url, connections: 2, batchSize: [20, 50], padBytes: kPadBytes,
                             maxAttempts: 1, prefix: 'after' });
  after.start();
  await sleep(1000);
  await after.stop();
  assert.ok(after.acked.size > 0, `writes failed after recovery: ${JSON.stringify(after.counts.byStatus)}`);
  const acked = new Set([...loader.acked, ...after.acked]);
  const sent = new Set([...loader.sent, ...after.sent]);
  const before = await server.events();
  checkRecords(before, acked, sent);

  // A restart opens the data directory and finds exactly the same records.
  const log = server.stderr;
  await server.stop();
  assert.equal(server.child.exitCode, 0, `cdp did not stop cleanly: ${server.stderr.slice(-3000)}`);
  await server.start();
  const reopened = await server.events();
  assert.equal(reopened.length, before.length, 'a restart must find exactly the records stored before it');
  checkRecords(reopened, acked, sent);
  const last = await sendBatch(server.url, 'wk_test', [makeEvent('after-restart', kPadBytes)]);
  assert.equal(last.status, 200, `a write after the restart failed: ${last.body}`);
  t.diagnostic(`acked=${acked.size} stored=${reopened.length} write_failures=${count(log, 'storage_write_failed')} ` +
               `recoveries=${count(log, 'storage_recovered')}`);
  return log;
}

test('below the free-space reserve, events are refused with 503 and accepted again once space returns',
     { timeout: 180_000 }, async (t) => {
  const log = await fillAndRecover(t, { filesystemMb: 48, ballastMb: 20, minFreeMb: 4, resumeWithinMs: 15_000 });
  if (log === null) return;
  // The processor stops at half the reserve: its state writes never reach "no space left" either.
  assert.doesNotMatch(log, /No space left on device/, 'with a reserve, no write may run out of space');
  assert.equal(count(log, 'processor_failed'), 0, 'the processor pauses below its reserve instead of failing');
});

test('when the disk is really full (ENOSPC), nothing acknowledged is lost and writes resume once space returns',
     { timeout: 180_000 }, async (t) => {
  const log = await fillAndRecover(t, { filesystemMb: 160, ballastMb: 96, minFreeMb: 0, resumeWithinMs: 30_000 });
  if (log === null) return;
  assert.ok(count(log, 'storage_write_failed') > 0, 'with no reserve, the refusals must come from failed writes');
  assert.match(log, /No space left on device/);
});
