// One CORS policy engine, four hosts, the same answers: every case of policy_cases.mjs (derived from
// src/cors/policy_test.cpp) sent as a raw HTTP/1.1 request to corsd itself, the Boost.Beast example, the
// cpp-httplib example and Debian's nginx with corsd's module, each loading the same corsd config file (one
// [[routes]] prefix per case, so every host starts once). Each answer must have the case's status, exactly
// its Access-Control-* fields (each at most once) and its Vary tokens; Server, Date, Content-Length and the
// like differ from host to host and are not compared. Loopback only.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { startCorsd } from '../support/corsd.mjs';
import { startExample } from '../support/examples.mjs';
import { startNginx } from '../support/nginx.mjs';
import { CASES } from './policy_cases.mjs';

const T = { timeout: 10_000 };
const HOSTS = ['corsd', 'beast', 'httplib', 'nginx'];
const WITH_EMPTY_BODY = new Set(['PUT', 'POST', 'PATCH', 'DELETE']);

const prefixOf = (c) => `/items/${c.id}`;

/** The one config file: every case's routes, "{prefix}" made its own. */
function configFile() {
  return CASES.map((c) => `# ${c.id}: ${c.name}\n${c.policy.replaceAll('{prefix}', prefixOf(c))}`).join('\n');
}

const STARTERS = {
  corsd: async (file) => {
    const corsd = await startCorsd(['--config', file, '--listen', '127.0.0.1:0', '--no-demo']);
    return { port: corsd.port, stop: () => corsd.stop() };
  },
  beast: (file) => startExample('examples/beast/beast_server', ['--policy', file]),
  httplib: (file) => startExample('examples/httplib/httplib_server', ['--policy', file]),
  nginx: async (_file, toml) => {
    const nginx = await startNginx({
      module: true,
      files: { 'policy.toml': toml },
      http: (dir, port) => `  access_log off;
  server {
    listen 127.0.0.1:${port};
    location / {
      corsd_policy ${dir}/policy.toml;
      return 200 "ok";
    }
  }`,
    });
    return { port: nginx.port, stop: () => nginx.stop() };
  },
};

/**
 * Sends `c`'s request as raw bytes; resolves to { status, lines: [[name, value]...] } of the answer's head as
 * soon as the head is complete (a host that answers before reading the request's fields, as cpp-httplib does
 * an unknown method, may keep the connection open despite Connection: close).
 */
function send(port, c) {
  const { method, path, headers } = c.request;
  const lines = [`${method} ${prefixOf(c)}${path} HTTP/1.1`, 'Host: 127.0.0.1'];
  for (const [name, value] of headers) lines.push(`${name}: ${value}`);
  if (WITH_EMPTY_BODY.has(method)) lines.push('Content-Length: 0');
  lines.push('Connection: close', '', '');
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let text = '';
    let done = false;
    const finish = (err, value) => {
      if (done) return;
      done = true;
      socket.destroy();
      if (err) reject(err); else resolve(value);
    };
    const parse = (end) => {
      const [statusLine, ...fieldLines] = text.slice(0, end).split('\r\n');
      const m = statusLine.match(/^HTTP\/1\.[01] (\d{3})/);
      if (!m) return finish(new Error(`not a status line: ${JSON.stringify(statusLine)}`));
      finish(null, {
        status: Number(m[1]),
        lines: fieldLines.map((l) => {
          const colon = l.indexOf(':');
          return [l.slice(0, colon), l.slice(colon + 1).trim()];
        }),
      });
    };
    socket.setTimeout(5000, () => finish(new Error(`no complete answer head within 5 s: ${JSON.stringify(text)}`)));
    socket.setEncoding('latin1');
    socket.on('connect', () => socket.write(lines.join('\r\n')));
    socket.on('data', (d) => {
      text += d;
      const end = text.indexOf('\r\n\r\n');
      if (end >= 0) parse(end);
    });
    socket.on('error', (err) => finish(err));
    socket.on('close', () => finish(new Error(`the connection closed before a complete head: ${JSON.stringify(text)}`)));
  });
}

/** The CORS outcome of an answer: status, Access-Control-* fields (lowercased names), Vary tokens. */
function outcome({ status, lines }) {
  const fields = {};
  const repeated = [];
  const vary = new Set();
  for (const [name, value] of lines) {
    const lower = name.toLowerCase();
    if (lower.startsWith('access-control-')) {
      if (lower in fields) repeated.push(lower);
      fields[lower] = value;
    } else if (lower === 'vary') {
      for (const token of value.split(',')) if (token.trim()) vary.add(token.trim().toLowerCase());
    }
  }
  return { status, fields, vary: [...vary].sort(), repeated };
}

function expected(c, host) {
  const e = c.expect.deviations?.[host] ?? c.expect;
  return {
    status: e.hostStatus?.[host] ?? e.status,
    fields: e.fields,
    vary: [...new Set(e.vary.map((t) => t.toLowerCase()))].sort(),
    repeated: [],
  };
}

describe('one policy file, every case through every host', () => {
  const dir = mkdtempSync(join(tmpdir(), 'corsd-policy-cases-'));
  const toml = configFile();
  const file = join(dir, 'policy.toml');
  const servers = {};

  before(async () => {
    writeFileSync(file, toml);
    const started = await Promise.allSettled(HOSTS.map((h) => STARTERS[h](file, toml)));
    HOSTS.forEach((h, i) => { servers[h] = started[i].status === 'fulfilled' ? started[i].value : { error: started[i].reason }; });
  });

  after(async () => {
    await Promise.all(Object.values(servers).map((s) => s.stop?.()));
    rmSync(dir, { recursive: true, force: true });
  });

  test('the cases are well formed: unique ids, one route prefix each, paths under /items/', () => {
    assert.ok(CASES.length >= 30, `${CASES.length} cases`);
    assert.equal(new Set(CASES.map((c) => c.id)).size, CASES.length);
    for (const c of CASES) {
      assert.match(c.policy, /path = "\{prefix\}/, c.id);
      assert.match(`${prefixOf(c)}${c.request.path}`, /^\/items\/[^/]+\//, c.id);
      for (const h of Object.keys(c.expect.hostStatus ?? {})) assert.ok(HOSTS.includes(h), `${c.id}: host ${h}`);
      for (const [h, d] of Object.entries(c.expect.deviations ?? {})) {
        assert.ok(HOSTS.includes(h) && h !== 'corsd', `${c.id}: a deviation of host ${h}`);
        assert.ok(d.why, `${c.id}: the deviation of ${h} says why`);
      }
      for (const name of Object.keys(c.expect.fields)) assert.equal(name, name.toLowerCase(), c.id);
    }
  });

  for (const host of HOSTS) {
    describe(host, () => {
      for (const c of CASES) {
        const deviation = c.expect.deviations?.[host];
        test(`${c.id} ${c.name}${deviation ? ` (${host} deviates: ${deviation.why})` : ''}`, T, async () => {
          const server = servers[host];
          if (server.error) throw server.error;
          const got = outcome(await send(server.port, c));
          assert.deepEqual(got, expected(c, host),
            `${c.id} on ${host} (from ${c.from}): ${c.request.method} ${prefixOf(c)}${c.request.path} ` +
            JSON.stringify(c.request.headers));
        });
      }
    });
  }
});
