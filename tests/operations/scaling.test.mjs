// Many instances behind a load balancer: three corsd instances behind HAProxy (Debian's haproxy,
// installed by scripts/setup.sh), which checks each one's /readyz on its admin port, under load from 16
// keep-alive clients. Each instance proxies to a Node.js upstream of its own that takes 20 ms per
// answer, so requests are in flight inside every instance all the time. An instance SIGKILLed mid-run
// costs at most the requests it held (HAProxy's retries usually save even those), leaves the pool within
// a few health checks and rejoins when restarted on the same ports; a rolling reload (SIGHUP to each in
// turn with a new policy) loses nothing: no failed request, and no retry inside HAProxy either.
//
//   CORSD_BIN=build/corsd node --test tests/operations/scaling.test.mjs
//
// HAProxy's config and each instance's are examples/haproxy/haproxy.cfg and corsd.toml with their
// ports, paths and check interval replaced, so the examples are what is tested. Loopback only, ports
// found free at run time, every file in the test's own temporary directory.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { accessSync, constants as fsConstants, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { killCorsd, runCorsd, startCorsd } from '../support/corsd.mjs';
import { freePort } from '../support/net.mjs';

const HAPROXY = process.env.HAPROXY_BIN || '/usr/sbin/haproxy';
const NGINX = process.env.NGINX_BIN || '/usr/sbin/nginx';
const EXAMPLES = new URL('../../examples/haproxy/', import.meta.url).pathname;
const T = { timeout: 20_000 };
/** An origin examples/haproxy/corsd.toml allows. */
const ORIGIN = 'https://app.example.com';
const INSTANCES = 3;
const CLIENTS = 16;
/** HAProxy's health-check interval here (the example's is 1 s). */
const CHECK_INTERVAL = '100ms';
/** Longest a state change (fall 2 or rise 2 checks, 100 ms apart) may take to show in `show stat`. */
const STATE_CHANGE_MS = 3000;
const REQUEST_TIMEOUT_MS = 5000;
/** How long each upstream takes to answer. */
const UPSTREAM_DELAY_MS = 20;

const now = () => performance.now();
/** Loads still running; after() stops them, so a test that timed out leaves no loop behind. */
const loads = new Set();


function executable(file, hint) {
  try {
    accessSync(file, fsConstants.X_OK);
  } catch (err) {
    throw new Error(`${file} is not an executable file (${err.code}): ${hint}`);
  }
}

/** Polls check() every 20 ms until it is truthy (returns it) or ms pass (fails, naming what). */
async function waitFor(check, ms, what) {
  const until = now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    assert.ok(now() < until, `${what}: not within ${ms / 1000} s`);
    await sleep(20);
  }
}

/** text with every `from` replaced; fails unless `from` occurs exactly `count` times. */
function replaceIn(text, name, from, to, count = 1) {
  const found = text.split(from).length - 1;
  assert.equal(found, count,
    `examples/haproxy/${name} has ${JSON.stringify(from)} ${found} time(s), not ${count}: the test derives its config from it`);
  return text.replaceAll(from, to);
}

/**
 * examples/haproxy/corsd.toml for instance n, with its ports, the route's upstream line uncommented and
 * pointed at its own upstream, and its policy's generation told by expose_headers.
 */
function corsdConfig({ n, apiPort, adminPort, upstream }, generation) {
  const name = 'corsd.toml';
  let text = readFileSync(join(EXAMPLES, name), 'utf8');
  text = replaceIn(text, name, 'listen = "127.0.0.1:8081"', `listen = "127.0.0.1:${apiPort}"`);
  text = replaceIn(text, name, 'listen = "127.0.0.1:9901"', `listen = "127.0.0.1:${adminPort}"`);
  text = replaceIn(text, name, '# upstream = "http://127.0.0.1:5000"', `upstream = "${upstream.url}"`);
  // Every answer says which instance served it, and under which policy.
  return replaceIn(text, name, 'expose_headers = ["x-request-id"]',
    `expose_headers = ["x-instance-${n}", "x-generation-${generation}"]`);
}

/** examples/haproxy/haproxy.cfg with the test's ports, its runtime API socket and a faster check. */
function haproxyConfig({ sock, lbPort, instances }) {
  const name = 'haproxy.cfg';
  let text = readFileSync(join(EXAMPLES, name), 'utf8');
  text = replaceIn(text, name, 'stats socket /tmp/corsd-haproxy.sock ', `stats socket ${sock} `);
  text = replaceIn(text, name, 'bind 127.0.0.1:8080', `bind 127.0.0.1:${lbPort}`);
  for (const { n, apiPort, adminPort } of instances) {
    text = replaceIn(text, name, ` 127.0.0.1:808${n} check port 990${n} `, ` 127.0.0.1:${apiPort} check port ${adminPort} `);
  }
  return replaceIn(text, name, ' inter 1s ', ` inter ${CHECK_INTERVAL} `, INSTANCES);
}

/** A Node.js upstream that answers each request UPSTREAM_DELAY_MS after it came: { url, inFlight, close() }. */
async function startUpstream(n) {
  const upstream = { inFlight: 0 };
  const server = http.createServer((req, res) => {
    upstream.inFlight += 1;
    req.resume();
    setTimeout(() => {
      upstream.inFlight -= 1;
      res.end(`upstream of instance ${n}\n`);
    }, UPSTREAM_DELAY_MS);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  upstream.url = `http://127.0.0.1:${server.address().port}`;
  upstream.close = () => { server.closeAllConnections(); server.close(); };
  return upstream;
}

/** One command to HAProxy's runtime API on its unix socket; resolves to the answer. */
async function runtimeApi(sock, command) {
  const s = net.connect(sock);
  s.setEncoding('utf8');
  let text = '';
  s.on('data', (d) => { text += d; });
  const timer = setTimeout(() => s.destroy(new Error(`HAProxy did not answer "${command}" within 2 s`)), 2000);
  try {
    await once(s, 'connect');
    s.write(`${command}\n`);
    await once(s, 'close');
  } finally {
    clearTimeout(timer);
    s.destroy();
  }
  return text;
}

/** `show stat` for the corsd backend's servers: { corsd1: { status: 'UP', wretr: '0', ... }, ... }. */
async function servers(sock) {
  const [head, ...rows] = (await runtimeApi(sock, 'show stat')).trim().split('\n');
  const columns = head.replace(/^# /, '').split(',');
  const out = {};
  for (const row of rows) {
    const values = row.split(',');
    const r = Object.fromEntries(columns.map((c, i) => [c, values[i]]));
    if (r.pxname === 'corsd' && r.svname !== 'BACKEND') out[r.svname] = r;
  }
  return out;
}

/** Starts `haproxy -db -f cfg` and waits until every server is UP: { proc, output(), stop() }. */
async function startHaproxy(cfg, sock) {
  const proc = spawn(HAPROXY, ['-db', '-f', cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.setEncoding('utf8').on('data', (d) => { out += d; });
  proc.stderr.setEncoding('utf8').on('data', (d) => { out += d; });
  const exited = new Promise((resolve) => {
    proc.once('exit', (code, signal) => resolve({ code, signal }));
    proc.once('error', (error) => resolve({ code: null, signal: null, error }));
  });
  const running = () => proc.exitCode === null && proc.signalCode === null;
  const haproxy = {
    proc,
    output: () => `--- haproxy -db -f ${cfg}\n${out || '(no output)'}`,
    stop: async () => {
      if (running()) {
        proc.kill('SIGTERM');
        if (!(await Promise.race([exited, sleep(3000, null, { ref: false })]))) proc.kill('SIGKILL');
      }
      return exited;
    },
  };
  try {
    await waitFor(async () => {
      assert.ok(running(), `haproxy ended\n${haproxy.output()}`);
      try {
        const s = await servers(sock);
        return Object.keys(s).length === INSTANCES && Object.values(s).every((r) => r.status === 'UP');
      } catch {
        return false; // the socket is not there yet
      }
    }, 5000, 'haproxy up with every server UP');
  } catch (err) {
    await haproxy.stop();
    throw new Error(`${err.message}\n${haproxy.output()}`);
  }
  return haproxy;
}

/**
 * CLIENTS keep-alive clients sending GET with an allowed Origin through port in a loop. Each request is
 * recorded as { t0, t1, ok, instance, generation, error }: ok when the answer is a 200 with the origin
 * in Access-Control-Allow-Origin and an instance named in Access-Control-Expose-Headers.
 * stop() ends the loops and resolves to every record.
 */
function startLoad(port) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS });
  const records = [];
  let running = true;
  const one = () => new Promise((resolve) => {
    const t0 = now();
    const fail = (error) => resolve({ t0, t1: now(), ok: false, error });
    const req = http.get({
      host: '127.0.0.1', port, path: '/api/item', agent, headers: { origin: ORIGIN }, timeout: REQUEST_TIMEOUT_MS,
    }, (res) => {
      res.resume();
      res.on('end', () => {
        const expose = res.headers['access-control-expose-headers'] ?? '';
        const instance = Number(expose.match(/\bx-instance-(\d+)\b/)?.[1]);
        const generation = Number(expose.match(/\bx-generation-(\d+)\b/)?.[1]);
        const ok = res.statusCode === 200 && res.headers['access-control-allow-origin'] === ORIGIN && instance > 0;
        resolve({ t0, t1: now(), ok, instance, generation,
          error: ok ? undefined : `${res.statusCode} ${JSON.stringify(res.headers)}` });
      });
      res.on('error', (err) => fail(err.message));
      res.on('close', () => fail('the answer was cut off')); // no-op after 'end' resolved
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS / 1000} s`)));
    req.on('error', (err) => fail(err.message));
  });
  const clients = Array.from({ length: CLIENTS }, async () => {
    while (running) records.push(await one());
  });
  const load = {
    records,
    /** How many good answers instance n gave to requests sent after t. */
    served: (n, t = 0) => records.reduce((c, r) => c + (r.ok && r.instance === n && r.t0 > t ? 1 : 0), 0),
    stop: async () => {
      running = false;
      await Promise.all(clients);
      agent.destroy();
      loads.delete(load);
      return records;
    },
  };
  loads.add(load);
  return load;
}

/** corsd_cors_requests_total{decision="actual_allowed"} from an instance's /metrics. */
async function allowedCount(adminUrl) {
  const text = await (await fetch(`${adminUrl}/metrics`)).text();
  const m = text.match(/^corsd_cors_requests_total\{route="\/",decision="actual_allowed"\} (\d+)$/m);
  assert.ok(m, `no corsd_cors_requests_total for route "/" in\n${text}`);
  return Number(m[1]);
}

const describeFailures = (failed) => failed.slice(0, 5).map((r) => `${r.t0.toFixed(0)} ms: ${r.error}`).join('\n');

describe('three instances behind HAProxy', () => {
  let dir;
  let sock;
  let lbPort;
  let haproxy;
  /** { n, name, apiPort, adminPort, file, upstream, corsd } for each instance. */
  const instances = [];

  const start = (inst) => startCorsd(['--config', inst.file, '--listen', `127.0.0.1:${inst.apiPort}`, '--threads', '1']);
  const output = () => [...instances.map((i) => i.corsd?.output() ?? ''), haproxy?.output() ?? ''].join('\n');
  const waitForState = (name, status) => waitFor(async () => {
    const s = (await servers(sock))[name];
    return s?.status === status && now();
  }, STATE_CHANGE_MS, `HAProxy reports ${name} ${status}`);

  before(async () => {
    executable(HAPROXY, 'scripts/setup.sh installs Debian\'s haproxy');
    dir = mkdtempSync(join(tmpdir(), 'corsd-scaling-'));
    sock = join(dir, 'haproxy.sock');
    for (let n = 1; n <= INSTANCES; n++) {
      const inst = { n, name: `corsd${n}`, file: join(dir, `corsd${n}.toml`), upstream: await startUpstream(n) };
      instances.push(inst);
      // A port freePort() found free can be taken by a parallel test before corsd binds it: try others.
      for (let attempt = 1; ; attempt++) {
        inst.apiPort = await freePort();
        inst.adminPort = await freePort();
        writeFileSync(inst.file, corsdConfig(inst, 0));
        try {
          inst.corsd = await start(inst);
          break;
        } catch (err) {
          if (attempt === 5 || !/Address already in use/.test(String(err?.message))) throw err;
        }
      }
      assert.equal(inst.corsd.adminUrl, `http://127.0.0.1:${inst.adminPort}`, inst.corsd.output());
    }
    lbPort = await freePort();
    const cfg = join(dir, 'haproxy.cfg');
    writeFileSync(cfg, haproxyConfig({ sock, lbPort, instances }));
    haproxy = await startHaproxy(cfg, sock);
  });
  after(async () => {
    await Promise.all([...loads].map((l) => l.stop()));
    await Promise.all(instances.map((i) => killCorsd(i.corsd)));
    await haproxy?.stop();
    for (const i of instances) i.upstream.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('the examples are valid: haproxy -c, nginx -t, corsd --check-config', T, async () => {
    const h = spawnSync(HAPROXY, ['-c', '-f', join(EXAMPLES, 'haproxy.cfg')], { encoding: 'utf8', timeout: 10_000 });
    assert.equal(h.status, 0, `haproxy -c:\n${h.stdout}${h.stderr}`);
    executable(NGINX, 'scripts/setup.sh installs nginx-light');
    const prefix = join(dir, 'nginx');
    mkdirSync(prefix);
    const n = spawnSync(NGINX, ['-t', '-p', `${prefix}/`, '-e', 'stderr', '-c', join(EXAMPLES, 'nginx.conf')],
      { encoding: 'utf8', timeout: 10_000 });
    assert.equal(n.status, 0, `nginx -t:\n${n.stdout}${n.stderr}`);
    const c = await runCorsd(['--check-config', join(EXAMPLES, 'corsd.toml')]);
    assert.equal(c.code, 0, `corsd --check-config:\n${c.stdout}${c.stderr}`);
    assert.match(c.stdout, /config OK/);
  });

  test('an instance SIGKILLed under load costs at most the requests it held; it leaves the pool and rejoins', T, async (ctx) => {
    const victim = instances[1];
    const others = instances.filter((i) => i !== victim);
    const load = startLoad(lbPort);
    const t = {};
    let records;
    let inFlight;
    let statsBefore;
    let statsAfter;
    try {
      await waitFor(() => instances.every((i) => load.served(i.n) >= 20), 5000, 'every instance serves');
      statsBefore = await servers(sock);
      t.kill = now();
      // Requests the victim has forwarded and waits on (more may still be inside it).
      inFlight = victim.upstream.inFlight;
      victim.corsd.proc.kill('SIGKILL');
      await victim.corsd.exited;
      t.dead = now();
      t.down = await waitForState(victim.name, 'DOWN');
      // Two instances carry the load for a while.
      await waitFor(() => others.every((i) => load.served(i.n, t.down) >= 50), 5000, 'the other two serve');
      victim.corsd = await start(victim);
      t.restarted = now();
      t.up = await waitForState(victim.name, 'UP');
      await waitFor(() => load.served(victim.n, t.up) >= 20, 3000, `${victim.name} serves again`);
      statsAfter = await servers(sock);
    } finally {
      records = await load.stop();
    }
    const failed = records.filter((r) => !r.ok);
    const ms = (a, b) => `${(t[b] - t[a]).toFixed(0)} ms`;
    const retried = instances.reduce((c, i) => c + Number(statsAfter[i.name].wretr) - Number(statsBefore[i.name].wretr) +
      Number(statsAfter[i.name].wredis) - Number(statsBefore[i.name].wredis), 0);
    ctx.diagnostic(`${records.length} requests, ${failed.length} failed, ${inFlight} in flight on ${victim.name} when it ` +
      `was killed, ${retried} retried by HAProxy; DOWN ${ms('kill', 'down')} after the kill, UP ${ms('restarted', 'up')} ` +
      'after the restart');
    assert.ok(inFlight > 0, 'requests were in flight on the instance killed');
    assert.ok(failed.length <= CLIENTS,
      `${failed.length} requests failed, more than the ${CLIENTS} that can be in flight:\n${describeFailures(failed)}\n${output()}`);
    assert.deepEqual(failed.filter((r) => r.t0 >= t.dead).map((r) => r.error), [],
      'requests sent after the instance was gone never fail: HAProxy retries them on another');
    assert.equal(records.filter((r) => r.ok && r.instance === victim.n && r.t0 > t.dead && r.t0 < t.restarted).length, 0,
      'nothing is answered by the dead instance');
    assert.ok(t.down - t.kill < STATE_CHANGE_MS);
    // The restarted process (its counters start at 0) has been given traffic again.
    assert.ok(await allowedCount(victim.corsd.adminUrl) >= 20, 'the restarted instance counts the requests it served');
    assert.equal(statsAfter[victim.name].status, 'UP');
  });

  test('a rolling reload of all three under load loses nothing', T, async (ctx) => {
    const statsBefore = await servers(sock);
    const load = startLoad(lbPort);
    const reloadedAt = {};
    let records;
    try {
      const t0 = now();
      await waitFor(() => instances.every((i) => load.served(i.n, t0) >= 20), 5000, 'every instance serves');
      for (const inst of instances) {
        writeFileSync(inst.file, corsdConfig(inst, 1));
        const from = inst.corsd.stderr().length;
        inst.corsd.proc.kill('SIGHUP');
        await waitFor(() => /reloaded: 1 route/.test(inst.corsd.stderr().slice(from)), 3000, `${inst.name} reloads`);
        reloadedAt[inst.n] = now();
        await waitFor(() => load.records.some((r) => r.instance === inst.n && r.generation === 1), 2000,
          `${inst.name} serves the new policy`);
        await sleep(200); // under load with this instance on the new policy and the next on the old
      }
    } finally {
      records = await load.stop();
    }
    const statsAfter = await servers(sock);
    const failed = records.filter((r) => !r.ok);
    ctx.diagnostic(`${records.length} requests during the rolling reload, ${failed.length} failed`);
    assert.deepEqual(failed.map((r) => r.error).slice(0, 5), [],
      `${failed.length} of ${records.length} requests failed\n${output()}`);
    for (const inst of instances) {
      const mine = records.filter((r) => r.instance === inst.n);
      assert.ok(mine.some((r) => r.generation === 0) && mine.some((r) => r.generation === 1),
        `${inst.name} served both policies`);
      const stale = mine.filter((r) => r.generation === 0 && r.t0 > reloadedAt[inst.n] + 100);
      assert.equal(stale.length, 0, `${inst.name} served the old policy ${stale.length} times well after its reload`);
      assert.doesNotMatch(inst.corsd.stderr(), /reload refused/);
      // No instance was taken out, and HAProxy never had to retry: corsd itself dropped nothing.
      const [b, a] = [statsBefore[inst.name], statsAfter[inst.name]];
      assert.equal(a.status, 'UP', inst.name);
      assert.equal(a.chkdown, b.chkdown, `${inst.name} went DOWN during the reload`);
      for (const counter of ['wretr', 'wredis', 'econ', 'eresp']) {
        assert.equal(a[counter], b[counter], `${inst.name}: HAProxy's ${counter} grew during the reload`);
      }
    }
  });
});
