// Shared helpers of the proxy tests (proxy.test.mjs, stream.test.mjs) and of upstream.mjs.
//
// Not a test file: `node --test` only runs files named like *.test.mjs.
//
//   ByteReader               pull-based reader over a net.Socket (pauses the socket between reads,
//                            so an unread socket exerts real TCP back-pressure)
//   parseHead(buf)           start line + [name, value] pairs, exactly as received
//   readResponse(reader)     one HTTP/1.1 response (1xx, HEAD/204/304, CL, chunked, until close)
//   connect(port)            raw client connection: send(bytes), response(), waitClosed()
//   withConnection(port, fn) fn(client) on a new connection, closed after
//   request(...)             builds the bytes of one request
//   startCorsd, runCorsd     from ../support/corsd.mjs (start corsd, or run it to its exit)
//   procStatusKb(pid, field) VmHWM / VmRSS of a process, in KiB
//   patternSlice/patternSha256   the deterministic bytes of /download and of test uploads

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import net from 'node:net';

export { killCorsd, runCorsd, startCorsd } from '../support/corsd.mjs';

/** The origin the test policy allows (https: corsd refuses credentials for a plain http origin). */
export const ORIGIN = 'https://app.test';
/** How long any single read of a test client may wait before the test fails instead of hanging. */
export const READ_TIMEOUT_MS = 10_000;

const EMPTY = Buffer.alloc(0);

export class TimeoutError extends Error {}

/**
 * Reads a socket on demand. The socket stays paused except while a caller waits for bytes, so
 * bytes nobody asks for stay in the kernel: a reader that stops asking is a peer that stops reading.
 * A read that finds nothing for timeoutMs (0 = forever) throws TimeoutError.
 */
export class ByteReader {
  #socket;
  #buf = EMPTY;
  #ended = false;
  #wake = null;
  error = null;

  constructor(socket, { timeoutMs = READ_TIMEOUT_MS } = {}) {
    this.#socket = socket;
    this.timeoutMs = timeoutMs;
    socket.pause();
    socket.on('data', (d) => {
      this.#buf = this.#buf.length ? Buffer.concat([this.#buf, d]) : d;
      socket.pause();
      this.#notify();
    });
    const end = () => { this.#ended = true; this.#notify(); };
    socket.on('end', end);
    socket.on('close', end);
    socket.on('error', (e) => { this.error ??= e; end(); });
  }

  /** Bytes received and not consumed yet. */
  get buffered() { return this.#buf.length; }
  /** Whether the peer ended and every byte was consumed. */
  get ended() { return this.#ended && this.#buf.length === 0; }

  #notify() {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  /** Waits for more bytes; false if the connection ended first. */
  async more() {
    if (this.#ended) return false;
    const before = this.#buf.length;
    this.#socket.resume();
    let timer;
    try {
      await new Promise((resolve, reject) => {
        this.#wake = resolve;
        if (this.timeoutMs > 0) {
          timer = setTimeout(() => {
            this.#wake = null;
            reject(new TimeoutError(`no bytes within ${this.timeoutMs} ms`));
          }, this.timeoutMs);
        }
      });
    } finally {
      clearTimeout(timer);
      if (!this.#socket.destroyed) this.#socket.pause();
    }
    return this.#buf.length > before;
  }

  /** Removes and returns the first n buffered bytes. */
  take(n) {
    const out = this.#buf.subarray(0, n);
    this.#buf = n >= this.#buf.length ? EMPTY : this.#buf.subarray(n);
    return out;
  }

  /** A head up to and including its blank line; null on a clean end before any byte. */
  async readHead(maxBytes = 1 << 20) {
    let from = 0;
    for (;;) {
      const at = this.#buf.indexOf('\r\n\r\n', Math.max(0, from - 3));
      if (at >= 0) return this.take(at + 4);
      if (this.#buf.length > maxBytes) throw new Error(`head over ${maxBytes} bytes`);
      from = this.#buf.length;
      if (!(await this.more())) {
        if (this.#buf.length === 0) return null;
        throw new Error(`connection ended inside a head: ${JSON.stringify(this.#buf.toString('latin1').slice(0, 200))}`);
      }
    }
  }

  /** One CRLF-terminated line (without CRLF); null if the connection ends first. */
  async readLine(maxBytes = 64 * 1024) {
    for (;;) {
      const at = this.#buf.indexOf('\r\n');
      if (at >= 0) {
        const line = this.take(at + 2).toString('latin1');
        return line.slice(0, -2);
      }
      if (this.#buf.length > maxBytes) throw new Error(`line over ${maxBytes} bytes`);
      if (!(await this.more())) return null;
    }
  }

  /** Passes up to n bytes to onChunk (awaited: a slow consumer slows the peer); returns the count read. */
  async readExactly(n, onChunk) {
    let left = n;
    while (left > 0) {
      if (this.#buf.length === 0 && !(await this.more())) break;
      const piece = this.take(Math.min(left, this.#buf.length));
      left -= piece.length;
      if (onChunk) await onChunk(piece);
    }
    return n - left;
  }

  /** A chunked body: { length, complete, trailers }; complete is false if it ended before its last chunk. */
  async readChunked(onChunk) {
    let length = 0;
    for (;;) {
      const line = await this.readLine();
      if (line === null) return { length, complete: false, trailers: [] };
      const size = Number.parseInt(line.split(';')[0].trim(), 16);
      if (!Number.isFinite(size) || size < 0 || !/^[0-9a-fA-F]+$/.test(line.split(';')[0].trim())) {
        throw new Error(`bad chunk size line ${JSON.stringify(line)}`);
      }
      if (size === 0) {
        const trailers = [];
        for (;;) {
          const t = await this.readLine();
          if (t === null) return { length, complete: false, trailers };
          if (t === '') return { length, complete: true, trailers };
          trailers.push(t);
        }
      }
      const got = await this.readExactly(size, onChunk);
      length += got;
      if (got < size) return { length, complete: false, trailers: [] };
      const crlf = await this.readLine();
      if (crlf === null) return { length, complete: false, trailers: [] };
      if (crlf !== '') throw new Error(`chunk not followed by CRLF: ${JSON.stringify(crlf)}`);
    }
  }

  /** Everything until the peer closes; returns the count. */
  async readToEnd(onChunk) {
    let length = 0;
    for (;;) {
      if (this.#buf.length === 0 && !(await this.more())) return length;
      const piece = this.take(this.#buf.length);
      length += piece.length;
      if (onChunk) await onChunk(piece);
    }
  }
}

/** Splits a head (Buffer ending in CRLFCRLF) into its start line and [name, value] pairs as received. */
export function parseHead(buf) {
  const raw = buf.toString('latin1');
  const lines = raw.slice(0, -4).split('\r\n');
  const headers = lines.slice(1).map((line) => {
    const colon = line.indexOf(':');
    return colon < 0 ? [line, ''] : [line.slice(0, colon), line.slice(colon + 1).trim()];
  });
  return { raw, startLine: lines[0], headers };
}

/** Every value of the field `name` (case-insensitive), in order. */
export const values = (headers, name) =>
  headers.filter(([n]) => n.toLowerCase() === name.toLowerCase()).map(([, v]) => v);

/** The comma-separated tokens of every `name` field, lowercased. */
export const tokens = (headers, name) =>
  values(headers, name).flatMap((v) => v.split(',')).map((t) => t.trim().toLowerCase()).filter(Boolean);

/** The names of all fields, lowercased. */
export const names = (headers) => headers.map(([n]) => n.toLowerCase());

/**
 * Reads one response. method is the request's (HEAD answers have no body). The body is collected
 * in `body` unless onBody is given (then each piece goes to onBody and `body` stays empty).
 * Returns null when the connection ended before any byte of a response, else
 *   { version, status, reason, head, headers, body, bodyLength, framing, complete }
 * framing: 'none' (1xx, HEAD, 204, 304), 'content-length', 'chunked' or 'close'; complete is false
 * when the connection ended before the body did.
 */
export async function readResponse(reader, { method = 'GET', onBody, maxHeadBytes = 1 << 20 } = {}) {
  const headBuf = await reader.readHead(maxHeadBytes);
  if (!headBuf) return null;
  const { raw, startLine, headers } = parseHead(headBuf);
  const m = /^HTTP\/(\d\.\d) (\d{3})(?: (.*))?$/.exec(startLine);
  if (!m) throw new Error(`bad status line ${JSON.stringify(startLine)}`);
  const res = {
    version: m[1], status: Number(m[2]), reason: m[3] ?? '', head: raw, headers,
    body: EMPTY, bodyLength: 0, framing: 'none', complete: true,
  };
  const pieces = [];
  const sink = onBody ?? ((p) => { pieces.push(Buffer.from(p)); });
  const te = tokens(headers, 'transfer-encoding');
  const cl = values(headers, 'content-length');
  if (res.status < 200 || method === 'HEAD' || res.status === 204 || res.status === 304) {
    res.framing = 'none';
  } else if (te.length) {
    res.framing = 'chunked';
    const r = await reader.readChunked(sink);
    res.bodyLength = r.length;
    res.complete = r.complete;
    res.trailers = r.trailers;
  } else if (cl.length) {
    res.framing = 'content-length';
    const n = Number(cl[0]);
    res.bodyLength = await reader.readExactly(n, sink);
    res.complete = res.bodyLength === n;
  } else {
    res.framing = 'close';
    res.bodyLength = await reader.readToEnd(sink);
  }
  if (!onBody) res.body = Buffer.concat(pieces);
  res.text = () => res.body.toString('utf8');
  res.values = (name) => values(headers, name);
  res.tokens = (name) => tokens(headers, name);
  return res;
}

/**
 * The bytes of one request. headers: [name, value] pairs sent as given; `Host: api.test` is added
 * first unless a Host is given or host is false, and Content-Length for a body unless a
 * Content-Length or Transfer-Encoding is given.
 */
export function request(method, target, headers = [], body = undefined, { version = '1.1', host = true } = {}) {
  const all = [...headers];
  const has = (n) => all.some(([k]) => k.toLowerCase() === n);
  if (host && !has('host')) all.unshift(['Host', 'api.test']);
  const bodyBuf = body === undefined ? EMPTY : Buffer.from(body);
  if (body !== undefined && !has('content-length') && !has('transfer-encoding')) {
    all.push(['Content-Length', String(bodyBuf.length)]);
  }
  const head = `${method} ${target} HTTP/${version}\r\n${all.map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), bodyBuf]);
}

/** A chunked body of the given pieces (strings or Buffers), with its last chunk. */
export function chunked(...pieces) {
  const parts = [];
  for (const p of pieces) {
    const b = Buffer.from(p);
    if (b.length) parts.push(Buffer.from(`${b.length.toString(16)}\r\n`), b, Buffer.from('\r\n'));
  }
  parts.push(Buffer.from('0\r\n\r\n'));
  return Buffer.concat(parts);
}

/** Resolves once the socket may take more (its buffer drained) or has closed. */
export function drained(socket) {
  return new Promise((resolve) => {
    if (socket.destroyed) { resolve(); return; }
    const done = () => { socket.off('drain', done); socket.off('close', done); resolve(); };
    socket.on('drain', done);
    socket.on('close', done);
  });
}

/** Writes data and waits for the socket's buffer to drain when write() asks for it. */
export async function write(socket, data) {
  if (socket.destroyed) throw new Error('socket closed');
  if (!socket.write(data)) await drained(socket);
  if (socket.destroyed) throw new Error('socket closed');
}

/**
 * A raw client connection to 127.0.0.1:port. Returns
 *   { socket, reader, send(bytes), response(opts), exchange(bytes, opts), waitClosed(ms), close() }
 * response() reads one response (see readResponse); waitClosed(ms) discards bytes until the peer
 * closes and resolves to true, or to false if it is still open after ms.
 */
export async function connect(port, { host = '127.0.0.1', timeoutMs = READ_TIMEOUT_MS } = {}) {
  const socket = net.connect({ port, host });
  socket.setNoDelay(true);
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => { socket.destroy(); reject(new TimeoutError(`connect to ${host}:${port} timed out`)); }, timeoutMs);
    socket.once('connect', () => { clearTimeout(timer); resolve(); });
    socket.once('error', (e) => { clearTimeout(timer); reject(e); });
  });
  const reader = new ByteReader(socket, { timeoutMs });
  const client = {
    socket,
    reader,
    send: (data) => write(socket, data),
    response: (opts) => readResponse(reader, opts),
    async exchange(data, opts) {
      await client.send(data);
      return client.response(opts);
    },
    async waitClosed(ms) {
      const saved = reader.timeoutMs;
      reader.timeoutMs = ms;
      try {
        await reader.readToEnd();
        return true;
      } catch (e) {
        if (e instanceof TimeoutError) return false;
        throw e;
      } finally {
        reader.timeoutMs = saved;
      }
    },
    close: () => socket.destroy(),
  };
  return client;
}

/** Runs fn(client) on a new connection to port (connect's options in opts), then closes it. */
export async function withConnection(port, fn, opts) {
  const c = await connect(port, opts);
  try {
    return await fn(c);
  } finally {
    c.close();
  }
}

/** One request on its own connection: connect, send, read the response, close. */
export const exchange = (port, data, opts) => withConnection(port, (c) => c.exchange(data, opts));

/** A field of /proc/PID/status in KiB (VmHWM: peak resident set, VmRSS: current). */
export function procStatusKb(pid, field) {
  const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
  if (!m) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(m[1]);
}

// The deterministic bytes of /download and of the tests' uploads: byte i is BASE[i % PERIOD].
// The period is prime, so it never lines up with chunk or buffer sizes, and a lost, repeated or
// reordered piece changes the sha256.
export const PATTERN_PERIOD = 65521;
const PATTERN = (() => {
  const b = Buffer.alloc(2 * PATTERN_PERIOD);
  for (let i = 0; i < PATTERN_PERIOD; i++) b[i] = (i * 31 + (i >> 8) + 7) & 0xff;
  b.copy(b, PATTERN_PERIOD, 0, PATTERN_PERIOD);
  return b;
})();

/** len (<= PATTERN_PERIOD) pattern bytes starting at offset, without copying. */
export function patternSlice(offset, len) {
  const start = offset % PATTERN_PERIOD;
  return PATTERN.subarray(start, start + Math.min(len, PATTERN_PERIOD));
}

const patternHashes = new Map();
/** sha256 (hex) of the first n pattern bytes. */
export function patternSha256(n) {
  if (!patternHashes.has(n)) {
    const h = createHash('sha256');
    for (let off = 0; off < n;) {
      const piece = patternSlice(off, Math.min(PATTERN_PERIOD, n - off));
      h.update(piece);
      off += piece.length;
    }
    patternHashes.set(n, h.digest('hex'));
  }
  return patternHashes.get(n);
}

/** The promise, or a TimeoutError naming `what` if it has not settled within ms. */
export function within(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => { timer = setTimeout(() => reject(new TimeoutError(`${what}: not within ${ms} ms`)), ms); }),
  ]).finally(() => clearTimeout(timer));
}
