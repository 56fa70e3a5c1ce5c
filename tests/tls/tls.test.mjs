// corsd's HTTPS listeners (--tls-cert/--tls-key, [server] tls_cert/tls_key): the API and the demo speak
// HTTP/1.1 over TLS with a certificate from a test CA made here (tests/support/certs.mjs, openssl), the admin
// listener stays plain HTTP. Checked with node:https and node:tls trusting that CA (never
// rejectUnauthorized: false): CORS preflight and echo, TLS 1.2 and 1.3 only, ALPN, session resumption by
// ticket, plain HTTP on the TLS port and TLS on a plain port answered and closed, a silent or half
// handshake closed after the header timeout, every start-up refusal of bad TLS files (and --check-config's),
// an expired certificate warned about, a SIGHUP reload of the certificate (new handshakes get the new one,
// a connection opened before keeps working, a key that does not match is refused), the Secure;
// SameSite=None session cookie, and X-Forwarded-Proto: https through the proxy. Real corsd, loopback only.
//
//   node --test tests/tls/tls.test.mjs        (CORSD_BIN defaults to build/corsd)

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import tls from 'node:tls';

import { makeCa, makeEncryptedKey, makeExpiredLeaf, makeKey, makeLeaf, makeOcspResponse } from '../support/certs.mjs';
import { runCorsd, startCorsd } from '../support/corsd.mjs';

const T = { timeout: 20_000 };
const ORIGIN = 'https://app.test';
const PATH = '/some/url/resource/path';
/** Upper bound for anything that must end "soon" (a close, a reload reaching every worker): never a tight timing. */
const BOUND_MS = 5_000;
/** --header-timeout of the corsd instances that test the handshake timeout. */
const HEADER_TIMEOUT_S = 1;

let dir; // this file's own directory: certificates, config files
let ca; // the test CA every client here trusts
let leaf; // the certificate the main corsd serves
let expired; // a certificate that expired in 2020
let otherKey; // a key no certificate has
let encryptedKey; // a passphrase-encrypted key

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'corsd-tls-'));
  ca = await makeCa(dir);
  [leaf, expired, otherKey, encryptedKey] = await Promise.all([
    makeLeaf(dir, ca, { name: 'server' }),
    makeExpiredLeaf(dir, ca, { name: 'expired' }),
    makeKey(dir, 'other'),
    makeEncryptedKey(dir, 'encrypted'),
  ]);
});
after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** One HTTPS request trusting only the test CA, on a new connection unless agent is given. */
async function httpsRequest(port, { method = 'GET', path = PATH, headers = {}, body, agent = false, servername } = {}) {
  const req = https.request({ host: '127.0.0.1', port, method, path, headers, agent, ca: ca.pem, servername });
  req.end(body);
  const [res] = await Promise.race([once(req, 'response'),
    sleep(BOUND_MS, null, { ref: false }).then(() => { throw new Error(`no answer to ${method} ${path} within ${BOUND_MS} ms`); })]);
  let text = '';
  res.setEncoding('utf8');
  for await (const chunk of res) text += chunk;
  return { status: res.statusCode, headers: res.headers, body: text };
}

/** One plain HTTP request on a new connection. */
async function httpRequest(port, { method = 'GET', path = PATH, headers = {}, body } = {}) {
  const req = http.request({ host: '127.0.0.1', port, method, path, headers, agent: false });
  req.end(body);
  const [res] = await once(req, 'response');
  let text = '';
  res.setEncoding('utf8');
  for await (const chunk of res) text += chunk;
  return { status: res.statusCode, headers: res.headers, body: text };
}

/**
 * Buffers everything socket receives from now on (so no 'data' event is ever missed between reads):
 * { buf, closed, error, wait(ms) }, wait() resolving at the next data, close or after ms.
 */
function attachReader(socket) {
  const reader = { buf: Buffer.alloc(0), closed: false, error: null };
  let wake = () => {};
  const notify = () => { const w = wake; wake = () => {}; w(); };
  socket.on('data', (d) => { reader.buf = Buffer.concat([reader.buf, d]); notify(); });
  socket.on('close', () => { reader.closed = true; notify(); });
  socket.on('error', (e) => { reader.error = e; });
  reader.wait = (ms) => new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    wake = () => { clearTimeout(timer); resolve(); };
  });
  return reader;
}
const readers = new WeakMap();

/**
 * A TLS handshake with corsd trusting only the test CA (node:tls options added). Resolves to
 * { socket } once it is secure, or { error } (the handshake failed) or { closed } (closed before it was
 * secure). Rejects if neither happens within BOUND_MS. The socket keeps every session (ticket) it is
 * given in socket.sessions, and what it receives for exchange().
 */
function tlsHandshake(port, options = {}) {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca: ca.pem, ...options });
    socket.sessions = [];
    socket.on('session', (s) => socket.sessions.push(s));
    readers.set(socket, attachReader(socket));
    let settled = false;
    const done = (r) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (!r.socket) socket.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => {
      socket.destroy();
      settled = true;
      reject(new Error(`the TLS handshake with 127.0.0.1:${port} neither finished nor failed within ${BOUND_MS} ms`));
    }, BOUND_MS);
    socket.once('secureConnect', () => done({ socket }));
    socket.on('error', (error) => done({ error }));
    socket.once('close', () => done({ closed: true }));
  });
}

/** Like tlsHandshake, but it must succeed: the secure socket. */
async function tlsConnect(port, options = {}) {
  const r = await tlsHandshake(port, options);
  assert.ok(r.socket, `the TLS handshake with 127.0.0.1:${port} failed: ${r.error?.message ?? 'closed'}`);
  return r.socket;
}

/**
 * Sends one HTTP/1.1 request on a socket from tlsConnect and reads one answer with a Content-Length
 * body (or none, for 204): { status, head, headers: { lower-case name: value }, body }.
 */
async function exchange(socket, { method = 'GET', path = PATH, headers = {}, body = '' } = {}) {
  const reader = readers.get(socket);
  const lines = [`${method} ${path} HTTP/1.1`, 'Host: localhost', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
  if (body || method === 'PUT' || method === 'POST') lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
  socket.write(`${lines.join('\r\n')}\r\n\r\n${body}`);
  const deadline = Date.now() + BOUND_MS;
  for (;;) {
    const { buf } = reader;
    const end = buf.indexOf('\r\n\r\n');
    if (end >= 0) {
      const head = buf.subarray(0, end).toString('latin1');
      const [start, ...fields] = head.split('\r\n');
      const fieldsByName = Object.fromEntries(fields.map((f) => [f.slice(0, f.indexOf(':')).toLowerCase(), f.slice(f.indexOf(':') + 1).trim()]));
      const status = Number(start.split(' ')[1]);
      const length = status === 204 ? 0 : Number(fieldsByName['content-length']);
      if (buf.length >= end + 4 + length) {
        reader.buf = buf.subarray(end + 4 + length);
        return { status, head, headers: fieldsByName, body: buf.subarray(end + 4, end + 4 + length).toString('utf8') };
      }
    }
    const what = `${method} ${path}: got ${JSON.stringify(buf.toString('latin1'))}`;
    assert.ok(!reader.closed, `the connection closed before a whole answer (${reader.error?.message ?? 'no error'}); ${what}`);
    assert.ok(Date.now() < deadline, `no whole answer within ${BOUND_MS} ms; ${what}`);
    await reader.wait(Math.max(1, deadline - Date.now()));
  }
}

/**
 * A raw TCP connection that sends bytes (if any) and reads until the peer closes: { text, ms } (text
 * latin1, with '[error CODE]' appended on a reset). Rejects if the peer has not closed within BOUND_MS.
 */
function rawUntilClose(port, bytes) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const t0 = Date.now();
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`127.0.0.1:${port} did not close within ${BOUND_MS} ms; got ${JSON.stringify(buf.toString('latin1'))}`));
    }, BOUND_MS);
    socket.on('connect', () => { if (bytes) socket.write(bytes); });
    socket.on('data', (d) => { buf = Buffer.concat([buf, d]); });
    socket.on('error', (e) => { buf = Buffer.concat([buf, Buffer.from(`[error ${e.code}]`)]); });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text: buf.toString('latin1'), ms: Date.now() - t0 });
    });
  });
}

/** The bytes of a real ClientHello (node:tls's, SNI localhost, ALPN h2 and http/1.1), caught by a TCP server. */
async function captureClientHello() {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const hello = new Promise((resolve) => server.once('connection', (s) => s.once('data', (d) => { resolve(d); s.destroy(); })));
  const client = tls.connect({ host: '127.0.0.1', port: server.address().port, servername: 'localhost', ALPNProtocols: ['h2', 'http/1.1'] });
  client.on('error', () => {});
  const bytes = await hello;
  client.destroy();
  server.close();
  assert.equal(bytes[0], 0x16, 'a TLS handshake record');
  return bytes;
}

/** Waits until corsd's stderr has a line matching re after `from` characters; returns it. */
async function logLine(corsd, from, re) {
  const until = Date.now() + BOUND_MS;
  for (;;) {
    const line = corsd.stderr().slice(from).split('\n').find((l) => re.test(l));
    if (line) return line;
    assert.ok(Date.now() < until, `no log line matching ${re}\n${corsd.output()}`);
    await sleep(20);
  }
}

const escapeRe = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const ROUTE = `[[routes]]\npath = "/"\nallow_origins = ["${ORIGIN}"]\nallow_methods = ["PUT"]\n`;

describe('HTTPS listeners', () => {
  let corsd;
  let demoPort;
  let adminPort;
  before(async () => {
    corsd = await startCorsd(['--tls-cert', leaf.cert, '--tls-key', leaf.key, '--listen', '127.0.0.1:0',
      '--demo-listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0', '--threads', '2',
      '--header-timeout', String(HEADER_TIMEOUT_S)]);
    demoPort = Number(new URL(corsd.demoUrl).port);
    adminPort = Number(new URL(corsd.adminUrl).port);
  });
  after(async () => { await corsd?.stop(); });

  test('the ready line names https:// for the API and the demo, http:// for the admin listener', T, () => {
    assert.match(corsd.stdout(), new RegExp(`ready: api https://127\\.0\\.0\\.1:${corsd.port} ` +
      `demo https://127\\.0\\.0\\.1:${demoPort}/ admin http://127\\.0\\.0\\.1:${adminPort}\\n`), corsd.output());
  });

  test('a CORS preflight over HTTPS is answered 204 with the CORS headers', T, async () => {
    const r = await httpsRequest(corsd.port, {
      method: 'OPTIONS',
      headers: { origin: ORIGIN, 'access-control-request-method': 'PUT', 'access-control-request-headers': 'content-type' },
    });
    assert.equal(r.status, 204, JSON.stringify(r));
    assert.equal(r.headers['access-control-allow-origin'], ORIGIN);
    assert.match(r.headers['access-control-allow-methods'], /\bPUT\b/);
    assert.match(r.headers['access-control-allow-headers'], /\bcontent-type\b/);
    assert.equal(r.headers['access-control-max-age'], '10');
    assert.equal(r.body, '');
  });

  test('a PUT over HTTPS is echoed byte for byte, with Access-Control-Allow-Origin', T, async () => {
    const body = JSON.stringify({ name: 'Zoë 日本' });
    const r = await httpsRequest(corsd.port, { method: 'PUT', headers: { origin: ORIGIN, 'content-type': 'application/json' }, body });
    assert.equal(r.status, 200, JSON.stringify(r));
    assert.equal(r.headers['access-control-allow-origin'], ORIGIN);
    assert.equal(r.body, `Thank You For The Cross-Domain AJAX Request:\n\nMethod: PUT\n\n${body}`);
    assert.equal(Number(r.headers['content-length']), Buffer.byteLength(r.body));
  });

  test('the certificate is checked by name too: SNI localhost matches its DNS SAN', T, async () => {
    const r = await httpsRequest(corsd.port, { servername: 'localhost', headers: { origin: ORIGIN } });
    assert.equal(r.status, 200);
    const socket = await tlsConnect(corsd.port, { servername: 'localhost' });
    assert.equal(socket.authorized, true);
    assert.equal(socket.getPeerCertificate().serialNumber.toUpperCase(), leaf.serial);
    assert.equal(socket.getPeerCertificate().fingerprint256, leaf.fingerprint256);
    socket.destroy();
  });

  test('the demo listener speaks HTTPS and its page calls the https:// API origin', T, async () => {
    const r = await httpsRequest(demoPort, { path: '/' });
    assert.equal(r.status, 200);
    assert.match(r.headers['content-type'], /^text\/html/);
    assert.match(r.body, new RegExp(`<meta name="corsd-api-origin" content="https://127\\.0\\.0\\.1:${corsd.port}">`));
  });

  test('the admin listener stays plain HTTP', T, async () => {
    const r = await httpRequest(adminPort, { path: '/livez' });
    assert.equal(r.status, 200);
    assert.equal(r.body, 'ok\n');
    const hs = await tlsHandshake(adminPort);
    assert.ok(!hs.socket, 'no TLS handshake on the admin listener');
    hs.socket?.destroy();
  });

  test('TLS 1.2 and TLS 1.3 are accepted', T, async () => {
    for (const version of ['TLSv1.2', 'TLSv1.3']) {
      const socket = await tlsConnect(corsd.port, { minVersion: version, maxVersion: version });
      assert.equal(socket.getProtocol(), version);
      const r = await exchange(socket, { headers: { origin: ORIGIN } });
      assert.equal(r.status, 200, `${version}: ${r.head}`);
      socket.destroy();
    }
  });

  test('TLS 1.1 and 1.0 are refused with a protocol_version alert (the client can speak them)', T, async () => {
    // Control: the same client options negotiate TLS 1.1 with a Node.js server that allows it, so the
    // refusal below is corsd's, not the client's inability to offer the version.
    const weak = { ciphers: 'DEFAULT@SECLEVEL=0' };
    const control = tls.createServer({ key: readFileSync(leaf.key), cert: leaf.pem, minVersion: 'TLSv1', ...weak });
    control.listen(0, '127.0.0.1');
    await once(control, 'listening');
    try {
      const socket = await tlsConnect(control.address().port, { minVersion: 'TLSv1.1', maxVersion: 'TLSv1.1', ...weak });
      assert.equal(socket.getProtocol(), 'TLSv1.1');
      socket.destroy();
    } finally {
      control.close();
    }
    for (const version of ['TLSv1.1', 'TLSv1']) {
      const r = await tlsHandshake(corsd.port, { minVersion: version, maxVersion: version, ...weak });
      r.socket?.destroy();
      assert.ok(!r.socket, `${version} must be refused, got ${r.socket?.getProtocol()}`);
      assert.equal(r.error?.code, 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION', `${version}: ${r.error?.message ?? 'closed'}`);
    }
  });

  test('ALPN: offered h2 and http/1.1, corsd picks h2 (tests/h2 serve it); http/1.1 alone, http/1.1', T, async () => {
    const socket = await tlsConnect(corsd.port, { ALPNProtocols: ['http/1.1', 'h2'] });
    assert.equal(socket.alpnProtocol, 'h2', "the server's preference decides");
    socket.destroy();
    const only = await tlsConnect(corsd.port, { ALPNProtocols: ['http/1.1'] });
    assert.equal(only.alpnProtocol, 'http/1.1');
    assert.equal((await exchange(only, { headers: { origin: ORIGIN } })).status, 200);
    only.destroy();
    const none = await tlsConnect(corsd.port);
    assert.equal(none.alpnProtocol, false, 'no ALPN offered, none selected');
    none.destroy();
  });

  for (const version of ['TLSv1.2', 'TLSv1.3']) {
    test(`${version}: a session is resumed by its ticket`, T, async () => {
      const first = await tlsConnect(corsd.port, { minVersion: version, maxVersion: version });
      assert.equal(first.isSessionReused(), false);
      // TLS 1.3 sends its tickets after the handshake: a request and its answer make sure they arrived.
      assert.equal((await exchange(first, { headers: { origin: ORIGIN } })).status, 200);
      for (const until = Date.now() + BOUND_MS; first.sessions.length === 0 && Date.now() < until;) await sleep(10);
      const ticket = first.sessions.at(-1);
      assert.ok(ticket, `${version}: corsd sent no session`);
      assert.ok(first.getTLSTicket()?.length > 0, `${version}: the session must come with a ticket (RFC 5077 / RFC 8446 §4.6.1)`);
      first.end();
      const second = await tlsConnect(corsd.port, { minVersion: version, maxVersion: version, session: ticket });
      assert.equal(second.isSessionReused(), true, `${version}: the session must be resumed`);
      assert.equal(second.getProtocol(), version);
      assert.equal((await exchange(second, { headers: { origin: ORIGIN } })).status, 200);
      second.destroy();
    });
  }

  test('plain HTTP on the TLS port gets a plain-text 400 saying to use https://, and the close', T, async () => {
    const r = await rawUntilClose(corsd.port, 'GET / HTTP/1.1\r\nHost: localhost\r\n\r\n');
    const body = 'bad request: this port speaks HTTPS; call it with https:// instead\n';
    assert.match(r.text, /^HTTP\/1\.1 400 Bad Request\r\n/, JSON.stringify(r.text));
    const [head, rest] = r.text.split('\r\n\r\n');
    assert.match(head, /\r\nConnection: close(\r\n|$)/i);
    assert.match(head, new RegExp(`\\r\\nContent-Length: ${Buffer.byteLength(body)}(\\r\\n|$)`, 'i'));
    assert.equal(rest, body);
    // The same through node:http, which parses the answer.
    const parsed = await httpRequest(corsd.port, { path: '/' });
    assert.equal(parsed.status, 400);
    assert.equal(parsed.headers.connection, 'close');
    assert.equal(parsed.body, body);
  });

  test('a client that sends nothing, or half a ClientHello, is closed after the header timeout', T, async () => {
    const hello = await captureClientHello();
    // In parallel: each waits for the timeout. Bounded, not timed: the close comes, within BOUND_MS.
    const [silent, half, recordHeader] = await Promise.all([
      rawUntilClose(corsd.port),
      rawUntilClose(corsd.port, hello.subarray(0, Math.floor(hello.length / 2))),
      rawUntilClose(corsd.port, hello.subarray(0, 5)),
    ]);
    for (const [what, r] of Object.entries({ silent, half, recordHeader })) {
      assert.ok(r.ms >= HEADER_TIMEOUT_S * 1000 * 0.5, `${what}: closed after ${r.ms} ms, before the header timeout`);
      assert.ok(!/^HTTP\//.test(r.text), `${what}: no HTTP answer on a half handshake: ${JSON.stringify(r.text)}`);
    }
    // And corsd still serves.
    assert.equal((await httpsRequest(corsd.port, { headers: { origin: ORIGIN } })).status, 200);
  });
});

describe('a TLS ClientHello to a plain-HTTP corsd', () => {
  let corsd;
  before(async () => {
    corsd = await startCorsd(['--listen', '127.0.0.1:0', '--no-demo', '--threads', '1',
      '--header-timeout', String(HEADER_TIMEOUT_S)]);
  });
  after(async () => { await corsd?.stop(); });

  test('gets a plain 400 answer or a close, never a hang', T, async () => {
    const hello = await captureClientHello();
    const r = await rawUntilClose(corsd.port, hello);
    assert.ok(r.text === '' || /^\[error /.test(r.text) || /^HTTP\/1\.1 400 /.test(r.text),
      `a plain 400 or a close, got ${JSON.stringify(r.text)}`);
    // node:tls sees the handshake fail (or the connection close), promptly.
    const hs = await tlsHandshake(corsd.port);
    hs.socket?.destroy();
    assert.ok(!hs.socket, 'no TLS handshake with a plain-HTTP corsd');
  });

  test('over plain HTTP the session cookie is SameSite=Lax, without Secure', T, async () => {
    const r = await httpRequest(corsd.port, { method: 'POST', path: '/session', headers: { origin: 'http://localhost:1' } });
    assert.equal(r.status, 200, JSON.stringify(r));
    assert.equal(r.headers['set-cookie']?.length, 1, JSON.stringify(r.headers));
    assert.match(r.headers['set-cookie'][0], /^corsd_session=[0-9a-f]{16}; Path=\/; HttpOnly; SameSite=Lax$/);
  });
});

describe('certificates chosen by SNI ([[tls.certificates]])', () => {
  let corsd;
  let sni;
  let config;
  before(async () => {
    sni = await makeLeaf(dir, ca, { name: 'sni' });
    config = join(dir, 'sni.toml');
    writeFileSync(config, [
      '[server]', 'listen = "127.0.0.1:0"', 'threads = 1', `tls_cert = "${leaf.cert}"`, `tls_key = "${leaf.key}"`,
      '[demo]', 'enabled = false',
      '[[tls.certificates]]', `cert = "${sni.cert}"`, `key = "${sni.key}"`, 'server_names = ["api.test", "*.wild.test"]',
      '[[routes]]', 'path = "/"', `allow_origins = ["${ORIGIN}"]`, '',
    ].join('\n'));
    corsd = await startCorsd(['--config', config]);
  });
  after(async () => { await corsd?.stop(); });

  /** The serial of the certificate presented to a client asking for `servername` (none: no SNI). */
  async function servedFor(servername) {
    // The name check is the client's business; what matters here is which certificate came.
    const socket = await tlsConnect(corsd.port, { servername, checkServerIdentity: () => undefined });
    const serial = socket.getPeerCertificate().serialNumber.toUpperCase();
    socket.destroy();
    return serial;
  }

  test('a listed name gets its certificate, a wildcard one label, anything else the default', T, async () => {
    assert.equal(await servedFor('api.test'), sni.serial);
    assert.equal(await servedFor('API.TEST'), sni.serial, 'names are case-insensitive');
    assert.equal(await servedFor('x.wild.test'), sni.serial);
    assert.equal(await servedFor('a.b.wild.test'), leaf.serial, 'a wildcard stands for one label only');
    assert.equal(await servedFor('wild.test'), leaf.serial);
    assert.equal(await servedFor('localhost'), leaf.serial);
    assert.equal(await servedFor(''), leaf.serial, 'no SNI');
  });

  test('--check-config lists the certificate; a bad name or a missing default is refused with file:line', T, async () => {
    const ok = await runCorsd(['--check-config', config]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /\[\[tls\.certificates\]\] cert = ".*sni\.pem" key = ".*sni\.key" server_names = \["api\.test", "\*\.wild\.test"\]/);
    const bad = join(dir, 'sni-bad.toml');
    writeFileSync(bad, readFileSync(config, 'utf8').replace('"api.test"', '"api test"'));
    const r = await runCorsd(['--check-config', bad]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /sni-bad\.toml:\d+: server_names "api test" is not a host name/);
    const lonely = join(dir, 'sni-lonely.toml');
    writeFileSync(lonely, readFileSync(config, 'utf8').replace(/^tls_(cert|key) = .*\n/gm, ''));
    const l = await runCorsd(['--check-config', lonely]);
    assert.equal(l.code, 2);
    assert.match(l.stderr, /\[\[tls\.certificates\]\] without \[server\] tls_cert/);
  });
});

describe('OCSP stapling (--tls-ocsp)', () => {
  /** The OCSP response corsd staples to a handshake that asks for one, or null. */
  async function stapled(port) {
    const socket = tls.connect({ host: '127.0.0.1', port, ca: ca.pem, requestOCSP: true });
    const [response] = await Promise.race([once(socket, 'OCSPResponse'),
      once(socket, 'secureConnect').then(() => [null])]);
    socket.destroy();
    return response;
  }

  test('a good response is stapled for clients that ask; a revoked one only warns; garbage is refused', T, async () => {
    const good = await makeOcspResponse(dir, ca, leaf, { name: 'good' });
    const corsd = await startCorsd(['--tls-cert', leaf.cert, '--tls-key', leaf.key, '--tls-ocsp', good,
      '--listen', '127.0.0.1:0', '--no-demo', '--threads', '1']);
    try {
      const response = await stapled(corsd.port);
      assert.ok(response, 'an OCSP response was stapled');
      assert.deepEqual(response, readFileSync(good), 'the file, byte for byte');
    } finally {
      await corsd.stop();
    }
    const revoked = await makeOcspResponse(dir, ca, leaf, { name: 'revoked', revoked: true });
    const warned = await startCorsd(['--tls-cert', leaf.cert, '--tls-key', leaf.key, '--tls-ocsp', revoked,
      '--listen', '127.0.0.1:0', '--no-demo', '--threads', '1']);
    try {
      assert.match(warned.stderr(), /corsd: warning: .*revoked\.der: the OCSP response does not say the certificate is good; it is not stapled/);
      assert.equal(await stapled(warned.port), null, 'nothing stapled');
    } finally {
      await warned.stop();
    }
    const r = await runCorsd(['--tls-cert', leaf.cert, '--tls-key', leaf.key, '--tls-ocsp', leaf.cert,
      '--listen', '127.0.0.1:0', '--no-demo']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /server\.pem: not a successful DER OCSP response/);
  });
});

describe('the session cookie over HTTPS', () => {
  let corsd;
  before(async () => {
    corsd = await startCorsd(['--tls-cert', leaf.cert, '--tls-key', leaf.key, '--listen', '127.0.0.1:0',
      '--demo-listen', '127.0.0.1:0', '--threads', '1']);
  });
  after(async () => { await corsd?.stop(); });

  test('POST /session sets it Secure; SameSite=None, and GET /whoami gets it back', T, async () => {
    const r = await httpsRequest(corsd.port, { method: 'POST', path: '/session', headers: { origin: ORIGIN } });
    assert.equal(r.status, 200, JSON.stringify(r));
    assert.equal(r.headers['set-cookie']?.length, 1, JSON.stringify(r.headers));
    const m = r.headers['set-cookie'][0].match(/^corsd_session=([0-9a-f]{16}); Path=\/; HttpOnly; Secure; SameSite=None$/);
    assert.ok(m, r.headers['set-cookie'][0]);
    assert.equal(r.body, `session started: ${m[1]}\n`);
    const w = await httpsRequest(corsd.port, { path: '/whoami', headers: { origin: ORIGIN, cookie: `corsd_session=${m[1]}` } });
    assert.equal(w.status, 200);
    assert.equal(w.body, `cookie: corsd_session=${m[1]}\nauthorization: (none)\n`);
  });
});

describe('X-Forwarded-Proto through the proxy', () => {
  let upstream;
  let seen;
  let tlsCorsd;
  let plainCorsd;
  before(async () => {
    seen = [];
    upstream = http.createServer((req, res) => {
      seen.push(req.headers);
      req.resume();
      req.on('end', () => res.end(`upstream ${req.method} ${req.url}`));
    });
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    const proxy = ['--no-demo', '--listen', '127.0.0.1:0', '--threads', '1',
      '--upstream', `http://127.0.0.1:${upstream.address().port}`, '--allow-origin', ORIGIN];
    [tlsCorsd, plainCorsd] = await Promise.all([
      startCorsd([...proxy, '--tls-cert', leaf.cert, '--tls-key', leaf.key]),
      startCorsd(proxy),
    ]);
  });
  after(async () => {
    await Promise.all([tlsCorsd?.stop(), plainCorsd?.stop()]);
    upstream?.close();
  });

  test('a request that came over HTTPS is forwarded with X-Forwarded-Proto: https', T, async () => {
    seen.length = 0;
    const r = await httpsRequest(tlsCorsd.port, { path: '/items/1', headers: { origin: ORIGIN } });
    assert.equal(r.status, 200, JSON.stringify(r));
    assert.equal(r.body, 'upstream GET /items/1');
    assert.equal(r.headers['access-control-allow-origin'], ORIGIN);
    assert.equal(seen.length, 1);
    assert.equal(seen[0]['x-forwarded-proto'], 'https', JSON.stringify(seen[0]));
  });

  test('a client cannot claim https over plain HTTP: X-Forwarded-Proto says http', T, async () => {
    seen.length = 0;
    const r = await httpRequest(plainCorsd.port, { path: '/items/2', headers: { origin: ORIGIN, 'x-forwarded-proto': 'https' } });
    assert.equal(r.status, 200, JSON.stringify(r));
    assert.equal(seen.length, 1);
    assert.equal(seen[0]['x-forwarded-proto'], 'http', JSON.stringify(seen[0]));
  });
});

describe('start-up refusals of bad TLS files', () => {
  const listen = ['--listen', '127.0.0.1:0', '--demo-listen', '127.0.0.1:0'];
  let noCert;
  before(() => {
    noCert = join(dir, 'no-certificate.pem');
    writeFileSync(noCert, 'this file holds no certificate\n');
  });

  const refusals = () => [
    ['an unreadable certificate file', ['--tls-cert', join(dir, 'missing.pem'), '--tls-key', leaf.key],
      new RegExp(`${escapeRe(join(dir, 'missing.pem'))}: cannot read it: No such file or directory`)],
    ['an unreadable key file', ['--tls-cert', leaf.cert, '--tls-key', join(dir, 'missing.key')],
      new RegExp(`${escapeRe(join(dir, 'missing.key'))}: cannot read it: No such file or directory`)],
    ['a file with no PEM certificate', ['--tls-cert', noCert, '--tls-key', leaf.key],
      new RegExp(`${escapeRe(noCert)}: holds no PEM certificate`)],
    ['a key given as the certificate', ['--tls-cert', leaf.key, '--tls-key', leaf.key],
      new RegExp(`${escapeRe(leaf.key)}: holds no PEM certificate`)],
    ['a key that does not match the certificate', ['--tls-cert', leaf.cert, '--tls-key', otherKey],
      new RegExp(`${escapeRe(otherKey)}: the key does not belong to the certificate in ${escapeRe(leaf.cert)}`)],
    ['a passphrase-encrypted key', ['--tls-cert', leaf.cert, '--tls-key', encryptedKey],
      new RegExp(`${escapeRe(encryptedKey)}: the key is encrypted with a passphrase`)],
    ['--tls-cert without --tls-key', ['--tls-cert', leaf.cert], /a TLS certificate without its key/],
    ['--tls-key without --tls-cert', ['--tls-key', leaf.key], /a TLS key without its certificate/],
  ];

  test('each is refused with exit code 2 and a message naming the file', T, async () => {
    // In parallel: each is a short run to its exit.
    const cases = refusals();
    const runs = await Promise.all(cases.map(([, args]) => runCorsd([...args, ...listen])));
    cases.forEach(([what, args, re], i) => {
      const r = runs[i];
      const info = `${what}: corsd ${args.join(' ')}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;
      assert.equal(r.code, 2, info);
      assert.match(r.stderr, /^corsd: error: /m, info);
      assert.match(r.stderr, re, info);
      assert.doesNotMatch(r.stdout, /ready:/, info);
    });
  });

  test('an expired certificate only warns: corsd starts and serves it', T, async () => {
    const corsd = await startCorsd(['--tls-cert', expired.cert, '--tls-key', expired.key,
      '--listen', 'localhost:0', '--demo-listen', 'localhost:0', '--threads', '1']);
    try {
      assert.match(corsd.stderr(),
        new RegExp(`corsd: warning: ${escapeRe(expired.cert)}: the certificate expired on Jan +2 00:00:00 2020 GMT`), corsd.output());
      assert.match(corsd.stdout(), /ready: api https:\/\/localhost:\d+ demo https:\/\/localhost:\d+\/\n/, corsd.output());
      // What it serves is the expired certificate: a client that trusts the CA refuses it for that reason.
      const hs = await tlsHandshake(corsd.port);
      hs.socket?.destroy();
      assert.equal(hs.error?.code, 'CERT_HAS_EXPIRED', hs.error?.message ?? 'handshake succeeded');
    } finally {
      await corsd.stop();
    }
  });

  test('--check-config loads the TLS files (paths relative to the config file) and fails the same way', T, async () => {
    const cfgDir = join(dir, 'check-config');
    mkdirSync(join(cfgDir, 'tls'), { recursive: true });
    copyFileSync(leaf.cert, join(cfgDir, 'tls', 'cert.pem'));
    copyFileSync(leaf.key, join(cfgDir, 'tls', 'key.pem'));
    copyFileSync(otherKey, join(cfgDir, 'tls', 'other.key'));
    copyFileSync(encryptedKey, join(cfgDir, 'tls', 'encrypted.key'));
    const write = (name, tlsLines) => {
      const file = join(cfgDir, name);
      writeFileSync(file, `[server]\n${tlsLines}\n${ROUTE}`);
      return file;
    };
    const good = write('good.toml', 'tls_cert = "tls/cert.pem"\ntls_key = "tls/key.pem"');
    const ok = await runCorsd(['--check-config', good]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /config OK/);
    assert.match(ok.stdout, new RegExp(`\\[server\\] tls_cert = "${escapeRe(join(cfgDir, 'tls', 'cert.pem'))}"`), ok.stdout);
    assert.match(ok.stdout, new RegExp(`\\[server\\] tls_key = "${escapeRe(join(cfgDir, 'tls', 'key.pem'))}"`), ok.stdout);

    copyFileSync(expired.cert, join(cfgDir, 'tls', 'expired.pem'));
    copyFileSync(expired.key, join(cfgDir, 'tls', 'expired.key'));
    const old = await runCorsd(['--check-config', write('expired.toml', 'tls_cert = "tls/expired.pem"\ntls_key = "tls/expired.key"')]);
    assert.equal(old.code, 0, `an expired certificate only warns: ${old.stderr}`);
    assert.match(old.stdout, /config OK/);
    assert.match(old.stderr, new RegExp(`corsd: warning: ${escapeRe(join(cfgDir, 'tls', 'expired.pem'))}: the certificate expired on `));

    const bad = [
      ['mismatch.toml', 'tls_cert = "tls/cert.pem"\ntls_key = "tls/other.key"',
        new RegExp(`${escapeRe(join(cfgDir, 'tls', 'other.key'))}: the key does not belong to the certificate in ` +
          `${escapeRe(join(cfgDir, 'tls', 'cert.pem'))}`)],
      ['missing.toml', 'tls_cert = "tls/nope.pem"\ntls_key = "tls/key.pem"',
        new RegExp(`${escapeRe(join(cfgDir, 'tls', 'nope.pem'))}: cannot read it: No such file or directory`)],
      ['encrypted.toml', 'tls_cert = "tls/cert.pem"\ntls_key = "tls/encrypted.key"', /the key is encrypted with a passphrase/],
      ['nocert.toml', 'tls_cert = "tls/key.pem"\ntls_key = "tls/key.pem"', /holds no PEM certificate/],
      ['nokey.toml', 'tls_cert = "tls/cert.pem"', /a TLS certificate without its key/],
    ];
    const runs = await Promise.all(bad.map(([name, lines]) => runCorsd(['--check-config', write(name, lines)])));
    bad.forEach(([name, lines, re], i) => {
      const info = `${name} (${lines}): ${runs[i].stdout}\n${runs[i].stderr}`;
      assert.equal(runs[i].code, 2, info);
      assert.match(runs[i].stderr, re, info);
      assert.doesNotMatch(runs[i].stdout, /config OK/, info);
    });
  });
});

describe('reload on SIGHUP with new TLS files', () => {
  let rdir;
  let file;
  let corsd;
  let certB;
  let certC;
  let keepAlive; // a TLS connection opened before the reloads

  const config = (tlsLines) => `[server]\nthreads = 2\n${tlsLines}\n[demo]\nenabled = false\n${ROUTE}`;
  const reload = (text) => {
    const from = corsd.stderr().length;
    if (text !== undefined) writeFileSync(file, text);
    corsd.proc.kill('SIGHUP');
    return from;
  };
  /** The serial of the certificate a new handshake presents (checked against the test CA). */
  const servedSerial = async () => {
    const socket = await tlsConnect(corsd.port);
    const serial = socket.getPeerCertificate().serialNumber.toUpperCase();
    socket.destroy();
    return serial;
  };
  /** Polls new handshakes until one presents `serial` or BOUND_MS passes; returns the last serial. */
  const eventuallyServed = async (serial) => {
    const until = Date.now() + BOUND_MS;
    for (;;) {
      const s = await servedSerial();
      if (s === serial || Date.now() > until) return s;
      await sleep(20);
    }
  };
  /** Every one of a few new handshakes presents `serial` (each worker serves the same certificate). */
  const allServed = async (serial, what) => {
    for (let i = 0; i < 6; i++) assert.equal(await servedSerial(), serial, `${what} (handshake ${i + 1})`);
  };

  before(async () => {
    rdir = join(dir, 'reload');
    mkdirSync(rdir);
    [certB, certC] = await Promise.all([makeLeaf(rdir, ca, { name: 'b' }), makeLeaf(rdir, ca, { name: 'c' })]);
    copyFileSync(leaf.cert, join(rdir, 'cert.pem'));
    copyFileSync(leaf.key, join(rdir, 'key.pem'));
    file = join(rdir, 'corsd.toml');
    writeFileSync(file, config('tls_cert = "cert.pem"\ntls_key = "key.pem"'));
    corsd = await startCorsd(['--config', file, '--listen', '127.0.0.1:0']);
  });
  after(async () => {
    keepAlive?.destroy();
    await corsd?.stop();
  });

  test('same paths, new content: new handshakes get the new certificate, an open connection keeps working', T, async () => {
    keepAlive = await tlsConnect(corsd.port);
    assert.equal(keepAlive.getPeerCertificate().serialNumber.toUpperCase(), leaf.serial);
    assert.equal((await exchange(keepAlive, { headers: { origin: ORIGIN } })).status, 200);
    await allServed(leaf.serial, 'before the reload');

    copyFileSync(certB.cert, join(rdir, 'cert.pem'));
    copyFileSync(certB.key, join(rdir, 'key.pem'));
    const from = reload();
    assert.match(await logLine(corsd, from, /reloaded|reload refused/), /reloaded: 1 route/);
    assert.equal(await eventuallyServed(certB.serial), certB.serial, corsd.output());
    await allServed(certB.serial, 'after the reload');

    const r = await exchange(keepAlive, { method: 'PUT', headers: { origin: ORIGIN }, body: 'still here' });
    assert.equal(r.status, 200, `the connection opened before the reload must keep working: ${r.head}`);
    assert.equal(r.body, 'Thank You For The Cross-Domain AJAX Request:\n\nMethod: PUT\n\nstill here');
  });

  test('new paths in the config file: new handshakes get that certificate', T, async () => {
    const from = reload(config(`tls_cert = "${certC.cert}"\ntls_key = "c.key"`));
    assert.match(await logLine(corsd, from, /reloaded|reload refused/), /reloaded: 1 route/);
    assert.equal(await eventuallyServed(certC.serial), certC.serial, corsd.output());
    await allServed(certC.serial, 'after the reload to new paths');
    assert.equal((await exchange(keepAlive, { headers: { origin: ORIGIN } })).status, 200);
  });

  test('a key that does not match is refused, and the old certificate keeps being served', T, async () => {
    // New paths whose key is another one.
    let from = reload(config(`tls_cert = "b.pem"\ntls_key = "${otherKey}"`));
    let line = await logLine(corsd, from, /reload refused|reloaded/);
    assert.match(line, /reload refused, the running configuration stays: /);
    assert.ok(line.includes(`${otherKey}: the key does not belong to the certificate in ${join(rdir, 'b.pem')}`), line);
    await sleep(200);
    await allServed(certC.serial, 'after the refused reload (new paths)');

    // The same paths as running, the key file's content replaced by another key.
    writeFileSync(file, config(`tls_cert = "${certC.cert}"\ntls_key = "c.key"`));
    copyFileSync(otherKey, join(rdir, 'c.key'));
    from = reload();
    line = await logLine(corsd, from, /reload refused|reloaded/);
    assert.match(line, /reload refused, the running configuration stays: /);
    assert.ok(line.includes(`${join(rdir, 'c.key')}: the key does not belong to the certificate in ${certC.cert}`), line);
    await sleep(200);
    await allServed(certC.serial, 'after the refused reload (same paths)');
    assert.equal((await exchange(keepAlive, { headers: { origin: ORIGIN } })).status, 200);
    assert.equal(corsd.proc.exitCode, null, 'corsd still runs');
  });

  test('turning TLS off by reload takes a restart: HTTPS stays', T, async () => {
    copyFileSync(certC.key, join(rdir, 'c.key'));
    const from = reload(config(''));
    assert.match(await logLine(corsd, from, /takes a restart/), /tls_cert.*takes a restart/);
    await logLine(corsd, from, /reloaded: 1 route/);
    await allServed(certC.serial, 'after the reload without TLS');
    const plain = await rawUntilClose(corsd.port, 'GET / HTTP/1.1\r\nHost: localhost\r\n\r\n');
    assert.match(plain.text, /^HTTP\/1\.1 400 Bad Request\r\n[^]*this port speaks HTTPS/);
  });

  test('turning TLS on by reload takes a restart: plain HTTP stays', T, async () => {
    const pfile = join(rdir, 'plain.toml');
    writeFileSync(pfile, config(''));
    const plain = await startCorsd(['--config', pfile, '--listen', '127.0.0.1:0']);
    try {
      const from = plain.stderr().length;
      writeFileSync(pfile, config(`tls_cert = "${certB.cert}"\ntls_key = "${certB.key}"`));
      plain.proc.kill('SIGHUP');
      assert.match(await logLine(plain, from, /takes a restart/), /tls_cert.*takes a restart/);
      await logLine(plain, from, /reloaded: 1 route/);
      const r = await httpRequest(plain.port, { headers: { origin: ORIGIN } });
      assert.equal(r.status, 200, 'still plain HTTP');
      const hs = await tlsHandshake(plain.port);
      hs.socket?.destroy();
      assert.ok(!hs.socket, 'no TLS after the reload');
    } finally {
      await plain.stop();
    }
  });
});
