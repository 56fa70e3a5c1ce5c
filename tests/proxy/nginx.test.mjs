// The reverse proxy in front of a real server: Debian's nginx (nginx-light, installed by
// scripts/setup.sh), started by this test in its own temporary directory on a free loopback port.
//
//   CORSD_BIN=build/corsd node --test tests/proxy/nginx.test.mjs
//
// nginx is configured to be awkward the way real servers are: it closes every kept-alive connection
// after 3 requests (Connection: close) and silently after 1 s idle, answers 404/401 with its own
// error pages, serves Range and HEAD itself, and sends its own `Access-Control-Allow-Origin: *`
// that corsd must replace. Its access log records $connection and $connection_requests, so the
// test sees how corsd used its upstream connections. Every test runs for --threads 1 and 2.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ORIGIN, connect, request, startCorsd } from './support.mjs';
import { startNginx as startNginxIn } from '../support/nginx.mjs';

const NGINX = process.env.NGINX_BIN || '/usr/sbin/nginx';
const T = { timeout: 20_000 };
const SMALL_SIZE = 5000;        // /small.bin: a few KiB
const BIG_SIZE = 1 << 20;       // /big.bin: 1 MiB

/** n deterministic bytes (a counter run through sha256), different for every seed. */
function knownBytes(n, seed) {
  const out = Buffer.alloc(n);
  for (let off = 0, i = 0; off < n; i++) {
    off += createHash('sha256').update(`${seed}:${i}`).digest().copy(out, off);
  }
  return out;
}
const SMALL = knownBytes(SMALL_SIZE, 'small');
const BIG = knownBytes(BIG_SIZE, 'big');
const sha256 = (b) => createHash('sha256').update(b).digest('hex');


function nginxHttp(dir, port) {
  return `
  log_format conns '$connection $connection_requests $request_method $uri $status';
  access_log ${dir}/access.log conns;
  keepalive_requests 3;
  keepalive_timeout 1s;
  server {
    listen 127.0.0.1:${port};
    root ${dir}/www;
    add_header Access-Control-Allow-Origin * always;
    location /missing { return 404; }
    location /auth { return 401; }
  }`;
}

/** nginx serving /www's small.bin and big.bin: { port, dir, accessLog(), errorLog(), stop() }. */
const startNginx = () => startNginxIn({ http: nginxHttp, files: { 'www/small.bin': SMALL, 'www/big.bin': BIG } });

/** The access-log lines written since `from` characters: { conn, reqs, method, uri, status }. */
function logEntries(text, from = 0) {
  return text.slice(from).split('\n').filter(Boolean).map((line) => {
    const [conn, reqs, method, uri, status] = line.split(' ');
    return { conn: Number(conn), reqs: Number(reqs), method, uri, status: Number(status) };
  });
}

/** Waits (up to 5 s) until nginx has logged at least n requests since `from`; returns them. */
async function waitLogged(nginx, from, n) {
  const deadline = Date.now() + 5000;
  for (;;) {
    const entries = logEntries(nginx.accessLog(), from);
    if (entries.length >= n || Date.now() > deadline) return entries;
    await sleep(20);
  }
}

/** A response's head and the start of its body, for assertion messages. */
const show = (res) => (res ? `\n${res.head}${res.body.toString('latin1').slice(0, 300)}` : '\n(no response)');

/** The policy's CORS, nginx's `*` gone: one ACAO (the origin), one ACAC: true, Vary naming Origin once. */
function assertPolicyCors(res, what) {
  assert.deepEqual(res.values('access-control-allow-origin'), [ORIGIN], `${what}: exactly one ACAO, the policy's, no *${show(res)}`);
  assert.deepEqual(res.values('access-control-allow-credentials'), ['true'], `${what}: one ACAC: true${show(res)}`);
  assert.equal(res.tokens('vary').filter((t) => t === 'origin').length, 1, `${what}: Vary: Origin once${show(res)}`);
}

const get = (target, headers = [], method = 'GET') => request(method, target, [['Origin', ORIGIN], ...headers]);

for (const threads of [1, 2]) {
  describe(`corsd in front of nginx, --threads ${threads}`, () => {
    let nginx;
    let corsd;
    let port;
    const clients = [];
    /** A client connection to corsd, closed in after(). */
    const client = async () => {
      const c = await connect(port);
      clients.push(c);
      return c;
    };

    before(async () => {
      nginx = await startNginx();
      try {
        corsd = await startCorsd(['--no-demo', '--listen', '127.0.0.1:0', '--upstream', `http://127.0.0.1:${nginx.port}`,
          '--allow-origin', ORIGIN, '--allow-credentials', '--threads', String(threads)]);
      } catch (err) {
        await nginx.stop();
        throw err;
      }
      port = corsd.port;
    });
    after(async () => {
      for (const c of clients) c.close();
      await corsd?.stop();
      await nginx?.stop();
    });

    test("precondition: nginx itself sends `*` and closes with Connection: close after 3 requests", T, async () => {
      const c = await connect(nginx.port);
      clients.push(c);
      const seen = [];
      for (const target of ['/small.bin', '/auth', '/missing']) {
        const res = await c.exchange(get(target));
        assert.deepEqual(res?.values('access-control-allow-origin'), ['*'], `nginx's own ACAO on ${target}${show(res)}`);
        seen.push(res.values('connection').join().toLowerCase());
      }
      assert.deepEqual(seen, ['keep-alive', 'keep-alive', 'close'], 'nginx\'s Connection fields');
      assert.ok(await c.waitClosed(2000), 'nginx closed after the 3rd request');
    });

    test('10 sequential GETs on one client connection: exact bodies, upstream connections reused', T, async () => {
      const c = await client();
      const from = nginx.accessLog().length;
      for (let i = 0; i < 10; i++) {
        const res = await c.exchange(get('/small.bin'));
        assert.ok(res, `GET ${i + 1}: the connection closed without an answer${nginx.output()}\n${corsd.output()}`);
        assert.equal(res.status, 200, `GET ${i + 1}${show(res)}`);
        assert.equal(res.body.length, SMALL_SIZE, `GET ${i + 1}: body length${show(res)}`);
        assert.ok(res.body.equals(SMALL), `GET ${i + 1}: body bytes`);
        assertPolicyCors(res, `GET ${i + 1}`);
      }
      const entries = (await waitLogged(nginx, from, 10)).filter((e) => e.uri === '/small.bin');
      const conns = new Set(entries.map((e) => e.conn));
      const log = `\nnginx access log ($connection $connection_requests ...):\n${nginx.accessLog().slice(from)}`;
      assert.equal(entries.length, 10, `nginx saw every GET once${log}`);
      assert.ok(entries.every((e) => e.status === 200 && e.reqs <= 3), `nginx's keepalive_requests 3 held${log}`);
      assert.ok(conns.size < 10, `corsd reused upstream connections: ${conns.size} for 10 requests${log}`);
      assert.ok(conns.size > 1, `nginx closed after 3 requests, so corsd needed new connections: ${conns.size}${log}`);
    });

    test('a GET after nginx silently closed the idle pooled connection (1.5 s) succeeds', T, async () => {
      const c = await client();
      const from = nginx.accessLog().length;
      const first = await c.exchange(get('/small.bin?first'));
      assert.equal(first?.status, 200, show(first));
      await sleep(1500); // nginx's keepalive_timeout is 1 s; corsd's --upstream-idle-timeout is 4 s
      const res = await c.exchange(get('/small.bin?second'));
      assert.ok(res, `the connection closed without an answer${nginx.output()}\n${corsd.output()}`);
      assert.equal(res.status, 200, show(res));
      assert.ok(res.body.equals(SMALL), 'body bytes');
      assertPolicyCors(res, 'after idle');
      const entries = await waitLogged(nginx, from, 2);
      const log = `\nnginx access log:\n${nginx.accessLog().slice(from)}`;
      assert.equal(entries.length, 2, `nginx saw both GETs once${log}`);
      assert.notEqual(entries[0].conn, entries[1].conn, `the second GET came on a new upstream connection${log}`);
    });

    for (const [target, status] of [['/missing', 404], ['/auth', 401]]) {
      test(`nginx's own ${status} (${target}) arrives with corsd's CORS instead of nginx's *`, T, async () => {
        const c = await client();
        const res = await c.exchange(get(target));
        assert.equal(res?.status, status, show(res));
        assert.match(res.text(), new RegExp(`<title>${status} `), `nginx's error page${show(res)}`);
        assert.ok(res.complete, `whole body${show(res)}`);
        assertPolicyCors(res, `${status}`);
        const next = await c.exchange(get('/small.bin'));
        assert.equal(next?.status, 200, `the connection is still usable${show(next)}`);
      });
    }

    test('HEAD of the static file: its Content-Length, no body, the connection still usable', T, async () => {
      const c = await client();
      const res = await c.exchange(get('/small.bin', [], 'HEAD'), { method: 'HEAD' });
      assert.equal(res?.status, 200, show(res));
      assert.deepEqual(res.values('content-length'), [String(SMALL_SIZE)], show(res));
      assertPolicyCors(res, 'HEAD');
      await sleep(100);
      assert.equal(c.reader.buffered, 0, 'no body bytes after a HEAD answer');
      const next = await c.exchange(get('/small.bin'));
      assert.equal(next?.status, 200, `GET after HEAD${show(next)}`);
      assert.ok(next.body.equals(SMALL), 'GET after HEAD: body bytes');
    });

    test('the 1 MiB file arrives byte-exact', T, async () => {
      const c = await client();
      const h = createHash('sha256');
      const res = await c.exchange(get('/big.bin'), { onBody: (p) => { h.update(p); } });
      assert.equal(res?.status, 200, show(res));
      assert.equal(res.bodyLength, BIG_SIZE, show(res));
      assert.ok(res.complete, show(res));
      assert.equal(h.digest('hex'), sha256(BIG), 'sha256 of the 1 MiB body');
      assertPolicyCors(res, '1 MiB');
    });

    test('Range: bytes=0-9 gets nginx\'s 206 with the first 10 bytes', T, async () => {
      const c = await client();
      const res = await c.exchange(get('/small.bin', [['Range', 'bytes=0-9']]));
      assert.equal(res?.status, 206, show(res));
      assert.deepEqual(res.values('content-range'), [`bytes 0-9/${SMALL_SIZE}`], show(res));
      assert.ok(res.body.equals(SMALL.subarray(0, 10)), `the first 10 bytes${show(res)}`);
      assertPolicyCors(res, '206');
    });
  });
}
