// The debug log never stalls a request: with --log-level debug and a standard error nobody reads (a pipe
// left full), thousands of rejected preflights are all answered, the lines that did not fit are counted on
// /metrics, and SIGTERM still ends corsd promptly. Real corsd, loopback only.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import { after, test } from 'node:test';

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

test('a standard error nobody reads drops debug lines instead of stalling the workers', T, async () => {
  // stderr is a pipe this test never reads: once full, every write to it would block.
  corsd = spawn(corsdBin(), ['--no-demo', '--threads', '2', '--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0',
    '--log-level', 'debug', '--allow-origin', 'https://app.example.com'], { stdio: ['ignore', 'pipe', 'pipe'] });
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
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  const statuses = await Promise.all(Array.from({ length: REQUESTS }, () => rejectedPreflight(ready.api.port, agent)));
  agent.destroy();
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
