// Runs cases (cases.mjs) as fetch() calls in headless Firefox (Debian's firefox-esr, driven over
// WebDriver BiDi by puppeteer-core) and records what Firefox decided and logged. Shared by
// firefox_messages.mjs (the ground-truth script) and firefox.test.mjs. Not a test file.
//
//   launchFirefox({ profileDir })  puppeteer Browser ($FIREFOX_BIN, else /usr/bin/firefox-esr), its
//                                  console recorder installed (see below)
//   closeFirefox(browser)          close it, and SIGKILL the process if it is still there
//   runInFirefox(browser, { cases, caseOrigin, pageOrigin, pages, timeoutMs }) ->
//     Map name -> { url, allowed, status, readable_headers, error, console, cors_messages,
//                   cors_message, warnings, bidi_errors, network, preflight, preflight_failed }
//   parseFirefoxLine(text)         { url, quoted, reason, status } of a "Cross-Origin Request ..." line
//   CORS_LINE, FOLLOW_UP           how Firefox's CORS console lines are recognised
//
// How the console is captured. Firefox reports CORS refusals as nsIScriptErrors of the page
// (category: Firefox's own name of the reason, e.g. CORSMissingAllowOrigin2), not through the
// console API. WebDriver BiDi delivers those as `log.entryAdded` events of type "javascript", but
// only the error-level ones: Firefox's BiDi log module listens to the "error" events of its
// ConsoleListener only, so CORS *warnings* (e.g. CORSAllowHeaderFromPreflightDeprecation, for
// `Access-Control-Allow-Headers: *` covering Authorization) never arrive; puppeteer turns the
// entries into `pageerror` (not `console`) and drops the level. So Firefox is started with
// -remote-allow-system-access, and an nsIConsoleListener registered in the browser's chrome
// window (BiDi script.evaluate in the chrome-scope context, `moz:scope: 'chrome'`) records every
// nsIScriptError with its level (flags) and category; content processes forward theirs to it.
// The BiDi entries are kept too (bidi_errors), as a cross-check of that recorder.
// Every line names the URL it is about ("... remote resource at URL. (Reason: ...)"), which ties
// it to its case (URL = the case's URL or its /target), so pages may run side by side.
//
//   console         [{ level: 'error' | 'warning' | 'info', category, text }] of the case, in order
//   cors_messages   the texts of its error-level CORS lines, in order
//   cors_message    the first of them: the one that says why (Firefox then logs follow-ups: "CORS
//                   preflight response did not succeed" after a redirected preflight, "CORS request
//                   did not succeed ... Status code: (null)." for the request the failure cancelled)
//   warnings        the texts of its warning-level lines
//   network         BiDi network events for the case's URLs: [{ event: 'sent' | 'completed' |
//                   'failed', method, url, destination, status, error }] (a preflight is an OPTIONS
//                   with destination '', the fetch itself has destination 'fetch')
//   preflight       whether Firefox sent a preflight to the case's URL itself (BiDi)
//   preflight_failed  whether a preflight of the case (its URL or /target) failed (a BiDi fetchError)

import { setTimeout as sleep } from 'node:timers/promises';
import puppeteer from 'puppeteer-core';

/** Firefox's CORS console lines: `Cross-Origin Request Blocked: ...` (errors), `... Warning: ...`. */
export const CORS_LINE = /^Cross-Origin Request (?:Blocked|Warning): /;
const PARTS = /^Cross-Origin Request (?:Blocked|Warning): The Same Origin Policy (?:disallows|will disallow) reading the remote resource at (?:‘(.*?)’|(.*?))(?: soon)?\. \(Reason: (.*)\)\.(?: Status code: (.*)\.)?$/s;

/**
 * { url, quoted, reason, status } of a Firefox CORS line, or null: quoted when the URL is in ‘…’ (Firefox
 * quotes it in some lines only), status the "Status code: N." text or null.
 */
export function parseFirefoxLine(text) {
  const m = text?.match(PARTS);
  return m ? { url: m[1] ?? m[2], quoted: m[1] !== undefined, reason: m[3], status: m[4] ?? null } : null;
}

/** The follow-up line of the request a failed preflight (or a failed redirect) cancelled. */
export const FOLLOW_UP = /\(Reason: CORS request did not succeed\)/;

/**
 * Firefox prefs: nothing of its own on the network. Whatever still tries (remote settings,
 * captive portal, telemetry, ...) goes to an HTTP proxy on 127.0.0.1:9, where nothing listens;
 * loopback itself is never proxied (network.proxy.allow_hijacking_localhost false). puppeteer adds
 * its own defaults (@puppeteer/browsers' defaultProfilePreferences) underneath. Checked with a
 * listener on 127.0.0.1:9 during a whole firefox_messages.mjs run: with these prefs and
 * MOZ_REMOTE_SETTINGS_DEVTOOLS=1 (see launchFirefox) nothing comes, and `ss` shows no socket of
 * Firefox's to anything but 127.0.0.1.
 */
export const FIREFOX_PREFS = {
  'network.proxy.type': 1,
  'network.proxy.http': '127.0.0.1',
  'network.proxy.http_port': 9,
  'network.proxy.ssl': '127.0.0.1',
  'network.proxy.ssl_port': 9,
  'network.proxy.share_proxy_settings': true,
  'network.proxy.no_proxies_on': '',
  'network.proxy.allow_hijacking_localhost': false,
  'network.proxy.socks_remote_dns': true,
  'network.trr.mode': 5,
  'network.dns.disablePrefetch': true,
  'network.prefetch-next': false,
  'network.predictor.enabled': false,
  'network.http.speculative-parallel-limit': 0,
  'network.captive-portal-service.enabled': false,
  'network.connectivity-service.enabled': false,
  'network.http.http3.enable': false,
  'app.update.enabled': false,
  'app.update.auto': false,
  'app.update.disabledForTesting': true,
  'app.normandy.enabled': false,
  'app.normandy.api_url': '',
  'app.shield.optoutstudies.enabled': false,
  'messaging-system.rsexperimentloader.enabled': false,
  'browser.safebrowsing.malware.enabled': false,
  'browser.safebrowsing.phishing.enabled': false,
  'browser.safebrowsing.downloads.enabled': false,
  'browser.safebrowsing.downloads.remote.enabled': false,
  'browser.safebrowsing.blockedURIs.enabled': false,
  'browser.safebrowsing.provider.mozilla.updateURL': '',
  'browser.safebrowsing.provider.google.updateURL': '',
  'browser.safebrowsing.provider.google4.updateURL': '',
  'browser.safebrowsing.update.enabled': false,
  'browser.newtabpage.enabled': false,
  'browser.newtabpage.activity-stream.feeds.topsites': false,
  'browser.newtabpage.activity-stream.feeds.system.topstories': false,
  'browser.topsites.contile.enabled': false,
  'browser.region.update.enabled': false,
  'browser.region.network.url': '',
  'browser.search.update': false,
  'browser.ping-centre.telemetry': false,
  'browser.discovery.enabled': false,
  'datareporting.healthreport.uploadEnabled': false,
  'datareporting.policy.dataSubmissionEnabled': false,
  'toolkit.telemetry.enabled': false,
  'toolkit.telemetry.unified': false,
  'toolkit.telemetry.archive.enabled': false,
  'toolkit.telemetry.server': '',
  'toolkit.coverage.endpoint.base': '',
  'extensions.update.enabled': false,
  'extensions.blocklist.enabled': false,
  'extensions.getAddons.cache.enabled': false,
  'extensions.systemAddon.update.enabled': false,
  'services.settings.server': 'http://127.0.0.1:9/v1',
  'security.remote_settings.crlite_filters.enabled': false,
  'security.OCSP.enabled': 0,
  'geo.provider.network.url': '',
  'media.gmp-manager.updateEnabled': false,
  'identity.fxaccounts.enabled': false,
  'dom.push.connection.enabled': false,
  'browser.cache.disk.enable': false,
};

/** Registers the chrome-window console listener (see the top): records into globalThis.__corsdConsole. */
const RECORDER = `(() => {
  if (globalThis.__corsdConsole) return 'already';
  const log = (globalThis.__corsdConsole = []);
  const { warningFlag, infoFlag } = Ci.nsIScriptError;
  globalThis.__corsdListener = {
    QueryInterface: ChromeUtils.generateQI(['nsIConsoleListener']),
    observe(m) {
      if (!(m instanceof Ci.nsIScriptError)) return;
      const level = m.flags & warningFlag ? 'warning' : m.flags & infoFlag ? 'info' : 'error';
      log.push({ level, category: m.category, text: m.errorMessage });
    },
  };
  Services.console.registerListener(globalThis.__corsdListener);
  return 'installed';
})()`;

/** Evaluates expression in the browser's chrome window (needs -remote-allow-system-access). */
async function evalChrome(browser, expression) {
  const conn = browser.connection;
  if (!browser.__corsdChromeContext) {
    const { contexts } = await conn.send('browsingContext.getTree', { 'moz:scope': 'chrome', maxDepth: 0 }).then((r) => r.result);
    if (!contexts?.length) throw new Error('Firefox reports no chrome-scope browsing context');
    browser.__corsdChromeContext = contexts[0].context;
  }
  const { result } = await conn.send('script.evaluate', {
    expression, target: { context: browser.__corsdChromeContext }, awaitPromise: true, resultOwnership: 'none',
  });
  if (result.type !== 'success') throw new Error(`chrome-scope script failed: ${JSON.stringify(result.exceptionDetails ?? result)}`);
  return result.result.value;
}

/** Takes the console lines recorded so far (and forgets them). */
const drainConsole = async (browser) => JSON.parse(await evalChrome(browser, 'JSON.stringify(globalThis.__corsdConsole.splice(0))'));

/**
 * Launches headless Firefox ($FIREFOX_BIN, else Debian's firefox-esr) with its profile in profileDir
 * (created by puppeteer, left for the caller to remove) and installs the console recorder.
 */
export async function launchFirefox({ profileDir }) {
  const browser = await puppeteer.launch({
    browser: 'firefox',
    protocol: 'webDriverBiDi',
    executablePath: process.env.FIREFOX_BIN || '/usr/bin/firefox-esr',
    headless: true,
    userDataDir: profileDir,
    args: ['-remote-allow-system-access'],
    extraPrefsFirefox: FIREFOX_PREFS,
    // Without it Firefox ignores services.settings.server and keeps trying to sync Remote Settings
    // with firefox.settings.services.mozilla.com (about 150 CONNECTs to the black-hole proxy in 12 s).
    env: { ...process.env, MOZ_REMOTE_SETTINGS_DEVTOOLS: '1' },
    timeout: 60_000,
  });
  try {
    await evalChrome(browser, RECORDER);
  } catch (e) {
    await closeFirefox(browser);
    throw e;
  }
  return browser;
}

/** Closes browser (from launchFirefox; may be undefined) and makes sure its process is gone. */
export async function closeFirefox(browser) {
  if (!browser) return;
  const proc = browser.process();
  await Promise.race([browser.close().catch(() => {}), sleep(10_000, null, { ref: false })]);
  if (proc && proc.exitCode === null && proc.signalCode === null) {
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    proc.kill('SIGKILL');
    await exited;
  }
}

/** The URL a log line is about (the CORS lines' "at URL", else the first URL in it). */
const urlOf = (text) => parseFirefoxLine(text)?.url ?? text.match(/(https?:\/\/[^\s'’]+?)[.,;:'’]?(?:\s|$)/)?.[1];

export async function runInFirefox(browser, { cases, caseOrigin, pageOrigin, pages = 2, timeoutMs = 5000 }) {
  const context = await browser.createBrowserContext();
  const conn = browser.connection;
  const bidiErrors = []; // texts of BiDi log.entryAdded javascript errors
  const network = []; // { event, method, url, destination, status, error }
  const onSent = (e) => network.push({ event: 'sent', method: e.request.method, url: e.request.url, destination: e.request.destination ?? null, id: e.request.request });
  const onDone = (e) => network.push({ event: 'completed', method: e.request.method, url: e.request.url, status: e.response.status, id: e.request.request });
  const onError = (e) => network.push({ event: 'failed', method: e.request.method, url: e.request.url, error: e.errorText, id: e.request.request });
  conn.on('network.beforeRequestSent', onSent);
  conn.on('network.responseCompleted', onDone);
  conn.on('network.fetchError', onError);
  await drainConsole(browser); // what earlier runs left
  const consoleLines = [];
  try {
    const queue = [...cases];
    const results = new Map();
    const workers = [];
    for (let i = 0; i < Math.min(pages, cases.length); i++) {
      workers.push((async () => {
        const page = await context.newPage();
        page.mainFrame().browsingContext.on('log', ({ entry }) => {
          if (entry.type === 'javascript') bidiErrors.push(entry.text ?? '');
        });
        await page.goto(`${pageOrigin}/`);
        for (let c; (c = queue.shift());) {
          const url = `${caseOrigin}/case/${c.name}`;
          const r = await page.evaluate(async (url, init, timeoutMs) => {
            try {
              const res = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
              const readable = [...res.headers.keys()];
              await res.arrayBuffer().catch(() => {});
              return { allowed: true, status: res.status, readable_headers: readable, error: null };
            } catch (e) {
              return { allowed: false, status: null, readable_headers: null, error: `${e.name}: ${e.message}` };
            }
          }, url, { method: c.request.method, headers: c.request.headers, credentials: c.request.credentials }, timeoutMs);
          results.set(c.name, { url, ...r });
        }
        return page;
      })());
    }
    const opened = await Promise.all(workers);
    // Log lines and events may trail the page's view of the fetch.
    for (let seen = -1, i = 0; i < 20; i++) {
      consoleLines.push(...await drainConsole(browser));
      const now = consoleLines.length + bidiErrors.length + network.length;
      if (now === seen) break;
      seen = now;
      await sleep(150);
    }
    await Promise.all(opened.map((p) => p.close().catch(() => {})));

    const claimed = new Set();
    const mineOf = (r, u) => u === r.url || u === `${r.url}/target`;
    for (const [, r] of results) {
      const mine = consoleLines.filter((e) => mineOf(r, urlOf(e.text)));
      for (const e of mine) claimed.add(e);
      r.console = mine;
      const errors = mine.filter((e) => e.level === 'error' && CORS_LINE.test(e.text));
      r.cors_messages = errors.map((e) => e.text);
      r.cors_message = r.cors_messages[0] ?? null;
      r.warnings = mine.filter((e) => e.level !== 'error').map((e) => e.text);
      r.bidi_errors = bidiErrors.filter((t) => mineOf(r, urlOf(t)));
      r.network = network.filter((n) => mineOf(r, n.url));
      const preflightIds = new Set(r.network.filter((n) => n.event === 'sent' && n.method === 'OPTIONS' && n.destination === '').map((n) => n.id));
      r.preflight = r.network.some((n) => n.event === 'sent' && n.url === r.url && preflightIds.has(n.id));
      r.preflight_failed = r.network.some((n) => n.event === 'failed' && preflightIds.has(n.id));
      for (const n of r.network) delete n.id;
    }
    results.unclaimed = consoleLines.filter((e) => !claimed.has(e)).map((e) => `[${e.level} ${e.category}] ${e.text}`);
    return results;
  } finally {
    conn.off('network.beforeRequestSent', onSent);
    conn.off('network.responseCompleted', onDone);
    conn.off('network.fetchError', onError);
    await context.close().catch(() => {});
  }
}
