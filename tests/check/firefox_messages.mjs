// Ground truth for `corsd check --browser firefox`: runs every case of cases.mjs in headless Firefox
// (Debian's firefox-esr over WebDriver BiDi, see run_firefox.mjs) and writes what Firefox did and
// logged. A script, not a test:
//
//   node tests/check/firefox_messages.mjs [--only REGEX] [--out /tmp/firefox-messages] [--pages N]
//
// writes OUT.jsonl (one JSON object per case) and OUT.txt (a readable summary: every distinct CORS
// console line, with the URL and origins as placeholders, and the cases that logged it; then one
// block per case). Defaults: OUT=/tmp/firefox-messages.
//
// A jsonl object: { name, group, url, page_origin, request, server: { preflight, actual, target },
//   allowed, status, readable_headers, error, cors_message (the first error-level CORS line: the
//   one that says why), cors_message_template, console (every console line of the case, in order:
//   { level, category, text }; category is Firefox's own name of the message), warnings,
//   bidi_errors (the same case's lines as WebDriver BiDi log.entryAdded delivered them: errors only),
//   network (BiDi network events), preflight (BiDi: a preflight was sent to the case's URL),
//   received: [{ kind, method, path, headers }] }  (received: what the case server got).
// How the console lines are captured: see run_firefox.mjs.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { CASES, caseSummaryLines, startCaseServer, startPageServer, resolveValue } from './cases.mjs';
import { templateOf as chromiumTemplateOf } from './run_chromium.mjs';
import { launchFirefox, closeFirefox, runInFirefox } from './run_firefox.mjs';

const { values: opts } = parseArgs({
  options: { only: { type: 'string' }, out: { type: 'string', default: '/tmp/firefox-messages' }, pages: { type: 'string', default: '4' } },
});

/** msg with the case URL, the page origin (also upper-cased) and the case server origin as placeholders. */
const templateOf = (msg, ctx) => chromiumTemplateOf(msg, ctx)?.replaceAll(ctx.pageOrigin.toUpperCase(), '{ORIGIN}');

const t0 = Date.now();
const cases = opts.only ? CASES.filter((c) => new RegExp(opts.only).test(c.name)) : CASES;
const pageServer = await startPageServer();
const caseServer = await startCaseServer({ pageOrigin: pageServer.origin });
const tmp = mkdtempSync(path.join(tmpdir(), 'corsd-firefox-messages-'));
let browser;
let results;
let version;
try {
  browser = await launchFirefox({ profileDir: path.join(tmp, 'profile') });
  version = await browser.version();
  results = await runInFirefox(browser, {
    cases, caseOrigin: caseServer.origin, pageOrigin: pageServer.origin, pages: Number(opts.pages),
  });
} finally {
  await closeFirefox(browser);
  await caseServer.close();
  await pageServer.close();
  rmSync(tmp, { recursive: true, force: true });
}

const ctx = { pageOrigin: pageServer.origin, self: caseServer.origin };
const resolveAnswer = (a) => a && { ...a, headers: a.headers.map(([n, v]) => [n, resolveValue(v, ctx)]) };
const records = [];
for (const c of cases) {
  const r = results.get(c.name);
  const tctx = { url: r.url, pageOrigin: pageServer.origin, caseOrigin: caseServer.origin };
  records.push({
    name: c.name, group: c.group, url: r.url, page_origin: pageServer.origin, request: c.request,
    server: { preflight: resolveAnswer(c.preflight), actual: resolveAnswer(c.actual), target: resolveAnswer(c.target) },
    allowed: r.allowed, status: r.status,
    readable_headers: r.readable_headers && [...r.readable_headers].sort(),
    error: r.error, cors_message: r.cors_message, cors_message_template: templateOf(r.cors_message, tctx),
    console: r.console, warnings: r.warnings, bidi_errors: r.bidi_errors, network: r.network, preflight: r.preflight,
    received: caseServer.requests(c.name),
  });
}
writeFileSync(`${opts.out}.jsonl`, records.map((r) => JSON.stringify(r)).join('\n') + '\n');

// The readable summary.
const tctxOf = (r) => ({ url: r.url, pageOrigin: pageServer.origin, caseOrigin: caseServer.origin });
const byTemplate = new Map();
for (const r of records) {
  const all = r.console.map((m) => `[${m.level}] ${templateOf(m.text, tctxOf(r))}`);
  const key = r.allowed
    ? `(allowed)${all.length ? `, logged:\n  ${all.join('\n  then: ')}` : ''}`
    : all.length ? all.join('\n  then: ') : `(blocked, no CORS console line; error ${r.error})`;
  if (!byTemplate.has(key)) byTemplate.set(key, { cases: [], categories: new Set() });
  byTemplate.get(key).cases.push(r.name);
  byTemplate.get(key).categories.add(r.console.map((m) => m.category).join(' + ') || '-');
}
const out = [];
out.push(`Firefox (${version}) ground truth for corsd check --browser firefox: ${records.length} cases, ` +
  `${records.filter((r) => r.allowed).length} allowed, ${records.filter((r) => !r.allowed).length} blocked; ` +
  `page origin {origin} = ${pageServer.origin}, case server {server} = ${caseServer.origin}, {url} = {server}/case/<name>; ` +
  `${((Date.now() - t0) / 1000).toFixed(1)} s`);
out.push('Console lines recorded by an nsIConsoleListener in the chrome window (all levels, with ' +
  "Firefox's category, i.e. its own name of the message); a case may log several lines (all shown, in order, with their level).");
const bidiMismatch = records.filter((r) => JSON.stringify(r.bidi_errors) !== JSON.stringify(r.console.filter((m) => m.level === 'error').map((m) => m.text)));
out.push(`WebDriver BiDi log.entryAdded delivered the same error lines for ${records.length - bidiMismatch.length} of ${records.length} cases` +
  `${bidiMismatch.length ? ` (not: ${bidiMismatch.map((r) => r.name).join(' ')})` : ''}; it delivers no warnings.`);
out.push('');
out.push('== Distinct outcomes (CORS console lines as templates) ==');
for (const [k, v] of [...byTemplate].sort((a, b) => b[1].cases.length - a[1].cases.length)) {
  out.push('');
  out.push(`${k}`);
  out.push(`  category: ${[...v.categories].join(', ')}`);
  out.push(`  ${v.cases.length} cases: ${v.cases.join(' ')}`);
}
if (results.unclaimed.length) {
  out.push('');
  out.push('== Log entries tied to no case ==');
  for (const m of [...new Set(results.unclaimed)]) out.push(`  ${templateOf(m, { url: '\0', pageOrigin: pageServer.origin, caseOrigin: caseServer.origin })}`);
}
out.push('');
out.push('== Cases ==');
for (const r of records) {
  out.push('');
  out.push(`# ${r.name}: ${r.allowed ? `ALLOWED status ${r.status}` : 'BLOCKED'}`);
  out.push(...caseSummaryLines(r));
  out.push(`  preflight (BiDi): ${r.preflight}`);
  for (const m of r.console) out.push(`  console [${m.level} ${m.category}]: ${templateOf(m.text, tctxOf(r))}`);
}
writeFileSync(`${opts.out}.txt`, out.join('\n') + '\n');
console.log(`${records.length} cases in ${((Date.now() - t0) / 1000).toFixed(1)} s -> ${opts.out}.jsonl, ${opts.out}.txt`);
