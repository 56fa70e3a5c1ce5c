// A body trickled in below min_body_rate cannot hold a connection: with body_timeout 1 s and a minimum of
// 100 bytes a second, a body sent at 10 bytes a second (never pausing a whole second, so body_timeout alone
// would wait for ever) is cut off soon after the first second, on a buffered route and on a proxied
// (streamed) one, and so is one trickled after a burst; a body at 400 bytes a second arrives whole. Real corsd and a Node.js upstream, loopback only.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { startCorsd } from '../support/corsd.mjs';

const T = { timeout: 30_000 };
const ORIGIN = 'https://app.example.com';

/** Opens a PUT of `length` bytes on `port` and sends its head, then `first` (the start of the body). */
async function openPut(port, length, first = '') {
  const socket = net.connect(port, '127.0.0.1');
  await once(socket, 'connect');
  const put = { socket, started: Date.now(), text: '', closed: false };
  socket.setEncoding('utf8');
  socket.on('data', (d) => { put.text += d; });
  socket.on('error', () => {});
  put.ended = new Promise((resolve) => socket.once('close', () => { put.closed = true; resolve(); }));
  socket.write(`PUT /items/1 HTTP/1.1\r\nHost: x\r\nOrigin: ${ORIGIN}\r\nContent-Type: text/plain\r\n` +
    `Content-Length: ${length}\r\nConnection: close\r\n\r\n${first}`);
  return put;
}

/** Waits up to `ms` for corsd to close `put`, then ends it: { answered: the status line or null, closed, closedAfterMs }. */
async function finish(put, ms) {
  await Promise.race([put.ended, sleep(ms)]);
  put.socket.destroy();
  return { answered: put.text ? put.text.split('\r\n')[0] : null, closed: put.closed, closedAfterMs: Date.now() - put.started };
}

/**
 * Sends a PUT of `length` bytes to `port`, `chunk` bytes every `everyMs`, for at most `maxMs`. Resolves to
 * finish()'s result.
 */
async function trickle(port, { length, chunk, everyMs, maxMs, burst = 0 }) {
  const put = await openPut(port, length, 'x'.repeat(burst));
  for (let sent = burst; sent < length && !put.closed && Date.now() - put.started < maxMs; sent += chunk) {
    put.socket.write('x'.repeat(Math.min(chunk, length - sent)));
    await sleep(everyMs);
  }
  return finish(put, maxMs);
}

/** Sends a PUT of the parts' total length to `port`: each part [atMs, bytes] at its time from the head. */
async function scheduled(port, parts) {
  const put = await openPut(port, parts.reduce((sum, [, bytes]) => sum + bytes, 0));
  for (const [atMs, bytes] of parts) {
    await sleep(Math.max(0, put.started + atMs - Date.now()));
    if (put.closed) break;
    put.socket.write('x'.repeat(bytes));
  }
  return finish(put, 3000);
}

/**
 * corsd with the rate flags `rate`, as the echo API and as a proxy to a Node.js upstream that takes any body,
 * started and stopped around the describe() this is called in. Returns [name, server getter] for each.
 */
function echoAndProxy(rate) {
  const servers = {};
  let upstream;
  before(async () => {
    upstream = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => res.end('ok'));
    });
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    const limits = ['--no-demo', '--threads', '1', '--listen', '127.0.0.1:0', ...rate,
      '--allow-origin', ORIGIN, '--allow-methods', 'PUT'];
    servers.echo = await startCorsd(limits);
    servers.proxy = await startCorsd([...limits, '--upstream', `http://127.0.0.1:${upstream.address().port}`]);
  });
  after(async () => {
    await servers.echo?.stop();
    await servers.proxy?.stop();
    upstream?.close();
  });
  return [['buffered (the echo API)', () => servers.echo], ['streamed (the proxy)', () => servers.proxy]];
}

describe('min_body_rate', () => {
  const servers = echoAndProxy(['--body-timeout', '1', '--min-body-rate', '100']);

  for (const [name, server] of servers) {
    test(`${name}: a body at 10 bytes a second is cut off soon after body_timeout`, T, async () => {
      const r = await trickle(server().port, { length: 1000, chunk: 1, everyMs: 100, maxMs: 8000 });
      assert.ok(r.closed, `the connection was closed (${JSON.stringify(r)})`);
      assert.ok(r.closedAfterMs < 5000, `closed after ${r.closedAfterMs} ms`);
      assert.ok(!r.answered || !r.answered.includes(' 200 '), `not served: ${r.answered}`);
    });

    test(`${name}: a burst first does not buy a trickle after it: each body_timeout needs its own bytes`, T, async () => {
      // 50,000 bytes at once were 500 s of credit at 100 bytes a second when the rate was an average.
      const r = await trickle(server().port, { length: 60000, burst: 50000, chunk: 1, everyMs: 100, maxMs: 8000 });
      assert.ok(r.closed, `the connection was closed (${JSON.stringify(r)})`);
      assert.ok(r.closedAfterMs < 5000, `closed after ${r.closedAfterMs} ms`);
      assert.ok(!r.answered || !r.answered.includes(' 200 '), `not served: ${r.answered}`);
    });

    test(`${name}: a body above the rate in uneven bursts arrives whole`, T, async () => {
      // 100 bytes every 2/3 s: 150 bytes a second, though a window of 1 s sees 100 or 200 of them.
      const r = await trickle(server().port, { length: 600, chunk: 100, everyMs: 667, maxMs: 10000 });
      assert.match(r.answered ?? '', /^HTTP\/1\.1 200 /, JSON.stringify(r));
    });

    test(`${name}: a body at 400 bytes a second arrives whole`, T, async () => {
      const r = await trickle(server().port, { length: 1000, chunk: 40, everyMs: 100, maxMs: 8000 });
      assert.match(r.answered ?? '', /^HTTP\/1\.1 200 /, JSON.stringify(r));
    });
  }
});

// min_body_rate at its edge: with body_timeout 2 s and 50 bytes a second, the first window (from the head)
// needs exactly 100 bytes. Parts at 0 and 1.5 s fill it, or miss it by one byte; the last part comes at 3 s,
// well after the cut (due at 2 s, enforced within 0.2 s) and 1.5 s after the part before it, well inside
// body_timeout: every margin is half a second or more.
describe('min_body_rate at exactly its share and one byte short', () => {
  const servers = echoAndProxy(['--body-timeout', '2', '--min-body-rate', '50']);

  for (const [name, server] of servers) {
    test(`${name}: 100 bytes in the first 2 s are served, 99 are cut off`, T, async () => {
      const [exact, short] = await Promise.all([
        scheduled(server().port, [[0, 50], [1500, 50], [3000, 100]]),
        scheduled(server().port, [[0, 50], [1500, 49], [3000, 100]]),
      ]);
      assert.match(exact.answered ?? '', /^HTTP\/1\.1 200 /, JSON.stringify(exact));
      assert.ok(short.closed && !(short.answered ?? '').includes(' 200 '), JSON.stringify(short));
    });
  }
});

// Time corsd does not read the body is not the client's: an upstream that takes a streamed body only after
// 3 s holds corsd back (and, through it, the client), and the client is not cut off for it.
describe('min_body_rate and a slow upstream', () => {
  let upstream;
  let proxy;
  before(async () => {
    upstream = http.createServer((req, res) => {
      setTimeout(() => {
        req.resume();
        req.on('end', () => res.end('ok'));
      }, 3000);
    });
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    proxy = await startCorsd(['--no-demo', '--threads', '1', '--listen', '127.0.0.1:0', '--body-timeout', '1',
      '--min-body-rate', '100', '--max-body', String(64 << 20), '--allow-origin', ORIGIN, '--allow-methods', 'PUT',
      '--upstream', `http://127.0.0.1:${upstream.address().port}`]);
  });
  after(async () => {
    await proxy?.stop();
    upstream?.close();
  });

  test('a client held back by a slow upstream, then sending at 400 bytes a second, is served', T, async () => {
    // 32 MiB at once fill the sockets between client, corsd and upstream, so corsd stops reading the client
    // for the 3 s the upstream waits; then the rest comes at 400 bytes a second, above the minimum. The
    // burst still buffered when corsd reads again also carries the missed windows (the test passes with
    // read_body()'s pause accounting removed): it guards the end-to-end behaviour; the accounting itself is
    // guarded by tests/integration/held_body_test.cpp, where nothing is buffered to carry them.
    const burst = 32 << 20;
    const r = await trickle(proxy.port, { length: burst + 2000, burst, chunk: 40, everyMs: 100, maxMs: 20000 });
    assert.match(r.answered ?? '', /^HTTP\/1\.1 200 /, JSON.stringify({ ...r, answered: r.answered }));
  });
});
