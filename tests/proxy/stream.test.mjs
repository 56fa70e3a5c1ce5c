// Streaming through the proxy: 1 GiB up and down (Content-Length and chunked), checked by sha256 on
// the far side, with corsd's peak RSS (VmHWM) under 32 MiB; and back-pressure both ways.
//
//   CORSD_BIN=build/corsd node --test tests/proxy/stream.test.mjs
//
// CORSD_STREAM_MIB overrides the size of the big transfers (default 1024). Speeds are printed,
// never asserted.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ORIGIN, PATTERN_PERIOD, connect, patternSha256, patternSlice, procStatusKb, request, startCorsd, write,
} from './support.mjs';
import { startUpstream } from './upstream.mjs';

const MIB = 1024 * 1024;
const BIG = Number(process.env.CORSD_STREAM_MIB ?? 1024) * MIB;
/** Size of the back-pressure transfers: large enough that "bounded" means "not all of it". */
const PRESSURE_BYTES = 512 * MIB;
/** corsd's peak resident set may not pass this. */
const RSS_LIMIT_KB = 32 * 1024;
/**
 * Bytes that may sit between the two ends while one of them does not read: the kernel's socket
 * buffers on both of corsd's connections (loopback autotuning can grow a receive buffer to
 * tcp_rmem's maximum, 32 MiB here) plus corsd's own. What matters is that it is not the transfer.
 */
const IN_FLIGHT_LIMIT = 160 * MIB;
const T = { timeout: 120_000 };

const POLICY = ['--allow-origin', ORIGIN, '--allow-credentials', '--allow-methods', 'PUT,DELETE',
  '--allow-headers', 'content-type,authorization'];

const mbps = (bytes, ms) => (bytes / MIB / (ms / 1000)).toFixed(1);

/** Sends `bytes` pattern bytes as the body (chunked framing if asked), honouring back-pressure. */
async function sendPattern(socket, bytes, { chunkedFraming, progress }) {
  for (let off = 0; off < bytes;) {
    const piece = patternSlice(off, Math.min(PATTERN_PERIOD, bytes - off));
    if (chunkedFraming) await write(socket, Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')]));
    else await write(socket, piece);
    off += piece.length;
    if (progress) progress.sent = off;
  }
  if (chunkedFraming) await write(socket, '0\r\n\r\n');
}

const uploadHead = (target, bytes, chunkedFraming) => request('POST', target, [['Origin', ORIGIN],
  ['Content-Type', 'application/octet-stream'],
  chunkedFraming ? ['Transfer-Encoding', 'chunked'] : ['Content-Length', String(bytes)]]);

for (const threads of [1, 2]) {
  describe(`streaming, --threads ${threads}`, () => {
    let up;
    let corsd;
    const peakKb = () => procStatusKb(corsd.pid, 'VmHWM');
    const assertPeak = (what) => {
      const kb = peakKb();
      console.log(`  corsd VmHWM after ${what}: ${(kb / 1024).toFixed(1)} MiB`);
      assert.ok(kb < RSS_LIMIT_KB, `${what}: corsd's peak RSS ${kb} KiB, limit ${RSS_LIMIT_KB} KiB`);
    };
    before(async () => {
      up = await startUpstream();
      corsd = await startCorsd(['--no-demo', '--listen', '127.0.0.1:0', '--upstream', up.url, ...POLICY,
        '--threads', String(threads), '--max-body', '2000000000']);
      patternSha256(BIG); // computed once, before any clock starts
    });
    after(async () => {
      await corsd?.stop();
      await up?.close();
    });

    for (const chunkedFraming of [false, true]) {
      const framing = chunkedFraming ? 'chunked' : 'Content-Length';

      test(`${BIG / MIB} MiB download, ${framing}`, T, async () => {
        const c = await connect(corsd.port, { timeoutMs: 30_000 });
        try {
          const h = createHash('sha256');
          const start = performance.now();
          await c.send(request('GET', `/download?bytes=${BIG}&chunked=${chunkedFraming ? 1 : 0}`, [['Origin', ORIGIN]]));
          const res = await c.response({ onBody: (p) => { h.update(p); } });
          const ms = performance.now() - start;
          console.log(`  download ${framing} --threads ${threads}: ${BIG / MIB} MiB in ${(ms / 1000).toFixed(2)} s = ${mbps(BIG, ms)} MB/s`);
          assert.equal(res.status, 200, res.head);
          assert.deepEqual(res.values('access-control-allow-origin'), [ORIGIN], res.head);
          assert.equal(res.framing, chunkedFraming ? 'chunked' : 'content-length', res.head);
          assert.ok(res.complete, 'the whole body');
          assert.equal(res.bodyLength, BIG);
          assert.equal(h.digest('hex'), patternSha256(BIG), 'sha256 of the download');
          assertPeak(`the ${framing} download`);
        } finally {
          c.close();
        }
      });

      test(`${BIG / MIB} MiB upload, ${framing}`, T, async () => {
        up.reset();
        const c = await connect(corsd.port, { timeoutMs: 100_000 });
        try {
          const start = performance.now();
          await c.send(uploadHead('/upload', BIG, chunkedFraming));
          // Read while sending, so that an early error answer is seen rather than a broken pipe.
          const answer = c.response();
          answer.catch(() => {});
          await sendPattern(c.socket, BIG, { chunkedFraming });
          const res = await answer;
          const ms = performance.now() - start;
          console.log(`  upload ${framing} --threads ${threads}: ${BIG / MIB} MiB in ${(ms / 1000).toFixed(2)} s = ${mbps(BIG, ms)} MB/s`);
          assert.equal(res.status, 200, `${res.head}${res.text().slice(0, 300)}`);
          const seen = JSON.parse(res.text());
          assert.equal(seen.bodyLength, BIG, 'bytes the upstream received');
          assert.equal(seen.bodySha256, patternSha256(BIG), 'sha256 of what the upstream received');
          const r = up.requests.find((q) => q.target === '/upload');
          assert.equal(r.framing, chunkedFraming ? 'chunked' : 'content-length', r.rawHead);
          assertPeak(`the ${framing} upload`);
        } finally {
          c.close();
        }
      });
    }

    test('a client that stops reading stalls the upstream; corsd stays small', T, async () => {
      up.reset();
      const target = `/download?bytes=${PRESSURE_BYTES}&chunked=0`;
      const c = await connect(corsd.port, { timeoutMs: 30_000 });
      try {
        const h = createHash('sha256');
        let received = 0;
        let observed = null;
        const pause = async () => {
          // Stop reading for 1.2 s; the last 0.7 s the upstream must not get to write anything.
          const rec = up.requests.find((r) => r.target === target);
          await sleep(500);
          const sentA = rec.bytesSent;
          await sleep(700);
          observed = { sentA, sentB: rec.bytesSent, received, rssKb: procStatusKb(corsd.pid, 'VmRSS') };
        };
        await c.send(request('GET', target, [['Origin', ORIGIN]]));
        const res = await c.response({
          onBody: async (p) => {
            h.update(p);
            received += p.length;
            if (!observed && received >= 8 * MIB) await pause();
          },
        });
        assert.equal(res.status, 200, res.head);
        assert.ok(observed, 'the client paused');
        console.log(`  client paused after ${(observed.received / MIB).toFixed(1)} MiB: upstream had written ` +
          `${(observed.sentB / MIB).toFixed(1)} MiB, ${((observed.sentB - observed.sentA) / MIB).toFixed(2)} MiB in the ` +
          `last 0.7 s; corsd VmRSS ${(observed.rssKb / 1024).toFixed(1)} MiB`);
        assert.ok(observed.sentB - observed.sentA < MIB,
          `the upstream kept writing while the client did not read: ${observed.sentB - observed.sentA} bytes in 0.7 s`);
        assert.ok(observed.sentB - observed.received < IN_FLIGHT_LIMIT,
          `${observed.sentB - observed.received} bytes between upstream and the paused client`);
        assert.ok(observed.rssKb < RSS_LIMIT_KB, `corsd VmRSS ${observed.rssKb} KiB while the client paused`);
        assert.equal(res.bodyLength, PRESSURE_BYTES);
        assert.equal(h.digest('hex'), patternSha256(PRESSURE_BYTES));
        assertPeak('the paused download');
      } finally {
        c.close();
      }
    });

    test('a slow upstream reader stalls the client\'s upload; corsd stays small', T, async () => {
      up.reset();
      const target = `/upload?stallAfter=${8 * MIB}&stallMs=1500`;
      const c = await connect(corsd.port, { timeoutMs: 60_000 });
      try {
        const progress = { sent: 0 };
        await c.send(uploadHead(target, PRESSURE_BYTES, false));
        const answer = c.response();
        answer.catch(() => {});
        const sending = sendPattern(c.socket, PRESSURE_BYTES, { chunkedFraming: false, progress });
        sending.catch(() => {});
        // Wait for the upstream to stop reading, then watch the client's writes.
        const deadline = Date.now() + 30_000;
        let rec;
        while (!(rec = up.requests.find((r) => r.target === target))?.stallStartedAt && Date.now() < deadline) {
          await sleep(20);
        }
        assert.ok(rec?.stallStartedAt, 'the upstream stopped reading');
        await sleep(500);
        const sentA = progress.sent;
        await sleep(700);
        const observed = {
          sentA, sentB: progress.sent, upstreamGot: rec.bodyLength, rssKb: procStatusKb(corsd.pid, 'VmRSS'),
          stillStalled: rec.stallEndedAt === undefined,
        };
        await sending;
        const res = await answer;
        console.log(`  upstream stopped reading at ${(observed.upstreamGot / MIB).toFixed(1)} MiB: the client had sent ` +
          `${(observed.sentB / MIB).toFixed(1)} MiB, ${((observed.sentB - observed.sentA) / MIB).toFixed(2)} MiB in the ` +
          `last 0.7 s; corsd VmRSS ${(observed.rssKb / 1024).toFixed(1)} MiB`);
        assert.ok(observed.stillStalled, 'the measurement fell inside the stall');
        assert.ok(observed.sentB - observed.sentA < MIB,
          `the client could keep sending while the upstream did not read: ${observed.sentB - observed.sentA} bytes in 0.7 s`);
        assert.ok(observed.sentB - observed.upstreamGot < IN_FLIGHT_LIMIT,
          `${observed.sentB - observed.upstreamGot} bytes between the client and the stalled upstream`);
        assert.ok(observed.rssKb < RSS_LIMIT_KB, `corsd VmRSS ${observed.rssKb} KiB while the upstream stalled`);
        assert.equal(res.status, 200, `${res.head}${res.text().slice(0, 300)}`);
        const seen = JSON.parse(res.text());
        assert.equal(seen.bodyLength, PRESSURE_BYTES);
        assert.equal(seen.bodySha256, patternSha256(PRESSURE_BYTES));
        assertPeak('the stalled upload');
      } finally {
        c.close();
      }
    });
  });
}
