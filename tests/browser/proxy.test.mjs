// End-to-end browser tests of corsd as a CORS reverse proxy (--upstream).
//
// Each test starts its own upstream with node:http on 127.0.0.1 (port 0) that
// knows nothing about CORS (no Access-Control-* header ever, OPTIONS answered 405,
// like a typical API), starts the corsd binary named by $CORSD_BIN in front of it,
// and drives headless Chromium (Debian's /usr/bin/chromium, or $CHROMIUM_BIN):
//   - the demo page through corsd: its jQuery PUT and DELETE succeed with one
//     preflight, which corsd answers itself (the upstream never sees an OPTIONS);
//   - the same page calling the upstream directly (--demo-api-origin): both
//     requests fail with a CORS error, so the upstream really has no CORS;
//   - credentials through corsd: a cookie the upstream sets through POST /session
//     comes back to it with a credentialed GET /whoami, and the exposed
//     X-Request-Id is readable by the script.
//
//   CORSD_BIN=build/corsd node --test tests/browser/proxy.test.mjs

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  startCorsd, killCorsd, stopCorsd, launchChromium, openRecordedPage, fetchInPage, DEMO_BODY, DEMO_PATH, demoEcho,
  isPreflight, describeRequests, openDemo, assertOnlyPreflightsReached, startUpstream, startEchoUpstream, send,
} from './support.mjs';

const FETCH_TIMEOUT_MS = 5_000;
const SHUTDOWN_TIMEOUT_MS = 5_000;

// Everything a test started, ended in after() even when the test failed.
const cleanups = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
});

/** startCorsd (support.mjs), killed after the tests if still running. */
async function startCorsdHere(args) {
  const corsd = await startCorsd(args);
  cleanups.push(() => killCorsd(corsd));
  return corsd;
}

/** Headless Chromium, closed after the tests if still open. */
async function startBrowser() {
  const browser = await launchChromium();
  cleanups.push(() => browser.close());
  return browser;
}

test('demo page through corsd: the PUT and DELETE reach a CORS-less upstream, one preflight answered by corsd',
  { timeout: 60_000 }, async () => {
    const upstream = await startEchoUpstream(cleanups);
    const corsd = await startCorsdHere([
      '--listen', '127.0.0.1:0', '--demo-listen', '127.0.0.1:0',
      '--upstream', upstream.url,
      '--allow-origin', 'http://127.0.0.1:*',
      '--allow-methods', 'PUT,DELETE', '--allow-headers', 'content-type', '--max-age', '10',
    ]);
    const apiOrigin = new URL(corsd.apiUrl).origin;
    const demoOrigin = new URL(corsd.demoUrl).origin;
    const browser = await startBrowser();

    const diagnosticsOf = async (d) =>
      `requests to the API origin ${apiOrigin}:\n${describeRequests(d.network.toOrigin(apiOrigin))}\n` +
      `page <pre>s: ${JSON.stringify(await d.pres().catch((e) => e.message))}\n` +
      `page console:\n${d.consoleLog.describe()}\n${upstream.describe()}\n${corsd.output()}`;
    const demo = await openDemo(browser, corsd, diagnosticsOf);
    const info = await diagnosticsOf(demo);

    assert.equal((await demo.page.textContent('#pageOrigin')).trim(), demoOrigin, `#pageOrigin\n${info}`);
    assert.equal((await demo.page.textContent('#apiOrigin')).trim(), apiOrigin,
      `the page must call corsd's API origin by default\n${info}`);
    assert.deepEqual(await demo.read('putResponse'), { state: 'done', text: demoEcho('PUT') },
      `PUT response shown on the page is wrong\n${info}`);
    assert.deepEqual(await demo.read('deleteResponse'), { state: 'done', text: demoEcho('DELETE') },
      `DELETE response shown on the page is wrong\n${info}`);

    // The browser: one preflight (cached for the DELETE), one PUT, one DELETE.
    const apiRequests = demo.network.toOrigin(apiOrigin);
    const preflights = apiRequests.filter(isPreflight);
    const count = (method) => apiRequests.filter((r) => !isPreflight(r) && r.method === method).length;
    assert.equal(preflights.length, 1,
      `expected exactly one CORS preflight to corsd, reused for the DELETE (Access-Control-Max-Age)\n${info}`);
    assert.equal(preflights[0].method, 'OPTIONS', `the preflight must be an OPTIONS request\n${info}`);
    assert.equal(new URL(preflights[0].url).pathname, DEMO_PATH, `preflight went to the wrong path\n${info}`);
    assert.equal(preflights[0].status, 204, `corsd must answer the allowed preflight with 204\n${info}`);
    assert.equal(count('PUT'), 1, `expected exactly one PUT to corsd\n${info}`);
    assert.equal(count('DELETE'), 1, `expected exactly one DELETE to corsd\n${info}`);
    assert.equal(apiRequests.length, 3, `expected no other requests to corsd\n${info}`);

    // The upstream: the PUT and the DELETE with their bodies, never the preflight.
    assert.deepEqual(upstream.seen.map((r) => [r.method, r.url, r.body]),
      [['PUT', DEMO_PATH, DEMO_BODY], ['DELETE', DEMO_PATH, DEMO_BODY]],
      `the upstream must receive the PUT and the DELETE, and no OPTIONS (corsd answers preflights)\n${info}`);

    await browser.close();
    assert.deepEqual(await stopCorsd(corsd, SHUTDOWN_TIMEOUT_MS), { code: 0, signal: null },
      `corsd must exit with code 0 on SIGTERM\n${corsd.output()}`);
  });

test('same page calling the upstream directly fails: the upstream has no CORS', { timeout: 60_000 }, async () => {
  const upstream = await startEchoUpstream(cleanups);
  const corsd = await startCorsdHere([
    '--listen', '127.0.0.1:0', '--demo-listen', '127.0.0.1:0', '--demo-api-origin', upstream.url,
  ]);
  const browser = await startBrowser();

  const diagnosticsOf = async (d) =>
    `requests to the upstream ${upstream.origin}:\n${describeRequests(d.network.toOrigin(upstream.origin))}\n` +
    `page <pre>s: ${JSON.stringify(await d.pres().catch((e) => e.message))}\n` +
    `page console:\n${d.consoleLog.describe()}\n${upstream.describe()}\n${corsd.output()}`;
  const demo = await openDemo(browser, corsd, diagnosticsOf);
  const info = await diagnosticsOf(demo);

  assert.equal((await demo.page.textContent('#apiOrigin')).trim(), upstream.origin,
    `with --demo-api-origin the page must call the upstream itself\n${info}`);
  for (const id of ['putResponse', 'deleteResponse']) {
    const shown = await demo.read(id);
    assert.equal(shown.state, 'error', `#${id} must show the error state\n${info}`);
    assert.match(shown.text, /^ERROR: 0 /, `#${id} must show a blocked request (status 0)\n${info}`);
  }
  assert.ok(demo.consoleLog.lines.some((l) => /CORS policy/.test(l)),
    `the console must carry Chromium's CORS error\n${info}`);
  const toUpstream = demo.network.toOrigin(upstream.origin);
  assert.ok(toUpstream.some((r) => r.corsError), `Chromium must report a CORS error for the upstream\n${info}`);

  assertOnlyPreflightsReached(upstream, info);

  await browser.close();
  assert.deepEqual(await stopCorsd(corsd, SHUTDOWN_TIMEOUT_MS), { code: 0, signal: null },
    `corsd must exit with code 0 on SIGTERM\n${corsd.output()}`);
});

test('credentials through corsd: the upstream\'s cookie is set and sent back; X-Request-Id is readable',
  { timeout: 60_000 }, async () => {
    const sid = randomBytes(8).toString('hex');
    const requestId = () => randomBytes(8).toString('hex');
    const upstream = await startUpstream(cleanups, (req, res) => {
      const path = new URL(req.url, 'http://upstream').pathname;
      const common = { 'Content-Type': 'text/plain; charset=utf-8', 'X-Request-Id': requestId(), 'X-Internal': 'secret' };
      if (req.method === 'POST' && path === '/session') {
        send(res, 200, { ...common, 'Set-Cookie': `sid=${sid}; Path=/; HttpOnly; SameSite=Lax` },
          `session started: ${sid}\n`);
      } else if (req.method === 'GET' && path === '/whoami') {
        send(res, 200, common, `cookie: ${req.headers.cookie ?? '(none)'}\n`);
      } else if (req.method === 'OPTIONS') {
        send(res, 405, { ...common, Allow: 'GET, POST' }, 'Method Not Allowed\n');
      } else {
        send(res, 404, common, 'not found\n');
      }
    });
    const corsd = await startCorsdHere([
      '--listen', '127.0.0.1:0', '--demo-listen', '127.0.0.1:0', '--threads', '1',
      '--upstream', upstream.url,
      '--allow-origin', 'http://127.0.0.1:*', '--allow-credentials', '--expose-headers', 'x-request-id',
    ]);
    const apiUrl = new URL(corsd.apiUrl).origin;
    const browser = await startBrowser();
    const context = await browser.newContext();
    const { page, consoleLog, network } = await openRecordedPage(context);
    const diagnostics = () =>
      `page ${page.url()}; requests to the API origin ${apiUrl}:\n${describeRequests(network.toOrigin(apiUrl))}\n` +
      `page console:\n${consoleLog.describe()}\n${upstream.describe()}\n${corsd.output()}`;

    // fetch() in the page; never throws, returns what the script could see.
    const fetchApi = (path, init) => fetchInPage(page, apiUrl + path, init,
      { headers: { requestId: 'X-Request-Id', internal: 'X-Internal' }, timeoutMs: FETCH_TIMEOUT_MS });

    const response = await page.goto(corsd.demoUrl);
    assert.equal(response?.status(), 200, `could not load ${corsd.demoUrl}\n${diagnostics()}`);
    const pageOrigin = await page.evaluate(() => location.origin);
    assert.notEqual(pageOrigin, apiUrl, 'the page and corsd\'s API must be on different origins');

    // POST /session: the upstream's Set-Cookie reaches the browser's cookie jar.
    const session = await fetchApi('/session', { method: 'POST', credentials: 'include' });
    await network.settle(150, 15);
    let info = `POST /session: ${JSON.stringify(session)}\n${diagnostics()}`;
    assert.equal(session.ok, true, `credentialed POST /session from ${pageOrigin} through corsd must succeed\n${info}`);
    assert.equal(session.status, 200, `POST /session status\n${info}`);
    assert.equal(session.body, `session started: ${sid}\n`, `POST /session body\n${info}`);
    assert.match(session.requestId ?? '', /^[0-9a-f]{16}$/,
      `X-Request-Id must be readable by the script (--expose-headers)\n${info}`);
    assert.equal(session.internal, null, `X-Internal is not exposed, so the script must not read it\n${info}`);
    const cookies = await context.cookies(apiUrl);
    assert.ok(cookies.some((c) => c.name === 'sid' && c.value === sid && c.httpOnly),
      `the browser must have stored the upstream's cookie: ${JSON.stringify(cookies)}\n${info}`);

    // GET /whoami: the cookie goes back through corsd to the upstream.
    const whoami = await fetchApi('/whoami', { credentials: 'include' });
    await network.settle(150, 15);
    info = `GET /whoami: ${JSON.stringify(whoami)}\n${diagnostics()}`;
    assert.equal(whoami.ok, true, `credentialed GET /whoami from ${pageOrigin} through corsd must succeed\n${info}`);
    assert.equal(whoami.body, `cookie: sid=${sid}\n`, `the upstream must report the session cookie\n${info}`);
    assert.match(whoami.requestId ?? '', /^[0-9a-f]{16}$/, `X-Request-Id must be readable\n${info}`);
    const seenWhoami = upstream.seen.filter((r) => r.url === '/whoami');
    assert.equal(seenWhoami.length, 1, `the upstream must have received one GET /whoami\n${info}`);
    assert.equal(seenWhoami[0].headers.cookie, `sid=${sid}`, `the upstream must have received the cookie\n${info}`);
    assert.ok(upstream.seen.every((r) => r.method !== 'OPTIONS'), `no preflight may reach the upstream\n${info}`);

    await browser.close();
    assert.deepEqual(await stopCorsd(corsd, SHUTDOWN_TIMEOUT_MS), { code: 0, signal: null },
      `corsd must exit with code 0 on SIGTERM\n${corsd.output()}`);
  });
