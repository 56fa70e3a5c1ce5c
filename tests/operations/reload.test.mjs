// SIGHUP: corsd reads its config file again and serves the new routes, policies and upstreams without
// dropping a connection; a config that fails is refused with its file:line error and the running one
// stays; settings that take a restart are named and left alone. Real corsd, real Node.js upstreams,
// loopback only.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { startCorsd } from '../support/corsd.mjs';

const T = { timeout: 30_000 };
/** How long a reload may take to reach every worker. */
const RELOAD_MS = 1000;

const route = ({ origin, expose = 'x-a', upstream }) => `
[[routes]]
path = "/"
allow_origins = ["${origin}"]
allow_methods = ["GET", "PUT"]
expose_headers = ["${expose}"]
${upstream ? `upstream = "${upstream}"` : ''}
`;

const config = ({ threads = 2, ...r }) => `[server]\nthreads = ${threads}\n\n[demo]\nenabled = false\n${route(r)}`;

/** One GET with an Origin over a keep-alive agent: { status, acao, expose, body }. */
async function get(port, origin, { agent, path = '/item' } = {}) {
  const req = http.request({ host: '127.0.0.1', port, path, headers: { origin }, agent });
  req.end();
  const [res] = await once(req, 'response');
  let body = '';
  res.setEncoding('utf8');
  for await (const chunk of res) body += chunk;
  return {
    status: res.statusCode,
    acao: res.headers['access-control-allow-origin'],
    expose: res.headers['access-control-expose-headers'],
    body,
  };
}

/** Polls until check(await get(...)) holds or RELOAD_MS passes; returns the last answer. */
async function eventually(port, origin, check) {
  const until = Date.now() + RELOAD_MS;
  for (;;) {
    const r = await get(port, origin);
    if (check(r) || Date.now() > until) return r;
    await sleep(20);
  }
}

/** A Node.js upstream without CORS that says who it is. */
async function startUpstream(name) {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.end(`${name} ${req.method} ${req.url}`));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${server.address().port}`, close: () => server.close() };
}

/** Waits until corsd's stderr has grown a line matching re since `from` characters; returns it. */
async function logLine(corsd, from, re) {
  const until = Date.now() + 5000;
  for (;;) {
    const line = corsd.stderr().slice(from).split('\n').find((l) => re.test(l));
    if (line) return line;
    assert.ok(Date.now() < until, `no log line matching ${re}\n${corsd.output()}`);
    await sleep(20);
  }
}

describe('reload on SIGHUP', () => {
  let dir;
  let file;
  let corsd;
  let upstreams;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'corsd-reload-'));
    file = join(dir, 'corsd.toml');
    writeFileSync(file, config({ origin: 'https://a.test' }));
    corsd = await startCorsd(['--config', file, '--listen', '127.0.0.1:0']);
    upstreams = [await startUpstream('one'), await startUpstream('two')];
  });
  after(async () => {
    await corsd?.stop();
    for (const u of upstreams ?? []) u.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const reload = async (text) => {
    const from = corsd.stderr().length;
    // Written aside and renamed into place, as a deployment should: a reload
    // still reading the file must not find it truncated by the next write.
    if (text !== undefined) {
      writeFileSync(`${file}.new`, text);
      renameSync(`${file}.new`, file);
    }
    corsd.proc.kill('SIGHUP');
    return from;
  };

  test('a new policy is in effect within a second, the old one is gone', T, async () => {
    assert.equal((await get(corsd.port, 'https://a.test')).acao, 'https://a.test');
    assert.equal((await get(corsd.port, 'https://b.test')).acao, undefined);
    const from = await reload(config({ origin: 'https://b.test' }));
    const r = await eventually(corsd.port, 'https://b.test', (x) => x.acao === 'https://b.test');
    assert.equal(r.acao, 'https://b.test', corsd.output());
    assert.equal((await get(corsd.port, 'https://a.test')).acao, undefined);
    assert.match(await logLine(corsd, from, /reloaded/), /reloaded: 1 route/);
  });

  test('a config that fails is refused with file:line and a fix, and the running one keeps serving', T, async () => {
    await reload(config({ origin: 'https://b.test' }));
    await eventually(corsd.port, 'https://b.test', (x) => x.acao === 'https://b.test');
    const from = await reload(`${config({ origin: 'https://c.test' })}\nallow_orgins = ["https://d.test"]\n`);
    const line = await logLine(corsd, from, /reload refused/);
    assert.match(line, /the running configuration stays/);
    assert.ok(line.includes(`${file}:`), line);
    assert.match(corsd.stderr().slice(from), /allow_origins/, 'the fix names the key meant');
    await sleep(200);
    assert.equal((await get(corsd.port, 'https://b.test')).acao, 'https://b.test');
    assert.equal((await get(corsd.port, 'https://c.test')).acao, undefined);
    assert.equal(corsd.proc.exitCode, null, 'corsd still runs');
  });

  test('a file that is not TOML is refused too', T, async () => {
    const from = await reload('[[routes]\npath = ');
    assert.match(await logLine(corsd, from, /reload refused/), /corsd\.toml/);
    assert.equal((await get(corsd.port, 'https://b.test')).acao, 'https://b.test');
  });

  test('settings that take a restart are named, and the running values stay', T, async () => {
    const from = await reload(config({ origin: 'https://b.test', threads: 3 }));
    assert.match(await logLine(corsd, from, /takes a restart/), /\[server\] threads changed/);
    await logLine(corsd, from, /reloaded/);
    assert.equal((await get(corsd.port, 'https://b.test')).acao, 'https://b.test');
  });

  test('a route moves to another upstream, and to the built-in echo API', T, async () => {
    await reload(config({ origin: 'https://b.test', upstream: upstreams[0].url }));
    let r = await eventually(corsd.port, 'https://b.test', (x) => x.body.startsWith('one'));
    assert.equal(r.body, 'one GET /item');
    assert.equal(r.acao, 'https://b.test');
    await reload(config({ origin: 'https://b.test', upstream: upstreams[1].url }));
    r = await eventually(corsd.port, 'https://b.test', (x) => x.body.startsWith('two'));
    assert.equal(r.body, 'two GET /item');
    await reload(config({ origin: 'https://b.test' }));
    r = await eventually(corsd.port, 'https://b.test', (x) => !x.body.startsWith('two'));
    assert.match(r.body, /Cross-Domain AJAX Request/);
  });

  test('reloads in a loop under load: no request fails, every answer is one whole snapshot', T, async () => {
    const variants = [config({ origin: 'https://b.test', expose: 'x-a' }), config({ origin: 'https://b.test', expose: 'x-b' })];
    await reload(variants[0]);
    await eventually(corsd.port, 'https://b.test', (x) => x.expose === 'x-a');
    const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
    const seen = { 'x-a': 0, 'x-b': 0 };
    const failures = [];
    let running = true;
    const client = async () => {
      while (running) {
        try {
          const r = await get(corsd.port, 'https://b.test', { agent });
          if (r.status !== 200 || r.acao !== 'https://b.test' || !(r.expose in seen)) failures.push(JSON.stringify(r));
          else seen[r.expose] += 1;
        } catch (err) {
          failures.push(err.message);
        }
      }
    };
    const from = corsd.stderr().length;
    const clients = Array.from({ length: 16 }, client);
    for (let i = 0; i < 30; i++) {
      await reload(variants[(i + 1) % 2]);
      await sleep(50);
    }
    running = false;
    await Promise.all(clients);
    agent.destroy();
    assert.deepEqual(failures.slice(0, 5), [], `${failures.length} failed requests`);
    assert.ok(seen['x-a'] > 0 && seen['x-b'] > 0, `both snapshots served: ${JSON.stringify(seen)}`);
    assert.doesNotMatch(corsd.stderr().slice(from), /reload refused/);
  });

  test('reloads in a loop under wrk: wrk sees no error and no status but 200', T, async () => {
    const variants = [config({ origin: 'https://b.test', expose: 'x-a' }), config({ origin: 'https://b.test', expose: 'x-b' })];
    const from = corsd.stderr().length;
    const wrk = spawn('wrk', ['-t2', '-c32', '-d3s', '-H', 'Origin: https://b.test', `http://127.0.0.1:${corsd.port}/item`],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    wrk.stdout.setEncoding('utf8').on('data', (d) => { out += d; });
    wrk.stderr.setEncoding('utf8').on('data', (d) => { out += d; });
    const exited = once(wrk, 'exit');
    await sleep(200);
    let reloads = 0;
    while (wrk.exitCode === null && reloads < 40) {
      await reload(variants[reloads++ % 2]);
      await sleep(50);
    }
    const [code] = await exited;
    assert.equal(code, 0, out);
    const requests = Number(out.match(/(\d+) requests in/)?.[1]);
    assert.ok(requests > 1000, out);
    assert.doesNotMatch(out, /Socket errors|Non-2xx or 3xx responses/, out);
    assert.ok(reloads >= 20, `${reloads} reloads during the run`);
    assert.doesNotMatch(corsd.stderr().slice(from), /reload refused/);
  });
});
