// Differential test of `corsd check` against real Chromium.
//
// Every case of cases.mjs (a request and a scripted server answer, ~390 of them) is run twice
// against the same case server (127.0.0.1:0), with the same page origin (a second 127.0.0.1:0
// server):
//   1. in headless Chromium (Debian's /usr/bin/chromium through playwright-core) as fetch() from
//      the page, recording whether fetch resolved, the readable response header names, the CORS
//      line Chromium printed on the console, and what the case server received;
//   2. as `corsd check URL --origin O --method M [--header 'name: value']... [--credentials] --json`
//      ($CORSD_BIN, else build/corsd), 8 at a time.
// Per case it compares: the verdict (allowed / blocked, and the exit code 0 / 1), blocked_by (the
// code derived from Chromium's console line by BLOCKED_BY below, written from the observed
// messages), the message (exactly Chromium's CORS console line), the readable header names of
// allowed responses (sorted, lower-case), whether a preflight was sent, and the requests the case
// server received (method, Origin, Access-Control-Request-Method/-Headers, in order).
// A few more cases are answered by corsd itself, started with three policies (POLICIES): each
// must come out as the case expects, in Chromium and in `corsd check`.
// Every disagreement goes into one assertion message, after a summary of the counts.
//
//   CORSD_BIN=build/corsd node --test tests/check/chromium.test.mjs
//   CORSD_CHECK_REPORT=/tmp/check-report.json ...   also writes every case's two sides there
//   node tests/check/chromium_messages.mjs            Chromium's side alone (the ground truth)

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { launchChromium, startCorsd, killCorsd } from '../browser/support.mjs';
import { corsdBin } from '../support/corsd.mjs';
import { CASES, startCaseServer, startPageServer } from './cases.mjs';
import { runInChromium, templateOf } from './run_chromium.mjs';
import {
  CONCURRENCY, POLICIES, CORSD_CASES, policyArgs, checkArgs, runChecks, receivedLines, sortedLower, show,
} from './corsd_check.mjs';

// --- From Chromium's console line to a code ---------------------------------------------------------

/**
 * Chromium's CORS console line, as observed with Chromium 156:
 *   Access to fetch at 'URL'[ (redirected from 'URL0')] from origin 'ORIGIN' has been blocked by CORS
 *   policy: [Response to preflight request doesn't pass access control check: ]DETAIL[ HINT]
 * DETAIL names the failure; with the preflight prefix, the code gets `preflight_`.
 */
const LINE = /^Access to fetch at '[^']*'(?: \(redirected from '[^']*'\))? from origin '[^']*' has been blocked by CORS policy: (Response to preflight request doesn't pass access control check: )?(.*)$/s;
const BLOCKED_BY = [
  [/^No 'Access-Control-Allow-Origin' header is present on the requested resource\./, 'missing_allow_origin_header'],
  [/^The 'Access-Control-Allow-Origin' header contains multiple values '.*', but only one is allowed\./s, 'multiple_allow_origin_values'],
  [/^The 'Access-Control-Allow-Origin' header contains the invalid value '.*'\./s, 'invalid_allow_origin_value'],
  [/^The 'Access-Control-Allow-Origin' header has a value '.*' that is not equal to the supplied origin\./s, 'allow_origin_mismatch'],
  [/^The value of the 'Access-Control-Allow-Origin' header in the response must not be the wildcard '\*' when the request's credentials mode is 'include'\./, 'wildcard_origin_not_allowed'],
  [/^The value of the 'Access-Control-Allow-Credentials' header in the response is '.*' which must be 'true' when the request's credentials mode is 'include'\./s, 'invalid_allow_credentials'],
  [/^It does not have HTTP ok status\./, 'invalid_status'],
  [/^Redirect is not allowed for a preflight request\./, 'disallowed_redirect'],
  [/^Method \S+ is not allowed by Access-Control-Allow-Methods in preflight response\./, 'method_disallowed_by_preflight_response'],
  [/^Request header field \S+ is not allowed by Access-Control-Allow-Headers in preflight response\./, 'header_disallowed_by_preflight_response'],
  [/^Cannot parse Access-Control-Allow-Methods response header field in preflight response\./, 'invalid_allow_methods_preflight_response'],
  [/^Cannot parse Access-Control-Allow-Headers response header field in preflight response\./, 'invalid_allow_headers_preflight_response'],
];

/** The code of Chromium's CORS console line, or `unknown: LINE` when the table has none. */
export function blockedByOf(message) {
  const m = message.match(LINE);
  if (!m) return `unknown: ${message}`;
  const hit = BLOCKED_BY.find(([re]) => re.test(m[2]));
  if (!hit) return `unknown: ${message}`;
  return m[1] ? `preflight_${hit[1]}` : hit[1];
}

/** Chromium's CorsError enum name (CDP corsErrorStatus.corsError) in snake_case. */
const snake = (s) => s.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();

// --- Comparing ---------------------------------------------------------------------------------------
//
// corsd's own policies and cases (POLICIES, CORSD_CASES), running `corsd check` (runChecks) and the
// comparison helpers are shared with firefox.test.mjs: see corsd_check.mjs.

/**
 * Compares one case's two sides. chromium: { allowed, status, readable_headers, cors_message,
 * preflight, received }; check: runCheck()'s result with received. Returns a list of differences
 * (strings; empty when they agree).
 */
function compare(chromium, check) {
  const diffs = [];
  const cVerdict = chromium.allowed ? 'allowed' : 'blocked';
  const cBlockedBy = chromium.allowed ? null : chromium.cors_message ? blockedByOf(chromium.cors_message) : null;
  const cMessage = chromium.allowed ? null : chromium.cors_message;
  if (!check.json) {
    diffs.push(`corsd check gave no result: exit ${check.code}${check.signal ? ` signal ${check.signal}` : ''}, ${check.error}; ` +
      `stderr: ${show(check.stderr.trim().split('\n').slice(0, 2).join(' / '))}; stdout: ${show(check.stdout.slice(0, 200))}` +
      ` | Chromium: ${cVerdict}${cBlockedBy ? ` ${cBlockedBy}` : ''}`);
    return diffs;
  }
  const j = check.json;
  if (j.verdict !== cVerdict) diffs.push(`verdict: Chromium ${cVerdict}, corsd ${show(j.verdict)}`);
  const wantCode = { allowed: 0, blocked: 1 }[j.verdict];
  if (check.code !== wantCode) diffs.push(`exit code ${check.code} with verdict ${show(j.verdict)} (want ${wantCode ?? '0 or 1'})`);
  if ((j.blocked_by ?? null) !== cBlockedBy) diffs.push(`blocked_by: Chromium ${show(cBlockedBy)}, corsd ${show(j.blocked_by)}`);
  // Of several refused request headers Chromium names one in the order of Blink's header hash map, which no
  // rule predicts: corsd names the first in sorted order and lists them all in refused_headers. The message
  // must then be corsd's with Chromium's choice, and that choice one corsd refused.
  const named = cMessage?.match(/Request header field (\S+) is not allowed/)?.[1];
  const refused = Array.isArray(j.refused_headers) ? j.refused_headers : [];
  const expected = named && refused.length > 1 && refused.includes(named)
    ? j.message?.replace(/Request header field \S+ is not allowed/, `Request header field ${named} is not allowed`)
    : j.message;
  if ((expected ?? null) !== cMessage) diffs.push(`message:\n      Chromium ${show(cMessage)}\n      corsd    ${show(j.message)}`);
  if (j.preflight !== chromium.preflight) diffs.push(`preflight: Chromium ${chromium.preflight}, corsd ${show(j.preflight)}`);
  if (chromium.allowed) {
    const a = sortedLower(chromium.readable_headers);
    const b = Array.isArray(j.readable_headers) ? sortedLower(j.readable_headers) : j.readable_headers;
    if (show(a) !== show(b)) diffs.push(`readable_headers: Chromium ${show(a)}, corsd ${show(b)}`);
  }
  const ra = receivedLines(chromium.received);
  const rb = receivedLines(check.received);
  if (show(ra) !== show(rb)) diffs.push(`server received:\n      Chromium ${show(ra)}\n      corsd    ${show(rb)}`);
  return diffs;
}

// --- The test ---------------------------------------------------------------------------------------

let pageServer;
let caseServer;
let browser;
const corsds = {};
/** Chromium's side: name -> runInChromium's result; the case server's log of Chromium's requests. */
let chromium;
let fromChromium;
let chromiumMs;

before(async () => {
  corsdBin(); // fail early, with the hint, when the binary is missing
  pageServer = await startPageServer();
  caseServer = await startCaseServer({ pageOrigin: pageServer.origin });
  await Promise.all(Object.keys(POLICIES).map(async (name) => {
    corsds[name] = await startCorsd(policyArgs(name, pageServer.origin));
  }));
  browser = await launchChromium();

  // Chromium: the scripted cases, then the ones corsd answers (one run per corsd).
  const t0 = Date.now();
  chromium = await runInChromium(browser, { cases: CASES, caseOrigin: caseServer.origin, pageOrigin: pageServer.origin });
  for (const [policy, corsd] of Object.entries(corsds)) {
    const res = await runInChromium(browser, {
      cases: CORSD_CASES.filter((c) => c.policy === policy), caseOrigin: new URL(corsd.apiUrl).origin,
      pageOrigin: pageServer.origin, pages: 2,
    });
    for (const [name, v] of res) chromium.set(name, v);
  }
  chromiumMs = Date.now() - t0;
  fromChromium = new Map(CASES.map((c) => [c.name, [...caseServer.requests(c.name)]]));
  await browser.close();
  browser = undefined;
});

after(async () => {
  if (browser) await browser.close().catch(() => {});
  await Promise.all(Object.values(corsds).map((c) => killCorsd(c)));
  await caseServer?.close();
  await pageServer?.close();
});

test('corsd check agrees with Chromium on every case', { timeout: 120_000 }, async (t) => {
  const t0 = Date.now();
  const origin = pageServer.origin;
  const seen = new Map(CASES.map((c) => [c.name, fromChromium.get(c.name).length]));

  // 2. corsd check, 8 at a time, after Chromium so that the server's log tells the two apart.
  const all = [...CASES.map((c) => ({ c, url: `${caseServer.origin}/case/${c.name}` })),
    ...CORSD_CASES.map((c) => ({ c, url: `${new URL(corsds[c.policy].apiUrl).origin}/case/${c.name}` }))];
  const checks = await runChecks(all, origin);
  const checkMs = Date.now() - t0;

  // 3. Compare.
  const disagreements = [];
  const report = [];
  let agreements = 0;
  for (const [i, { c, url }] of all.entries()) {
    const ch = chromium.get(c.name);
    const own = c.policy !== undefined;
    const chSide = {
      ...ch,
      preflight: own ? ch.preflight : fromChromium.get(c.name).some((q) => q.kind === 'preflight'),
      received: own ? [] : fromChromium.get(c.name),
    };
    const chk = { ...checks[i], received: own ? [] : caseServer.requests(c.name).slice(seen.get(c.name)) };
    const diffs = compare(chSide, chk);
    if (own) {
      // corsd's own cases: no server log to compare (Chromium's preflight is what CDP saw); and
      // Chromium must reach the expected verdict (else the case itself is wrong).
      const got = ch.allowed ? 'allowed' : 'blocked';
      if (got !== c.expect) diffs.push(`expected ${c.expect} for corsd's answers, but Chromium says ${got}`);
    }
    report.push({ name: c.name, url, args: checkArgs(c, url, origin), chromium: chSide, check: chk, diffs });
    if (diffs.length) {
      const tctx = { url, pageOrigin: origin, caseOrigin: new URL(url).origin };
      disagreements.push(`${c.name}: ${c.request.method} ${c.request.credentials} ` +
        `${c.request.headers.map(([n, v]) => `${n}: ${v}`).join(' | ') || '(no headers)'}; Chromium ` +
        `${ch.allowed ? `allowed ${ch.status}` : `blocked: ${templateOf(ch.cors_message, tctx) ?? '(no CORS line)'}`}\n` +
        diffs.map((d) => `    ${d}`).join('\n'));
    } else {
      agreements++;
    }
  }
  if (process.env.CORSD_CHECK_REPORT) writeFileSync(process.env.CORSD_CHECK_REPORT, JSON.stringify(report, null, 1));

  const summary = `corsd check vs Chromium: ${all.length} cases (${CORSD_CASES.length} answered by corsd itself): ` +
    `${agreements} agree, ${disagreements.length} disagree; Chromium ${(chromiumMs / 1000).toFixed(1)} s, ` +
    `corsd check ${(checkMs / 1000).toFixed(1)} s (${CONCURRENCY} at a time)`;
  t.diagnostic(summary);
  console.log(summary);
  assert.equal(disagreements.length, 0, `${summary}\n\n${disagreements.join('\n')}\n\n${summary}`);
});

test("the code table (BLOCKED_BY) reads Chromium's lines as Chromium's own CorsError", () => {
  // Independent of corsd: checks the table the first test derives blocked_by with against the
  // CorsError Chromium reported through CDP for the same fetch, on every blocked case; and that
  // Chromium's CDP view of the preflight matches what the case server received.
  const bad = [];
  for (const [name, x] of chromium) {
    const scripted = fromChromium.has(name);
    if (scripted && x.preflight !== fromChromium.get(name).some((q) => q.kind === 'preflight')) {
      bad.push(`${name}: CDP preflight ${x.preflight}, server log ${show(receivedLines(fromChromium.get(name)))}`);
    }
    if (x.allowed) continue;
    const cdp = x.cdp_cors_errors.map((e) => snake(e.corsError));
    const mine = x.cors_message ? blockedByOf(x.cors_message) : '(no CORS console line)';
    if (!cdp.includes(mine)) bad.push(`${name}: table ${mine}, CDP ${show(cdp)}: ${show(x.cors_message)}`);
  }
  assert.deepEqual(bad, [], bad.join('\n'));
});
