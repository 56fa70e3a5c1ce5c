// End-to-end browser tests of corsd's nginx module (ngx_http_corsd_module.so, `corsd_policy FILE;`).
//
// Each test starts its own pieces on 127.0.0.1 (ephemeral ports, temporary directories):
//   - an upstream with node:http that echoes like the seed's API and knows nothing about CORS
//     (no Access-Control-* header ever, OPTIONS answered 405);
//   - Debian's nginx (tests/support/nginx.mjs) with the module loaded and one location
//     `corsd_policy api.toml; proxy_pass UPSTREAM;`, its access log recording method, path, status;
//   - corsd with its demo page, pointed at nginx's origin with --demo-api-origin.
// Then, in headless Chromium (playwright-core) and Firefox ESR (puppeteer-core over WebDriver BiDi):
//   - Chromium: the demo page's jQuery PUT and DELETE through nginx succeed and show the echoes, with
//     exactly one preflight, answered 204 by the module (nginx's log: OPTIONS 204, PUT 200,
//     DELETE 200; the upstream never sees the OPTIONS);
//   - Chromium: the same page calling the upstream directly (no nginx) fails with CORS errors;
//   - Firefox: the same success case; its preflights counted in nginx's access log and in the BiDi
//     network events (Firefox ESR 153 does not reuse the first preflights of a session, so the
//     DELETE may be preflighted too: see the test);
//   - Chromium, credentials: a policy listing the page's exact origin with allow_credentials;
//     a credentialed POST /session stores the upstream's cookie, a credentialed GET /whoami
//     brings it back to the upstream through nginx.
//
//   CORSD_BUILD_DIR=build CORSD_BIN=build/corsd node --test tests/browser/nginx_module.test.mjs

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  startCorsd, killCorsd, stopCorsd, launchChromium, openRecordedPage, recordConsole, fetchInPage, DEMO_BODY, DEMO_PATH,
  DEMO_TIMEOUT_MS, demoArgs, demoPres, waitForDemo, describeRequests, openDemo, assertDemoSucceeded, assertOnePreflight,
  assertDemoBlocked, assertOnlyPreflightsReached, startUpstream, startEchoUpstream, send,
} from './support.mjs';
import { startNginx } from '../support/nginx.mjs';
import { launchFirefox, closeFirefox } from '../check/run_firefox.mjs';

const FETCH_TIMEOUT_MS = 5_000;
const LOG_TIMEOUT_MS = 3_000;
const SHUTDOWN_TIMEOUT_MS = 5_000;

/** The demo's policy for the nginx location: the page's PUT and DELETE with a JSON body, cached 10 s. */
const DEMO_POLICY = `\
[[routes]]
path = "/"
allow_origins = ["http://127.0.0.1:*"]
allow_methods = ["PUT", "DELETE"]
allow_headers = ["content-type"]
max_age = 10
`;

/** A credentialed policy allowing exactly `origin`. */
const credentialsPolicy = (origin) => `\
[[routes]]
path = "/"
allow_origins = ["${origin}"]
allow_credentials = true
`;

// Everything a test started, ended in after() even when the test failed (last started, first ended).
const cleanups = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
});

/**
 * nginx with corsd's module: one location `/` with `corsd_policy api.toml;` (policy, written into
 * nginx's own temporary directory) proxying to upstream, and an access log of method, path and
 * status. Resolves to startNginx's { port, origin, accessLog(), output(), ... } plus
 * logged() ([{ method, uri, status }]) and waitLogged(n); stopped after the tests.
 */
async function startNginxHere(upstream, policy) {
  const nginx = await startNginx({
    module: true,
    files: { 'api.toml': policy },
    http: (dir, port) => `
  log_format corsd '$request_method $uri $status';
  access_log ${dir}/access.log corsd;
  server {
    listen 127.0.0.1:${port};
    location / {
      corsd_policy api.toml;
      proxy_pass ${upstream.url};
    }
  }`,
  });
  cleanups.push(() => nginx.stop());
  const logged = () => nginx.accessLog().split('\n').filter(Boolean).map((line) => {
    const [method, uri, status] = line.split(' ');
    return { method, uri, status: Number(status) };
  });
  // nginx writes a request's line once it is done with it, which may trail the browser's view.
  const waitLogged = async (n) => {
    for (const deadline = Date.now() + LOG_TIMEOUT_MS; logged().length < n && Date.now() < deadline;) await sleep(20);
    return logged();
  };
  const describe = () =>
    `nginx access log ($request_method $uri $status):\n${nginx.accessLog() || '(empty)'}${nginx.output()}`;
  return { ...nginx, origin: `http://127.0.0.1:${nginx.port}`, logged, waitLogged, describe };
}

/** startCorsd (support.mjs), killed after the tests if still running. */
async function startCorsdHere(args) {
  const corsd = await startCorsd(args);
  cleanups.push(() => killCorsd(corsd));
  return corsd;
}

/** corsd's demo page on 127.0.0.1, calling apiOrigin. */
const startDemo = (apiOrigin) => startCorsdHere(demoArgs(apiOrigin));

/** Headless Chromium, closed after the tests if still open. */
async function startChromium() {
  const browser = await launchChromium();
  cleanups.push(() => browser.close());
  return browser;
}

/** nginx logged one preflight (answered 204 by the module), one PUT and one DELETE; the upstream got those two. */
async function assertServersSawOnePreflight(nginx, upstream, info) {
  const logged = await nginx.waitLogged(3);
  const more = `${info}\n${nginx.describe()}`;
  assert.deepEqual(logged.map((e) => [e.method, e.uri, e.status]),
    [['OPTIONS', DEMO_PATH, 204], ['PUT', DEMO_PATH, 200], ['DELETE', DEMO_PATH, 200]],
    `nginx must have seen exactly one preflight (answered 204 by corsd_policy), then the PUT and the DELETE ` +
      `(the preflight cached for max_age = 10)\n${more}`);
  assert.deepEqual(upstream.seen.map((r) => [r.method, r.url, r.body]),
    [['PUT', DEMO_PATH, DEMO_BODY], ['DELETE', DEMO_PATH, DEMO_BODY]],
    `the upstream must receive the PUT and the DELETE with their bodies, and no OPTIONS (the module answers ` +
      `preflights)\n${more}`);
}

test('Chromium: the demo page\'s PUT and DELETE through nginx + corsd_policy succeed, one preflight',
  { timeout: 60_000 }, async () => {
    const upstream = await startEchoUpstream(cleanups);
    const nginx = await startNginxHere(upstream, DEMO_POLICY);
    const corsd = await startDemo(nginx.origin);
    const demoOrigin = new URL(corsd.demoUrl).origin;
    const browser = await startChromium();

    const diagnosticsOf = async (d) =>
      `requests to nginx ${nginx.origin}:\n${describeRequests(d.network.toOrigin(nginx.origin))}\n` +
      `page <pre>s: ${JSON.stringify(await d.pres().catch((e) => e.message))}\n` +
      `page console:\n${d.consoleLog.describe()}\n${upstream.describe()}\n${nginx.describe()}\n${corsd.output()}`;
    const demo = await openDemo(browser, corsd, diagnosticsOf);
    const info = await diagnosticsOf(demo);

    assert.notEqual(demoOrigin, nginx.origin, 'the demo page and nginx must be on different origins');
    await assertDemoSucceeded(demo.page, { demoOrigin, apiOrigin: nginx.origin }, info);

    // The browser: one preflight (answered 204, cached for the DELETE), one PUT, one DELETE.
    assertOnePreflight(demo.network.toOrigin(nginx.origin), 'nginx (corsd_policy)', info);

    await assertServersSawOnePreflight(nginx, upstream, info);

    await browser.close();
    assert.deepEqual(await stopCorsd(corsd, SHUTDOWN_TIMEOUT_MS), { code: 0, signal: null },
      `corsd must exit with code 0 on SIGTERM\n${corsd.output()}`);
  });

test('Chromium: the same page calling the upstream directly (no nginx) fails with CORS errors',
  { timeout: 60_000 }, async () => {
    const upstream = await startEchoUpstream(cleanups);
    const corsd = await startDemo(upstream.origin);
    const browser = await startChromium();

    const diagnosticsOf = async (d) =>
      `requests to the upstream ${upstream.origin}:\n${describeRequests(d.network.toOrigin(upstream.origin))}\n` +
      `page <pre>s: ${JSON.stringify(await d.pres().catch((e) => e.message))}\n` +
      `page console:\n${d.consoleLog.describe()}\n${upstream.describe()}\n${corsd.output()}`;
    const demo = await openDemo(browser, corsd, diagnosticsOf);
    const info = await diagnosticsOf(demo);

    await assertDemoBlocked(demo, upstream.origin, info);
    assertOnlyPreflightsReached(upstream, info);

    await browser.close();
    assert.deepEqual(await stopCorsd(corsd, SHUTDOWN_TIMEOUT_MS), { code: 0, signal: null },
      `corsd must exit with code 0 on SIGTERM\n${corsd.output()}`);
  });

test('Firefox: the demo page\'s PUT and DELETE through nginx + corsd_policy succeed, preflights answered by the module',
  { timeout: 60_000 }, async (t) => {
    const upstream = await startEchoUpstream(cleanups);
    const nginx = await startNginxHere(upstream, DEMO_POLICY);
    const corsd = await startDemo(nginx.origin);
    const demoOrigin = new URL(corsd.demoUrl).origin;

    const profiles = mkdtempSync(join(tmpdir(), 'corsd-nginx-firefox-'));
    cleanups.push(async () => rmSync(profiles, { recursive: true, force: true }));
    const browser = await launchFirefox({ profileDir: join(profiles, 'profile') });
    cleanups.push(() => closeFirefox(browser));

    // Firefox's own record of the requests to nginx: WebDriver BiDi network events (a preflight is an
    // OPTIONS whose destination is ''), for the assertion below and for diagnostics.
    const events = [];
    const cors = (headers) => Object.fromEntries((headers ?? [])
      .filter((h) => /^(access-control-|vary$)/i.test(h.name)).map((h) => [h.name.toLowerCase(), h.value?.value]));
    const onEvent = (event) => (e) => {
      if (e.request?.url && new URL(e.request.url).origin === nginx.origin) {
        events.push({ event, method: e.request.method, url: e.request.url, destination: e.request.destination ?? null,
          status: e.response?.status, cors: e.response && cors(e.response.headers), error: e.errorText });
      }
    };
    const handlers = {
      'network.beforeRequestSent': onEvent('sent'),
      'network.responseCompleted': onEvent('completed'),
      'network.fetchError': onEvent('failed'),
    };
    for (const [name, h] of Object.entries(handlers)) browser.connection.on(name, h);
    cleanups.push(async () => { for (const [name, h] of Object.entries(handlers)) browser.connection.off(name, h); });

    const page = await browser.newPage();
    const consoleLog = recordConsole(page);
    const diagnostics = async () =>
      `Firefox ${await browser.version()}; BiDi network events for nginx ${nginx.origin}:\n` +
      `${events.map((e) => `  ${JSON.stringify(e)}`).join('\n') || '  (none)'}\n` +
      `page <pre>s: ${JSON.stringify(await demoPres(page).catch((e) => e.message))}\n` +
      `page console:\n${consoleLog.describe()}\n${upstream.describe()}\n${nginx.describe()}\n${corsd.output()}`;

    const response = await page.goto(corsd.demoUrl);
    assert.equal(response?.status(), 200, `could not load ${corsd.demoUrl}\n${await diagnostics()}`);
    try {
      await page.waitForFunction(
        () => ['putResponse', 'deleteResponse'].every((id) => document.getElementById(id)?.hasAttribute('data-state')),
        { timeout: DEMO_TIMEOUT_MS, polling: 50 },
      );
    } catch (err) {
      throw new Error(`the demo page did not finish both requests within ${DEMO_TIMEOUT_MS / 1000} s ` +
        `(${err.message.split('\n')[0]})\n${await diagnostics()}`);
    }
    await nginx.waitLogged(3);
    // BiDi events may trail the page's view of a request, too.
    for (let seen = -1, i = 0; seen !== events.length && i < 10; i++) {
      seen = events.length;
      await sleep(150);
    }
    const info = await diagnostics();

    await assertDemoSucceeded(page, { demoOrigin, apiOrigin: nginx.origin }, info);

    // Firefox ESR 153 does not reuse the first few preflights of a session from its preflight cache, whoever
    // answers them (corsd itself, or a plain Node.js server, get the same), so the demo page's DELETE may
    // get a preflight of its own. What does not depend on that: the PUT and the DELETE reached nginx and
    // the upstream once each; every preflight was one of the module's 204s (with the policy's fields,
    // Max-Age 10 included) and none reached the upstream; Firefox and nginx count the same preflights.
    const logged = await nginx.waitLogged(3);
    const more = `${info}\n${nginx.describe()}`;
    const requests = logged.filter((e) => e.method !== 'OPTIONS');
    const preflights = logged.filter((e) => e.method === 'OPTIONS');
    assert.deepEqual(requests.map((e) => [e.method, e.uri, e.status]),
      [['PUT', DEMO_PATH, 200], ['DELETE', DEMO_PATH, 200]], `nginx must have seen the PUT, then the DELETE\n${more}`);
    assert.ok(preflights.length >= 1 && preflights.length <= 2,
      `nginx must have seen one preflight, or one for each of the two requests: ${preflights.length}\n${more}`);
    assert.equal(logged[0].method, 'OPTIONS', `the PUT must have been preflighted first\n${more}`);
    assert.ok(preflights.every((e) => e.uri === DEMO_PATH && e.status === 204),
      `the module must answer every preflight with 204\n${more}`);
    assert.deepEqual(upstream.seen.map((r) => [r.method, r.url, r.body]),
      [['PUT', DEMO_PATH, DEMO_BODY], ['DELETE', DEMO_PATH, DEMO_BODY]],
      `the upstream must receive the PUT and the DELETE with their bodies, and no OPTIONS\n${more}`);

    const sent = events.filter((e) => e.event === 'sent');
    assert.deepEqual(sent.filter((e) => e.method !== 'OPTIONS').map((e) => [e.method, new URL(e.url).pathname]),
      [['PUT', DEMO_PATH], ['DELETE', DEMO_PATH]], `Firefox must have sent the PUT and the DELETE\n${info}`);
    const answered = events.filter((e) => e.event === 'completed' && e.method === 'OPTIONS');
    assert.equal(answered.length, preflights.length, `Firefox and nginx must count the same preflights\n${info}`);
    for (const p of answered) {
      assert.deepEqual(p.cors, {
        'access-control-allow-origin': demoOrigin,
        'access-control-allow-methods': 'PUT, DELETE',
        'access-control-allow-headers': 'content-type',
        'access-control-max-age': '10',
        vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers',
      }, `the module's preflight answer must carry exactly the policy's CORS fields\n${info}`);
    }
    assert.ok(events.every((e) => e.event !== 'failed'), `no request to nginx may fail in Firefox\n${info}`);
    t.diagnostic(`${await browser.version()} sent ${preflights.length} preflight(s) for the PUT and the DELETE`);

    await closeFirefox(browser);
    assert.deepEqual(await stopCorsd(corsd, SHUTDOWN_TIMEOUT_MS), { code: 0, signal: null },
      `corsd must exit with code 0 on SIGTERM\n${corsd.output()}`);
  });

test('Chromium, credentials: the upstream\'s cookie is set through nginx and comes back to it',
  { timeout: 60_000 }, async () => {
    const sid = randomBytes(8).toString('hex');
    const upstream = await startUpstream(cleanups, (req, res) => {
      const path = new URL(req.url, 'http://upstream').pathname;
      const text = { 'Content-Type': 'text/plain; charset=utf-8' };
      if (req.method === 'POST' && path === '/session') {
        send(res, 200, { ...text, 'Set-Cookie': `sid=${sid}; Path=/; HttpOnly; SameSite=Lax` }, `session started: ${sid}\n`);
      } else if (req.method === 'GET' && path === '/whoami') {
        send(res, 200, text, `cookie: ${req.headers.cookie ?? '(none)'}\n`);
      } else if (req.method === 'OPTIONS') {
        send(res, 405, { ...text, Allow: 'GET, POST' }, 'Method Not Allowed\n');
      } else {
        send(res, 404, text, 'not found\n');
      }
    });
    // The page first (its origin goes into the policy), calling corsd's own echo API; then nginx.
    const corsd = await startCorsdHere(['--listen', '127.0.0.1:0', '--demo-listen', '127.0.0.1:0', '--threads', '1']);
    const pageOrigin = new URL(corsd.demoUrl).origin;
    const nginx = await startNginxHere(upstream, credentialsPolicy(pageOrigin));
    const browser = await startChromium();
    const context = await browser.newContext();
    const demo = await openRecordedPage(context);
    const { page, consoleLog, network } = demo;
    const diagnostics = () =>
      `page ${page.url()}; requests to nginx ${nginx.origin}:\n${describeRequests(network.toOrigin(nginx.origin))}\n` +
      `page console:\n${consoleLog.describe()}\n${upstream.describe()}\n${nginx.describe()}\n${corsd.output()}`;

    const response = await page.goto(corsd.demoUrl);
    assert.equal(response?.status(), 200, `could not load ${corsd.demoUrl}\n${diagnostics()}`);
    await waitForDemo(demo, async () => diagnostics()); // the page's own PUT and DELETE, to corsd: done first
    assert.equal(await page.evaluate(() => location.origin), pageOrigin);
    const fetchNginx = (path, init) => fetchInPage(page, nginx.origin + path, init, { timeoutMs: FETCH_TIMEOUT_MS });

    // POST /session: the upstream's Set-Cookie reaches the browser's cookie jar.
    const session = await fetchNginx('/session', { method: 'POST', credentials: 'include' });
    await network.settle(150, 15);
    let info = `POST /session: ${JSON.stringify(session)}\n${diagnostics()}`;
    assert.equal(session.ok, true,
      `credentialed POST /session from ${pageOrigin} through nginx must succeed (exact origin, credentials)\n${info}`);
    assert.equal(session.status, 200, `POST /session status\n${info}`);
    assert.equal(session.body, `session started: ${sid}\n`, `POST /session body\n${info}`);
    const cookies = await context.cookies(nginx.origin);
    assert.ok(cookies.some((c) => c.name === 'sid' && c.value === sid && c.httpOnly),
      `the browser must have stored the upstream's cookie: ${JSON.stringify(cookies)}\n${info}`);

    // GET /whoami: the cookie goes back through nginx to the upstream.
    const whoami = await fetchNginx('/whoami', { credentials: 'include' });
    await network.settle(150, 15);
    info = `GET /whoami: ${JSON.stringify(whoami)}\n${diagnostics()}`;
    assert.equal(whoami.ok, true, `credentialed GET /whoami from ${pageOrigin} through nginx must succeed\n${info}`);
    assert.equal(whoami.body, `cookie: sid=${sid}\n`, `the upstream must report the session cookie\n${info}`);
    const seenWhoami = upstream.seen.filter((r) => r.url === '/whoami');
    assert.equal(seenWhoami.length, 1, `the upstream must have received one GET /whoami\n${info}`);
    assert.equal(seenWhoami[0].headers.cookie, `sid=${sid}`, `the upstream must have received the cookie\n${info}`);
    const logged = await nginx.waitLogged(2);
    assert.deepEqual(logged.map((e) => [e.method, e.uri, e.status]), [['POST', '/session', 200], ['GET', '/whoami', 200]],
      `nginx must have seen the two simple requests, no preflight\n${info}`);

    await browser.close();
    assert.deepEqual(await stopCorsd(corsd, SHUTDOWN_TIMEOUT_MS), { code: 0, signal: null },
      `corsd must exit with code 0 on SIGTERM\n${corsd.output()}`);
  });
