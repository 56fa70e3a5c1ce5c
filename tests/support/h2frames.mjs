// A small raw HTTP/2 client (RFC 9113) over node:tls, frames built by hand, for the tests that need to
// send what a real client would not (floods, resets, bombs, a zero window) or to see every frame the
// server sends (SETTINGS, GOAWAY and its code, RST_STREAM). Not a test file: `node --test` only runs
// *.test.mjs. Imports nothing but node: modules.
//
//   FRAME, FLAG, ERROR, SETTING, PREFACE     the protocol's numbers; errorName(code)
//   frame(type, flags, streamId, payload)    one frame's bytes; settingsFrame, pingFrame, goawayFrame,
//                                            rstStreamFrame, windowUpdateFrame, dataFrame, headersFrame,
//                                            continuationFrame build the usual ones
//   hpack.*                                  HPACK (RFC 7541) for requests: indexed(i), literal(name, value)
//                                            (without indexing, a static name when there is one),
//                                            incremental(name, value) (indexed into the dynamic table),
//                                            encode([[name, value]...]) (static-table matches, else
//                                            literals without indexing; never Huffman)
//   HpackDecoder                             decodes the server's header blocks (dynamic table, Huffman)
//   connectH2(port, options)                 a TLS connection with ALPN h2, the preface and SETTINGS sent:
//                                            resolves to an H2Connection (see below)
//
// An H2Connection reads every frame, acks the server's SETTINGS and PINGs (unless told not to), gives
// back window for the DATA it receives (autoWindow, unless false), and keeps per stream the response
// head, the body (or only its size and sha256), trailers, a RST_STREAM's code; GOAWAYs in goaways. Waits
// are bounded: waitFor(predicate, ms, what) rejects with a description of what was received.

import { createHash } from 'node:crypto';
import tls from 'node:tls';

export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export const FRAME = {
  DATA: 0x0, HEADERS: 0x1, PRIORITY: 0x2, RST_STREAM: 0x3, SETTINGS: 0x4, PUSH_PROMISE: 0x5, PING: 0x6,
  GOAWAY: 0x7, WINDOW_UPDATE: 0x8, CONTINUATION: 0x9,
};
const FRAME_NAMES = Object.fromEntries(Object.entries(FRAME).map(([k, v]) => [v, k]));
export const frameName = (type) => FRAME_NAMES[type] ?? `0x${type.toString(16)}`;

export const FLAG = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4, PADDED: 0x8, PRIORITY: 0x20 };

export const ERROR = {
  NO_ERROR: 0x0, PROTOCOL_ERROR: 0x1, INTERNAL_ERROR: 0x2, FLOW_CONTROL_ERROR: 0x3, SETTINGS_TIMEOUT: 0x4,
  STREAM_CLOSED: 0x5, FRAME_SIZE_ERROR: 0x6, REFUSED_STREAM: 0x7, CANCEL: 0x8, COMPRESSION_ERROR: 0x9,
  CONNECT_ERROR: 0xa, ENHANCE_YOUR_CALM: 0xb, INADEQUATE_SECURITY: 0xc, HTTP_1_1_REQUIRED: 0xd,
};
const ERROR_NAMES = Object.fromEntries(Object.entries(ERROR).map(([k, v]) => [v, k]));
/** "ENHANCE_YOUR_CALM (0xb)" */
export const errorName = (code) => `${ERROR_NAMES[code] ?? 'unknown'} (0x${Number(code).toString(16)})`;

export const SETTING = {
  HEADER_TABLE_SIZE: 0x1, ENABLE_PUSH: 0x2, MAX_CONCURRENT_STREAMS: 0x3, INITIAL_WINDOW_SIZE: 0x4,
  MAX_FRAME_SIZE: 0x5, MAX_HEADER_LIST_SIZE: 0x6,
};
const SETTING_NAMES = Object.fromEntries(Object.entries(SETTING).map(([k, v]) => [v, k]));

/** The bytes of one frame: the 9-byte header, then payload. */
export function frame(type, flags, streamId, payload = Buffer.alloc(0)) {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(streamId & 0x7fffffff, 5);
  return Buffer.concat([h, payload]);
}

/** SETTINGS with entries { NAME or id: value }, or its ACK (ack: true, no entries). */
export function settingsFrame(entries = {}, { ack = false } = {}) {
  const list = Object.entries(entries);
  const p = Buffer.alloc(6 * list.length);
  list.forEach(([k, v], i) => {
    p.writeUInt16BE(SETTING[k] ?? Number(k), 6 * i);
    p.writeUInt32BE(v, 6 * i + 2);
  });
  return frame(FRAME.SETTINGS, ack ? FLAG.ACK : 0, 0, p);
}
export const pingFrame = (data = Buffer.alloc(8), { ack = false } = {}) => frame(FRAME.PING, ack ? FLAG.ACK : 0, 0, data);
export function goawayFrame(lastStreamId, code, debug = '') {
  const p = Buffer.alloc(8 + Buffer.byteLength(debug));
  p.writeUInt32BE(lastStreamId, 0);
  p.writeUInt32BE(code, 4);
  p.write(debug, 8);
  return frame(FRAME.GOAWAY, 0, 0, p);
}
export function rstStreamFrame(streamId, code) {
  const p = Buffer.alloc(4);
  p.writeUInt32BE(code, 0);
  return frame(FRAME.RST_STREAM, 0, streamId, p);
}
export function windowUpdateFrame(streamId, increment) {
  const p = Buffer.alloc(4);
  p.writeUInt32BE(increment, 0);
  return frame(FRAME.WINDOW_UPDATE, 0, streamId, p);
}
export const dataFrame = (streamId, data, { endStream = false } = {}) =>
  frame(FRAME.DATA, endStream ? FLAG.END_STREAM : 0, streamId, Buffer.from(data));
export const headersFrame = (streamId, block, { endStream = false, endHeaders = true } = {}) =>
  frame(FRAME.HEADERS, (endStream ? FLAG.END_STREAM : 0) | (endHeaders ? FLAG.END_HEADERS : 0), streamId, block);
export const continuationFrame = (streamId, block, { endHeaders = false } = {}) =>
  frame(FRAME.CONTINUATION, endHeaders ? FLAG.END_HEADERS : 0, streamId, block);

// ---------------------------------------------------------------------------------------------------
// HPACK (RFC 7541)

const STATIC_TABLE = [
  null,
  [':authority', ''], [':method', 'GET'], [':method', 'POST'], [':path', '/'], [':path', '/index.html'],
  [':scheme', 'http'], [':scheme', 'https'], [':status', '200'], [':status', '204'], [':status', '206'],
  [':status', '304'], [':status', '400'], [':status', '404'], [':status', '500'], ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'], ['accept-language', ''], ['accept-ranges', ''], ['accept', ''],
  ['access-control-allow-origin', ''], ['age', ''], ['allow', ''], ['authorization', ''], ['cache-control', ''],
  ['content-disposition', ''], ['content-encoding', ''], ['content-language', ''], ['content-length', ''],
  ['content-location', ''], ['content-range', ''], ['content-type', ''], ['cookie', ''], ['date', ''],
  ['etag', ''], ['expect', ''], ['expires', ''], ['from', ''], ['host', ''], ['if-match', ''],
  ['if-modified-since', ''], ['if-none-match', ''], ['if-range', ''], ['if-unmodified-since', ''],
  ['last-modified', ''], ['link', ''], ['location', ''], ['max-forwards', ''], ['proxy-authenticate', ''],
  ['proxy-authorization', ''], ['range', ''], ['referer', ''], ['refresh', ''], ['retry-after', ''],
  ['server', ''], ['set-cookie', ''], ['strict-transport-security', ''], ['transfer-encoding', ''],
  ['user-agent', ''], ['vary', ''], ['via', ''], ['www-authenticate', ''],
];
const STATIC_NAME = new Map();
const STATIC_PAIR = new Map();
for (let i = STATIC_TABLE.length - 1; i >= 1; i--) {
  STATIC_NAME.set(STATIC_TABLE[i][0], i);
  STATIC_PAIR.set(`${STATIC_TABLE[i][0]}\0${STATIC_TABLE[i][1]}`, i);
}

/** An HPACK integer with an N-bit prefix; `first` holds the bits above the prefix (RFC 7541 §5.1). */
function encodeInt(value, prefixBits, first = 0) {
  const max = (1 << prefixBits) - 1;
  if (value < max) return Buffer.from([first | value]);
  const out = [first | max];
  let v = value - max;
  while (v >= 128) {
    out.push((v % 128) + 128);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return Buffer.from(out);
}
/** A string literal, never Huffman-coded. */
const encodeString = (s) => {
  const b = Buffer.from(s, 'latin1');
  return Buffer.concat([encodeInt(b.length, 7, 0x00), b]);
};

export const hpack = {
  /** Indexed header field (§6.1): a static (1..61) or dynamic (62..) table entry. */
  indexed: (index) => encodeInt(index, 7, 0x80),
  /** Literal header field without indexing (§6.2.2); the name by static index when there is one. */
  literal(name, value) {
    const i = STATIC_NAME.get(name);
    return i ? Buffer.concat([encodeInt(i, 4, 0x00), encodeString(value)])
      : Buffer.concat([Buffer.from([0x00]), encodeString(name), encodeString(value)]);
  },
  /** Literal header field with incremental indexing (§6.2.1), a new name: it enters the dynamic table. */
  incremental: (name, value) => Buffer.concat([Buffer.from([0x40]), encodeString(name), encodeString(value)]),
  /** A header list: exact static-table matches indexed, the rest literals without indexing. */
  encode(list) {
    return Buffer.concat(list.map(([name, value]) => {
      const exact = STATIC_PAIR.get(`${name}\0${value}`);
      return exact ? hpack.indexed(exact) : hpack.literal(name, String(value));
    }));
  },
};

// The Huffman code (RFC 7541 Appendix B): code and bit length of each symbol, 256 being EOS.
const HUFFMAN_CODES = [
  0x1ff8, 0x7fffd8, 0xfffffe2, 0xfffffe3, 0xfffffe4, 0xfffffe5, 0xfffffe6, 0xfffffe7, 0xfffffe8, 0xffffea,
  0x3ffffffc, 0xfffffe9, 0xfffffea, 0x3ffffffd, 0xfffffeb, 0xfffffec, 0xfffffed, 0xfffffee, 0xfffffef, 0xffffff0,
  0xffffff1, 0xffffff2, 0x3ffffffe, 0xffffff3, 0xffffff4, 0xffffff5, 0xffffff6, 0xffffff7, 0xffffff8, 0xffffff9,
  0xffffffa, 0xffffffb, 0x14, 0x3f8, 0x3f9, 0xffa, 0x1ff9, 0x15, 0xf8, 0x7fa, 0x3fa, 0x3fb, 0xf9, 0x7fb, 0xfa,
  0x16, 0x17, 0x18, 0x0, 0x1, 0x2, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x5c, 0xfb, 0x7ffc, 0x20, 0xffb,
  0x3fc, 0x1ffa, 0x21, 0x5d, 0x5e, 0x5f, 0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b,
  0x6c, 0x6d, 0x6e, 0x6f, 0x70, 0x71, 0x72, 0xfc, 0x73, 0xfd, 0x1ffb, 0x7fff0, 0x1ffc, 0x3ffc, 0x22, 0x7ffd,
  0x3, 0x23, 0x4, 0x24, 0x5, 0x25, 0x26, 0x27, 0x6, 0x74, 0x75, 0x28, 0x29, 0x2a, 0x7, 0x2b, 0x76, 0x2c, 0x8,
  0x9, 0x2d, 0x77, 0x78, 0x79, 0x7a, 0x7b, 0x7ffe, 0x7fc, 0x3ffd, 0x1ffd, 0xffffffc, 0xfffe6, 0x3fffd2, 0xfffe7,
  0xfffe8, 0x3fffd3, 0x3fffd4, 0x3fffd5, 0x7fffd9, 0x3fffd6, 0x7fffda, 0x7fffdb, 0x7fffdc, 0x7fffdd, 0x7fffde,
  0xffffeb, 0x7fffdf, 0xffffec, 0xffffed, 0x3fffd7, 0x7fffe0, 0xffffee, 0x7fffe1, 0x7fffe2, 0x7fffe3, 0x7fffe4,
  0x1fffdc, 0x3fffd8, 0x7fffe5, 0x3fffd9, 0x7fffe6, 0x7fffe7, 0xffffef, 0x3fffda, 0x1fffdd, 0xfffe9, 0x3fffdb,
  0x3fffdc, 0x7fffe8, 0x7fffe9, 0x1fffde, 0x7fffea, 0x3fffdd, 0x3fffde, 0xfffff0, 0x1fffdf, 0x3fffdf, 0x7fffeb,
  0x7fffec, 0x1fffe0, 0x1fffe1, 0x3fffe0, 0x1fffe2, 0x7fffed, 0x3fffe1, 0x7fffee, 0x7fffef, 0xfffea, 0x3fffe2,
  0x3fffe3, 0x3fffe4, 0x7ffff0, 0x3fffe5, 0x3fffe6, 0x7ffff1, 0x3ffffe0, 0x3ffffe1, 0xfffeb, 0x7fff1, 0x3fffe7,
  0x7ffff2, 0x3fffe8, 0x1ffffec, 0x3ffffe2, 0x3ffffe3, 0x3ffffe4, 0x7ffffde, 0x7ffffdf, 0x3ffffe5, 0xfffff1,
  0x1ffffed, 0x7fff2, 0x1fffe3, 0x3ffffe6, 0x7ffffe0, 0x7ffffe1, 0x3ffffe7, 0x7ffffe2, 0xfffff2, 0x1fffe4,
  0x1fffe5, 0x3ffffe8, 0x3ffffe9, 0xffffffd, 0x7ffffe3, 0x7ffffe4, 0x7ffffe5, 0xfffec, 0xfffff3, 0xfffed,
  0x1fffe6, 0x3fffe9, 0x1fffe7, 0x1fffe8, 0x7ffff3, 0x3fffea, 0x3fffeb, 0x1ffffee, 0x1ffffef, 0xfffff4, 0xfffff5,
  0x3ffffea, 0x7ffff4, 0x3ffffeb, 0x7ffffe6, 0x3ffffec, 0x3ffffed, 0x7ffffe7, 0x7ffffe8, 0x7ffffe9, 0x7ffffea,
  0x7ffffeb, 0xffffffe, 0x7ffffec, 0x7ffffed, 0x7ffffee, 0x7ffffef, 0x7fffff0, 0x3ffffee, 0x3fffffff,
];
const HUFFMAN_LENGTHS = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28,
  28, 28, 28, 28, 6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15,
  6, 12, 10, 13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
  15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, 6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28, 20, 22, 20,
  20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, 24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23,
  24, 22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, 21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22,
  22, 23, 22, 22, 23, 26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, 19, 21, 26, 27, 27, 26, 27,
  24, 21, 21, 26, 26, 28, 27, 27, 27, 20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, 26, 27, 26,
  26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26, 30,
];
if (HUFFMAN_CODES.length !== 257 || HUFFMAN_LENGTHS.length !== 257) throw new Error('the Huffman table is not whole');
// A binary tree of the codes: each node is [child0, child1], a leaf a symbol number.
const HUFFMAN_TREE = (() => {
  const root = [null, null];
  for (let sym = 0; sym < 257; sym++) {
    let node = root;
    for (let bit = HUFFMAN_LENGTHS[sym] - 1; bit >= 0; bit--) {
      const b = Math.floor(HUFFMAN_CODES[sym] / 2 ** bit) & 1;
      if (bit === 0) {
        node[b] = sym;
      } else {
        node[b] ??= [null, null];
        node = node[b];
      }
    }
  }
  return root;
})();

/** Decodes a Huffman-coded string (RFC 7541 §5.2): padding of at most 7 one bits, never EOS. */
export function huffmanDecode(buf) {
  const out = [];
  let node = HUFFMAN_TREE;
  let depth = 0;
  let ones = true; // every bit since the last symbol was 1 (what valid padding is)
  for (const byte of buf) {
    for (let bit = 7; bit >= 0; bit--) {
      const b = (byte >> bit) & 1;
      ones &&= b === 1;
      const next = node[b];
      depth++;
      if (next === null || next === undefined) throw new Error('invalid Huffman code');
      if (typeof next === 'number') {
        if (next === 256) throw new Error('EOS in a Huffman string');
        out.push(next);
        node = HUFFMAN_TREE;
        depth = 0;
        ones = true;
      } else {
        node = next;
      }
    }
  }
  if (depth > 7 || !ones) throw new Error('invalid Huffman padding');
  return Buffer.from(out);
}

/** Decodes the header blocks of one connection's direction, in order (its dynamic table persists). */
export class HpackDecoder {
  constructor(maxTableSize = 4096) {
    this.maxSize = maxTableSize;
    this.dynamic = []; // newest first
    this.size = 0;
  }

  #entry(index) {
    if (index >= 1 && index < STATIC_TABLE.length) return STATIC_TABLE[index];
    const e = this.dynamic[index - STATIC_TABLE.length];
    if (!e) throw new Error(`HPACK index ${index} is in neither table`);
    return e;
  }

  #evict() {
    while (this.size > this.maxSize) {
      const [n, v] = this.dynamic.pop();
      this.size -= n.length + v.length + 32;
    }
  }

  #add(name, value) {
    this.dynamic.unshift([name, value]);
    this.size += name.length + value.length + 32;
    this.#evict();
  }

  /** [[name, value]...] of one whole header block (strings as latin1). */
  decode(block) {
    let at = 0;
    const int = (prefixBits) => {
      const max = (1 << prefixBits) - 1;
      let v = block[at++] & max;
      if (v < max) return v;
      let m = 0;
      for (;;) {
        if (at >= block.length) throw new Error('truncated HPACK integer');
        const b = block[at++];
        v += (b & 0x7f) * 2 ** m;
        m += 7;
        if (!(b & 0x80)) return v;
      }
    };
    const str = () => {
      const huffman = (block[at] & 0x80) !== 0;
      const len = int(7);
      if (at + len > block.length) throw new Error('truncated HPACK string');
      const raw = block.subarray(at, at + len);
      at += len;
      return (huffman ? huffmanDecode(raw) : raw).toString('latin1');
    };
    const fields = [];
    while (at < block.length) {
      const b = block[at];
      if (b & 0x80) {
        fields.push([...this.#entry(int(7))]);
      } else if (b & 0x40) {
        const index = int(6);
        const name = index ? this.#entry(index)[0] : str();
        const value = str();
        this.#add(name, value);
        fields.push([name, value]);
      } else if (b & 0x20) {
        this.maxSize = int(5);
        this.#evict();
      } else {
        const index = int(4);
        const name = index ? this.#entry(index)[0] : str();
        fields.push([name, str()]);
      }
    }
    return fields;
  }
}

// ---------------------------------------------------------------------------------------------------
// The connection

/** The value of the first field `name` in [[name, value]...], or undefined. */
export const field = (fields, name) => fields?.find(([n]) => n === name)?.[1];

/**
 * Opens a TLS connection offering ALPN `alpn` (['h2']) and, unless preface is false, sends the client
 * preface and a SETTINGS frame with `settings` ({ INITIAL_WINDOW_SIZE: 0, ... }). Resolves once the TLS
 * handshake is done (rejects after timeoutMs). Options:
 *   ca, servername ('localhost'), host ('127.0.0.1'), alpn (['h2'])
 *   ackSettings (true)   ack every SETTINGS of the server
 *   ackPings (true)      answer every PING
 *   autoWindow (true)    give back window for every DATA received (stream and connection)
 *   keepBodies (true)    keep each stream's body bytes (else only their count and sha256)
 *   connectionWindow     a WINDOW_UPDATE on stream 0 sent after SETTINGS, to open the connection's window
 */
export function connectH2(port, options = {}) {
  const {
    ca, servername = 'localhost', host = '127.0.0.1', alpn = ['h2'], settings = {}, preface = true,
    timeoutMs = 5_000, connectionWindow = 0,
  } = options;
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host, port, ca, servername, ALPNProtocols: alpn });
    const conn = new H2Connection(socket, options);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no TLS handshake with ${host}:${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      conn.alpnProtocol = socket.alpnProtocol;
      if (preface) {
        socket.write(Buffer.concat([PREFACE, settingsFrame(settings),
          connectionWindow > 0 ? windowUpdateFrame(0, connectionWindow) : Buffer.alloc(0)]));
      }
      resolve(conn);
    });
    socket.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

export class H2Connection {
  constructor(socket, { ackSettings = true, ackPings = true, autoWindow = true, keepBodies = true } = {}) {
    this.socket = socket;
    this.ackSettings = ackSettings;
    this.ackPings = ackPings;
    this.autoWindow = autoWindow;
    this.keepBodies = keepBodies;
    this.decoder = new HpackDecoder();
    this.streams = new Map();
    this.nextStreamId = 1;
    this.serverSettings = {};
    this.settingsFrames = []; // the server's SETTINGS (not ACKs), each { NAME: value }
    this.settingsAcks = 0; // the server's SETTINGS ACKs
    this.pingAcks = 0;
    this.goaways = []; // { lastStreamId, code, debug }
    this.counts = {}; // frames received, by type name
    this.log = []; // the first frames received (not DATA), for diagnostics
    this.bytesReceived = 0;
    this.closed = false;
    this.error = null;
    this.protocolError = null; // what this client could not parse
    this.buf = Buffer.alloc(0);
    this.headerBlock = null; // { streamId, parts, flags } while CONTINUATIONs are awaited
    this.waiters = new Set();
    socket.on('data', (d) => this.#onData(d));
    socket.on('error', (e) => { this.error ??= e; this.#notify(); });
    socket.on('close', () => { this.closed = true; this.#notify(); });
  }

  #notify() {
    for (const w of [...this.waiters]) w();
  }

  /** The record of stream id, made on first use. */
  stream(id) {
    let s = this.streams.get(id);
    if (!s) {
      s = { id, interim: [], headers: null, status: undefined, trailers: null, chunks: [], bodyBytes: 0,
        hash: createHash('sha256'), sha256: undefined, ended: false, reset: undefined, dataFrames: 0 };
      this.streams.set(id, s);
    }
    return s;
  }

  #onData(d) {
    this.bytesReceived += d.length;
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    try {
      while (this.buf.length >= 9) {
        const length = this.buf.readUIntBE(0, 3);
        if (this.buf.length < 9 + length) break;
        const type = this.buf[3];
        const flags = this.buf[4];
        const streamId = this.buf.readUInt32BE(5) & 0x7fffffff;
        const payload = this.buf.subarray(9, 9 + length);
        this.buf = this.buf.subarray(9 + length);
        this.#onFrame(type, flags, streamId, payload);
      }
    } catch (e) {
      this.protocolError ??= e;
    }
    this.#notify();
  }

  #onFrame(type, flags, streamId, payload) {
    const name = frameName(type);
    this.counts[name] = (this.counts[name] ?? 0) + 1;
    if (type !== FRAME.DATA && this.log.length < 200) this.log.push({ type: name, flags, streamId, length: payload.length });
    const unpad = (p) => {
      if (!(flags & FLAG.PADDED)) return p;
      return p.subarray(1, p.length - p[0]);
    };
    switch (type) {
      case FRAME.DATA: {
        const s = this.stream(streamId);
        const data = unpad(payload);
        s.dataFrames++;
        s.bodyBytes += data.length;
        s.hash.update(data);
        if (this.keepBodies) s.chunks.push(Buffer.from(data));
        s.onData?.(data);
        if (this.autoWindow && payload.length > 0) {
          this.write(Buffer.concat([windowUpdateFrame(0, payload.length),
            flags & FLAG.END_STREAM ? Buffer.alloc(0) : windowUpdateFrame(streamId, payload.length)]));
        }
        if (flags & FLAG.END_STREAM) this.#end(s);
        break;
      }
      case FRAME.HEADERS: {
        let p = unpad(payload);
        if (flags & FLAG.PRIORITY) p = p.subarray(5);
        this.headerBlock = { streamId, parts: [Buffer.from(p)], flags };
        if (flags & FLAG.END_HEADERS) this.#headerBlockDone();
        break;
      }
      case FRAME.CONTINUATION:
        if (!this.headerBlock || this.headerBlock.streamId !== streamId) throw new Error('unexpected CONTINUATION');
        this.headerBlock.parts.push(Buffer.from(payload));
        if (flags & FLAG.END_HEADERS) this.#headerBlockDone();
        break;
      case FRAME.RST_STREAM: {
        const s = this.stream(streamId);
        s.reset = payload.readUInt32BE(0);
        s.onReset?.(s.reset);
        break;
      }
      case FRAME.SETTINGS:
        if (flags & FLAG.ACK) {
          this.settingsAcks++;
        } else {
          const entries = {};
          for (let i = 0; i + 6 <= payload.length; i += 6) {
            const id = payload.readUInt16BE(i);
            entries[SETTING_NAMES[id] ?? id] = payload.readUInt32BE(i + 2);
          }
          this.settingsFrames.push(entries);
          Object.assign(this.serverSettings, entries);
          if (this.ackSettings) this.write(settingsFrame({}, { ack: true }));
        }
        break;
      case FRAME.PING:
        if (flags & FLAG.ACK) {
          this.pingAcks++;
        } else if (this.ackPings) {
          this.write(pingFrame(payload, { ack: true }));
        }
        break;
      case FRAME.GOAWAY:
        this.goaways.push({ lastStreamId: payload.readUInt32BE(0) & 0x7fffffff, code: payload.readUInt32BE(4),
          debug: payload.subarray(8).toString('latin1') });
        break;
      default:
        break;
    }
  }

  #headerBlockDone() {
    const { streamId, parts, flags } = this.headerBlock;
    this.headerBlock = null;
    const fields = this.decoder.decode(Buffer.concat(parts));
    const s = this.stream(streamId);
    const status = field(fields, ':status');
    if (s.headers === null && status !== undefined && Number(status) < 200) {
      s.interim.push(fields);
    } else if (s.headers === null) {
      s.headers = fields;
      s.status = Number(status);
      s.onHeaders?.(fields);
    } else {
      s.trailers = fields;
    }
    if (flags & FLAG.END_STREAM) this.#end(s);
  }

  #end(s) {
    s.ended = true;
    s.sha256 = s.hash.digest('hex');
  }

  /** Writes bytes unless the socket is gone; returns socket.write's answer (false: buffered). */
  write(bytes) {
    if (this.socket.destroyed || this.closed) return false;
    return this.socket.write(bytes);
  }

  /** Resolves once the socket's write buffer drained (or it closed), within ms. */
  drain(ms = 5_000) {
    if (this.socket.destroyed || !this.socket.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { cleanup(); reject(new Error(`the socket did not drain within ${ms} ms`)); }, ms);
      const done = () => { cleanup(); resolve(); };
      const cleanup = () => {
        clearTimeout(timer);
        this.socket.off('drain', done);
        this.socket.off('close', done);
      };
      this.socket.once('drain', done);
      this.socket.once('close', done);
    });
  }

  /**
   * The header block of a request: pseudo-fields first (scheme, path or authority null: left out, as
   * for CONNECT), then headers ([[name, value]...], lower case).
   */
  static requestBlock({ method = 'GET', path = '/', authority = 'localhost', scheme = 'https', headers = [] } = {}) {
    const pseudo = [[':method', method]];
    if (scheme !== null) pseudo.push([':scheme', scheme]);
    if (path !== null) pseudo.push([':path', path]);
    if (authority !== null) pseudo.push([':authority', authority]);
    return hpack.encode([...pseudo, ...headers]);
  }

  /**
   * Sends a request on the next stream id: HEADERS (END_STREAM when there is no body and endStream is not
   * false), then the body as DATA frames of at most 16 KiB (no flow control: keep it under the server's
   * window, 64 KiB) with END_STREAM unless endStream is false. Returns the stream id.
   */
  request({ body, endStream, ...head } = {}) {
    const id = this.nextStreamId;
    this.nextStreamId += 2;
    this.stream(id);
    const block = H2Connection.requestBlock(head);
    const noBody = body === undefined || body === null;
    const end = endStream ?? true;
    const frames = [headersFrame(id, block, { endStream: noBody && end })];
    if (!noBody) {
      const b = Buffer.from(body);
      for (let at = 0; at < b.length || at === 0; at += 16384) {
        const piece = b.subarray(at, Math.min(b.length, at + 16384));
        frames.push(dataFrame(id, piece, { endStream: end && at + 16384 >= b.length }));
        if (b.length === 0) break;
      }
    }
    this.write(Buffer.concat(frames));
    return id;
  }

  /** Waits (at most ms) until predicate() is truthy; rejects, describing what arrived, on timeout. */
  waitFor(predicate, ms, what = 'the condition') {
    return new Promise((resolve, reject) => {
      let timer;
      const check = () => {
        let v;
        try {
          v = predicate();
        } catch (e) {
          finish();
          reject(e);
          return;
        }
        if (v) {
          finish();
          resolve(v);
        }
      };
      const finish = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      timer = setTimeout(() => {
        finish();
        reject(new Error(`${what}: not within ${ms} ms; ${this.describe()}`));
      }, ms);
      this.waiters.add(check);
      check();
    });
  }

  /**
   * The response of stream id once it ended, was reset, or the connection closed (within ms):
   * { status, headers, body (Buffer, when kept), bodyBytes, sha256, trailers, reset, ended, interim }.
   */
  async response(id, ms = 5_000) {
    const s = this.stream(id);
    await this.waitFor(() => s.ended || s.reset !== undefined || this.closed, ms, `the response on stream ${id}`);
    return { ...s, body: Buffer.concat(s.chunks) };
  }

  /** Resolves once the connection closed, within ms (else rejects). */
  waitClosed(ms = 5_000) {
    return this.waitFor(() => this.closed, ms, 'the close of the connection');
  }

  /** Stops reading the socket (what the server sends stays in the kernel's buffers), or reads again. */
  pause() { this.socket.pause(); }
  resume() { this.socket.resume(); }

  close() { this.socket.destroy(); }

  /** What arrived so far, for assertion messages. */
  describe() {
    const streams = [...this.streams.values()].slice(0, 8).map((s) =>
      `#${s.id}: status ${s.status} ${s.bodyBytes} B${s.ended ? ' ended' : ''}${s.reset !== undefined ? ` reset ${errorName(s.reset)}` : ''}`);
    return `frames received ${JSON.stringify(this.counts)}, goaways ${JSON.stringify(this.goaways)}, ` +
      `closed ${this.closed}${this.error ? ` (${this.error.code ?? this.error.message})` : ''}` +
      `${this.protocolError ? `, unparsable: ${this.protocolError.message}` : ''}; streams ${streams.join('; ') || 'none'}`;
  }
}
