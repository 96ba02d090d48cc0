// Crash and restart: nothing the server acknowledged is ever lost, and nothing is stored twice.
//
// A loader sends batches with unique messageIds over several connections and retries failed
// requests with the same messageIds, like an SDK. The server is killed with SIGKILL at random
// moments and restarted on the same data directory. At the end every acknowledged messageId must
// be in the raw log exactly once, no messageId may be there twice (a retry of a request that was
// stored but whose answer was lost is deduplicated), seqs run 1, 2, 3, ... without gaps, and every
// stored event is exactly the JSON that was sent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { startServer, CDP_BIN } from './lib/server.mjs';
import { Loader, expectedPad } from './lib/loader.mjs';

const kKillRounds = 6;
const kPadBytes = 900;

function randomBetween(low, high) {
  return low + Math.floor(Math.random() * (high - low + 1));
}

// Checks the invariants over every stored record; returns the stored messageIds.
function checkRecords(records, loader) {
  const stored = new Map();  // messageId -> seq
  const twice = [];
  const foreign = [];
  const damaged = [];
  records.forEach((record, index) => {
    assert.equal(record.seq, index + 1, `seqs must run 1, 2, 3, ... without gaps; record ${index} has seq ${record.seq}`);
    assert.equal(record.source, 'test');
    const event = record.event;
    const id = event?.messageId;
    if (typeof id !== 'string') {
      damaged.push({ seq: record.seq, why: 'no messageId' });
      return;
    }
    if (stored.has(id)) twice.push({ id, seqs: [stored.get(id), record.seq] });
    stored.set(id, record.seq);
    if (!loader.sent.has(id)) foreign.push(id);
    if (event.type !== 'track' || event.event !== 'Load Test' || event.properties?.messageId !== id ||
        event.properties?.pad !== expectedPad(id, kPadBytes) || event.userId !== `user-${id.slice(0, 8)}`) {
      damaged.push({ seq: record.seq, id });
    }
  });
  assert.deepEqual(twice, [], 'no messageId may be stored twice');
  assert.deepEqual(foreign, [], 'every stored messageId must be one the loader sent');
  assert.deepEqual(damaged.slice(0, 5), [], `every stored event must be intact (${damaged.length} damaged)`);
  const lost = [...loader.acked].filter((id) => !stored.has(id));
  assert.deepEqual(lost.slice(0, 10), [], `every acknowledged messageId must be stored (${lost.length} lost)`);
  return stored;
}

test('events acknowledged before a SIGKILL survive it, exactly once', { timeout: 240_000 }, async (t) => {
  const server = await startServer({ storage: { sync: true } });
  t.after(async () => {
    await server.kill();
    server.cleanup();
  });

  // Each batch gets 1 to 10 attempts, 200-600 ms apart: most outlast a restart and get through,
  // some are abandoned (possibly after they were stored without an answer).
  const loader = new Loader({ url: server.url, connections: 6, padBytes: kPadBytes, maxAttempts: [1, 10],
                              retryDelayMs: [200, 600] });
  loader.start();
  let kills = 0;
  for (let round = 0; round < kKillRounds; ++round) {
    await sleep(randomBetween(200, 1500));
    await server.kill();
    kills += 1;
    await sleep(randomBetween(0, 300));
    await server.start();
  }
  await sleep(1000);
  await loader.stop();

  const records = await server.events();
  const stored = checkRecords(records, loader);
  const storedUnacked = [...stored.keys()].filter((id) => !loader.acked.has(id)).length;
  t.diagnostic(`kills=${kills} sent=${loader.sent.size} acked=${loader.acked.size} stored=${stored.size} ` +
               `stored_unacked=${storedUnacked} retries=${loader.counts.retries} ` +
               `deduped_on_retry=${loader.counts.dedupedOnRetry} ` +
               `abandoned_batches=${loader.counts.abandonedBatches} answers=${JSON.stringify(loader.counts.byStatus)}`);
  assert.deepEqual(loader.unexpected.slice(0, 3), [], 'the server must answer 200, 429 or 503 to valid batches');
  assert.equal(loader.retryAfterMissing, 0, '429 and 503 answers must carry Retry-After');
  assert.ok(loader.acked.size > 0, 'the loader must have got some batches through');
  assert.ok(loader.counts.retries > 0, 'the kills must have made the loader retry');

  // The data directory reads the same through the CLI after a clean stop.
  await server.stop();
  const exported = execFileSync(CDP_BIN, ['events', 'export', '--data', `${server.dir}/data`],
                                { maxBuffer: 1 << 30, encoding: 'utf8' })
    .split('\n').filter(Boolean).map((line) => JSON.parse(line));
  assert.equal(exported.length, records.length, '`cdp events export` must see every record');
  checkRecords(exported, loader);
});
