// Runs cases (cases.mjs) as fetch() calls in headless Chromium and records what Chromium decided.
// Shared by chromium_messages.mjs (the ground-truth script) and chromium.test.mjs. Not a test file.
//
//   runInChromium(browser, { cases, caseOrigin, pageOrigin, pages, timeoutMs }) ->
//     Map name -> { url, allowed, status, readable_headers, error, cors_message, other_messages,
//                   console_other_types, cdp_cors_errors, cdp_requests, preflight }
//   (other_messages: the case's other console errors, e.g. "Failed to load resource: net::ERR_FAILED";
//   console_other_types: its console messages of other types, as '[type] text')
//   CORS_LINE   how the CORS line among a fetch's console errors is recognised
//
// Each case is one fetch(`${caseOrigin}/case/${name}`, { method, headers, credentials }) in a page of pageOrigin; `pages` pages run their share of the cases one after the
// other. Console errors are tied to a case by the URL they name (the CORS line quotes the URL,
// the "Failed to load resource" line has it as its location), so pages may run side by side.
// cdp_cors_errors are the CDP Network.loadingFailed corsErrorStatus values for the case's URLs
// ({ method, url, corsError, failedParameter }): Chromium's own CorsError enum, kept next to the
// console text to check the regex table that maps messages to codes. cdp_requests are the requests
// CDP saw for them ({ method, url, preflight }: preflight when its initiator is 'preflight');
// preflight says whether Chromium sent a preflight to the case's URL itself.

import { setTimeout as sleep } from 'node:timers/promises';

/** msg with the case URL, the page origin and the case server origin replaced by placeholders. */
export const templateOf = (msg, { url, pageOrigin, caseOrigin }) =>
  msg && msg.replaceAll(url, '{url}').replaceAll(pageOrigin, '{origin}').replaceAll(caseOrigin, '{server}');

/** The CORS line of a fetch's console errors. */
export const CORS_LINE = /has been blocked by CORS policy/;

export async function runInChromium(browser, { cases, caseOrigin, pageOrigin, pages = 4, timeoutMs = 5000 }) {
  const context = await browser.newContext();
  const consoleErrors = []; // { type, text, url }
  const consoleOthers = []; // the same, of the other types (warnings, ...)
  const cdpFailures = []; // { url, method, preflight, corsError, failedParameter }
  const cdpRequests = []; // { url, method, preflight }: every request the pages sent
  const workers = [];
  try {
    const queue = [...cases];
    const results = new Map();
    for (let i = 0; i < Math.min(pages, cases.length); i++) {
      workers.push((async () => {
        const page = await context.newPage();
        page.on('console', (msg) => {
          const m = { type: msg.type(), text: msg.text(), url: msg.location()?.url ?? '' };
          (m.type === 'error' ? consoleErrors : consoleOthers).push(m);
        });
        const cdp = await context.newCDPSession(page);
        const sent = new Map();
        cdp.on('Network.requestWillBeSent', (e) => {
          const q = { url: e.request.url, method: e.request.method, preflight: e.initiator?.type === 'preflight' };
          sent.set(e.requestId, q);
          cdpRequests.push(q);
        });
        cdp.on('Network.loadingFailed', (e) => {
          if (!e.corsErrorStatus) return;
          cdpFailures.push({
            ...(sent.get(e.requestId) ?? {}), corsError: e.corsErrorStatus.corsError,
            failedParameter: e.corsErrorStatus.failedParameter ?? '',
          });
        });
        await cdp.send('Network.enable');
        await page.goto(`${pageOrigin}/`);
        for (let c; (c = queue.shift());) {
          const url = `${caseOrigin}/case/${c.name}`;
          const r = await page.evaluate(async ({ url, init, timeoutMs }) => {
            try {
              const res = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
              const readable = [...res.headers.keys()];
              await res.arrayBuffer().catch(() => {});
              return { allowed: true, status: res.status, readable_headers: readable, error: null };
            } catch (e) {
              return { allowed: false, status: null, readable_headers: null, error: `${e.name}: ${e.message}` };
            }
          }, { url, init: { method: c.request.method, headers: c.request.headers, credentials: c.request.credentials }, timeoutMs });
          results.set(c.name, { url, ...r });
        }
        return page;
      })());
    }
    const opened = await Promise.all(workers);
    // Console and CDP events may trail the page's view of the fetch.
    for (let seen = -1, i = 0; i < 20 && seen !== consoleErrors.length + cdpFailures.length; i++) {
      seen = consoleErrors.length + cdpFailures.length;
      await sleep(150);
    }
    await Promise.all(opened.map((p) => p.close()));

    for (const [, r] of results) {
      const quoted = `'${r.url}'`;
      const mine = consoleErrors.filter((m) => m.text.includes(quoted) || m.url === r.url || m.url === `${r.url}/target`);
      const cors = mine.filter((m) => CORS_LINE.test(m.text));
      r.cors_message = cors.length ? cors[0].text : null;
      if (cors.length > 1) r.extra_cors_messages = cors.slice(1).map((m) => m.text);
      r.other_messages = mine.filter((m) => !CORS_LINE.test(m.text)).map((m) => m.text);
      r.console_other_types = consoleOthers
        .filter((m) => m.text.includes(quoted) || m.url === r.url || m.url === `${r.url}/target`)
        .map((m) => `[${m.type}] ${m.text}`);
      r.cdp_cors_errors = cdpFailures.filter((f) => f.url === r.url || f.url === `${r.url}/target`)
        .map(({ method, url, corsError, failedParameter }) => ({ method, url, corsError, failedParameter }));
      r.cdp_requests = cdpRequests.filter((q) => q.url === r.url || q.url === `${r.url}/target`);
      r.preflight = r.cdp_requests.some((q) => q.preflight && q.url === r.url);
    }
    return results;
  } finally {
    await context.close().catch(() => {});
  }
}
