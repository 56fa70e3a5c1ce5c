// Ground truth for `corsd check`: runs every case of cases.mjs in headless Chromium and writes what
// Chromium did and printed. A script, not a test:
//
//   node tests/check/chromium_messages.mjs [--only REGEX] [--out /tmp/chromium-messages]
//
// writes OUT.jsonl (one JSON object per case) and OUT.txt (a readable summary: every distinct CORS
// console message, with the URL and origins as placeholders, and the cases that printed it; then
// one block per case). Defaults: OUT=/tmp/chromium-messages.
//
// A jsonl object: { name, group, request, server: { preflight, actual, target }, allowed, status,
//   readable_headers, error, cors_message, cors_message_template, other_messages, cdp_cors_errors,
//   received: [{ kind, method, path, headers }] }  (received: what the case server got, so the
// preflight's Access-Control-Request-Method/-Headers, Accept, Sec-Fetch-Mode, ... as sent).

import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { launchChromium } from '../browser/support.mjs';
import { CASES, caseSummaryLines, startCaseServer, startPageServer, resolveValue } from './cases.mjs';
import { runInChromium, templateOf } from './run_chromium.mjs';

const { values: opts } = parseArgs({
  options: { only: { type: 'string' }, out: { type: 'string', default: '/tmp/chromium-messages' }, pages: { type: 'string', default: '4' } },
});

const t0 = Date.now();
const cases = opts.only ? CASES.filter((c) => new RegExp(opts.only).test(c.name)) : CASES;
const pageServer = await startPageServer();
const caseServer = await startCaseServer({ pageOrigin: pageServer.origin });
const browser = await launchChromium();
let results;
try {
  results = await runInChromium(browser, {
    cases, caseOrigin: caseServer.origin, pageOrigin: pageServer.origin, pages: Number(opts.pages),
  });
} finally {
  await browser.close().catch(() => {});
  await caseServer.close();
  await pageServer.close();
}

const ctx = { pageOrigin: pageServer.origin, self: caseServer.origin };
const resolveAnswer = (a) => a && { ...a, headers: a.headers.map(([n, v]) => [n, resolveValue(v, ctx)]) };
const lines = [];
const records = [];
for (const c of cases) {
  const r = results.get(c.name);
  const tctx = { url: r.url, pageOrigin: pageServer.origin, caseOrigin: caseServer.origin };
  const rec = {
    name: c.name, group: c.group, url: r.url, page_origin: pageServer.origin, request: c.request,
    server: { preflight: resolveAnswer(c.preflight), actual: resolveAnswer(c.actual), target: resolveAnswer(c.target) },
    allowed: r.allowed, status: r.status,
    readable_headers: r.readable_headers && [...r.readable_headers].sort(),
    error: r.error, cors_message: r.cors_message, cors_message_template: templateOf(r.cors_message, tctx),
    ...(r.extra_cors_messages ? { extra_cors_messages: r.extra_cors_messages } : {}),
    other_messages: r.other_messages, console_other_types: r.console_other_types, cdp_cors_errors: r.cdp_cors_errors,
    received: caseServer.requests(c.name),
  };
  records.push(rec);
  lines.push(JSON.stringify(rec));
}
writeFileSync(`${opts.out}.jsonl`, lines.join('\n') + '\n');

// The readable summary.
const byTemplate = new Map();
for (const r of records) {
  const key = r.allowed ? '(allowed)' : r.cors_message_template ?? `(blocked, no CORS console line; error ${r.error})`;
  if (!byTemplate.has(key)) byTemplate.set(key, { cases: [], cdp: new Set() });
  byTemplate.get(key).cases.push(r.name);
  for (const e of r.cdp_cors_errors) byTemplate.get(key).cdp.add(e.corsError + (e.failedParameter ? `(${e.failedParameter})` : ''));
}
const out = [];
out.push(`Chromium ground truth for corsd check: ${records.length} cases, ` +
  `${records.filter((r) => r.allowed).length} allowed, ${records.filter((r) => !r.allowed).length} blocked; ` +
  `page origin {origin} = ${pageServer.origin}, case server {server} = ${caseServer.origin}, {url} = {server}/case/<name>; ` +
  `${((Date.now() - t0) / 1000).toFixed(1)} s`);
out.push('');
out.push('== Distinct outcomes (CORS console line as a template) ==');
for (const [k, v] of [...byTemplate].sort((a, b) => b[1].cases.length - a[1].cases.length)) {
  out.push('');
  out.push(`${k}`);
  out.push(`  CDP corsError: ${[...v.cdp].join(', ') || '-'}`);
  out.push(`  ${v.cases.length} cases: ${v.cases.join(' ')}`);
}
out.push('');
out.push('== Cases ==');
for (const r of records) {
  out.push('');
  out.push(`# ${r.name}: ${r.allowed ? `ALLOWED status ${r.status}` : 'BLOCKED'}`);
  out.push(...caseSummaryLines(r));
  if (r.cors_message) out.push(`  CORS line: ${r.cors_message_template}`);
  for (const m of r.other_messages) out.push(`  other console error: ${templateOf(m, { url: r.url, pageOrigin: pageServer.origin, caseOrigin: caseServer.origin })}`);
  for (const m of r.console_other_types) out.push(`  other console message: ${templateOf(m, { url: r.url, pageOrigin: pageServer.origin, caseOrigin: caseServer.origin })}`);
  for (const e of r.cdp_cors_errors) out.push(`  CDP: ${e.method} ${e.url === r.url ? '{url}' : e.url} ${e.corsError} ${e.failedParameter}`);
}
writeFileSync(`${opts.out}.txt`, out.join('\n') + '\n');
console.log(`${records.length} cases in ${((Date.now() - t0) / 1000).toFixed(1)} s -> ${opts.out}.jsonl, ${opts.out}.txt`);
