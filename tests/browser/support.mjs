// Shared helpers of the browser tests (demo, credentials, proxy, nginx_module, hosts .test.mjs).
//
// Not a test file itself: `node --test tests/browser/` only runs files named like
// *.test.mjs, so this module is loaded only through the tests' imports.
//
//   startCorsd, killCorsd, stopCorsd   from ../support/corsd.mjs (start corsd, kill it, stop it)
//   launchChromium()             headless Chromium ($CHROMIUM_BIN or Debian's /usr/bin/chromium)
//   recordConsole(page)          collect the page's console messages and uncaught errors
//   recordNetwork(page)          record every request of the page through CDP
//   openRecordedPage(context)    a new page with both recorders, before it loads anything
//   fetchInPage(page, url, ...)  fetch() in the page: what its script could see, never throws
//   DEMO_PATH, DEMO_BODY, demoEcho(method)   what the demo page sends, and shows as answers
//   demoArgs(apiOrigin)          corsd's arguments for its demo on 127.0.0.1, calling apiOrigin
//   demoPres(page), demoPre(page, id)   the demo page's <pre>s: { id, state, text }
//   waitForDemo(demo, ...)       until the demo page's PUT and DELETE have finished
//   openDemo(browser, corsd, ...)   the demo page in a new recorded page, both requests finished
//   assertDemoSucceeded(page, ...)  the page shows the PUT's and the DELETE's echoes
//   assertOnePreflight(requests, ...)   one preflight (204), one PUT, one DELETE, nothing else
//   assertDemoBlocked(demo, ...)    both requests failed with CORS errors
//   isPreflight(request)         whether a recorded request is a CORS preflight
//   describeRequests(requests)   one diagnostic line per recorded request
//   startUpstream(cleanups, handler), startEchoUpstream(cleanups), send(res, ...)
//                                an HTTP upstream recording what it got; the seed's echo with no CORS
//   assertOnlyPreflightsReached(upstream, info)   the upstream got OPTIONS only

import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromium } from 'playwright-core';

export { startCorsd, killCorsd, stopCorsd } from '../support/corsd.mjs';

/** Chromium flags: headless, no sandbox (containers), no network traffic of its own. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Launches headless Chromium: $CHROMIUM_BIN, or Debian's /usr/bin/chromium. */
export function launchChromium() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_BIN || '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
  });
}

/**
 * Records the page's console messages and uncaught errors. Returns
 * { lines, describe() }: lines holds '[console.TYPE] text' / '[pageerror] message'
 * entries; describe() returns them indented, one a line, or '  (none)'.
 */
export function recordConsole(page) {
  const lines = [];
  page.on('console', (msg) => lines.push(`[console.${msg.type()}] ${msg.text()}`));
  page.on('pageerror', (err) => lines.push(`[pageerror] ${err.message}`));
  return { lines, describe: () => lines.map((l) => `  ${l}`).join('\n') || '  (none)' };
}

/**
 * Records every network request of page (call before navigating) through a CDP
 * session of its browser context, keyed by CDP requestId. Each recorded request is
 *   { method, url, types: Set, initiator, status, failed, corsError, cookies }
 * (fields missing until the matching event arrived): types are the CDP resource
 * types seen, failed the error text (with the CORS error and failed parameter),
 * cookies the cookies Chromium attached ('name sent') or blocked
 * ('name blocked(reasons)').
 *
 * With Chromium 156 a CORS preflight shows up as its own request (own requestId) in
 *   Network.requestWillBeSent  { request.method: 'OPTIONS', type: 'Other', initiator.type: 'preflight' }
 *   Network.responseReceived   { type: 'Preflight' }
 * see isPreflight().
 *
 * Returns { requests(), toOrigin(origin), settle(quietMs, maxRounds) }:
 * requests() lists all recorded requests; toOrigin(origin) those whose URL has
 * that origin; settle() waits until no CDP network event came for quietMs (at
 * most maxRounds rounds), since the events trail the page's view of a request.
 */
export async function recordNetwork(page) {
  const requests = new Map(); // requestId -> recorded request
  let networkEvents = 0;
  const entry = (requestId) => {
    networkEvents++;
    if (!requests.has(requestId)) requests.set(requestId, { types: new Set() });
    return requests.get(requestId);
  };
  const cdp = await page.context().newCDPSession(page);
  cdp.on('Network.requestWillBeSent', (e) => {
    const r = entry(e.requestId);
    r.method = e.request.method;
    r.url = e.request.url;
    if (e.type) r.types.add(e.type);
    r.initiator = e.initiator?.type;
  });
  cdp.on('Network.requestWillBeSentExtraInfo', (e) => {
    const r = entry(e.requestId);
    r.cookies = (e.associatedCookies ?? []).map((c) =>
      `${c.cookie.name}${c.blockedReasons?.length ? ` blocked(${c.blockedReasons.join(',')})` : ' sent'}`);
  });
  cdp.on('Network.responseReceived', (e) => {
    const r = entry(e.requestId);
    r.url ??= e.response.url;
    r.status = e.response.status;
    if (e.type) r.types.add(e.type);
  });
  cdp.on('Network.loadingFailed', (e) => {
    const r = entry(e.requestId);
    r.corsError = e.corsErrorStatus?.corsError;
    r.failed = e.errorText + (e.corsErrorStatus ? ` (CORS: ${e.corsErrorStatus.corsError}` +
      `${e.corsErrorStatus.failedParameter ? ` ${e.corsErrorStatus.failedParameter}` : ''})` : '');
    if (e.type) r.types.add(e.type);
  });
  await cdp.send('Network.enable');

  const all = () => [...requests.values()];
  return {
    requests: all,
    toOrigin: (origin) => all().filter((r) => r.url && new URL(r.url).origin === origin),
    settle: async (quietMs, maxRounds) => {
      for (let seen = -1, i = 0; seen !== networkEvents && i < maxRounds; i++) {
        seen = networkEvents;
        await sleep(quietMs);
      }
    },
  };
}

/**
 * Opens a new page of context that records its console (recordConsole) and every
 * request (recordNetwork) from the start. Returns { page, consoleLog, network }.
 */
export async function openRecordedPage(context) {
  const page = await context.newPage();
  const consoleLog = recordConsole(page);
  const network = await recordNetwork(page);
  return { page, consoleLog, network };
}

/**
 * Runs fetch(url, init) in page, aborted after timeoutMs; never throws. Resolves to what
 * the script could see: { ok: true, status, ...fields, readableHeaders, body }, where
 * headers ({ field: 'Header-Name' }) names the response headers to read into fields (null
 * when the script may not read one), or { ok: false, error, message } when fetch() threw
 * (a CORS refusal is a TypeError).
 */
export const fetchInPage = (page, url, init, { headers = {}, timeoutMs }) =>
  page.evaluate(async ({ url, init, headers, timeoutMs }) => {
    try {
      const r = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
      return {
        ok: true,
        status: r.status,
        ...Object.fromEntries(Object.entries(headers).map(([field, name]) => [field, r.headers.get(name)])),
        readableHeaders: [...r.headers.keys()],
        body: await r.text(),
      };
    } catch (e) {
      return { ok: false, error: e.name, message: e.message };
    }
  }, { url, init, headers, timeoutMs });

// corsd's demo page sends a jQuery PUT, then a DELETE, of DEMO_BODY to DEMO_PATH on the
// API origin, and shows each answer (from the seed's echo API: demoEcho(method)) in its
// <pre id="putResponse"> and <pre id="deleteResponse">.
export const DEMO_PATH = '/some/url/resource/path';
export const DEMO_BODY = JSON.stringify({ name: 'Tricia', age: 37 });
export const demoEcho = (method) =>
  `Thank You For The Cross-Domain AJAX Request:\n\nMethod: ${method}\n\n${DEMO_BODY}`;
/**
 * corsd's arguments for its demo on 127.0.0.1: the API and the demo page on free ports, one thread, the
 * page calling apiOrigin (--demo-api-origin) instead of corsd's own API.
 */
export const demoArgs = (apiOrigin) =>
  ['--listen', '127.0.0.1:0', '--demo-listen', '127.0.0.1:0', '--threads', '1', '--demo-api-origin', apiOrigin];
/** How long waitForDemo waits for the demo page's two requests by default. */
export const DEMO_TIMEOUT_MS = 15_000;

/** The <pre>s of corsd's demo page: [{ id, state, text }], state its data-state or null. */
export const demoPres = (page) =>
  page.$$eval('pre', (els) => els.map((el) => ({ id: el.id, state: el.dataset.state ?? null, text: el.textContent })));

/** The demo page's <pre id="id">: { state, text }, state its data-state or null. */
export const demoPre = (page, id) =>
  page.$eval(`#${id}`, (el) => ({ state: el.dataset.state ?? null, text: el.textContent }));

/**
 * Waits up to timeoutMs (DEMO_TIMEOUT_MS) until the demo page (demo: { page, network } from
 * openRecordedPage) has finished its PUT and DELETE, i.e. #putResponse and
 * #deleteResponse both have a data-state; on timeout throws with await diagnostics().
 * Then lets straggling network events arrive: the CDP events trail the page's view of a
 * request, so it waits until none came for 300 ms.
 */
export async function waitForDemo({ page, network }, diagnostics, timeoutMs = DEMO_TIMEOUT_MS) {
  try {
    await page.waitForFunction(
      () => ['putResponse', 'deleteResponse'].every((id) => document.getElementById(id)?.hasAttribute('data-state')),
      null,
      { timeout: timeoutMs },
    );
  } catch (err) {
    throw new Error(`the demo page did not finish both requests within ${timeoutMs / 1000} s ` +
      `(${err.message.split('\n')[0]})\n${await diagnostics()}`);
  }
  await network.settle(300, 20);
}

/** Whether a request recorded by recordNetwork() is a CORS preflight. */
export const isPreflight = (r) =>
  r.method === 'OPTIONS' || r.types.has('Preflight') || r.initiator === 'preflight';

/**
 * Describes requests recorded by recordNetwork(), one indented line each:
 * method, URL, CDP types, initiator, status, failure, cookies; '  (none)' if none.
 */
export const describeRequests = (requests) =>
  requests.map((r) =>
    `  ${r.method ?? '?'} ${r.url} [${[...r.types].join(',')}${r.initiator ? `; initiator ${r.initiator}` : ''}]` +
      `${r.status !== undefined ? ` -> ${r.status}` : ''}${r.failed ? ` FAILED ${r.failed}` : ''}` +
      `${r.cookies?.length ? ` cookies: ${r.cookies.join(', ')}` : ''}`,
  ).join('\n') || '  (none)';

/**
 * Opens corsd's demo page (corsd: from startCorsd, with its demo on) in a new page of a new context of
 * browser and waits until both of its <pre>s have a data-state (see waitForDemo); diagnosticsOf(demo)
 * gives what a failure shows. Returns { page, network, consoleLog, read(id), pres() }.
 */
export async function openDemo(browser, corsd, diagnosticsOf) {
  const recorded = await openRecordedPage(await browser.newContext());
  const demo = { ...recorded, read: (id) => demoPre(recorded.page, id), pres: () => demoPres(recorded.page) };
  const response = await demo.page.goto(corsd.demoUrl);
  assert.equal(response?.status(), 200, `could not load ${corsd.demoUrl}\n${await diagnosticsOf(demo)}`);
  await waitForDemo(demo, () => diagnosticsOf(demo));
  return demo;
}

/** The demo page shows the PUT's and the DELETE's echo, and that it is on demoOrigin calling apiOrigin. */
export async function assertDemoSucceeded(page, { demoOrigin, apiOrigin }, info) {
  assert.equal((await page.$eval('#pageOrigin', (el) => el.textContent)).trim(), demoOrigin, `#pageOrigin\n${info}`);
  assert.equal((await page.$eval('#apiOrigin', (el) => el.textContent)).trim(), apiOrigin,
    `the page must call ${apiOrigin} (--demo-api-origin)\n${info}`);
  assert.deepEqual(await demoPre(page, 'putResponse'), { state: 'done', text: demoEcho('PUT') },
    `PUT response shown on the page is wrong\n${info}`);
  assert.deepEqual(await demoPre(page, 'deleteResponse'), { state: 'done', text: demoEcho('DELETE') },
    `DELETE response shown on the page is wrong\n${info}`);
}

/**
 * The demo page's requests to its API (requests: recorded by recordNetwork, to the API's origin; server:
 * who answers them, for the messages) were exactly one preflight of DEMO_PATH, answered 204 and reused
 * for the DELETE (the policy's max_age), one PUT and one DELETE, none failed.
 */
export function assertOnePreflight(requests, server, info) {
  const preflights = requests.filter(isPreflight);
  const count = (method) => requests.filter((r) => !isPreflight(r) && r.method === method).length;
  assert.equal(preflights.length, 1,
    `expected exactly one CORS preflight to ${server}, reused for the DELETE (max_age = 10)\n${info}`);
  assert.equal(preflights[0].method, 'OPTIONS', `the preflight must be an OPTIONS request\n${info}`);
  assert.equal(new URL(preflights[0].url).pathname, DEMO_PATH, `preflight went to the wrong path\n${info}`);
  assert.equal(preflights[0].status, 204, `${server} must answer the allowed preflight with 204\n${info}`);
  assert.equal(count('PUT'), 1, `expected exactly one PUT to ${server}\n${info}`);
  assert.equal(count('DELETE'), 1, `expected exactly one DELETE to ${server}\n${info}`);
  assert.equal(requests.length, 3, `expected no other requests to ${server}\n${info}`);
  assert.ok(requests.every((r) => !r.failed), `no request to ${server} may fail\n${info}`);
}

/**
 * The demo page (demo: from openDemo) called apiOrigin and both of its requests failed as a CORS
 * refusal does: each <pre> in the error state with status 0, Chromium's CORS error on the console and
 * in the network record of a request to apiOrigin.
 */
export async function assertDemoBlocked(demo, apiOrigin, info) {
  assert.equal((await demo.page.textContent('#apiOrigin')).trim(), apiOrigin,
    `with --demo-api-origin the page must call ${apiOrigin} itself\n${info}`);
  for (const id of ['putResponse', 'deleteResponse']) {
    const shown = await demo.read(id);
    assert.equal(shown.state, 'error', `#${id} must show the error state\n${info}`);
    assert.match(shown.text, /^ERROR: 0 /, `#${id} must show a blocked request (status 0)\n${info}`);
  }
  assert.ok(demo.consoleLog.lines.some((l) => /CORS policy/.test(l)),
    `the console must carry Chromium's CORS error\n${info}`);
  assert.ok(demo.network.toOrigin(apiOrigin).some((r) => r.corsError),
    `Chromium must report a CORS error for ${apiOrigin}\n${info}`);
}

// --- Upstreams without CORS, for the demo page to call through a proxy or a host -----------------------

/**
 * Starts an HTTP server on 127.0.0.1, port 0 (closed by one of `cleanups`, the caller's list of what
 * after() ends), whose handler(req, res, body)
 * gets each request with its whole body (a Buffer). Resolves to
 * { url, origin, seen, describe() }: seen lists every request it received as
 * { method, url, headers, body } (body as a string); describe() one line each.
 */
export async function startUpstream(cleanups, handler) {
  const seen = [];
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      seen.push({ method: req.method, url: req.url, headers: req.headers, body: body.toString('utf8') });
      handler(req, res, body);
    });
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  cleanups.push(() => new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  }));
  const url = `http://127.0.0.1:${server.address().port}`;
  const describe = () =>
    `requests the upstream ${url} received:\n` +
    (seen.map((r) => `  ${r.method} ${r.url} ${JSON.stringify(r.headers)} body ${JSON.stringify(r.body)}`)
      .join('\n') || '  (none)');
  return { url, origin: url, seen, describe };
}

/** Sends a response with an exact Content-Length and no Access-Control-* header at all. */
export function send(res, status, headers, body = '') {
  const bytes = Buffer.from(body, 'utf8');
  res.writeHead(status, { ...headers, 'Content-Length': bytes.length });
  res.end(bytes);
}

/**
 * The seed's echo API minus every CORS header: echoes method and body as
 * text/plain, and answers OPTIONS with 405 like an API that never heard of CORS.
 */
/** The browser refused at the preflight: the upstream (startUpstream's) got OPTIONS only, never the requests. */
export function assertOnlyPreflightsReached(upstream, info) {
  assert.ok(upstream.seen.length > 0 && upstream.seen.every((r) => r.method === 'OPTIONS'),
    `the upstream must have received only (rejected) preflights\n${info}`);
}

export const startEchoUpstream = (cleanups) =>
  startUpstream(cleanups, (req, res, body) => {
    if (req.method === 'OPTIONS') {
      send(res, 405, { Allow: 'GET, HEAD, POST, PUT, DELETE', 'Content-Type': 'text/plain; charset=utf-8' },
        'Method Not Allowed\n');
      return;
    }
    send(res, 200, { 'Content-Type': 'text/plain; charset=utf-8' },
      `Thank You For The Cross-Domain AJAX Request:\n\nMethod: ${req.method}\n\n${body.toString('utf8')}`);
  });
