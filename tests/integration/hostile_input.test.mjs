// Hostile input against the real corsd, over raw sockets (node:net) on 127.0.0.1: what a client can send
// that is malformed, ambiguous (request smuggling, path confusion) or abusive (floods, slow clients), and
// every limit at its edges: exactly at the limit is accepted, one past it is refused with the right status.
// Each case is named after the RFC rule or attack class it checks; the README's "Bad input and limits"
// table is the contract.
//
// One corsd per group of cases sharing flags; small limits (--max-header-bytes 1024, --max-body 64) and
// short timeouts (1 to 2.5 s) keep the file fast. Timing assertions keep wide margins: the machine is
// shared and noisy, and a loaded corsd is only ever late, never early.
//
//   CORSD_BIN=build/corsd node --test tests/integration/hostile_input.test.mjs

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { makeCa, makeLeaf } from '../support/certs.mjs';
import { killCorsd, runCorsd, startCorsd } from '../support/corsd.mjs';

const BASE = ['--no-demo', '--threads', '1', '--listen', '127.0.0.1:0'];
const ORIGIN = 'https://app.example';
const GOOD = 'GET / HTTP/1.1\r\nHost: a\r\n\r\n';

// How --max-header-bytes L counts (src/http/request_parser.cpp, Beast 1.81's basic_parser, and
// error_answer() in src/http/connection.cpp). A head read in one piece is accepted when all three hold:
//   1. the request line with its CRLF is at most L bytes (Beast parses it in a window of L bytes);
//   2. the field section, from after the request line's CRLF through the empty line's CRLF, is at most
//      L bytes (Beast parses it in a window of its own of L bytes);
//   3. the bytes corsd stores, method + target + every field name and value (no SP, colon, OWS or CRLF),
//      are at most L (RequestStorage::store() into a store reserved at L bytes).
// Past 1 the answer is meant to be 414, past 2 or 3 it is 431. error_answer() tells them apart by the
// first line of the unparsed input: no CRLF in it, or a CRLF at offset >= L, is 414.
const L = 1024;
// Limits::header_fields: no setting or flag sets it. Host counts as one of them.
const MAX_FIELDS = 100;
// Limits::pipelined_requests: no setting or flag. serve_buffered() answers at most this many requests into
// the output buffer, then writes them (Step::flush) and goes on parsing the rest.
const PIPELINE_BATCH = 32;
// BufferPool::input_capacity(): a chunk line or a trailer block has to fit in the read buffer, else 431.
const INPUT_BUFFER = L + 4096;
const MAX_BODY = 64;

// ---------------------------------------------------------------------------------------------------------
// A client connection that parses what comes back as it arrives.

const openConns = new Set();
after(() => { for (const c of openConns) c.destroy(); });

class Conn {
  /** Connects to 127.0.0.1:port within timeoutMs. */
  static open(port, timeoutMs = 3000) {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host: '127.0.0.1' });
      const timer = setTimeout(() => { socket.destroy(); reject(new Error(`no connection within ${timeoutMs} ms`)); },
        timeoutMs);
      socket.once('connect', () => { clearTimeout(timer); resolve(new Conn(socket)); });
      socket.once('error', (err) => { clearTimeout(timer); reject(err); });
    });
  }

  constructor(socket) {
    this.socket = socket;
    this.raw = Buffer.alloc(0);
    this.at = 0;  // where the next unparsed answer starts in raw
    this.responses = [];
    this.reads = 0;
    this.gone = false;  // the server ended the connection: FIN, reset or close
    this.waiters = new Set();
    openConns.add(this);
    socket.on('data', (d) => { this.reads += 1; this.raw = Buffer.concat([this.raw, d]); this.#parse(false); });
    socket.on('end', () => { this.gone = true; this.#parse(true); });
    socket.on('close', () => { this.gone = true; this.#wake(); openConns.delete(this); });
    socket.on('error', () => { this.gone = true; this.#wake(); });  // a reset counts as a close
  }

  send(bytes) {
    if (!this.socket.destroyed && this.socket.writable) this.socket.write(Buffer.from(bytes, 'latin1'));
  }

  /** Resolves to true once pred() holds, false if it does not within timeoutMs. */
  until(pred, timeoutMs) {
    if (pred()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter = () => { if (pred()) done(true); };
      const timer = setTimeout(() => done(false), timeoutMs);
      const done = (v) => { clearTimeout(timer); this.waiters.delete(waiter); resolve(v); };
      this.waiters.add(waiter);
    });
  }

  /** True once n answers are in (false if the connection ended first or timeoutMs passed). */
  async answers(n, timeoutMs = 3000) {
    await this.until(() => this.responses.length >= n || this.gone, timeoutMs);
    return this.responses.length >= n;
  }

  closed(timeoutMs = 3000) { return this.until(() => this.gone, timeoutMs); }

  text() { return this.raw.toString('latin1'); }

  destroy() { this.socket.destroy(); openConns.delete(this); }

  #wake() { for (const w of [...this.waiters]) w(); }

  #parse(eof) {
    for (;;) {
      const r = parseResponse(this.raw, this.at, eof);
      if (!r) break;
      this.responses.push(r.response);
      this.at = r.next;
    }
    this.#wake();
  }
}

/** One HTTP/1.1 answer in buf from `at`: { response, next }, or null until it is complete. */
function parseResponse(buf, at, eof) {
  const headEnd = buf.indexOf('\r\n\r\n', at, 'latin1');
  if (headEnd < 0) return null;
  const [statusLine, ...lines] = buf.toString('latin1', at, headEnd).split('\r\n');
  const m = /^HTTP\/(\d\.\d) (\d{3})(?: (.*))?$/.exec(statusLine);
  if (!m) throw new Error(`not a status line: ${JSON.stringify(statusLine)}`);
  const headers = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
  }
  const status = Number(m[2]);
  let p = headEnd + 4;
  let body = '';
  if (status >= 200 && status !== 204 && status !== 304) {
    if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
      for (;;) {
        const eol = buf.indexOf('\r\n', p, 'latin1');
        if (eol < 0) return null;
        const size = parseInt(buf.toString('latin1', p, eol), 16);
        if (size === 0) {
          const end = buf.indexOf('\r\n\r\n', eol, 'latin1');
          if (end < 0) return null;
          p = end + 4;
          break;
        }
        if (buf.length < eol + 2 + size + 2) return null;
        body += buf.toString('latin1', eol + 2, eol + 2 + size);
        p = eol + 2 + size + 2;
      }
    } else if (headers['content-length'] !== undefined) {
      const n = Number(headers['content-length']);
      if (buf.length < p + n) return null;
      body = buf.toString('latin1', p, p + n);
      p += n;
    } else {
      if (!eof) return null;  // delimited by the close
      body = buf.toString('latin1', p);
      p = buf.length;
    }
  }
  return { response: { version: m[1], status, reason: m[3] ?? '', headers, body }, next: p };
}

/**
 * Sends `bytes` on a new connection and reads what comes back. Resolves once `responses` answers are in
 * and, when the last of them says "Connection: close" (or none came), once the server has also closed;
 * at the latest after timeoutMs. Returns { status, headers, body } of the first answer and
 * { responses, closed, raw, conn }: closed is whether the server ended the connection by then; conn is
 * the open connection otherwise (expectKeptAlive() uses it, after() hooks close it).
 */
async function exchange(port, bytes, { timeoutMs = 3000, responses = 1 } = {}) {
  const conn = await Conn.open(port, timeoutMs);
  const deadline = Date.now() + timeoutMs;
  conn.send(bytes);
  await conn.answers(responses, timeoutMs);
  const last = conn.responses.at(-1);
  if (!last || last.headers.connection === 'close') await conn.closed(Math.max(0, deadline - Date.now()));
  const first = conn.responses[0] ?? {};
  return {
    status: first.status, headers: first.headers ?? {}, body: first.body ?? '', version: first.version,
    responses: conn.responses, closed: conn.gone, raw: conn.text(), conn,
  };
}

/** For assertion messages: what was sent and what came back, cut short. */
function shown(bytes, r) {
  const cut = (s) => JSON.stringify(s.length > 300 ? `${s.slice(0, 300)}... (${s.length} bytes)` : s);
  return `sent ${cut(bytes)}\nreceived ${cut(r.raw)}${r.closed ? ' then closed' : ''}`;
}

/** The connection is still open and serves a next request. */
async function expectKeptAlive(r, why = '') {
  assert.ok(!r.closed, `the connection was closed ${why}`);
  const before = r.conn.responses.length;
  r.conn.send(GOOD);
  assert.ok(await r.conn.answers(before + 1), `a next request on the same connection was not answered ${why}`);
  assert.equal(r.conn.responses[before].status, 200);
  r.conn.destroy();
}

/** A new connection is still served (after a refusal, say). */
async function expectStillServing(port) {
  const r = await exchange(port, GOOD);
  assert.equal(r.status, 200, `a good request after it: ${shown(GOOD, r)}`);
  r.conn.destroy();
}

/**
 * The table-driven check. expect: { status, close (default: status >= 400), responses (answers expected in
 * all), headers: { name: value | undefined }, bodyIncludes, bodyExcludes }.
 */
async function check(port, bytes, expect) {
  const close = expect.close ?? expect.status >= 400;
  const r = await exchange(port, bytes, { responses: expect.responses ?? 1 });
  const info = shown(bytes, r);
  assert.equal(r.status, expect.status, info);
  if (expect.version) assert.equal(r.version, expect.version, info);
  for (const [name, value] of Object.entries(expect.headers ?? {})) assert.equal(r.headers[name], value, `${name}\n${info}`);
  for (const s of [expect.bodyIncludes ?? []].flat()) assert.ok(r.body.includes(s), `body has ${JSON.stringify(s)}\n${info}`);
  for (const s of [expect.bodyExcludes ?? []].flat()) assert.ok(!r.raw.includes(s), `answer lacks ${JSON.stringify(s)}\n${info}`);
  if (expect.responses !== undefined) {
    // After the answers expected, nothing more: a smuggled request must not have been answered.
    if (!r.closed) await sleep(200);
    assert.equal(r.conn.responses.length, expect.responses, `answers\n${info}`);
  }
  if (close) {
    assert.equal(r.headers.connection, 'close', info);
    assert.ok(r.closed, `the server closed the connection\n${info}`);
    await expectStillServing(port);
  } else if (expect.responses === undefined) {
    await expectKeptAlive(r, info);
  }
  r.conn.destroy();
  return r;
}

/** Registers one test per case: [name, bytes, expect]. */
function cases(port, table) {
  for (const [name, bytes, expect] of table) {
    test(name, () => check(port(), bytes, expect));
  }
}

const post = (fields, body) => `POST / HTTP/1.1\r\nHost: a\r\n${fields}\r\n${body}`;
const chunked = (body) => post('Transfer-Encoding: chunked\r\n', body);

// ---------------------------------------------------------------------------------------------------------
// Strict parsing and the header and body limits: one corsd.

describe('strict parsing (--max-header-bytes 1024, --max-body 64)', () => {
  let corsd;
  before(async () => {
    corsd = await startCorsd([...BASE, '--max-header-bytes', String(L), '--max-body', String(MAX_BODY),
      '--allow-origin', ORIGIN]);
  });
  after(() => killCorsd(corsd));
  const port = () => corsd.port;

  describe('message framing and request smuggling', () => {
    cases(port, [
      ['RFC 9112 §6.1: Content-Length with Transfer-Encoding is 400',
        post('Content-Length: 3\r\nTransfer-Encoding: chunked\r\n', '3\r\nabc\r\n0\r\n\r\n'), { status: 400 }],
      ['RFC 9112 §6.1: Transfer-Encoding with Content-Length (TE first) is 400',
        post('Transfer-Encoding: chunked\r\nContent-Length: 3\r\n', '3\r\nabc\r\n0\r\n\r\n'), { status: 400 }],
      ['attack: request smuggling (CL.TE): 400 and the smuggled "G" is never a request',
        post('Content-Length: 6\r\nTransfer-Encoding: chunked\r\n', '0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n'),
        { status: 400, responses: 1 }],
      ['attack: request smuggling (TE.CL): 400 and the chunk is never a request',
        post('Transfer-Encoding: chunked\r\nContent-Length: 4\r\n',
          '2a\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\nX: GET\r\n\r\n0\r\n\r\n'), { status: 400, responses: 1 }],
      ['RFC 9110 §8.6: two different Content-Lengths are 400',
        post('Content-Length: 3\r\nContent-Length: 4\r\n', 'abcd'), { status: 400 }],
      ['RFC 9110 §8.6: a Content-Length list of different values (3, 4) is 400',
        post('Content-Length: 3, 4\r\n', 'abcd'), { status: 400 }],
      // RFC 9110 §8.6 lets a recipient take identical values as one; corsd does, and frames by it.
      ['RFC 9110 §8.6: a repeated identical Content-Length is taken once, and the next request follows it',
        post('Content-Length: 3\r\nContent-Length: 3\r\n', `abc${GOOD}`),
        { status: 200, bodyIncludes: 'Method: POST\n\nabc', responses: 2, close: false }],
      ...[['-1', 'negative'], ['+3', 'signed'], ['0x3', 'hex'], ['3 3', 'two numbers'], ['', 'empty'],
        ['18446744073709551616', '2^64, past any 64-bit length']].map(([v, what]) =>
        [`RFC 9110 §8.6: a Content-Length that is not 1*DIGIT (${what}: "${v}") is 400`,
          post(`Content-Length: ${v}\r\n`, 'abc'), { status: 400 }]),
      ['attack: CL.0: a GET\'s Content-Length body is read as its body, never as a request',
        `GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 32\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n${GOOD}`,
        { status: 200, bodyIncludes: 'GET /smuggled', responses: 2, close: false }],
      // RFC 9112 §6.3: without a final chunked the body's end is unknown; read as empty, the body would
      // become a second, smuggled request.
      ...['gzip', 'chunked, gzip', 'identity', 'xchunked', '"chunked"', 'chunked\r\nTransfer-Encoding: gzip']
        .map((te) => [`RFC 9112 §6.3: a Transfer-Encoding not ending in chunked (${JSON.stringify(te)}) is 400, ` +
          'the body never a request', post(`Transfer-Encoding: ${te}\r\n`, `GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n`),
        { status: 400, responses: 1 }]),
      // #transfer-coding needs commas between codings; "chunked gzip" is no list at all, and a peer that
      // reads its last word as the final coding frames the body differently.
      ['RFC 9112 §6.1: attack: TE.TE obfuscation: Transfer-Encoding "chunked gzip" (no comma) is 400',
        post('Transfer-Encoding: chunked gzip\r\n', '0\r\n\r\n'), { status: 400 }],
      ['attack: TE.TE obfuscation: a space before the colon (Transfer-Encoding : chunked) is 400',
        post('Transfer-Encoding : chunked\r\n', '0\r\n\r\n'), { status: 400 }],
      ['attack: TE.TE obfuscation: a vertical tab after chunked is 400',
        post('Transfer-Encoding: chunked\x0b\r\n', '0\r\n\r\n'), { status: 400 }],
      ['RFC 9112 §6.1: Transfer-Encoding in HTTP/1.0 (chunked) is 400',
        'POST / HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n', { status: 400 }],
      ['RFC 9112 §6.1: Transfer-Encoding in HTTP/1.0 (gzip) is 400',
        'POST / HTTP/1.0\r\nTransfer-Encoding: gzip\r\n\r\n', { status: 400 }],
      ['RFC 9110 §5.6.1: empty list elements around chunked (",chunked,") are allowed',
        post('Transfer-Encoding: ,chunked,\r\n', '3\r\nabc\r\n0\r\n\r\n'), { status: 200, bodyIncludes: '\n\nabc' }],
    ]);
  });

  describe('chunked bodies and trailers', () => {
    cases(port, [
      ...[['zz', 'not hex'], ['-1', 'negative'], ['0x3', '0x prefix'], [' 3', 'leading space'], ['3 ', 'trailing space'],
        ['ffffffffffffffffff', 'past 64 bits'], ['', 'empty']].map(([size, what]) =>
        [`RFC 9112 §7.1: a bad chunk size (${what}: "${size}") is 400`, chunked(`${size}\r\nabc\r\n0\r\n\r\n`), { status: 400 }]),
      ['RFC 9112 §7.1: a chunk size line ended by a bare LF is 400', chunked('3\nabc\r\n0\r\n\r\n'), { status: 400 }],
      ['RFC 9112 §7.1: chunk data longer than its size is 400', chunked('3\r\nabcX\r\n0\r\n\r\n'), { status: 400 }],
      ['RFC 9112 §7.1: leading zeros in a chunk size are allowed',
        chunked('00000000000000000000003\r\nabc\r\n0\r\n\r\n'), { status: 200, bodyIncludes: '\n\nabc' }],
      ['RFC 9112 §7.1.1: chunk extensions are accepted and ignored',
        chunked('3;a=b;c\r\nabc\r\n0;x\r\n\r\n'), { status: 200, bodyIncludes: '\n\nabc' }],
      ['RFC 9112 §7.1.1: a chunk extension without a name ("3;") is 400', chunked('3;\r\nabc\r\n0\r\n\r\n'), { status: 400 }],
      // The chunk line's "\r\n" before "0" ends the previous chunk's data (Beast parses it with the next line).
      [`RFC 9112 §7.1.1: a chunk line of exactly the input buffer (${INPUT_BUFFER} bytes) is accepted`,
        chunked(`3;${'e'.repeat(INPUT_BUFFER - 4)}\r\nabc\r\n0\r\n\r\n`), { status: 200, bodyIncludes: '\n\nabc' }],
      [`attack: chunk-extension flood: a chunk line of ${INPUT_BUFFER + 1} bytes (one past the input buffer) is 431`,
        chunked(`3;${'e'.repeat(INPUT_BUFFER - 3)}\r\nabc\r\n0\r\n\r\n`), { status: 431 }],
      [`RFC 9112 §7.1.2: a trailer block of exactly the input buffer (${INPUT_BUFFER} bytes from the last chunk's CRLF) is accepted`,
        chunked(`3\r\nabc\r\n0\r\nX-T: ${'t'.repeat(INPUT_BUFFER - 14)}\r\n\r\n`), { status: 200, bodyIncludes: '\n\nabc' }],
      [`attack: trailer flood: a trailer block of ${INPUT_BUFFER + 1} bytes is 431`,
        chunked(`3\r\nabc\r\n0\r\nX-T: ${'t'.repeat(INPUT_BUFFER - 13)}\r\n\r\n`), { status: 431 }],
      ['attack: endless chunk extension (no CRLF ever) is 431', chunked(`3;${'e'.repeat(3 * INPUT_BUFFER)}`), { status: 431 }],
      ['RFC 9112 §7.1.2: a malformed trailer line is 400', chunked('3\r\nabc\r\n0\r\nno colon\r\n\r\n'), { status: 400 }],
      ['RFC 9110 §6.5.1: framing fields in a trailer (Content-Length) are refused with 400',
        chunked('3\r\nabc\r\n0\r\nContent-Length: 5\r\n\r\n'), { status: 400 }],
    ]);

    // An Origin (or Cookie, Host) after the body must not be taken for a request header: with the Origin in
    // the header section the route answers Access-Control-Allow-Origin; in the trailer it must not.
    test('RFC 9110 §6.5.1: fields in a trailer are not taken as headers (an Origin there is not seen)', async () => {
      const control = await check(port(), `GET / HTTP/1.1\r\nHost: a\r\nOrigin: ${ORIGIN}\r\n\r\n`, { status: 200 });
      assert.equal(control.headers['access-control-allow-origin'], ORIGIN, 'the route reflects an allowed Origin');
      const bytes = chunked(`3\r\nabc\r\n0\r\nOrigin: ${ORIGIN}\r\nHost: a b\r\nCookie: s=1\r\n\r\n${GOOD}`);
      const r = await check(port(), bytes, { status: 200, responses: 2, close: false, bodyIncludes: '\n\nabc' });
      assert.equal(r.headers['access-control-allow-origin'], undefined, shown(bytes, r));
      // Nor do they leak into the next request on the connection.
      assert.equal(r.responses[1].headers['access-control-allow-origin'], undefined, shown(bytes, r));
    });
  });

  describe('request line, version and method', () => {
    cases(port, [
      ['RFC 9112 §2.2: empty lines before a request line are ignored', `\r\n\r\n\n${GOOD}`, { status: 200 }],
      ['RFC 9112 §2.2: a stray CRLF between pipelined requests (after a body) is ignored',
        `${post('Content-Length: 2\r\n', 'ok')}\r\n${GOOD}`, { status: 200, responses: 2, close: false }],
      ['RFC 9112 §3: a malformed request line ("GET") is 400', 'GET\r\n\r\n', { status: 400 }],
      ['RFC 9112 §3: two spaces after the method is 400', 'GET  / HTTP/1.1\r\nHost: a\r\n\r\n', { status: 400 }],
      ['RFC 9112 §3: a leading space before the method is 400', ` ${GOOD}`, { status: 400 }],
      ['RFC 9112 §3: an HTTP/0.9 simple request (GET / with no version) is 400', 'GET /\r\n\r\n', { status: 400 }],
      ['attack: binary garbage (a TLS ClientHello) on the plain port is 400',
        '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\r\n\r\n', { status: 400 }],
      // RFC 9110 §2.5: a recipient SHOULD process a higher minor version as the highest it implements.
      ['RFC 9110 §2.5: HTTP/1.2 is answered as HTTP/1.1', 'GET / HTTP/1.2\r\nHost: a\r\n\r\n',
        { status: 200, version: '1.1', close: false }],
      ['RFC 9110 §2.5: HTTP/2.0 on HTTP/1 is 505', 'GET / HTTP/2.0\r\nHost: a\r\n\r\n', { status: 505 }],
      ['RFC 9110 §2.5: HTTP/3.0 on HTTP/1 is 505', 'GET / HTTP/3.0\r\nHost: a\r\n\r\n', { status: 505 }],
      ['RFC 9110 §2.5: HTTP/0.9 spelled out is 505', 'GET / HTTP/0.9\r\n\r\n', { status: 505 }],
      ['RFC 9113 §3.3: the HTTP/2 prior-knowledge preface on the HTTP/1 port is 505',
        'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', { status: 505 }],
      ['RFC 9112 §2.3: a malformed version (HTTP/1.10) is 400', 'GET / HTTP/1.10\r\nHost: a\r\n\r\n', { status: 400 }],
      ['RFC 9112 §2.3: the HTTP name is case-sensitive (http/1.1) is 400', 'GET / http/1.1\r\nHost: a\r\n\r\n', { status: 400 }],
      ['RFC 9112 §2.3: a space after the version is 400', 'GET / HTTP/1.1 \r\nHost: a\r\n\r\n', { status: 400 }],
      ['RFC 9110 §9.3.8: TRACE is 405 with Allow, its Cookie not reflected',
        'TRACE / HTTP/1.1\r\nHost: a\r\nCookie: secret=1\r\n\r\n',
        { status: 405, headers: { allow: 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS' }, bodyExcludes: 'secret' }],
      ['attack: cross-site tracing: TRACK is 405 with Allow', 'TRACK / HTTP/1.1\r\nHost: a\r\n\r\n',
        { status: 405, headers: { allow: 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS' } }],
      ['RFC 9110 §9.3.6: CONNECT is 501, never 2xx (corsd is no forward proxy)',
        'CONNECT api.example:443 HTTP/1.1\r\nHost: api.example:443\r\n\r\n', { status: 501 }],
      ['RFC 9110 §9.3.6: CONNECT with an origin-form target is 501 too', 'CONNECT / HTTP/1.1\r\nHost: a\r\n\r\n', { status: 501 }],
      ['RFC 9110 §9.3.6: CONNECT in HTTP/1.0 is 501', 'CONNECT a:443 HTTP/1.0\r\n\r\n', { status: 501 }],
      // Methods are case-sensitive (RFC 9110 §9.1): "get" is a method of its own, not GET and not malformed.
      // corsd passes it on as it came; the echo API answers any method.
      ['RFC 9110 §9.1: a lowercase method ("get") is a method of its own, passed on as sent',
        'get / HTTP/1.1\r\nHost: a\r\n\r\n', { status: 200, bodyIncludes: 'Method: get\n' }],
      ['RFC 9110 §9.1: "trace" is not TRACE: answered like any other method, its Cookie not reflected',
        'trace / HTTP/1.1\r\nHost: a\r\nCookie: secret=1\r\n\r\n', { status: 200, bodyIncludes: 'Method: trace\n', bodyExcludes: 'secret' }],
      ['RFC 9110 §9.1: "connect" is not CONNECT: its authority-form target is 400',
        'connect a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n', { status: 400 }],
    ]);
  });

  describe('request target', () => {
    const get = (target) => `GET ${target} HTTP/1.1\r\nHost: a\r\n\r\n`;
    cases(port, [
      ['RFC 9112 §3.2.4: GET * is 400 (asterisk-form only with OPTIONS)', get('*'), { status: 400 }],
      ['RFC 9110 §9.3.7: OPTIONS * is answered about the server: Allow, no body, nothing echoed',
        'OPTIONS * HTTP/1.1\r\nHost: a\r\nOrigin: http://a.example\r\n\r\n',
        { status: 200, close: false, headers: { allow: 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS', 'content-length': '0',
          'access-control-allow-origin': undefined }, bodyExcludes: 'Method:' }],
      ['RFC 9112 §3.2.3: authority-form (a:443) outside CONNECT is 400', get('api.example:443'), { status: 400 }],
      ['RFC 9112 §3.2: a relative target (foo) is 400', get('foo'), { status: 400 }],
      ['RFC 9112 §3.2.2: absolute-form (http://a/x) is served', get('http://a/x'), { status: 200 }],
      // '#' is in no form of request-target; an upstream that cuts the target there (Node's URL, nginx)
      // sees another path than the one corsd routed: /admin#x misses an /admin route and gets "/"'s policy.
      ['RFC 9112 §3.2: a fragment ("#") in the target is 400', get('/admin#x'), { status: 400 }],
      ...['/../x', '/%2e%2e/x', '/%2E%2E/x', '/.%2e/x', '/a/../../x', '/a/%2e%2e/%2e%2e/x', 'http://a/../x']
        .map((t) => [`RFC 3986 §5.2.4: a path climbing above "/" (${t}) is 400`, get(t), { status: 400 }]),
      ...['/%zz', '/%2', '/a%g0']
        .map((t) => [`RFC 3986 §2.1: a malformed %-encoding (${t}) is 400`, get(t), { status: 400 }]),
      ...[['/a\\b', 'a backslash'], ['/a%2Fb', '%2F'], ['/a%2fb', '%2f'], ['/a%5Cb', '%5C'], ['/a%5cb', '%5c'],
        ['/..;/x', 'a dot segment with parameters'], ['/a/..;/x', 'a dot segment with parameters']]
        .map(([t, what]) => [`attack: path confusion: ${what} (${t}) is 400, never routed`, get(t), { status: 400 }]),
      ...['/a/../x', '/./x', '/a;b/x']
        .map((t) => [`RFC 3986 §5.2.4: a path that stays under "/" (${t}) is served`, get(t), { status: 200 }]),
    ]);
  });

  describe('Host and field syntax', () => {
    const host = (h) => `GET / HTTP/1.1\r\nHost: ${h}\r\n\r\n`;
    const field = (line) => `GET / HTTP/1.1\r\nHost: a\r\n${line}\r\n\r\n`;
    cases(port, [
      ...['a b c', 'h:99999', 'h:abc', 'a, b', 'user@evil/x', 'h:65536', '[::1']
        .map((h) => [`RFC 9112 §3.2: Host must be uri-host[:port] (${JSON.stringify(h)} is 400)`, host(h), { status: 400 }]),
      ['RFC 9112 §3.2: Host at the top of the port range (h:65535) is served', host('h:65535'), { status: 200 }],
      ['RFC 9112 §3.2: no Host in HTTP/1.1 is 400', 'GET / HTTP/1.1\r\n\r\n', { status: 400 }],
      ['RFC 9112 §3.2: two Host fields are 400', 'GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n', { status: 400 }],
      ['RFC 9112 §3.2: no Host in HTTP/1.0 is served', 'GET / HTTP/1.0\r\n\r\n', { status: 200, close: true }],
      ['RFC 9112 §5.1: a field name with a space before the colon (Host : a) is 400',
        'GET / HTTP/1.1\r\nHost : a\r\n\r\n', { status: 400 }],
      ['RFC 9112 §5.1: any field name with a space before the colon (X-A : b) is 400', field('X-A : b'), { status: 400 }],
      ['RFC 9110 §5.5: NUL in a field value is 400', field('X-A: a\0b'), { status: 400 }],
      ['RFC 9112 §2.2: a bare CR in a field value is 400', field('X-A: a\rb'), { status: 400 }],
      ['RFC 9112 §2.2: a bare LF in a field value is 400', field('X-A: a\nb'), { status: 400 }],
      // RFC 9112 §2.2 lets a recipient accept bare LF line endings; corsd refuses them.
      ['RFC 9112 §2.2: bare LF line endings are refused (400)', 'GET / HTTP/1.1\nHost: a\n\n', { status: 400 }],
      ['RFC 9110 §5.5: a control character (0x01) in a field value is 400', field('X-A: \x01'), { status: 400 }],
      ['RFC 9110 §5.5: DEL in a field value is 400', field('X-A: a\x7fb'), { status: 400 }],
      ['RFC 9110 §5.5: obs-text (0xE9) in a field value is accepted', field('X-A: caf\xe9'), { status: 200 }],
      ['RFC 9110 §5.1: a non-token byte in a field name is 400', field('X\xe9: 1'), { status: 400 }],
      ['RFC 9110 §5.1: an empty field name is 400', field(': 1'), { status: 400 }],
      ['RFC 9112 §2.2: whitespace before the first field line is 400', 'GET / HTTP/1.1\r\n Host: a\r\n\r\n', { status: 400 }],
      ['RFC 9112 §5: a field line with no colon is 400', field('no colon here'), { status: 400 }],
      // RFC 9112 §5.2: a server MUST either refuse obs-fold with 400 or replace it with SP before
      // interpreting the value. corsd (Beast) replaces it: whatever was folded is checked as one value.
      ['attack: obs-fold: a folded ordinary field is unfolded, its continuation is no field of its own',
        field('X-A: a\r\n Host: b'), { status: 200 }],
      ['attack: obs-fold: a folded Host ("a" + " b") is checked as "a b": 400', 'GET / HTTP/1.1\r\nHost: a\r\n b\r\n\r\n', { status: 400 }],
      ['attack: obs-fold: a folded Content-Length ("1" + " 0") is checked as "1 0": 400',
        post('Content-Length: 1\r\n 0\r\n', 'abcdefghij'), { status: 400 }],
      ['attack: obs-fold: a folded Transfer-Encoding ("chunked" + " gzip") is checked as "chunked gzip": 400',
        post('Transfer-Encoding: chunked\r\n gzip\r\n', '0\r\n\r\n'), { status: 400 }],
    ]);
  });

  describe('--max-header-bytes 1024 and the field count at their edges', () => {
    // A request line of `total` bytes with its CRLF ("GET " + target + " HTTP/1.1\r\n"), and Host.
    const withRequestLine = (total) => `GET /${'a'.repeat(total - 16)} HTTP/1.1\r\nHost: a\r\n\r\n`;
    // A field section of `total` bytes: "Host: a\r\n" (9) + "X-Pad: " (7) + v + "\r\n" (2) + "\r\n" (2).
    const withFieldSection = (total) => `GET / HTTP/1.1\r\nHost: a\r\nX-Pad: ${'v'.repeat(total - 20)}\r\n\r\n`;
    // Stored bytes of `total`: "GET" (3) + a 500-byte target + "Host" "a" (5) + "X-Pad" (5) + v. The request
    // line (515 bytes) and the field section (total - 493 bytes) each stay within L.
    const withStored = (total) => `GET /${'a'.repeat(499)} HTTP/1.1\r\nHost: a\r\nX-Pad: ${'v'.repeat(total - 513)}\r\n\r\n`;
    // Host and n - 1 fields of 10 bytes ("f001: 1\r\n"): 101 fields make a 1011-byte section, within L.
    const withFields = (n) => `GET / HTTP/1.1\r\nHost: a\r\n${Array.from({ length: n - 1 },
      (_, i) => `f${String(i + 1).padStart(3, '0')}: 1\r\n`).join('')}\r\n`;

    test('the builders make what they say', () => {
      assert.equal(withRequestLine(L).indexOf('\r\n') + 2, L);
      assert.equal(withFieldSection(L).length - 'GET / HTTP/1.1\r\n'.length, L);
      const stored = withStored(L);
      assert.equal(3 + 500 + 5 + 5 + (stored.length - stored.indexOf('X-Pad: ') - 7 - 4), L);
      assert.ok(withFields(MAX_FIELDS + 1).length - 16 <= L, 'the field count, not the bytes, is at its limit');
    });

    cases(port, [
      [`RFC 9112 §3: a request line of exactly ${L} bytes with its CRLF is accepted`, withRequestLine(L), { status: 200 }],
      [`RFC 9112 §3: a request line of ${L + 1} bytes with its CRLF (one over) is 414`, withRequestLine(L + 1), { status: 414 }],
      [`RFC 9112 §3: a request-target over the limit (${L + 2}-byte request line) is 414`, withRequestLine(L + 2), { status: 414 }],
      ['RFC 9112 §3: an endless request line (no CRLF ever) is 414', `GET /${'a'.repeat(3 * L)}`, { status: 414 }],
      [`RFC 6585 §5: a field section of exactly ${L} bytes is accepted`, withFieldSection(L), { status: 200 }],
      [`RFC 6585 §5: a field section of ${L + 1} bytes is 431`, withFieldSection(L + 1), { status: 431 }],
      [`RFC 6585 §5: a head storing exactly ${L} bytes (method, target, names, values) is accepted`, withStored(L), { status: 200 }],
      [`RFC 6585 §5: a head storing ${L + 1} bytes is 431`, withStored(L + 1), { status: 431 }],
      ['RFC 6585 §5: an endless field (no CRLF ever) is 431', `GET / HTTP/1.1\r\nHost: a\r\nX-Long: ${'a'.repeat(3 * L)}`, { status: 431 }],
      [`RFC 6585 §5: exactly ${MAX_FIELDS} fields (Host included) are accepted`, withFields(MAX_FIELDS), { status: 200 }],
      [`RFC 6585 §5: ${MAX_FIELDS + 1} fields are 431`, withFields(MAX_FIELDS + 1), { status: 431 }],
    ]);

    // The request line alone first: corsd consumes it, and the unparsed input error_answer() looks at then
    // starts at the long field line, whose CRLF is past offset L (with a short field first, it would be 431).
    test('RFC 6585 §5: a field over the limit after the request line came alone is 431, not 414',
      async () => {
        const conn = await Conn.open(port());
        conn.send('GET / HTTP/1.1\r\n');
        await sleep(200);
        conn.send(`X-Long: ${'a'.repeat(2 * L)}\r\nHost: a\r\n\r\n`);
        assert.ok(await conn.answers(1), 'answered');
        assert.equal(conn.responses[0].status, 431, conn.text().split('\r\n')[0]);
        assert.ok(await conn.closed(), 'closed');
        conn.destroy();
      });
  });

  describe('--max-body 64 beyond the plain cases of bad_input_test.cpp', () => {
    const oneByteChunks = (n) => chunked(`${'1\r\nb\r\n'.repeat(n)}0\r\n\r\n`);
    cases(port, [
      [`--max-body: ${MAX_BODY} one-byte chunks are accepted (the limit counts de-chunked bytes)`,
        oneByteChunks(MAX_BODY), { status: 200, bodyIncludes: `\n\n${'b'.repeat(MAX_BODY)}` }],
      [`--max-body: a ${MAX_BODY + 1}th one-byte chunk is 413`, oneByteChunks(MAX_BODY + 1), { status: 413 }],
      // 413 from the chunk size alone: the data is never sent, let alone buffered.
      [`--max-body: a chunk size of ${MAX_BODY + 1} (0x41) is 413 before its data`, chunked('41\r\n'), { status: 413 }],
      [`--max-body: a chunk passing the limit after others (32 + 33) is 413 at its size line`,
        chunked(`20\r\n${'b'.repeat(32)}\r\n21\r\n`), { status: 413 }],
      ['--max-body: the limit is per request: two pipelined bodies of max_body each are both accepted',
        post(`Content-Length: ${MAX_BODY}\r\n`, 'b'.repeat(MAX_BODY)) +
          chunked(`40\r\n${'c'.repeat(MAX_BODY)}\r\n0\r\n\r\n`), { status: 200, responses: 2, close: false }],
    ]);

    test('RFC 9110 §10.1.1: a Content-Length over the limit with Expect: 100-continue is 413 and no 100', async () => {
      const bytes = post(`Content-Length: ${MAX_BODY + 1}\r\nExpect: 100-continue\r\n`, '');
      const r = await exchange(port(), bytes);
      assert.equal(r.status, 413, shown(bytes, r));
      assert.equal(r.responses.length, 1, `only the 413\n${shown(bytes, r)}`);
      assert.ok(r.closed, shown(bytes, r));
    });

    test('RFC 9110 §10.1.1: a body of exactly max_body with Expect: 100-continue gets 100, then 200', async () => {
      const conn = await Conn.open(port());
      conn.send(post(`Content-Length: ${MAX_BODY}\r\nExpect: 100-continue\r\n`, ''));
      assert.ok(await conn.answers(1), 'the 100 came');
      assert.equal(conn.responses[0].status, 100);
      conn.send('b'.repeat(MAX_BODY));
      assert.ok(await conn.answers(2), 'the answer came');
      assert.equal(conn.responses[1].status, 200);
      assert.ok(conn.responses[1].body.endsWith('b'.repeat(MAX_BODY)));
      conn.destroy();
    });
  });

  describe(`pipelining (a batch of ${PIPELINE_BATCH} answers per write)`, () => {
    // serve_buffered() answers at most PIPELINE_BATCH requests into the output buffer, writes them, then parses
    // the rest: past a batch, the answers go out in more than one write. TCP may hand both writes to one read,
    // so the split is not asserted; only that every request is answered, in order, and the connection stays.
    for (const n of [PIPELINE_BATCH, PIPELINE_BATCH + 1, 3 * PIPELINE_BATCH + 5]) {
      test(`RFC 9112 §9.3.2: ${n} pipelined requests in one write are all answered, in order`, async (t) => {
        const bytes = Array.from({ length: n }, (_, i) => post(`Content-Length: ${String(i).length + 1}\r\n`, `#${i}`)).join('');
        const r = await exchange(port(), bytes, { responses: n, timeoutMs: 5000 });
        assert.equal(r.responses.length, n, shown(bytes, r));
        r.responses.forEach((res, i) => {
          assert.equal(res.status, 200, `answer ${i}`);
          assert.ok(res.body.endsWith(`\n\n#${i}`), `answer ${i} is to request ${i}: ${JSON.stringify(res.body)}`);
        });
        t.diagnostic(`${n} answers arrived in ${r.conn.reads} read(s)`);
        await expectKeptAlive(r);
      });
    }
  });
});

// ---------------------------------------------------------------------------------------------------------
// --max-connections: its own corsd, the cases in order (they share the connections held).

describe('--max-connections 3 (one thread)', () => {
  const N = 3;
  let corsd;
  const held = [];
  before(async () => { corsd = await startCorsd([...BASE, '--max-connections', String(N)]); });
  after(async () => { for (const c of held) c.destroy(); await killCorsd(corsd); });

  test(`--max-connections: exactly ${N} connections at once are all served`, async () => {
    for (let i = 0; i < N; i += 1) held.push(await Conn.open(corsd.port));
    for (const c of held) c.send(GOOD);
    for (const [i, c] of held.entries()) {
      assert.ok(await c.answers(1), `connection ${i} answered`);
      assert.equal(c.responses[0].status, 200, `connection ${i}`);
      assert.ok(!c.gone, `connection ${i} kept open`);
    }
  });

  test(`attack: connection flood: connection ${N + 1} gets 503 with Retry-After: 1 and is closed`, async () => {
    const r = await exchange(corsd.port, GOOD);
    assert.equal(r.status, 503, shown(GOOD, r));
    assert.equal(r.headers['retry-after'], '1', shown(GOOD, r));
    assert.ok(r.closed, 'closed');
    const deadline = Date.now() + 3000;
    while (!corsd.stderr().includes(`over --max-connections ${N}`) && Date.now() < deadline) await sleep(50);
    assert.match(corsd.stderr(), new RegExp(`refused \\d+ connection\\(s\\) over --max-connections ${N} \\(503\\)`));
    // The ones held are not disturbed.
    held[0].send(GOOD);
    assert.ok(await held[0].answers(2), 'a held connection still serves');
  });

  test('--max-connections: once one of them closes, a new connection is served again', async () => {
    held.shift().destroy();
    let r;
    for (const deadline = Date.now() + 3000; Date.now() < deadline;) {  // until corsd has seen it go
      r = await exchange(corsd.port, GOOD);
      r.conn.destroy();
      if (r.status === 200) break;
      await sleep(100);
    }
    assert.equal(r.status, 200, shown(GOOD, r));
  });
});

// ---------------------------------------------------------------------------------------------------------
// Timeouts and slow clients: two corsds, the cases run at once (each waits on its own clock).

describe('timeouts and slow clients', { concurrency: true }, () => {
  const HEADER_S = 1.5;
  const BODY_S = 1.5;
  const IDLE_S = 2.5;
  // Deadlines are checked by a 200 ms ticker per thread; past that, a noisy machine may be seconds late.
  const LATE_MS = 2500;
  const SEND_S = 0.5;
  let timeouts;
  let rate;
  let send;
  let tls;
  let certDir;
  before(async () => {
    certDir = mkdtempSync(join(tmpdir(), 'corsd-hostile-'));
    const leaf = await makeLeaf(certDir, await makeCa(certDir));
    [timeouts, rate, send, tls] = await Promise.all([
      startCorsd([...BASE, '--header-timeout', String(HEADER_S), '--body-timeout', String(BODY_S),
        '--idle-timeout', String(IDLE_S), '--min-body-rate', '0']),
      startCorsd([...BASE, '--body-timeout', '1', '--min-body-rate', '1000']),
      startCorsd([...BASE, '--send-timeout', String(SEND_S), '--max-body', String(16 << 20)]),
      startCorsd([...BASE, '--header-timeout', String(HEADER_S), '--tls-cert', leaf.cert, '--tls-key', leaf.key]),
    ]);
  });
  after(async () => {
    await Promise.all([timeouts, rate, send, tls].map(killCorsd));
    if (certDir) rmSync(certDir, { recursive: true, force: true });
  });

  /** Waits for conn to be closed by the server: the ms it took from `since`, or null if it was not. */
  async function closedAfter(conn, since, timeoutS) {
    const ok = await conn.closed(timeoutS * 1000 + LATE_MS);
    return ok ? Date.now() - since : null;
  }

  test(`--header-timeout ${HEADER_S}: a head paused 0.3 s midway is served`, async () => {
    const conn = await Conn.open(timeouts.port);
    conn.send('GET / HTTP/1.1\r\n');
    await sleep(300);
    conn.send('Host: a\r\n\r\n');
    assert.ok(await conn.answers(1), conn.text());
    assert.equal(conn.responses[0].status, 200);
    conn.destroy();
  });

  test(`--header-timeout ${HEADER_S}: a connection that sends nothing is closed, unanswered`, async () => {
    const conn = await Conn.open(timeouts.port);
    const ms = await closedAfter(conn, Date.now(), HEADER_S);
    assert.ok(ms !== null, 'closed');
    assert.ok(ms >= HEADER_S * 1000 - 500, `not before the timeout: ${ms} ms`);
    assert.equal(conn.text(), '');
  });

  test(`--header-timeout ${HEADER_S}: a head that stops midway is closed, unanswered`, async () => {
    const conn = await Conn.open(timeouts.port);
    const since = Date.now();
    conn.send('GET / HTTP/1.1\r\nHost: a\r\n');
    const ms = await closedAfter(conn, since, HEADER_S);
    assert.ok(ms !== null, 'closed');
    assert.ok(ms >= HEADER_S * 1000 - 500, `not before the timeout: ${ms} ms`);
    assert.equal(conn.responses.length, 0, conn.text());
  });

  // The header timeout counts from the request's first byte: a field every 200 ms does not extend it.
  test('attack: slowloris: a head trickled a field every 200 ms is closed at the header timeout', async () => {
    const conn = await Conn.open(timeouts.port);
    const since = Date.now();
    conn.send('GET / HTTP/1.1\r\nHost: a\r\n');
    for (let i = 0; !conn.gone && Date.now() - since < HEADER_S * 1000 + LATE_MS; i += 1) {
      conn.send(`X-${i}: y\r\n`);
      await sleep(200);
    }
    assert.ok(conn.gone, 'closed while still trickling');
    assert.equal(conn.responses.length, 0, conn.text());
  });

  test('attack: slowloris with empty lines: CRLFs before a request line do not hold the connection', async () => {
    const conn = await Conn.open(timeouts.port);
    const since = Date.now();
    while (!conn.gone && Date.now() - since < HEADER_S * 1000 + LATE_MS) {
      conn.send('\r\n');
      await sleep(200);
    }
    assert.ok(conn.gone, 'closed while still sending empty lines');
  });

  test(`--body-timeout ${BODY_S}: a body paused 0.3 s midway is served`, async () => {
    const conn = await Conn.open(timeouts.port);
    conn.send(post('Content-Length: 6\r\n', 'abc'));
    await sleep(300);
    conn.send('def');
    assert.ok(await conn.answers(1), conn.text());
    assert.equal(conn.responses[0].status, 200);
    assert.ok(conn.responses[0].body.endsWith('abcdef'));
    conn.destroy();
  });

  test(`--body-timeout ${BODY_S}: a body that stops is closed, unanswered`, async () => {
    const conn = await Conn.open(timeouts.port);
    const since = Date.now();
    conn.send(post('Content-Length: 10\r\n', 'abc'));
    const ms = await closedAfter(conn, since, BODY_S);
    assert.ok(ms !== null, 'closed');
    assert.ok(ms >= BODY_S * 1000 - 500, `not before the timeout: ${ms} ms`);
    assert.equal(conn.responses.length, 0, conn.text());
  });

  test(`--min-body-rate 0: a body trickled a byte every 250 ms, past --body-timeout ${BODY_S}, is served`, async () => {
    const conn = await Conn.open(timeouts.port);
    conn.send(post('Content-Length: 8\r\n', ''));
    for (let i = 0; i < 8 && !conn.gone; i += 1) {
      await sleep(250);
      conn.send('x');
    }
    assert.ok(await conn.answers(1), conn.text());
    assert.equal(conn.responses[0].status, 200);
    conn.destroy();
  });

  // A keep-alive connection gives its buffers back after 1 s idle: past that it still serves.
  test(`--idle-timeout ${IDLE_S}: a keep-alive connection idle 1.3 s serves its next request`, async () => {
    const conn = await Conn.open(timeouts.port);
    conn.send(GOOD);
    assert.ok(await conn.answers(1));
    await sleep(1300);
    conn.send(GOOD);
    assert.ok(await conn.answers(2), conn.text());
    assert.equal(conn.responses[1].status, 200);
    conn.destroy();
  });

  test(`--idle-timeout ${IDLE_S}: a keep-alive connection idle past the timeout is closed`, async () => {
    const conn = await Conn.open(timeouts.port);
    conn.send(GOOD);
    assert.ok(await conn.answers(1));
    const ms = await closedAfter(conn, Date.now(), IDLE_S);
    assert.ok(ms !== null, 'closed');
    assert.ok(ms >= IDLE_S * 1000 - 500, `not before the timeout: ${ms} ms`);
  });

  // --body-timeout 1 --min-body-rate 1000: from 1 s after the head, the body must average 1000 bytes a
  // second. The rates are far from the edge both ways: a rate's edge is a matter of timing.
  test('attack: slow POST (R.U.D.Y.): a body at 50 bytes a second (never pausing 1 s) is cut off', async () => {
    const conn = await Conn.open(rate.port);
    const since = Date.now();
    conn.send(post('Content-Length: 1000\r\n', ''));
    while (!conn.gone && Date.now() - since < 1000 + 2 * LATE_MS) {
      conn.send('x'.repeat(10));
      await sleep(200);
    }
    assert.ok(conn.gone, 'closed while still trickling');
    assert.ok(!conn.responses.some((r) => r.status < 300), conn.text());
  });

  test('--min-body-rate 1000: a body at 10,000 bytes a second, past --body-timeout 1, is served', async () => {
    const conn = await Conn.open(rate.port);
    conn.send(post('Content-Length: 16000\r\n', ''));
    for (let i = 0; i < 8 && !conn.gone; i += 1) {
      conn.send('x'.repeat(2000));
      await sleep(200);
    }
    assert.ok(await conn.answers(1), conn.text().slice(0, 200));
    assert.equal(conn.responses[0].status, 200);
    conn.destroy();
  });

  test('attack: plain HTTP to the HTTPS port is a plain-text 400 that says to use https://', async () => {
    const r = await exchange(tls.port, GOOD);
    assert.equal(r.status, 400, shown(GOOD, r));
    assert.ok(r.body.includes('https://'), shown(GOOD, r));
    assert.ok(r.closed, 'closed');
  });

  test(`attack: a TLS handshake that stalls is closed after --header-timeout ${HEADER_S}`, async () => {
    const conn = await Conn.open(tls.port);
    const since = Date.now();
    conn.send('\x16\x03\x01\x00\xc8\x01\x00\x00\xc4\x03\x03');  // the start of a ClientHello, then nothing
    const ms = await closedAfter(conn, since, HEADER_S);
    assert.ok(ms !== null, 'closed');
    assert.ok(ms >= HEADER_S * 1000 - 500, `not before the timeout: ${ms} ms`);
  });

  // 24 pipelined echoes of 1 MiB: far more than the socket buffers hold while the client reads nothing.
  test(`attack: a client that never reads its answers is cut off after --send-timeout ${SEND_S}`, async () => {
    const conn = await Conn.open(send.port);
    conn.socket.pause();  // reads nothing; a reset still ends the connection ('error')
    const since = Date.now();
    const body = 'x'.repeat(1 << 20);
    for (let i = 0; i < 24; i += 1) conn.send(post(`Content-Length: ${body.length}\r\n`, body));
    const ms = await closedAfter(conn, since, SEND_S);
    assert.ok(ms !== null, 'cut off');
    assert.ok(ms >= SEND_S * 1000 - 300, `not before the timeout: ${ms} ms`);
  });

  // The README: send_timeout is the "longest wait for a client to take response bytes". This client takes
  // some every 10 ms (about 6 MB a second) and never stops; one 8 MiB answer, more than the socket buffers
  // hold, takes it longer than 0.5 s to read all the same.
  test(`--send-timeout ${SEND_S}: a client that takes answer bytes every 10 ms is not cut off`,
    async () => {
      const conn = await Conn.open(send.port);
      let longestGap = 0;
      let last = Date.now();
      conn.socket.on('data', () => {
        const now = Date.now();
        longestGap = Math.max(longestGap, now - last);
        last = now;
        conn.socket.pause();
        setTimeout(() => conn.socket.resume(), 10);
      });
      const size = 8 << 20;
      conn.send(post(`Content-Length: ${size}\r\n`, 'x'.repeat(size)));
      const whole = await conn.answers(1, 8000);
      assert.ok(whole, `the whole answer came (${conn.raw.length} of ${size} bytes, then ` +
        `${conn.gone ? 'cut off' : 'stalled'}; the longest pause between reads ${longestGap} ms)`);
      assert.equal(conn.responses[0].status, 200);
      conn.destroy();
    });
});

// ---------------------------------------------------------------------------------------------------------
// Settings' ranges (apps/corsd/settings.cpp, src/config/setting.cpp): a value just out of range is refused
// at start, naming the flag, the value and the range; the ends of the ranges start.

describe('settings out of range are refused at start', { concurrency: true }, () => {
  const refused = [
    ['--max-header-bytes', '1023', 'a whole number from 1024 to 1048576'],
    ['--max-header-bytes', '1048577', 'a whole number from 1024 to 1048576'],
    ['--max-header-bytes', 'nan', 'a whole number from 1024 to 1048576'],
    ['--max-body', '-1', 'a whole number from 0 to 1099511627776'],
    ['--max-body', '1099511627777', 'a whole number from 0 to 1099511627776'],
    ['--max-connections', '0', 'a whole number from 1 to 1000000'],
    ['--max-connections', '1000001', 'a whole number from 1 to 1000000'],
    ['--threads', '0', 'a whole number from 1 to 256'],
    ['--threads', '257', 'a whole number from 1 to 256'],
    ['--min-body-rate', '-1', 'a whole number from 0 to 1073741824'],
    ['--min-body-rate', '1073741825', 'a whole number from 0 to 1073741824'],
    ['--header-timeout', '0.0009', 'a number of seconds from 0.001 to 86400'],
    ['--header-timeout', '86400.001', 'a number of seconds from 0.001 to 86400'],
    ['--header-timeout', 'nan', 'a number of seconds from 0.001 to 86400'],
    ['--body-timeout', 'nan', 'a number of seconds from 0.001 to 86400'],
    ['--idle-timeout', 'nan', 'a number of seconds from 0.001 to 86400'],
    ['--idle-timeout', '0', 'a number of seconds from 0.001 to 86400'],
  ];
  for (const [flag, value, range] of refused) {
    test(`settings: ${flag} ${value} is refused at start, naming the flag`, async () => {
      const r = await runCorsd([...BASE, flag, value], { timeoutMs: 5000 });
      assert.equal(r.code, 2, `exit code\n${r.stdout}${r.stderr}`);
      assert.ok(r.stderr.includes(`${flag}: "${value}" must be ${range}`), r.stderr);
      assert.ok(!r.stdout.includes('ready'), r.stdout);
    });
  }

  for (const ends of [
    ['--max-header-bytes', '1048576', '--max-body', '1099511627776', '--min-body-rate', '1073741824',
      '--header-timeout', '86400', '--body-timeout', '86400', '--idle-timeout', '86400', '--max-connections', '1000000'],
    ['--max-header-bytes', '1024', '--max-body', '0', '--min-body-rate', '0', '--header-timeout', '0.001',
      '--max-connections', '1'],
  ]) {
    test(`settings: the ends of the ranges start (${ends.join(' ')})`, async () => {
      const corsd = await startCorsd([...BASE, ...ends]);
      await corsd.stop();
    });
  }
});
