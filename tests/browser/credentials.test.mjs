// End-to-end browser test of CORS with credentials (cookies, Authorization).
//
// Starts the corsd binary named by $CORSD_BIN with a temporary config that allows
// credentialed requests from http://127.0.0.1:* and exposes X-Request-Id, opens
// corsd's demo server in headless Chromium (Debian's /usr/bin/chromium, or
// $CHROMIUM_BIN) under two origins, and runs fetch() from those pages against the
// API's session endpoints:
//   - http://127.0.0.1:Q/ (allowed): POST /session sets a cookie that GET /whoami
//     then receives; an Authorization header passes the preflight; only the exposed
//     response header is readable; a route that does not allow Authorization refuses
//     the preflight and corsd's debug log says what to add to the config.
//   - http://localhost:Q/ (same server, another host, so another origin, not allowed):
//     credentialed fetches are rejected by the browser.
// Finally checks that corsd shuts down gracefully (exit code 0) on SIGTERM.
//
//   CORSD_BIN=build/corsd node --test tests/browser/credentials.test.mjs

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  startCorsd, killCorsd, stopCorsd, launchChromium, openRecordedPage, fetchInPage, isPreflight, describeRequests,
} from './support.mjs';

const FETCH_TIMEOUT_MS = 5_000;
const LOG_TIMEOUT_MS = 3_000;
const SHUTDOWN_TIMEOUT_MS = 5_000;

const CONFIG = `\
[[routes]]
path = "/"
allow_origins = ["http://127.0.0.1:*"]
allow_credentials = true
allow_methods = ["GET", "POST", "PUT", "DELETE"]
allow_headers = ["content-type", "accept", "authorization"]
expose_headers = ["x-request-id"]
max_age = 10

[[routes]]
path = "/strict"
allow_origins = ["http://127.0.0.1:*"]
allow_credentials = true
allow_headers = ["content-type"]
`;

const HEX16 = /^[0-9a-f]{16}$/;
const ECHO_GET = 'Thank You For The Cross-Domain AJAX Request:\n\nMethod: GET\n\n';

/** The running corsd (see startCorsd in support.mjs; stderr() holds its debug log). */
let corsd;

let tmpDir;
let browser;
let context;
let apiUrl;

before(async () => {
  tmpDir = mkdtempSync(join(tmpdir(), 'corsd-credentials-'));
  const configPath = join(tmpDir, 'corsd.toml');
  writeFileSync(configPath, CONFIG);
  corsd = await startCorsd([
    '--config', configPath,
    '--listen', '127.0.0.1:0', '--demo-listen', '127.0.0.1:0',
    '--threads', '1', '--log-level', 'debug',
  ]);
  apiUrl = corsd.apiUrl.replace(/\/+$/, '');
  browser = await launchChromium();
  context = await browser.newContext();
});

after(async () => {
  if (browser) await browser.close().catch(() => {});
  await killCorsd(corsd);
  if (tmpDir) rmSync(tmpDir, { recursive: true, force: true });
});

/**
 * Opens url in a new page of the shared context and records, for diagnostics, the
 * page's console and, through CDP, every request to the API origin (method, status,
 * CORS error, cookies the browser attached or blocked).
 * Returns { page, origin, fetch(path, init), settle(), apiRequests(), corsErrors(path), diagnostics() }.
 */
async function openPage(url) {
  const apiOrigin = new URL(apiUrl).origin;
  // A CORS preflight is its own request (see recordNetwork and isPreflight in support.mjs).
  const { page, consoleLog, network } = await openRecordedPage(context);

  // CDP events trail the page's view of a fetch: wait until none came for 150 ms.
  const settle = () => network.settle(150, 15);
  const apiRequests = () => network.toOrigin(apiOrigin);
  // The CORS errors Chromium reported for requests (not preflights) to path.
  const corsErrors = (path) =>
    apiRequests().filter((r) => new URL(r.url).pathname === path && r.method !== 'OPTIONS').map((r) => r.corsError);
  const diagnostics = () =>
    `page ${page.url()}; requests to the API origin ${apiOrigin}:\n${describeRequests(apiRequests())}\n` +
    `page console:\n${consoleLog.describe()}\n${corsd.output()}`;

  // fetch() in the page; never throws, returns what the script could see.
  const fetchApi = (path, init) => fetchInPage(page, apiUrl + path, init,
    { headers: { requestId: 'X-Request-Id', date: 'Date' }, timeoutMs: FETCH_TIMEOUT_MS });

  const response = await page.goto(url);
  assert.equal(response?.status(), 200, `could not load ${url}\n${diagnostics()}`);
  const origin = await page.evaluate(() => location.origin);
  return { page, origin, fetch: fetchApi, settle, apiRequests, corsErrors, diagnostics };
}

// Waits until corsd's stderr matches re (the debug log is written as requests are handled).
async function waitForLog(re) {
  for (const deadline = Date.now() + LOG_TIMEOUT_MS; Date.now() < deadline; await sleep(50)) {
    if (re.test(corsd.stderr())) return true;
  }
  return re.test(corsd.stderr());
}

const escapeRe = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

let allowed; // the page on http://127.0.0.1:Q/, an allowed origin
let sessionId; // from POST /session's body

test('allowed origin: credentialed POST /session; only the exposed header is readable', { timeout: 30_000 }, async () => {
  allowed = await openPage(corsd.demoUrl);
  assert.equal(allowed.origin, new URL(corsd.demoUrl).origin);

  const r = await allowed.fetch('/session', { method: 'POST', credentials: 'include' });
  await allowed.settle();
  const info = `fetch result: ${JSON.stringify(r)}\n${allowed.diagnostics()}`;
  assert.equal(r.ok, true, `credentialed POST /session from ${allowed.origin} must succeed\n${info}`);
  assert.equal(r.status, 200, `POST /session status\n${info}`);
  const m = r.body.match(/^session started: ([0-9a-f]{16})\n$/);
  assert.ok(m, `unexpected POST /session body\n${info}`);
  sessionId = m[1];
  assert.match(r.requestId ?? '', HEX16,
    `X-Request-Id must be readable by the script (it is in expose_headers)\n${info}`);
  assert.equal(r.date, null,
    `Date is neither exposed nor CORS-safelisted, so the script must not read it\n${info}`);
});

test('allowed origin: the session cookie is sent with a credentialed GET /whoami', { timeout: 30_000 }, async () => {
  assert.ok(allowed && sessionId, 'needs the session started by the previous test');
  const r = await allowed.fetch('/whoami', { credentials: 'include' });
  await allowed.settle();
  const info = `fetch result: ${JSON.stringify(r)}\n${allowed.diagnostics()}`;
  assert.equal(r.ok, true, `credentialed GET /whoami from ${allowed.origin} must succeed\n${info}`);
  assert.equal(r.body, `cookie: corsd_session=${sessionId}\nauthorization: (none)\n`,
    `/whoami must have received the session cookie set by POST /session\n${info}`);
  assert.match(r.requestId ?? '', HEX16, `X-Request-Id must be readable\n${info}`);
});

test('allowed origin: Authorization passes the preflight and reaches the API', { timeout: 30_000 }, async () => {
  assert.ok(allowed && sessionId, 'needs the session started by the first test');
  const r = await allowed.fetch('/whoami', { credentials: 'include', headers: { Authorization: 'Bearer t0ken' } });
  await allowed.settle();
  const info = `fetch result: ${JSON.stringify(r)}\n${allowed.diagnostics()}`;
  assert.equal(r.ok, true, `GET /whoami with Authorization from ${allowed.origin} must succeed\n${info}`);
  assert.equal(r.body, `cookie: corsd_session=${sessionId}\nauthorization: Bearer t0ken\n`,
    `/whoami must have received both the cookie and the Authorization header\n${info}`);
  const preflights = allowed.apiRequests().filter((q) => new URL(q.url).pathname === '/whoami' && isPreflight(q));
  assert.equal(preflights.length, 1, `expected one preflight for the Authorization header\n${info}`);
  assert.equal(preflights[0].status, 204, `the preflight must be answered 204\n${info}`);
});

test('origin not allowed (localhost): credentialed fetches are rejected', { timeout: 30_000 }, async () => {
  const url = new URL(corsd.demoUrl);
  url.hostname = 'localhost';
  const other = await openPage(url.href);
  assert.equal(other.origin, url.origin, `the page must run on ${url.origin}\n${other.diagnostics()}`);

  const whoami = await other.fetch('/whoami', { credentials: 'include' });
  const session = await other.fetch('/session', { method: 'POST', credentials: 'include' });
  await other.settle();
  const info =
    `GET /whoami: ${JSON.stringify(whoami)}\nPOST /session: ${JSON.stringify(session)}\n${other.diagnostics()}`;
  assert.equal(whoami.ok, false, `credentialed GET /whoami from ${other.origin} must be rejected\n${info}`);
  assert.equal(whoami.error, 'TypeError', `GET /whoami must fail with a TypeError (CORS)\n${info}`);
  assert.equal(session.ok, false, `credentialed POST /session from ${other.origin} must be rejected\n${info}`);
  assert.equal(session.error, 'TypeError', `POST /session must fail with a TypeError (CORS)\n${info}`);
  // Rejected for CORS (the responses arrived), not because the API was unreachable.
  for (const path of ['/whoami', '/session']) {
    const errors = other.corsErrors(path);
    assert.ok(errors.length === 1 && errors[0], `Chromium must report a CORS error for ${path}\n${info}`);
  }
  await other.page.close();
});

test('allowed origin: a route without authorization in allow_headers refuses the preflight and logs why', { timeout: 30_000 }, async () => {
  assert.ok(allowed, 'needs the page opened by the first test');
  const control = await allowed.fetch('/strict/whoami', { credentials: 'include' });
  const refused = await allowed.fetch('/strict/whoami', { credentials: 'include', headers: { Authorization: 'Bearer t0ken' } });
  const logLine = new RegExp(
    `CORS rejected: route=/strict origin=${escapeRe(allowed.origin)} .*reason=header_not_allowed ` +
      `need: add "authorization" to allow_headers`);
  const logged = await waitForLog(logLine);
  await allowed.settle();
  const info =
    `without Authorization: ${JSON.stringify(control)}\nwith Authorization: ${JSON.stringify(refused)}\n` +
    allowed.diagnostics();
  assert.equal(control.ok, true, `credentialed GET /strict/whoami without Authorization must succeed\n${info}`);
  assert.equal(control.body, ECHO_GET, `GET /strict/whoami is echoed\n${info}`);
  assert.equal(refused.ok, false, `GET /strict/whoami with Authorization must be refused (preflight)\n${info}`);
  assert.equal(refused.error, 'TypeError', `the refused fetch must fail with a TypeError (CORS)\n${info}`);
  assert.deepEqual(allowed.corsErrors('/strict/whoami'), [undefined, 'PreflightMissingAllowOriginHeader'],
    `Chromium must report the refused preflight (403 without CORS headers) as the CORS error\n${info}`);
  assert.ok(logged, `corsd's debug log must say the preflight was rejected and what to add (${logLine})\n${info}`);
});

test('corsd exits with code 0 on SIGTERM (graceful shutdown)', { timeout: 30_000 }, async () => {
  if (browser) {
    await browser.close();
    browser = undefined;
  }
  assert.deepEqual(await stopCorsd(corsd, SHUTDOWN_TIMEOUT_MS), { code: 0, signal: null },
    `corsd must exit with code 0 on SIGTERM\n${corsd.output()}`);
});
