// `corsd audit` against servers whose CORS is broken on purpose, one way per path, and against corsd.
//
// One Node.js server (127.0.0.1:0) answers each path of ROUTES with one misconfiguration: origins
// echoed, null trusted, origins checked by their start, end, an unescaped regular expression, a
// substring, any subdomain, the http twin, special characters after the host, a third-party host;
// `*` with credentials, several or invalid Access-Control-Allow-Origin values, no Vary: Origin,
// reflected allow lists, `*` allow lists with credentials, a redirected preflight, a 404 preflight;
// and a few correct answers that must give no finding (`*` without credentials, a static origin,
// Vary: * or Vary on two lines). Most come with and without credentials, which decide the severity.
// For every path `corsd audit URL --origin https://app.example.com --json` ($CORSD_BIN, else
// build/corsd) must report exactly the expected classes, each with its severity, the probe origin
// and request (GET or preflight) that showed it, and that probe's Access-Control-Allow-Origin in the
// evidence; most severe first; the same findings whatever --fail-on is, and the exit status each
// --fail-on (info ... critical, and the default, medium) calls for.
// Then corsd itself: with an exact policy (one origin, credentials, listed methods and headers) no
// finding and exit 0 even at --fail-on info; with the demo's policy (any origin echoed, no
// credentials) only origin_reflection, low: exit 0 at the default, 1 at --fail-on low.
// Last, a port nobody listens on: exit 2, nothing on stdout, "could not audit" on stderr.
// Loopback only, nothing written to disk.
//
//   CORSD_BIN=build/corsd node --test tests/check/audit.test.mjs

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';

import { corsdBin, killCorsd, startCorsd } from '../support/corsd.mjs';
import { freePort } from '../support/net.mjs';

const T = { timeout: 30_000 };
const AUDIT_TIMEOUT_MS = 15_000;  // one `corsd audit` run: some 40 requests on loopback take milliseconds
/** A GET and a preflight per probe origin: with --origin, those derived from the page's and the target's hosts. */
const WITH_ORIGIN = 52;
const WITHOUT_ORIGIN = 30;
const PAGE = 'https://app.example.com';
const SEVERITIES = ['info', 'low', 'medium', 'high', 'critical'];
const FAIL_ON = [undefined, ...SEVERITIES];  // undefined: the default, medium

// --- The probes whose acceptance shows each class (derived as src/cors/audit.cpp does) ---------------

const ATTACKER = 'https://corsd-audit.example';
const P = {
  prefix: 'https://app.example.com.corsd-audit.example',
  suffix: 'https://corsdauditexample.com',
  sibling: 'https://corsdauditapp.example.com',
  dot: 'https://appxexample.com',
  substring: 'https://app.example.co',
  subdomain: 'https://corsd-audit.app.example.com',
  http: 'http://app.example.com',
  underscore: 'https://app.example.com_.corsd-audit.example',
  github: 'https://corsd-audit.github.io',
};

// --- The broken server --------------------------------------------------------------------------------

/**
 * A handler that accepts the origins `accept(origin, port)` says yes to: their Access-Control-Allow-Origin
 * is the origin itself, with `Access-Control-Allow-Credentials: true` when `credentials`; `Vary` (a string,
 * a list of lines, or null for none) on every answer. Preflights get 204 and, when accepted, fixed allow
 * lists, unless `methods` / `headers` say 'reflect' (the request's own) or give a value. `preflight(req,
 * res)`, when given, answers the OPTIONS instead (the CORS headers are set already).
 */
function policy(accept, { credentials = false, vary = 'Origin', methods = 'PUT, DELETE', headers = 'content-type', preflight } = {}) {
  return (req, res, port) => {
    const origin = req.headers.origin;
    const ok = origin !== undefined && accept(origin, port);
    if (vary !== null) res.setHeader('Vary', vary);
    if (ok) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      if (credentials) res.setHeader('Access-Control-Allow-Credentials', 'true');
    }
    if (req.method !== 'OPTIONS') {
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok\n');
      return;
    }
    if (preflight) {
      preflight(req, res);
      return;
    }
    if (ok) {
      const acrm = req.headers['access-control-request-method'] ?? '';
      const acrh = req.headers['access-control-request-headers'] ?? '';
      res.setHeader('Access-Control-Allow-Methods', methods === 'reflect' ? acrm : methods);
      res.setHeader('Access-Control-Allow-Headers', headers === 'reflect' ? acrh : headers);
    }
    res.writeHead(204).end();
  };
}

/** A handler that sends the same CORS lines (name → value or list of lines) on every answer, 204 to OPTIONS. */
function fixed(lines) {
  return (req, res) => {
    for (const [name, value] of Object.entries(lines)) res.setHeader(name, value);
    if (req.method === 'OPTIONS') res.writeHead(204).end();
    else res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok\n');
  };
}

/** Like fixed(), but the lines only for the page's origin (Vary on every answer, when among them). */
function only(lines) {
  const vary = lines.Vary;
  return (req, res) => fixed(req.headers.origin === PAGE ? lines : vary ? { Vary: vary } : {})(req, res);
}

const onlyPage = (o) => o === PAGE;
const cred = { credentials: true };

/** The origin checks, each broken one way (and each also served at PATH-credentials, with credentials). */
const CHECKS = {
  // Every origin but null echoed (as corsd's demo policy does).
  '/reflect': (o) => o !== 'null',
  '/null': (o) => o === PAGE || o === 'null',
  '/prefix': (o) => o.startsWith(PAGE),
  // The end of the registrable domain checked: corsdauditexample.com passes.
  '/suffix': (o) => o.startsWith('https://') && o.endsWith('example.com'),
  // The end of the host checked: any sibling such as evilapp.example.com passes, a subdomain of the site.
  '/host-suffix': (o) => o.startsWith('https://') && o.endsWith('app.example.com'),
  // The dots of the intended regular expression left unescaped.
  '/unescaped-dot': (o) => new RegExp('^https://app.example.com$').test(o),
  '/substring': (o) => PAGE.includes(o),
  '/subdomain': (o) => /^https:\/\/([a-z0-9-]+\.)*app\.example\.com$/.test(o),
  '/http-twin': (o) => o === PAGE || o === 'http://app.example.com',
  // "Not followed by another host character", to stop app.example.com.evil: `_` and the backtick forgotten.
  '/special': (o) => /^https:\/\/app\.example\.com(?![.a-z0-9-])/.test(o),
  '/third-party': (o) => o === PAGE || /^https:\/\/[a-z0-9-]+\.github\.io$/.test(o),
};

/** path → handler. */
const HANDLERS = {
  ...Object.fromEntries(Object.entries(CHECKS).flatMap(([path, accept]) => [
    [path, policy(accept)],
    [`${path}-credentials`, policy(accept, cred)],
  ])),
  // Echoes whatever Origin says, null too.
  '/reflect-verbatim-credentials': policy(() => true, cred),
  // The target's own origin, as an unescaped regular expression.
  '/target-unescaped-dot-credentials': policy((o, port) => o === PAGE || new RegExp(`^http://127.0.0.1:${port}$`).test(o), cred),
  '/star-credentials': fixed({ 'Access-Control-Allow-Origin': '*', 'Access-Control-Allow-Credentials': 'true' }),
  '/public': fixed({ 'Access-Control-Allow-Origin': '*', 'Access-Control-Allow-Methods': '*', 'Access-Control-Allow-Headers': '*' }),
  '/two-values': fixed({ 'Access-Control-Allow-Origin': 'https://app.example.com, https://other.example' }),
  // The application and a proxy in front of it each add the line: browsers see "O, O".
  '/duplicate': only({ 'Access-Control-Allow-Origin': [PAGE, PAGE], Vary: 'Origin' }),
  // An origin without its scheme.
  '/not-an-origin': only({ 'Access-Control-Allow-Origin': 'app.example.com', Vary: 'Origin' }),
  '/no-vary': policy(onlyPage, { vary: null }),
  // The same origin for every request: the answer does not depend on Origin, so no Vary is needed (Fetch,
  // "CORS protocol and HTTP caches": Vary is for requirements beyond `*` or a static origin).
  '/static-origin': fixed({ 'Access-Control-Allow-Origin': PAGE }),
  // A stored answer with Vary: * never matches a later request (RFC 9111 4.1); Vary on two lines is one list.
  '/vary-star': policy(onlyPage, { vary: '*' }),
  '/vary-lines': policy(onlyPage, { vary: ['Accept-Encoding', 'Origin'] }),
  '/reflect-methods': policy(onlyPage, { methods: 'reflect' }),
  '/reflect-methods-credentials': policy(onlyPage, { ...cred, methods: 'reflect' }),
  '/reflect-headers': policy(onlyPage, { headers: 'reflect' }),
  '/reflect-headers-credentials': policy(onlyPage, { ...cred, headers: 'reflect' }),
  '/star-lists': policy(onlyPage, { methods: '*', headers: '*' }),
  '/star-lists-credentials': policy(onlyPage, { ...cred, methods: '*', headers: '*' }),
  '/star-headers-credentials': policy(onlyPage, { ...cred, headers: '*' }),
  '/preflight-redirect': policy(onlyPage, {
    preflight: (req, res) => res.writeHead(307, { Location: '/elsewhere' }).end(),
  }),
  '/preflight-404': policy(onlyPage, {
    preflight: (req, res) => res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n'),
  }),
};

// --- What corsd audit must say, per path ---------------------------------------------------------------

/** [class, severity, probe origin, request] */
const f = (cls, severity, probe, request = 'get') => ({ class: cls, severity, probe_origin: probe, request });

/** path → the findings, in any order (the order is checked separately: most severe first). */
const EXPECT = {
  '/reflect': [f('origin_reflection', 'low', ATTACKER)],
  '/reflect-credentials': [f('origin_reflection', 'critical', ATTACKER)],
  // null still listed beside reflection; the look-alikes (all echoed too) not.
  '/reflect-verbatim-credentials': [f('origin_reflection', 'critical', ATTACKER), f('null_trusted', 'high', 'null')],
  '/null': [f('null_trusted', 'low', 'null')],
  '/null-credentials': [f('null_trusted', 'high', 'null')],
  // A check of the start lets `_` and the backtick after the host through as well: one mistake, one finding.
  '/prefix': [f('prefix_match', 'low', P.prefix)],
  '/prefix-credentials': [f('prefix_match', 'high', P.prefix)],
  // A check of the end lets every subdomain through as well: one finding.
  '/suffix': [f('suffix_match', 'low', P.suffix)],
  '/suffix-credentials': [f('suffix_match', 'high', P.suffix)],
  '/host-suffix': [f('any_subdomain', 'low', P.sibling)],
  '/host-suffix-credentials': [f('any_subdomain', 'medium', P.sibling)],
  '/unescaped-dot': [f('unescaped_dot', 'low', P.dot)],
  '/unescaped-dot-credentials': [f('unescaped_dot', 'high', P.dot)],
  '/substring': [f('substring_match', 'low', P.substring)],
  '/substring-credentials': [f('substring_match', 'high', P.substring)],
  '/subdomain': [f('any_subdomain', 'low', P.subdomain)],
  '/subdomain-credentials': [f('any_subdomain', 'medium', P.subdomain)],
  '/http-twin': [f('http_trusted', 'low', P.http)],
  '/http-twin-credentials': [f('http_trusted', 'medium', P.http)],
  '/special': [f('special_characters', 'low', P.underscore)],
  '/special-credentials': [f('special_characters', 'high', P.underscore)],
  '/third-party': [f('third_party_trusted', 'low', P.github)],
  '/third-party-credentials': [f('third_party_trusted', 'high', P.github)],
  '/target-unescaped-dot-credentials': [f('unescaped_dot', 'high', (port) => `http://127x0.0.1:${port}`)],
  '/star-credentials': [f('wildcard_with_credentials', 'medium', PAGE)],
  '/public': [],
  '/two-values': [f('invalid_allow_origin', 'medium', PAGE)],
  '/duplicate': [f('invalid_allow_origin', 'medium', PAGE)],
  '/not-an-origin': [f('invalid_allow_origin', 'medium', PAGE)],
  '/no-vary': [f('missing_vary_origin', 'medium', PAGE)],
  '/static-origin': [],
  '/vary-star': [],
  '/vary-lines': [],
  '/reflect-methods': [f('reflected_allow_methods', 'low', PAGE, 'preflight')],
  '/reflect-methods-credentials': [f('reflected_allow_methods', 'medium', PAGE, 'preflight')],
  '/reflect-headers': [f('reflected_allow_headers', 'low', PAGE, 'preflight')],
  '/reflect-headers-credentials': [f('reflected_allow_headers', 'medium', PAGE, 'preflight')],
  '/star-lists': [],
  '/star-lists-credentials': [f('wildcard_allow_lists_with_credentials', 'info', PAGE, 'preflight')],
  '/star-headers-credentials': [f('wildcard_allow_lists_with_credentials', 'info', PAGE, 'preflight')],
  '/preflight-redirect': [f('preflight_redirect', 'low', PAGE, 'preflight')],
  '/preflight-404': [f('preflight_invalid_status', 'low', PAGE, 'preflight')],
};

// --- Running corsd audit -------------------------------------------------------------------------------

/** Runs `corsd audit ARGS`: { code, signal, stdout, stderr, json (or null) }. */
function runAudit(args) {
  return new Promise((resolve) => {
    execFile(corsdBin(), ['audit', ...args], { timeout: AUDIT_TIMEOUT_MS, killSignal: 'SIGKILL', maxBuffer: 4 << 20 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
        let json = null;
        try {
          json = JSON.parse(stdout);
        } catch {
          json = null;
        }
        resolve({ code, signal: err?.signal ?? null, stdout, stderr, json, args });
      });
  });
}

const show = (run) =>
  `corsd audit ${run.args.join(' ')}: exit ${run.code}${run.signal ? ` (signal ${run.signal})` : ''}\n` +
  `--- stdout ---\n${run.stdout || '(empty)'}\n--- stderr ---\n${run.stderr || '(empty)'}`;

/** The exit status --fail-on `failOn` (undefined: medium) calls for when the findings have these severities. */
function wantCode(severities, failOn = 'medium') {
  return severities.some((s) => SEVERITIES.indexOf(s) >= SEVERITIES.indexOf(failOn)) ? 1 : 0;
}

/**
 * Audits url once per --fail-on (and the default) and checks each run: well-formed JSON with `requests`,
 * the findings `expected` (class, severity, probe origin, request; the probe's origin or `*` in the
 * evidence), most severe first, one per class, the same in every run, and the exit status and `failed`
 * each --fail-on calls for.
 */
async function expectAudit(url, extraArgs, expected, requests) {
  const runs = await Promise.all(FAIL_ON.map((failOn) =>
    runAudit([url, ...extraArgs, '--json', '--timeout', '5', ...(failOn ? ['--fail-on', failOn] : [])])));
  const severities = expected.map((e) => e.severity);
  for (const [i, run] of runs.entries()) {
    const failOn = FAIL_ON[i];
    assert.ok(run.json && typeof run.json === 'object' && Array.isArray(run.json.findings),
      `no JSON object with findings on stdout\n${show(run)}`);
    const j = run.json;
    assert.equal(j.url, url, show(run));
    assert.equal(j.requests, requests, `requests\n${show(run)}`);
    assert.equal(j.fail_on, failOn ?? 'medium', show(run));
    const got = j.findings.map((x) => ({ class: x.class, severity: x.severity, probe_origin: x.probe_origin, request: x.request }));
    const byClass = (a, b) => a.class.localeCompare(b.class);
    assert.deepEqual([...got].sort(byClass), [...expected].sort(byClass), `findings of ${url}\n${show(run)}`);
    const ranks = j.findings.map((x) => SEVERITIES.indexOf(x.severity));
    assert.deepEqual(ranks, [...ranks].sort((a, b) => b - a), `findings not most severe first\n${show(run)}`);
    for (const x of j.findings) {
      assert.ok(Array.isArray(x.evidence) && x.evidence.every((h) => Array.isArray(h) && h.length === 2),
        `evidence is not a list of [name, value]\n${show(run)}`);
      assert.ok(typeof x.explanation === 'string' && x.explanation.length > 0, `no explanation\n${show(run)}`);
      assert.ok(typeof x.fix === 'string' && x.fix.length > 0, `no fix\n${show(run)}`);
      const acao = x.evidence.filter(([n]) => n.toLowerCase() === 'access-control-allow-origin').map(([, v]) => v);
      if (['preflight_redirect', 'missing_vary_origin', 'reflected_allow_methods', 'reflected_allow_headers',
        'wildcard_allow_lists_with_credentials'].includes(x.class)) continue;
      assert.ok(acao.length > 0, `${x.class}: no Access-Control-Allow-Origin in the evidence\n${show(run)}`);
      if (x.class === 'wildcard_with_credentials') assert.deepEqual(acao, ['*'], show(run));
      else if (x.class !== 'invalid_allow_origin') assert.ok(acao.includes(x.probe_origin), `${x.class}: evidence\n${show(run)}`);
    }
    const code = wantCode(severities, failOn);
    assert.equal(run.code, code, `exit status with --fail-on ${failOn ?? '(default)'}\n${show(run)}`);
    assert.equal(j.failed, code === 1, `failed with --fail-on ${failOn ?? '(default)'}\n${show(run)}`);
    assert.equal(run.stderr, '', show(run));
  }
  return runs;
}

// --- The tests -----------------------------------------------------------------------------------------

let server;
let port;
let strict;
let demo;

before(async () => {
  server = http.createServer((req, res) => {
    const handler = HANDLERS[new URL(req.url, 'http://x').pathname];
    if (handler) handler(req, res, port);
    else res.writeHead(404).end();
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, resolve);
  });
  port = server.address().port;
  [strict, demo] = await Promise.all([
    startCorsd(['--no-demo', '--listen', '127.0.0.1:0', '--allow-origin', PAGE, '--allow-credentials',
      '--allow-methods', 'PUT,DELETE', '--allow-headers', 'content-type,authorization']),
    startCorsd(['--no-demo', '--listen', '127.0.0.1:0']),
  ]);
});

after(async () => {
  await Promise.all([killCorsd(strict), killCorsd(demo)]);
  if (server) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

describe('corsd audit: one misconfiguration per path', () => {
  for (const [path, expected] of Object.entries(EXPECT)) {
    const label = expected.length ? expected.map((e) => `${e.class} ${e.severity}`).join(', ') : 'no finding';
    test(`${path}: ${label}`, T, async () => {
      const want = expected.map((e) => ({ ...e, probe_origin: typeof e.probe_origin === 'function' ? e.probe_origin(port) : e.probe_origin }));
      await expectAudit(`http://127.0.0.1:${port}${path}`, ['--origin', PAGE], want, WITH_ORIGIN);
    });
  }

  test('without --origin, the look-alikes of the target alone: /target-unescaped-dot-credentials', T, async () => {
    await expectAudit(`http://127.0.0.1:${port}/target-unescaped-dot-credentials`, [],
      [f('unescaped_dot', 'high', `http://127x0.0.1:${port}`)], WITHOUT_ORIGIN);
  });

  test('the text output names the severity, the class, the probe and the evidence', T, async () => {
    const run = await runAudit([`http://127.0.0.1:${port}/reflect-verbatim-credentials`, '--origin', PAGE]);
    assert.equal(run.code, 1, show(run));
    assert.match(run.stdout, /^corsd audit: http:\/\/127\.0\.0\.1:\d+\/reflect-verbatim-credentials \(\d+ requests\)\n/, show(run));
    assert.match(run.stdout, /\ncritical: origin_reflection\n {2}probe: Origin: https:\/\/corsd-audit\.example on a GET\n/, show(run));
    assert.match(run.stdout, /\n {2}< Access-Control-Allow-Origin: https:\/\/corsd-audit\.example\n/, show(run));
    assert.match(run.stdout, /\nhigh: null_trusted\n/, show(run));
    assert.ok(run.stdout.indexOf('critical: origin_reflection') < run.stdout.indexOf('high: null_trusted'), show(run));
  });
});

describe('corsd audit: corsd itself', () => {
  test('an exact policy (one origin, credentials, listed methods and headers): no finding', T, async () => {
    await expectAudit(`${strict.apiUrl}/api/items`, ['--origin', PAGE], [], WITH_ORIGIN);
  });

  test("the demo's policy (any origin echoed, no credentials): origin_reflection, low", T, async () => {
    await expectAudit(`${demo.apiUrl}/api/items`, ['--origin', PAGE], [f('origin_reflection', 'low', ATTACKER)], WITH_ORIGIN);
  });
});

describe('corsd audit: could not audit', () => {
  test('a port nobody listens on: exit 2, nothing on stdout, the reason on stderr', T, async () => {
    const url = `http://127.0.0.1:${await freePort()}/api`;
    for (const args of [[url, '--origin', PAGE, '--json'], [url]]) {
      const run = await runAudit([...args, '--timeout', '5']);
      assert.equal(run.code, 2, show(run));
      assert.equal(run.stdout, '', show(run));
      assert.match(run.stderr, /^corsd audit: could not audit: \S.*\n$/, show(run));
    }
  });
});
