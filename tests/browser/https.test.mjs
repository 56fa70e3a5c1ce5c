// End-to-end browser test of corsd over HTTPS.
//
// Makes a test CA and a certificate it signs for localhost (tests/support/certs.mjs, openssl), starts the
// corsd binary named by $CORSD_BIN with that certificate and a config that allows credentialed requests
// from the demo page's origin only, https://localhost:DEMO_PORT, and opens the demo page in headless
// Chromium (Debian's /usr/bin/chromium, or $CHROMIUM_BIN) trusting the test CA:
//   - the demo page's jQuery PUT then DELETE reach https://localhost:API_PORT cross-origin, with exactly
//     one preflight between them, every response (the page's own files, the calls and the preflight) over
//     HTTP/2 on TLS (ALPN h2);
//   - a credentialed POST /session sets corsd's session cookie, `Secure; SameSite=None` over HTTPS, and a
//     credentialed GET /whoami sends it back.
// Finally checks that corsd shuts down gracefully (exit code 0) on SIGTERM.
//
//   CORSD_BIN=build/corsd node --test tests/browser/https.test.mjs

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { makeCa, makeLeaf, spkiSha256 } from '../support/certs.mjs';
import { freePort } from '../support/net.mjs';
import {
  startCorsd, killCorsd, stopCorsd, CHROMIUM_ARGS, openRecordedPage, fetchInPage, DEMO_PATH, demoEcho, demoPre,
  demoPres, waitForDemo, isPreflight, describeRequests,
} from './support.mjs';

const FETCH_TIMEOUT_MS = 5_000;
const SHUTDOWN_TIMEOUT_MS = 5_000;

/** The allowed origin is the demo page's own, known before corsd starts (its port comes from freePort). */
const config = (demoOrigin) => `\
[server]
tls_cert = "server.pem"
tls_key = "server.key"

[[routes]]
path = "/"
allow_origins = ["${demoOrigin}"]
allow_credentials = true
allow_methods = ["GET", "POST", "PUT", "DELETE"]
allow_headers = ["content-type", "accept"]
expose_headers = ["x-request-id"]
max_age = 10
`;

/** The running corsd (see startCorsd in ../support/corsd.mjs). */
let corsd;
let tmpDir;
let browser;
let context;
let apiOrigin;
let demoOrigin;

before(async () => {
  tmpDir = mkdtempSync(join(tmpdir(), 'corsd-browser-https-'));
  const ca = await makeCa(tmpDir);
  // The certificate file holds the CA's certificate after the server's (corsd serves the chain it is
  // given): Chromium matches --ignore-certificate-errors-spki-list against the certificates the server
  // presents, so the CA's hash is honoured only when the CA is in the chain served. With the server's
  // certificate alone, the CA's hash is not enough (net::ERR_CERT_AUTHORITY_INVALID) and only the
  // leaf's own hash would do; the CA's is used here, so that any certificate this CA signs is accepted.
  // Beware: for a chain that matches, the flag ignores every certificate error, not just the unknown
  // authority (an expired certificate, or one for another name, load too): it stands for trusting the
  // test CA, and TLS itself is checked by tests/tls/tls.test.mjs with node:tls.
  const leaf = await makeLeaf(tmpDir, ca, { name: 'leaf', chain: true });
  copyFileSync(leaf.cert, join(tmpDir, 'server.pem'));
  copyFileSync(leaf.key, join(tmpDir, 'server.key'));

  const demoPort = await freePort();
  demoOrigin = `https://localhost:${demoPort}`;
  const configPath = join(tmpDir, 'corsd.toml');
  writeFileSync(configPath, config(demoOrigin));
  corsd = await startCorsd([
    '--config', configPath,
    '--listen', 'localhost:0', '--demo-listen', `localhost:${demoPort}`,
    '--threads', '1', '--log-level', 'debug',
  ]);
  apiOrigin = new URL(corsd.apiUrl).origin;
  assert.match(corsd.stdout(), new RegExp(`ready: api https://localhost:${corsd.port} demo ${demoOrigin}/\\n`), corsd.output());

  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_BIN || '/usr/bin/chromium',
    headless: true,
    args: [...CHROMIUM_ARGS, `--ignore-certificate-errors-spki-list=${spkiSha256(ca.pem)}`],
  });
  context = await browser.newContext();
});

after(async () => {
  if (browser) await browser.close().catch(() => {});
  await killCorsd(corsd);
  if (tmpDir) rmSync(tmpDir, { recursive: true, force: true });
});

/**
 * Records, through a CDP session of its own, the protocol of every response the page gets:
 * [{ url, method, type, protocol, tls }], protocol as Chromium says it ('http/1.1', 'h2', ...), tls the
 * TLS version ('TLS 1.3'). Preflights are their own responses (type 'Preflight').
 */
async function recordProtocols(page) {
  const requests = new Map();
  const cdp = await page.context().newCDPSession(page);
  cdp.on('Network.requestWillBeSent', (e) => {
    requests.set(e.requestId, { ...requests.get(e.requestId), url: e.request.url, method: e.request.method });
  });
  cdp.on('Network.responseReceived', (e) => {
    requests.set(e.requestId, {
      url: e.response.url, ...requests.get(e.requestId), type: e.type, protocol: e.response.protocol,
      tls: e.response.securityDetails?.protocol,
    });
  });
  await cdp.send('Network.enable');
  return () => [...requests.values()];
}

/** Opens the demo page with every recorder (console, CDP network log, protocols), before it loads anything. */
async function openDemo() {
  const demo = await openRecordedPage(context);
  const protocols = await recordProtocols(demo.page);
  const toApi = () => demo.network.toOrigin(apiOrigin);
  const diagnostics = async () =>
    `page ${demo.page.url()}; requests to the API origin ${apiOrigin}:\n${describeRequests(toApi())}\n` +
    `protocols: ${JSON.stringify(protocols())}\n` +
    `page <pre>s: ${JSON.stringify(await demoPres(demo.page).catch((e) => e.message))}\n` +
    `page console:\n${demo.consoleLog.describe()}\n${corsd.output()}`;
  return { ...demo, protocols, toApi, diagnostics };
}

test('demo page over HTTPS: jQuery PUT then DELETE cross-origin, one shared preflight, HTTP/2 on TLS', { timeout: 60_000 }, async () => {
  const demo = await openDemo();
  const { page, protocols, toApi, diagnostics } = demo;

  const response = await page.goto(corsd.demoUrl);
  assert.equal(response?.status(), 200, `could not load ${corsd.demoUrl}\n${await diagnostics()}`);
  const security = await response.securityDetails();
  assert.equal(security?.subjectName, 'localhost', `the page came over TLS with the test certificate: ${JSON.stringify(security)}`);
  assert.equal(await page.evaluate(() => location.origin), demoOrigin);
  assert.equal(await page.evaluate(() => window.isSecureContext), true, 'an https:// page is a secure context');

  await waitForDemo(demo, diagnostics);
  const info = await diagnostics();

  assert.deepEqual(await demoPre(page, 'putResponse'), { state: 'done', text: demoEcho('PUT') },
    `PUT response shown on the page is wrong\n${info}`);
  assert.deepEqual(await demoPre(page, 'deleteResponse'), { state: 'done', text: demoEcho('DELETE') },
    `DELETE response shown on the page is wrong\n${info}`);
  assert.equal((await page.textContent('#apiOrigin')).trim(), apiOrigin, `the page calls the https:// API origin\n${info}`);

  const apiRequests = toApi();
  const preflights = apiRequests.filter(isPreflight);
  const count = (method) => apiRequests.filter((r) => !isPreflight(r) && r.method === method).length;
  assert.equal(preflights.length, 1,
    `expected exactly one CORS preflight (OPTIONS) to the API: one for the PUT, reused for the DELETE ` +
      `(Access-Control-Max-Age)\n${info}`);
  assert.equal(preflights[0].method, 'OPTIONS', `the preflight must be an OPTIONS request\n${info}`);
  assert.equal(preflights[0].status, 204, `the preflight must be answered 204\n${info}`);
  assert.equal(new URL(preflights[0].url).pathname, DEMO_PATH, `preflight went to the wrong path\n${info}`);
  assert.equal(count('PUT'), 1, `expected exactly one PUT to the API\n${info}`);
  assert.equal(count('DELETE'), 1, `expected exactly one DELETE to the API\n${info}`);
  assert.equal(apiRequests.length, 3, `expected no other requests to the API\n${info}`);

  // Every response from both origins came over TLS, as HTTP/2: Chromium offers h2 and http/1.1 by ALPN, and
  // corsd picks h2. The calls and the preflight too: each recorded with its own protocol.
  const answered = protocols().filter((r) => r.protocol !== undefined);
  const fromApi = answered.filter((r) => new URL(r.url).origin === apiOrigin);
  assert.deepEqual(fromApi.map((r) => r.method).sort(), ['DELETE', 'OPTIONS', 'PUT'],
    `one protocol recorded per API response, the preflight's included\n${info}`);
  assert.equal(fromApi.filter((r) => r.type === 'Preflight').length, 1, `exactly one preflight response\n${info}`);
  for (const r of answered.filter((x) => [apiOrigin, demoOrigin].includes(new URL(x.url).origin))) {
    assert.equal(r.protocol, 'h2', `${r.method} ${r.url}: protocol\n${info}`);
    assert.match(r.tls ?? '', /^TLS 1\.[23]$/, `${r.method} ${r.url}: over TLS 1.2 or 1.3\n${info}`);
  }
  await page.close();
});

test('credentials over HTTPS: POST /session sets a Secure; SameSite=None cookie that GET /whoami gets back', { timeout: 60_000 }, async () => {
  const demo = await openDemo();
  const { page, network, diagnostics } = demo;
  const response = await page.goto(corsd.demoUrl);
  assert.equal(response?.status(), 200, `could not load ${corsd.demoUrl}\n${await diagnostics()}`);
  await waitForDemo(demo, diagnostics); // the page's own two calls first, so the log below is only ours
  const fetchApi = (path, init) => fetchInPage(page, apiOrigin + path, init,
    { headers: { requestId: 'X-Request-Id' }, timeoutMs: FETCH_TIMEOUT_MS });

  const session = await fetchApi('/session', { method: 'POST', credentials: 'include' });
  await network.settle(150, 15);
  let info = `POST /session: ${JSON.stringify(session)}\n${await diagnostics()}`;
  assert.equal(session.ok, true, `credentialed POST /session from ${demoOrigin} must succeed\n${info}`);
  assert.equal(session.status, 200, `POST /session status\n${info}`);
  const m = session.body.match(/^session started: ([0-9a-f]{16})\n$/);
  assert.ok(m, `unexpected POST /session body\n${info}`);
  const sessionId = m[1];
  assert.match(session.requestId ?? '', /^[0-9a-f]{16}$/, `X-Request-Id is exposed\n${info}`);

  // What Chromium stored: the cookie as corsd set it over HTTPS.
  const cookies = (await context.cookies(apiOrigin)).filter((c) => c.name === 'corsd_session');
  assert.deepEqual(cookies.map(({ value, domain, path, secure, httpOnly, sameSite }) =>
    ({ value, domain, path, secure, httpOnly, sameSite })),
  [{ value: sessionId, domain: 'localhost', path: '/', secure: true, httpOnly: true, sameSite: 'None' }],
  `the session cookie must be stored Secure, HttpOnly, SameSite=None\n${info}`);

  const whoami = await fetchApi('/whoami', { credentials: 'include' });
  await network.settle(150, 15);
  info = `GET /whoami: ${JSON.stringify(whoami)}\n${await diagnostics()}`;
  assert.equal(whoami.ok, true, `credentialed GET /whoami from ${demoOrigin} must succeed\n${info}`);
  assert.equal(whoami.body, `cookie: corsd_session=${sessionId}\nauthorization: (none)\n`,
    `/whoami must have received the session cookie set by POST /session\n${info}`);
  const sent = network.toOrigin(apiOrigin).filter((r) => new URL(r.url).pathname === '/whoami' && !isPreflight(r));
  assert.equal(sent.length, 1, `one GET /whoami\n${info}`);
  assert.deepEqual(sent[0].cookies, ['corsd_session sent'], `Chromium says it attached the cookie\n${info}`);
  await page.close();
});

test('corsd exits with code 0 on SIGTERM (graceful shutdown)', { timeout: 30_000 }, async () => {
  if (browser) {
    await browser.close();
    browser = undefined;
  }
  assert.deepEqual(await stopCorsd(corsd, SHUTDOWN_TIMEOUT_MS), { code: 0, signal: null },
    `corsd must exit with code 0 on SIGTERM\n${corsd.output()}`);
});
