// A soak: one corsd (--threads 2) in front of a Node.js upstream (/api/) and its own echo API (the rest),
// hammered for a fixed time budget by a few concurrent workers, each a loop of randomly chosen actions:
//
//   normal           keep-alive (or not, or HTTP/1.0, or pipelined) connections carrying 1 to 6 preflights,
//                    actual requests and downloads, to both routes, with allowed, disallowed, malformed and
//                    no origins, and bodies of 0 to 1 MiB (Content-Length or chunked); every answer is checked:
//                    the status and Access-Control-Allow-Origin the policy calls for, and every 2xx body byte
//                    for byte (the echo API says the method and the body back; the upstream says the method,
//                    the target and the body; /api/big streams a known pattern of up to 8 MiB)
//   reset-head       half a request head, then a close or a reset
//   reset-body       a head and part of its body (to either route), then a close or a reset; the upstream
//                    must never see such a body complete
//   reset-response   part of a big answer read (checked), then a close or a reset
//   slow-reader      a big answer read with pauses well under --send-timeout: it must arrive whole
//   slow-reader-cut  a 32 MiB download not read for twice --send-timeout: corsd must cut it (what did arrive
//                    is checked byte for byte)
//   slow-writer      a body trickled well above --min-body-rate with pauses under --body-timeout: echoed whole
//   slow-writer-cut  a body that stalls past --body-timeout, or trickles below --min-body-rate: closed in time
//   slow-head-cut    a head stalled or trickled past --header-timeout: closed in time
//   idle-cut         a keep-alive connection left idle: closed after --idle-timeout
//   connect-drop     connections opened and dropped (closed or reset) without a byte sent
//   bad-input        TRACE, CONNECT, both framings, a malformed chunk, a body over --max-body: the README's answers
//   upstream-timeout the upstream silent past --upstream-response-timeout: 504
//
// At the end, after a settle time: corsd is alive and answers; its open file descriptors are back to the
// count before the load (the upstream pool expires after --upstream-idle-timeout 1 s); its RSS is back within
// RSS_SLACK_KIB of the start (see there); and nothing unexpected happened (a 2xx with a wrong or cut body, a
// wrong status, a hang past ACTION_DEADLINE_MS, a crash).
//
// Environment:
//   CORSD_SOAK_SECONDS  the budget (default 90)
//   CORSD_SOAK_SEED     the PRNG seed (default: random, printed); each worker's actions follow from it
//   CORSD_SOAK_WORKERS  concurrent workers (default 10)
//   CORSD_SOAK_ONLY     a comma-separated list of actions: only those (to chase a failure to one of them)
// A failure names the seed, the worker, the action's number and seed, and what it sent: rerun with the same
// CORSD_SOAK_SEED (and CORSD_SOAK_WORKERS) to replay the same sequence of actions (timing differs).

import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { connect, PATTERN_PERIOD, patternSlice, TimeoutError } from '../proxy/support.mjs';
import { killCorsd, startCorsd } from '../support/corsd.mjs';

const SOAK_SECONDS = Number(process.env.CORSD_SOAK_SECONDS ?? 90);
const SEED = process.env.CORSD_SOAK_SEED !== undefined ? Number(process.env.CORSD_SOAK_SEED) >>> 0 : randomInt(2 ** 31);
const WORKERS = Number(process.env.CORSD_SOAK_WORKERS ?? 10);
/** CORSD_SOAK_ONLY=normal,reset-body: only these actions (to chase a failure or a leak to one of them). */
const ONLY = process.env.CORSD_SOAK_ONLY ? new Set(process.env.CORSD_SOAK_ONLY.split(',').map((a) => a.trim())) : null;

// corsd's limits, lowered so that slow clients are cut off well within the budget.
const LIMITS = {
  headerTimeout: 2, bodyTimeout: 3, minBodyRate: 500, idleTimeout: 3, sendTimeout: 4,
  upstreamResponseTimeout: 3, upstreamIdleTimeout: 1, upstreamIdleConnections: 4,
};
const MAX_BODY = 1024 * 1024;
/** How long one action may take before it counts as a hang (the slowest, slow-reader-cut, takes about 9 s). */
const ACTION_DEADLINE_MS = 30_000;
/** How long a timeout-cut may take past its timeout: the 200 ms ticker, a 2 s drain after an error answer, load. */
const CUT_MARGIN_MS = 4000;
/** Open descriptors allowed above the count before the load, once settled. */
const FD_MARGIN = 2;
/** How long the settle may take (the 2 s drain of closing connections, the 1 s pool expiry, the 1 s shed). */
const SETTLE_DEADLINE_MS = 20_000;
// RSS after the load and the settle, above RSS at the start. Measured here (runs of 40 to 300 s, 10 workers,
// up to 3.5 GiB of bodies checked): start about 9.3 MiB, VmHWM 17-22 MiB, end 6-11 MiB above the start, and
// flat over time (sampled every 10 s, a 300 s run stays at 15-20 MiB from its first minute to its last): the
// heap keeps what the busiest moment needed (echo bodies are buffered whole, up to 1 MiB each; each thread
// pools its 80 KiB proxy buffers), malloc_trim gives back the rest. End RSS cannot exceed VmHWM, so the bound
// only trips when corsd held 16 MiB more than at the start and kept it after the settle. A 90 s run moves
// about 1 GiB in about 6,000 requests: a leak of 1.5 % of the bytes or of 3 KiB per request trips it alone, one
// of half that on top of the measured retention.
const RSS_SLACK_KIB = 16 * 1024;

const ECHO_PREFIX = (method) => `Thank You For The Cross-Domain AJAX Request:\n\nMethod: ${method}\n\n`;
const UPSTREAM_PREFIX = (method, target) => `upstream ${method} ${target}\n`;

// ---------------------------------------------------------------------------------------------------------
// The seeded PRNG (mulberry32) and what the workers draw from it.

class Rng {
  #a;
  constructor(seed) { this.#a = seed >>> 0; }
  next() {
    this.#a = (this.#a + 0x6d2b79f5) >>> 0;
    let t = this.#a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** An integer in [lo, hi]. */
  int(lo, hi) { return lo + Math.floor(this.next() * (hi - lo + 1)); }
  chance(p) { return this.next() < p; }
  pick(list) { return list[Math.floor(this.next() * list.length)]; }
  /** A key of weights, drawn by weight. */
  weighted(weights) {
    const total = Object.values(weights).reduce((a, b) => a + b, 0);
    let r = this.next() * total;
    for (const [k, w] of Object.entries(weights)) {
      r -= w;
      if (r < 0) return k;
    }
    return Object.keys(weights).at(-1);
  }
}

/** 2 MiB of seeded random bytes; request bodies are slices of it. */
const RANDOM = (() => {
  const rng = new Rng(SEED ^ 0x5eed);
  const b = Buffer.alloc(2 * MAX_BODY);
  for (let i = 0; i < b.length; i += 4) b.writeUInt32LE(Math.floor(rng.next() * 2 ** 32), i);
  return b;
})();

function bodyOf(rng, { small = false } = {}) {
  const size = small ? rng.int(0, 4096) : rng.weighted({ tiny: 40, medium: 30, large: 20, huge: 10 });
  const len = typeof size === 'number' ? size
    : size === 'tiny' ? rng.int(0, 1024)
      : size === 'medium' ? rng.int(1025, 64 * 1024)
        : size === 'large' ? rng.int(64 * 1024 + 1, 512 * 1024)
          : rng.chance(0.2) ? MAX_BODY : rng.int(512 * 1024 + 1, MAX_BODY);
  const off = rng.int(0, RANDOM.length - len);
  return RANDOM.subarray(off, off + len);
}

// The routes and their policies (the config below says the same).
const ROUTES = {
  echo: { prefix: '/echo', methods: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH'], badMethods: ['PROPFIND', 'put'] },
  api: { prefix: '/api', methods: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE'], badMethods: ['PATCH', 'delete'] },
};
const ALLOWED_HEADERS = ['content-type', 'x-soak'];

/** An Origin: { value (null: none), kind, allowed: { echo, api } }. */
function originOf(rng) {
  const both = { echo: true, api: true };
  const kind = rng.weighted({ allowed: 45, disallowed: 25, malformed: 20, none: 10 });
  if (kind === 'none') return { value: null, kind, allowed: { echo: false, api: false } };
  if (kind === 'allowed') {
    return rng.pick([
      () => ({ value: 'https://app.example.com', kind, allowed: both }),
      () => ({ value: `http://localhost:${rng.int(1, 65535)}`, kind, allowed: { echo: true, api: false } }),
      () => ({ value: `https://s${rng.int(0, 999)}.example.org`, kind, allowed: { echo: true, api: false } }),
      () => ({ value: 'https://admin.example.com', kind, allowed: { echo: false, api: true } }),
    ])();
  }
  const value = kind === 'disallowed'
    ? rng.pick(['https://evil.example', 'https://app.example.com.evil.test', 'http://app.example.com', 'https://example.org',
      'null', 'https://APP.example.com', 'http://127.0.0.1:8080', 'https://app.example.co'])
    : rng.pick(['https://app.example.com/', 'app.example.com', 'https://exa mple.com', 'https://app.example.com:99999', '*',
      'https://', 'https://app.example.com:443', 'https://app.example.com/path', 'https://user@app.example.com', '']);
  return { value, kind, allowed: { echo: false, api: false } };
}

// ---------------------------------------------------------------------------------------------------------
// Requests: built, sent and checked.

class Failure extends Error {
  constructor(kind, message) {
    super(message);
    this.kind = kind;
  }
}

/** Chunked encoding of body in random pieces (sometimes an extension, sometimes a trailer). */
function chunkedParts(rng, body) {
  const parts = [];
  for (let off = 0; off < body.length;) {
    const n = Math.min(body.length - off, rng.chance(0.3) ? rng.int(1, 100) : rng.int(1, 128 * 1024));
    const ext = rng.chance(0.05) ? ';soak=1' : '';
    parts.push(Buffer.from(`${n.toString(16)}${ext}\r\n`), body.subarray(off, off + n), Buffer.from('\r\n'));
    off += n;
  }
  parts.push(Buffer.from(rng.chance(0.1) ? '0\r\nX-Trailer: t\r\n\r\n' : '0\r\n\r\n'));
  return parts;
}

/**
 * One request: { kind, route, method, target, origin, version, head (Buffer), parts (Buffers of the body as
 * sent), expect: { status, acao (string or null), body (Buffer, or null to not check), pattern: {off, size} } }.
 */
function makeRequest(rng, { id, version = '1.1', close = false, small = false, kind: kindWanted, route: routeWanted } = {}) {
  const route = routeWanted ?? (rng.chance(0.45) ? 'api' : 'echo');
  const r = ROUTES[route];
  const kind = kindWanted ?? (rng.chance(0.3) ? 'preflight'
    : route === 'api' && !small && rng.chance(0.2) ? 'download' : 'actual');
  const origin = kind === 'preflight' ? (() => {
    for (;;) { const o = originOf(rng); if (o.value !== null) return o; }  // no Origin: not a preflight
  })() : originOf(rng);
  const headers = [['Host', 'soak.test']];
  if (origin.value !== null) headers.push(['Origin', origin.value]);
  const req = { kind, route, origin, version, id, parts: [] };
  const query = new URLSearchParams({ id });
  if (kind === 'preflight') {
    const methodOk = rng.chance(0.8);
    const acrm = methodOk ? rng.pick(r.methods) : rng.pick(r.badMethods);
    headers.push(['Access-Control-Request-Method', acrm]);
    let headersOk = true;
    if (rng.chance(0.5)) {
      const names = ALLOWED_HEADERS.filter(() => rng.chance(0.6));
      if (rng.chance(0.15)) { names.push('x-forbidden'); headersOk = false; }
      if (names.length) headers.push(['Access-Control-Request-Headers', names.join(', ')]);
    }
    const ok = origin.allowed[route] && methodOk && headersOk;
    req.method = 'OPTIONS';
    req.target = `${r.prefix}/preflight?${query}`;
    req.expect = { status: ok ? 204 : 403, acao: ok ? origin.value : null, body: null };
  } else if (kind === 'download') {
    const size = rng.chance(0.3) ? rng.int(1, 256 * 1024) : rng.int(256 * 1024, 8 * 1024 * 1024);
    const off = rng.int(0, PATTERN_PERIOD - 1);
    query.set('size', size);
    query.set('off', off);
    query.set('mode', rng.chance(0.5) ? 'cl' : 'chunked');
    if (rng.chance(0.2)) { query.set('pause', rng.int(100, 1000)); query.set('pauseAt', rng.int(0, size)); }
    req.method = 'GET';
    req.target = `/api/big?${query}`;
    req.expect = { status: 200, acao: origin.allowed.api ? origin.value : null, body: null, pattern: { off, size } };
  } else {
    req.method = rng.pick(r.methods);
    const hasBody = !['GET', 'HEAD'].includes(req.method) || rng.chance(0.05);
    const body = hasBody ? bodyOf(rng, { small }) : null;
    if (route === 'api') {
      query.set('mode', req.method === 'HEAD' || rng.chance(0.5) ? 'cl' : 'chunked');
      if (rng.chance(0.15)) query.set('delay', rng.int(50, 1200));
    }
    req.target = `${r.prefix}/items/${rng.int(1, 999)}?${query}`;
    if (rng.chance(0.3)) headers.push(['Content-Type', 'application/octet-stream']);
    if (rng.chance(0.1)) headers.push(['X-Soak', `${id}`]);
    if (body) {
      if (version === '1.1' && rng.chance(0.35)) {
        headers.push(['Transfer-Encoding', 'chunked']);
        req.parts = chunkedParts(rng, body);
      } else {
        headers.push(['Content-Length', String(body.length)]);
        if (body.length) req.parts = [body];
      }
    }
    const prefix = route === 'echo' ? ECHO_PREFIX(req.method) : UPSTREAM_PREFIX(req.method, req.target);
    req.expect = {
      status: 200,
      acao: origin.allowed[route] ? origin.value : null,
      body: req.method === 'HEAD' ? Buffer.alloc(0) : Buffer.concat([Buffer.from(prefix), body ?? Buffer.alloc(0)]),
    };
  }
  if (close) headers.push(['Connection', 'close']);
  req.head = Buffer.from(`${req.method} ${req.target} HTTP/${version}\r\n${headers.map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n`, 'latin1');
  return req;
}

/** The request's bytes, in one Buffer (for pipelining and for cutting). */
const bytesOf = (req) => Buffer.concat([req.head, ...req.parts]);

async function sendRequest(client, req) {
  await client.send(req.head);
  for (const p of req.parts) await client.send(p);
}

/**
 * Compares received body bytes, piece by piece, with what is expected: a Buffer, or the pattern from an
 * offset. bad is the offset of the first wrong byte (undefined while all are right).
 */
class BodyCheck {
  got = 0;
  bad = undefined;
  constructor(expect) { this.expect = expect; }
  expectedAt(at, len) {
    if (this.expect.pattern) return patternSlice(this.expect.pattern.off + at, len);
    return this.expect.body.subarray(at, at + len);
  }
  onBody = (piece) => {
    if (this.bad === undefined) {
      for (let i = 0; i < piece.length;) {
        const want = this.expectedAt(this.got + i, piece.length - i);
        if (want.length === 0 || !piece.subarray(i, i + want.length).equals(want)) {
          const have = piece.subarray(i, i + Math.max(1, want.length));
          let j = 0;
          while (j < want.length && have[j] === want[j]) j++;
          this.bad = this.got + i + j;
          break;
        }
        i += want.length;
      }
    }
    this.got += piece.length;
  };
  get expectedLength() { return this.expect.pattern ? this.expect.pattern.size : this.expect.body.length; }
}

const acaoOf = (res) => res.values('access-control-allow-origin');
const describeRes = (res) => `${res.status} ${res.reason}, ${res.framing}, ${res.bodyLength} body bytes${res.complete ? '' : ' (cut)'}`;

/** Reads and checks the answer to req; returns it. Throws a Failure when it is not what req.expect says. */
async function readChecked(client, req, stats, { onBody } = {}) {
  const check = req.expect.body || req.expect.pattern ? new BodyCheck(req.expect) : null;
  const sink = check ? async (p) => { check.onBody(p); if (onBody) await onBody(p, check.got); } : undefined;
  const res = await client.response({ method: req.method, onBody: sink });
  if (res === null) throw new Failure('unexpected-close', `the connection ended before an answer to ${req.method} ${req.target}`);
  const what = `${req.method} ${req.target} (origin ${JSON.stringify(req.origin.value)}): ${describeRes(res)}`;
  if (res.status !== req.expect.status) {
    throw new Failure('wrong-status', `${what}: expected ${req.expect.status}; body ${JSON.stringify(res.body.toString('latin1').slice(0, 200))}`);
  }
  const acao = acaoOf(res);
  const acaoOk = req.expect.acao === null
    ? acao.length === 0 || (req.origin.value === null && acao.length === 1 && acao[0] === '*')
    : acao.length === 1 && acao[0] === req.expect.acao;
  if (!acaoOk) throw new Failure('wrong-cors', `${what}: Access-Control-Allow-Origin ${JSON.stringify(acao)}, expected ${JSON.stringify(req.expect.acao)}`);
  if (check) {
    if (!res.complete) throw new Failure('cut-body', `${what}: a ${res.status} cut after ${check.got} of ${check.expectedLength} bytes`);
    if (check.bad !== undefined) throw new Failure('wrong-body', `${what}: wrong byte at offset ${check.bad} of ${check.expectedLength}`);
    if (check.got !== check.expectedLength) {
      throw new Failure('wrong-body', `${what}: ${check.got} body bytes, expected ${check.expectedLength}`);
    }
    stats.bytesChecked += check.got;
  }
  stats.answersChecked++;
  return res;
}

/**
 * Reads until the peer closes, for at most ms: { closed, elapsed, status (of an answer that came, or null) }.
 * A peer that resets counts as closed.
 */
async function readUntilClosed(client, ms) {
  const started = Date.now();
  const saved = client.reader.timeoutMs;
  client.reader.timeoutMs = ms;
  let first = Buffer.alloc(0);
  try {
    await client.reader.readToEnd((p) => { if (first.length < 64) first = Buffer.concat([first, p]).subarray(0, 64); });
    return { closed: true, elapsed: Date.now() - started, status: statusOf(first) };
  } catch (e) {
    if (e instanceof TimeoutError) return { closed: false, elapsed: Date.now() - started, status: statusOf(first) };
    throw e;
  } finally {
    client.reader.timeoutMs = saved;
  }
}
const statusOf = (buf) => { const m = /^HTTP\/1\.[01] (\d{3})/.exec(buf.toString('latin1')); return m ? Number(m[1]) : null; };

// ---------------------------------------------------------------------------------------------------------
// The actions. Each gets ctx = { rng, id, stats, connect(), raw(), sockets } and resolves to an outcome
// (a short word, counted) or throws a Failure.

// Weights. The slow ones hold a worker for seconds each (slow-reader-cut about 9 s, the other cuts 2-5 s,
// slow-writer 1-4 s), so their weights are low for them to take about a third of the workers' time.
const ACTIONS = {
  normal: 50,
  'reset-head': 5,
  'reset-body': 6,
  'reset-response': 6,
  'slow-reader': 3,
  'slow-reader-cut': 0.4,
  'slow-writer': 2,
  'slow-writer-cut': 1,
  'slow-head-cut': 0.8,
  'idle-cut': 0.5,
  'connect-drop': 6,
  'bad-input': 3,
  'upstream-timeout': 0.4,
};

const WEIGHTS = ONLY ? Object.fromEntries(Object.entries(ACTIONS).filter(([name]) => ONLY.has(name))) : ACTIONS;
if (ONLY && Object.keys(WEIGHTS).length !== ONLY.size) throw new Error(`CORSD_SOAK_ONLY names unknown actions: ${[...ONLY]}`);

/** Closes (FIN) or resets (RST) the socket, at random; says which. */
function closeOrReset(rng, socket) {
  if (rng.chance(0.5)) { socket.destroy(); return 'closed'; }
  socket.resetAndDestroy();
  return 'reset';
}
const tokensOf = (res, name) => res.tokens(name);

const act = {
  async normal(ctx) {
    const { rng } = ctx;
    const version = rng.chance(0.08) ? '1.0' : '1.1';
    const n = version === '1.0' ? 1 : rng.int(1, 6);
    const pipelined = n > 1 && rng.chance(0.2);
    const closeLast = version === '1.1' && rng.chance(0.4);
    const reqs = Array.from({ length: n }, (_, k) =>
      makeRequest(rng, { id: `${ctx.id}.${k}`, version, close: closeLast && k === n - 1, small: pipelined }));
    const gaps = reqs.map(() => (rng.chance(0.3) ? rng.int(0, 300) : 0));
    const c = await ctx.connect();
    let serverCloses = version === '1.0';
    if (pipelined) await c.send(Buffer.concat(reqs.map(bytesOf)));
    for (const [k, req] of reqs.entries()) {
      ctx.stats.count(`request ${req.route} ${req.kind}`);
      if (!pipelined) {
        if (gaps[k]) await sleep(gaps[k]);
        await sendRequest(c, req);
      }
      const res = await readChecked(c, req, ctx.stats);
      if (tokensOf(res, 'connection').includes('close')) {
        serverCloses = true;
        if (k < n - 1) ctx.stats.count(`normal: corsd said close after ${res.status} before the last request`);
        break;
      }
    }
    const shape = version === '1.0' ? 'http/1.0' : pipelined ? 'pipelined' : n > 1 ? 'keep-alive' : 'one request';
    if (serverCloses || closeLast) {
      const r = await readUntilClosed(c, 3000);
      if (!r.closed) throw new Failure('not-closed', `corsd did not close after ${closeLast ? 'Connection: close' : 'its last answer'} (${r.elapsed} ms)`);
      return `${shape}, corsd closed`;
    }
    c.close();
    return `${shape}, client closed`;
  },

  async 'reset-head'(ctx) {
    const { rng } = ctx;
    const req = makeRequest(rng, { id: ctx.id });
    const c = await ctx.connect();
    const cut = rng.int(1, req.head.length - 2);
    await c.send(req.head.subarray(0, cut));
    if (rng.chance(0.5)) await sleep(rng.int(0, 200));
    return closeOrReset(rng, c.socket);
  },

  async 'reset-body'(ctx) {
    const { rng } = ctx;
    let req;
    do req = makeRequest(rng, { id: `${ctx.id}.cut`, kind: 'actual' }); while (req.parts.length === 0);
    const body = Buffer.concat(req.parts);
    // Never past the last chunk's start nor the last byte: the body stays incomplete.
    const chunked = req.head.includes('Transfer-Encoding: chunked');
    const limit = chunked ? body.lastIndexOf('0\r\n') - 1 : body.length - 1;
    const cut = rng.int(0, Math.max(0, limit));
    if (req.route === 'api') ctx.stats.cutIds.add(req.id);
    const c = await ctx.connect();
    try {
      await c.send(req.head);
      await c.send(body.subarray(0, cut));
      if (rng.chance(0.5)) await sleep(rng.int(0, 300));
    } catch {
      // corsd may have answered (and closed) already, say a 400 for a bad chunk: not expected, but seen below
    }
    return `${req.route} ${chunked ? 'chunked' : 'content-length'} ${closeOrReset(rng, c.socket)}`;
  },

  async 'reset-response'(ctx) {
    const { rng } = ctx;
    const req = rng.chance(0.5)
      ? makeRequest(rng, { id: ctx.id, kind: 'download' })
      : (() => {
        let r;
        do r = makeRequest(rng, { id: ctx.id, kind: 'actual' }); while (!r.expect.body || r.expect.body.length < 64 * 1024);
        return r;
      })();
    const total = req.expect.pattern ? req.expect.pattern.size : req.expect.body.length;
    const stopAt = rng.int(0, Math.floor(total / 2));
    const c = await ctx.connect();
    await sendRequest(c, req);
    const reset = rng.chance(0.5);
    const check = new BodyCheck(req.expect);
    const res = await c.response({
      method: req.method,
      onBody: (p) => {
        check.onBody(p);
        if (check.got >= stopAt && !c.socket.destroyed) (reset ? c.socket.resetAndDestroy() : c.socket.destroy());
      },
    });
    if (res === null) throw new Failure('unexpected-close', `no answer to ${req.method} ${req.target}`);
    if (res.status === 200 && check.bad !== undefined) {
      throw new Failure('wrong-body', `${req.method} ${req.target}: wrong byte at offset ${check.bad} (read ${check.got} before the cut)`);
    }
    if (res.status !== 200 && req.expect.status === 200) {
      throw new Failure('wrong-status', `${req.method} ${req.target}: ${describeRes(res)}`);
    }
    c.close();
    return `${req.kind} ${reset ? 'reset' : 'closed'}`;
  },

  async 'slow-reader'(ctx) {
    const { rng } = ctx;
    let req;
    if (rng.chance(0.7)) {
      req = makeRequest(rng, { id: ctx.id, kind: 'download' });
    } else {
      do req = makeRequest(rng, { id: ctx.id, kind: 'actual' }); while (!req.expect.body || req.expect.body.length < 128 * 1024);
    }
    const total = req.expect.pattern ? req.expect.pattern.size : req.expect.body.length;
    // One to three pauses, each at most a third of send_timeout.
    const pauses = Array.from({ length: rng.int(1, 3) }, () => ({ at: rng.int(0, total), ms: rng.int(200, (LIMITS.sendTimeout * 1000) / 3) }))
      .sort((a, b) => a.at - b.at);
    const c = await ctx.connect();
    await sendRequest(c, req);
    await readChecked(c, req, ctx.stats, {
      onBody: async (_p, got) => {
        while (pauses.length && got >= pauses[0].at) await sleep(pauses.shift().ms);
      },
    });
    c.close();
    return `${req.kind} whole`;
  },

  async 'slow-reader-cut'(ctx) {
    const { rng } = ctx;
    const size = 32 * 1024 * 1024;
    const off = rng.int(0, PATTERN_PERIOD - 1);
    const mode = rng.pick(['cl', 'chunked']);
    const target = `/api/big?id=${ctx.id}&size=${size}&off=${off}&mode=${mode}`;
    const c = await ctx.connect();
    await c.send(`GET ${target} HTTP/1.1\r\nHost: soak.test\r\nOrigin: https://app.example.com\r\n\r\n`);
    const check = new BodyCheck({ pattern: { off, size } });
    let paused = false;
    const pauseMs = 2 * LIMITS.sendTimeout * 1000;
    const res = await c.response({
      method: 'GET',
      onBody: async (p) => {
        check.onBody(p);
        if (!paused) { paused = true; await sleep(pauseMs); }
      },
    });
    if (res === null || res.status !== 200) throw new Failure('wrong-status', `GET ${target}: ${res ? describeRes(res) : 'no answer'}`);
    if (check.bad !== undefined) throw new Failure('wrong-body', `GET ${target}: wrong byte at offset ${check.bad}`);
    if (res.complete) {
      throw new Failure('not-cut-off', `GET ${target}: a client that read nothing for ${pauseMs} ms (send_timeout ${LIMITS.sendTimeout} s) got all ${size} bytes`);
    }
    c.close();
    ctx.stats.max('slow-reader-cut: KiB that arrived before the cut (of 32 MiB)', Math.round(check.got / 1024));
    return 'cut';
  },

  async 'slow-writer'(ctx) {
    const { rng } = ctx;
    const route = rng.pick(['echo', 'api']);
    const method = rng.pick(['POST', 'PUT']);
    const len = rng.int(1024, 24 * 1024);
    const off = rng.int(0, RANDOM.length - len);
    const body = RANDOM.subarray(off, off + len);
    const chunked = rng.chance(0.5);
    const target = route === 'api' ? `/api/slow-upload?id=${ctx.id}&mode=cl` : `/echo/slow-upload?id=${ctx.id}`;
    const head = `${method} ${target} HTTP/1.1\r\nHost: soak.test\r\nOrigin: https://app.example.com\r\n` +
      `${chunked ? 'Transfer-Encoding: chunked' : `Content-Length: ${len}`}\r\n\r\n`;
    const c = await ctx.connect();
    await c.send(head);
    // Pieces of 256-2048 bytes every 20-150 ms: at least 1.7 KB/s, well above min_body_rate (500 B/s); now
    // and then a pause of at most a third of body_timeout.
    for (let sent = 0; sent < len;) {
      const n = Math.min(len - sent, rng.int(256, 2048));
      const piece = body.subarray(sent, sent + n);
      await c.send(chunked ? Buffer.concat([Buffer.from(`${n.toString(16)}\r\n`), piece, Buffer.from('\r\n')]) : piece);
      sent += n;
      await sleep(rng.chance(0.05) ? rng.int(300, (LIMITS.bodyTimeout * 1000) / 3) : rng.int(20, 150));
    }
    if (chunked) await c.send('0\r\n\r\n');
    const prefix = route === 'echo' ? ECHO_PREFIX(method) : UPSTREAM_PREFIX(method, target);
    const req = {
      method, target, route, origin: { value: 'https://app.example.com' },
      expect: { status: 200, acao: 'https://app.example.com', body: Buffer.concat([Buffer.from(prefix), body]) },
    };
    await readChecked(c, req, ctx.stats);
    c.close();
    return `${route} ${chunked ? 'chunked' : 'content-length'} whole`;
  },

  async 'slow-writer-cut'(ctx) {
    const { rng } = ctx;
    const route = rng.pick(['echo', 'api']);
    const stall = rng.chance(0.5);  // else: a trickle below min_body_rate
    const target = route === 'api' ? `/api/slow-upload?id=${ctx.id}.cut&mode=cl` : `/echo/slow-upload?id=${ctx.id}`;
    if (route === 'api') ctx.stats.cutIds.add(`${ctx.id}.cut`);
    const len = 100_000;
    const c = await ctx.connect();
    await c.send(`PUT ${target} HTTP/1.1\r\nHost: soak.test\r\nOrigin: https://app.example.com\r\nContent-Length: ${len}\r\n\r\n`);
    const started = Date.now();
    let r;
    if (stall) {
      await c.send(RANDOM.subarray(0, rng.int(0, 5000)));
      r = await readUntilClosed(c, LIMITS.bodyTimeout * 1000 + CUT_MARGIN_MS);
    } else {
      // 20 bytes every 200 ms: 100 B/s, a fifth of min_body_rate, and never a pause of a whole body_timeout.
      const closed = readUntilClosed(c, LIMITS.bodyTimeout * 1000 * 1.25 + CUT_MARGIN_MS + 1000);
      let sent = 0;
      let done = false;
      closed.finally(() => { done = true; });
      while (!done && sent < len && !c.socket.destroyed) {
        c.socket.write(RANDOM.subarray(sent, sent + 20));
        sent += 20;
        await sleep(200);
      }
      r = await closed;
    }
    const elapsed = Date.now() - started;
    // body_timeout, and for the trickle what its bytes earned at min_body_rate: at 100 B/s, t s bring
    // 100 t bytes, which earn t/5 s at 500 B/s, so the cut comes at t = body_timeout / (1 - 1/5).
    const bound = LIMITS.bodyTimeout * 1000 * (stall ? 1 : 1.25) + CUT_MARGIN_MS;
    if (!r.closed || elapsed > bound) {
      throw new Failure('not-cut-off', `${stall ? 'a stalled' : 'a trickled'} body to ${target}: ${r.closed ? 'closed' : 'still open'} after ${elapsed} ms (bound ${bound} ms)`);
    }
    if (r.status !== null && r.status < 300) throw new Failure('wrong-status', `a cut body to ${target} got a ${r.status}`);
    ctx.stats.max(`slow-writer-cut: ms to the close, ${stall ? 'stall' : 'trickle'} (bound ${bound})`, elapsed);
    return `${route} ${stall ? 'stall' : 'trickle'} closed${r.status ? ` with ${r.status}` : ''}`;
  },

  async 'slow-head-cut'(ctx) {
    const { rng } = ctx;
    const head = Buffer.from(`PUT /echo/x HTTP/1.1\r\nHost: soak.test\r\nOrigin: https://app.example.com\r\nX-Filler: ${'f'.repeat(200)}\r\n\r\n`);
    const trickle = rng.chance(0.5);
    const c = await ctx.connect();
    const started = Date.now();
    const closed = readUntilClosed(c, LIMITS.headerTimeout * 1000 + CUT_MARGIN_MS);
    if (trickle) {
      // A byte every 100 ms: trickling does not extend the header timeout.
      let done = false;
      closed.finally(() => { done = true; });
      for (let i = 0; i < head.length - 4 && !done && !c.socket.destroyed; i++) {
        c.socket.write(head.subarray(i, i + 1));
        await sleep(100);
      }
    } else {
      await c.send(head.subarray(0, rng.int(1, head.length - 4)));
    }
    const r = await closed;
    const elapsed = Date.now() - started;
    const bound = LIMITS.headerTimeout * 1000 + CUT_MARGIN_MS;
    if (!r.closed || elapsed > bound) {
      throw new Failure('not-cut-off', `a ${trickle ? 'trickled' : 'stalled'} head: ${r.closed ? 'closed' : 'still open'} after ${elapsed} ms (bound ${bound} ms)`);
    }
    if (r.status !== null && r.status < 300) throw new Failure('wrong-status', `an unfinished head got a ${r.status}`);
    ctx.stats.max(`slow-head-cut: ms to the close, ${trickle ? 'trickle' : 'stall'} (bound ${bound})`, elapsed);
    return `${trickle ? 'trickle' : 'stall'} closed${r.status ? ` with ${r.status}` : ''}`;
  },

  // corsd closes an idle keep-alive connection about 1 s after idle_timeout (4.0-4.2 s for 3 s here): giving
  // its buffers back after 1 s idle re-arms the idle deadline from then. Within CUT_MARGIN_MS; the maximum is
  // reported.
  async 'idle-cut'(ctx) {
    const { rng } = ctx;
    const req = makeRequest(rng, { id: ctx.id, small: true, kind: rng.pick(['preflight', 'actual']) });
    const c = await ctx.connect();
    await sendRequest(c, req);
    const res = await readChecked(c, req, ctx.stats);
    if (tokensOf(res, 'connection').includes('close')) return 'corsd closed at once';
    const r = await readUntilClosed(c, LIMITS.idleTimeout * 1000 + CUT_MARGIN_MS);
    if (!r.closed) throw new Failure('not-cut-off', `an idle keep-alive connection still open after ${r.elapsed} ms (idle_timeout ${LIMITS.idleTimeout} s)`);
    if (r.status !== null) throw new Failure('unexpected-bytes', `an idle keep-alive connection got an unasked answer (${r.status})`);
    ctx.stats.max(`idle-cut: ms to the close (idle_timeout ${LIMITS.idleTimeout * 1000})`, r.elapsed);
    return 'closed';
  },

  async 'connect-drop'(ctx) {
    const { rng } = ctx;
    const n = rng.int(1, 16);
    await Promise.all(Array.from({ length: n }, async () => {
      const mode = rng.pick(['at-once', 'on-connect', 'after-a-while', 'reset']);
      const wait = rng.int(0, 500);
      ctx.stats.count(`connect-drop socket: ${mode}`);
      const s = ctx.raw();
      if (mode === 'at-once') { s.destroy(); return; }
      await new Promise((resolve) => { s.once('connect', resolve); s.once('close', resolve); });
      if (mode === 'after-a-while') await sleep(wait);
      if (mode === 'reset') s.resetAndDestroy(); else s.destroy();
    }));
    return 'dropped';
  },

  async 'bad-input'(ctx) {
    const { rng } = ctx;
    const H = 'Host: soak.test\r\nOrigin: https://app.example.com\r\n';
    const route = rng.pick(['/echo/bad', '/api/bad']);
    const cases = [
      ['trace', `TRACE ${route} HTTP/1.1\r\n${H}\r\n`, 405],
      ['connect', `CONNECT soak.test:443 HTTP/1.1\r\n${H}\r\n`, 501],
      ['cl+te', `POST ${route} HTTP/1.1\r\n${H}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`, 400],
      ['bad chunk', `POST ${route} HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n`, 400],
      ['over max_body', `POST ${route} HTTP/1.1\r\n${H}Content-Length: ${MAX_BODY + 1}\r\n\r\n`, 413],
      ['climbing path', `GET /echo/../../etc/passwd HTTP/1.1\r\n${H}\r\n`, 400],
      ['no host', `GET ${route} HTTP/1.1\r\nOrigin: https://app.example.com\r\n\r\n`, 400],
      ['http/2.0', `GET ${route} HTTP/2.0\r\n${H}\r\n`, 505],
    ];
    const [name, bytes, status] = rng.pick(cases);
    const c = await ctx.connect();
    await c.send(bytes);
    const res = await c.response({ method: 'GET' });
    if (res === null || res.status !== status) {
      throw new Failure('wrong-status', `bad input (${name}): ${res ? describeRes(res) : 'no answer'}, expected ${status}`);
    }
    const r = await readUntilClosed(c, 4000);
    if (!r.closed) throw new Failure('not-closed', `bad input (${name}): the connection stayed open after the ${status}`);
    return name;
  },

  async 'upstream-timeout'(ctx) {
    const target = `/api/items/1?id=${ctx.id}&delay=${LIMITS.upstreamResponseTimeout * 1000 + 1500}`;
    const c = await ctx.connect();
    const started = Date.now();
    await c.send(`GET ${target} HTTP/1.1\r\nHost: soak.test\r\nOrigin: https://app.example.com\r\n\r\n`);
    const saved = c.reader.timeoutMs;
    c.reader.timeoutMs = LIMITS.upstreamResponseTimeout * 1000 + CUT_MARGIN_MS;
    const res = await c.response();
    c.reader.timeoutMs = saved;
    if (res === null || res.status !== 504 || !/did not answer within/.test(res.text())) {
      throw new Failure('wrong-status', `GET ${target}: ${res ? `${describeRes(res)} ${JSON.stringify(res.text())}` : 'no answer'}, expected a 504`);
    }
    if (acaoOf(res)[0] !== 'https://app.example.com') throw new Failure('wrong-cors', `the 504 has no CORS headers: ${res.head}`);
    c.close();
    ctx.stats.max(`upstream-timeout: ms to the 504 (response_timeout ${LIMITS.upstreamResponseTimeout * 1000})`, Date.now() - started);
    return '504';
  },
};

// ---------------------------------------------------------------------------------------------------------
// The upstream: echoes /api/... bodies back (method and target first), streams /api/big, is slow on asking.

/** Resolves once res may take more, or is gone. */
function drainedOrGone(res) {
  return new Promise((resolve) => {
    if (res.destroyed) { resolve(); return; }
    const done = () => { res.off('drain', done); res.off('close', done); resolve(); };
    res.on('drain', done);
    res.on('close', done);
  });
}

async function startUpstream(stats) {
  const sockets = new Set();
  const server = http.createServer({ keepAliveTimeout: 5000, requestTimeout: 0 }, async (req, res) => {
    stats.upstream.requests++;
    req.on('error', () => {});
    res.on('error', () => {});
    let gone = false;
    res.on('close', () => { gone = true; });
    if (req.headers['access-control-request-method'] && req.method === 'OPTIONS') stats.upstream.preflights++;
    const url = new URL(req.url, 'http://upstream.invalid');
    const q = (k, d) => (url.searchParams.has(k) ? Number(url.searchParams.get(k)) : d);
    const id = url.searchParams.get('id');
    if (url.pathname === '/api/big') {
      req.resume();
      const size = q('size', 0);
      const off = q('off', 0);
      const pauseAt = q('pauseAt', -1);
      res.writeHead(200, url.searchParams.get('mode') === 'cl'
        ? { 'content-type': 'application/octet-stream', 'content-length': size }
        : { 'content-type': 'application/octet-stream' });
      for (let sent = 0; sent < size && !gone;) {
        if (pauseAt >= 0 && sent <= pauseAt && pauseAt < sent + 65536) await sleep(q('pause', 0));
        const piece = patternSlice(off + sent, Math.min(size - sent, 60_000));
        sent += piece.length;
        if (!res.write(piece)) await drainedOrGone(res);
      }
      if (!gone) res.end();
      return;
    }
    const parts = [];
    req.on('data', (d) => parts.push(d));
    try {
      await finished(req);
    } catch {
      stats.upstream.aborted++;
      return;
    }
    if (id) stats.upstream.completedIds.add(id);
    const delay = q('delay', 0);
    if (delay) await sleep(delay);
    if (gone) return;
    const body = Buffer.concat([Buffer.from(UPSTREAM_PREFIX(req.method, req.url)), ...parts]);
    if (url.searchParams.get('mode') === 'chunked') {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      for (let at = 0; at < body.length && !gone; at += 100_000) {
        if (!res.write(body.subarray(at, at + 100_000))) await drainedOrGone(res);
      }
      if (!gone) res.end();
    } else {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
      res.end(body);
    }
  });
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  server.on('clientError', (_e, s) => s.destroy());
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: server.address().port,
    get open() { return sockets.size; },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

// ---------------------------------------------------------------------------------------------------------

/** The requests that check corsd after the soak (see the end of the test). */
function finalRequests() {
  const origin = { value: 'https://app.example.com' };
  const host = `Host: soak.test\r\nOrigin: ${origin.value}\r\n`;
  const body = RANDOM.subarray(0, MAX_BODY);
  const chunks = chunkedParts(new Rng(SEED), body);
  return [
    {
      method: 'OPTIONS', target: '/api/final', origin, parts: [],
      head: Buffer.from(`OPTIONS /api/final HTTP/1.1\r\n${host}Access-Control-Request-Method: PUT\r\n\r\n`),
      expect: { status: 204, acao: origin.value, body: null },
    },
    {
      method: 'PUT', target: '/echo/final', origin, parts: [body],
      head: Buffer.from(`PUT /echo/final HTTP/1.1\r\n${host}Content-Length: ${body.length}\r\n\r\n`),
      expect: { status: 200, acao: origin.value, body: Buffer.concat([Buffer.from(ECHO_PREFIX('PUT')), body]) },
    },
    {
      method: 'PUT', target: '/api/final?id=final&mode=chunked', origin, parts: chunks,
      head: Buffer.from(`PUT /api/final?id=final&mode=chunked HTTP/1.1\r\n${host}Transfer-Encoding: chunked\r\n\r\n`),
      expect: {
        status: 200, acao: origin.value,
        body: Buffer.concat([Buffer.from(UPSTREAM_PREFIX('PUT', '/api/final?id=final&mode=chunked')), body]),
      },
    },
    {
      method: 'GET', target: '/api/big?id=final.big&size=4194304&off=0&mode=cl', origin, parts: [],
      head: Buffer.from(`GET /api/big?id=final.big&size=4194304&off=0&mode=cl HTTP/1.1\r\n${host}\r\n`),
      expect: { status: 200, acao: origin.value, body: null, pattern: { off: 0, size: 4194304 } },
    },
  ];
}

const fdCount = (pid) => readdirSync(`/proc/${pid}/fd`).length;
const fdList = (pid) => readdirSync(`/proc/${pid}/fd`).map((fd) => {
  try { return `${fd} -> ${readlinkSync(`/proc/${pid}/fd/${fd}`)}`; } catch { return fd; }
});
const statusKiB = (pid, field) => Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'))[1]);

function newStats() {
  const counts = new Map();
  const maxima = new Map();
  return {
    counts,
    maxima,
    count(k, by = 1) { counts.set(k, (counts.get(k) ?? 0) + by); },
    max(k, v) { maxima.set(k, Math.max(maxima.get(k) ?? -Infinity, v)); },
    failures: [],
    answersChecked: 0,
    bytesChecked: 0,
    cutIds: new Set(),
    upstream: { requests: 0, preflights: 0, aborted: 0, completedIds: new Set() },
  };
}

/** One worker: random actions until the budget is spent. */
async function runWorker(w, { port, endAt, stats }) {
  const rng = new Rng((SEED ^ Math.imul(w + 1, 0x9e3779b1)) >>> 0);
  for (let i = 0; Date.now() < endAt; i++) {
    const name = rng.weighted(WEIGHTS);
    // Each action draws from a PRNG of its own, seeded from the worker's: its parameters do not depend on
    // how an earlier action went (how many bytes it read, say), so a replay runs the same actions.
    const actionSeed = Math.floor(rng.next() * 2 ** 32);
    const sockets = new Set();
    const ctx = {
      rng: new Rng(actionSeed),
      id: `w${w}i${i}`,
      stats,
      async connect() {
        const c = await connect(port);
        sockets.add(c.socket);
        return c;
      },
      raw() {
        const s = net.connect(port, '127.0.0.1');
        s.on('error', () => {});
        sockets.add(s);
        return s;
      },
    };
    stats.count(`action ${name}`);
    let timer;
    const deadline = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Failure('hang', `not done within ${ACTION_DEADLINE_MS} ms`)), ACTION_DEADLINE_MS);
    });
    const running = act[name](ctx);
    running.catch(() => {});
    try {
      const outcome = await Promise.race([running, deadline]);
      stats.count(`outcome ${name}: ${outcome}`);
    } catch (e) {
      const kind = e instanceof Failure ? e.kind : e instanceof TimeoutError ? 'hang' : 'error';
      stats.count(`FAILED ${name}: ${kind}`);
      stats.failures.push(`seed ${SEED} worker ${w} action #${i} (${name}, action seed ${actionSeed}): ${kind}: ${e.message}`);
    } finally {
      clearTimeout(timer);
      for (const s of sockets) s.destroy();
    }
  }
}

describe('soak', () => {
  let dir;
  let corsd;
  let upstream;
  const stats = newStats();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'corsd-soak-'));
    upstream = await startUpstream(stats);
    const config = join(dir, 'corsd.toml');
    await writeFile(config, `[server]
listen = "127.0.0.1:0"
max_body = ${MAX_BODY}

[demo]
enabled = false

[[routes]]
path = "/"
allow_origins = ["https://app.example.com", "http://localhost:*", "https://*.example.org"]
allow_methods = ["GET", "POST", "PUT", "DELETE", "PATCH"]
allow_headers = ${JSON.stringify(ALLOWED_HEADERS)}

[[routes]]
path = "/api"
upstream = "http://127.0.0.1:${upstream.port}"
allow_origins = ["https://app.example.com", "https://admin.example.com"]
allow_methods = ["PUT", "DELETE"]
allow_headers = ${JSON.stringify(ALLOWED_HEADERS)}
`);
    corsd = await startCorsd(['--config', config, '--threads', '2', '--max-connections', '4096',
      '--header-timeout', String(LIMITS.headerTimeout), '--body-timeout', String(LIMITS.bodyTimeout),
      '--min-body-rate', String(LIMITS.minBodyRate), '--idle-timeout', String(LIMITS.idleTimeout),
      '--send-timeout', String(LIMITS.sendTimeout),
      '--upstream-response-timeout', String(LIMITS.upstreamResponseTimeout),
      '--upstream-idle-timeout', String(LIMITS.upstreamIdleTimeout),
      '--upstream-idle-connections', String(LIMITS.upstreamIdleConnections)]);
  });

  after(async () => {
    await killCorsd(corsd);
    await upstream?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test(`${WORKERS} workers for ${SOAK_SECONDS} s, then corsd is whole`, { timeout: SOAK_SECONDS * 1000 + 120_000 }, async (t) => {
    console.log(`soak seed ${SEED} (CORSD_SOAK_SEED=${SEED} replays it), ${WORKERS} workers, ${SOAK_SECONDS} s`);
    t.diagnostic(`seed ${SEED} (CORSD_SOAK_SEED=${SEED} CORSD_SOAK_WORKERS=${WORKERS} replays the actions)`);
    const { pid } = corsd;
    const fdsBefore = fdCount(pid);
    const rssStart = statusKiB(pid, 'VmRSS');

    // RSS over time, for the report.
    let rssMax = rssStart;
    const series = [];
    let ticks = 0;
    const sampler = setInterval(() => {
      try {
        const kib = statusKiB(pid, 'VmRSS');
        rssMax = Math.max(rssMax, kib);
        if (++ticks % 20 === 0) series.push(Math.round(kib / 1024));
      } catch { /* gone: reported below */ }
    }, 500);
    const started = Date.now();
    const endAt = started + SOAK_SECONDS * 1000;
    await Promise.all(Array.from({ length: WORKERS }, (_, w) => runWorker(w, { port: corsd.port, endAt, stats })));
    clearInterval(sampler);
    const loadSeconds = (Date.now() - started) / 1000;

    assert.equal(corsd.proc.exitCode, null, `corsd exited during the soak\n${corsd.output()}`);
    assert.equal(corsd.proc.signalCode, null, `corsd was killed during the soak\n${corsd.output()}`);
    const peakKiB = statusKiB(pid, 'VmHWM');
    const fdsPeakish = fdCount(pid);

    // Settle: closing connections drain for up to 2 s, idle pooled upstream connections expire after 1 s,
    // keep-alive connections shed their buffers after 1 s.
    const settleStart = Date.now();
    let fdsAfter = fdCount(pid);
    while (fdsAfter > fdsBefore + FD_MARGIN && Date.now() - settleStart < SETTLE_DEADLINE_MS) {
      await sleep(250);
      fdsAfter = fdCount(pid);
    }
    await sleep(1500);  // and a few ticks more for the last trim
    fdsAfter = fdCount(pid);
    const settleSeconds = (Date.now() - settleStart) / 1000;
    const rssEnd = statusKiB(pid, 'VmRSS');

    const lines = [...stats.counts.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}: ${v}`);
    for (const line of lines) t.diagnostic(line);
    for (const [k, v] of [...stats.maxima.entries()].sort()) t.diagnostic(`max ${k}: ${v}`);
    t.diagnostic(`load ${loadSeconds.toFixed(1)} s: ${stats.answersChecked} answers checked, ${(stats.bytesChecked / 2 ** 20).toFixed(0)} MiB of bodies compared byte for byte`);
    t.diagnostic(`upstream: ${stats.upstream.requests} requests, ${stats.upstream.aborted} bodies cut, ${stats.upstream.preflights} preflights, ${upstream.open} connections open after the settle`);
    t.diagnostic(`fds: ${fdsBefore} before, ${fdsPeakish} at the end of the load, ${fdsAfter} after a ${settleSeconds.toFixed(1)} s settle`);
    t.diagnostic(`RSS every 10 s of the load (MiB): ${series.join(' ')}`);
    t.diagnostic(`RSS: start ${rssStart} KiB, peak sampled ${rssMax} KiB, VmHWM ${peakKiB} KiB, end ${rssEnd} KiB (end - start ${rssEnd - rssStart} KiB, bound ${RSS_SLACK_KIB})`);
    if (corsd.stderr()) t.diagnostic(`corsd stderr: ${corsd.stderr().slice(-2000)}`);

    // Still answers, byte for byte: an allowed preflight, a 1 MiB echo, a 1 MiB chunked upload through the
    // proxy and a 4 MiB download (after the measurements: these fill the upstream pool again).
    let finalError = null;
    const final = newStats();
    const c = await connect(corsd.port).catch((e) => { finalError = e; });
    if (c) {
      try {
        for (const req of finalRequests()) {
          await sendRequest(c, req);
          await readChecked(c, req, final);
        }
      } catch (e) {
        finalError = e;
      } finally {
        c.close();
      }
    }
    t.diagnostic(`after the soak: ${final.answersChecked} of ${finalRequests().length} final answers right${finalError ? ` (${finalError.message})` : ''}`);

    assert.deepEqual(stats.failures, [], `${stats.failures.length} unexpected failure(s), seed ${SEED}:\n${stats.failures.slice(0, 20).join('\n')}`);
    const completedCut = [...stats.cutIds].filter((id) => stats.upstream.completedIds.has(id));
    assert.deepEqual(completedCut, [], 'bodies the client cut reached the upstream complete');
    assert.equal(stats.upstream.preflights, 0, 'preflights reached the upstream (no route has preflight_passthrough)');
    assert.ok(fdsAfter <= fdsBefore + FD_MARGIN,
      `corsd holds ${fdsAfter} file descriptors after the settle, ${fdsBefore} before the load:\n${fdList(pid).join('\n')}`);
    // Under ASan (scripts/test-sanitizers) freed memory waits in its quarantine: RSS says nothing there.
    if (!process.env.CORSD_SANITIZED) {
      assert.ok(rssEnd - rssStart <= RSS_SLACK_KIB, `RSS grew by ${rssEnd - rssStart} KiB over the soak (bound ${RSS_SLACK_KIB} KiB)`);
    }
    assert.equal(finalError, null, `corsd did not answer right after the soak: ${finalError?.message}`);
    assert.equal(corsd.proc.exitCode, null, 'corsd is still running');
  });
});
