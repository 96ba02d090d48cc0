// A webhook receiver for delivery tests: a real HTTP server on 127.0.0.1 that checks cdp's
// HMAC-SHA256 signature, answers as a test scripts it (status, Retry-After, delay, connection
// reset) and counts what it took.
//
//   const receiver = await startReceiver({ secret: 'whsec', script: (request, index) => ({ status: 503 }) });
//   receiver.delivered   // Map messageId -> times answered 2xx
import http from 'node:http';
import { createHmac, timingSafeEqual } from 'node:crypto';

export async function startReceiver({ secret, script } = {}) {
  const receiver = {
    requests: 0,
    delivered: new Map(),
    bodies: [],
    requestIds: [],  // the messageIds of each request, answered or not, in order
    badSignatures: 0,
    script,
    url: '',
    messages() {
      return [...this.delivered.keys()];
    },
    duplicates() {
      return [...this.delivered.values()].reduce((sum, n) => sum + (n - 1), 0);
    },
  };
  const server = http.createServer((request, response) => {
    const chunks = [];
    request.on('data', (chunk) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const index = receiver.requests++;
      if (secret) {
        const timestamp = request.headers['x-cdp-timestamp'] ?? '';
        const expected = 'v1=' + createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
        const given = String(request.headers['x-cdp-signature'] ?? '');
        const fresh = Math.abs(Date.now() / 1000 - Number(timestamp)) < 300;
        if (!fresh || given.length !== expected.length ||
            !timingSafeEqual(Buffer.from(given), Buffer.from(expected))) {
          receiver.badSignatures++;
          response.writeHead(401).end('bad signature');
          return;
        }
      }
      const json = JSON.parse(body);
      receiver.requestIds.push((json.batch ?? [json]).map((message) => message.messageId));
      const reply = receiver.script?.({ headers: request.headers, body, json }, index) ?? {};
      const answer = () => {
        // cdp gave up on this request (its timeout): what is answered now does not count.
        if (request.socket.destroyed) return;
        if (reply.reset) {
          request.socket.resetAndDestroy();
          return;
        }
        const status = reply.status ?? 200;
        if (status >= 200 && status < 300) {
          for (const message of json.batch ?? [json]) {
            receiver.delivered.set(message.messageId, (receiver.delivered.get(message.messageId) ?? 0) + 1);
            receiver.bodies.push(message);
          }
        }
        response.writeHead(status, reply.headers ?? {}).end(reply.body ?? '');
      };
      if (reply.delayMs) setTimeout(answer, reply.delayMs);
      else answer();
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${server.address().port}/hook`;
  receiver.close = () => new Promise((resolve) => {
    server.closeAllConnections();
    server.close(resolve);
  });
  return receiver;
}
