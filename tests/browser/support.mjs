// Shared helpers of the browser tests (demo.test.mjs, credentials.test.mjs).
//
// Not a test file itself: `node --test tests/browser/` only runs files named like
// *.test.mjs, so this module is loaded only through the tests' imports.
//
//   startCorsd(args)             spawn $CORSD_BIN, wait for its "ready: api URL demo URL" line
//   killCorsd(corsd)             SIGKILL a corsd that is still running (for after() hooks)
//   stopCorsd(corsd, timeoutMs)  SIGTERM, wait for the exit, return { code, signal }
//   launchChromium()             headless Chromium ($CHROMIUM_BIN or Debian's /usr/bin/chromium)
//   recordConsole(page)          collect the page's console messages and uncaught errors
//   recordNetwork(page)          record every request of the page through CDP
//   isPreflight(request)         whether a recorded request is a CORS preflight
//   describeRequests(requests)   one diagnostic line per recorded request

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { accessSync, constants as fsConstants } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromium } from 'playwright-core';

/** How long corsd may take to print its ready line. */
export const STARTUP_TIMEOUT_MS = 10_000;

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

/**
 * Starts the corsd binary named by $CORSD_BIN with args and waits (up to
 * timeoutMs) for its "ready: api URL demo URL" line on stdout.
 *
 * Resolves to the running corsd:
 *   { proc, apiUrl, demoUrl, stdout(), stderr(), output(), exited }
 * stdout() and stderr() return everything corsd wrote so far (both pipes are
 * drained for the whole run, so corsd never blocks on logging); output() returns
 * both, labelled, for diagnostics; exited resolves to { code, signal, error? }
 * once the process has ended (error when it could not be spawned).
 *
 * Rejects, with corsd's output in the message, when $CORSD_BIN is unset or not
 * executable, when corsd ends before it is ready, or on timeout (corsd is then
 * killed).
 */
export function startCorsd(args, { timeoutMs = STARTUP_TIMEOUT_MS } = {}) {
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
      if (m) {
        finish(null, {
          proc, apiUrl: m[1], demoUrl: m[2], stdout: () => stdout, stderr: () => stderr, output, exited,
        });
      }
    };
    const timer = setTimeout(
      () => finish(new Error(
        `corsd did not print its "ready: api ... demo ..." line within ` +
          `${timeoutMs / 1000} s (${bin} ${args.join(' ')})\n${output()}`,
      )),
      timeoutMs,
    );
    proc.stdout.on('data', onData);
    exited.then(({ code, signal, error }) =>
      finish(new Error(
        `corsd ended before it was ready (${error ? error.message : `code ${code}, signal ${signal}`})\n${output()}`,
      )));
  });
}

/** SIGKILLs corsd (from startCorsd; may be undefined) if it is still running, and waits for it to end. */
export async function killCorsd(corsd) {
  if (corsd && corsd.proc.exitCode === null && corsd.proc.signalCode === null) {
    corsd.proc.kill('SIGKILL');
    await corsd.exited;
  }
}

/**
 * Sends SIGTERM to corsd and waits up to timeoutMs for it to exit. Returns
 * { code, signal } of the exit (a graceful shutdown is { code: 0, signal: null }).
 * Fails an assertion, with corsd's output, when corsd had already exited before
 * the SIGTERM or does not exit within timeoutMs.
 */
export async function stopCorsd(corsd, timeoutMs) {
  assert.equal(corsd.proc.exitCode, null, `corsd had already exited\n${corsd.output()}`);
  corsd.proc.kill('SIGTERM');
  const result = await Promise.race([
    corsd.exited,
    sleep(timeoutMs, 'timeout', { ref: false }),
  ]);
  assert.notEqual(result, 'timeout',
    `corsd did not exit within ${timeoutMs / 1000} s of SIGTERM\n${corsd.output()}`);
  return { code: result.code, signal: result.signal };
}

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
