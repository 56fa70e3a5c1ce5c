// The adapters in their real hosts: a Boost.Beast server (examples/beast) and a cpp-httplib server
// (examples/httplib), each serving the blog post's API, judged by `corsd check` as a browser would:
// preflights answered from the policy (204 without a body; 403 with the reason), every answer given exactly
// the policy's fields, cpp-httplib's own 404 included; with the blog post's policy and with a listed origin.
// Loopback only.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { after, describe, test } from 'node:test';

import { corsdBin } from '../support/corsd.mjs';
import { startExample } from '../support/examples.mjs';

const T = { timeout: 30_000 };
const PAGE = 'http://localhost:8081';

/** The example servers: the binary, and what their host does that the other does not. */
const HOSTS = {
  beast: { binary: 'examples/beast/beast_server', emptyLength: false },
  // cpp-httplib 0.11 writes Content-Length: 0 on a 204 itself; browsers accept it.
  httplib: { binary: 'examples/httplib/httplib_server', emptyLength: true },
};

/** Starts `host`'s example with `args`; resolves to { port, stop() } once it listens (startExample). */
const startServer = (host, args) => startExample(HOSTS[host].binary, args);

/** corsd check --json against the server (asynchronous: nothing blocks the test's own loop). */
async function check(port, args) {
  const proc = spawn(corsdBin(), ['check', `http://127.0.0.1:${port}/items/1`, '--json', ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  proc.stdout.setEncoding('utf8').on('data', (d) => { stdout += d; });
  const [code] = await once(proc, 'exit');
  return { code, json: JSON.parse(stdout) };
}

/** One raw request; the answer's head as text. */
async function rawHead(port, request) {
  const socket = net.connect(port, '127.0.0.1');
  await once(socket, 'connect');
  socket.write(request);  // not end(): a half-closed client may go unanswered; Connection: close ends it
  let text = '';
  socket.setEncoding('utf8');
  for await (const chunk of socket) text += chunk;
  return text.slice(0, text.indexOf('\r\n\r\n'));
}

for (const host of Object.keys(HOSTS)) describe(`the ${host} adapter`, () => {
  const servers = [];
  after(() => servers.forEach((s) => s.stop()));

  test('with the blog post\'s policy: the PUT with JSON is allowed, a header it does not allow is refused', T, async () => {
    const server = await startServer(host, []);
    servers.push(server);
    const put = await check(server.port, ['--origin', PAGE, '--method', 'PUT', '--header', 'Content-Type: application/json']);
    assert.equal(put.code, 0, JSON.stringify(put.json));
    assert.equal(put.json.verdict, 'allowed');
    assert.equal(put.json.preflight, true);
    const secret = await check(server.port, ['--origin', PAGE, '--method', 'PUT', '--header', 'X-Secret: 1']);
    assert.equal(secret.code, 1);
    assert.equal(secret.json.blocked_by, 'preflight_missing_allow_origin_header');
    assert.equal(secret.json.fix, 'add "x-secret" to the route\'s allow_headers');
  });

  test('with a listed origin: it is allowed, any other is not, credentials are not', T, async () => {
    const server = await startServer(host, ['https://app.example.com']);
    servers.push(server);
    const ok = await check(server.port, ['--origin', 'https://app.example.com', '--method', 'DELETE']);
    assert.equal(ok.json.verdict, 'allowed', JSON.stringify(ok.json));
    const other = await check(server.port, ['--origin', 'https://evil.example', '--method', 'DELETE']);
    assert.equal(other.json.verdict, 'blocked');
    const cookies = await check(server.port, ['--origin', 'https://app.example.com', '--credentials']);
    assert.equal(cookies.json.blocked_by, 'invalid_allow_credentials');
  });

  test('an accepted preflight is 204 with no body and no Content-Length; a refused one is 403 with the reason', T,
    async () => {
      const server = await startServer(host, ['https://app.example.com']);
      servers.push(server);
      const accepted = await rawHead(server.port, 'OPTIONS /items/1 HTTP/1.1\r\nHost: x\r\nOrigin: https://app.example.com\r\n' +
        'Access-Control-Request-Method: PUT\r\nConnection: close\r\n\r\n');
      assert.match(accepted, /^HTTP\/1\.1 204 /);
      assert.match(accepted, /\r\nAccess-Control-Allow-Methods: PUT, DELETE\r\n/i);
      assert.match(accepted, /\r\nVary: Origin/i);
      if (HOSTS[host].emptyLength) {
        assert.match(accepted, /\r\nContent-Length: 0(\r\n|$)/i);
      } else {
        assert.doesNotMatch(accepted, /Content-Length/i);
      }
      const refused = await rawHead(server.port, 'OPTIONS /items/1 HTTP/1.1\r\nHost: x\r\nOrigin: https://evil.example\r\n' +
        'Access-Control-Request-Method: PUT\r\nConnection: close\r\n\r\n');
      assert.match(refused, /^HTTP\/1\.1 403 /);
      assert.doesNotMatch(refused, /Access-Control-Allow/i);
    });

  if (host === 'httplib') {
    test('the host\'s own 404 gets the policy\'s fields too', T, async () => {
      const server = await startServer(host, ['https://app.example.com']);
      servers.push(server);
      const head = await rawHead(server.port, 'GET /nothing-here HTTP/1.1\r\nHost: x\r\nOrigin: https://app.example.com\r\n' +
        'Connection: close\r\n\r\n');
      assert.match(head, /^HTTP\/1\.1 404 /);
      assert.match(head, /\r\nAccess-Control-Allow-Origin: https:\/\/app\.example\.com\r\n/i);
      assert.match(head, /\r\nVary: Origin/i);
    });
  }
});
