// corsd's HTTP/2 (RFC 9113) over TLS: with --tls-cert/--tls-key, ALPN offers h2 (preferred) and http/1.1,
// --no-http2 offers http/1.1 only. Checked here with node:http2 (a real client), a raw frame client
// (../support/h2frames.mjs, for what must be seen frame by frame), curl --http2 and nghttp:
//   - negotiation: ALPN h2 by node:tls, curl and nghttp; http/1.1 with --no-http2;
//   - the echo API and the demo as on HTTP/1.1: preflights (204 with the policy's headers, 403 with the
//     reason), PUT/DELETE echoed, HEAD with GET's content-length and no DATA, /session's Secure;
//     SameSite=None cookie and /whoami (several cookie fields joined with "; "), the demo's static files;
//     TRACE/TRACK 405 with Allow and CONNECT 501 as on HTTP/1.1, a path climbing above "/" 400, a body
//     over --max-body 413, a header block over --max-header-bytes 431, each stream ended and the
//     connection usable after; the access log says "HTTP/2.0", /metrics counts the answers;
//   - the proxy: request bodies with and without content-length (then chunked upstream), answers
//     streamed back, the upstream's Access-Control-* replaced by the policy's on every status,
//     X-Forwarded-Proto: https; 64 MiB down and up and 1 GiB down intact (sha256, peak RSS under 32 MiB),
//     a slow reader slowing the upstream
//     with corsd's peak RSS under 64 MiB, the upstream exchange ended when the client resets;
//   - SIGTERM with a stream in flight: GOAWAY(NO_ERROR), the stream completes, exit 0.
// The attacks and limits (floods, resets, bombs, stalls, max_concurrent_streams) are in attacks.test.mjs.
// Real corsd, loopback only, certificates from a test CA made here (../support/certs.mjs).
//
//   node --test tests/h2/h2.test.mjs        (CORSD_BIN defaults to build/corsd)

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import tls from 'node:tls';
import { promisify } from 'node:util';

import { makeCa, makeLeaf } from '../support/certs.mjs';
import { killCorsd, startCorsd } from '../support/corsd.mjs';
import { connectH2, ERROR, errorName, field, rstStreamFrame, windowUpdateFrame } from '../support/h2frames.mjs';

const execFileP = promisify(execFile);

const T = { timeout: 20_000 };
const ORIGIN = 'https://app.test';
const PATH = '/some/url/resource/path';
/** Upper bound for an answer corsd composes from memory, or anything else that must come "soon". */
const BOUND_MS = 3_000;
const MiB = 1024 * 1024;

let dir; // this file's own directory: certificates, the access log
let ca;
let leaf;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'corsd-h2-'));
  ca = await makeCa(dir);
  leaf = await makeLeaf(dir, ca, { name: 'server' });
});
after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const tlsArgs = () => ['--tls-cert', leaf.cert, '--tls-key', leaf.key];

/** A node:http2 session to corsd trusting the test CA; resolves once connected. */
async function h2session(port) {
  const session = http2.connect(`https://127.0.0.1:${port}`, { ca: ca.pem });
  session.on('error', () => {});
  await Promise.race([once(session, 'connect'),
    sleep(BOUND_MS, null, { ref: false }).then(() => { throw new Error(`no HTTP/2 session with port ${port}`); })]);
  assert.equal(session.alpnProtocol, 'h2');
  return session;
}

/**
 * One request on a node:http2 session: { status, headers, body (Buffer) }. headers: lower-case names,
 * pseudo-fields included (':method', ':path'). Rejects after ms.
 */
function h2fetch(session, headers, body, ms = BOUND_MS) {
  return new Promise((resolve, reject) => {
    // endStream given: node:http2 ends GET, HEAD and DELETE requests at once by default.
    const req = session.request(headers, { endStream: body === undefined });
    const timer = setTimeout(() => { req.close(http2.constants.NGHTTP2_CANCEL); reject(new Error(`no whole answer to ${JSON.stringify(headers)} within ${ms} ms`)); }, ms);
    let head;
    const chunks = [];
    req.on('response', (h) => { head = h; });
    req.on('data', (d) => chunks.push(d));
    req.on('end', () => { clearTimeout(timer); resolve({ status: head?.[':status'], headers: head, body: Buffer.concat(chunks) }); });
    req.on('error', (e) => { clearTimeout(timer); reject(e); });
    req.end(body);
  });
}

/**
 * One HTTP/1.1 request over TLS (ALPN http/1.1) with Connection: close, read to the close:
 * { status, headers: { lower-case name: value }, body }. For comparing h2's answers with HTTP/1.1's.
 */
function h1exchange(port, { method = 'GET', path = PATH, headers = {}, body = '' } = {}) {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca: ca.pem, servername: 'localhost', ALPNProtocols: ['http/1.1'] });
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => { socket.destroy(); reject(new Error(`HTTP/1.1 ${method} ${path}: no close within ${BOUND_MS} ms`)); }, BOUND_MS);
    socket.on('secureConnect', () => {
      const lines = [`${method} ${path} HTTP/1.1`, 'Host: localhost', 'Connection: close',
        ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
      if (body) lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
      socket.write(`${lines.join('\r\n')}\r\n\r\n${body}`);
    });
    socket.on('data', (d) => { buf = Buffer.concat([buf, d]); });
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      const end = buf.indexOf('\r\n\r\n');
      const [start, ...fields] = buf.subarray(0, end).toString('latin1').split('\r\n');
      resolve({
        status: Number(start.split(' ')[1]),
        headers: Object.fromEntries(fields.map((f) => [f.slice(0, f.indexOf(':')).toLowerCase(), f.slice(f.indexOf(':') + 1).trim()])),
        body: buf.subarray(end + 4).toString('utf8'),
      });
    });
  });
}

/** A raw h2 connection (../support/h2frames.mjs) trusting the test CA, its SETTINGS exchanged. */
async function rawConnect(port, options = {}) {
  const c = await connectH2(port, { ca: ca.pem, ...options });
  await c.waitFor(() => c.settingsFrames.length > 0 && c.settingsAcks > 0, BOUND_MS, 'the SETTINGS exchange');
  return c;
}

/**
 * A request on a raw connection that must be answered whole, its stream ended by the server:
 * { status, headers, body (string), dataFrames, reset }. Fails, saying what came instead, otherwise.
 */
async function rawExchange(c, request, what = `${request.method ?? 'GET'} ${request.path ?? '/'}`) {
  const id = c.request(request);
  const r = await c.response(id, BOUND_MS).catch((e) => assert.fail(`${what}: the stream did not end: ${e.message}`));
  assert.ok(r.headers, `${what}: no response HEADERS before the stream ended${r.reset !== undefined ? ` (RST_STREAM ${errorName(r.reset)})` : ''}; ${c.describe()}`);
  assert.ok(r.ended, `${what}: the stream must end with END_STREAM, not ${r.reset !== undefined ? `RST_STREAM ${errorName(r.reset)}` : 'a close'}; ${c.describe()}`);
  return { ...r, body: r.body.toString('utf8') };
}

/** The connection still answers: a GET of the echo API on it gets 200. */
async function assertUsable(c, what) {
  assert.ok(!c.closed && c.goaways.length === 0, `${what}: the connection must stay open, no GOAWAY; ${c.describe()}`);
  const r = await rawExchange(c, { path: '/still-there', headers: [['origin', ORIGIN]] }, `${what}: the next request`);
  assert.equal(r.status, 200);
}

/** Runs a program (curl, nghttp) to its end, at most ms: { code, stdout, stderr }. */
async function run(file, args, ms = 10_000) {
  try {
    const { stdout, stderr } = await execFileP(file, args, { timeout: ms, encoding: 'utf8', maxBuffer: 16 * MiB });
    return { code: 0, stdout, stderr };
  } catch (e) {
    return { code: e.code, signal: e.signal, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** A field of /proc/PID/status in KiB (VmHWM: peak resident set). */
function procStatusKb(pid, name) {
  const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm'));
  assert.ok(m, `no ${name} in /proc/${pid}/status`);
  return Number(m[1]);
}

/** GET url (plain HTTP, the admin listener): { status, body }. */
async function httpGet(url) {
  const res = await fetch(url, { signal: AbortSignal.timeout(BOUND_MS) });
  return { status: res.status, body: await res.text() };
}

/** Deterministic bytes: n of them, block after block of a fixed 64 KiB pattern. */
const PATTERN = Buffer.from(Array.from({ length: 65536 }, (_, i) => (i * 31 + (i >> 8) + 7) & 0xff));
const patternSha256 = (n) => {
  const h = createHash('sha256');
  for (let at = 0; at < n; at += PATTERN.length) h.update(PATTERN.subarray(0, Math.min(PATTERN.length, n - at)));
  return h.digest('hex');
};
/** Writes n pattern bytes to a writable, honouring its back-pressure ('drain'); stops if it closes. */
async function writePattern(w, n, onWrite = () => {}) {
  for (let at = 0; at < n && !w.destroyed; at += PATTERN.length) {
    const piece = PATTERN.subarray(0, Math.min(PATTERN.length, n - at));
    onWrite(piece.length);
    if (!w.write(piece)) {
      await new Promise((resolve) => {
        const done = () => { w.off('drain', done); w.off('close', done); resolve(); };
        w.on('drain', done);
        w.on('close', done);
      });
    }
  }
}

describe('ALPN negotiation', () => {
  let corsd;
  let plain; // --no-http2
  before(async () => {
    const args = [...tlsArgs(), '--listen', '127.0.0.1:0', '--no-demo', '--threads', '1'];
    [corsd, plain] = await Promise.all([startCorsd(args), startCorsd([...args, '--no-http2'])]);
  });
  after(async () => { await Promise.all([killCorsd(corsd), killCorsd(plain)]); });

  test('node:tls offered h2 and http/1.1 gets h2; offered http/1.1 alone, http/1.1', T, async () => {
    for (const [offered, expected] of [[['h2', 'http/1.1'], 'h2'], [['http/1.1', 'h2'], 'h2'], [['http/1.1'], 'http/1.1'], [['h2'], 'h2']]) {
      const c = await connectH2(corsd.port, { ca: ca.pem, alpn: offered, preface: false });
      assert.equal(c.alpnProtocol, expected, `offered ${offered}`);
      c.close();
    }
  });

  test('curl --http2 speaks HTTP/2 (%{http_version} is 2) and gets the echo', T, async () => {
    const r = await run('curl', ['-sS', '--http2', '--cacert', ca.cert, '-X', 'PUT', '--data-binary', 'hello h2',
      '-H', `Origin: ${ORIGIN}`, '-w', '\n%{http_version} %{http_code}', `https://127.0.0.1:${corsd.port}${PATH}`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'Thank You For The Cross-Domain AJAX Request:\n\nMethod: PUT\n\nhello h2\n2 200');
  });

  test('nghttp negotiates h2 and gets 200', T, async () => {
    const r = await run('nghttp', ['-v', '-H', `origin: ${ORIGIN}`, `https://127.0.0.1:${corsd.port}${PATH}`]);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /The negotiated protocol: h2\n/);
    assert.match(r.stdout, /:status: 200\n/);
    assert.match(r.stdout, /Thank You For The Cross-Domain AJAX Request:/);
  });

  test('with --no-http2 ALPN picks http/1.1 and curl --http2 gets HTTP/1.1', T, async () => {
    const c = await connectH2(plain.port, { ca: ca.pem, alpn: ['h2', 'http/1.1'], preface: false });
    assert.equal(c.alpnProtocol, 'http/1.1');
    c.close();
    const h2only = await connectH2(plain.port, { ca: ca.pem, alpn: ['h2'], preface: false }).then((x) => { x.close(); return x.alpnProtocol; }, (e) => e.code);
    assert.notEqual(h2only, 'h2', 'h2 alone offered: never h2');
    const r = await run('curl', ['-sS', '--http2', '--cacert', ca.cert, '-H', `Origin: ${ORIGIN}`,
      '-w', '\n%{http_version} %{http_code}', `https://127.0.0.1:${plain.port}${PATH}`]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /\n1\.1 200$/);
  });
});

describe('the echo API and the demo over HTTP/2', () => {
  const MAX_BODY = 4096;
  const MAX_HEADER_BYTES = 4096;
  let corsd;
  let demoPort;
  let session;
  let accessLog;
  before(async () => {
    accessLog = join(dir, 'access.log');
    corsd = await startCorsd([...tlsArgs(), '--listen', '127.0.0.1:0', '--demo-listen', '127.0.0.1:0',
      '--admin-listen', '127.0.0.1:0', '--threads', '1', '--max-body', String(MAX_BODY),
      '--max-header-bytes', String(MAX_HEADER_BYTES), '--access-log', accessLog]);
    demoPort = Number(new URL(corsd.demoUrl).port);
    session = await h2session(corsd.port);
  });
  after(async () => {
    session?.destroy();
    await killCorsd(corsd);
  });

  test('a preflight is answered 204 with the policy\'s headers, as on HTTP/1.1', T, async () => {
    const headers = { origin: ORIGIN, 'access-control-request-method': 'PUT', 'access-control-request-headers': 'content-type' };
    const r = await h2fetch(session, { ':method': 'OPTIONS', ':path': PATH, ...headers });
    assert.equal(r.status, 204, JSON.stringify(r.headers));
    assert.equal(r.headers['access-control-allow-origin'], ORIGIN);
    assert.equal(r.headers['access-control-allow-methods'], 'GET, POST, PUT, DELETE, OPTIONS');
    assert.equal(r.headers['access-control-allow-headers'], 'content-type, accept');
    assert.equal(r.headers['access-control-max-age'], '10');
    assert.equal(r.headers.vary, 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers');
    assert.equal(r.headers['content-length'], undefined, 'no content-length on a 204');
    assert.equal(r.body.length, 0);
    const h1 = await h1exchange(corsd.port, { method: 'OPTIONS', headers });
    assert.equal(h1.status, 204);
    const cors = (h) => Object.fromEntries(Object.entries(h).filter(([k]) => k.startsWith('access-control-') || k === 'vary'));
    assert.deepEqual(cors(r.headers), cors(h1.headers), 'the same CORS headers as HTTP/1.1\'s');
    // HTTP/1.1 answers a question asked before from its kept bytes; HTTP/2 sends fields, and must not take them.
    const again = await h2fetch(session, { ':method': 'OPTIONS', ':path': PATH, ...headers });
    assert.deepEqual(cors(again.headers), cors(r.headers), 'asked again over h2: the same CORS headers');
  });

  test('a refused preflight gets 403 with the reason and no CORS headers', T, async () => {
    const r = await h2fetch(session, { ':method': 'OPTIONS', ':path': PATH, origin: ORIGIN,
      'access-control-request-method': 'PUT', 'access-control-request-headers': 'authorization' });
    assert.equal(r.status, 403);
    assert.equal(r.body.toString(), 'CORS preflight rejected: header_not_allowed: authorization\n');
    assert.deepEqual(Object.keys(r.headers).filter((k) => k.startsWith('access-control-')), []);
  });

  test('PUT and DELETE are echoed byte for byte, with content-length', T, async () => {
    for (const method of ['PUT', 'DELETE']) {
      const body = JSON.stringify({ name: 'Zoë 日本', method });
      const r = await h2fetch(session, { ':method': method, ':path': PATH, origin: ORIGIN, 'content-type': 'application/json' }, body);
      assert.equal(r.status, 200, method);
      assert.equal(r.headers['access-control-allow-origin'], ORIGIN);
      assert.equal(r.body.toString(), `Thank You For The Cross-Domain AJAX Request:\n\nMethod: ${method}\n\n${body}`);
      assert.equal(Number(r.headers['content-length']), r.body.length);
    }
  });

  test('HEAD gets GET\'s content-length and no DATA', T, async () => {
    const c = await rawConnect(corsd.port);
    try {
      const get = await rawExchange(c, { method: 'GET', path: PATH, headers: [['origin', ORIGIN]] });
      const head = await rawExchange(c, { method: 'HEAD', path: PATH, headers: [['origin', ORIGIN]] });
      assert.equal(get.status, 200);
      assert.equal(head.status, 200);
      assert.equal(Number(field(get.headers, 'content-length')), Buffer.byteLength(get.body));
      assert.equal(field(head.headers, 'content-length'), field(get.headers, 'content-length'));
      assert.equal(head.dataFrames, 0, 'no DATA frame for HEAD: END_STREAM on its HEADERS');
      assert.equal(head.bodyBytes, 0);
    } finally {
      c.close();
    }
  });

  test('POST /session sets the Secure; SameSite=None cookie, and /whoami gets it back', T, async () => {
    const s = await h2fetch(session, { ':method': 'POST', ':path': '/session', origin: ORIGIN });
    assert.equal(s.status, 200);
    const cookie = [s.headers['set-cookie']].flat();
    assert.equal(cookie.length, 1, JSON.stringify(s.headers));
    const m = cookie[0].match(/^corsd_session=([0-9a-f]{16}); Path=\/; HttpOnly; Secure; SameSite=None$/);
    assert.ok(m, cookie[0]);
    assert.equal(s.body.toString(), `session started: ${m[1]}\n`);
    const w = await h2fetch(session, { ':path': '/whoami', origin: ORIGIN, cookie: `corsd_session=${m[1]}` });
    assert.equal(w.status, 200);
    assert.equal(w.body.toString(), `cookie: corsd_session=${m[1]}\nauthorization: (none)\n`);
  });

  test('several cookie fields (RFC 9113 §8.2.3) reach /whoami joined with "; "', T, async () => {
    const c = await rawConnect(corsd.port);
    try {
      const r = await rawExchange(c, { path: '/whoami', headers: [['origin', ORIGIN], ['cookie', 'a=1'], ['cookie', 'corsd_session=0123456789abcdef'], ['cookie', 'b=2']] });
      assert.equal(r.status, 200);
      assert.equal(r.body, 'cookie: a=1; corsd_session=0123456789abcdef; b=2\nauthorization: (none)\n');
    } finally {
      c.close();
    }
  });

  test('the demo page and its jQuery are served over h2, the same bytes as over HTTP/1.1', T, async () => {
    const demo = await h2session(demoPort);
    try {
      const page = await h2fetch(demo, { ':path': '/' });
      assert.equal(page.status, 200);
      assert.match(page.headers['content-type'], /^text\/html/);
      assert.match(page.body.toString(), new RegExp(`<meta name="corsd-api-origin" content="https://127\\.0\\.0\\.1:${corsd.port}">`));
      const jq = await h2fetch(demo, { ':path': '/vendor/jquery.min.js' });
      assert.equal(jq.status, 200);
      assert.match(jq.headers['content-type'], /^text\/javascript/);
      assert.ok(jq.body.length > 10_000, `jQuery: ${jq.body.length} bytes`);
      assert.equal(Number(jq.headers['content-length']), jq.body.length);
      for (const [path, r] of [['/', page], ['/vendor/jquery.min.js', jq]]) {
        const h1 = await h1exchange(demoPort, { path });
        assert.equal(h1.status, 200);
        assert.equal(createHash('sha256').update(r.body).digest('hex'), createHash('sha256').update(h1.body).digest('hex'), path);
      }
    } finally {
      demo.destroy();
    }
  });

  for (const method of ['TRACE', 'TRACK']) {
    test(`${method} gets 405 with Allow, as on HTTP/1.1, its stream ended, the connection usable`, T, async () => {
      const h1 = await h1exchange(corsd.port, { method, headers: { origin: ORIGIN } });
      assert.equal(h1.status, 405);
      const c = await rawConnect(corsd.port);
      try {
        const r = await rawExchange(c, { method, path: PATH, headers: [['origin', ORIGIN]] });
        assert.equal(r.status, 405);
        assert.equal(field(r.headers, 'allow'), 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS');
        assert.equal(field(r.headers, 'allow'), h1.headers.allow);
        assert.equal(r.body, h1.body);
        await assertUsable(c, `after ${method}`);
      } finally {
        c.close();
      }
    });
  }

  test('CONNECT gets 501, as on HTTP/1.1, its stream ended, the connection usable', T, async () => {
    const h1 = await h1exchange(corsd.port, { method: 'CONNECT', path: 'example.com:443' });
    assert.equal(h1.status, 501);
    const c = await rawConnect(corsd.port);
    try {
      // HTTP/2's CONNECT has :authority and neither :scheme nor :path (RFC 9113 §8.5).
      const r = await rawExchange(c, { method: 'CONNECT', scheme: null, path: null, authority: 'example.com:443' });
      assert.equal(r.status, 501);
      assert.equal(r.body, h1.body);
      await assertUsable(c, 'after CONNECT');
    } finally {
      c.close();
    }
  });

  test('a path that climbs above "/" gets 400, as on HTTP/1.1', T, async () => {
    const c = await rawConnect(corsd.port);
    try {
      for (const path of ['/../x', '/%2e%2e/x', '/a/../../x', '/a/..%2f..%2fx']) {
        const h1 = await h1exchange(corsd.port, { path, headers: { origin: ORIGIN } });
        assert.equal(h1.status, 400, `HTTP/1.1 ${path}`);
        const r = await rawExchange(c, { path, headers: [['origin', ORIGIN]] }, `GET ${path}`);
        assert.equal(r.status, 400, path);
        assert.equal(r.body, h1.body, path);
      }
      await assertUsable(c, 'after the 400s');
    } finally {
      c.close();
    }
  });

  for (const declared of [true, false]) {
    test(`a body over --max-body gets 413, ${declared ? 'its content-length' : 'without content-length: its DATA'} over the limit`, T, async () => {
      const c = await rawConnect(corsd.port);
      try {
        const body = Buffer.alloc(MAX_BODY + 1, 'a');
        const headers = [['origin', ORIGIN]];
        if (declared) headers.push(['content-length', String(body.length)]);
        const fitting = [['origin', ORIGIN]];
        if (declared) fitting.push(['content-length', String(MAX_BODY)]);
        const fits = await rawExchange(c, { method: 'PUT', path: PATH, headers: fitting, body: body.subarray(1) });
        assert.equal(fits.status, 200, 'a body of exactly --max-body is echoed');
        const r = await rawExchange(c, { method: 'PUT', path: PATH, headers, body }, `PUT of ${body.length} bytes`);
        assert.equal(r.status, 413);
        assert.equal(r.body, 'request body too large: it is over the server\'s limit\n');
        // With the route's CORS, as on HTTP/1.1: the page sees the 413, not a CORS error.
        const acao = r.headers.filter(([name]) => name === 'access-control-allow-origin').map(([, v]) => v);
        assert.deepEqual(acao, [ORIGIN], JSON.stringify(r.headers));
        await assertUsable(c, 'after the 413');
      } finally {
        c.close();
      }
    });
  }

  test('a header block over --max-header-bytes gets 431', T, async () => {
    const c = await rawConnect(corsd.port);
    try {
      const r = await rawExchange(c, { path: PATH, headers: [['origin', ORIGIN], ['x-big', 'b'.repeat(MAX_HEADER_BYTES)]] }, 'a 4 KiB field');
      assert.equal(r.status, 431);
      assert.match(r.body, /^request header fields too large/);
      await assertUsable(c, 'after the 431');
    } finally {
      c.close();
    }
  });

  test('100 header fields (the limit, as on HTTP/1.1) are served; 101 get 431, the connection usable', T, async () => {
    const c = await rawConnect(corsd.port);
    try {
      const fields = (n) => [['origin', ORIGIN], ...Array.from({ length: n - 1 }, (_, i) => [`x${i}`, 'v'])];
      const fits = await rawExchange(c, { path: PATH, headers: fields(100) }, '100 fields');
      assert.equal(fits.status, 200, 'exactly 100 fields');
      const r = await rawExchange(c, { path: PATH, headers: fields(101) }, '101 fields');
      assert.equal(r.status, 431);
      assert.match(r.body, /^request header fields too large/);
      await assertUsable(c, 'after the 431');
    } finally {
      c.close();
    }
  });

  test('the access log says "HTTP/2.0" for h2 requests and "HTTP/1.1" for the others', T, async () => {
    const r = await h2fetch(session, { ':method': 'PUT', ':path': '/log-h2?x=1', origin: ORIGIN }, 'logged');
    assert.equal(r.status, 200);
    const h1 = await h1exchange(corsd.port, { path: '/log-h1' });
    assert.equal(h1.status, 200);
    let lines = [];
    for (const until = Date.now() + 5_000; Date.now() < until; await sleep(50)) {
      lines = readFileSync(accessLog, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
      if (lines.some((l) => l.path === '/log-h2?x=1') && lines.some((l) => l.path === '/log-h1')) break;
    }
    const h2line = lines.find((l) => l.path === '/log-h2?x=1');
    const h1line = lines.find((l) => l.path === '/log-h1');
    assert.ok(h2line && h1line, `both requests logged within 5 s: ${JSON.stringify(lines.slice(-5))}`);
    assert.equal(h2line.version, 'HTTP/2.0', JSON.stringify(h2line));
    assert.equal(h2line.method, 'PUT');
    assert.equal(h2line.status, 200);
    assert.equal(h2line.origin, ORIGIN);
    assert.equal(h2line.cors, 'actual_allowed');
    assert.equal(h2line.bytes, Buffer.byteLength('Thank You For The Cross-Domain AJAX Request:\n\nMethod: PUT\n\nlogged'));
    assert.equal(h1line.version, 'HTTP/1.1', JSON.stringify(h1line));
  });

  test('/metrics counts h2 answers in corsd_http_responses_total by status class', T, async () => {
    const scrape = async () => {
      const m = await httpGet(`${corsd.adminUrl}/metrics`);
      assert.equal(m.status, 200);
      const value = (code) => Number(m.body.match(new RegExp(`^corsd_http_responses_total\\{code="${code}"\\} (\\d+)$`, 'm'))?.[1]);
      return { '2xx': value('2xx'), '4xx': value('4xx') };
    };
    const before = await scrape();
    assert.ok(Number.isFinite(before['2xx']) && Number.isFinite(before['4xx']), JSON.stringify(before));
    const N = 7;
    for (let i = 0; i < N; i++) assert.equal((await h2fetch(session, { ':path': `/count/${i}`, origin: ORIGIN })).status, 200);
    for (let i = 0; i < 3; i++) {
      assert.equal((await h2fetch(session, { ':method': 'OPTIONS', ':path': '/count', origin: ORIGIN,
        'access-control-request-method': 'PUT', 'access-control-request-headers': 'x-nope' })).status, 403);
    }
    const afterScrape = await scrape();
    // The scrape before is itself a 2xx answer of the admin listener, counted once it is written.
    const twoxx = afterScrape['2xx'] - before['2xx'];
    assert.ok(twoxx >= N && twoxx <= N + 1, `2xx grew by ${twoxx}, expected ${N} (+1 for the scrape)`);
    assert.equal(afterScrape['4xx'] - before['4xx'], 3);
  });
});

describe('the reverse proxy over HTTP/2', () => {
  let upstream;
  let seen; // the upstream's record of each request: { method, url, headers, bytes, sha256 }
  let holdStream; // resolves the /stream answer's second half
  let corsd;
  let session;
  before(async () => {
    seen = [];
    upstream = http.createServer((req, res) => {
      const record = { method: req.method, url: req.url, headers: req.headers, bytes: 0 };
      seen.push(record);
      const hash = createHash('sha256');
      req.on('data', (d) => { record.bytes += d.length; hash.update(d); });
      req.on('end', async () => {
        record.sha256 = hash.digest('hex');
        const status = req.url.match(/^\/status\/(\d+)/);
        if (status) {
          // CORS of its own, which corsd must replace by the policy's.
          res.writeHead(Number(status[1]), {
            'access-control-allow-origin': '*', 'access-control-allow-credentials': 'true',
            'access-control-expose-headers': 'x-secret', 'access-control-max-age': '99999',
            vary: 'Accept-Encoding', 'x-upstream': 'yes', 'content-type': 'text/plain',
          });
          res.end(Number(status[1]) === 204 || Number(status[1]) === 304 ? undefined : `status ${status[1]}`);
        } else if (req.url === '/stream') {
          res.writeHead(200, { 'content-type': 'text/plain' }); // no content-length: chunked
          res.write('first half;');
          await holdStream.promise;
          res.end('second half');
        } else {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ method: req.method, url: req.url, bytes: record.bytes, sha256: record.sha256 }));
        }
      });
    });
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    corsd = await startCorsd([...tlsArgs(), '--listen', '127.0.0.1:0', '--no-demo', '--threads', '1',
      '--upstream', `http://127.0.0.1:${upstream.address().port}`, '--allow-origin', ORIGIN, '--allow-methods', 'PUT,DELETE']);
    session = await h2session(corsd.port);
  });
  after(async () => {
    session?.destroy();
    await killCorsd(corsd);
    upstream?.closeAllConnections();
    upstream?.close();
  });

  test('a request body with content-length is forwarded with it, one without is forwarded chunked', T, async () => {
    const body = Buffer.concat([PATTERN, PATTERN.subarray(0, 12345)]);
    const sha = createHash('sha256').update(body).digest('hex');
    seen.length = 0;
    const withLength = await h2fetch(session, { ':method': 'PUT', ':path': '/with-length', origin: ORIGIN, 'content-length': String(body.length) }, body);
    assert.equal(withLength.status, 200);
    assert.deepEqual(JSON.parse(withLength.body), { method: 'PUT', url: '/with-length', bytes: body.length, sha256: sha });
    assert.equal(seen[0].headers['content-length'], String(body.length));
    assert.equal(seen[0].headers['transfer-encoding'], undefined);
    const without = await h2fetch(session, { ':method': 'POST', ':path': '/without-length', origin: ORIGIN }, body);
    assert.equal(without.status, 200);
    assert.deepEqual(JSON.parse(without.body), { method: 'POST', url: '/without-length', bytes: body.length, sha256: sha });
    assert.equal(seen[1].headers['content-length'], undefined);
    assert.equal(seen[1].headers['transfer-encoding'], 'chunked');
    const empty = await h2fetch(session, { ':method': 'GET', ':path': '/no-body', origin: ORIGIN });
    assert.equal(empty.status, 200);
    assert.equal(seen[2].headers['transfer-encoding'], undefined, 'a GET without a body is not sent chunked');
  });

  test('X-Forwarded-Proto is https, whatever the client claimed', T, async () => {
    seen.length = 0;
    const r = await h2fetch(session, { ':path': '/xfp', origin: ORIGIN, 'x-forwarded-proto': 'http' });
    assert.equal(r.status, 200);
    assert.equal(seen[0].headers['x-forwarded-proto'], 'https');
    assert.equal(seen[0].headers.host, `127.0.0.1:${corsd.port}`, ':authority is forwarded as Host');
    assert.match(seen[0].headers.via ?? '', /1\.1 corsd/);
  });

  test('the upstream\'s Access-Control-* are replaced by the policy\'s on every status', T, async () => {
    for (const status of [200, 201, 204, 301, 304, 401, 404, 500, 503]) {
      const r = await h2fetch(session, { ':path': `/status/${status}`, origin: ORIGIN });
      assert.equal(r.status, status);
      const cors = Object.fromEntries(Object.entries(r.headers).filter(([k]) => k.startsWith('access-control-')));
      assert.deepEqual(cors, { 'access-control-allow-origin': ORIGIN }, `status ${status}: ${JSON.stringify(r.headers)}`);
      assert.deepEqual(r.headers.vary.split(/,\s*/).sort(), ['Accept-Encoding', 'Origin'], `status ${status}: vary`);
      assert.equal(r.headers['x-upstream'], 'yes');
      assert.equal(r.body.toString(), status === 204 || status === 304 ? '' : `status ${status}`);
    }
  });

  test('an answer is streamed back: its first half arrives while the upstream holds the rest', T, async () => {
    holdStream = Promise.withResolvers ? Promise.withResolvers() : (() => { let resolve; const promise = new Promise((r) => { resolve = r; }); return { promise, resolve }; })();
    const req = session.request({ ':path': '/stream', origin: ORIGIN });
    req.end();
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (d) => { text += d; });
    const ended = once(req, 'end');
    try {
      for (const until = Date.now() + BOUND_MS; text !== 'first half;' && Date.now() < until;) await sleep(10);
      assert.equal(text, 'first half;', 'the first half, before the upstream ended its answer');
    } finally {
      holdStream.resolve();
    }
    await Promise.race([ended, sleep(BOUND_MS, null, { ref: false }).then(() => { throw new Error('the stream did not end'); })]);
    assert.equal(text, 'first half;second half');
  });
});

describe('back-pressure through the proxy over HTTP/2', () => {
  const BIG = 64 * MiB;
  const HUGE = 256 * MiB;
  const GIB = (process.env.CORSD_SANITIZED === '1' ? 256 : 1024) * MiB;
  let upstream;
  let uploads; // by path: { bytes, sha256, headers }
  let huge; // the /huge download's progress: { written, closed }
  let corsd;
  before(async () => {
    uploads = {};
    upstream = http.createServer(async (req, res) => {
      if (req.url === '/download') {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(BIG) });
        await writePattern(res, BIG);
        res.end();
      } else if (req.url === '/gib') {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(GIB) });
        await writePattern(res, GIB);
        res.end();
      } else if (req.url === '/huge') {
        huge = { written: 0, closed: false };
        res.on('close', () => { huge.closed = true; });
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(HUGE) });
        await writePattern(res, HUGE, (n) => { huge.written += n; });
        res.end();
      } else {
        const hash = createHash('sha256');
        const record = { bytes: 0, headers: req.headers };
        req.on('data', (d) => { record.bytes += d.length; hash.update(d); });
        req.on('end', () => {
          record.sha256 = hash.digest('hex');
          uploads[req.url] = record;
          res.end(JSON.stringify({ bytes: record.bytes, sha256: record.sha256 }));
        });
      }
    });
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    corsd = await startCorsd([...tlsArgs(), '--listen', '127.0.0.1:0', '--no-demo', '--threads', '1',
      '--upstream', `http://127.0.0.1:${upstream.address().port}`, '--allow-origin', ORIGIN, '--allow-methods', 'PUT',
      '--max-body', String(4 * BIG)]);
  });
  after(async () => {
    await killCorsd(corsd);
    upstream?.closeAllConnections();
    upstream?.close();
  });

  test('a slow h2 reader slows the upstream: peak RSS under 64 MiB, and its reset ends the upstream exchange', { timeout: 30_000 }, async () => {
    // First on this corsd, so that its peak RSS is this download's. The raw client opens the windows
    // itself: 32 KiB every 100 ms, about 320 KiB/s.
    const c = await rawConnect(corsd.port, { autoWindow: false, keepBodies: false });
    try {
      const id = c.request({ path: '/huge', headers: [['origin', ORIGIN]] });
      const s = c.stream(id);
      await c.waitFor(() => s.headers, BOUND_MS * 2, 'the /huge answer head');
      assert.equal(s.status, 200);
      assert.equal(field(s.headers, 'content-length'), String(HUGE));
      for (const until = Date.now() + 4_000; Date.now() < until;) {
        await sleep(100);
        c.write(Buffer.concat([windowUpdateFrame(0, 32 * 1024), windowUpdateFrame(id, 32 * 1024)]));
      }
      const hwm = procStatusKb(corsd.pid, 'VmHWM');
      assert.ok(s.bodyBytes > 64 * 1024, `the reader got ${s.bodyBytes} bytes`);
      assert.ok(s.bodyBytes < 8 * MiB, `the reader got ${s.bodyBytes} bytes: more than the windows it opened`);
      assert.ok(!huge.closed && huge.written < 48 * MiB,
        `the upstream must be held back by the slow reader: it wrote ${(huge.written / MiB).toFixed(1)} of ${HUGE / MiB} MiB`);
      // Under AddressSanitizer (CORSD_SANITIZED=1) shadow memory and redzones multiply it: the bound is the
      // normal pass's to check.
      const limitKb = (process.env.CORSD_SANITIZED === '1' ? 8 : 1) * 64 * 1024;
      assert.ok(hwm < limitKb, `corsd's peak RSS (VmHWM) ${hwm} KiB, over ${limitKb} KiB`);
      c.write(rstStreamFrame(id, ERROR.CANCEL));
      for (const until = Date.now() + 5_000; !huge.closed && Date.now() < until;) await sleep(20);
      assert.ok(huge.closed, 'the upstream\'s answer is cut off once the client reset the stream');
      assert.ok(huge.written < HUGE, 'the upstream never sent the whole answer');
      assert.equal(c.goaways.length, 0, 'a reset is the stream\'s, not the connection\'s');
    } finally {
      c.close();
    }
  });

  /** GETs `path` over h2 and checks that `size` pattern bytes arrive intact; returns the seconds it took. */
  async function downloadIntact(path, size, withinMs) {
    const session = await h2session(corsd.port);
    try {
      const started = Date.now();
      const req = session.request({ ':path': path, origin: ORIGIN });
      req.end();
      const hash = createHash('sha256');
      let bytes = 0;
      let head;
      req.on('response', (h) => { head = h; });
      req.on('data', (d) => { bytes += d.length; hash.update(d); });
      await Promise.race([once(req, 'end'), sleep(withinMs, null, { ref: false }).then(() => { throw new Error(`only ${bytes} bytes in ${withinMs} ms`); })]);
      const seconds = (Date.now() - started) / 1000;
      assert.equal(head[':status'], 200);
      assert.equal(head['content-length'], String(size));
      assert.equal(head['access-control-allow-origin'], ORIGIN);
      assert.equal(bytes, size);
      assert.equal(hash.digest('hex'), patternSha256(size));
      return seconds;
    } finally {
      session.destroy();
    }
  }

  test('64 MiB download arrives intact (sha256)', { timeout: 30_000 }, async () => {
    await downloadIntact('/download', BIG, 20_000);
  });

  // The issue's 1 GiB through the proxy over h2, within the proxy's memory bound. Under AddressSanitizer,
  // where every byte costs several times as much, 256 MiB in the same budget.
  test(`${GIB / MiB} MiB download over h2 arrives intact, corsd's peak RSS under 32 MiB`, { timeout: 90_000 }, async (t) => {
    const seconds = await downloadIntact('/gib', GIB, 80_000);
    const hwm = procStatusKb(corsd.pid, 'VmHWM');
    t.diagnostic(`${GIB / MiB} MiB in ${seconds.toFixed(1)} s (${(GIB / MiB / seconds).toFixed(0)} MiB/s), corsd's VmHWM ${hwm} KiB`);
    // Under AddressSanitizer freed memory waits in its quarantine (up to 256 MiB) before reuse: the bound is
    // the normal pass's to check, and the sanitized one allows for the quarantine.
    const limitKb = process.env.CORSD_SANITIZED === '1' ? (256 + 256) * 1024 : 32 * 1024;
    assert.ok(hwm < limitKb, `corsd's peak RSS (VmHWM) ${hwm} KiB, over ${limitKb} KiB`);
  });

  for (const withLength of [true, false]) {
    test(`64 MiB upload ${withLength ? 'with' : 'without'} content-length arrives intact (sha256)`, { timeout: 30_000 }, async () => {
      const session = await h2session(corsd.port);
      try {
        const path = `/upload-${withLength}`;
        const headers = { ':method': 'PUT', ':path': path, origin: ORIGIN };
        if (withLength) headers['content-length'] = String(BIG);
        const req = session.request(headers);
        let text = '';
        let head;
        req.setEncoding('utf8');
        req.on('response', (h) => { head = h; });
        req.on('data', (d) => { text += d; });
        const ended = once(req, 'end');
        await writePattern(req, BIG);
        req.end();
        await Promise.race([ended, sleep(20_000, null, { ref: false }).then(() => { throw new Error('no answer within 20 s'); })]);
        assert.equal(head[':status'], 200);
        assert.deepEqual(JSON.parse(text), { bytes: BIG, sha256: patternSha256(BIG) });
        assert.equal(uploads[path].headers['transfer-encoding'], withLength ? undefined : 'chunked');
        assert.equal(uploads[path].headers['content-length'], withLength ? String(BIG) : undefined);
      } finally {
        session.destroy();
      }
    });
  }
});

describe('graceful shutdown with an h2 stream in flight', () => {
  /** corsd in front of an upstream that holds its answer until release(); the raw client's request sent. */
  async function setUp() {
    let release;
    const released = new Promise((r) => { release = r; });
    let arrived;
    const requestArrived = new Promise((r) => { arrived = r; });
    const upstream = http.createServer((req, res) => {
      req.resume();
      arrived();
      released.then(() => res.end(`slow answer to ${req.url}`));
    });
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    const corsd = await startCorsd([...tlsArgs(), '--listen', '127.0.0.1:0', '--no-demo', '--threads', '1',
      '--upstream', `http://127.0.0.1:${upstream.address().port}`, '--allow-origin', ORIGIN, '--shutdown-timeout', '10']);
    const c = await rawConnect(corsd.port);
    const id = c.request({ path: '/slow', headers: [['origin', ORIGIN]] });
    await Promise.race([requestArrived, sleep(BOUND_MS, null, { ref: false }).then(() => { throw new Error('the request did not reach the upstream'); })]);
    const tearDown = async () => {
      release();
      c.close();
      await killCorsd(corsd);
      upstream.closeAllConnections();
      upstream.close();
    };
    return { corsd, c, id, release, tearDown };
  }

  test('SIGTERM: the client gets GOAWAY(NO_ERROR), the in-flight stream completes, corsd exits 0', T, async () => {
    const { corsd, c, id, release, tearDown } = await setUp();
    try {
      corsd.proc.kill('SIGTERM');
      await sleep(300);
      release();
      const r = await c.response(id, 5_000);
      assert.equal(r.status, 200, c.describe());
      assert.ok(r.ended, `the stream ended: ${c.describe()}`);
      assert.equal(r.body.toString(), 'slow answer to /slow');
      await c.waitFor(() => c.goaways.length > 0, 5_000, 'a GOAWAY');
      assert.equal(c.goaways[0].code, ERROR.NO_ERROR, `GOAWAY ${errorName(c.goaways[0].code)}`);
      assert.ok(c.goaways[0].lastStreamId >= id, `the GOAWAY's last stream id ${c.goaways[0].lastStreamId} covers stream ${id}`);
      const exit = await Promise.race([corsd.exited, sleep(10_000, null, { ref: false })]);
      assert.deepEqual(exit, { code: 0, signal: null }, corsd.output());
    } finally {
      await tearDown();
    }
  });

  test('SIGTERM: the GOAWAY comes while the stream is still in flight, not only after it ended', T, async () => {
    // What a graceful GOAWAY is for (RFC 9113 §6.8): the client learns at once to open no new stream
    // on this connection. The upstream holds its answer until the GOAWAY arrived, or 3 s.
    const { corsd, c, id, release, tearDown } = await setUp();
    try {
      corsd.proc.kill('SIGTERM');
      const t0 = Date.now();
      const gotGoaway = await c.waitFor(() => c.goaways.length > 0, 3_000, 'a GOAWAY').then(() => true, () => false);
      const waited = Date.now() - t0;
      const inFlight = !c.stream(id).headers;
      release();
      const r = await c.response(id, 5_000);
      assert.equal(r.status, 200, c.describe());
      const later = await c.waitFor(() => c.goaways.length > 0, 5_000, 'a GOAWAY').then(() => 'only after the stream ended', () => 'not even after it ended');
      assert.ok(gotGoaway && inFlight,
        `no GOAWAY within ${waited} ms of SIGTERM while stream ${id} was in flight; one came ${later}: ${JSON.stringify(c.goaways)}`);
      assert.equal(c.goaways[0].code, ERROR.NO_ERROR);
      const exit = await Promise.race([corsd.exited, sleep(10_000, null, { ref: false })]);
      assert.deepEqual(exit, { code: 0, signal: null }, corsd.output());
    } finally {
      await tearDown();
    }
  });
});
