// analytics.js (@segment/analytics-next) in a real Chromium against a real `cdp`: a page loads
// the library with `cdnURL` pointing at cdp, so analytics.js fetches its settings from
// GET /v1/projects/{writeKey}/settings, follows the Segment.io `apiHost` that document names back
// to cdp, and sends identify, track and page cross-origin (CORS, Basic auth, preflight).
//
// The page and the library come from a small static server of the test's own (another origin
// than cdp). The bundle is the UMD build (dist/umd/index.js, global `AnalyticsNext`). It would
// lazy-load chunks from `${cdnURL}/analytics-next/bundles/` only for features cdp's settings
// document leaves off (legacy destinations, routing rules, remote middleware, video plugins,
// ajs_ query strings, trackLink/trackForm), so no chunk is served and the test asserts that none
// was asked for. Chromium runs without internet access: anything that tries to leave 127.0.0.1
// fails at name resolution and the test asserts that nothing tried.
//
// Chromium comes from Debian (/usr/bin/chromium, scripts/install-deps.sh); the test is skipped
// only when that binary is absent. No Playwright request interception is used: with interception
// on, Playwright answers CORS preflights itself and cdp's own answer would go untested.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { basicAuth, startServer } from './lib/server.mjs';
import { metricValue } from './lib/checks.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_MISSING = `${CHROMIUM} is missing: install Debian's chromium package (scripts/install-deps.sh)`;
const WRITE_KEY = 'wk_browser';
const PACKAGE_DIR = path.join(here, 'node_modules/@segment/analytics-next');
const BUNDLE_FILE = path.join(PACKAGE_DIR, 'dist/umd/index.js');
const BUNDLE_PATH = '/analytics-next.umd.js';
const ANALYTICS_NEXT_VERSION = JSON.parse(readFileSync(path.join(PACKAGE_DIR, 'package.json'), 'utf8')).version;
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  // No internet here: make any host other than 127.0.0.1 fail at once instead of timing out.
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
];

// The page: loads analytics.js with cdnURL = cdp, sends one call of each kind, and publishes what
// the browser saw on window.result (a promise).
function pageHtml(cdnURL) {
  const config = JSON.stringify({ writeKey: WRITE_KEY, cdnURL });
  return `<!doctype html>
<html>
<head><meta charset="utf-8"><title>cdp browser test</title><link rel="icon" href="data:,"></head>
<body>
<h1>cdp browser test</h1>
<script src="${BUNDLE_PATH}"></script>
<script>
  window.result = (async () => {
    const { writeKey, cdnURL } = ${config};
    const analytics = AnalyticsNext.AnalyticsBrowser.load({ writeKey, cdnURL });
    const [instance] = await analytics;
    const contexts = {
      identify: await analytics.identify('user-browser-1', { email: 'grace@example.com', plan: 'team' }),
      track: await analytics.track('Report Exported', { format: 'csv', rows: 1200 }),
      page: await analytics.page('Docs', 'Install', { section: 'browser' }),
    };
    const out = { messageIds: {}, failed: {} };
    for (const [call, context] of Object.entries(contexts)) {
      out.messageIds[call] = context.event.messageId;
      const failure = context.failedDelivery();
      if (failure) out.failed[call] = String(failure.reason);
    }
    out.anonymousId = instance.user().anonymousId();
    out.userAgent = navigator.userAgent;
    out.href = location.href;
    return out;
  })().catch((error) => ({ error: String(error && error.stack || error) }));
</script>
</body>
</html>
`;
}

// Serves the page and the bundle; records every request, answers anything else 404.
async function startPageServer(cdnURL) {
  const requests = [];
  const html = pageHtml(cdnURL);
  const bundle = readFileSync(BUNDLE_FILE);
  const server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    if (req.method === 'GET' && (req.url === '/' || req.url === '/index.html')) {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
      res.end(html);
    } else if (req.method === 'GET' && req.url === BUNDLE_PATH) {
      res.writeHead(200, { 'Content-Type': 'text/javascript; charset=utf-8', 'Cache-Control': 'no-store' });
      res.end(bundle);
    } else {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('not found');
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    requests,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

// Polls the raw log until `count` records are there (or the time is up); returns them.
async function waitForRecords(server, count, timeoutMs = 30000) {
  const deadline = Date.now() + timeoutMs;
  let records = await server.events();
  while (records.length < count && Date.now() < deadline) {
    await sleep(100);
    records = await server.events();
  }
  return records;
}

describe('analytics.js in Chromium with cdnURL pointing at cdp', () => {
  const chromiumPresent = existsSync(CHROMIUM);
  let server;
  let pages;
  let browser;
  // What the run produced, checked by the tests below.
  let result;
  let records;
  let pageUrl;
  const browserRequests = [];   // every request the page made, as Playwright saw it: 'METHOD URL'
  const sendHeaders = [];       // the headers of the tracking POSTs
  const failedRequests = [];
  const pageErrors = [];
  const consoleMessages = [];
  const preflights = new Map(); // DevTools requestId -> {url, status, headers} of CORS preflights

  before(async () => {
    if (!chromiumPresent) return;
    const { chromium } = await import('playwright-core');
    server = await startServer({ sources: [{ name: 'browser', writeKey: WRITE_KEY }] });
    pages = await startPageServer(server.url);
    pageUrl = `${pages.url}/index.html`;
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    const context = await browser.newContext();
    const page = await context.newPage();
    page.on('request', (request) => {
      browserRequests.push(`${request.method()} ${request.url()}`);
      if (request.method() === 'POST') sendHeaders.push(request.headers());
    });
    page.on('requestfailed', (request) =>
      failedRequests.push(`${request.method()} ${request.url()}: ${request.failure()?.errorText}`));
    page.on('pageerror', (error) => pageErrors.push(String(error)));
    page.on('console', (message) => consoleMessages.push(`${message.type()}: ${message.text()}`));
    // Playwright's own events do not show CORS preflights; the DevTools protocol does.
    const devtools = await context.newCDPSession(page);
    devtools.on('Network.requestWillBeSent', ({ requestId, type, request }) => {
      if (type === 'Preflight') preflights.set(requestId, { method: request.method, url: request.url });
    });
    devtools.on('Network.responseReceived', ({ requestId, type, response }) => {
      if (type !== 'Preflight') return;
      const entry = preflights.get(requestId) ?? { url: response.url };
      preflights.set(requestId, { ...entry, status: response.status, headers: response.headers });
    });
    await devtools.send('Network.enable');

    await page.goto(pageUrl, { waitUntil: 'load' });
    result = await page.evaluate(() => window.result);
    if (!result.error) {
      await waitForRecords(server, 3);
      // A little longer, so that a duplicate delivery would show up too.
      await sleep(500);
    }
    records = await server.events();
  });

  after(async () => {
    await browser?.close();
    await pages?.close();
    await server?.stop();
    server?.cleanup();
  });

  function diagnostics() {
    return JSON.stringify({ result, browserRequests, failedRequests, pageErrors, consoleMessages,
      pageServerRequests: pages?.requests }, null, 2);
  }

  it('loads its settings from cdp and needs nothing else than the page, the bundle and cdp', (t) => {
    if (!chromiumPresent) return t.skip(CHROMIUM_MISSING);
    assert.equal(result.error, undefined, `the page failed: ${diagnostics()}`);
    assert.deepEqual(pageErrors, [], diagnostics());
    assert.deepEqual(failedRequests, [], diagnostics());
    assert.deepEqual(pages.requests.sort(), [`GET ${BUNDLE_PATH}`, 'GET /index.html'].sort(), diagnostics());
    const settingsUrl = `${server.url}/v1/projects/${WRITE_KEY}/settings`;
    assert.equal(browserRequests.filter((request) => request === `GET ${settingsUrl}`).length, 1,
      `one settings request to cdp: ${diagnostics()}`);
    const elsewhere = browserRequests.filter((request) => {
      const url = request.slice(request.indexOf(' ') + 1);
      return !url.startsWith(`${server.url}/`) && !url.startsWith(`${pages.url}/`);
    });
    assert.deepEqual(elsewhere, [], 'no request left for Segment or anywhere else');
    assert.ok(!browserRequests.some((request) => request.includes('/analytics-next/bundles/')),
      'no lazy-loaded chunk was needed');
  });

  it('stores identify, track and page exactly once each with the browser context', (t) => {
    if (!chromiumPresent) return t.skip(CHROMIUM_MISSING);
    assert.equal(result.error, undefined, `the page failed: ${diagnostics()}`);
    assert.deepEqual(result.failed, {}, 'analytics.js reported no failed delivery');
    assert.equal(records.length, 3, `the raw log holds the three calls: ${JSON.stringify(records)}\n${diagnostics()}`);
    for (const call of ['identify', 'track', 'page']) {
      const messageId = result.messageIds[call];
      const matching = records.filter((record) => record.event.messageId === messageId);
      assert.equal(matching.length, 1, `${call} (${messageId}) stored once`);
      const [{ source, event }] = matching;
      assert.equal(source, 'browser');
      assert.equal(event.type, call);
      assert.equal(event.userId, 'user-browser-1', `${call}: userId`);
      assert.equal(event.anonymousId, result.anonymousId, `${call}: the browser's anonymousId`);
      assert.equal(event.writeKey, undefined, 'the write key is not stored with the event');
      const { context } = event;
      assert.equal(context.library.name, 'analytics.js');
      assert.match(context.library.version, new RegExp(`next-${ANALYTICS_NEXT_VERSION.replaceAll('.', '\\.')}$`));
      assert.equal(context.page.url, pageUrl, `${call}: context.page.url`);
      assert.equal(context.page.path, '/index.html');
      assert.equal(context.userAgent, result.userAgent, `${call}: context.userAgent`);
      assert.ok(context.userAgent.length > 0);
      assert.equal(context.ip, '127.0.0.1', `${call}: context.ip set by the server`);
    }
    assert.match(result.anonymousId, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
      'analytics.js generated a UUID anonymousId');

    const byType = Object.fromEntries(records.map((record) => [record.event.type, record.event]));
    assert.deepEqual(byType.identify.traits, { email: 'grace@example.com', plan: 'team' });
    assert.equal(byType.track.event, 'Report Exported');
    assert.deepEqual({ format: byType.track.properties.format, rows: byType.track.properties.rows },
      { format: 'csv', rows: 1200 });
    assert.equal(byType.page.category, 'Docs');
    assert.equal(byType.page.name, 'Install');
    assert.equal(byType.page.properties.section, 'browser');
    assert.equal(byType.page.properties.url, pageUrl);
  });

  it('sends to the apiHost of the settings document with Basic auth, after a preflight cdp answered',
    async (t) => {
      if (!chromiumPresent) return t.skip(CHROMIUM_MISSING);
      const sends = browserRequests.filter((request) => request.startsWith('POST '));
      assert.deepEqual(sends.sort(), [`POST ${server.url}/v1/i`, `POST ${server.url}/v1/p`, `POST ${server.url}/v1/t`],
        diagnostics());
      for (const headers of sendHeaders) assert.equal(headers.authorization, basicAuth(WRITE_KEY));
      const answered = [...preflights.values()].filter((preflight) => preflight.url.startsWith(`${server.url}/v1/`));
      assert.ok(answered.length >= 1, `a CORS preflight went to cdp: ${JSON.stringify([...preflights.values()])}`);
      for (const preflight of answered) {
        assert.equal(preflight.status, 204, `preflight ${preflight.url} answered 204`);
        const headers = Object.fromEntries(Object.entries(preflight.headers).map(([k, v]) => [k.toLowerCase(), v]));
        assert.equal(headers['access-control-allow-origin'], pages.url);
        assert.match(headers['access-control-allow-headers'], /Authorization/);
      }
      // cdp's own count of answered preflights (OPTIONS on a tracking path answers 204).
      const metrics = await server.metrics();
      assert.equal(metricValue(metrics, 'cdp_http_requests_total{route="tracking",code="204"}'), answered.length,
        'cdp answered each preflight the browser saw');
      assert.equal(metricValue(metrics, 'cdp_http_requests_total{route="tracking",code="200"}'), 3);
      assert.equal(metricValue(metrics, 'cdp_http_requests_total{route="settings",code="200"}'), 1);
    });
});
