// Session cookies and request ids cannot be predicted from the ones seen before. They used to come from
// one mt19937_64, whose whole state 312 consecutive outputs give away: untempered, they predict every next
// value exactly. This test runs that attack on 313 consecutive X-Request-Id values of real corsd (one
// thread, so one generator, as before) and requires the prediction to miss; it first proves the attack on
// an mt19937_64 of its own, so that it would catch the generator coming back. Loopback only.

import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, test } from 'node:test';

import { startCorsd } from '../support/corsd.mjs';

const T = { timeout: 30_000 };
const MASK = (1n << 64n) - 1n;
const N = 312n, M = 156n;
const UPPER = 0xFFFFFFFF80000000n, LOWER = 0x7FFFFFFFn, MATRIX = 0xB5026F5AA96619E9n;

function temper(y) {
  y ^= (y >> 29n) & 0x5555555555555555n;
  y ^= (y << 17n) & 0x71D67FFFEDA60000n;
  y ^= (y << 37n) & 0xFFF7EEE000000000n;
  return (y ^ (y >> 43n)) & MASK;
}

function untemper(y) {
  y ^= y >> 43n;
  y ^= (y << 37n) & 0xFFF7EEE000000000n & MASK;
  let x = y;
  for (let i = 0; i < 4; ++i) x = y ^ ((x << 17n) & 0x71D67FFFEDA60000n & MASK);
  y = x;
  for (let i = 0; i < 3; ++i) x = y ^ ((x >> 29n) & 0x5555555555555555n);
  return x & MASK;
}

/** s[j + 312] from the states s[j], s[j + 1] and s[j + 156] (the generator's recurrence). */
function nextState(s0, s1, s156) {
  const x = (s0 & UPPER) | (s1 & LOWER);
  return s156 ^ ((x >> 1n) ^ ((x & 1n) ? MATRIX : 0n));
}

/** The output after 312 consecutive outputs of an mt19937_64, whatever its seed and position. */
function predictNext(outputs) {
  const s = outputs.slice(-312).map(untemper);
  return temper(nextState(s[0], s[1], s[Number(M)]));
}

/** std::mt19937_64(seed): its first `count` outputs. */
function mt19937_64(seed, count) {
  const mt = [BigInt(seed) & MASK];
  for (let i = 1n; i < N; ++i) mt.push((6364136223846793005n * (mt[i - 1n] ^ (mt[i - 1n] >> 62n)) + i) & MASK);
  const out = [];
  for (let i = 0; out.length < count; ++i) {
    const j = BigInt(i) % N;
    if (j === 0n) {  // the first output too comes after a twist
      for (let k = 0n; k < N; ++k) mt[k] = nextState(mt[k], mt[(k + 1n) % N], mt[(k + M) % N]);
    }
    out.push(temper(mt[j]));
  }
  return out;
}

/** An id as corsd writes it: 16 hex digits, the lowest nibble first. */
const idValue = (text) => [...text].reduceRight((v, c) => (v << 4n) | BigInt(parseInt(c, 16)), 0n);

let corsd;
before(async () => {
  corsd = await startCorsd(['--listen', '127.0.0.1:0', '--no-demo', '--threads', '1']);
});
after(async () => { await corsd?.stop(); });

test('the attack predicts an mt19937_64 exactly (the check below would catch it)', () => {
  // Past a twist, so that the prediction must run the generator's recurrence.
  const outputs = mt19937_64(5489, 10000);
  // The C++ standard's check of std::mt19937_64 ([rand.predef]): its 10000th output, default seed.
  assert.equal(outputs[9999], 9981545732273789042n);
  assert.equal(predictNext(outputs.slice(100, 412)), outputs[412]);
  assert.equal(idValue('0123456789abcdef'), 0xfedcba9876543210n);
});

test('313 consecutive request ids: the first 312 do not predict the 313th', T, async () => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const ids = [];
  for (let i = 0; i < 313; ++i) {
    const id = await new Promise((resolve, reject) => {
      http.get({ host: '127.0.0.1', port: corsd.port, path: '/whoami', agent }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.headers['x-request-id']));
      }).on('error', reject);
    });
    assert.match(id, /^[0-9a-f]{16}$/);
    ids.push(idValue(id));
  }
  agent.destroy();
  assert.equal(new Set(ids).size, ids.length, 'every id is new');
  assert.notEqual(predictNext(ids.slice(0, 312)), ids[312], 'the ids come from a generator 312 outputs give away');
});
