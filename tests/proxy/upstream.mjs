// A scriptable HTTP/1.1 upstream for the proxy tests, on raw sockets (node:net) so that it can
// answer exactly the bytes a test needs, malformed ones included.
//
// As a module:
//   const up = await startUpstream({ closeIdleAfterMs, dropReusedConnections });
//   up.port, up.url, up.requests (one record per request head received), up.connections (count),
//   up.openConnections, up.isClosed(n), up.reset(), await up.close()
// As a program:
//   node tests/proxy/upstream.mjs [--host H] [--port N] [--close-idle-after-ms N]
//                                 [--drop-reused-connections] [--partial-answer-on-reuse]
//   prints "upstream ready: http://127.0.0.1:PORT", serves until SIGINT/SIGTERM.
//
// It parses requests itself (Content-Length and chunked bodies, keep-alive, pipelining) and answers
// by path (see ROUTES and EARLY_ROUTES below; any other path is /echo). Each record in `requests` is
//   { connection, index, method, target, version, headers: [[name, value]...], rawHead,
//     framing: 'none'|'content-length'|'chunked', bodyLength, bodySha256, complete, trailers?,
//     dropped?, answered? }
// filled while the body arrives (bodyLength grows live; bodySha256 is set once it is complete).
//
// Options:
//   closeIdleAfterMs       after an answer on a kept-alive connection, close the socket silently
//                          (no Connection: close) if no next request arrived within this many ms
//                          (0: right after the answer). A pooled connection that is dead.
//   dropReusedConnections  close, without answering, every connection on which a second request
//                          arrives: what a proxy sees when the upstream closed an idle connection
//                          just as the proxy reused it (the case the retry rule is about).
//   partialAnswerOnReuse   likewise, but send the first bytes of an answer head before closing:
//                          an answer byte arrived, so the request must not be retried.
//   host                   address to listen on (default 127.0.0.1; '::1' for IPv6)

import { createHash } from 'node:crypto';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { ByteReader, drained, parseHead, patternSlice, tokens, values, write } from './support.mjs';

const REASONS = {
  100: 'Continue', 103: 'Early Hints', 200: 'OK', 201: 'Created', 204: 'No Content', 301: 'Moved Permanently',
  304: 'Not Modified', 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found',
  500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable',
};

/** The bytes of a response head. headers: [name, value] pairs, written as given. */
function head(status, headers = [], reason = REASONS[status] ?? 'Whatever') {
  return Buffer.from(`HTTP/1.1 ${status} ${reason}\r\n${headers.map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n`, 'latin1');
}

/** A complete answer with Content-Length (no body bytes for HEAD, as HTTP requires). */
async function answer(ctx, status, headers, body = '') {
  const b = Buffer.from(body);
  const all = [...headers, ['Content-Length', String(b.length)]];
  if (!ctx.keepAlive) all.push(['Connection', 'close']);
  await write(ctx.socket, head(status, all));
  if (ctx.record.method !== 'HEAD' && b.length) await write(ctx.socket, b);
  return ctx.keepAlive ? 'keep' : 'close';
}

const jsonHeaders = [['Content-Type', 'application/json']];
const textHeaders = [['Content-Type', 'text/plain']];
const intParam = (url, name, dflt) => {
  const v = url.searchParams.get(name);
  return v === null ? dflt : Number(v);
};

/** Streams n pattern bytes, as Content-Length or chunked, waiting for 'drain' (back-pressure). */
async function streamPattern(ctx, n, { chunkedFraming }) {
  const { socket, record } = ctx;
  const headers = [['Content-Type', 'application/octet-stream'],
    chunkedFraming ? ['Transfer-Encoding', 'chunked'] : ['Content-Length', String(n)]];
  await write(socket, head(200, headers));
  if (record.method === 'HEAD') return 'keep';
  record.bytesSent = 0;
  for (let off = 0; off < n;) {
    if (socket.destroyed) throw new Error('download: connection closed');
    const piece = patternSlice(off, Math.min(64 * 1024, n - off));
    if (chunkedFraming) {
      // One writev for size line, data and CRLF.
      socket.cork();
      socket.write(`${piece.length.toString(16)}\r\n`);
      socket.write(piece);
      const more = socket.write('\r\n');
      socket.uncork();
      if (!more) await drained(socket);
    } else {
      await write(socket, piece);
    }
    off += piece.length;
    record.bytesSent = off;
  }
  if (chunkedFraming) await write(socket, '0\r\n\r\n');
  return 'keep';
}

// What each path answers. A handler gets ctx = { socket, record, url, keepAlive } after the whole
// request body was read, and returns 'keep' (the connection may carry another request) or 'close'.
const ROUTES = {
  // The request as received, as JSON; no CORS fields of its own.
  '/echo': (ctx) => answer(ctx, 200, jsonHeaders, JSON.stringify({
    method: ctx.record.method, target: ctx.record.target, version: ctx.record.version,
    headers: ctx.record.headers, bodyLength: ctx.record.bodyLength, bodySha256: ctx.record.bodySha256,
  })),

  // /status/N: status N with a short body (none for 1xx, 204, 304).
  '/status/': (ctx) => {
    const status = Number(ctx.url.pathname.slice('/status/'.length));
    return answer(ctx, status, textHeaders, [204, 304].includes(status) ? '' : `status ${status}\n`);
  },

  // The upstream's own CORS fields, which corsd must replace by the policy's.
  '/acao': (ctx) => answer(ctx, 200, [...textHeaders,
    ['Access-Control-Allow-Origin', '*'],
    ['Access-Control-Allow-Credentials', 'true'],
    ['Access-Control-Expose-Headers', 'x-upstream-secret'],
    ['Access-Control-Allow-Methods', 'PATCH'],
    ['Access-Control-Max-Age', '9999'],
    ['Vary', 'Accept-Encoding']], 'acao\n'),

  // A Vary that already names Origin (in lower case): corsd must not add a second one.
  '/vary-origin': (ctx) => answer(ctx, 200, [...textHeaders, ['Vary', 'origin, Accept-Encoding']], 'vary\n'),

  '/cookie': (ctx) => answer(ctx, 200, [...textHeaders,
    ['Set-Cookie', 'sid=abc123; Path=/; HttpOnly; SameSite=Lax'],
    ['Set-Cookie', 'theme=dark; Path=/']], 'cookie\n'),

  // Hop-by-hop fields in an answer, including one named by Connection; and a Via to append to.
  '/hop': (ctx) => answer(ctx, 200, [...textHeaders,
    ['Connection', 'x-up-secret'],
    ['X-Up-Secret', '1'],
    ['Keep-Alive', 'timeout=5, max=100'],
    ['Proxy-Connection', 'keep-alive'],
    ['Upgrade', 'h2c'],
    ['Trailer', 'X-Checksum'],
    ['Via', '1.0 origin-box'],
    ['X-Kept', 'yes']], 'hop\n'),

  // /download?bytes=N&chunked=0|1: N pattern bytes.
  '/download': (ctx) => streamPattern(ctx, intParam(ctx.url, 'bytes', 0),
    { chunkedFraming: ctx.url.searchParams.get('chunked') === '1' }),

  // /upload: the body's length and sha256 (read streaming; see bodyHook for ?stallAfter&stallMs).
  '/upload': (ctx) => answer(ctx, 200, jsonHeaders,
    JSON.stringify({ bodyLength: ctx.record.bodyLength, bodySha256: ctx.record.bodySha256 })),

  // /delay?ms=N: the answer after N ms.
  '/delay': async (ctx) => {
    await sleep(intParam(ctx.url, 'ms', 1000));
    return answer(ctx, 200, textHeaders, 'delayed\n');
  },

  // /slow-body?ms=N: head and half the body, N ms of silence, the other half.
  '/slow-body': async (ctx) => {
    await write(ctx.socket, head(200, [...textHeaders, ['Content-Length', '10']]));
    await write(ctx.socket, 'hello');
    await sleep(intParam(ctx.url, 'ms', 1000));
    await write(ctx.socket, 'world');
    return 'keep';
  },

  '/close-before-answer': (ctx) => { ctx.socket.end(); return 'closed'; },

  // /close-mid-body: Content-Length 1000, 100 bytes, close. ?chunked=1: a chunk and no last chunk.
  '/close-mid-body': async (ctx) => {
    if (ctx.url.searchParams.get('chunked') === '1') {
      await write(ctx.socket, head(200, [...textHeaders, ['Transfer-Encoding', 'chunked']]));
      await write(ctx.socket, `64\r\n${'x'.repeat(100)}\r\n`);
    } else {
      await write(ctx.socket, head(200, [...textHeaders, ['Content-Length', '1000']]));
      await write(ctx.socket, 'x'.repeat(100));
    }
    await sleep(50); // let the head and the first bytes reach corsd before the close
    ctx.socket.end();
    return 'closed';
  },

  '/reset': (ctx) => { ctx.socket.resetAndDestroy(); return 'closed'; },

  '/malformed': async (ctx) => {
    await write(ctx.socket, 'GARBAGE\x01 not a status line\r\nnot a header either\r\n\r\n');
    ctx.socket.end();
    return 'closed';
  },

  // Request-smuggling shapes in an answer: both framings, and two different lengths.
  '/cl-te': async (ctx) => {
    await write(ctx.socket, head(200, [...textHeaders, ['Content-Length', '5'], ['Transfer-Encoding', 'chunked']]));
    await write(ctx.socket, '5\r\nhello\r\n0\r\n\r\n');
    return 'keep';
  },
  '/two-cl': async (ctx) => {
    await write(ctx.socket, head(200, [...textHeaders, ['Content-Length', '5'], ['Content-Length', '6']]));
    await write(ctx.socket, 'hello!');
    return 'keep';
  },

  // A 200 KiB header block (200 fields of 1 KiB).
  '/huge-head': async (ctx) => {
    const filler = 'f'.repeat(1000);
    const fields = Array.from({ length: 200 }, (_, i) => [`X-Filler-${i}`, filler]);
    await write(ctx.socket, head(200, [...textHeaders, ...fields, ['Content-Length', '2']]));
    await write(ctx.socket, 'ok');
    return 'keep';
  },

  // An interim 103 Early Hints, then the final answer.
  '/interim': async (ctx) => {
    await write(ctx.socket, head(103, [['Link', '</style.css>; rel=preload; as=style']]));
    await sleep(50);
    return answer(ctx, 200, textHeaders, 'final\n');
  },

  // Neither Content-Length nor Transfer-Encoding: the body ends with the connection.
  '/no-length': async (ctx) => {
    await write(ctx.socket, head(200, [...textHeaders, ['Connection', 'close']]));
    await write(ctx.socket, 'until close\n'.repeat(100));
    ctx.socket.end();
    return 'closed';
  },

  // Content-Length 1234: for HEAD without the body (as HTTP says), for GET with it.
  '/head-cl': async (ctx) => {
    await write(ctx.socket, head(200, [...textHeaders, ['Content-Length', '1234']]));
    if (ctx.record.method !== 'HEAD') await write(ctx.socket, 'h'.repeat(1234));
    return 'keep';
  },

  // Transfer-Encoding: chunked: for HEAD without any body (not even the last chunk).
  '/head-te': async (ctx) => {
    await write(ctx.socket, head(200, [...textHeaders, ['Transfer-Encoding', 'chunked']]));
    if (ctx.record.method !== 'HEAD') await write(ctx.socket, '5\r\nhello\r\n0\r\n\r\n');
    return 'keep';
  },

  // ?cl=N: with the Content-Length the 200 would have had, which a 304 may carry (and has no body).
  '/304': async (ctx) => {
    const cl = ctx.url.searchParams.get('cl');
    await write(ctx.socket, head(304, [['ETag', '"v1"'], ['Cache-Control', 'max-age=60'],
      ...(cl ? [['Content-Length', cl]] : [])]));
    return 'keep';
  },

  // A status line with an empty reason phrase ("HTTP/1.1 200 "), which HTTP allows.
  '/no-reason': async (ctx) => {
    await write(ctx.socket, head(200, [...textHeaders, ['Content-Length', '3']], ''));
    await write(ctx.socket, 'ok\n');
    return 'keep';
  },

  // The upstream's own Date and Server (a proxy must not send a second Date).
  '/dated': (ctx) => answer(ctx, 200, [...textHeaders, ['Date', 'Mon, 01 Jan 2024 00:00:00 GMT'],
    ['Server', 'upstream-server/1.0']], 'dated\n'),

  // An HTTP/1.0 answer without length: the body ends with the connection.
  '/http10': async (ctx) => {
    await write(ctx.socket, Buffer.from('HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n'));
    await write(ctx.socket, 'one-point-oh\n');
    ctx.socket.end();
    return 'closed';
  },

  // The answer head one byte at a time: a parser must not depend on how bytes arrive.
  '/trickle': async (ctx) => {
    const bytes = Buffer.concat([head(200, [...textHeaders, ['X-Trickle', 'yes'], ['Content-Length', '8']]), Buffer.from('trickled')]);
    for (const b of bytes) {
      await write(ctx.socket, Buffer.from([b]));
      await sleep(1);
    }
    return 'keep';
  },

  // A field value with obs-text (Latin-1 bytes), which must come through byte for byte.
  '/obs-text': async (ctx) => {
    await write(ctx.socket, Buffer.concat([Buffer.from('HTTP/1.1 200 OK\r\nX-Latin: caf'), Buffer.from([0xe9]),
      Buffer.from('\r\nContent-Length: 2\r\n\r\nok')]));
    return 'keep';
  },

  // Two Vary fields: both kept.
  '/vary-two': (ctx) => answer(ctx, 200, [...textHeaders, ['Vary', 'Accept-Encoding'], ['Vary', 'Accept-Language']], 'vary\n'),

  // A 204 claiming a body: a 204 never has one, whatever its Content-Length says.
  '/204-with-body-headers': async (ctx) => {
    await write(ctx.socket, head(204, [['Content-Length', '5']]));
    return 'keep';
  },

  // The answer says Connection: close, and the upstream closes.
  '/close-after': async (ctx) => {
    await write(ctx.socket, head(200, [...textHeaders, ['Content-Length', '6'], ['Connection', 'close']]));
    await write(ctx.socket, 'bye!\r\n');
    ctx.socket.end();
    return 'closed';
  },

  // A chunked answer whose first chunk line never ends: "1;" and 100,000 bytes of chunk extension,
  // then silence with the connection open (a proxy must give up on it, not spin on a full buffer).
  '/chunk-ext-flood': (ctx) => {
    // Not awaited: corsd may close the connection long before it has read all of it.
    ctx.socket.write(Buffer.concat([head(200, [...textHeaders, ['Transfer-Encoding', 'chunked']]),
      Buffer.from('1;'), Buffer.alloc(100_000, 'e')]));
    return 'keep';
  },

  // Content-Length 35 and no body for HEAD (as HTTP says), then, 50 ms later, a complete extra
  // answer on the same connection: stray bytes on an idle keep-alive connection, which must never
  // be read as the answer to the next request sent on it. GET gets the 35 bytes.
  '/late-body': async (ctx) => {
    await write(ctx.socket, head(200, [...textHeaders, ['Content-Length', '35']]));
    if (ctx.record.method !== 'HEAD') {
      await write(ctx.socket, 'b'.repeat(35));
      return 'keep';
    }
    setTimeout(() => {
      if (!ctx.socket.destroyed) ctx.socket.write('HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nINJECTED\n');
    }, 50);
    return 'keep';
  },

  // A chunked answer cut by a reset: the head, one chunk "hello", then an RST (no last chunk).
  '/reset-mid-chunked': async (ctx) => {
    await write(ctx.socket, head(200, [...textHeaders, ['Transfer-Encoding', 'chunked']]));
    await write(ctx.socket, '5\r\nhello\r\n');
    await sleep(50); // let the head and the chunk reach corsd before the reset
    ctx.socket.resetAndDestroy();
    return 'closed';
  },
};

// Paths answered as soon as the request head arrived, before any byte of its body is read (the
// body stays unread in the socket). Same ctx and outcome as ROUTES.
const EARLY_ROUTES = {
  // 413 with Connection: close at once, without reading the upload, then the write side closed.
  '/early-413': async (ctx) => {
    const body = 'upstream: upload too large\n';
    await write(ctx.socket, head(413, [...textHeaders, ['Content-Length', String(body.length)], ['Connection', 'close']],
      'Payload Too Large'));
    await write(ctx.socket, body);
    ctx.socket.end();
    return 'closed';
  },
};

function routeFor(pathname) {
  if (ROUTES[pathname]) return ROUTES[pathname];
  if (pathname.startsWith('/status/')) return ROUTES['/status/'];
  return ROUTES['/echo'];
}

/**
 * What to do with each body piece as it arrives. /upload?stallAfter=B&stallMs=M stops reading for
 * M ms once B bytes arrived, so that the sender (through corsd) must stall: back-pressure.
 */
function bodyHook(url, record) {
  if (url.pathname !== '/upload' || !url.searchParams.has('stallMs')) return null;
  const after = intParam(url, 'stallAfter', 0);
  const ms = intParam(url, 'stallMs', 1000);
  return async () => {
    if (record.stallStartedAt === undefined && record.bodyLength >= after) {
      record.stallStartedAt = Date.now();
      await sleep(ms);
      record.stallEndedAt = Date.now();
    }
  };
}

/** Parses a request head into a record (see the header comment). */
function parseRequest(headBuf, connection, index) {
  const { raw, startLine, headers } = parseHead(headBuf);
  const m = /^(\S+) (\S+) HTTP\/(\d\.\d)$/.exec(startLine);
  if (!m) throw new Error(`bad request line ${JSON.stringify(startLine)}`);
  const te = tokens(headers, 'transfer-encoding');
  const cl = values(headers, 'content-length');
  return {
    connection, index, method: m[1], target: m[2], version: m[3], headers, rawHead: raw,
    framing: te.length ? 'chunked' : cl.length ? 'content-length' : 'none',
    contentLength: cl.length ? Number(cl[0]) : undefined,
    bodyLength: 0, bodySha256: null, complete: false,
  };
}

/** Reads the record's body (hashing it, bytes counted live); false if the connection ended early. */
async function readBody(reader, record, hook) {
  const hash = createHash('sha256');
  const onChunk = async (piece) => {
    hash.update(piece);
    record.bodyLength += piece.length;
    if (hook) await hook();
  };
  let complete = true;
  if (record.framing === 'chunked') {
    const r = await reader.readChunked(onChunk);
    complete = r.complete;
    record.trailers = r.trailers;
  } else if (record.framing === 'content-length') {
    complete = (await reader.readExactly(record.contentLength, onChunk)) === record.contentLength;
  }
  record.bodySha256 = hash.digest('hex');
  record.complete = complete;
  return complete;
}

/** Whether the connection may carry another request after this one (HTTP/1.1 default: yes). */
function wantsKeepAlive(record) {
  const conn = tokens(record.headers, 'connection');
  return record.version === '1.1' ? !conn.includes('close') : conn.includes('keep-alive');
}

/** Serves one connection: requests in order (pipelined ones wait in the reader), until close. */
async function serveConnection(socket, connection, state) {
  const reader = new ByteReader(socket, { timeoutMs: 0 });
  socket.setNoDelay(true);
  let idleTimer = null;
  try {
    for (let index = 0; ; index++) {
      const headBuf = await reader.readHead();
      clearTimeout(idleTimer);
      if (!headBuf) break;
      const record = parseRequest(headBuf, connection, index);
      state.requests.push(record);
      if (state.options.dropReusedConnections && index > 0) {
        record.dropped = true;
        socket.destroy();
        break;
      }
      if (state.options.partialAnswerOnReuse && index > 0) {
        record.dropped = true;
        await write(socket, 'HTTP/1.1 200 OK\r\nContent-Le');
        await sleep(50); // the bytes reach corsd before the close does
        socket.destroy();
        break;
      }
      const url = new URL(record.target, 'http://upstream.invalid');
      if (EARLY_ROUTES[url.pathname]) {
        await EARLY_ROUTES[url.pathname]({ socket, record, url, keepAlive: false });
        record.answered = true;
        break;
      }
      if (!(await readBody(reader, record, bodyHook(url, record)))) break;
      const ctx = { socket, record, url, keepAlive: wantsKeepAlive(record) };
      const outcome = await routeFor(url.pathname)(ctx);
      record.answered = true;
      if (outcome !== 'keep' || !ctx.keepAlive) {
        if (!socket.destroyed) socket.end();
        break;
      }
      const idleMs = state.options.closeIdleAfterMs;
      if (idleMs !== undefined && idleMs !== null) {
        // Silently, as an upstream whose keep-alive timeout ran out: a FIN and nothing else.
        idleTimer = setTimeout(() => { if (reader.buffered === 0) socket.destroy(); }, idleMs);
      }
    }
  } catch (err) {
    state.errors.push(err);
    socket.destroy();
  } finally {
    clearTimeout(idleTimer);
  }
}

/** Starts an upstream on 127.0.0.1 (port 0: a free one). See the header comment. */
export async function startUpstream(options = {}) {
  const state = { options, requests: [], errors: [], connections: 0, sockets: new Set(), closed: new Set() };
  const server = net.createServer((socket) => {
    state.connections++;
    state.sockets.add(socket);
    const connection = state.connections;
    socket.on('close', () => { state.sockets.delete(socket); state.closed.add(connection); });
    socket.on('error', () => {}); // corsd may reset a connection; the reader sees the end
    serveConnection(socket, state.connections, state);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 0 }, resolve);
  });
  const { port, address, family } = server.address();
  return {
    port,
    url: family === 'IPv6' ? `http://[${address}]:${port}` : `http://${address}:${port}`,
    requests: state.requests,
    errors: state.errors,
    get connections() { return state.connections; },
    get openConnections() { return state.sockets.size; },
    /** Whether connection number n (a record's `connection`) has closed. */
    isClosed: (n) => state.closed.has(n),
    /** Forgets the requests recorded so far (connection numbers keep counting). */
    reset() { state.requests.length = 0; state.errors.length = 0; },
    close() {
      for (const s of state.sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

// As a program: serve until a signal.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const opt = (name) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const up = await startUpstream({
    host: opt('--host'),
    port: Number(opt('--port') ?? 0),
    partialAnswerOnReuse: args.includes('--partial-answer-on-reuse'),
    closeIdleAfterMs: opt('--close-idle-after-ms') === undefined ? undefined : Number(opt('--close-idle-after-ms')),
    dropReusedConnections: args.includes('--drop-reused-connections'),
  });
  console.log(`upstream ready: ${up.url}`);
  const stop = async () => { await up.close(); process.exit(0); };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
