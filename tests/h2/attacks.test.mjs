// corsd's HTTP/2 under attack, and its stream limit: a raw frame client (../support/h2frames.mjs, node:tls
// with ALPN h2, frames built by hand) does what real clients never do, while a well-behaved client
// (node:http2) checks that corsd keeps serving:
//   - --max-concurrent-streams N announced in SETTINGS (raw client and nghttp -v), honoured by h2load,
//     and a stream beyond it refused (REFUSED_STREAM before the client acked the SETTINGS; after, what
//     corsd does is reported);
//   - rapid reset (CVE-2023-44487: HEADERS then RST_STREAM, thousands of times): GOAWAY(ENHANCE_YOUR_CALM),
//     the close, a second client served meanwhile;
//   - an empty-DATA flood: GOAWAY(ENHANCE_YOUR_CALM);
//   - both limits are settings: a burst within the default passes, past --h2-flood-burst it does not;
//   - a CONTINUATION flood (CVE-2024-27316 / CVE-2024-28182): a GOAWAY and the close, memory bounded;
//   - SETTINGS and PING floods from a client that does not read (nghttp2 queues at most 100 acks): the
//     connection ends, memory bounded;
//   - a zero-window stall (SETTINGS_INITIAL_WINDOW_SIZE 0, never a WINDOW_UPDATE): closed after
//     --send-timeout;
//   - an HPACK bomb (a small header block decoding past --max-header-bytes through the dynamic table):
//     431 on that stream, the connection usable;
//   - a GOAWAY for a connection error is followed by the close (RFC 9113 §5.4.1).
// What each client saw is reported with t.diagnostic(). Real corsd, loopback only, a test CA made here.
//
//   node --test tests/h2/attacks.test.mjs        (CORSD_BIN defaults to build/corsd)

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http2 from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

import { makeCa, makeLeaf } from '../support/certs.mjs';
import { killCorsd, runCorsd, startCorsd } from '../support/corsd.mjs';
import {
  connectH2, continuationFrame, dataFrame, ERROR, errorName, field, H2Connection, headersFrame, hpack, pingFrame,
  rstStreamFrame, settingsFrame,
} from '../support/h2frames.mjs';

const execFileP = promisify(execFile);

const T = { timeout: 30_000 };
const ORIGIN = 'https://app.test';
const PATH = '/some/url/resource/path';
/** Upper bound for anything that must come "soon": an answer from memory, a GOAWAY, a close. */
const BOUND_MS = 5_000;
/** corsd's peak RSS (VmHWM) must stay under this through every attack. */
// Under AddressSanitizer (scripts/test-sanitizers sets CORSD_SANITIZED=1) every allocation carries shadow
// memory and redzones: the bound is the normal pass's to check, the sanitized one checks the rest.
const RSS_LIMIT_KB = (process.env.CORSD_SANITIZED === '1' ? 8 : 1) * 64 * 1024;
const SEND_TIMEOUT_S = 1;
const MAX_STREAMS = 3;
const MAX_HEADER_BYTES = 8192;

let dir;
let ca;
let leaf;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'corsd-h2-attacks-'));
  ca = await makeCa(dir);
  leaf = await makeLeaf(dir, ca, { name: 'server' });
});
after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const tlsArgs = () => ['--tls-cert', leaf.cert, '--tls-key', leaf.key];

/** A raw h2 connection trusting the test CA, its SETTINGS exchanged (the server's acked, ours acked). */
async function rawConnect(port, options = {}) {
  const c = await connectH2(port, { ca: ca.pem, ...options });
  await c.waitFor(() => c.settingsFrames.length > 0 && (c.settingsAcks > 0 || options.ackSettings === false),
    BOUND_MS, 'the SETTINGS exchange');
  return c;
}

/** The block of a GET of the echo API: every stream of a flood can reuse it (no dynamic table). */
const GET_BLOCK = H2Connection.requestBlock({ method: 'GET', path: PATH, headers: [['origin', ORIGIN]] });
const PUT_BLOCK = H2Connection.requestBlock({ method: 'PUT', path: PATH, headers: [['origin', ORIGIN]] });

/** A field of /proc/PID/status in KiB. */
function procStatusKb(pid, name) {
  const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm'));
  assert.ok(m, `no ${name} in /proc/${pid}/status`);
  return Number(m[1]);
}

function assertRssBounded(corsd, what) {
  const hwm = procStatusKb(corsd.pid, 'VmHWM');
  assert.ok(hwm < RSS_LIMIT_KB, `${what}: corsd's peak RSS (VmHWM) is ${hwm} KiB, over ${RSS_LIMIT_KB} KiB`);
  return hwm;
}

/** corsd still answers a new, well-behaved client (node:http2). */
async function assertServes(corsd, what) {
  const session = http2.connect(`https://127.0.0.1:${corsd.port}`, { ca: ca.pem });
  session.on('error', () => {});
  try {
    const req = session.request({ ':path': PATH, origin: ORIGIN });
    const [head] = await Promise.race([once(req, 'response'),
      sleep(BOUND_MS, null, { ref: false }).then(() => { throw new Error(`${what}: no answer to a new client within ${BOUND_MS} ms`); })]);
    req.resume();
    assert.equal(head[':status'], 200, what);
  } finally {
    session.destroy();
  }
}

/**
 * A well-behaved client (node:http2, its own connection) that sends GETs one after the other, 4 at a
 * time, until stop(): { stop() -> { ok, failed, errors, times: [[start, end]...] } }.
 */
function wellBehaved(port) {
  const session = http2.connect(`https://127.0.0.1:${port}`, { ca: ca.pem });
  session.on('error', () => {});
  const result = { ok: 0, failed: 0, errors: [], times: [] };
  let running = true;
  const one = () => new Promise((resolve) => {
    const start = Date.now();
    const req = session.request({ ':path': `${PATH}?good`, origin: ORIGIN });
    let status;
    const timer = setTimeout(() => { req.close(); }, BOUND_MS);
    req.on('response', (h) => { status = h[':status']; });
    req.on('data', () => {});
    req.on('close', () => {
      clearTimeout(timer);
      if (status === 200) {
        result.ok++;
        result.times.push([start, Date.now()]);
      } else {
        result.failed++;
        result.errors.push(`status ${status}, rst ${req.rstCode}`);
      }
      resolve();
    });
    req.on('error', () => {});
  });
  const loops = Array.from({ length: 4 }, async () => { while (running) await one(); });
  return {
    ready: once(session, 'connect'),
    async stop() {
      running = false;
      await Promise.race([Promise.all(loops), sleep(BOUND_MS * 2, null, { ref: false })]);
      session.destroy();
      return result;
    },
  };
}

/** What a raw client saw, for t.diagnostic(). */
const seen = (c) => `GOAWAYs ${JSON.stringify(c.goaways.map((g) => ({ ...g, code: errorName(g.code) })))}, ` +
  `frames ${JSON.stringify(c.counts)}, closed ${c.closed}${c.error ? ` with ${c.error.code ?? c.error.message}` : ''}`;

/** Every GOAWAY's last stream id is at most the one before's (RFC 9113 §6.8: never increased). */
function assertGoawaysNeverIncrease(c) {
  for (let i = 1; i < c.goaways.length; i++) {
    assert.ok(c.goaways[i].lastStreamId <= c.goaways[i - 1].lastStreamId,
      `GOAWAY ${i + 1} raised the last stream id from ${c.goaways[i - 1].lastStreamId} to ${c.goaways[i].lastStreamId} ` +
      `(RFC 9113 §6.8: endpoints MUST NOT increase it): ${JSON.stringify(c.goaways)}`);
  }
}

describe(`--max-concurrent-streams ${MAX_STREAMS}`, () => {
  let corsd;
  before(async () => {
    corsd = await startCorsd([...tlsArgs(), '--listen', '127.0.0.1:0', '--no-demo', '--threads', '1',
      '--max-concurrent-streams', String(MAX_STREAMS), '--max-header-bytes', String(MAX_HEADER_BYTES)]);
  });
  after(async () => { await killCorsd(corsd); });

  test('is announced in the server\'s SETTINGS, with the window and the header list size', T, async () => {
    const c = await rawConnect(corsd.port);
    try {
      assert.deepEqual(c.settingsFrames[0], { MAX_CONCURRENT_STREAMS: MAX_STREAMS, INITIAL_WINDOW_SIZE: 65536, MAX_HEADER_LIST_SIZE: MAX_HEADER_BYTES });
    } finally {
      c.close();
    }
    const { stdout } = await execFileP('nghttp', ['-v', '-n', '-H', `origin: ${ORIGIN}`, `https://127.0.0.1:${corsd.port}${PATH}`],
      { timeout: 10_000, encoding: 'utf8' });
    assert.match(stdout, new RegExp(`recv SETTINGS frame[^]*\\[SETTINGS_MAX_CONCURRENT_STREAMS\\(0x03\\):${MAX_STREAMS}\\]`), stdout);
    assert.match(stdout, /:status: 200/);
  });

  // h2load sends its first streams before the server's SETTINGS have arrived: asked for more than the limit,
  // those past it may be refused (REFUSED_STREAM, as tested below) when the server is slow (under ASan).
  test('h2load within the limit gets every one of 60 requests answered', T, async () => {
    const { stdout } = await execFileP('h2load', ['-n', '60', '-c', '1', '-m', String(MAX_STREAMS), '-H', `origin: ${ORIGIN}`,
      `https://127.0.0.1:${corsd.port}${PATH}`], { timeout: 20_000, encoding: 'utf8' });
    assert.match(stdout, /Application protocol: h2/, stdout);
    assert.match(stdout, /requests: 60 total, 60 started, 60 done, 60 succeeded, 0 failed, 0 errored/, stdout);
    assert.match(stdout, /status codes: 60 2xx/, stdout);
  });

  test('before the client acked the SETTINGS, streams beyond it get RST_STREAM(REFUSED_STREAM), the others are served', T, async (t) => {
    const c = await rawConnect(corsd.port, { ackSettings: false });
    try {
      const open = Array.from({ length: MAX_STREAMS }, () => c.request({ method: 'PUT', path: PATH, headers: [['origin', ORIGIN]], body: 'part', endStream: false }));
      const extra = [0, 1].map(() => c.request({ method: 'PUT', path: PATH, headers: [['origin', ORIGIN]], body: 'part', endStream: false }));
      await c.waitFor(() => extra.every((id) => c.stream(id).reset !== undefined) || c.goaways.length, BOUND_MS, 'the extra streams refused');
      t.diagnostic(`extra streams: ${extra.map((id) => `#${id} ${errorName(c.stream(id).reset)}`).join(', ')}; ${seen(c)}`);
      for (const id of extra) assert.equal(c.stream(id).reset, ERROR.REFUSED_STREAM, `stream ${id}: ${c.describe()}`);
      assert.equal(c.goaways.length, 0);
      for (const id of open) c.write(dataFrame(id, ' end', { endStream: true }));
      for (const id of open) {
        const r = await c.response(id, BOUND_MS);
        assert.equal(r.status, 200, c.describe());
        assert.match(r.body.toString(), /\n\npart end$/);
      }
    } finally {
      c.close();
    }
  });

  test('after the client acked them, a stream beyond it is refused: REFUSED_STREAM or PROTOCOL_ERROR', T, async (t) => {
    const c = await rawConnect(corsd.port);
    try {
      await sleep(50); // our SETTINGS ACK is in
      for (let i = 0; i < MAX_STREAMS; i++) c.request({ method: 'PUT', path: PATH, headers: [['origin', ORIGIN]], body: 'part', endStream: false });
      const extra = c.request({ method: 'PUT', path: PATH, headers: [['origin', ORIGIN]], body: 'part', endStream: false });
      await c.waitFor(() => c.stream(extra).reset !== undefined || c.goaways.length || c.closed, BOUND_MS, `stream ${extra} refused`);
      const s = c.stream(extra);
      const how = s.reset !== undefined ? `RST_STREAM ${errorName(s.reset)} on stream ${extra}`
        : `GOAWAY ${c.goaways.map((g) => `${errorName(g.code)} last stream ${g.lastStreamId} "${g.debug}"`).join(', ')}`;
      t.diagnostic(`stream ${extra} beyond the limit: ${how}; ${seen(c)}`);
      assert.equal(s.headers, null, 'no answer on the extra stream');
      assert.ok(s.reset === ERROR.REFUSED_STREAM || s.reset === ERROR.PROTOCOL_ERROR ||
        c.goaways.some((g) => g.code === ERROR.PROTOCOL_ERROR && g.lastStreamId < extra), how);
    } finally {
      c.close();
    }
  });

  test('after a GOAWAY for a connection error, corsd closes the connection (RFC 9113 §5.4.1)', T, async (t) => {
    // The trigger: a stream beyond the limit once the SETTINGS are acked, if that is a connection error
    // (see above); else a frame on stream 0 that must be on a stream (a DATA frame), a PROTOCOL_ERROR.
    const c = await rawConnect(corsd.port);
    try {
      await sleep(50);
      for (let i = 0; i <= MAX_STREAMS; i++) c.request({ method: 'PUT', path: PATH, headers: [['origin', ORIGIN]], body: 'part', endStream: false });
      await c.waitFor(() => c.goaways.length || c.closed || c.stream(2 * MAX_STREAMS + 1).reset !== undefined, BOUND_MS, 'a refusal');
      if (!c.goaways.length && !c.closed) c.write(dataFrame(0, 'x'));
      await c.waitFor(() => c.goaways.length || c.closed, BOUND_MS, 'a GOAWAY');
      const t0 = Date.now();
      t.diagnostic(`GOAWAY: ${seen(c)}`);
      assert.notEqual(c.goaways[0]?.code, ERROR.NO_ERROR);
      const closed = await c.waitClosed(BOUND_MS).then(() => true, () => false);
      assert.ok(closed, `the connection is still open ${Date.now() - t0} ms after GOAWAY ${errorName(c.goaways[0]?.code)} ` +
        `("${c.goaways[0]?.debug}"), while the client sends nothing more`);
    } finally {
      c.close();
    }
  });
});

describe('floods and stalls', () => {
  let corsd;
  before(async () => {
    corsd = await startCorsd([...tlsArgs(), '--listen', '127.0.0.1:0', '--no-demo', '--threads', '1',
      '--send-timeout', String(SEND_TIMEOUT_S), '--max-header-bytes', String(MAX_HEADER_BYTES)]);
  });
  after(async () => { await killCorsd(corsd); });

  test('rapid reset: the attacker gets GOAWAY(ENHANCE_YOUR_CALM) and the close, a second client is served meanwhile', T, async (t) => {
    const good = wellBehaved(corsd.port);
    await good.ready;
    await sleep(100);
    const c = await rawConnect(corsd.port);
    let pairs = 0;
    let attackStart;
    let attackEnd;
    try {
      attackStart = Date.now();
      // Batches of 100 HEADERS+RST_STREAM pairs; after each, a PING, and its ACK (or a GOAWAY, or the close)
      // awaited, so that whatever corsd answers is read before more is sent.
      for (let id = 1; pairs < 20_000 && c.goaways.length === 0 && !c.closed;) {
        const frames = [];
        for (let i = 0; i < 100; i++, id += 2) frames.push(headersFrame(id, GET_BLOCK, { endStream: true }), rstStreamFrame(id, ERROR.CANCEL));
        pairs += 100;
        const acks = c.pingAcks;
        c.write(Buffer.concat([...frames, pingFrame(Buffer.from('rr-check'))]));
        await c.waitFor(() => c.pingAcks > acks || c.goaways.length || c.closed, BOUND_MS, `the PING after ${pairs} pairs`);
      }
      attackEnd = Date.now();
      await c.waitFor(() => c.goaways.some((g) => g.code === ERROR.ENHANCE_YOUR_CALM) || c.closed, BOUND_MS, 'GOAWAY(ENHANCE_YOUR_CALM)');
      const closed = await c.waitClosed(BOUND_MS).then(() => true, () => false);
      t.diagnostic(`after ${pairs} HEADERS+RST_STREAM pairs in ${attackEnd - attackStart} ms: ${seen(c)}`);
      assert.ok(c.goaways.some((g) => g.code === ERROR.ENHANCE_YOUR_CALM), `a GOAWAY(ENHANCE_YOUR_CALM): ${seen(c)}`);
      assert.ok(closed, `the attacker's connection is closed after its GOAWAY: ${seen(c)}`);
      assert.ok(pairs <= 5_000, `corsd took ${pairs} resets before its GOAWAY`);
    } finally {
      c.close();
    }
    const result = await good.stop();
    t.diagnostic(`the well-behaved client: ${result.ok} answered, ${result.failed} failed`);
    assert.equal(result.failed, 0, `the well-behaved client's failures: ${result.errors.slice(0, 5).join('; ')}`);
    const during = result.times.filter(([s, e]) => s <= attackEnd && e >= attackStart).length;
    assert.ok(during >= 1, `the well-behaved client got ${during} answers while the attack ran (${result.ok} in all)`);
    await assertServes(corsd, 'after the rapid reset');
    assertRssBounded(corsd, 'rapid reset');
    assertGoawaysNeverIncrease(c);
  });

  test('an empty-DATA flood (length 0, no END_STREAM) gets GOAWAY(ENHANCE_YOUR_CALM) and the close', T, async (t) => {
    const c = await rawConnect(corsd.port);
    let frames = 0;
    try {
      c.write(headersFrame(1, PUT_BLOCK, { endStream: false }));
      const batch = Buffer.concat(Array.from({ length: 100 }, () => dataFrame(1, Buffer.alloc(0))));
      while (frames < 50_000 && c.goaways.length === 0 && !c.closed) {
        const acks = c.pingAcks;
        c.write(Buffer.concat([batch, pingFrame(Buffer.from('df-check'))]));
        frames += 100;
        await c.waitFor(() => c.pingAcks > acks || c.goaways.length || c.closed, BOUND_MS, `the PING after ${frames} empty DATA frames`);
      }
      const closed = await c.waitClosed(BOUND_MS).then(() => true, () => false);
      t.diagnostic(`after ${frames} empty DATA frames: ${seen(c)}`);
      assert.ok(c.goaways.some((g) => g.code === ERROR.ENHANCE_YOUR_CALM), `a GOAWAY(ENHANCE_YOUR_CALM): ${seen(c)}`);
      assert.ok(closed, 'the connection is closed after the GOAWAY');
      assert.ok(frames <= 5_000, `corsd took ${frames} empty DATA frames before its GOAWAY`);
      assertGoawaysNeverIncrease(c);
    } finally {
      c.close();
    }
    await assertServes(corsd, 'after the empty-DATA flood');
    assertRssBounded(corsd, 'empty-DATA flood');
  });

  test('a CONTINUATION flood gets a GOAWAY and the close, memory bounded', T, async (t) => {
    const c = await rawConnect(corsd.port);
    const rssBefore = procStatusKb(corsd.pid, 'VmRSS');
    let frames = 0;
    try {
      // HEADERS without END_HEADERS, then CONTINUATIONs without END_HEADERS, each of valid HPACK: 100
      // literal fields of 100 bytes (10 KiB a frame), without end.
      c.write(headersFrame(1, GET_BLOCK, { endStream: true, endHeaders: false }));
      let n = 0;
      const next = () => Buffer.concat(Array.from({ length: 100 }, () => hpack.literal(`x-flood-${n++}`, 'v'.repeat(88))));
      while (frames < 20_000 && c.goaways.length === 0 && !c.closed) {
        // Nothing else may come between them (RFC 9113 §6.10), so no PING: a pause between batches.
        c.write(Buffer.concat(Array.from({ length: 10 }, () => continuationFrame(1, next()))));
        frames += 10;
        await c.drain(BOUND_MS);
        await sleep(2);
      }
      const closed = await c.waitClosed(BOUND_MS).then(() => true, () => false);
      const rssAfter = procStatusKb(corsd.pid, 'VmRSS');
      t.diagnostic(`after ${frames} CONTINUATION frames (${((frames * 10) / 1024).toFixed(2)} MiB of fields): ${seen(c)}; RSS ${rssBefore} -> ${rssAfter} KiB`);
      assert.ok(c.goaways.length > 0, `a GOAWAY: ${seen(c)}`);
      assert.notEqual(c.goaways[0].code, ERROR.NO_ERROR);
      assert.ok(closed, 'the connection is closed after the GOAWAY');
      const growthKb = (process.env.CORSD_SANITIZED === '1' ? 8 : 1) * 16 * 1024;
      assert.ok(rssAfter - rssBefore < growthKb, `RSS grew from ${rssBefore} to ${rssAfter} KiB`);
    } finally {
      c.close();
    }
    await assertServes(corsd, 'after the CONTINUATION flood');
    assertRssBounded(corsd, 'CONTINUATION flood');
  });

  for (const kind of ['SETTINGS', 'PING']) {
    test(`a ${kind} flood from a client that does not read its socket: the connection ends, memory bounded`, T, async (t) => {
      const c = await rawConnect(corsd.port);
      let frames = 0;
      const t0 = Date.now();
      let ended;
      try {
        c.pause(); // from now on the client reads nothing: acks pile up in corsd (or the kernel)
        const one = kind === 'SETTINGS' ? settingsFrame({ INITIAL_WINDOW_SIZE: 65535 }) : pingFrame(Buffer.from('12345678'));
        const batch = Buffer.concat(Array.from({ length: 1000 }, () => one));
        while (frames < 2_000_000 && !c.socket.destroyed && Date.now() - t0 < 10_000) {
          if (!c.write(batch)) await c.drain(2_000).catch(() => {});
          frames += 1000;
          await sleep(0);
        }
        ended = c.socket.destroyed ? 'the socket was reset or closed while the client was still sending' : 'not within 10 s of flooding';
        const wroteFor = Date.now() - t0;
        c.resume(); // read what was left in the kernel for us
        const closed = await c.waitClosed(BOUND_MS).then(() => true, () => false);
        t.diagnostic(`${kind} flood, not reading: ${frames} frames written in ${wroteFor} ms, ${ended}; then the client saw: ` +
          `${seen(c)}, ${kind === 'PING' ? c.pingAcks : c.settingsAcks - 1} acks of its frames`);
        assert.ok(closed, `the connection must end: ${seen(c)}`);
        for (const g of c.goaways) assert.equal(g.code, ERROR.ENHANCE_YOUR_CALM, `GOAWAY ${errorName(g.code)}`);
      } finally {
        c.close();
      }
      await assertServes(corsd, `after the ${kind} flood`);
      assertRssBounded(corsd, `${kind} flood`);
    });

    test(`a burst of 1000 ${kind} frames, the client not reading: it gets GOAWAY(ENHANCE_YOUR_CALM) once it reads`, T, async (t) => {
      const c = await rawConnect(corsd.port);
      try {
        c.pause();
        const one = kind === 'SETTINGS' ? settingsFrame({ INITIAL_WINDOW_SIZE: 65535 }) : pingFrame(Buffer.from('12345678'));
        c.write(Buffer.concat(Array.from({ length: 1000 }, () => one)));
        await sleep(500);
        c.resume();
        const closed = await c.waitClosed(BOUND_MS).then(() => true, () => false);
        t.diagnostic(`${kind} burst of 1000: ${seen(c)}, ${kind === 'PING' ? c.pingAcks : c.settingsAcks - 1} acks`);
        assert.ok(c.goaways.some((g) => g.code === ERROR.ENHANCE_YOUR_CALM), `GOAWAY(ENHANCE_YOUR_CALM): ${seen(c)}`);
        assert.ok(closed, 'and the close');
      } finally {
        c.close();
      }
    });
  }

  test(`a zero-window stall is closed after --send-timeout ${SEND_TIMEOUT_S}`, T, async (t) => {
    // SETTINGS_INITIAL_WINDOW_SIZE 0: corsd may send no DATA on any stream until a WINDOW_UPDATE, which
    // never comes. The answer asked for: the echo of a 60 KB body.
    const c = await rawConnect(corsd.port, { settings: { INITIAL_WINDOW_SIZE: 0 }, autoWindow: false });
    try {
      const t0 = Date.now();
      const id = c.request({ method: 'PUT', path: PATH, headers: [['origin', ORIGIN]], body: Buffer.alloc(60_000, 'z') });
      const closed = await c.waitClosed(10_000).then(() => true, () => false);
      const ms = Date.now() - t0;
      t.diagnostic(`closed ${closed} after ${ms} ms; ${seen(c)}; stream ${id}: status ${c.stream(id).status}, ${c.stream(id).bodyBytes} bytes`);
      assert.ok(closed, `the stalled connection must be closed within 10 s: ${seen(c)}`);
      assert.equal(c.stream(id).bodyBytes, 0, 'no DATA with a zero window');
      assert.ok(ms >= SEND_TIMEOUT_S * 1000 * 0.5, `closed after ${ms} ms: before --send-timeout`);
    } finally {
      c.close();
    }
    await assertServes(corsd, 'after the stall');
  });

  test('an HPACK bomb (a small block that decodes past --max-header-bytes) gets 431 on its stream, the connection usable', T, async (t) => {
    const c = await rawConnect(corsd.port);
    try {
      // One 4000-byte value indexed into the dynamic table (its default 4096 bytes), then referenced 20
      // times: a block of about 4 KiB that decodes to 80 KB, ten times --max-header-bytes.
      const block = Buffer.concat([GET_BLOCK, hpack.incremental('x-bomb', 'B'.repeat(4000)),
        ...Array.from({ length: 20 }, () => hpack.indexed(62))]);
      assert.ok(block.length < MAX_HEADER_BYTES, `the block itself (${block.length} bytes) is under the limit`);
      c.write(headersFrame(1, block, { endStream: true }));
      const r = await c.response(1, BOUND_MS);
      t.diagnostic(`HPACK bomb: status ${r.status}, reset ${r.reset === undefined ? 'none' : errorName(r.reset)}; ${seen(c)}`);
      assert.ok(r.headers, `an answer on the stream, not only ${r.reset === undefined ? 'a close' : `RST_STREAM ${errorName(r.reset)}`}: ${c.describe()}`);
      assert.equal(r.status, 431);
      assert.ok(r.ended, 'the stream ended with END_STREAM');
      assert.match(r.body.toString(), /^request header fields too large/);
      // The connection stays usable (its HPACK state included): a GET on it gets 200.
      c.nextStreamId = 3;
      const id = c.request({ path: PATH, headers: [['origin', ORIGIN]] });
      const ok = await c.response(id, BOUND_MS);
      assert.equal(ok.status, 200, c.describe());
      assert.equal(field(ok.headers, 'access-control-allow-origin'), ORIGIN);
      assert.equal(c.goaways.length, 0);
    } finally {
      c.close();
    }
    assertRssBounded(corsd, 'HPACK bomb');
  });
});

describe('the flood limits are settings (--h2-flood-burst, --h2-flood-rate)', () => {
  // Sends `pairs` HEADERS+RST_STREAM pairs at once, then a PING; resolves with what came back.
  async function resetBurst(port, pairs) {
    const c = await rawConnect(port);
    try {
      await sleep(50);
      const frames = [];
      for (let i = 0, id = 1; i < pairs; i++, id += 2) {
        frames.push(headersFrame(id, GET_BLOCK, { endStream: true }), rstStreamFrame(id, ERROR.CANCEL));
      }
      const acks = c.pingAcks;
      c.write(Buffer.concat([...frames, pingFrame(Buffer.from('burst-ok'))]));
      await c.waitFor(() => c.pingAcks > acks || c.goaways.length || c.closed, BOUND_MS, `the PING after ${pairs} pairs`);
      await sleep(100);
      return { calm: c.goaways.some((g) => g.code === ERROR.ENHANCE_YOUR_CALM), seen: seen(c) };
    } finally {
      c.close();
    }
  }

  test('a burst of 300 resets passes the default (400), and gets GOAWAY(ENHANCE_YOUR_CALM) past --h2-flood-burst 50', T, async (t) => {
    const lenient = await startCorsd([...tlsArgs(), '--listen', '127.0.0.1:0', '--no-demo', '--threads', '1']);
    const strict = await startCorsd([...tlsArgs(), '--listen', '127.0.0.1:0', '--no-demo', '--threads', '1',
      '--h2-flood-burst', '50', '--h2-flood-rate', '1']);
    try {
      const byDefault = await resetBurst(lenient.port, 300);
      const limited = await resetBurst(strict.port, 300);
      t.diagnostic(`default: ${byDefault.seen}; --h2-flood-burst 50: ${limited.seen}`);
      assert.equal(byDefault.calm, false, `300 resets within the default burst: ${byDefault.seen}`);
      assert.equal(limited.calm, true, `300 resets past a burst of 50: ${limited.seen}`);
      await assertServes(strict, 'after the limited burst');
    } finally {
      await killCorsd(lenient);
      await killCorsd(strict);
    }
  });

  test('a flood limit out of range is refused at start, naming the flag', T, async () => {
    const run = await runCorsd([...tlsArgs(), '--h2-flood-rate', '0', '--listen', '127.0.0.1:0', '--no-demo']);
    assert.equal(run.code, 2, run.stdout + run.stderr);
    assert.match(run.stdout + run.stderr, /--h2-flood-rate/);
  });
});
