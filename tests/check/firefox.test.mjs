// Differential test of `corsd check --browser firefox` against real Firefox.
//
// The same proof as chromium.test.mjs, in Firefox: every case of cases.mjs (a request and a
// scripted server answer) is run twice against the same case server (127.0.0.1:0), with the same
// page origin (a second 127.0.0.1:0 server):
//   1. in headless Firefox (Debian's firefox-esr, over WebDriver BiDi through puppeteer-core, see
//      run_firefox.mjs) as fetch() from the page, recording whether fetch resolved, the readable
//      response header names, the CORS lines Firefox logged on the console, and what the case
//      server received;
//   2. as `corsd check URL --origin O --method M [--header 'name: value']... [--credentials]
//      --browser firefox --json` ($CORSD_BIN, else build/corsd), 8 at a time.
// Per case it compares: the verdict (allowed / blocked, and the exit code 0 / 1), blocked_by (the
// code derived from Firefox's console line by BLOCKED_BY below, written from the observed lines),
// the message (exactly Firefox's first CORS console line of the fetch: the one that says why; the
// follow-ups Firefox logs after it are in the report, not compared), the readable header names of
// allowed responses (sorted, lower-case), whether a preflight was sent, and the requests the case
// server received (method, Origin, Access-Control-Request-Method/-Headers, in order).
// The cases corsd answers itself (corsd_check.mjs CORSD_CASES, three policies) are run too; each
// must come out as the case expects, in Firefox and in `corsd check`.
// Every disagreement goes into one assertion message, after a summary of the counts. Firefox's
// console warnings (it logs one when `Access-Control-Allow-Headers: *` lets Authorization through)
// are listed in the summary and the report, not compared: corsd check has no field for them.
//
//   CORSD_BIN=build/corsd node --test tests/check/firefox.test.mjs
//   CORSD_CHECK_REPORT=/tmp/check-report-firefox.json ...   also writes every case's two sides there
//   node tests/check/firefox_messages.mjs                     Firefox's side alone (the ground truth)

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { corsdBin, startCorsd, killCorsd } from '../support/corsd.mjs';
import { CASES, startCaseServer, startPageServer } from './cases.mjs';
import { templateOf as chromiumTemplateOf } from './run_chromium.mjs';
import { launchFirefox, closeFirefox, runInFirefox, parseFirefoxLine } from './run_firefox.mjs';
import {
  CONCURRENCY, POLICIES, CORSD_CASES, policyArgs, checkArgs, runChecks, receivedLines, sortedLower, show,
} from './corsd_check.mjs';

const BROWSER = 'firefox';

/** msg with the case URL, the page origin (also upper-cased) and the case server origin as placeholders. */
const templateOf = (msg, ctx) => chromiumTemplateOf(msg, ctx)?.replaceAll(ctx.pageOrigin.toUpperCase(), '{ORIGIN}');

// --- From Firefox's console line to a code ----------------------------------------------------------

/**
 * Firefox's CORS console lines, as observed with Firefox 153 ESR (all of them nsIScriptErrors of
 * level error; the category is Firefox's own name of the message):
 *   Cross-Origin Request Blocked: The Same Origin Policy disallows reading the remote resource at URL.
 *   (Reason: REASON).[ Status code: N.]
 * URL is quoted (‘URL’) in the CORSNotSupportingCredentials line only; " Status code: N." follows
 * the CORSMissingAllowOrigin2, CORSPreflightDidNotSucceed3 and CORSDidNotSucceed2 lines. Unlike
 * Chromium's, the lines do not say whether the preflight or the request itself failed: for the
 * codes marked `prefixed`, the code gets `preflight_` when the failing request was a preflight
 * (the last request the case server received was one; for corsd's own cases, where there is no
 * server log, when WebDriver BiDi saw a preflight of the fetch fail).
 * [reason regex, code, prefixed, Firefox's category]
 */
const BLOCKED_BY = [
  [/^CORS header ‘Access-Control-Allow-Origin’ missing$/, 'missing_allow_origin_header', true, 'CORSMissingAllowOrigin2'],
  [/^Multiple CORS header ‘Access-Control-Allow-Origin’ not allowed$/, 'multiple_allow_origin_values', true, 'CORSMultipleAllowOriginNotAllowed'],
  [/^CORS header ‘Access-Control-Allow-Origin’ does not match ‘.*’$/s, 'allow_origin_mismatch', true, 'CORSAllowOriginNotMatchingOrigin'],
  [/^Credential is not supported if the CORS header ‘Access-Control-Allow-Origin’ is ‘\*’$/, 'wildcard_origin_not_allowed', true, 'CORSNotSupportingCredentials'],
  [/^expected ‘true’ in CORS header ‘Access-Control-Allow-Credentials’$/, 'invalid_allow_credentials', true, 'CORSMissingAllowCredentials'],
  [/^CORS request external redirect not allowed$/, 'disallowed_redirect', true, 'CORSExternalRedirectNotAllowed'],
  [/^CORS preflight response did not succeed$/, 'preflight_invalid_status', false, 'CORSPreflightDidNotSucceed3'],
  [/^invalid token ‘.*’ in CORS header ‘Access-Control-Allow-Methods’$/s, 'invalid_allow_methods_preflight_response', false, 'CORSInvalidAllowMethod'],
  [/^Did not find method in CORS header ‘Access-Control-Allow-Methods’$/, 'method_disallowed_by_preflight_response', false, 'CORSMethodNotFound'],
  [/^invalid token ‘.*’ in CORS header ‘Access-Control-Allow-Headers’$/s, 'invalid_allow_headers_preflight_response', false, 'CORSInvalidAllowHeader'],
  [/^header ‘.*’ is not allowed according to header ‘Access-Control-Allow-Headers’ from CORS preflight response$/s, 'header_disallowed_by_preflight_response', false, 'CORSMissingAllowHeaderFromPreflight2'],
];

/** The code of Firefox's CORS line (preflight: whether the failing request was a preflight), or `unknown: LINE`. */
export function blockedByOf(message, preflight) {
  const reason = parseFirefoxLine(message)?.reason;
  const hit = reason !== undefined && BLOCKED_BY.find(([re]) => re.test(reason));
  if (!hit) return `unknown: ${message}`;
  return hit[2] && preflight ? `preflight_${hit[1]}` : hit[1];
}

/** The code of a Firefox console category (the same prefix rule), or `unknown category: C`. */
function blockedByOfCategory(category, preflight) {
  const hit = BLOCKED_BY.find((e) => e[3] === category);
  if (!hit) return `unknown category: ${category}`;
  return hit[2] && preflight ? `preflight_${hit[1]}` : hit[1];
}

/** Whether the last request the case server received for a case was a preflight (of it or its /target). */
const lastWasPreflight = (received) => received.length > 0 && received.at(-1).kind.includes('preflight');

// --- Comparing ---------------------------------------------------------------------------------------

/**
 * Compares one case's two sides. firefox: { allowed, status, readable_headers, cors_message,
 * failed_in_preflight, preflight, received }; check: runCheck()'s result with received. Returns a
 * list of differences (strings; empty when they agree).
 */
function compare(firefox, check) {
  const diffs = [];
  const fVerdict = firefox.allowed ? 'allowed' : 'blocked';
  const fBlockedBy = firefox.allowed ? null : firefox.cors_message ? blockedByOf(firefox.cors_message, firefox.failed_in_preflight) : null;
  const fMessage = firefox.allowed ? null : firefox.cors_message;
  if (!check.json) {
    diffs.push(`corsd check gave no result: exit ${check.code}${check.signal ? ` signal ${check.signal}` : ''}, ${check.error}; ` +
      `stderr: ${show(check.stderr.trim().split('\n').slice(0, 2).join(' / '))}; stdout: ${show(check.stdout.slice(0, 200))}` +
      ` | Firefox: ${fVerdict}${fBlockedBy ? ` ${fBlockedBy}` : ''}`);
    return diffs;
  }
  const j = check.json;
  if (j.verdict !== fVerdict) diffs.push(`verdict: Firefox ${fVerdict}, corsd ${show(j.verdict)}`);
  const wantCode = { allowed: 0, blocked: 1 }[j.verdict];
  if (check.code !== wantCode) diffs.push(`exit code ${check.code} with verdict ${show(j.verdict)} (want ${wantCode ?? '0 or 1'})`);
  if ((j.blocked_by ?? null) !== fBlockedBy) diffs.push(`blocked_by: Firefox ${show(fBlockedBy)}, corsd ${show(j.blocked_by)}`);
  if ((j.message ?? null) !== fMessage) diffs.push(`message:\n      Firefox ${show(fMessage)}\n      corsd   ${show(j.message)}`);
  if (j.preflight !== firefox.preflight) diffs.push(`preflight: Firefox ${firefox.preflight}, corsd ${show(j.preflight)}`);
  if (firefox.allowed) {
    const a = sortedLower(firefox.readable_headers);
    const b = Array.isArray(j.readable_headers) ? sortedLower(j.readable_headers) : j.readable_headers;
    if (show(a) !== show(b)) diffs.push(`readable_headers: Firefox ${show(a)}, corsd ${show(b)}`);
  }
  const ra = receivedLines(firefox.received);
  const rb = receivedLines(check.received);
  if (show(ra) !== show(rb)) diffs.push(`server received:\n      Firefox ${show(ra)}\n      corsd   ${show(rb)}`);
  return diffs;
}

// --- The test ---------------------------------------------------------------------------------------

let tmp;
let pageServer;
let caseServer;
let browser;
const corsds = {};
/** Firefox's side: name -> runInFirefox's result; the case server's log of Firefox's requests. */
let firefox;
let fromFirefox;
let firefoxMs;
let firefoxVersion;

before(async () => {
  corsdBin(); // fail early, with the hint, when the binary is missing
  tmp = mkdtempSync(path.join(tmpdir(), 'corsd-firefox-test-'));
  pageServer = await startPageServer();
  caseServer = await startCaseServer({ pageOrigin: pageServer.origin });
  await Promise.all(Object.keys(POLICIES).map(async (name) => {
    corsds[name] = await startCorsd(policyArgs(name, pageServer.origin));
  }));
  browser = await launchFirefox({ profileDir: path.join(tmp, 'profile') });
  firefoxVersion = await browser.version();

  // Firefox: the scripted cases, then the ones corsd answers (one run per corsd).
  const t0 = Date.now();
  firefox = await runInFirefox(browser, { cases: CASES, caseOrigin: caseServer.origin, pageOrigin: pageServer.origin, pages: 4 });
  for (const [policy, corsd] of Object.entries(corsds)) {
    const res = await runInFirefox(browser, {
      cases: CORSD_CASES.filter((c) => c.policy === policy), caseOrigin: new URL(corsd.apiUrl).origin,
      pageOrigin: pageServer.origin, pages: 2,
    });
    for (const [name, v] of res) firefox.set(name, v);
  }
  firefoxMs = Date.now() - t0;
  fromFirefox = new Map(CASES.map((c) => [c.name, [...caseServer.requests(c.name)]]));
  await closeFirefox(browser);
  browser = undefined;
});

after(async () => {
  await closeFirefox(browser);
  await Promise.all(Object.values(corsds).map((c) => killCorsd(c)));
  await caseServer?.close();
  await pageServer?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

test('corsd check --browser firefox agrees with Firefox on every case', { timeout: 120_000 }, async (t) => {
  const t0 = Date.now();
  const origin = pageServer.origin;
  const seen = new Map(CASES.map((c) => [c.name, fromFirefox.get(c.name).length]));

  // 2. corsd check, 8 at a time, after Firefox so that the server's log tells the two apart.
  const all = [...CASES.map((c) => ({ c, url: `${caseServer.origin}/case/${c.name}` })),
    ...CORSD_CASES.map((c) => ({ c, url: `${new URL(corsds[c.policy].apiUrl).origin}/case/${c.name}` }))];
  const checks = await runChecks(all, origin, { browser: BROWSER });
  const checkMs = Date.now() - t0;

  // 3. Compare.
  const disagreements = [];
  const warned = [];
  const report = [];
  let agreements = 0;
  for (const [i, { c, url }] of all.entries()) {
    const ff = firefox.get(c.name);
    const own = c.policy !== undefined;
    const received = own ? [] : fromFirefox.get(c.name);
    const ffSide = {
      ...ff,
      preflight: own ? ff.preflight : received.some((q) => q.kind === 'preflight'),
      failed_in_preflight: own ? ff.preflight_failed : lastWasPreflight(received),
      received,
    };
    const chk = { ...checks[i], received: own ? [] : caseServer.requests(c.name).slice(seen.get(c.name)) };
    const diffs = compare(ffSide, chk);
    if (own) {
      // corsd's own cases: no server log to compare (Firefox's preflight is what BiDi saw); and
      // Firefox must reach the expected verdict (else the case itself is wrong).
      const got = ff.allowed ? 'allowed' : 'blocked';
      if (got !== c.expect) diffs.push(`expected ${c.expect} for corsd's answers, but Firefox says ${got}`);
    }
    const tctx = { url, pageOrigin: origin, caseOrigin: new URL(url).origin };
    if (ff.warnings.length) {
      const notes = chk.json?.notes ?? [];
      warned.push(`${c.name}: ${ff.warnings.map((w) => templateOf(w, tctx)).join(' | ')}` +
        ` (corsd notes ${ff.warnings.every((w) => notes.includes(w)) ? 'have it' : `lack it: ${show(notes)}`})`);
    }
    report.push({ name: c.name, url, args: checkArgs(c, url, origin, { browser: BROWSER }), firefox: ffSide, check: chk, diffs });
    if (diffs.length) {
      disagreements.push(`${c.name}: ${c.request.method} ${c.request.credentials} ` +
        `${c.request.headers.map(([n, v]) => `${n}: ${v}`).join(' | ') || '(no headers)'}; Firefox ` +
        `${ff.allowed ? `allowed ${ff.status}` : `blocked: ${templateOf(ff.cors_message, tctx) ?? '(no CORS line)'}`}\n` +
        diffs.map((d) => `    ${d}`).join('\n'));
    } else {
      agreements++;
    }
  }
  if (process.env.CORSD_CHECK_REPORT) writeFileSync(process.env.CORSD_CHECK_REPORT, JSON.stringify(report, null, 1));

  const summary = `corsd check --browser firefox vs Firefox (${firefoxVersion}): ${all.length} cases ` +
    `(${CORSD_CASES.length} answered by corsd itself): ${agreements} agree, ${disagreements.length} disagree; ` +
    `Firefox ${(firefoxMs / 1000).toFixed(1)} s, corsd check ${(checkMs / 1000).toFixed(1)} s (${CONCURRENCY} at a time); ` +
    `Firefox warned on ${warned.length} cases (not compared)`;
  t.diagnostic(summary);
  for (const w of warned) t.diagnostic(`Firefox warning: ${w}`);
  console.log(summary);
  assert.equal(disagreements.length, 0, `${summary}\n\n${disagreements.join('\n')}\n\n${summary}`);
});

test("the code table (BLOCKED_BY) reads Firefox's lines as Firefox's own categories", () => {
  // Independent of corsd: checks the table the first test derives blocked_by with against the
  // category of the same console line (Firefox's own name of the message) on every blocked case;
  // that WebDriver BiDi delivered the same error lines as the chrome-window recorder; and that
  // BiDi's view of the preflight (sent, failed) matches what the case server received, so that
  // it may stand in for the server log on corsd's own cases.
  const bad = [];
  for (const [name, x] of firefox) {
    const scripted = fromFirefox.has(name);
    const errors = x.console.filter((m) => m.level === 'error').map((m) => m.text);
    if (show(errors) !== show(x.bidi_errors)) bad.push(`${name}: BiDi log ${show(x.bidi_errors)}, recorder ${show(errors)}`);
    const received = scripted ? fromFirefox.get(name) : [];
    if (scripted && x.preflight !== received.some((q) => q.kind === 'preflight')) {
      bad.push(`${name}: BiDi preflight ${x.preflight}, server log ${show(receivedLines(received))}`);
    }
    if (x.allowed) continue;
    const inPreflight = scripted ? lastWasPreflight(received) : x.preflight_failed;
    if (scripted && !x.allowed && x.preflight_failed !== inPreflight) {
      bad.push(`${name}: BiDi preflight failed ${x.preflight_failed}, server log ${show(receivedLines(received))}`);
    }
    const first = x.console.find((m) => m.level === 'error');
    if (!first) {
      bad.push(`${name}: blocked without a CORS console line (${x.error})`);
      continue;
    }
    const mine = blockedByOf(first.text, inPreflight);
    const theirs = blockedByOfCategory(first.category, inPreflight);
    if (mine !== theirs) bad.push(`${name}: table ${mine}, category ${first.category} (${theirs}): ${show(first.text)}`);
  }
  assert.deepEqual(bad, [], bad.join('\n'));
});
