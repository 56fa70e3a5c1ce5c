// The debug log never stalls a request: with --log-level debug and a standard error nobody reads (a pipe
// left full), thousands of rejected preflights are all answered, the lines that did not fit are counted on
// /metrics, and SIGTERM still ends corsd promptly. Real corsd, loopback only.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { corsdBin } from '../support/corsd.mjs';

const T = { timeout: 60_000 };
const REQUESTS = 4000;  // about 200 bytes of debug line each: far past a pipe's 64 KiB

let corsd;
after(() => corsd?.kill('SIGKILL'));

/** One preflight the policy rejects (an origin it does not list), over `agent`; resolves to the status. */
function rejectedPreflight(port, agent) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'OPTIONS', path: '/items/1', agent, headers: {
      origin: 'https://not-listed.example', 'access-control-request-method': 'PUT' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', reject);
    req.end();
  });
}

/** corsd with `args` and a standard error this test never reads; resolves to its API URL and admin URL. */
async function startWithUnreadStderr(args) {
  // stderr is a pipe this test never reads: once full, every write to it would block.
  corsd = spawn(corsdBin(), ['--no-demo', '--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0',
    '--log-level', 'debug', '--allow-origin', 'https://app.example.com', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  corsd.stderr.pause();
  let out = '';
  corsd.stdout.setEncoding('utf8');
  const ready = await new Promise((resolve, reject) => {
    corsd.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/ready: api (\S+) admin (\S+)/);
      if (m) resolve({ api: new URL(m[1]), admin: m[2] });
    });
    corsd.once('exit', () => reject(new Error(`corsd exited: ${out}`)));
  });
  return ready;
}

/** Fills the stderr pipe: REQUESTS rejected preflights, each with its debug line; resolves to their statuses. */
async function fillStderr(port, sockets) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: sockets });
  const statuses = await Promise.all(Array.from({ length: REQUESTS }, () => rejectedPreflight(port, agent)));
  agent.destroy();
  return statuses;
}

test('a standard error nobody reads drops debug lines instead of stalling the workers', T, async () => {
  const ready = await startWithUnreadStderr(['--threads', '2']);
  const statuses = await fillStderr(ready.api.port, 16);
  assert.equal(statuses.filter((s) => s === 403).length, REQUESTS, 'every rejected preflight answered 403');

  const metrics = await (await fetch(`${ready.admin}/metrics`)).text();
  const dropped = Number(metrics.match(/^corsd_debug_log_dropped_total (\d+)/m)?.[1]);
  assert.ok(dropped > 0, `some debug lines were dropped and counted: ${dropped}`);

  const started = Date.now();
  corsd.kill('SIGTERM');
  const [code] = await once(corsd, 'exit');
  assert.equal(code, 0);
  assert.ok(Date.now() - started < 5000, `corsd took ${Date.now() - started} ms to stop with a full stderr`);
  corsd = undefined;
});

test('the warning for connections over the limit does not stall the worker when standard error is full', T, async () => {
  const ready = await startWithUnreadStderr(['--threads', '1', '--max-connections', '2']);
  const port = Number(ready.api.port);
  assert.equal((await fillStderr(port, 1)).filter((s) => s === 403).length, REQUESTS);
  // Two connections held open fill the limit; a third is refused with 503, and its warning is logged.
  const held = await Promise.all([0, 1].map(() => new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s));
    s.on('error', reject);
  })));
  const refused = await rawRequest(port);
  assert.match(refused, /^HTTP\/1\.1 503 /, refused);
  for (const s of held) s.destroy();
  // The worker goes on serving: a blocking write of that warning would have stopped it here. (Until it has
  // seen the held connections close, a new one may still get 503.)
  let answered = '';
  for (const until = Date.now() + 5000; !/^HTTP\/1\.1 403 /.test(answered) && Date.now() < until;) {
    answered = await rawRequest(port, 5000);
    if (!/^HTTP\/1\.1 403 /.test(answered)) await sleep(100);
  }
  assert.match(answered, /^HTTP\/1\.1 403 /, answered);
  const metrics = await (await fetch(`${ready.admin}/metrics`)).text();
  assert.match(metrics, /^corsd_connections_refused_total [1-9]/m, 'the refusal is counted');
  corsd.kill('SIGTERM');
  const [code] = await once(corsd, 'exit');
  assert.equal(code, 0);
  corsd = undefined;
});

/** A rejected preflight on a new connection; resolves to all that came back before the close (or `ms`). */
function rawRequest(port, ms = 5000) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => {
      s.end('OPTIONS /items/1 HTTP/1.1\r\nHost: a\r\nOrigin: https://not-listed.example\r\n' +
        'Access-Control-Request-Method: PUT\r\nConnection: close\r\n\r\n');
    });
    let got = '';
    s.setEncoding('utf8');
    s.on('data', (d) => (got += d));
    s.on('close', () => resolve(got));
    s.on('error', () => resolve(got));
    setTimeout(() => {
      s.destroy();
      reject(new Error(`no answer within ${ms} ms: ${JSON.stringify(got)}`));
    }, ms).unref();
  });
}
