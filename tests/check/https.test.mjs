// corsd check over HTTPS: against a Node.js https server with a certificate made for the test (openssl, from
// Debian), a check with --insecure gets the server's answer judged; without it, the unknown certificate is
// said as it is (exit 2, "could not check"), never dressed up as a CORS verdict. Loopback only.

import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { corsdBin } from '../support/corsd.mjs';

const T = { timeout: 30_000 };
const PAGE = 'https://app.example.com';

/** Runs corsd check (asynchronously: the server answers from this same process). */
async function check(args) {
  const proc = spawn(corsdBin(), ['check', ...args, '--json', '--timeout', '5'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout.setEncoding('utf8').on('data', (d) => { stdout += d; });
  proc.stderr.setEncoding('utf8').on('data', (d) => { stderr += d; });
  const [code] = await once(proc, 'exit');
  return { code, json: stdout ? JSON.parse(stdout) : null, stderr };
}

describe('corsd check over HTTPS', () => {
  let dir;
  let server;
  let url;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'corsd-check-https-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' });
    server = https.createServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) },
      (req, res) => {
        const headers = { 'access-control-allow-origin': PAGE, vary: 'Origin' };
        if (req.method === 'OPTIONS') {
          res.writeHead(204, { ...headers, 'access-control-allow-methods': 'PUT' });
        } else {
          res.writeHead(200, { ...headers, 'content-type': 'text/plain' });
        }
        res.end(req.method === 'OPTIONS' ? undefined : 'ok\n');
      });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `https://127.0.0.1:${server.address().port}/items/1`;
  });
  after(() => {
    server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('--insecure: the preflight and the request go over TLS and are judged', T, async () => {
    const r = await check([url, '--origin', PAGE, '--method', 'PUT', '--insecure']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json.verdict, 'allowed');
    assert.equal(r.json.preflight, true);
    assert.deepEqual(r.json.steps.map((s) => [s.method, s.status]), [['OPTIONS', 204], ['PUT', 200]]);
    assert.ok(r.json.notes.some((n) => /--insecure: the server's TLS certificate was NOT verified/.test(n)), r.json.notes);
  });

  test('without --insecure an unknown certificate is a failure to check, not a CORS verdict', T, async () => {
    const r = await check([url, '--origin', PAGE]);
    assert.equal(r.code, 2, JSON.stringify(r.json));
    assert.equal(r.json.verdict, 'unreachable');
    assert.equal(r.json.blocked_by, null);
    assert.match(r.json.error, /TLS with 127\.0\.0\.1:\d+ failed: .*certificate/);
    assert.match(r.json.error, /--insecure/);
  });

  test('a plain-http request to the TLS port is a failure to check', T, async () => {
    const r = await check([url.replace('https:', 'http:'), '--origin', PAGE]);
    assert.equal(r.code, 2, JSON.stringify(r.json));
    assert.equal(r.json.verdict, 'unreachable');
  });
});
