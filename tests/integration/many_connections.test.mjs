// 10,000 connections open at once against one single-threaded corsd (--threads 1, --max-connections 12000):
// opened in batches, two thirds idle (they sent nothing) and one third keep-alive ones that were served one
// preflight. While all are open, a new client's request is answered within 1 s, and the first and last kept
// connections still serve a second request; corsd's RSS is measured before and with all open (KiB per
// connection). Then every connection is closed by the client and must close cleanly (corsd answers the FIN
// with its own, no reset), corsd's descriptors fall back to their count before, and corsd still answers.
//
// The test raises no limit itself (Node.js cannot call setrlimit; it starts with its soft open-file limit
// raised to the hard one, and so does corsd, which warns when even the hard one is below what
// max_connections allows). When the hard limit leaves no room for 10,000 connections plus HEADROOM
// descriptors, the test lowers its target to what fits, and says so in its diagnostics.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { killCorsd, startCorsd } from '../support/corsd.mjs';

const WANTED = 10_000;
const MAX_CONNECTIONS = 12_000;  // per thread; corsd needs MAX_CONNECTIONS * threads + 256 descriptors
/** Descriptors either process needs beside the connections (Node.js's own, corsd's listeners and loops). */
const HEADROOM = 300;
const BATCH = 500;
/** Of each three connections, one sends a preflight and is kept alive; two send nothing. */
const SERVED_EVERY = 3;
const NEW_CLIENT_BOUND_MS = 1000;
// RSS per open connection, a third of them served: 1.2 KiB measured (11.7 MiB for 10,000; the issue's target
// is 25 MiB, 2.5 KiB each); 2.5 KiB while each kept its request's parser and store, 3.9 KiB while a suspended
// coroutine held each idle one, 17.9 KiB when each held its buffers.
const MAX_KIB_PER_CONNECTION = 2.5;
// After they all closed, RSS back within this of where it started (measured: 3.5-4.5 MiB above: the reactor's
// per-socket states, kept for reuse, and the pool's spare buffers; 27 MiB before the states were reserved
// in blocks, see src/http/socket_states.hpp).
const MAX_MIB_KEPT_AFTER_CLOSING = 10;

const PREFLIGHT = 'OPTIONS /items/1 HTTP/1.1\r\nHost: many.test\r\nOrigin: https://app.example.com\r\n' +
  'Access-Control-Request-Method: PUT\r\n\r\n';
const ECHO = (n) => `PUT /items/${n} HTTP/1.1\r\nHost: many.test\r\nOrigin: https://app.example.com\r\nContent-Length: 5\r\n\r\nhello`;
const ECHO_ANSWER_BODY = 'Thank You For The Cross-Domain AJAX Request:\n\nMethod: PUT\n\nhello';

/** [soft, hard] "Max open files" of a process (Infinity for unlimited). */
function openFileLimits(pid = 'self') {
  const m = readFileSync(`/proc/${pid}/limits`, 'utf8').match(/^Max open files\s+(\S+)\s+(\S+)/m);
  return [m[1], m[2]].map((v) => (v === 'unlimited' ? Infinity : Number(v)));
}
const fdCount = (pid) => readdirSync(`/proc/${pid}/fd`).length;
const statusKiB = (pid, field) => Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'))[1]);

/** Rejects after ms with what. */
function within(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms); }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * Opens one connection; resolves to its record once connected (and, when served, once its answer came):
 * { socket, served, error, closedEarly, unexpected }.
 */
function open(port, served) {
  const socket = net.connect({ port, host: '127.0.0.1' });
  const conn = { socket, served, error: null, closedEarly: false, unexpected: '', closing: false, closed: null };
  socket.on('error', (e) => { conn.error ??= e; });
  conn.closed = new Promise((resolve) => socket.once('close', (hadError) => {
    if (!conn.closing) conn.closedEarly = true;
    resolve(hadError);
  }));
  const ready = new Promise((resolve, reject) => {
    socket.once('connect', () => {
      if (!served) { resolve(conn); return; }
      let text = '';
      const onData = (d) => {
        text += d.toString('latin1');
        if (!text.includes('\r\n\r\n')) return;
        socket.off('data', onData);
        if (text.startsWith('HTTP/1.1 204 ')) resolve(conn); else reject(new Error(`a preflight got ${JSON.stringify(text.slice(0, 200))}`));
      };
      socket.on('data', onData);
      socket.write(PREFLIGHT);
    });
    conn.closed.then(() => reject(new Error(`closed while opening (${conn.error?.code ?? 'no error'})`)));
  });
  return ready.then(() => {
    // From now on, nothing may arrive (no 503, no timeout close) until the test closes it.
    socket.on('data', (d) => { conn.unexpected += d.toString('latin1').slice(0, 200); });
    return conn;
  });
}

/** One request on a connection of its own: { ms, text } once the whole echo arrived. */
async function newClient(port, n) {
  const started = performance.now();
  const socket = net.connect({ port, host: '127.0.0.1' });
  socket.on('error', () => {});
  try {
    const text = await new Promise((resolve, reject) => {
      let got = '';
      socket.once('connect', () => socket.write(ECHO(n)));
      socket.on('data', (d) => {
        got += d.toString('latin1');
        if (got.includes('\r\n\r\n') && got.endsWith(ECHO_ANSWER_BODY)) resolve(got);
      });
      socket.once('close', () => reject(new Error(`closed before the answer: ${JSON.stringify(got.slice(0, 300))}`)));
      socket.once('error', reject);
    });
    return { ms: performance.now() - started, text };
  } finally {
    socket.destroy();
  }
}

/** A second request on an open, kept-alive connection: resolves to the answer's head line. */
function again(conn) {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (d) => {
      text += d.toString('latin1');
      if (!text.includes('\r\n\r\n')) return;
      conn.socket.off('data', onData);
      resolve(text.split('\r\n')[0]);
    };
    conn.socket.removeAllListeners('data');
    conn.socket.on('data', onData);
    conn.socket.once('close', () => reject(new Error('closed before the answer')));
    conn.socket.write(PREFLIGHT);
  });
}

describe('many connections at once', () => {
  let dir;
  let corsd;
  const conns = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'corsd-many-'));
  });

  after(async () => {
    for (const c of conns) c.socket.destroy();
    await killCorsd(corsd);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const [soft, hard] = openFileLimits();
  const target = Math.min(WANTED, Math.min(soft, hard) - HEADROOM);

  test(`${target.toLocaleString('en')} open connections on one thread`, { timeout: 60_000 }, async (t) => {
    const testStarted = Date.now();
    t.diagnostic(`open-file limit of this Node.js process: soft ${soft}, hard ${hard}`);
    if (target < WANTED) {
      t.diagnostic(`TARGET LOWERED to ${target} connections: the limit ${Math.min(soft, hard)} leaves no room for ` +
        `${WANTED} connections plus ${HEADROOM} other descriptors (raise the hard limit, ulimit -Hn, for the full test)`);
    }
    assert.ok(target >= 1000, `the open-file limit (${Math.min(soft, hard)}) leaves room for only ${target} connections`);

    corsd = await startCorsd(['--listen', '127.0.0.1:0', '--no-demo', '--threads', '1',
      '--max-connections', String(MAX_CONNECTIONS), '--allow-origin', 'https://app.example.com', '--allow-methods', 'PUT',
      // No connection may time out while the test holds it.
      '--header-timeout', '120', '--idle-timeout', '120'], { timeoutMs: 10_000 });
    const { pid } = corsd;

    // corsd raised its soft limit to the hard one, and warns exactly when that is below what it may need.
    const [corsdSoft, corsdHard] = openFileLimits(pid);
    const needed = MAX_CONNECTIONS + 256;
    const warning = /corsd: warning: the open-file limit is (\d+), below the (\d+) that max_connections/.exec(corsd.stderr());
    t.diagnostic(`corsd's open-file limit: soft ${corsdSoft}, hard ${corsdHard}; it needs ${needed}; ` +
      `${warning ? `it warned: ${warning[0]}` : 'no warning'}`);
    assert.equal(corsdSoft, corsdHard, 'corsd raised its soft open-file limit to the hard one');
    if (corsdHard >= needed) {
      assert.equal(warning, null, `no warning with a limit of ${corsdHard}:\n${corsd.output()}`);
    } else {
      assert.ok(warning, `a warning with a limit of ${corsdHard}, below ${needed}:\n${corsd.output()}`);
      assert.equal(Number(warning[2]), needed);
    }

    await sleep(200);
    const fdsBefore = fdCount(pid);
    const rssBefore = statusKiB(pid, 'VmRSS');

    // Open them, BATCH at a time.
    const openStarted = Date.now();
    for (let i = 0; i < target; i += BATCH) {
      const batch = [];
      for (let j = i; j < Math.min(target, i + BATCH); j++) batch.push(open(corsd.port, j % SERVED_EVERY === 0));
      conns.push(...await within(Promise.all(batch), 15_000, `opening connections ${i}-${i + batch.length - 1}`));
    }
    const openSeconds = (Date.now() - openStarted) / 1000;
    const served = conns.filter((c) => c.served).length;
    t.diagnostic(`opened ${conns.length} connections (${served} served a preflight, ${conns.length - served} idle) in ${openSeconds.toFixed(1)} s`);

    // A served connection gives its buffers back after a second of waiting (checked five times a second).
    await sleep(1500);
    const fdsOpen = fdCount(pid);
    const rssOpen = statusKiB(pid, 'VmRSS');
    const perConnection = (rssOpen - rssBefore) / conns.length;
    t.diagnostic(`corsd RSS: ${rssBefore} KiB before, ${rssOpen} KiB with ${conns.length} open: ${perConnection.toFixed(2)} KiB per connection`);
    t.diagnostic(`corsd descriptors: ${fdsBefore} before, ${fdsOpen} with all open`);
    assert.ok(fdsOpen >= fdsBefore + conns.length, `corsd holds ${fdsOpen} descriptors, not ${fdsBefore} + ${conns.length}: some connections were not accepted`);

    // While all are open: new clients are served at once.
    const latencies = [];
    for (let n = 0; n < 5; n++) latencies.push((await within(newClient(corsd.port, n), 5000, `new client ${n}`)).ms);
    t.diagnostic(`new clients' requests with all open, answered in (ms): ${latencies.map((ms) => ms.toFixed(1)).join(', ')}`);
    for (const ms of latencies) assert.ok(ms < NEW_CLIENT_BOUND_MS, `a new client waited ${ms.toFixed(0)} ms for its answer`);

    // The oldest and the newest served connections serve a second request.
    const servedConns = conns.filter((c) => c.served);
    for (const c of [servedConns[0], servedConns.at(-1)]) {
      assert.match(await within(again(c), 5000, 'a second request on a kept connection'), /^HTTP\/1\.1 204 /);
    }

    // Nothing was refused, timed out or answered unasked while they were open.
    const early = conns.filter((c) => c.closedEarly || c.unexpected || c.error);
    assert.equal(early.length, 0, `${early.length} connection(s) closed, failed or got bytes while open, e.g. ` +
      `${JSON.stringify(early.slice(0, 3).map((c) => ({ served: c.served, closed: c.closedEarly, error: c.error?.code, got: c.unexpected })))}`);
    assert.ok(perConnection < MAX_KIB_PER_CONNECTION, `${perConnection.toFixed(2)} KiB of corsd RSS per open connection`);

    // Close them all from this side: corsd must answer each FIN with its own, without a reset.
    const closeStarted = Date.now();
    for (const c of conns) { c.closing = true; c.socket.end(); }
    const hadErrors = await within(Promise.all(conns.map((c) => c.closed)), 20_000, 'closing every connection');
    const closeSeconds = (Date.now() - closeStarted) / 1000;
    const unclean = conns.filter((c, i) => hadErrors[i] || c.error);
    t.diagnostic(`closed ${conns.length} connections in ${closeSeconds.toFixed(1)} s, ${unclean.length} not cleanly`);
    assert.equal(unclean.length, 0, `${unclean.length} connection(s) ended with an error, e.g. ${unclean[0]?.error?.code}`);

    // corsd lets go of them all.
    let fdsAfter = fdCount(pid);
    for (const until = Date.now() + 10_000; fdsAfter > fdsBefore && Date.now() < until;) {
      await sleep(100);
      fdsAfter = fdCount(pid);
    }
    await sleep(500);
    const rssAfter = statusKiB(pid, 'VmRSS');
    t.diagnostic(`corsd descriptors after closing: ${fdsAfter} (${fdsBefore} before); RSS ${rssAfter} KiB, VmHWM ${statusKiB(pid, 'VmHWM')} KiB`);
    assert.ok(fdsAfter <= fdsBefore, `corsd still holds ${fdsAfter} descriptors, ${fdsBefore} before`);
    assert.ok(rssAfter - rssBefore <= MAX_MIB_KEPT_AFTER_CLOSING * 1024,
      `RSS ${((rssAfter - rssBefore) / 1024).toFixed(1)} MiB above the start after every connection closed`);

    // And still answers.
    const last = await within(newClient(corsd.port, 99), 5000, 'a request after the close');
    assert.ok(last.ms < NEW_CLIENT_BOUND_MS, `answered in ${last.ms.toFixed(0)} ms`);
    assert.equal(corsd.proc.exitCode, null, 'corsd is running');
    t.diagnostic(`whole test: ${((Date.now() - testStarted) / 1000).toFixed(1)} s`);
  });
});
