// A load generator for the failure tests: it sends /v1/batch requests with unique messageIds over
// several concurrent connections and behaves like an SDK when a request fails (connection refused
// or reset, 429, 503): it retries the same batch, with the same messageIds, a few times, then
// abandons it.
//
//   const loader = new Loader({ url: server.url, writeKey: 'wk_test', connections: 4 });
//   loader.start();
//   ...                      // kill and restart the server, fill the disk, ...
//   await loader.stop();     // stops starting new batches; waits for the ones in flight
//   loader.acked             // Set of every messageId whose request was answered 200
//
// Every event carries a padding derived from its messageId, so a reader can check that the
// stored JSON is exactly what was sent (see expectedPad).
import { setTimeout as sleep } from 'node:timers/promises';
import { basicAuth } from './server.mjs';

// The property every event carries: `bytes` characters derived from the messageId.
export function expectedPad(messageId, bytes) {
  const unit = `${messageId};`;
  return unit.repeat(Math.ceil(bytes / unit.length)).slice(0, bytes);
}

export function makeEvent(messageId, padBytes) {
  return {
    type: 'track',
    event: 'Load Test',
    userId: `user-${messageId.slice(0, 8)}`,
    messageId,
    timestamp: new Date().toISOString(),
    properties: { messageId, pad: expectedPad(messageId, padBytes) },
  };
}

// Sends one batch; resolves to {status, retryAfter, body} or {status: 0, error} when no HTTP
// answer came (refused, reset, timed out).
export async function sendBatch(url, writeKey, events, timeoutMs = 15000) {
  try {
    const response = await fetch(`${url}/v1/batch`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: basicAuth(writeKey) },
      body: JSON.stringify({ batch: events }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const body = await response.text();
    return { status: response.status, retryAfter: response.headers.get('retry-after'), body };
  } catch (error) {
    return { status: 0, error: error.cause?.code ?? error.name ?? String(error) };
  }
}

export class Loader {
  // `url`: a string or a function returning the current server URL.
  constructor({
    url,
    writeKey = 'wk_test',
    connections = 4,
    batchSize = [20, 50],
    padBytes = 900,
    maxAttempts = 8,               // a number, or [low, high]: each batch draws its own budget
    retryDelayMs = [100, 400],
    prefix = 'm',
    honourRetryAfter = false,
  }) {
    this.url = typeof url === 'function' ? url : () => url;
    this.writeKey = writeKey;
    this.connections = connections;
    this.batchSize = batchSize;
    this.padBytes = padBytes;
    this.maxAttempts = maxAttempts;
    this.retryDelayMs = retryDelayMs;
    this.prefix = prefix;
    this.honourRetryAfter = honourRetryAfter;

    this.acked = new Set();        // messageIds answered 200
    this.sent = new Set();         // messageIds sent at least once
    this.abandoned = new Set();    // messageIds given up on (never answered 200)
    // dedupedOnRetry: events a retry found already stored (their first answer was lost).
    this.counts = { requests: 0, ok: 0, retries: 0, abandonedBatches: 0, dedupedOnRetry: 0, byStatus: {} };
    this.unexpected = [];          // answers a failing server must never give (4xx other than 429, ...)
    this.retryAfterMissing = 0;    // 429/503 answers without Retry-After
    this.running = false;
    this.workers = [];
    this.nextId = 0;
  }

  start() {
    this.running = true;
    for (let i = 0; i < this.connections; ++i) this.workers.push(this.#work(i));
    return this;
  }

  async stop() {
    this.running = false;
    await Promise.all(this.workers);
    this.workers = [];
  }

  #between([low, high]) {
    return low + Math.floor(Math.random() * (high - low + 1));
  }

  #newBatch(worker) {
    const size = this.#between(this.batchSize);
    const events = [];
    for (let i = 0; i < size; ++i) {
      const id = `${this.prefix}-${worker}-${(this.nextId++).toString().padStart(7, '0')}-${Math.random().toString(36).slice(2, 8)}`;
      events.push(makeEvent(id, this.padBytes));
      this.sent.add(id);
    }
    return events;
  }

  // Sends `events` until it is answered 200 or maxAttempts run out. Returns the last answer.
  async sendWithRetries(events) {
    let answer;
    const attempts = Array.isArray(this.maxAttempts) ? this.#between(this.maxAttempts) : this.maxAttempts;
    for (let attempt = 1; attempt <= attempts; ++attempt) {
      if (attempt > 1) this.counts.retries += 1;
      this.counts.requests += 1;
      answer = await sendBatch(this.url(), this.writeKey, events);
      const key = answer.status === 0 ? answer.error : String(answer.status);
      this.counts.byStatus[key] = (this.counts.byStatus[key] ?? 0) + 1;
      if (answer.status === 200) {
        this.counts.ok += 1;
        if (attempt > 1) this.counts.dedupedOnRetry += JSON.parse(answer.body).duplicates ?? 0;
        for (const event of events) this.acked.add(event.messageId);
        return answer;
      }
      if (answer.status === 429 || answer.status === 503) {
        if (!answer.retryAfter) this.retryAfterMissing += 1;
      } else if (answer.status !== 0) {
        this.unexpected.push({ status: answer.status, body: answer.body });
        break;
      }
      let delay = this.#between(this.retryDelayMs);
      if (this.honourRetryAfter && answer.retryAfter) delay = Math.min(delay, Number(answer.retryAfter) * 1000);
      await sleep(delay);
    }
    this.counts.abandonedBatches += 1;
    for (const event of events) this.abandoned.add(event.messageId);
    return answer;
  }

  async #work(worker) {
    while (this.running) await this.sendWithRetries(this.#newBatch(worker));
  }
}
