// End-to-end browser test of corsd's demo page.
//
// Starts the corsd binary named by $CORSD_BIN on ephemeral loopback ports,
// opens its demo page in headless Chromium (Debian's /usr/bin/chromium, or
// $CHROMIUM_BIN) and checks that the page's jQuery PUT and DELETE reach the API
// cross-origin, with exactly one CORS preflight between them (the second request
// reuses the cached preflight thanks to Access-Control-Max-Age). Finally checks
// that corsd shuts down gracefully (exit code 0) on SIGTERM.
//
//   CORSD_BIN=build/corsd node --test tests/browser/
//
// Optional: CORSD_DEMO_SCREENSHOT=/tmp/corsd-demo.png saves a screenshot of the
// page once both responses have arrived.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { accessSync, constants as fsConstants } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromium } from 'playwright-core';

const STARTUP_TIMEOUT_MS = 10_000;
const RESPONSES_TIMEOUT_MS = 15_000;
const SHUTDOWN_TIMEOUT_MS = 5_000;

const RESOURCE_PATH = '/some/url/resource/path';
const BODY = JSON.stringify({ name: 'Tricia', age: 37 });
const expectedText = (method) =>
  `Thank You For The Cross-Domain AJAX Request:\n\nMethod: ${method}\n\n${BODY}`;

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** The running corsd: { proc, apiUrl, demoUrl, output(), exited } */
let corsd;

function startCorsd() {
  const bin = process.env.CORSD_BIN;
  if (!bin) {
    throw new Error(
      'CORSD_BIN is not set: point it at the corsd binary, e.g. ' +
        '`CORSD_BIN=build/corsd node --test tests/browser/`',
    );
  }
  try {
    accessSync(bin, fsConstants.X_OK);
  } catch (err) {
    throw new Error(`CORSD_BIN=${bin} is not an executable file (${err.code})`);
  }

  const args = ['--listen', '127.0.0.1:0', '--demo-listen', '127.0.0.1:0'];
  const proc = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  // Keep draining both pipes for the whole run so corsd never blocks on logging.
  proc.stdout.setEncoding('utf8').on('data', (d) => { stdout += d; });
  proc.stderr.setEncoding('utf8').on('data', (d) => { stderr += d; });
  const output = () =>
    `--- corsd stdout ---\n${stdout || '(empty)'}\n--- corsd stderr ---\n${stderr || '(empty)'}`;
  const exited = new Promise((resolve) => {
    proc.once('exit', (code, signal) => resolve({ code, signal }));
    proc.once('error', (error) => resolve({ code: null, signal: null, error }));
  });

  return new Promise((resolve, reject) => {
    let done = false;
    const finish = (err, value) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      proc.stdout.off('data', onData);
      if (err) {
        proc.kill('SIGKILL');
        reject(err);
      } else {
        resolve(value);
      }
    };
    const onData = () => {
      const m = stdout.match(/ready: api (\S+) demo (\S+)/);
      if (m) finish(null, { proc, apiUrl: m[1], demoUrl: m[2], output, exited });
    };
    const timer = setTimeout(
      () => finish(new Error(
        `corsd did not print its "ready: api ... demo ..." line within ` +
          `${STARTUP_TIMEOUT_MS / 1000} s (${bin} ${args.join(' ')})\n${output()}`,
      )),
      STARTUP_TIMEOUT_MS,
    );
    proc.stdout.on('data', onData);
    exited.then(({ code, signal, error }) =>
      finish(new Error(
        `corsd ended before it was ready (${error ? error.message : `code ${code}, signal ${signal}`})\n${output()}`,
      )));
  });
}

let browser;

before(async () => {
  corsd = await startCorsd();
});

after(async () => {
  if (browser) await browser.close().catch(() => {});
  if (corsd && corsd.proc.exitCode === null && corsd.proc.signalCode === null) {
    corsd.proc.kill('SIGKILL');
    await corsd.exited;
  }
});

test('demo page: jQuery PUT then DELETE cross-origin, one shared preflight', { timeout: 60_000 }, async () => {
  const apiOrigin = new URL(corsd.apiUrl).origin;
  const demoOrigin = new URL(corsd.demoUrl).origin;

  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_BIN || '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
  });
  const context = await browser.newContext();
  const page = await context.newPage();

  const consoleLines = [];
  page.on('console', (msg) => consoleLines.push(`[console.${msg.type()}] ${msg.text()}`));
  page.on('pageerror', (err) => consoleLines.push(`[pageerror] ${err.message}`));

  // Record every network request through CDP before navigating. With Chromium
  // 156 a CORS preflight shows up as its own request (own requestId) in
  //   Network.requestWillBeSent  { request.method: 'OPTIONS', type: 'Other', initiator.type: 'preflight' }
  //   Network.responseReceived   { type: 'Preflight' }
  // so a request counts as a preflight if any of those marks it, keyed by requestId.
  const requests = new Map(); // requestId -> { method, url, types:Set, initiator }
  let networkEvents = 0;
  const entry = (requestId) => {
    if (!requests.has(requestId)) requests.set(requestId, { types: new Set() });
    return requests.get(requestId);
  };
  const cdp = await context.newCDPSession(page);
  cdp.on('Network.requestWillBeSent', (e) => {
    networkEvents++;
    const r = entry(e.requestId);
    r.method = e.request.method;
    r.url = e.request.url;
    if (e.type) r.types.add(e.type);
    r.initiator = e.initiator?.type;
  });
  cdp.on('Network.responseReceived', (e) => {
    networkEvents++;
    const r = entry(e.requestId);
    r.url ??= e.response.url;
    r.status = e.response.status;
    if (e.type) r.types.add(e.type);
  });
  cdp.on('Network.loadingFailed', (e) => {
    networkEvents++;
    const r = entry(e.requestId);
    r.failed = e.errorText + (e.corsErrorStatus ? ` (CORS: ${e.corsErrorStatus.corsError})` : '');
    if (e.type) r.types.add(e.type);
  });
  await cdp.send('Network.enable');

  const isPreflight = (r) =>
    r.method === 'OPTIONS' || r.types.has('Preflight') || r.initiator === 'preflight';
  const toApi = () => [...requests.values()].filter((r) => r.url && new URL(r.url).origin === apiOrigin);
  const describeApiRequests = () =>
    toApi().map((r) =>
      `  ${r.method ?? '?'} ${r.url} [${[...r.types].join(',')}${r.initiator ? `; initiator ${r.initiator}` : ''}]` +
        `${r.status !== undefined ? ` -> ${r.status}` : ''}${r.failed ? ` FAILED ${r.failed}` : ''}`,
    ).join('\n') || '  (none)';
  const pres = () =>
    page.$$eval('pre', (els) => els.map((el) => ({ id: el.id, state: el.dataset.state ?? null, text: el.textContent })));
  const diagnostics = async () =>
    `requests to the API origin ${apiOrigin}:\n${describeApiRequests()}\n` +
    `page <pre>s: ${JSON.stringify(await pres().catch((e) => e.message))}\n` +
    `page console:\n${consoleLines.map((l) => `  ${l}`).join('\n') || '  (none)'}\n${corsd.output()}`;

  await page.goto(corsd.demoUrl);

  try {
    await page.waitForFunction(
      () => ['putResponse', 'deleteResponse'].every((id) => document.getElementById(id)?.hasAttribute('data-state')),
      null,
      { timeout: RESPONSES_TIMEOUT_MS },
    );
  } catch (err) {
    throw new Error(`the demo page did not finish both requests within ${RESPONSES_TIMEOUT_MS / 1000} s ` +
      `(${err.message.split('\n')[0]})\n${await diagnostics()}`);
  }

  // Let any straggling network events arrive: wait until none came for 300 ms.
  for (let seen = -1, i = 0; seen !== networkEvents && i < 20; i++) {
    seen = networkEvents;
    await sleep(300);
  }

  if (process.env.CORSD_DEMO_SCREENSHOT) {
    await page.screenshot({ path: process.env.CORSD_DEMO_SCREENSHOT, fullPage: true });
  }

  const info = await diagnostics();
  const read = (id) => page.$eval(`#${id}`, (el) => ({ state: el.dataset.state ?? null, text: el.textContent }));

  assert.deepEqual(await read('putResponse'), { state: 'done', text: expectedText('PUT') },
    `PUT response shown on the page is wrong\n${info}`);
  assert.deepEqual(await read('deleteResponse'), { state: 'done', text: expectedText('DELETE') },
    `DELETE response shown on the page is wrong\n${info}`);

  // The page says where it is and where it calls, and those are different origins.
  const shownPageOrigin = (await page.textContent('#pageOrigin')).trim();
  const shownApiOrigin = (await page.textContent('#apiOrigin')).trim();
  assert.equal(shownPageOrigin, demoOrigin, 'the page must show its own origin in #pageOrigin');
  assert.equal(shownApiOrigin, apiOrigin, 'the page must show the API origin in #apiOrigin');
  assert.notEqual(shownPageOrigin, shownApiOrigin, 'the demo page and the API must be on different origins');

  // Exactly one preflight, one PUT and one DELETE went to the API origin.
  const apiRequests = toApi();
  const preflights = apiRequests.filter(isPreflight);
  const count = (method) => apiRequests.filter((r) => !isPreflight(r) && r.method === method).length;
  assert.equal(preflights.length, 1,
    `expected exactly one CORS preflight (OPTIONS) to the API: one for the PUT, reused for the DELETE ` +
      `(Access-Control-Max-Age)\n${info}`);
  assert.equal(preflights[0].method, 'OPTIONS', `the preflight must be an OPTIONS request\n${info}`);
  assert.equal(new URL(preflights[0].url).pathname, RESOURCE_PATH, `preflight went to the wrong path\n${info}`);
  assert.equal(count('PUT'), 1, `expected exactly one PUT to the API\n${info}`);
  assert.equal(count('DELETE'), 1, `expected exactly one DELETE to the API\n${info}`);
  assert.equal(apiRequests.length, 3, `expected no other requests to the API\n${info}`);

  await browser.close();
  browser = undefined;
});

test('corsd exits with code 0 on SIGTERM (graceful shutdown)', { timeout: 30_000 }, async () => {
  assert.equal(corsd.proc.exitCode, null, `corsd had already exited\n${corsd.output()}`);
  corsd.proc.kill('SIGTERM');
  const result = await Promise.race([
    corsd.exited,
    sleep(SHUTDOWN_TIMEOUT_MS, 'timeout', { ref: false }),
  ]);
  assert.notEqual(result, 'timeout',
    `corsd did not exit within ${SHUTDOWN_TIMEOUT_MS / 1000} s of SIGTERM\n${corsd.output()}`);
  assert.deepEqual({ code: result.code, signal: result.signal }, { code: 0, signal: null },
    `corsd must exit with code 0 on SIGTERM\n${corsd.output()}`);
});
