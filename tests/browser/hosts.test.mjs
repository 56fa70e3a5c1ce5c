// End-to-end browser tests of corsd's engine in other C++ servers: the example servers of examples/beast
// (beast_server, Boost.Beast) and examples/httplib (httplib_server, cpp-httplib), each with
// `--policy FILE`, a corsd config file whose [[routes]] are its policies (tests/support/examples.mjs).
//
// For each example, the tests start on 127.0.0.1 (ephemeral ports, a temporary directory of their own):
//   - corsd with its demo page, pointed at the example with --demo-api-origin (corsd's own API on a
//     free port, unused); the page's origin is corsd's demo URL, http://127.0.0.1:PORT;
//   - the example on a port chosen before corsd starts (the page must know it), with a policy written
//     once the page's origin is known.
// Then, in headless Chromium (playwright-core):
//   - a policy listing exactly the page's origin: the demo page's jQuery PUT and DELETE succeed and show
//     the echoes, with exactly one preflight, answered 204 by the example and reused for the DELETE;
//   - a policy listing the same page under another name (http://localhost:PORT, not the page's origin):
//     both requests fail with CORS errors, their preflights refused (403) by the example.
//
//   CORSD_BUILD_DIR=build CORSD_BIN=build/corsd node --test tests/browser/hosts.test.mjs

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  startCorsd, killCorsd, stopCorsd, launchChromium, demoArgs, openDemo, assertDemoSucceeded, assertOnePreflight,
  assertDemoBlocked, isPreflight, describeRequests,
} from './support.mjs';
import { startExample } from '../support/examples.mjs';
import { freePort } from '../support/net.mjs';

const T = { timeout: 30_000 };
const SHUTDOWN_TIMEOUT_MS = 5_000;

/** The example servers, by the binary's path under the build directory. */
const HOSTS = {
  beast: 'examples/beast/beast_server',
  httplib: 'examples/httplib/httplib_server',
};

/** The demo's policy for every path, allowing `origin` only: the page's PUT and DELETE with JSON, cached 10 s. */
const policyFor = (origin) => `\
[[routes]]
path = "/"
allow_origins = ["${origin}"]
allow_methods = ["PUT", "DELETE"]
allow_headers = ["content-type"]
max_age = 10
`;

// Everything the tests started, ended in after() even when a test failed (last started, first ended).
const dir = mkdtempSync(join(tmpdir(), 'corsd-browser-hosts-'));
const cleanups = [async () => rmSync(dir, { recursive: true, force: true })];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
});

/** One headless Chromium for all the tests (each test in a context of its own), launched on first use. */
let chromium;
const browser = () => {
  if (!chromium) {
    chromium = launchChromium();
    cleanups.push(async () => (await chromium).close());
  }
  return chromium;
};

let policies = 0;
/**
 * Starts corsd's demo calling `host`'s example, then the example with the policy allowing
 * allowedOrigin(pageOrigin). Resolves to { corsd, server, pageOrigin, apiOrigin, policy }.
 */
async function startDemoAndHost(host, allowedOrigin) {
  const port = await freePort();
  const apiOrigin = `http://127.0.0.1:${port}`;
  const corsd = await startCorsd(demoArgs(apiOrigin));
  cleanups.push(() => killCorsd(corsd));
  const pageOrigin = new URL(corsd.demoUrl).origin;
  assert.match(pageOrigin, /^http:\/\/127\.0\.0\.1:\d+$/, `corsd's demo URL\n${corsd.output()}`);

  const policy = policyFor(allowedOrigin(pageOrigin));
  const file = join(dir, `${host}-${++policies}.toml`);
  writeFileSync(file, policy);
  const server = await startExample(HOSTS[host], ['--policy', file], { port });
  cleanups.push(() => server.stop());
  assert.equal(server.origin, apiOrigin, `${host}'s example must listen on the port the page calls`);
  return { corsd, server, pageOrigin, apiOrigin, policy };
}

/** Opens the demo page; resolves to the demo (openDemo) and its diagnostics once both requests finished. */
async function openDemoOf({ corsd, server, apiOrigin, policy }, host) {
  const diagnosticsOf = async (d) =>
    `requests to ${host}'s example ${apiOrigin}:\n${describeRequests(d.network.toOrigin(apiOrigin))}\n` +
    `page <pre>s: ${JSON.stringify(await d.pres().catch((e) => e.message))}\n` +
    `page console:\n${d.consoleLog.describe()}\n--- policy ---\n${policy}${server.output()}\n${corsd.output()}`;
  const demo = await openDemo(await browser(), corsd, diagnosticsOf);
  return { demo, info: await diagnosticsOf(demo) };
}

/** corsd ends gracefully on SIGTERM, after the page's context is closed. */
async function stopAll(demo, corsd) {
  await demo.page.context().close();
  assert.deepEqual(await stopCorsd(corsd, SHUTDOWN_TIMEOUT_MS), { code: 0, signal: null },
    `corsd must exit with code 0 on SIGTERM\n${corsd.output()}`);
}

for (const host of Object.keys(HOSTS)) describe(`Chromium, the demo page calling ${host}'s example`, () => {
  test('a policy listing the page\'s origin: the PUT and the DELETE succeed, one preflight answered 204', T,
    async () => {
      const started = await startDemoAndHost(host, (pageOrigin) => pageOrigin);
      const { pageOrigin, apiOrigin } = started;
      const { demo, info } = await openDemoOf(started, host);

      assert.equal(await demo.page.evaluate(() => location.origin), pageOrigin,
        `the page's origin must be corsd's demo URL's, the one the policy lists\n${info}`);
      assert.notEqual(pageOrigin, apiOrigin, 'the demo page and the example must be on different origins');
      await assertDemoSucceeded(demo.page, { demoOrigin: pageOrigin, apiOrigin }, info);
      assertOnePreflight(demo.network.toOrigin(apiOrigin), `${host}'s example`, info);

      await stopAll(demo, started.corsd);
    });

  test('a policy not listing the page\'s origin (localhost instead of 127.0.0.1): both requests fail with CORS errors',
    T, async () => {
      const started = await startDemoAndHost(host, (pageOrigin) => pageOrigin.replace('127.0.0.1', 'localhost'));
      const { apiOrigin } = started;
      const { demo, info } = await openDemoOf(started, host);

      await assertDemoBlocked(demo, apiOrigin, info);
      // Refused at the preflight, by the example: each request preflighted (a refusal is not cached), each
      // preflight answered 403 without Access-Control-Allow-Origin; neither the PUT nor the DELETE was sent.
      const toServer = demo.network.toOrigin(apiOrigin);
      const preflights = toServer.filter(isPreflight);
      const requests = toServer.filter((r) => !isPreflight(r));
      assert.equal(preflights.length, 2, `the PUT and the DELETE must each have been preflighted\n${info}`);
      assert.ok(preflights.every((r) => r.status === 403),
        `${host}'s example must refuse every preflight with 403\n${info}`);
      assert.deepEqual(requests.map((r) => [r.method, r.status, r.corsError]),
        [['PUT', undefined, 'PreflightMissingAllowOriginHeader'], ['DELETE', undefined, 'PreflightMissingAllowOriginHeader']],
        `the PUT and the DELETE must have failed at their preflights, never sent\n${info}`);

      await stopAll(demo, started.corsd);
    });
});
