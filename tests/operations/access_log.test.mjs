// The access log: one line per answered request, as JSON lines (every line valid JSON, keys in a fixed
// order, bytes outside printable ASCII escaped) or the combined log format with corsd's own fields;
// the CORS decision, the reason of a rejection and the upstream with its time on each line. SIGHUP
// switches path and format (a relative path is the config file's folder's; a path that cannot be
// opened is refused and the old log stays), SIGUSR1 reopens the file after a rotation. A sink that
// takes no bytes (a FIFO nobody reads) drops lines and counts them on /metrics, never delays a
// request, and does not hold up a SIGTERM. A start with a log that cannot be opened exits 2. Real
// corsd, a Node.js upstream, loopback only.

import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { killCorsd, runCorsd, startCorsd, stopCorsd } from '../support/corsd.mjs';

const T = { timeout: 30_000 };
const ORIGIN = 'https://app.example.com';
const EVIL = 'https://evil.example';
const REFERER = 'https://app.example.com/page?a=1';
/** A user agent with bytes both formats escape: '"', '\' and a tab. (A byte >= 0x80 goes in a raw request:
 * Node.js would send é as UTF-8.) */
const UA = 'tester "q"\t\\ x';  // a tab at the end would be whitespace around the value, not part of it
const UPSTREAM_BODY = 'upstream says hi\n';
const KEYS = ['time', 'peer', 'method', 'path', 'version', 'status', 'bytes', 'duration', 'origin', 'referer',
  'user_agent', 'cors', 'reason', 'upstream', 'upstream_time'];
/** The combined format, then corsd's fields. */
const COMBINED = new RegExp('^(?<peer>\\S+) - - \\[(?<time>\\d\\d/[A-Z][a-z]{2}/\\d{4}:\\d\\d:\\d\\d:\\d\\d \\+0000)\\] ' +
  '"(?<method>\\S+) (?<path>\\S+) (?<version>HTTP/1\\.[01])" (?<status>\\d{3}) (?<bytes>[1-9]\\d*|-) ' +
  '"(?<referer>[^"]*)" "(?<ua>[^"]*)" origin="(?<origin>[^"]*)" cors=(?<cors>\\S+) reason=(?<reason>\\S+) ' +
  'upstream=(?<upstream>\\S+) upstream_time=(?<upstreamTime>-|\\d+\\.\\d{6}) duration=(?<duration>\\d+\\.\\d{6})$');

/** One request on a connection of its own (or agent's): { status, body (Buffer) }. */
async function request(port, { method = 'GET', path = '/', headers = {}, body, agent = false } = {}) {
  const req = http.request({ host: '127.0.0.1', port, method, path, headers, agent });
  req.end(body);
  const [res] = await once(req, 'response');
  const chunks = [];
  for await (const chunk of res) chunks.push(chunk);
  return { status: res.statusCode, body: Buffer.concat(chunks) };
}

/** Sends `raw` (Latin-1: any byte) on a new connection and returns the status code of the answer. */
async function rawRequest(port, raw) {
  const socket = net.connect(port, '127.0.0.1');
  socket.end(Buffer.from(raw, 'latin1'));
  let answer = '';
  socket.setEncoding('latin1').on('data', (d) => { answer += d; });
  await once(socket, 'close');
  return Number(answer.split(' ')[1]);
}

/** Polls check() every 20 ms until it returns something truthy (returned), or fails with what() after ms. */
async function waitFor(check, what, ms = 3000) {
  const until = Date.now() + ms;
  for (;;) {
    const result = check();
    if (result) return result;
    assert.ok(Date.now() < until, what());
    await sleep(20);
  }
}

/** The whole lines in `file` so far (none if it does not exist), read as Latin-1 so every byte shows. */
function linesIn(file) {
  const text = existsSync(file) ? readFileSync(file, 'latin1') : '';
  return text.slice(0, text.lastIndexOf('\n') + 1).split('\n').slice(0, -1);
}

/** Waits (the writer flushes every 100 ms) until `file` has `count` lines or more; returns them. */
function awaitLines(file, count, corsd) {
  return waitFor(() => { const l = linesIn(file); return l.length >= count && l; },
    () => `${file}: ${linesIn(file).length} lines, not ${count}:\n${linesIn(file).join('\n')}\n${corsd.output()}`);
}

/** Waits until corsd's stderr, from `from` characters on, has a line matching re; returns it. */
function awaitStderr(corsd, from, re) {
  return waitFor(() => corsd.stderr().slice(from).split('\n').find((l) => re.test(l)),
    () => `no stderr line matching ${re}\n${corsd.output()}`, 5000);
}

/** The one line of `lines` whose path (JSON) or request line (combined) is `path`. */
function lineFor(lines, path) {
  const found = lines.filter((l) => l.includes(`"path":"${path}"`) || l.includes(` ${path} HTTP/1.1"`));
  assert.equal(found.length, 1, `one line for ${path} in:\n${lines.join('\n')}`);
  return found[0];
}

describe('access log', () => {
  let dir;
  let upstream;
  let upstreamAuthority;
  /** Every corsd a test started, killed in after() if a failed test left it running. */
  const started = [];
  const start = async (args) => {
    const corsd = await startCorsd(args);
    started.push(corsd);
    return corsd;
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'corsd-access-log-'));
    upstream = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => res.end(UPSTREAM_BODY));
    });
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    upstreamAuthority = `127.0.0.1:${upstream.address().port}`;
  });
  after(async () => {
    for (const corsd of started) await killCorsd(corsd);
    upstream?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Starts corsd proxying to the upstream, logging to `file` in `format`. */
  const startProxy = (file, format) => start(['--no-demo', '--listen', '127.0.0.1:0', '--threads', '2',
    '--allow-origin', ORIGIN, '--allow-methods', 'PUT', '--upstream', `http://${upstreamAuthority}`,
    '--access-log', file, ...(format ? ['--access-log-format', format] : [])]);

  /** The requests both formats log, each on a path of its own; returns the answers by path. */
  async function sendMix(port) {
    const put = await request(port, {
      method: 'PUT', path: '/items/1?x=%22y', body: 'abc',
      headers: { origin: ORIGIN, referer: REFERER, 'user-agent': UA },
    });
    assert.equal(put.status, 200);
    assert.equal(put.body.toString(), UPSTREAM_BODY);
    const accepted = await request(port, {
      method: 'OPTIONS', path: '/items/2', headers: { origin: ORIGIN, 'access-control-request-method': 'PUT' },
    });
    assert.equal(accepted.status, 204);
    const rejected = await request(port, {
      method: 'OPTIONS', path: '/items/3', headers: { origin: EVIL, 'access-control-request-method': 'PUT' },
    });
    assert.equal(rejected.status, 403);
    const plain = await request(port, { path: '/items/4' });
    assert.equal(plain.status, 200);
    // A raw byte 0xe9 in the target and the User-Agent: corsd takes it (the Node.js upstream may answer it
    // 400, whatever it answers is logged), and the line must escape it.
    const rawStatus = await rawRequest(port, 'GET /caf\xe9 HTTP/1.1\r\nHost: x\r\nUser-Agent: r\xe9\r\nConnection: close\r\n\r\n');
    assert.ok(rawStatus >= 200, `an answer, not a refusal by corsd: ${rawStatus}`);
    return { answers: { '/items/1?x=%22y': put, '/items/2': accepted, '/items/3': rejected, '/items/4': plain }, rawStatus };
  }

  test('JSON lines: valid JSON, keys in order, the request, the answer, the CORS decision, the upstream', T,
    async () => {
      const file = join(dir, 'json.log');
      const corsd = await startProxy(file);
      const { answers, rawStatus } = await sendMix(corsd.port);
      const lines = await awaitLines(file, 5, corsd);
      assert.equal(lines.length, 5, lines.join('\n'));
      const now = Date.now();
      for (const line of lines) {
        assert.match(line, /^[\x20-\x7e]+$/, 'printable ASCII only: every other byte is escaped');
        assert.match(line, /"duration":\d+\.\d{6},/);
        const entry = JSON.parse(line);
        assert.deepEqual(Object.keys(entry), KEYS);
        assert.match(entry.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
        assert.ok(Math.abs(Date.parse(entry.time) - now) < 10_000, `${entry.time} is about now`);
        assert.equal(entry.peer, '127.0.0.1');
        assert.equal(entry.version, 'HTTP/1.1');
        assert.equal(typeof entry.duration, 'number');
        assert.ok(entry.duration >= 0);
      }
      const entry = (path) => JSON.parse(lineFor(lines, path));
      for (const [path, answer] of Object.entries(answers)) {
        assert.equal(entry(path).status, answer.status, path);
        assert.equal(entry(path).bytes, answer.body.length, `${path}: the body bytes the client got`);
      }

      const put = entry('/items/1?x=%22y');
      assert.equal(put.method, 'PUT');
      assert.equal(put.origin, ORIGIN);
      assert.equal(put.referer, REFERER);
      assert.equal(put.user_agent, UA);
      assert.ok(lineFor(lines, '/items/1?x=%22y').includes('"user_agent":"tester \\"q\\"\\u0009\\\\ x"'));
      assert.equal(put.cors, 'actual_allowed');
      assert.equal(put.reason, null);
      assert.equal(put.upstream, upstreamAuthority);
      assert.equal(typeof put.upstream_time, 'number');
      assert.ok(put.upstream_time >= 0 && put.upstream_time <= put.duration, `${put.upstream_time} <= ${put.duration}`);

      const accepted = entry('/items/2');
      assert.deepEqual([accepted.method, accepted.origin, accepted.referer, accepted.cors, accepted.reason],
        ['OPTIONS', ORIGIN, null, 'preflight_accepted', null]);
      assert.deepEqual([accepted.upstream, accepted.upstream_time], [null, null], 'corsd answered it');

      const rejected = entry('/items/3');
      assert.deepEqual([rejected.method, rejected.origin, rejected.cors, rejected.reason],
        ['OPTIONS', EVIL, 'preflight_rejected', 'origin_not_allowed']);
      assert.deepEqual([rejected.upstream, rejected.upstream_time], [null, null], 'corsd answered it');

      const plain = entry('/items/4');
      assert.deepEqual([plain.method, plain.origin, plain.cors, plain.reason, plain.upstream],
        ['GET', null, 'not_cors', null, upstreamAuthority]);
      assert.equal(plain.user_agent, null, 'no User-Agent header: null');

      const rawLine = lineFor(lines, '/caf\\u00e9');
      assert.ok(rawLine.includes('"user_agent":"r\\u00e9"'), rawLine);
      const raw = JSON.parse(rawLine);
      assert.deepEqual([raw.path, raw.user_agent], ['/caf\u00e9', 'r\u00e9'], 'each byte as \\u00XX');
      assert.deepEqual([raw.status, raw.origin, raw.cors], [rawStatus, null, 'not_cors']);
      assert.deepEqual(await stopCorsd(corsd, 5000), { code: 0, signal: null });
    });

  test('combined format: the combined log format, then origin, cors, reason, upstream, times', T, async () => {
    const file = join(dir, 'combined.log');
    const corsd = await startProxy(file, 'combined');
    const { answers, rawStatus } = await sendMix(corsd.port);
    const lines = await awaitLines(file, 5, corsd);
    assert.equal(lines.length, 5, lines.join('\n'));
    const now = Date.now();
    const fields = (path) => {
      const line = lineFor(lines, path);
      const m = line.match(COMBINED);
      assert.ok(m, `not the combined format: ${line}`);
      return m.groups;
    };
    for (const [path, answer] of Object.entries(answers)) {
      const f = fields(path);
      assert.equal(f.peer, '127.0.0.1');
      assert.equal(Number(f.status), answer.status, path);
      assert.equal(f.bytes, answer.body.length === 0 ? '-' : String(answer.body.length), path);
      const time = Date.parse(f.time.replace(':', ' '));
      assert.ok(Math.abs(time - now) < 10_000, `${f.time} is about now`);
    }

    const put = fields('/items/1?x=%22y');
    assert.deepEqual([put.method, put.version, put.referer, put.origin, put.cors, put.reason, put.upstream],
      ['PUT', 'HTTP/1.1', REFERER, ORIGIN, 'actual_allowed', '-', upstreamAuthority]);
    assert.equal(put.ua, 'tester \\x22q\\x22\\x09\\x5c x', '", \\ and tab as \\xNN');
    assert.notEqual(put.upstreamTime, '-');
    assert.ok(Number(put.upstreamTime) <= Number(put.duration), `${put.upstreamTime} <= ${put.duration}`);

    const accepted = fields('/items/2');
    assert.deepEqual([accepted.method, accepted.bytes, accepted.referer, accepted.origin, accepted.cors,
      accepted.reason, accepted.upstream, accepted.upstreamTime],
    ['OPTIONS', '-', '-', ORIGIN, 'preflight_accepted', '-', '-', '-']);
    const rejected = fields('/items/3');
    assert.deepEqual([rejected.origin, rejected.cors, rejected.reason, rejected.upstream],
      [EVIL, 'preflight_rejected', 'origin_not_allowed', '-']);
    const plain = fields('/items/4');
    assert.deepEqual([plain.origin, plain.cors, plain.upstream], ['-', 'not_cors', upstreamAuthority]);
    const raw = fields('/caf\\xe9');
    assert.deepEqual([Number(raw.status), raw.ua, raw.origin, raw.cors], [rawStatus, 'r\\xe9', '-', 'not_cors']);
    assert.deepEqual(await stopCorsd(corsd, 5000), { code: 0, signal: null });
  });

  test('SIGHUP switches path and format, SIGUSR1 reopens after a rotation, a path that fails is refused', T,
    async () => {
      const config = join(dir, 'corsd.toml');
      const configText = (log) => `[demo]\nenabled = false\n\n[access_log]\n${log}\n\n` +
        '[[routes]]\npath = "/"\nallow_origins = ["*"]\n';
      const [a, b] = [join(dir, 'a.log'), join(dir, 'b.log')];
      writeFileSync(config, configText('path = "a.log"'));
      const corsd = await start(['--config', config, '--listen', '127.0.0.1:0', '--threads', '2']);
      /** `n` GETs with an Origin to /<tag>/<i>. */
      const send = async (tag, n) => {
        for (let i = 0; i < n; i++) {
          assert.equal((await request(corsd.port, { path: `/${tag}/${i}`, headers: { origin: ORIGIN } })).status, 200);
        }
      };
      const reload = (text) => {
        writeFileSync(config, text);
        const from = corsd.stderr().length;
        corsd.proc.kill('SIGHUP');
        return from;
      };

      await send('first', 3);
      const aLines = await awaitLines(a, 3, corsd);
      for (const line of aLines) {
        const entry = JSON.parse(line);
        assert.match(entry.path, /^\/first\/\d$/);
        assert.equal(entry.cors, 'actual_allowed');
      }

      let from = reload(configText('path = "b.log"\nformat = "combined"'));
      await awaitStderr(corsd, from, /reloaded/);
      await send('second', 3);
      const bLines = await awaitLines(b, 3, corsd);
      for (const line of bLines) assert.match(line, COMBINED);
      assert.deepEqual(bLines.map((l) => l.match(COMBINED).groups.path).sort(), ['/second/0', '/second/1', '/second/2']);
      await sleep(300);  // three flushes: anything still bound for a.log would be there by now
      assert.deepEqual(linesIn(a), aLines, 'a.log stops growing');

      renameSync(b, `${b}.1`);
      from = corsd.stderr().length;
      corsd.proc.kill('SIGUSR1');
      await awaitStderr(corsd, from, /SIGUSR1: log files reopened/);
      await send('third', 2);
      const reopened = await awaitLines(b, 2, corsd);
      assert.deepEqual(reopened.map((l) => l.match(COMBINED)?.groups.path).sort(), ['/third/0', '/third/1']);
      await sleep(300);
      assert.deepEqual(linesIn(`${b}.1`), bLines, 'the rotated file gets nothing more');

      // A folder that does not exist, and another format: neither takes effect.
      from = reload(configText('path = "no-such-dir/c.log"\nformat = "json"'));
      const refused = await awaitStderr(corsd, from, /reload refused/);
      assert.match(refused, /the running configuration stays: cannot open the access log/);
      assert.ok(refused.includes('no-such-dir/c.log'), refused);
      await send('fourth', 2);
      const kept = await awaitLines(b, 4, corsd);
      assert.deepEqual(kept.slice(2).map((l) => l.match(COMBINED)?.groups.path).sort(), ['/fourth/0', '/fourth/1']);
      assert.equal(existsSync(join(dir, 'no-such-dir')), false);
      assert.deepEqual(await stopCorsd(corsd, 5000), { code: 0, signal: null });
    });

  describe('a FIFO whose reader never reads', () => {
    let reader;
    after(() => {
      if (reader?.exitCode === null) process.kill(-reader.pid, 'SIGKILL');
    });

    test('drops and counts lines, delays no request, and lets SIGTERM exit', T, async () => {
      const fifo = join(dir, 'stalled.fifo');
      execFileSync('mkfifo', [fifo]);
      // Opens the FIFO for reading (so corsd's open for writing returns) and never reads it.
      reader = spawn('sh', ['-c', 'exec 3<"$0"; sleep 60', fifo], { detached: true, stdio: 'ignore' });
      const corsd = await start(['--no-demo', '--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0',
        '--threads', '2', '--access-log', fifo]);
      assert.ok(corsd.adminUrl, `no admin URL in the ready line\n${corsd.output()}`);

      // Far more than two 1 MiB rings and a pipe's buffer hold.
      const total = 15_000;
      const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
      const statuses = {};
      let next = 0;
      const client = async () => {
        while (next < total) {
          const i = next++;
          const { status } = await request(corsd.port, { path: `/load/${i}`, headers: { origin: ORIGIN }, agent });
          statuses[status] = (statuses[status] ?? 0) + 1;
        }
      };
      await Promise.all(Array.from({ length: 32 }, client));
      agent.destroy();
      assert.deepEqual(statuses, { 200: total });

      const counter = (text, name) => {
        const m = text.match(new RegExp(`^${name} (\\d+)$`, 'm'));
        assert.ok(m, `${name} on /metrics:\n${text}`);
        return Number(m[1]);
      };
      const metrics = await (await fetch(`${corsd.adminUrl}/metrics`)).text();
      const lines = counter(metrics, 'corsd_access_log_lines_total');
      const dropped = counter(metrics, 'corsd_access_log_dropped_total');
      assert.ok(dropped > 0, `lines dropped: ${dropped} (queued ${lines})`);
      assert.ok(lines + dropped >= total, `${lines} queued + ${dropped} dropped >= ${total} requests`);

      // corsd gives a stalled log about a second, then exits. Waits longer than the 5 s allowed, so
      // that a failure says how long it took.
      const stopped = Date.now();
      corsd.proc.kill('SIGTERM');
      const exit = await Promise.race([corsd.exited, sleep(15_000, null, { ref: false })]);
      const took = Date.now() - stopped;
      assert.ok(exit, `corsd did not exit within 15 s of SIGTERM\n${corsd.output()}`);
      assert.deepEqual(exit, { code: 0, signal: null }, corsd.output());
      assert.ok(took < 5000, `corsd took ${took} ms to exit after SIGTERM with a stalled access log (5 s allowed)`);
    });
  });

  test('a start with an access log that cannot be opened exits 2 and says how to fix it', T, async () => {
    const path = join(dir, 'no-such-dir', 'a.log');
    const r = await runCorsd(['--no-demo', '--listen', '127.0.0.1:0', '--access-log', path]);
    assert.equal(r.code, 2, `${r.stdout}${r.stderr}`);
    assert.match(r.stderr, /cannot open the access log/);
    assert.ok(r.stderr.includes(path), r.stderr);
    assert.match(r.stderr, /^\s*fix: /m);
    assert.doesNotMatch(r.stdout, /ready/);
  });
});
