// A tiny HTTP proxy that sits between an SDK and `cdp` and injects faults, for retry and dedup
// tests. It records every request it receives (headers and raw body).
//
//   const proxy = await startFaultProxy(server.url, (index) => (index === 0 ? 'fail-503' : 'forward'));
//   // point the SDK at proxy.url ...
//   proxy.requests  // [{ index, method, url, headers, body: Buffer, action, upstreamStatus }]
//   await proxy.close();
//
// Actions, chosen per request by `plan(index, request)`:
//   'forward'                  pass the request on and the answer back
//   'fail-503'                 answer 503 without reaching the server
//   'forward-then-503'         pass the request on (the server stores it), then answer 503 instead
//                              of the server's answer: the client must resend
//   'forward-then-disconnect'  pass the request on, then destroy the client's socket unanswered
import http from 'node:http';

export async function startFaultProxy(targetUrl, plan = () => 'forward') {
  const target = new URL(targetUrl);
  const requests = [];

  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', async () => {
      const record = {
        index: requests.length,
        method: req.method,
        url: req.url,
        headers: req.headers,
        body: Buffer.concat(chunks),
        action: null,
        upstreamStatus: null,
      };
      requests.push(record);
      record.action = plan(record.index, record);
      if (record.action === 'fail-503') {
        res.writeHead(503, { 'Content-Type': 'application/json', Connection: 'close' });
        res.end('{"error":{"code":"injected","message":"503 injected by the test proxy"}}');
        return;
      }
      let upstream;
      try {
        upstream = await forward(target, req, record.body);
      } catch (error) {
        res.writeHead(502, { 'Content-Type': 'text/plain' });
        res.end(`proxy could not reach the server: ${error.message}`);
        return;
      }
      record.upstreamStatus = upstream.status;
      record.upstreamBody = upstream.body.toString();
      if (record.action === 'forward-then-503') {
        res.writeHead(503, { 'Content-Type': 'application/json', Connection: 'close' });
        res.end('{"error":{"code":"injected","message":"503 injected after the server answered"}}');
      } else if (record.action === 'forward-then-disconnect') {
        req.socket.destroy();
      } else {
        const headers = { ...upstream.headers };
        delete headers['transfer-encoding'];
        res.writeHead(upstream.status, headers);
        res.end(upstream.body);
      }
    });
  });

  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

function forward(target, req, body) {
  return new Promise((resolve, reject) => {
    const headers = { ...req.headers, host: target.host, connection: 'close' };
    const upstream = http.request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers,
        agent: false,
      },
      (response) => {
        const chunks = [];
        response.on('data', (chunk) => chunks.push(chunk));
        response.on('end', () =>
          resolve({ status: response.statusCode, headers: response.headers, body: Buffer.concat(chunks) }),
        );
        response.on('error', reject);
      },
    );
    upstream.on('error', reject);
    upstream.end(body);
  });
}
