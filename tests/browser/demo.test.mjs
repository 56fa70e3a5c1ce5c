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
import {
  startCorsd, killCorsd, stopCorsd, launchChromium, openRecordedPage, DEMO_PATH, demoEcho, demoPre, demoPres,
  waitForDemo, isPreflight, describeRequests,
} from './support.mjs';

const SHUTDOWN_TIMEOUT_MS = 5_000;

/** The running corsd (see startCorsd in support.mjs). */
let corsd;
let browser;

before(async () => {
  corsd = await startCorsd(['--listen', '127.0.0.1:0', '--demo-listen', '127.0.0.1:0']);
});

after(async () => {
  if (browser) await browser.close().catch(() => {});
  await killCorsd(corsd);
});

test('demo page: jQuery PUT then DELETE cross-origin, one shared preflight', { timeout: 60_000 }, async () => {
  const apiOrigin = new URL(corsd.apiUrl).origin;
  const demoOrigin = new URL(corsd.demoUrl).origin;

  browser = await launchChromium();
  // Record the console, and every network request through CDP, before navigating; a
  // preflight is its own request (see recordNetwork and isPreflight in support.mjs).
  const demo = await openRecordedPage(await browser.newContext());
  const { page, consoleLog, network } = demo;

  const toApi = () => network.toOrigin(apiOrigin);
  const pres = () => demoPres(page);
  const diagnostics = async () =>
    `requests to the API origin ${apiOrigin}:\n${describeRequests(toApi())}\n` +
    `page <pre>s: ${JSON.stringify(await pres().catch((e) => e.message))}\n` +
    `page console:\n${consoleLog.describe()}\n${corsd.output()}`;

  await page.goto(corsd.demoUrl);
  // Both responses shown, and the straggling network events arrived (see waitForDemo).
  await waitForDemo(demo, diagnostics);

  if (process.env.CORSD_DEMO_SCREENSHOT) {
    await page.screenshot({ path: process.env.CORSD_DEMO_SCREENSHOT, fullPage: true });
  }

  const info = await diagnostics();
  const read = (id) => demoPre(page, id);

  assert.deepEqual(await read('putResponse'), { state: 'done', text: demoEcho('PUT') },
    `PUT response shown on the page is wrong\n${info}`);
  assert.deepEqual(await read('deleteResponse'), { state: 'done', text: demoEcho('DELETE') },
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
  assert.equal(new URL(preflights[0].url).pathname, DEMO_PATH, `preflight went to the wrong path\n${info}`);
  assert.equal(count('PUT'), 1, `expected exactly one PUT to the API\n${info}`);
  assert.equal(count('DELETE'), 1, `expected exactly one DELETE to the API\n${info}`);
  assert.equal(apiRequests.length, 3, `expected no other requests to the API\n${info}`);

  await browser.close();
  browser = undefined;
});

test('corsd exits with code 0 on SIGTERM (graceful shutdown)', { timeout: 30_000 }, async () => {
  assert.deepEqual(await stopCorsd(corsd, SHUTDOWN_TIMEOUT_MS), { code: 0, signal: null },
    `corsd must exit with code 0 on SIGTERM\n${corsd.output()}`);
});
