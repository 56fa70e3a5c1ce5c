// https:// upstreams, end to end: the real corsd ($CORSD_BIN) in front of node:https servers with
// certificates of a test CA made here with the openssl CLI, driven over raw sockets on the client side.
//
//   CORSD_BIN=build/corsd node --test tests/proxy/https_upstream.test.mjs
//
// Covers: TLS 1.2/1.3 to the upstream, SNI (a name, never an IP literal), verification against the
// system store (OpenSSL's default paths) or --upstream-ca, with the host name or IP address check;
// the client certificate (--upstream-cert/--upstream-key, and the [proxy] keys); 502 on a failed
// handshake with the reason and kind="tls" in /metrics; 504 on a handshake that never finishes;
// start-up refusals of bad files; keep-alive pooling over TLS; 20 MiB up and down; the policy's CORS
// headers on every status; preflights never forwarded.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import {
  connect, exchange, names, patternSha256, patternSlice, request, runCorsd, startCorsd, values,
} from './support.mjs';

const execFileP = promisify(execFile);

const ORIGIN = 'https://app.example';
const POLICY = ['--allow-origin', ORIGIN, '--allow-credentials', '--allow-methods', 'PUT,DELETE',
  '--allow-headers', 'content-type,authorization'];
const T = { timeout: 20_000 };
/** How long to wait before concluding that corsd did not forward something. */
const SETTLE_MS = 150;
const MiB = 1024 * 1024;

// ---- certificates -------------------------------------------------------------------------------

// The only config openssl reads here (never the system's openssl.cnf).
const OPENSSL_CNF = `\
[req]
distinguished_name = dn
prompt = no
[dn]
[v3_ca]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
[dns_only]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost
[other_name]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:other.example
[client]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
`;

async function openssl(dir, args) {
  try {
    await execFileP('openssl', args, { cwd: dir, timeout: 30_000 });
  } catch (err) {
    throw new Error(`openssl ${args.join(' ')} failed: ${err.message}\n${err.stderr ?? ''}`);
  }
}

const serial = () => `0x1${createHash('sha256').update(`${process.hrtime.bigint()}${Math.random()}`).digest('hex').slice(0, 15)}`;

async function makeKey(dir, name) {
  const key = join(dir, `${name}.key`);
  await openssl(dir, ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key]);
  return key;
}

/** A leaf certificate signed by ca with the extensions of the config section `ext`. */
async function makeLeaf(dir, cnf, ca, name, ext, cn) {
  const key = await makeKey(dir, name);
  const csr = join(dir, `${name}.csr`);
  const cert = join(dir, `${name}.pem`);
  await openssl(dir, ['req', '-config', cnf, '-new', '-key', key, '-subj', `/CN=${cn}`, '-out', csr]);
  await openssl(dir, ['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-sha256', '-days', '1',
    '-set_serial', serial(), '-extfile', cnf, '-extensions', ext, '-out', cert]);
  return { key, cert };
}

/**
 * A test CA and, signed by it: server (DNS:localhost, IP:127.0.0.1), dnsOnly (DNS:localhost),
 * other (DNS:other.example), client (clientAuth, CN=corsd-client).
 */
async function makeCerts(dir) {
  const cnf = join(dir, 'openssl-test.cnf');
  writeFileSync(cnf, OPENSSL_CNF);
  const ca = { key: await makeKey(dir, 'ca'), cert: join(dir, 'ca.pem') };
  await openssl(dir, ['req', '-config', cnf, '-x509', '-new', '-key', ca.key, '-sha256', '-days', '1',
    '-subj', '/CN=corsd https_upstream test CA', '-extensions', 'v3_ca', '-set_serial', serial(), '-out', ca.cert]);
  const [server, dnsOnly, other, client] = await Promise.all([
    makeLeaf(dir, cnf, ca, 'server', 'server', 'localhost'),
    makeLeaf(dir, cnf, ca, 'dns-only', 'dns_only', 'localhost'),
    makeLeaf(dir, cnf, ca, 'other', 'other_name', 'other.example'),
    makeLeaf(dir, cnf, ca, 'client', 'client', 'corsd-client'),
  ]);
  return { ca, server, dnsOnly, other, client };
}

// ---- the https upstream ---------------------------------------------------------------------------

/** The Access-Control-* fields every upstream answer carries: corsd must replace all of them. */
const UPSTREAM_CORS = [
  ['Access-Control-Allow-Origin', '*'],
  ['Access-Control-Allow-Credentials', 'false'],
  ['Access-Control-Expose-Headers', 'x-secret'],
  ['Access-Control-Allow-Methods', 'PATCH'],
  ['Access-Control-Max-Age', '99'],
];

/**
 * A node:https upstream on 127.0.0.1. Options: cert ({ key, cert }), clientCa (a CA file: then a
 * client certificate it signed is required), minVersion/maxVersion/ciphers.
 *   up.port, up.requests ({ method, url, headers, servername, protocol, clientCN, bodyLength, bodySha256 }),
 *   up.handshakes ({ servername, protocol }, one per secureConnection), up.tlsErrors, up.close()
 * Paths: /status/N answers N; /upload hashes the body; /download?n=N sends N pattern bytes
 * (Content-Length); anything else echoes the request as JSON. Every answer has UPSTREAM_CORS.
 */
async function startHttpsUpstream({ cert, clientCa, minVersion, maxVersion, ciphers } = {}) {
  const up = { requests: [], handshakes: [], tlsErrors: [] };
  const opts = { key: readFileSync(cert.key), cert: readFileSync(cert.cert), minVersion, maxVersion, ciphers };
  if (clientCa) Object.assign(opts, { requestCert: true, rejectUnauthorized: true, ca: readFileSync(clientCa) });
  for (const k of Object.keys(opts)) if (opts[k] === undefined) delete opts[k];

  const server = https.createServer(opts, async (req, res) => {
    const url = new URL(req.url, 'https://upstream.invalid');
    const peer = req.socket.getPeerCertificate?.();
    const rec = {
      method: req.method, url: req.url, headers: req.headers, rawHeaders: req.rawHeaders,
      servername: req.socket.servername, protocol: req.socket.getProtocol(),
      clientCN: peer && peer.subject ? peer.subject.CN : undefined, bodyLength: 0, bodySha256: undefined,
    };
    up.requests.push(rec);
    const hash = createHash('sha256');
    try {
      for await (const piece of req) {
        rec.bodyLength += piece.length;
        hash.update(piece);
      }
    } catch {
      return;
    }
    rec.bodySha256 = hash.digest('hex');

    const common = [...UPSTREAM_CORS, ['Vary', 'Accept-Encoding'], ['X-Request-Id', 'up-1']];
    const send = (status, headers, body) => {
      res.writeHead(status, [...common, ...headers].flat());
      res.end(body);
    };
    const status = /^\/status\/(\d{3})$/.exec(url.pathname);
    if (status) {
      const code = Number(status[1]);
      const extra = code === 401 ? [['WWW-Authenticate', 'Bearer realm="api"']] : [];
      send(code, [['Content-Type', 'text/plain'], ...extra], `status ${code}\n`);
    } else if (url.pathname === '/upload') {
      send(200, [['Content-Type', 'application/json']],
        JSON.stringify({ length: rec.bodyLength, sha256: rec.bodySha256 }));
    } else if (url.pathname === '/download') {
      const n = Number(url.searchParams.get('n'));
      res.writeHead(200, [...common, ['Content-Type', 'application/octet-stream'], ['Content-Length', String(n)]].flat());
      for (let off = 0; off < n;) {
        const piece = patternSlice(off, Math.min(64 * 1024, n - off));
        off += piece.length;
        if (!res.write(piece)) {
          await new Promise((resolve) => {
            const done = () => { res.off('drain', done); res.off('close', done); resolve(); };
            res.on('drain', done);
            res.on('close', done);
          });
          if (res.destroyed) return;
        }
      }
      res.end();
    } else {
      send(200, [['Content-Type', 'application/json']],
        JSON.stringify({ method: req.method, url: req.url, headers: req.headers }));
    }
  });
  server.keepAliveTimeout = 30_000;
  server.on('secureConnection', (s) => up.handshakes.push({ servername: s.servername, protocol: s.getProtocol() }));
  server.on('tlsClientError', (err) => up.tlsErrors.push(err.message));
  server.listen({ host: '127.0.0.1', port: 0 });
  await once(server, 'listening');
  up.port = server.address().port;
  up.close = () => {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(resolve));
  };
  return up;
}

/** A plain TCP server on 127.0.0.1 that accepts and never says a word. */
async function startSilentServer() {
  const sockets = new Set();
  let accepted = 0;
  const server = net.createServer((s) => {
    accepted += 1;
    sockets.add(s);
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
  });
  server.listen({ host: '127.0.0.1', port: 0 });
  await once(server, 'listening');
  return {
    port: server.address().port,
    accepted: () => accepted,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

// ---- corsd ----------------------------------------------------------------------------------------

const proxyArgs = (upstreamUrl, extra = []) =>
  ['--no-demo', '--listen', '127.0.0.1:0', '--upstream', upstreamUrl, ...POLICY, '--host-header', 'upstream',
    '--admin-listen', '127.0.0.1:0', ...extra];

const TLS_ENV = ['SSL_CERT_FILE', 'SSL_CERT_DIR'];

/**
 * startCorsd with OpenSSL's default-path variables set as in env (undefined: unset), for this spawn
 * only: the child takes a copy of process.env when it is spawned, which happens synchronously.
 */
function startCorsdWithTlsEnv(args, env = {}) {
  const saved = Object.fromEntries(TLS_ENV.map((k) => [k, process.env[k]]));
  try {
    for (const k of TLS_ENV) {
      if (env[k] === undefined) delete process.env[k];
      else process.env[k] = env[k];
    }
    return startCorsd(args);
  } finally {
    for (const k of TLS_ENV) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  }
}

/** Starts an https upstream and corsd in front of it (at upstreamUrl(up)), runs fn({ up, corsd }), stops both. */
async function withHttpsProxy({ upstream, url = (up) => `https://localhost:${up.port}`, args = [], env }, fn) {
  const up = await startHttpsUpstream(upstream);
  let corsd;
  try {
    corsd = await startCorsdWithTlsEnv(proxyArgs(url(up), args), env);
    await fn({ up, corsd, upstreamUrl: url(up) });
  } finally {
    await corsd?.stop();
    await up.close();
  }
}

/** The value of the sample `name{labels}` in a Prometheus text scrape (labels in any order), or undefined. */
function sample(text, name, labels) {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v) && Object.keys(got).length === Object.keys(labels).length) {
      return Number(m[3]);
    }
  }
  return undefined;
}

async function scrape(corsd) {
  assert.ok(corsd.adminUrl, `corsd printed no admin URL\n${corsd.output()}`);
  const res = await fetch(`${corsd.adminUrl}/metrics`);
  assert.equal(res.status, 200);
  return res.text();
}

/** The errors_total samples of one upstream (HOST:PORT), by kind. */
function upstreamErrors(text, upstream) {
  const kinds = {};
  for (const m of text.matchAll(/^corsd_upstream_errors_total\{(.*)\} (\S+)$/gm)) {
    const labels = Object.fromEntries([...m[1].matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
    if (labels.upstream === upstream) kinds[labels.kind] = Number(m[2]);
  }
  return kinds;
}

// ---- assertions -----------------------------------------------------------------------------------

const show = (res) => (res ? `\n${res.head}${res.body.toString('latin1').slice(0, 300)}` : '\n(no response)');
const withOrigin = (headers = []) => [['Origin', ORIGIN], ...headers];
const get = (target, headers) => request('GET', target, withOrigin(headers));

/** Exactly the policy's CORS fields: one ACAO (the origin), one ACAC, Vary naming Origin once; nothing of the upstream's. */
function assertPolicyCors(res, what) {
  assert.deepEqual(res.values('access-control-allow-origin'), [ORIGIN], `${what}: one ACAO, the policy's${show(res)}`);
  assert.deepEqual(res.values('access-control-allow-credentials'), ['true'], `${what}: one ACAC${show(res)}`);
  assert.equal(res.tokens('vary').filter((t) => t === 'origin').length, 1, `${what}: Vary: Origin once${show(res)}`);
  const ac = names(res.headers).filter((n) => n.startsWith('access-control-')).sort();
  assert.deepEqual(ac, ['access-control-allow-credentials', 'access-control-allow-origin'],
    `${what}: only the policy's Access-Control-* fields${show(res)}`);
}

/** One of corsd's own failure answers: status, the policy's CORS, text/plain, a body matching `pattern`. */
function assertFailure(res, status, pattern, what) {
  assert.ok(res, `${what}: expected ${status}, the connection closed without an answer`);
  assert.equal(res.status, status, `${what}${show(res)}`);
  assertPolicyCors(res, what);
  assert.match(res.values('content-type').join(), /^text\/plain/, `${what}: Content-Type${show(res)}`);
  if (pattern) assert.match(res.text(), pattern, `${what}: body${show(res)}`);
}

async function assertNotForwarded(up, what) {
  await sleep(SETTLE_MS);
  assert.equal(up.requests.length, 0,
    `${what}: must not reach the upstream, but it got ${JSON.stringify(up.requests[0])}`);
}

const esc = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

// ---- the tests ------------------------------------------------------------------------------------

let dir;
let certs;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'corsd-https-upstream-'));
  certs = await makeCerts(dir);
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('https upstream: verification, SNI, protocol versions', () => {
  test('verified against --upstream-ca: forwarded over TLS 1.3 with SNI and the upstream Host, CORS the policy\'s', T,
    async () => {
      await withHttpsProxy({ upstream: { cert: certs.server }, args: ['--upstream-ca', certs.ca.cert] },
        async ({ up, corsd }) => {
          const res = await exchange(corsd.port, get('/hello?x=1', [['X-Normal', 'kept']]));
          assert.equal(res.status, 200, show(res));
          assertPolicyCors(res, 'GET through https');
          assert.ok(res.tokens('vary').includes('accept-encoding'), `upstream's Vary kept${show(res)}`);
          assert.deepEqual(res.values('x-request-id'), ['up-1'], show(res));
          assert.equal(JSON.parse(res.text()).url, '/hello?x=1', show(res));
          assert.equal(up.requests.length, 1);
          const r = up.requests[0];
          assert.equal(r.servername, 'localhost', 'SNI carries the upstream host name');
          assert.equal(r.protocol, 'TLSv1.3');
          assert.equal(r.headers.host, `localhost:${up.port}`, '--host-header upstream');
          assert.equal(r.headers.origin, ORIGIN);
          assert.equal(r.headers['x-normal'], 'kept');
          assert.deepEqual(up.handshakes, [{ servername: 'localhost', protocol: 'TLSv1.3' }]);
        });
    });

  test('an IP-literal upstream gets no SNI and is verified against the certificate\'s IP address', T, async () => {
    await withHttpsProxy({
      upstream: { cert: certs.server }, url: (up) => `https://127.0.0.1:${up.port}`, args: ['--upstream-ca', certs.ca.cert],
    }, async ({ up, corsd }) => {
      const res = await exchange(corsd.port, get('/ip'));
      assert.equal(res.status, 200, show(res));
      assertPolicyCors(res, 'IP literal');
      assert.equal(up.handshakes.length, 1);
      assert.ok(!up.handshakes[0].servername, `no SNI for an IP literal, got ${JSON.stringify(up.handshakes[0])}`);
      assert.equal(up.requests[0].headers.host, `127.0.0.1:${up.port}`);
    });
  });

  test('a TLS 1.2-only upstream is reached; a TLS 1.1-only one fails the handshake (502, kind="tls")', T, async () => {
    await withHttpsProxy({
      upstream: { cert: certs.server, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' }, args: ['--upstream-ca', certs.ca.cert],
    }, async ({ up, corsd }) => {
      const res = await exchange(corsd.port, get('/v12'));
      assert.equal(res.status, 200, show(res));
      assertPolicyCors(res, 'TLS 1.2');
      assert.equal(up.requests[0].protocol, 'TLSv1.2');
    });
    await withHttpsProxy({
      upstream: { cert: certs.server, minVersion: 'TLSv1.1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT:@SECLEVEL=0' },
      args: ['--upstream-ca', certs.ca.cert],
    }, async ({ up, corsd, upstreamUrl }) => {
      const res = await exchange(corsd.port, get('/v11'));
      assertFailure(res, 502, new RegExp(`^bad gateway: the upstream ${esc(upstreamUrl)} failed the TLS handshake \\(.+\\)`),
        'TLS 1.1 only');
      await assertNotForwarded(up, 'TLS 1.1');
      assert.equal(upstreamErrors(await scrape(corsd), `localhost:${up.port}`).tls, 1);
    });
  });

  test('without --upstream-ca the system store decides: a test-CA certificate is refused (502, reason, kind="tls")', T,
    async () => {
      // No SSL_CERT_FILE/SSL_CERT_DIR: OpenSSL's default paths, which do not hold the test CA.
      await withHttpsProxy({ upstream: { cert: certs.server }, env: {} }, async ({ up, corsd, upstreamUrl }) => {
        const res = await exchange(corsd.port, get('/untrusted'));
        assertFailure(res, 502, null, 'untrusted upstream certificate');
        assert.equal(res.text().trim(),
          `bad gateway: the upstream ${upstreamUrl} failed the TLS handshake (unable to get local issuer certificate)`,
          show(res));
        await assertNotForwarded(up, 'untrusted certificate');
        const metrics = await scrape(corsd);
        const kinds = upstreamErrors(metrics, `localhost:${up.port}`);
        assert.equal(kinds.tls, 1, `kind="tls" counted once: ${JSON.stringify(kinds)}`);
        assert.equal(sample(metrics, 'corsd_upstream_errors_total', { upstream: `localhost:${up.port}`, kind: 'tls' }), 1);
        for (const [kind, n] of Object.entries(kinds)) if (kind !== 'tls') assert.equal(n, 0, `kind="${kind}"`);
        // A second request is refused again (a failed handshake is not pooled, nor remembered as good).
        const again = await exchange(corsd.port, get('/untrusted'));
        assertFailure(again, 502, /unable to get local issuer certificate/, 'second request');
        assert.equal(upstreamErrors(await scrape(corsd), `localhost:${up.port}`).tls, 2);
      });
    });

  test('without --upstream-ca, OpenSSL\'s default store is what is trusted (SSL_CERT_FILE naming the test CA)', T,
    async () => {
      await withHttpsProxy({ upstream: { cert: certs.server }, env: { SSL_CERT_FILE: certs.ca.cert } },
        async ({ up, corsd }) => {
          const res = await exchange(corsd.port, get('/trusted-by-default-store'));
          assert.equal(res.status, 200, show(res));
          assertPolicyCors(res, 'default store');
          assert.equal(up.requests.length, 1);
        });
    });

  test('a certificate for another name fails with a hostname mismatch (502, kind="tls")', T, async () => {
    await withHttpsProxy({ upstream: { cert: certs.other }, args: ['--upstream-ca', certs.ca.cert] },
      async ({ up, corsd, upstreamUrl }) => {
        const res = await exchange(corsd.port, get('/other-name'));
        assertFailure(res, 502,
          new RegExp(`^bad gateway: the upstream ${esc(upstreamUrl)} failed the TLS handshake \\(hostname mismatch\\)`, 'i'),
          'certificate for other.example');
        await assertNotForwarded(up, 'hostname mismatch');
        assert.equal(upstreamErrors(await scrape(corsd), `localhost:${up.port}`).tls, 1);
      });
  });

  test('an IP-literal upstream whose certificate names only DNS:localhost fails the IP address check', T, async () => {
    await withHttpsProxy({
      upstream: { cert: certs.dnsOnly }, url: (up) => `https://127.0.0.1:${up.port}`, args: ['--upstream-ca', certs.ca.cert],
    }, async ({ up, corsd, upstreamUrl }) => {
      const res = await exchange(corsd.port, get('/ip-mismatch'));
      assertFailure(res, 502,
        new RegExp(`^bad gateway: the upstream ${esc(upstreamUrl)} failed the TLS handshake \\((ip address|hostname) mismatch\\)`, 'i'),
        'DNS-only certificate at an IP');
      await assertNotForwarded(up, 'IP address mismatch');
      assert.equal(upstreamErrors(await scrape(corsd), `127.0.0.1:${up.port}`).tls, 1);
    });
    // The same certificate, by its name, passes: it was the address check that failed.
    await withHttpsProxy({ upstream: { cert: certs.dnsOnly }, args: ['--upstream-ca', certs.ca.cert] },
      async ({ corsd }) => {
        const res = await exchange(corsd.port, get('/by-name'));
        assert.equal(res.status, 200, show(res));
      });
  });

  test('an upstream that never finishes the handshake gets 504 after --upstream-connect-timeout', T, async () => {
    const silent = await startSilentServer();
    const upstreamUrl = `https://localhost:${silent.port}`;
    let corsd;
    try {
      corsd = await startCorsd(proxyArgs(upstreamUrl, ['--upstream-ca', certs.ca.cert, '--upstream-connect-timeout', '1']));
      const errorsBefore = upstreamErrors(await scrape(corsd), `localhost:${silent.port}`);
      const started = Date.now();
      const res = await exchange(corsd.port, get('/silent'));
      const elapsed = Date.now() - started;
      assertFailure(res, 504,
        new RegExp(`^gateway timeout: the upstream ${esc(upstreamUrl)} did not finish the TLS handshake within 1 s`),
        'silent upstream');
      assert.ok(silent.accepted() >= 1, 'the TCP connection was accepted (it is the handshake that hung)');
      assert.ok(elapsed >= 900 && elapsed < 5000, `answered after the 1 s timeout, took ${elapsed} ms`);
      const afterKinds = upstreamErrors(await scrape(corsd), `localhost:${silent.port}`);
      const sum = (k) => Object.values(k).reduce((a, b) => a + b, 0);
      assert.equal(sum(afterKinds) - sum(errorsBefore), 1, `counted once: ${JSON.stringify(afterKinds)}`);
    } finally {
      await corsd?.stop();
      await silent.close();
    }
  });
});

describe('https upstream: client certificates', () => {
  const mtls = () => ({ cert: certs.server, clientCa: certs.ca.cert });

  test('--upstream-cert/--upstream-key: the upstream that requires a certificate gets corsd\'s', T, async () => {
    await withHttpsProxy({
      upstream: mtls(),
      args: ['--upstream-ca', certs.ca.cert, '--upstream-cert', certs.client.cert, '--upstream-key', certs.client.key],
    }, async ({ up, corsd }) => {
      const res = await exchange(corsd.port, get('/mtls'));
      assert.equal(res.status, 200, show(res));
      assertPolicyCors(res, 'mTLS');
      assert.equal(up.requests.length, 1);
      assert.equal(up.requests[0].clientCN, 'corsd-client');
      assert.deepEqual(up.tlsErrors, []);
    });
  });

  test('[proxy] upstream_ca, upstream_cert, upstream_key in a config file, relative to its folder', T, async () => {
    const up = await startHttpsUpstream(mtls());
    const cfgDir = mkdtempSync(join(dir, 'config-'));
    for (const [from, to] of [[certs.ca.cert, 'ca.pem'], [certs.client.cert, 'client.pem'], [certs.client.key, 'client.key']]) {
      writeFileSync(join(cfgDir, to), readFileSync(from));
    }
    const cfg = join(cfgDir, 'corsd.toml');
    writeFileSync(cfg, `\
[server]
listen = "127.0.0.1:0"
threads = 1
[demo]
enabled = false
[proxy]
upstream_ca = "ca.pem"
upstream_cert = "client.pem"
upstream_key = "client.key"
[[routes]]
path = "/"
upstream = "https://localhost:${up.port}"
host_header = "upstream"
allow_origins = ["${ORIGIN}"]
allow_credentials = true
`);
    let corsd;
    try {
      corsd = await startCorsdWithTlsEnv(['--config', cfg]);
      const res = await exchange(corsd.port, get('/from-config'));
      assert.equal(res.status, 200, show(res));
      assertPolicyCors(res, 'config file mTLS');
      assert.equal(up.requests[0]?.clientCN, 'corsd-client');
      assert.equal(up.requests[0].servername, 'localhost');
    } finally {
      await corsd?.stop();
      await up.close();
    }
  });

  test('without a client certificate, an upstream that requires one is never reached: 502 with CORS', T, async () => {
    await withHttpsProxy({ upstream: mtls(), args: ['--upstream-ca', certs.ca.cert] }, async ({ up, corsd, upstreamUrl }) => {
      const res = await exchange(corsd.port, get('/no-client-cert'));
      assertFailure(res, 502, new RegExp(`^bad gateway: the upstream ${esc(upstreamUrl)} `), 'no client certificate');
      await assertNotForwarded(up, 'no client certificate');
      assert.ok(up.tlsErrors.length >= 1, 'the upstream refused the handshake');
    });
  });
});

describe('https upstream: start-up refusals', () => {
  const base = ['--no-demo', '--listen', '127.0.0.1:0', '--upstream', 'https://localhost:1', '--allow-origin', ORIGIN];

  /** Awaits every check, then fails with all their messages (not only the first one's). */
  async function allOf(checks) {
    const failed = (await Promise.allSettled(checks)).filter((r) => r.status === 'rejected');
    if (failed.length) assert.fail(failed.map((r) => r.reason.message).join('\n\n'));
  }

  /** corsd refuses to start (exit 2) and its stderr names `file`. */
  async function assertRefused(extra, file, what) {
    const r = await runCorsd([...base, ...extra], { timeoutMs: 5000 });
    const out = `\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;
    assert.equal(r.code, 2, `${what}: exit code 2${out}`);
    assert.match(r.stderr, /error/, `${what}${out}`);
    assert.ok(r.stderr.includes(file), `${what}: stderr names ${file}${out}`);
    assert.doesNotMatch(r.stdout, /ready:/, `${what}${out}`);
  }

  test('--upstream-ca: a missing file, a file without a PEM certificate', T, async () => {
    const notPem = join(dir, 'not-pem.txt');
    writeFileSync(notPem, 'this is not a certificate\n');
    await allOf([
      assertRefused(['--upstream-ca', join(dir, 'missing-ca.pem')], join(dir, 'missing-ca.pem'), 'missing CA file'),
      assertRefused(['--upstream-ca', notPem], notPem, 'CA file without a certificate'),
      assertRefused(['--upstream-ca', certs.ca.key], certs.ca.key, 'CA file holding a key only'),
    ]);
  });

  test('--upstream-cert without --upstream-key, and a key without its certificate', T, async () => {
    await allOf([
      assertRefused(['--upstream-ca', certs.ca.cert, '--upstream-cert', certs.client.cert], certs.client.cert,
        'certificate without key'),
      assertRefused(['--upstream-ca', certs.ca.cert, '--upstream-key', certs.client.key], certs.client.key,
        'key without certificate'),
    ]);
  });

  test('a client key that does not match its certificate; unreadable client files', T, async () => {
    await allOf([
      assertRefused(['--upstream-cert', certs.client.cert, '--upstream-key', certs.server.key], certs.server.key,
        'key of another certificate'),
      assertRefused(['--upstream-cert', join(dir, 'missing-client.pem'), '--upstream-key', certs.client.key],
        join(dir, 'missing-client.pem'), 'missing client certificate'),
      assertRefused(['--upstream-cert', certs.client.cert, '--upstream-key', join(dir, 'missing-client.key')],
        join(dir, 'missing-client.key'), 'missing client key'),
    ]);
  });

  test('the same bad files in a config file are refused, naming the resolved path', T, async () => {
    const cfgDir = mkdtempSync(join(dir, 'bad-config-'));
    const cfg = join(cfgDir, 'corsd.toml');
    writeFileSync(cfg, `\
[server]
listen = "127.0.0.1:0"
[demo]
enabled = false
[proxy]
upstream_ca = "nope.pem"
[[routes]]
path = "/"
upstream = "https://localhost:1"
allow_origins = ["${ORIGIN}"]
`);
    const r = await runCorsd(['--config', cfg], { timeoutMs: 5000 });
    assert.equal(r.code, 2, r.stderr);
    assert.ok(r.stderr.includes(join(cfgDir, 'nope.pem')), r.stderr);
    const check = await runCorsd(['--check-config', cfg], { timeoutMs: 5000 });
    assert.notEqual(check.code, 0, `--check-config refuses it too\n${check.stdout}${check.stderr}`);
    assert.ok(check.stderr.includes(join(cfgDir, 'nope.pem')), check.stderr);
  });

  test('the upstream TLS files are not checked when no route has an https:// upstream', T, async () => {
    const bad = ['--upstream-ca', join(dir, 'missing-ca.pem'), '--upstream-cert', certs.client.cert,
      '--upstream-key', certs.server.key];
    for (const routeArgs of [['--upstream', 'http://127.0.0.1:1'], []]) {
      const corsd = await startCorsd(['--no-demo', '--listen', '127.0.0.1:0', '--allow-origin', ORIGIN, ...routeArgs, ...bad]);
      const { code } = await corsd.stop();
      assert.equal(code, 0, corsd.output());
    }
  });
});

describe('https upstream: pooling, streaming, CORS on every status, preflights', () => {
  let up;
  let corsd;
  before(async () => {
    up = await startHttpsUpstream({ cert: certs.server });
    corsd = await startCorsdWithTlsEnv(proxyArgs(`https://localhost:${up.port}`,
      ['--upstream-ca', certs.ca.cert, '--threads', '1', '--max-body', String(64 * MiB)]));
  });
  after(async () => {
    await corsd?.stop();
    await up?.close();
  });
  const reset = () => {
    up.requests.length = 0;
    up.handshakes.length = 0;
  };

  test('sequential requests reuse one upstream TLS connection (--threads 1)', T, async () => {
    reset();
    for (let i = 0; i < 5; i++) {
      const res = await exchange(corsd.port, get(`/pooled/${i}`));
      assert.equal(res.status, 200, show(res));
      assertPolicyCors(res, `request ${i}`);
    }
    // Several requests on one client connection too.
    const c = await connect(corsd.port);
    try {
      for (let i = 0; i < 3; i++) {
        const res = await c.exchange(get(`/pooled/keep-alive/${i}`));
        assert.equal(res.status, 200, show(res));
      }
    } finally {
      c.close();
    }
    assert.equal(up.requests.length, 8);
    assert.equal(up.handshakes.length, 1,
      `one TLS handshake for 8 sequential requests, saw ${up.handshakes.length}: ${JSON.stringify(up.handshakes)}`);
    const idle = sample(await scrape(corsd), 'corsd_upstream_idle_connections', { upstream: `localhost:${up.port}` });
    assert.equal(idle, 1, 'one pooled idle connection');
  });

  test('a 20 MiB upload reaches the upstream whole (sha256)', T, async () => {
    reset();
    const n = 20 * MiB;
    const c = await connect(corsd.port);
    try {
      await c.send(request('POST', '/upload', withOrigin([['Content-Type', 'application/octet-stream'],
        ['Content-Length', String(n)]])));
      for (let off = 0; off < n;) {
        const piece = patternSlice(off, Math.min(64 * 1024, n - off));
        off += piece.length;
        await c.send(piece);
      }
      const res = await c.response();
      assert.equal(res.status, 200, show(res));
      assertPolicyCors(res, 'upload');
      assert.deepEqual(JSON.parse(res.text()), { length: n, sha256: patternSha256(n) });
    } finally {
      c.close();
    }
    assert.equal(up.requests.length, 1);
    assert.equal(up.requests[0].bodySha256, patternSha256(n));
  });

  test('a chunked 20 MiB upload reaches the upstream whole (sha256)', T, async () => {
    reset();
    const n = 20 * MiB;
    const c = await connect(corsd.port);
    try {
      await c.send(request('PUT', '/upload', withOrigin([['Transfer-Encoding', 'chunked']])));
      for (let off = 0; off < n;) {
        const piece = patternSlice(off, Math.min(50_000, n - off));
        off += piece.length;
        await c.send(Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')]));
      }
      await c.send('0\r\n\r\n');
      const res = await c.response();
      assert.equal(res.status, 200, show(res));
      assertPolicyCors(res, 'chunked upload');
      assert.deepEqual(JSON.parse(res.text()), { length: n, sha256: patternSha256(n) });
    } finally {
      c.close();
    }
  });

  test('a 20 MiB download reaches the client whole (sha256, Content-Length kept)', T, async () => {
    reset();
    const n = 20 * MiB;
    const hash = createHash('sha256');
    const res = await exchange(corsd.port, get(`/download?n=${n}`), { onBody: (piece) => { hash.update(piece); } });
    assert.equal(res.status, 200, show(res));
    assertPolicyCors(res, 'download');
    assert.equal(res.framing, 'content-length', show(res));
    assert.deepEqual(res.values('content-length'), [String(n)], show(res));
    assert.equal(res.bodyLength, n);
    assert.ok(res.complete);
    assert.equal(hash.digest('hex'), patternSha256(n));
  });

  for (const status of [200, 401, 404, 500]) {
    test(`the policy's CORS headers, and none of the upstream's, on an upstream ${status}`, T, async () => {
      reset();
      const res = await exchange(corsd.port, get(`/status/${status}`));
      assert.equal(res.status, status, show(res));
      assert.equal(res.text(), `status ${status}\n`, show(res));
      assertPolicyCors(res, `upstream ${status}`);
      assert.ok(res.tokens('vary').includes('accept-encoding'), `upstream's Vary kept${show(res)}`);
      if (status === 401) assert.deepEqual(res.values('www-authenticate'), ['Bearer realm="api"'], show(res));
    });
  }

  test('a disallowed origin gets the upstream\'s answer with no Access-Control-* at all', T, async () => {
    reset();
    const res = await exchange(corsd.port, request('GET', '/status/401', [['Origin', 'https://evil.example']]));
    assert.equal(res.status, 401, show(res));
    assert.deepEqual(names(res.headers).filter((n) => n.startsWith('access-control-')), [], show(res));
    assert.ok(res.tokens('vary').includes('origin'), show(res));
  });

  test('preflights are answered by corsd and never reach the upstream', T, async () => {
    reset();
    const ok = await exchange(corsd.port, request('OPTIONS', '/api/items', withOrigin([
      ['Access-Control-Request-Method', 'PUT'], ['Access-Control-Request-Headers', 'content-type, authorization']])));
    assert.equal(ok.status, 204, show(ok));
    assert.deepEqual(ok.values('access-control-allow-origin'), [ORIGIN], show(ok));
    assert.deepEqual(ok.values('access-control-allow-credentials'), ['true'], show(ok));
    assert.ok(ok.tokens('access-control-allow-methods').includes('put'), show(ok));
    assert.ok(ok.tokens('access-control-allow-headers').includes('authorization'), show(ok));
    const badMethod = await exchange(corsd.port, request('OPTIONS', '/api/items', withOrigin([
      ['Access-Control-Request-Method', 'PATCH']])));
    assert.equal(badMethod.status, 403, show(badMethod));
    assert.match(badMethod.text(), /method_not_allowed/, show(badMethod));
    const badOrigin = await exchange(corsd.port, request('OPTIONS', '/api/items', [['Origin', 'https://evil.example'],
      ['Access-Control-Request-Method', 'GET']]));
    assert.equal(badOrigin.status, 403, show(badOrigin));
    assert.deepEqual(values(badOrigin.headers, 'access-control-allow-origin'), [], show(badOrigin));
    await assertNotForwarded(up, 'preflights');
  });
});
