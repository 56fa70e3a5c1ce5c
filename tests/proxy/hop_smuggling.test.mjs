// Request smuggling and hop-by-hop abuse through the reverse proxy, judged on the raw bytes the
// upstream receives. Hostile requests go to corsd over raw sockets; between corsd and the upstream
// (upstream.mjs, which answers) sits a byte tap that records, per upstream connection, every byte
// corsd wrote. One strict HTTP/1.1 parser (RFC 9112, no leniency at all) reads those bytes back and
// one shared checker asserts, for every forwarded request of every case:
//   - exactly one framing: one Content-Length (digits, the body's length) or Transfer-Encoding:
//     chunked alone (plain hex chunk sizes, no extensions, no trailers), never both, never two;
//   - CRLF line ends only (no bare CR or LF), no obs-fold (no line starting with SP or HT), no NUL
//     or other control byte in a field, no whitespace before a colon, one Host;
//   - no hop-by-hop field, no field the client named in Connection; X-Forwarded-For/-Proto/-Host
//     are corsd's own (one line each, the peer, http, the client's Host); one Via ending "1.1 corsd";
//   - the request-target is the normalized origin-form path, the body is exactly the body the client
//     meant (by content), and the bytes hold exactly the requests expected, in order, nothing after.
// Every case that keeps its client connection then sends a canary GET on it, which must come back as
// its own answer and reach the upstream as its own clean request (a desynchronised connection shows).
// When corsd refuses a request (400, 501, ...), the upstream must have received no byte of it nor of
// what followed it. The one exception is an error inside a body (a bad chunk after good ones, a bad
// trailer): corsd streams bodies, so the start of that one request may have gone up already; it must
// then never be a whole request, and corsd must close that upstream connection.
//
//   CORSD_BIN=build/corsd node --test tests/proxy/hop_smuggling.test.mjs
//
// What tests/proxy/proxy.test.mjs already asserts (field names absent, target strings, 400 + "not
// forwarded" via the upstream's parsed records) is not repeated as such: each case here is either a
// new attack shape or an existing one re-checked on the raw bytes, with a smuggled request behind it.

import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ORIGIN, chunked, connect, request, startCorsd } from './support.mjs';
import { startUpstream } from './upstream.mjs';

const T = { timeout: 10_000 };
/** How long to wait, after the last answer, for bytes corsd should not send at all. */
const SETTLE_MS = 120;
/** How long a connection that must be closed may stay open. */
const CLOSE_MS = 2000;

/** A complete request that must never reach the upstream: put behind every hostile message. */
const SMUGGLED = 'GET /smuggled HTTP/1.1\r\nHost: api.test\r\n\r\n';
const PEER = '127.0.0.1';

// ---- the byte tap: a TCP relay corsd connects to as its upstream ---------------------------------

/**
 * Relays each connection to 127.0.0.1:targetPort and records what corsd sent on it:
 * conns[i] = { chunks: [{ seq, data }], length, ended }. seq is global, so messages on different
 * connections can be put in the order corsd sent them.
 */
async function startTap(targetPort) {
  const conns = [];
  const sockets = new Set();
  let seq = 0;
  const server = net.createServer({ allowHalfOpen: true }, (down) => {
    const rec = { chunks: [], length: 0, ended: false };
    conns.push(rec);
    const up = net.connect({ host: '127.0.0.1', port: targetPort, allowHalfOpen: true });
    for (const s of [down, up]) {
      sockets.add(s);
      s.setNoDelay(true);
      s.on('error', () => { down.destroy(); up.destroy(); });
      s.on('close', () => { sockets.delete(s); });
    }
    down.on('data', (d) => {
      rec.chunks.push({ seq: seq++, data: d });
      rec.length += d.length;
      up.write(d);
    });
    down.on('end', () => { rec.ended = true; up.end(); });
    down.on('close', () => { rec.ended = true; up.destroy(); });
    up.on('data', (d) => { if (!down.destroyed) down.write(d); });
    up.on('end', () => down.end());
    up.on('close', () => down.destroy());
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, resolve);
  });
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    /** Whether corsd has closed (or half-closed) connection n. */
    ended: (n) => conns[n]?.ended ?? false,
    /** Where each connection's record stands now. */
    mark: () => conns.map((c) => c.length),
    /** The bytes each connection got since mark: [{ conn, bytes, seqAt(offset), ended }], non-empty ones. */
    since(mark) {
      const out = [];
      conns.forEach((c, i) => {
        const from = mark[i] ?? 0;
        if (c.length === from) return;
        const pieces = [];
        let off = 0;
        for (const { seq: s, data } of c.chunks) {
          if (off + data.length > from) pieces.push({ seq: s, at: Math.max(0, off - from), data: data.subarray(Math.max(0, from - off)) });
          off += data.length;
        }
        const bytes = Buffer.concat(pieces.map((p) => p.data));
        const seqAt = (offset) => {
          let s = pieces[0].seq;
          for (const p of pieces) if (p.at <= offset) s = p.seq;
          return s;
        };
        out.push({ conn: i, bytes, seqAt, ended: c.ended });
      });
      return out;
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

// ---- a strict HTTP/1.1 request parser for what the upstream received ------------------------------

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Any control byte a field line may not hold (HT is allowed inside a value). */
const CTL = /[\x00-\x08\x0a-\x1f\x7f]/;

const show = (b) => JSON.stringify(Buffer.from(b).toString('latin1'));

/**
 * Parses bytes as a sequence of HTTP/1.1 requests exactly as RFC 9112 writes them, with no
 * leniency. Returns { messages, errors, incomplete }: messages [{ offset, requestLine, method,
 * target, headers, framing, body, head }]; errors, the rules the bytes break (parsing stops at the
 * first malformed message); incomplete, why the bytes end inside a message that was well-formed so
 * far (null when they end on a message boundary).
 */
function parseStrict(bytes) {
  const messages = [];
  const errors = [];
  let incomplete = null;
  let pos = 0;
  while (pos < bytes.length) {
    const start = pos;
    const headEnd = bytes.indexOf('\r\n\r\n', pos);
    if (headEnd < 0) {
      errors.push(`bytes after the last complete request (a head without its end, or a stray tail): ${show(bytes.subarray(pos, pos + 300))}`);
      break;
    }
    const head = bytes.subarray(pos, headEnd + 2).toString('latin1'); // every line with its CRLF
    pos = headEnd + 4;
    const bare = head.replace(/\r\n/g, '');
    if (/[\r\n]/.test(bare)) errors.push(`a bare CR or LF in the head: ${show(head)}`);
    const lines = head.slice(0, -2).split('\r\n');
    const requestLine = lines[0];
    const m = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+) (\S+) HTTP\/1\.1$/.exec(requestLine);
    if (!m) errors.push(`not an HTTP/1.1 request line: ${show(requestLine)}`);
    const method = m?.[1];
    const target = m?.[2];
    if (target && !target.startsWith('/') && !(method === 'OPTIONS' && target === '*')) {
      errors.push(`request-target not in origin-form: ${show(target)}`);
    }
    const headers = [];
    for (const line of lines.slice(1)) {
      if (/^[ \t]/.test(line)) { errors.push(`obs-fold (a line starting with SP or HT): ${show(line)}`); continue; }
      const colon = line.indexOf(':');
      const name = colon < 0 ? line : line.slice(0, colon);
      if (colon < 0 || !TOKEN.test(name)) { errors.push(`not a field line (name must be a token right before ':'): ${show(line)}`); continue; }
      const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '');
      if (CTL.test(value)) errors.push(`a control byte in the value of ${name}: ${show(line)}`);
      headers.push([name, value]);
    }
    const cl = values(headers, 'content-length');
    const te = values(headers, 'transfer-encoding');
    let framing = 'none';
    if (te.length && cl.length) errors.push(`both Content-Length and Transfer-Encoding: ${show(head)}`);
    if (cl.length > 1) errors.push(`${cl.length} Content-Length lines: ${show(head)}`);
    if (te.length > 1) errors.push(`${te.length} Transfer-Encoding lines: ${show(head)}`);
    if (te.length) {
      if (te[0] !== 'chunked') errors.push(`Transfer-Encoding other than exactly "chunked": ${show(te[0])}`);
      framing = 'chunked';
    } else if (cl.length) {
      if (!/^[0-9]+$/.test(cl[0])) errors.push(`Content-Length not plain digits: ${show(cl[0])}`);
      framing = 'content-length';
    }
    if (errors.length) break;
    let body = Buffer.alloc(0);
    if (framing === 'content-length') {
      const n = Number(cl[0]);
      if (pos + n > bytes.length) {
        incomplete = `Content-Length ${n} but only ${bytes.length - pos} body bytes arrived`;
        break;
      }
      body = bytes.subarray(pos, pos + n);
      pos += n;
    } else if (framing === 'chunked') {
      const parts = [];
      let ok = false;
      for (;;) {
        const eol = bytes.indexOf('\r\n', pos);
        if (eol < 0) {
          const tail = bytes.subarray(pos).toString('latin1');
          if (/^[0-9A-Fa-f]{0,15}\r?$/.test(tail)) incomplete = `the chunked body ends before its last chunk (${show(tail)})`;
          else errors.push(`a chunk-size line that is not plain hex: ${show(tail.slice(0, 100))}`);
          break;
        }
        const sizeLine = bytes.subarray(pos, eol).toString('latin1');
        if (!/^[0-9A-Fa-f]{1,15}$/.test(sizeLine)) { errors.push(`chunk-size line not plain hex (no sign, 0x, space or extension): ${show(sizeLine)}`); break; }
        const size = Number.parseInt(sizeLine, 16);
        pos = eol + 2;
        if (size === 0) {
          if (pos + 2 > bytes.length && '\r\n'.startsWith(bytes.subarray(pos).toString('latin1'))) {
            incomplete = 'the chunked body ends inside its last chunk';
            break;
          }
          if (bytes.subarray(pos, pos + 2).toString('latin1') !== '\r\n') {
            errors.push(`trailer fields or garbage after the last chunk: ${show(bytes.subarray(pos, pos + 200))}`);
            break;
          }
          pos += 2;
          ok = true;
          break;
        }
        if (pos + size + 2 > bytes.length) { incomplete = `a chunk of ${size} bytes cut short`; break; }
        parts.push(bytes.subarray(pos, pos + size));
        pos += size;
        if (bytes.subarray(pos, pos + 2).toString('latin1') !== '\r\n') { errors.push(`chunk data not followed by CRLF: ${show(bytes.subarray(pos, pos + 20))}`); break; }
        pos += 2;
      }
      if (!ok) break;
      body = Buffer.concat(parts);
    }
    messages.push({ offset: start, requestLine, method, target, headers, framing, body, head });
  }
  return { messages, errors, incomplete };
}

/** Every value of the field `name` (case-insensitive), in order. */
const values = (headers, name) => headers.filter(([n]) => n.toLowerCase() === name.toLowerCase()).map(([, v]) => v);
const listTokens = (vs) => vs.flatMap((v) => v.split(',')).map((t) => t.trim().toLowerCase()).filter(Boolean);

/** Fields no client may get past corsd, whatever it sent. */
const NEVER_FORWARDED = ['keep-alive', 'proxy-connection', 'te', 'trailer', 'upgrade', 'proxy-authorization',
  'expect', 'forwarded', 'http2-settings'];

/** The field names a client's request head names in its Connection fields (lowercased). */
function namedByConnection(raw) {
  const head = Buffer.from(raw).toString('latin1');
  const end = head.indexOf('\r\n\r\n');
  const lines = (end < 0 ? head : head.slice(0, end)).split(/\r?\n/);
  return listTokens(lines.filter((l) => /^connection\s*:/i.test(l)).map((l) => l.slice(l.indexOf(':') + 1)))
    .filter((t) => t !== 'close' && t !== 'keep-alive');
}

/**
 * The shared checker: one forwarded request against what the client meant. want: { method, target,
 * body, host, named (field names the client's Connection named), absent, fields: { name: [values] } }.
 */
function checkForwarded(msg, want, what) {
  const ctx = `${what}: the upstream got\n${msg.head}${msg.body.toString('latin1').slice(0, 200)}`;
  const h = msg.headers;
  assert.equal(msg.method, want.method, `method (${ctx})`);
  assert.equal(msg.target, want.target, `request-target, normalized (${ctx})`);
  const body = Buffer.from(want.body ?? '');
  assert.equal(msg.body.toString('latin1'), body.toString('latin1'), `the body, by content (${ctx})`);
  if (body.length > 0) assert.notEqual(msg.framing, 'none', `a body needs a framing (${ctx})`);
  else if (msg.framing === 'content-length') assert.equal(values(h, 'content-length')[0], '0', ctx);
  assert.deepEqual(values(h, 'host'), [want.host ?? 'api.test'], `exactly one Host (${ctx})`);
  for (const n of [...NEVER_FORWARDED, ...(want.named ?? []), ...(want.absent ?? [])]) {
    if (n === 'content-length' || n === 'transfer-encoding' || n === 'host' || n.startsWith('x-forwarded-') || n === 'via') continue;
    assert.deepEqual(values(h, n), [], `${n} must not reach the upstream (${ctx})`);
  }
  for (const t of listTokens(values(h, 'connection'))) {
    assert.ok(t === 'keep-alive' || t === 'close', `Connection upstream is corsd's own, not naming "${t}" (${ctx})`);
  }
  assert.deepEqual(values(h, 'x-forwarded-for'), [PEER], `X-Forwarded-For is the peer, once (${ctx})`);
  assert.deepEqual(values(h, 'x-forwarded-proto'), ['http'], `X-Forwarded-Proto is corsd's, once (${ctx})`);
  assert.deepEqual(values(h, 'x-forwarded-host'), [want.host ?? 'api.test'], `X-Forwarded-Host is the Host, once (${ctx})`);
  const via = values(h, 'via');
  assert.equal(via.length, 1, `one Via line (${ctx})`);
  assert.match(via[0], /(^|, )1\.1 corsd$/, `Via ends with corsd's (${ctx})`);
  for (const [n, vs] of Object.entries(want.fields ?? {})) {
    assert.deepEqual(values(h, n), vs, `${n} (${ctx})`);
  }
}

// ---- the cases -----------------------------------------------------------------------------------

const withOrigin = (headers = []) => [['Origin', ORIGIN], ...headers];
const raw = (...parts) => Buffer.concat(parts.map((p) => Buffer.from(p, 'latin1')));
/** A request head written byte for byte: lines joined by CRLF, then the blank line. */
const rawHead = (...lines) => `${lines.join('\r\n')}\r\n\r\n`;
const ORIGIN_LINE = `Origin: ${ORIGIN}`;
const post = (target, headers, body) => request('POST', target, withOrigin(headers), body);
const BODY = 'hello world';
const CHUNKED_BODY = chunked('hello', ' world');
/** A chunked POST whose Transfer-Encoding line is `teLine` (written as given). */
const chunkedPost = (teLine, body = CHUNKED_BODY) =>
  raw(rawHead('POST /echo HTTP/1.1', 'Host: api.test', ORIGIN_LINE, 'Content-Type: text/plain', teLine), body);
/** A POST with the given raw field lines and a raw body, written byte for byte. */
const rawPost = (lines, body) => raw(rawHead('POST /echo HTTP/1.1', 'Host: api.test', ORIGIN_LINE, ...lines), body);
const echoed = (body = BODY, extra = {}) => ({ method: 'POST', target: '/echo', body, ...extra });

/**
 * Each case: send (bytes, in one write) or run(client) (returns the answers); answers, the statuses
 * expected in order (an array entry: any of them). The last answer decides what is checked:
 *   - a 1xx/2xx: forwarded, what the upstream must receive, in order (then the canary);
 *   - an error: refused, what the upstream may have received of it:
 *       'nothing'  (the default) not one byte, neither of it nor of what followed;
 *       'prefix'   the error is in the body, which corsd streams: at most the start of this one
 *                  request, never a complete one, on an upstream connection corsd then closes;
 *     and closes: the client connection must then be closed (a framing error leaves the rest of
 *     its bytes meaningless: RFC 9112 §6.3 says respond 400, then close).
 */
const CASES = [
  // -- both framings ---------------------------------------------------------------------------
  {
    name: 'RFC 9112 §6.3: Content-Length with Transfer-Encoding (CL.TE) never reaches the upstream, nor what follows',
    send: raw(rawPost(['Content-Length: 6', 'Transfer-Encoding: chunked'], `0\r\n\r\nG${SMUGGLED}`)),
    answers: [400], closes: true,
  },
  {
    name: 'RFC 9112 §6.3: Transfer-Encoding before Content-Length (TE.CL) never reaches the upstream, nor what follows',
    send: raw(rawPost(['Transfer-Encoding: chunked', 'Content-Length: 4'], chunked(SMUGGLED)), SMUGGLED),
    answers: [400], closes: true,
  },
  // -- TE.TE: obfuscated Transfer-Encoding -------------------------------------------------------
  {
    name: 'attack: TE.TE obfuscation "chunked, identity" (chunked not last, RFC 9112 §6.3) is refused, nothing forwarded',
    send: raw(chunkedPost('Transfer-Encoding: chunked, identity', chunked(SMUGGLED)), SMUGGLED),
    answers: [[400, 501]], closes: true,
  },
  {
    name: 'attack: TE.TE obfuscation "x-chunked" (an unknown coding, RFC 9112 §6.1) is refused, nothing forwarded',
    send: raw(chunkedPost('Transfer-Encoding: x-chunked', chunked(SMUGGLED)), SMUGGLED),
    answers: [[400, 501]], closes: true,
  },
  {
    name: 'attack: TE.TE obfuscation, two Transfer-Encoding lines "chunked" and "identity" (chunked not last), is refused',
    send: raw(rawPost(['Transfer-Encoding: chunked', 'Transfer-Encoding: identity'], chunked(SMUGGLED)), SMUGGLED),
    answers: [[400, 501]], closes: true,
  },
  {
    name: 'attack: TE.TE obfuscation, two Transfer-Encoding lines both "chunked" (chunked twice, RFC 9112 §6.1), is refused',
    send: raw(rawPost(['Transfer-Encoding: chunked', 'Transfer-Encoding: chunked'], chunked(SMUGGLED)), SMUGGLED),
    answers: [[400, 501]], closes: true,
  },
  {
    name: 'attack: TE.TE obfuscation, two Transfer-Encoding lines "identity" then "chunked": refused, or forwarded chunked alone',
    send: rawPost(['Transfer-Encoding: identity', 'Transfer-Encoding: chunked'], chunked(SMUGGLED)),
    answers: [[200, 400, 501]], forwarded: [echoed(SMUGGLED)], closes: true,
  },
  {
    name: 'RFC 9112 §6.1: a coding before chunked ("gzip, chunked") is not silently dropped: refused (501), never forwarded as plain chunked',
    // corsd removes every coding but chunked and forwards the still-gzip-coded bytes as the plain body.
    send: rawPost(['Transfer-Encoding: gzip, chunked'], chunked('\x1f\x8b\x08\x00gzip-coded')),
    answers: [[400, 501]], closes: true,
  },
  {
    name: 'RFC 9112 §5.1: whitespace between a field name and its colon ("Transfer-Encoding : chunked") is refused',
    send: raw(chunkedPost('Transfer-Encoding : chunked', chunked(SMUGGLED)), SMUGGLED),
    answers: [400], closes: true,
  },
  {
    name: 'RFC 9112 §6.1: Transfer-Encoding in an HTTP/1.0 request is faulty framing: refused, nothing forwarded',
    send: raw(rawHead('POST /echo HTTP/1.0', 'Host: api.test', ORIGIN_LINE, 'Transfer-Encoding: chunked'), chunked(SMUGGLED), SMUGGLED),
    answers: [400], closes: true,
  },
  {
    name: 'attack: TE.TE obfuscation " chunked" (leading OWS) is plain chunked: forwarded re-chunked, one framing',
    send: chunkedPost('Transfer-Encoding:    chunked'),
    answers: [200], forwarded: [echoed()],
  },
  {
    name: 'attack: TE.TE obfuscation "Chunked" (codings are case-insensitive) is plain chunked: forwarded re-chunked',
    send: chunkedPost('Transfer-Encoding: Chunked'),
    answers: [200], forwarded: [echoed()],
  },
  {
    name: 'attack: TE.TE obfuscation "Transfer-Encoding:\\tchunked" (HTAB is OWS) is plain chunked: forwarded re-chunked',
    send: chunkedPost('Transfer-Encoding:\tchunked'),
    answers: [200], forwarded: [echoed()],
  },
  // -- Content-Length shapes -------------------------------------------------------------------
  {
    name: 'RFC 9112 §6.3: two different Content-Length lines are refused, nothing forwarded',
    send: raw(rawPost(['Content-Length: 5', 'Content-Length: 11'], BODY), SMUGGLED),
    answers: [400], closes: true,
  },
  {
    name: 'RFC 9112 §6.3: a Content-Length list with different values ("5, 11") is refused, nothing forwarded',
    send: raw(rawPost(['Content-Length: 5, 11'], BODY), SMUGGLED),
    answers: [400], closes: true,
  },
  {
    name: 'RFC 9112 §6.3: two equal Content-Length lines reach the upstream as one Content-Length',
    send: rawPost(['Content-Length: 11', 'Content-Length: 11'], BODY),
    answers: [200], forwarded: [echoed()],
  },
  {
    name: 'RFC 9112 §6.3: a Content-Length list of equal values ("11, 11") reaches the upstream as one plain Content-Length',
    send: rawPost(['Content-Length: 11, 11'], BODY),
    answers: [200], forwarded: [echoed()],
  },
  ...['+11', '-11', '1 1', '0x0b', '11.0', '', '11;', '1e1'].map((v) => ({
    name: `RFC 9110 §8.6: Content-Length "${v}" (not 1*DIGIT) is refused, nothing forwarded`,
    send: raw(rawPost([`Content-Length: ${v}`], BODY), SMUGGLED),
    answers: [400], closes: true,
  })),
  {
    name: 'RFC 9110 §8.6: Content-Length with leading zeros ("0000011") reaches the upstream as one plain Content-Length',
    send: rawPost(['Content-Length: 0000011'], BODY),
    answers: [200], forwarded: [echoed()],
  },
  {
    name: 'RFC 9112 §5.1: Content-Length with OWS around it (spaces, HTAB) reaches the upstream as one plain Content-Length',
    send: rawPost(['Content-Length:  \t11 \t '], BODY),
    answers: [200], forwarded: [echoed()],
  },
  {
    name: 'RFC 9112 §5.1: whitespace between "Content-Length" and its colon is refused',
    send: raw(rawPost(['Content-Length : 11'], BODY), SMUGGLED),
    answers: [400], closes: true,
  },
  // -- chunk lines -----------------------------------------------------------------------------
  ...[['+5', 'a "+" sign'], ['0x5', 'a "0x" prefix'], [' 5', 'a leading space'], ['-5', 'a "-" sign'],
    ['10000000000000005', 'a size over 2^64']].map(([size, what]) => ({
    name: `RFC 9112 §7.1: a chunk size with ${what} ("${size}") is refused, no request reaches the upstream`,
    send: raw(chunkedPost('Transfer-Encoding: chunked', `${size}\r\nhello\r\n0\r\n\r\n`), SMUGGLED),
    answers: [400], refused: 'prefix', closes: true,
  })),
  {
    name: 'RFC 9112 §7.1: chunk data longer than its size is refused; the upstream never gets a whole request',
    send: raw(chunkedPost('Transfer-Encoding: chunked', `5\r\nhelloXX\r\n0\r\n\r\n`), SMUGGLED),
    answers: [400], refused: 'prefix', closes: true,
  },
  {
    name: 'RFC 9112 §7.1: a bare LF ending a chunk-size line is refused; the upstream never gets a whole request',
    send: raw(chunkedPost('Transfer-Encoding: chunked', `5\r\nhello\r\n6\n world\r\n0\r\n\r\n`), SMUGGLED),
    answers: [400], refused: 'prefix', closes: true,
  },
  {
    name: 'RFC 9112 §7.1.1: chunk extensions (quoted, with ";" inside) are dropped: the upstream gets plain chunk sizes',
    send: chunkedPost('Transfer-Encoding: chunked',
      '5;name=value\r\nhello\r\n6;a="b;c\\"d";e\r\n world\r\n0;last=1\r\n\r\n'),
    answers: [200], forwarded: [echoed()],
  },
  {
    name: 'RFC 9110 §6.5: trailer fields claiming Host and X-Forwarded-For are dropped, never forwarded',
    send: chunkedPost('Transfer-Encoding: chunked',
      '5\r\nhello\r\n6\r\n world\r\n0\r\nHost: evil.test\r\nX-Forwarded-For: 1.2.3.4\r\nVia: 1.0 evil\r\n\r\n'),
    answers: [200], forwarded: [echoed()],
  },
  {
    name: 'RFC 9110 §6.5.1: trailer fields claiming a framing (Content-Length, Transfer-Encoding): refused or dropped, never a framing',
    send: raw(chunkedPost('Transfer-Encoding: chunked',
      '5\r\nhello\r\n6\r\n world\r\n0\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n'), SMUGGLED),
    answers: [[200, 400]], forwarded: [echoed(), { method: 'GET', target: '/smuggled', body: '' }],
    refused: 'prefix', closes: true,
  },
  // -- line ends, obs-fold, control bytes ------------------------------------------------------
  {
    name: 'RFC 9112 §2.2: bare LF line ends in a head: refused, or forwarded with CRLF only',
    send: raw(`POST /echo HTTP/1.1\nHost: api.test\n${ORIGIN_LINE}\nContent-Length: 11\n\n${BODY}`),
    answers: [[200, 400]], forwarded: [echoed()],
  },
  {
    name: 'RFC 9112 §2.2: a bare LF ending one field line (a field hidden behind it): refused, or forwarded with CRLF only',
    send: raw(`POST /echo HTTP/1.1\r\nHost: api.test\r\n${ORIGIN_LINE}\r\nX-A: 1\nContent-Length: 11\r\n\r\n${BODY}`),
    answers: [[200, 400]], forwarded: [echoed()],
  },
  {
    name: 'RFC 9112 §2.2: a bare CR in a field value: refused, or forwarded with the CR replaced by SP',
    send: raw(rawPost(['X-A: one\rTransfer-Encoding: chunked', 'Content-Length: 11'], BODY)),
    answers: [[200, 400]], forwarded: [echoed(BODY, { fields: { 'x-a': ['one Transfer-Encoding: chunked'] } })],
  },
  {
    name: 'RFC 9112 §5.2: obs-fold in a header: refused, or forwarded unfolded on one line (SP for the fold)',
    send: rawPost(['X-Folded: first', ' second', '\tthird', 'Content-Length: 11'], BODY),
    answers: [[200, 400]], forwarded: [echoed(BODY, { fields: { 'x-folded': [/^first[ \t]+second[ \t]+third$/] } })],
  },
  {
    name: 'attack: obs-fold hiding a Transfer-Encoding line inside another field: never a framing upstream',
    send: raw(rawPost(['X-Folded: a', ' Transfer-Encoding: chunked', 'Content-Length: 11'], BODY)),
    answers: [[200, 400]], forwarded: [echoed(BODY, { fields: { 'x-folded': [/^a[ \t]+Transfer-Encoding: chunked$/] } })],
  },
  {
    name: 'attack: obs-fold splitting a Content-Length value ("11" / " 5") is refused, nothing forwarded',
    send: raw(rawPost(['Content-Length: 11', ' 5'], BODY), SMUGGLED),
    answers: [400], closes: true,
  },
  {
    name: 'RFC 9110 §5.5: a NUL in a field value: refused, or forwarded with the NUL replaced by SP',
    send: raw(rawPost(['X-Nul: a\x00b', 'Content-Length: 11'], BODY)),
    answers: [[200, 400]], forwarded: [echoed(BODY, { fields: { 'x-nul': ['a b'] } })],
  },
  {
    name: 'RFC 9112 §3.2: two Host lines are refused, nothing forwarded',
    send: raw(rawHead('GET /echo HTTP/1.1', 'Host: api.test', 'Host: evil.test', ORIGIN_LINE), SMUGGLED),
    answers: [400], closes: true,
  },
  // -- requests inside requests ----------------------------------------------------------------
  {
    name: 'attack: a second request hidden in a Content-Length body reaches the upstream as body bytes only',
    send: post('/echo', [['Content-Type', 'text/plain']], SMUGGLED),
    answers: [200], forwarded: [echoed(SMUGGLED)],
  },
  {
    name: 'attack: a second request hidden in a chunked body (split across chunks) reaches the upstream as body bytes only',
    send: request('POST', '/echo', withOrigin([['Transfer-Encoding', 'chunked']]),
      chunked(SMUGGLED.slice(0, 10), SMUGGLED.slice(10), '0\r\n\r\n', SMUGGLED)),
    answers: [200], forwarded: [echoed(`${SMUGGLED}0\r\n\r\n${SMUGGLED}`)],
  },
  {
    name: 'RFC 9112 §9.3.2: pipelined requests are each forwarded once, in order, each framed one way',
    send: Buffer.concat([
      request('GET', '/echo?n=1', withOrigin()),
      post('/echo?n=2', [['Content-Type', 'text/plain']], 'second body'),
      request('PUT', '/echo?n=3', withOrigin([['Transfer-Encoding', 'chunked']]), chunked('third', ' body')),
      request('DELETE', '/echo?n=4', withOrigin([['Content-Length', '0']]), ''),
    ]),
    answers: [200, 200, 200, 200],
    forwarded: [
      { method: 'GET', target: '/echo?n=1', body: '' },
      { method: 'POST', target: '/echo?n=2', body: 'second body' },
      { method: 'PUT', target: '/echo?n=3', body: 'third body' },
      { method: 'DELETE', target: '/echo?n=4', body: '' },
    ],
  },
  // -- hop-by-hop abuse ------------------------------------------------------------------------
  {
    name: 'RFC 9110 §7.6.1: Connection naming x-secret, Content-Length, Host and X-Forwarded-For: x-secret stripped, corsd\'s own kept',
    send: rawPost(['Connection: keep-alive, x-secret, content-length, host, x-forwarded-for, via', 'X-Secret: 1',
      'Keep-Alive: timeout=5', 'TE: trailers', 'Proxy-Connection: keep-alive', 'Proxy-Authorization: Basic dXNlcjpwYXNz',
      'X-Forwarded-For: 1.2.3.4', 'Content-Length: 11'], BODY),
    answers: [200], forwarded: [echoed(BODY, { named: ['x-secret'] })],
  },
  {
    name: 'RFC 9110 §10.1.1: Expect: 100-continue is answered by corsd; the upstream gets no Expect and the exact body',
    run: async (c) => {
      await c.send(request('PUT', '/echo', withOrigin([['Content-Length', '11'], ['Expect', '100-continue']])));
      const interim = await c.response();
      await c.send(BODY);
      return [interim, await c.response()];
    },
    answers: [100, 200], forwarded: [{ method: 'PUT', target: '/echo', body: BODY }],
  },
  {
    name: 'RFC 9110 §9.3.2: HEAD with a body: the body is forwarded framed, never read as a second request',
    send: request('HEAD', '/echo', withOrigin([['Content-Length', String(SMUGGLED.length)]]), SMUGGLED),
    answers: [200], methods: ['HEAD'], forwarded: [{ method: 'HEAD', target: '/echo', body: SMUGGLED }],
  },
  {
    name: 'RFC 9110 §9.3.1: GET with a body: the body is forwarded framed, never read as a second request',
    send: request('GET', '/echo', withOrigin([['Content-Length', String(SMUGGLED.length)]]), SMUGGLED),
    answers: [200], forwarded: [{ method: 'GET', target: '/echo', body: SMUGGLED }],
  },
  {
    // No upgrade happened, so the HTTP/2 preface after the head is read as HTTP/1.1 (and refused).
    name: 'attack: h2c smuggling (Upgrade: h2c, HTTP2-Settings, then the HTTP/2 preface) gets 501; nothing forwarded, no tunnel',
    send: raw(rawHead('GET /echo HTTP/1.1', 'Host: api.test', ORIGIN_LINE, 'Connection: Upgrade, HTTP2-Settings',
      'Upgrade: h2c', 'HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA'), 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'),
    answers: [501, [400, 505]], closes: true,
  },
  {
    name: 'attack: WebSocket upgrade ("Upgrade: WebSocket" in a Connection list, a POST with a body) gets 501, nothing forwarded',
    send: raw(rawHead('POST /echo HTTP/1.1', 'Host: api.test', ORIGIN_LINE, 'Connection: keep-alive, Upgrade',
      'Upgrade: WebSocket', 'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
      `Content-Length: ${SMUGGLED.length}`), SMUGGLED),
    answers: [501],
  },
  // -- methods: answered as the built-in API answers them (tests/integration/hostile_input) -------
  {
    name: 'RFC 9110 §9.1: a lowercase method ("get") is a method of its own: forwarded as sent, never as GET',
    send: request('get', '/echo', withOrigin()),
    // The upstream (Node.js) may refuse a method it does not know with 400: the bytes it got are what count.
    answers: [[200, 400]], forwarded: [{ method: 'get', target: '/echo', body: '' }],
  },
  ...['TRACE', 'TRACK'].map((method) => ({
    name: `attack: ${method} (it would reflect cookies and credentials) is 405 and never reaches the upstream`,
    send: raw(request(method, '/echo', withOrigin()), SMUGGLED),
    answers: [405], closes: true,
  })),
  {
    name: 'attack: CONNECT (corsd is not a forward proxy) is 501, never a 2xx, and never reaches the upstream',
    send: raw(rawHead('CONNECT api.test:443 HTTP/1.1', 'Host: api.test:443', ORIGIN_LINE), SMUGGLED),
    answers: [501], closes: true,
  },
  // -- the request-target ----------------------------------------------------------------------
  {
    name: 'RFC 9112 §3.2.2: an absolute-form target is forwarded in origin-form, dot segments removed',
    send: request('GET', 'http://api.test/a/b/../../echo/./x?abs=1', withOrigin()),
    answers: [200], forwarded: [{ method: 'GET', target: '/echo/x?abs=1', body: '' }],
  },
  {
    name: 'RFC 9112 §3.2.2: an absolute-form target with another authority than Host: refused, or that authority is the Host',
    send: request('GET', 'http://other.test/echo?abs=2', withOrigin([['Host', 'api.test']])),
    answers: [[200, 400]], forwarded: [{ method: 'GET', target: '/echo?abs=2', body: '', host: 'other.test' }],
  },
  {
    name: 'RFC 3986 §5.2.4: dot segments and %2e%2e are resolved before forwarding, the query kept byte for byte',
    send: Buffer.concat([
      request('GET', '/x/y/%2e%2e/%2E%2e/echo/./%2e/z?q=/../%2e%2e', withOrigin()),
      request('GET', '/echo/x/.%2e/%2e./echo/w', withOrigin()),
    ]),
    answers: [200, 200],
    forwarded: [
      { method: 'GET', target: '/echo/z?q=/../%2e%2e', body: '' },
      { method: 'GET', target: '/echo/w', body: '' },
    ],
  },
  // -- forwarding claims -----------------------------------------------------------------------
  {
    name: 'attack: X-Forwarded-For: 1.2.3.4 (and -Proto, -Host, Forwarded, in any case, folded) from an untrusted client is replaced',
    send: rawPost(['X-Forwarded-For: 1.2.3.4', 'x-forwarded-for:1.2.3.5', 'X-FORWARDED-PROTO: https',
      'X-Forwarded-Host: evil.test', 'Forwarded: for=1.2.3.4;host=evil.test;proto=https', 'X-Forwarded-For: 1.2.3.6,',
      ' 1.2.3.7', 'Content-Length: 11'], BODY),
    answers: [[200, 400]], forwarded: [echoed()],
  },
  {
    // CGI, WSGI, Rack and PHP map "-" and "_" to the same HTTP_X_FORWARDED_FOR: nginx and Apache drop such fields.
    name: 'attack: X_Forwarded_For / X-Forwarded_Host (underscores: the same CGI variable as corsd\'s own) never reach the upstream',
    send: request('GET', '/echo', withOrigin([['X_Forwarded_For', '1.2.3.4'], ['X-Forwarded_Host', 'evil.test'],
      ['X_Forwarded_Proto', 'https']])),
    answers: [[200, 400]],
    forwarded: [{ method: 'GET', target: '/echo', body: '', absent: ['x_forwarded_for', 'x-forwarded_host', 'x_forwarded_proto'] }],
  },
];

// ---- running one case ----------------------------------------------------------------------------

const canaryTarget = (i) => `/echo?canary=${i}`;

/** Waits (up to ms) until corsd has closed upstream connection `conn` on the tap. */
async function upstreamClosed(tap, conn, ms) {
  const deadline = Date.now() + ms;
  while (!tap.ended(conn) && Date.now() < deadline) await sleep(20);
  return tap.ended(conn);
}

async function runCase(env, cs, index) {
  const { tap, port } = env;
  const what = cs.name;
  const mark = tap.mark();
  const c = await connect(port, { timeoutMs: 3000 });
  try {
    const answers = [];
    if (cs.run) {
      answers.push(...await cs.run(c));
    } else {
      await c.send(cs.send);
      for (let i = 0; i < cs.answers.length; i++) {
        const res = await c.response({ method: cs.methods?.[i] ?? 'GET' }).catch((e) => ({ error: e }));
        if (!res || res.error) break;
        answers.push(res);
      }
    }
    const statuses = answers.map((a) => a.status);
    cs.answers.forEach((want, i) => {
      const ok = Array.isArray(want) ? want.includes(statuses[i]) : statuses[i] === want;
      assert.ok(ok, `${what}: answer ${i + 1} should be ${JSON.stringify(want)}, got ${statuses[i] ?? 'none (closed)'}` +
        `\n${answers[i]?.head ?? ''}${answers[i]?.body?.toString('latin1').slice(0, 200) ?? ''}`);
    });
    const refused = statuses.at(-1) >= 300;
    let forwarded = refused ? [] : cs.forwarded;
    assert.ok(forwarded, `${what}: the case names no forwarded requests for a ${statuses.at(-1)}`);
    let canarySent = false;
    if (refused && cs.closes) {
      assert.ok(await c.waitClosed(CLOSE_MS), `${what}: the client connection must be closed after the ` +
        `${statuses.at(-1)}: the rest of its bytes cannot be told from a next request`);
    } else {
      // The canary: it must get its own answer, and reach the upstream as one clean request.
      const canary = await c.exchange(request('GET', canaryTarget(index), withOrigin())).catch(() => null);
      if (canary !== null) {
        canarySent = true;
        assert.equal(canary.status, 200, `${what}: the canary after it\n${canary.head}`);
        assert.equal(JSON.parse(canary.text()).target, canaryTarget(index),
          `${what}: the canary's answer belongs to another request\n${canary.head}${canary.text()}`);
        forwarded = [...forwarded, { method: 'GET', target: canaryTarget(index), body: '' }];
      }
    }
    await sleep(SETTLE_MS);
    let segments = tap.since(mark);
    const allRaw = () => segments.map((s) => `connection ${s.conn}: ${show(s.bytes)}`).join('\n') || '(nothing)';
    if (refused) {
      const kind = cs.refused ?? 'nothing';
      if (kind === 'prefix' && segments.length > 0) {
        // A body error found after corsd began to stream the request: what went up must be the
        // start of this one request only, never complete, and corsd must close that connection.
        const prefix = segments.filter((s) => !canarySent || !s.bytes.includes(`GET ${canaryTarget(index)} `));
        assert.ok(prefix.length <= 1, `${what}: refused, yet bytes went up on ${prefix.length} connections:\n${allRaw()}`);
        if (prefix.length === 1) {
          const p = prefix[0];
          const { messages, errors, incomplete } = parseStrict(p.bytes);
          assert.deepEqual(errors, [], `${what}: the forwarded start breaks RFC 9112:\n${errors.join('\n')}\n${allRaw()}`);
          assert.deepEqual(messages.map((m) => m.requestLine), [],
            `${what}: refused with ${statuses.at(-1)}, yet the upstream got a whole request:\n${allRaw()}`);
          assert.ok(incomplete, `${what}: ${allRaw()}`);
          assert.ok(await upstreamClosed(tap, p.conn, CLOSE_MS), `${what}: corsd must close the upstream connection ` +
            `that carries the start of a refused request (else the upstream waits for, or reads on, the rest):\n${allRaw()}`);
          segments = segments.filter((s) => s !== p);
        }
      }
      if (!canarySent) {
        assert.equal(segments.length, 0, `${what}: refused (${statuses.join(', ')}), yet the upstream received\n${allRaw()}`);
        return;
      }
    }
    const messages = [];
    for (const s of segments) {
      const { messages: ms, errors, incomplete } = parseStrict(s.bytes);
      assert.deepEqual(errors, [], `${what}: the bytes the upstream got on connection ${s.conn} break RFC 9112:\n` +
        `${errors.join('\n')}\nall of them: ${show(s.bytes)}`);
      assert.equal(incomplete, null, `${what}: the upstream got a request cut short on connection ${s.conn}: ${show(s.bytes)}`);
      for (const m of ms) messages.push({ ...m, seq: s.seqAt(m.offset), conn: s.conn });
    }
    messages.sort((a, b) => a.seq - b.seq);
    assert.deepEqual(messages.map((m) => `${m.method} ${m.target}`), forwarded.map((f) => `${f.method} ${f.target}`),
      `${what}: the requests the upstream got, in order (each exactly once, nothing smuggled in):\n${allRaw()}`);
    const named = cs.send ? namedByConnection(cs.send) : [];
    forwarded.forEach((want, i) => {
      const fields = {};
      const regexFields = {};
      for (const [n, vs] of Object.entries(want.fields ?? {})) {
        if (vs.some((v) => v instanceof RegExp)) regexFields[n] = vs; else fields[n] = vs;
      }
      checkForwarded(messages[i], { ...want, named: [...named, ...(want.named ?? [])], fields }, what);
      for (const [n, vs] of Object.entries(regexFields)) {
        const got = values(messages[i].headers, n);
        assert.equal(got.length, vs.length, `${what}: ${n} lines\n${messages[i].head}`);
        vs.forEach((re, j) => assert.match(got[j], re, `${what}: ${n}\n${messages[i].head}`));
      }
    });
  } catch (err) {
    await sleep(SETTLE_MS); // let this case's stray bytes arrive now, not in the next case's window
    throw err;
  } finally {
    c.close();
  }
}

describe('request smuggling and hop-by-hop abuse, on the bytes the upstream receives', () => {
  const env = {};
  before(async () => {
    env.up = await startUpstream();
    env.tap = await startTap(env.up.port);
    env.corsd = await startCorsd(['--no-demo', '--listen', '127.0.0.1:0', '--upstream', env.tap.url,
      '--allow-origin', ORIGIN, '--allow-methods', 'PUT,DELETE', '--threads', '1']);
    env.port = env.corsd.port;
  });
  after(async () => {
    await env.corsd?.stop();
    await env.tap?.close();
    await env.up?.close();
  });

  CASES.forEach((cs, i) => {
    test(cs.name, T, () => runCase(env, cs, i));
  });

  test('the strict parser itself rejects what it must (a checker that accepts everything proves nothing)', () => {
    const bad = [
      'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx',
      'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n',
      'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\nx',
      'GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n',
      'GET / HTTP/1.1\r\nHost : a\r\n\r\n',
      'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n0\r\n\r\n',
      'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX: y\r\n\r\n',
      'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nxyGET /s HTTP/1.1\r\n',
      'GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n',
    ];
    for (const b of bad) assert.notDeepEqual(parseStrict(Buffer.from(b, 'latin1')).errors, [], show(b));
    const cut = parseStrict(Buffer.from('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n', 'latin1'));
    assert.deepEqual([cut.errors, cut.messages.length, typeof cut.incomplete], [[], 0, 'string']);
    const good = parseStrict(Buffer.from('GET /a HTTP/1.1\r\nHost: a\r\n\r\nPOST /b HTTP/1.1\r\nHost: a\r\n' +
      'Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n', 'latin1'));
    assert.deepEqual([good.errors, good.incomplete], [[], null]);
    assert.deepEqual(good.messages.map((m) => [m.target, m.body.toString()]), [['/a', ''], ['/b', 'hello']]);
  });
});
