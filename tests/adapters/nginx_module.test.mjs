// corsd's nginx module (build/ngx_http_corsd_module.so) in Debian's nginx, started by this test in its own
// temporary directory on a free loopback port, in front of a small Node.js upstream that is as awkward as
// real APIs are: it sends its own `Access-Control-Allow-Origin: *` and other Access-Control-* fields, two
// Vary lines, a 401. Every answer is read header line by header line (rawHeaders), duplicates included.
//
//   CORSD_BUILD_DIR=build CORSD_BIN=build/corsd node --test tests/adapters/nginx_module.test.mjs
//
// What is checked: preflights are answered by the module in the rewrite phase (204 with the policy's
// fields, or 403 with the reason), ahead of `return`, auth_basic and proxy_pass, and never reach the
// upstream; every other answer of a location with a policy (the upstream's, add_header's, nginx's own
// 401/404/502 pages) carries exactly the policy's CORS fields, with Vary merged into one line; a path no
// route covers, or a location with `corsd_policy off;`, is left alone; `nginx -t` reports a bad policy file
// as "FILE:LINE: ... fix: ...". Loopback only.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';

import { freePort } from '../support/net.mjs';
import { nginxTest, startNginx } from '../support/nginx.mjs';

const T = { timeout: 10_000 };
const APP = 'https://app.example.com';      // the origin /api/ allows, with credentials
const EVIL = 'https://evil.example';        // an origin no route allows
const HOST = 'corsd.test';                  // the server with corsd_policy at server level
const INHERIT_HOST = 'inherit.test';        // the server that inherits corsd_policy from http {}
const PREFLIGHT_VARY = 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers';

// The policies, one [[routes]] table each; the main server's corsd_policy.
const POLICY = `# corsd policies for the nginx module test
[[routes]]
path = "/api/"
allow_origins = ["${APP}"]
allow_credentials = true
allow_methods = ["PUT", "DELETE"]
allow_headers = ["content-type", "x-token"]
expose_headers = ["x-upstream"]
max_age = 600

[[routes]]
path = "/api/pass/"
allow_origins = ["${APP}"]
allow_methods = ["PUT"]
preflight_passthrough = true

[[routes]]
path = "/public/"
allow_origins = ["*"]
allow_methods = ["PATCH"]
max_age = 60
`;

// corsd_policy in http {}: what the second server inherits.
const HTTP_LEVEL_POLICY = `[[routes]]
path = "/"
allow_origins = ["https://inherit.example"]
`;

// --- The upstream ----------------------------------------------------------------------------------------

/** A Node.js API on 127.0.0.1: { port, seen (every request it got), close() }. */
async function startUpstream() {
  const seen = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      seen.push({ method: req.method, url: req.url, headers: req.headers, body });
      const echo = JSON.stringify({ method: req.method, url: req.url, body });
      // What too many APIs send: CORS fields of their own, which the policy must replace.
      res.setHeader('Access-Control-Allow-Origin', '*');
      res.setHeader('Access-Control-Allow-Credentials', 'true');
      res.setHeader('Access-Control-Allow-Methods', '*');
      res.setHeader('Access-Control-Expose-Headers', 'x-other');
      res.setHeader('Access-Control-Max-Age', '99');
      res.setHeader('Vary', ['Accept-Encoding', 'Accept-Language']);  // two Vary lines
      res.setHeader('X-Upstream', 'node');
      res.setHeader('Content-Type', 'application/json');
      if (req.url.startsWith('/api/unauthorized')) {
        res.setHeader('WWW-Authenticate', 'Bearer realm="api"');
        res.writeHead(401);
        res.end('{"error":"unauthorized"}');
        return;
      }
      res.writeHead(200);
      res.end(echo);
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, resolve);
  });
  return {
    port: server.address().port,
    seen,
    /** The requests whose URL carries `marker` (each test uses its own query string). */
    saw: (marker) => seen.filter((r) => r.url.includes(marker)),
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }),
  };
}

// --- nginx ---------------------------------------------------------------------------------------------

function nginxHttp(upstream, down) {
  const up = `http://127.0.0.1:${upstream}`;
  return (dir, port) => `
  access_log ${dir}/access.log;
  proxy_connect_timeout 2s;
  proxy_read_timeout 5s;
  corsd_policy ${dir}/http-level.toml;

  server {
    listen 127.0.0.1:${port};
    server_name ${HOST};
    corsd_policy ${dir}/cors.toml;

    location / { proxy_pass ${up}; }
    location /api/gone/ { return 404; }
    location /api/static/ { root ${dir}/www; }
    location /api/down/ { proxy_pass http://127.0.0.1:${down}; }
    # The classic recipe, which the policy replaces.
    location /api/recipe/ {
      if ($request_method = 'OPTIONS') {
        add_header Access-Control-Allow-Origin * always;
        add_header Access-Control-Allow-Methods "GET, POST, OPTIONS" always;
        add_header Access-Control-Allow-Headers * always;
        return 204;
      }
      add_header Access-Control-Allow-Origin * always;
      add_header Access-Control-Allow-Credentials false always;
      add_header Access-Control-Expose-Headers * always;
      add_header Vary Accept always;
      add_header X-Recipe yes always;
      return 200 "recipe\\n";
    }
    location /api/private/ {
      auth_basic "corsd test";
      auth_basic_user_file ${dir}/htpasswd;
      proxy_pass ${up};
    }
    location /api/deep/ {
      location /api/deep/inner/ { return 200 "inner\\n"; }
      return 200 "outer\\n";
    }
    location /api/off/ {
      corsd_policy off;
      proxy_pass ${up};
    }
  }

  server {
    listen 127.0.0.1:${port};
    server_name ${INHERIT_HOST};
    location /api/ { return 200 "from the http-level policy\\n"; }
    location /api/off/ {
      corsd_policy off;
      return 200 "off\\n";
    }
  }`;
}

// --- Requests ------------------------------------------------------------------------------------------

let nginx;
let upstream;

/** An answer: status, every header line as [name, value] in order, the body. */
function answer(res, body) {
  const lines = [];
  for (let i = 0; i < res.rawHeaders.length; i += 2) lines.push([res.rawHeaders[i], res.rawHeaders[i + 1]]);
  const all = (name) => lines.filter(([n]) => n.toLowerCase() === name.toLowerCase()).map(([, v]) => v);
  return {
    status: res.statusCode,
    lines,
    body,
    all,
    /** The value of the one line named `name` (there must be exactly one). */
    one(name) {
      const values = all(name);
      assert.equal(values.length, 1, `exactly one ${name} line expected, got ${JSON.stringify(values)}\n${this.dump()}`);
      return values[0];
    },
    /** The Access-Control-* lines, as { lowercase name: value }; duplicates fail. */
    cors() {
      const out = {};
      for (const [n, v] of lines) {
        const key = n.toLowerCase();
        if (!key.startsWith('access-control-')) continue;
        assert.ok(!(key in out), `duplicate ${n}\n${this.dump()}`);
        out[key] = v;
      }
      return out;
    },
    dump: () => `HTTP ${res.statusCode}\n${lines.map(([n, v]) => `${n}: ${v}`).join('\n')}\n\n${body}`,
  };
}

/** One request to nginx on a connection of its own (raw node:http, so every header line is seen). */
function send(path, { method = 'GET', headers = {}, body, host = HOST } = {}) {
  return new Promise((resolve, reject) => {
    const h = { Host: host, ...headers };
    if (body !== undefined) h['Content-Length'] = Buffer.byteLength(body);
    const req = http.request({ host: '127.0.0.1', port: nginx.port, method, path, headers: h, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve(answer(res, Buffer.concat(chunks).toString())));
      res.on('error', reject);
    });
    req.setTimeout(5000, () => req.destroy(new Error(`${method} ${path}: no answer within 5 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** A preflight from `origin` for `method` with `requestHeaders` (a string, or none). */
function preflight(path, { origin = APP, method = 'PUT', requestHeaders, host } = {}) {
  const headers = { Origin: origin, 'Access-Control-Request-Method': method };
  if (requestHeaders !== undefined) headers['Access-Control-Request-Headers'] = requestHeaders;
  return send(path, { method: 'OPTIONS', headers, host });
}

/** The answer to an allowed actual request on /api/: exactly the policy's fields. */
function assertApiFields(res, origin = APP) {
  assert.deepEqual(res.cors(), {
    'access-control-allow-origin': origin,
    'access-control-allow-credentials': 'true',
    'access-control-expose-headers': 'x-upstream',
  }, res.dump());
}

// --- The tests -----------------------------------------------------------------------------------------

describe('the nginx module', () => {
  before(async () => {
    upstream = await startUpstream();
    const down = await freePort();  // nothing listens there: nginx answers 502
    const hash = execFileSync('openssl', ['passwd', '-apr1', 'secret'], { encoding: 'utf8', timeout: 5000 }).trim();
    nginx = await startNginx({
      http: nginxHttp(upstream.port, down),
      module: true,
      files: {
        'cors.toml': POLICY,
        'http-level.toml': HTTP_LEVEL_POLICY,
        htpasswd: `user:${hash}\n`,
        'www/api/static/present.txt': 'present\n',
      },
    });
  });
  after(async () => {
    await nginx?.stop();
    await upstream?.close();
  });

  test('an accepted preflight is 204 with exactly the policy\'s fields and never reaches the upstream', T, async () => {
    const res = await preflight('/api/items?t=preflight-ok', { requestHeaders: 'content-type, x-token' });
    assert.equal(res.status, 204, res.dump());
    assert.deepEqual(res.cors(), {
      'access-control-allow-origin': APP,
      'access-control-allow-credentials': 'true',
      'access-control-allow-methods': 'PUT, DELETE',
      'access-control-allow-headers': 'content-type, x-token',
      'access-control-max-age': '600',
    }, res.dump());
    assert.equal(res.one('Vary'), PREFLIGHT_VARY);
    assert.deepEqual(res.all('Content-Length'), [], res.dump());
    assert.deepEqual(res.all('Transfer-Encoding'), [], res.dump());
    assert.equal(res.body, '');
    assert.deepEqual(upstream.saw('preflight-ok'), []);
  });

  test('a rejected preflight is 403 with the reason and no Access-Control-Allow-* fields', T, async () => {
    const cases = [
      [{ origin: EVIL }, 'CORS preflight rejected: origin_not_allowed\n'],
      [{ method: 'PATCH' }, 'CORS preflight rejected: method_not_allowed: PATCH\n'],
      [{ requestHeaders: 'content-type, x-secret' }, 'CORS preflight rejected: header_not_allowed: x-secret\n'],
    ];
    for (const [i, [options, reason]] of cases.entries()) {
      const res = await preflight(`/api/items?t=preflight-no-${i}`, options);
      assert.equal(res.status, 403, res.dump());
      assert.equal(res.body, reason, res.dump());
      assert.equal(res.one('Content-Type'), 'text/plain; charset=utf-8');
      assert.equal(res.one('X-Content-Type-Options'), 'nosniff');
      assert.equal(Number(res.one('Content-Length')), Buffer.byteLength(reason));
      assert.deepEqual(res.cors(), {}, res.dump());
      assert.equal(res.one('Vary'), PREFLIGHT_VARY);
      assert.deepEqual(upstream.saw(`preflight-no-${i}`), [], `${reason}: the upstream saw the preflight`);
    }
  });

  test('a preflight is answered ahead of return, auth_basic and proxy_pass to a dead upstream', T, async () => {
    for (const path of ['/api/gone/x', '/api/private/x', '/api/down/x', '/api/deep/inner/x', '/api/recipe/x']) {
      const res = await preflight(path, { requestHeaders: 'x-token' });
      assert.equal(res.status, 204, `${path}\n${res.dump()}`);
      assert.equal(res.cors()['access-control-allow-origin'], APP, path);
      assert.equal(res.cors()['access-control-allow-methods'], 'PUT, DELETE', path);
    }
  });

  test('on one kept-alive connection: preflights with bodies, accepted and rejected, then requests', T, async () => {
    const socket = net.connect(nginx.port, '127.0.0.1');
    socket.setTimeout(5000, () => socket.destroy(new Error('no answer within 5 s')));
    const preflightWith = (origin, body) => `OPTIONS /api/items?t=pipelined HTTP/1.1\r\nHost: ${HOST}\r\nOrigin: ${origin}\r\n` +
      `Access-Control-Request-Method: PUT\r\n${body}`;
    socket.write(
      preflightWith(APP, 'Content-Length: 5\r\n\r\nhello') +
      preflightWith(EVIL, 'Content-Length: 5\r\n\r\nhello') +
      preflightWith(APP, 'Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n') +
      `GET /api/items?t=pipelined HTTP/1.1\r\nHost: ${HOST}\r\nOrigin: ${APP}\r\nOrigin: ${APP}\r\n\r\n` +
      `GET /api/items?t=pipelined HTTP/1.1\r\nHost: ${HOST}\r\nOrigin: ${APP}\r\nConnection: close\r\n\r\n`);
    let text = '';
    socket.setEncoding('utf8');
    for await (const chunk of socket) text += chunk;
    const statuses = [...text.matchAll(/^HTTP\/1\.1 (\d{3}) /gm)].map((m) => Number(m[1]));
    assert.deepEqual(statuses, [204, 403, 204, 200, 200], text);
    const heads = text.split(/^(?=HTTP\/1\.1 )/m);
    assert.match(heads[0], /\r\nAccess-Control-Allow-Origin: https:\/\/app\.example\.com\r\n/);
    assert.match(heads[1], /\r\n\r\nCORS preflight rejected: origin_not_allowed\n$/);
    // Origin twice is no origin the policy can allow: the upstream's "*" goes, nothing replaces it.
    assert.doesNotMatch(heads[3], /Access-Control-/i);
    assert.match(heads[4], /\r\nAccess-Control-Allow-Origin: https:\/\/app\.example\.com\r\n/);
    assert.deepEqual(upstream.saw('t=pipelined').map((r) => r.method), ['GET', 'GET']);
  });

  test('an allowed request through proxy_pass: the upstream\'s CORS fields are replaced, Vary merged into one line', T,
    async () => {
      const res = await send('/api/items?t=actual', { headers: { Origin: APP } });
      assert.equal(res.status, 200, res.dump());
      assert.equal(res.one('Access-Control-Allow-Origin'), APP);
      assertApiFields(res);
      assert.equal(res.one('Vary'), 'Accept-Encoding, Accept-Language, Origin');
      assert.equal(res.one('X-Upstream'), 'node');
      assert.deepEqual(JSON.parse(res.body), { method: 'GET', url: '/api/items?t=actual', body: '' });
      assert.equal(upstream.saw('t=actual').length, 1);
      assert.equal(upstream.saw('t=actual')[0].headers.origin, APP);
    });

  test('a request from a disallowed origin gets no CORS fields but still passes through', T, async () => {
    const res = await send('/api/items?t=evil', { headers: { Origin: EVIL } });
    assert.equal(res.status, 200, res.dump());
    assert.deepEqual(res.cors(), {}, res.dump());
    assert.equal(res.one('Vary'), 'Accept-Encoding, Accept-Language, Origin');
    assert.equal(res.one('X-Upstream'), 'node');
    assert.equal(JSON.parse(res.body).url, '/api/items?t=evil');
    assert.equal(upstream.saw('t=evil').length, 1);
  });

  test('errors carry the policy\'s fields: the upstream\'s 401, nginx\'s 404s, a 502 with the upstream down', T,
    async () => {
      const unauthorized = await send('/api/unauthorized?t=401', { headers: { Origin: APP } });
      assert.equal(unauthorized.status, 401, unauthorized.dump());
      assert.equal(unauthorized.one('WWW-Authenticate'), 'Bearer realm="api"');
      assertApiFields(unauthorized);
      assert.equal(unauthorized.one('Vary'), 'Accept-Encoding, Accept-Language, Origin');
      assert.equal(unauthorized.body, '{"error":"unauthorized"}');

      for (const [path, status] of [['/api/gone/x', 404], ['/api/static/missing.txt', 404], ['/api/down/x', 502]]) {
        const res = await send(path, { headers: { Origin: APP } });
        assert.equal(res.status, status, `${path}\n${res.dump()}`);
        assert.match(res.body, new RegExp(`<title>${status} `), `${path}: nginx's own error page`);
        assertApiFields(res);
        assert.equal(res.one('Vary'), 'Origin', path);
      }

      const present = await send('/api/static/present.txt', { headers: { Origin: APP } });
      assert.equal(present.status, 200, present.dump());
      assert.equal(present.body, 'present\n');
      assertApiFields(present);
    });

  test('add_header Access-Control-Allow-Origin * always (the classic recipe) is replaced', T, async () => {
    const res = await send('/api/recipe/x', { headers: { Origin: APP } });
    assert.equal(res.status, 200, res.dump());
    assert.equal(res.body, 'recipe\n');
    assert.equal(res.one('Access-Control-Allow-Origin'), APP);
    assertApiFields(res);
    assert.equal(res.one('Vary'), 'Accept, Origin');
    assert.equal(res.one('X-Recipe'), 'yes');

    // The recipe's `if (OPTIONS) { return 204; }` never sees a preflight: the policy answers it.
    const refused = await preflight('/api/recipe/x', { requestHeaders: 'x-secret' });
    assert.equal(refused.status, 403, refused.dump());
    assert.deepEqual(refused.cors(), {}, refused.dump());
    const accepted = await preflight('/api/recipe/x', { requestHeaders: 'content-type' });
    assert.equal(accepted.status, 204, accepted.dump());
    assert.equal(accepted.one('Access-Control-Allow-Origin'), APP);
    assert.equal(accepted.one('Access-Control-Allow-Methods'), 'PUT, DELETE');
    assert.equal(accepted.one('Access-Control-Allow-Headers'), 'content-type, x-token');
  });

  test('auth_basic: the preflight is 204 without credentials, the request without them 401 with CORS', T, async () => {
    const pre = await preflight('/api/private/data?t=auth-pre', { requestHeaders: 'content-type' });
    assert.equal(pre.status, 204, pre.dump());
    assert.equal(pre.one('Access-Control-Allow-Origin'), APP);
    assert.equal(pre.one('Access-Control-Allow-Credentials'), 'true');
    assert.deepEqual(pre.all('WWW-Authenticate'), []);

    const denied = await send('/api/private/data?t=auth-denied', { headers: { Origin: APP } });
    assert.equal(denied.status, 401, denied.dump());
    assert.equal(denied.one('WWW-Authenticate'), 'Basic realm="corsd test"');
    assertApiFields(denied);
    assert.equal(denied.one('Vary'), 'Origin');

    const authorization = `Basic ${Buffer.from('user:secret').toString('base64')}`;
    const allowed = await send('/api/private/data?t=auth-ok', { headers: { Origin: APP, Authorization: authorization } });
    assert.equal(allowed.status, 200, allowed.dump());
    assertApiFields(allowed);
    assert.equal(allowed.one('Vary'), 'Accept-Encoding, Accept-Language, Origin');
    assert.deepEqual(upstream.saw('t=auth-pre'), []);
    assert.deepEqual(upstream.saw('t=auth-denied'), []);
    assert.equal(upstream.saw('t=auth-ok').length, 1);
  });

  test('a file of several routes: /api/ and /public/ have their own policies, other paths none', T, async () => {
    // /public/: any origin, "*", no credentials, nothing varies by origin.
    const pub = await send('/public/page?t=public', { headers: { Origin: 'https://anyone.example' } });
    assert.equal(pub.status, 200, pub.dump());
    assert.deepEqual(pub.cors(), { 'access-control-allow-origin': '*' }, pub.dump());
    assert.equal(pub.one('Vary'), 'Accept-Encoding, Accept-Language');
    const pubPre = await preflight('/public/page?t=public-pre', { origin: 'https://anyone.example', method: 'PATCH' });
    assert.equal(pubPre.status, 204, pubPre.dump());
    assert.deepEqual(pubPre.cors(), {
      'access-control-allow-origin': '*',
      'access-control-allow-methods': 'PATCH',
      'access-control-max-age': '60',
    }, pubPre.dump());
    assert.equal(pubPre.one('Vary'), 'Access-Control-Request-Method, Access-Control-Request-Headers');
    // PATCH is /public/'s, not /api/'s.
    const apiPatch = await preflight('/api/items?t=api-patch', { method: 'PATCH' });
    assert.equal(apiPatch.status, 403, apiPatch.dump());

    // /api/pass/ (the longest prefix): an accepted preflight goes to the upstream, its answer gets the fields.
    const pass = await preflight('/api/pass/x?t=pass');
    assert.equal(pass.status, 200, pass.dump());
    assert.deepEqual(pass.cors(), {
      'access-control-allow-origin': APP,
      'access-control-allow-methods': 'PUT',
    }, pass.dump());
    assert.equal(upstream.saw('t=pass').length, 1);
    assert.equal(upstream.saw('t=pass')[0].method, 'OPTIONS');
    const passRefused = await preflight('/api/pass/x?t=pass-refused', { method: 'DELETE' });
    assert.equal(passRefused.status, 403, passRefused.dump());
    assert.deepEqual(upstream.saw('t=pass-refused'), []);

    // No route covers /other/ (nor /apix, not at a segment boundary): the upstream's answer is untouched.
    for (const path of ['/other/page?t=other', '/apix/page?t=apix']) {
      const other = await send(path, { headers: { Origin: APP } });
      assert.equal(other.status, 200, other.dump());
      assert.equal(other.one('Access-Control-Allow-Origin'), '*', path);
      assert.equal(other.one('Access-Control-Allow-Methods'), '*', path);
      assert.equal(other.one('Access-Control-Expose-Headers'), 'x-other', path);
      assert.deepEqual(other.all('Vary'), ['Accept-Encoding', 'Accept-Language'], path);
    }
    const otherPre = await preflight('/other/page?t=other-pre', { origin: EVIL });
    assert.equal(otherPre.status, 200, otherPre.dump());
    assert.equal(upstream.saw('t=other-pre').length, 1, 'the preflight of a path no route covers goes upstream');
  });

  test('inheritance: server-level corsd_policy applies in a nested location, http-level in a server; off turns it off',
    T, async () => {
      const inner = await send('/api/deep/inner/x', { headers: { Origin: APP } });
      assert.equal(inner.status, 200, inner.dump());
      assert.equal(inner.body, 'inner\n');
      assertApiFields(inner);
      assert.equal(inner.one('Vary'), 'Origin');
      const outer = await send('/api/deep/x', { headers: { Origin: APP } });
      assert.equal(outer.body, 'outer\n');
      assertApiFields(outer);

      // corsd_policy off: the upstream's own fields stay, preflights go to it.
      const off = await send('/api/off/x?t=off', { headers: { Origin: APP } });
      assert.equal(off.status, 200, off.dump());
      assert.equal(off.one('Access-Control-Allow-Origin'), '*');
      assert.equal(off.one('Access-Control-Max-Age'), '99');
      assert.deepEqual(off.all('Vary'), ['Accept-Encoding', 'Accept-Language']);
      const offPre = await preflight('/api/off/x?t=off-pre', { origin: EVIL });
      assert.equal(offPre.status, 200, offPre.dump());
      assert.equal(offPre.one('Access-Control-Allow-Origin'), '*');
      assert.equal(upstream.saw('t=off-pre').length, 1);

      // The second server has no corsd_policy of its own: http {}'s applies; the server-level one overrides it.
      const inherited = await send('/api/x', { host: INHERIT_HOST, headers: { Origin: 'https://inherit.example' } });
      assert.equal(inherited.status, 200, inherited.dump());
      assert.deepEqual(inherited.cors(), { 'access-control-allow-origin': 'https://inherit.example' }, inherited.dump());
      assert.equal(inherited.one('Vary'), 'Origin');
      const inheritedPre = await preflight('/api/x', { host: INHERIT_HOST, origin: APP, method: 'GET' });
      assert.equal(inheritedPre.status, 403, inheritedPre.dump());
      assert.equal(inheritedPre.body, 'CORS preflight rejected: origin_not_allowed\n');
      const overridden = await send('/api/items?t=override', { headers: { Origin: 'https://inherit.example' } });
      assert.deepEqual(overridden.cors(), {}, overridden.dump());
      const inheritedOff = await send('/api/off/x', { host: INHERIT_HOST, headers: { Origin: 'https://inherit.example' } });
      assert.equal(inheritedOff.body, 'off\n');
      assert.deepEqual(inheritedOff.cors(), {}, inheritedOff.dump());
      assert.deepEqual(inheritedOff.all('Vary'), []);
      const inheritedOffPre = await preflight('/api/off/x', { host: INHERIT_HOST, origin: 'https://inherit.example' });
      assert.equal(inheritedOffPre.status, 200, inheritedOffPre.dump());
      assert.equal(inheritedOffPre.body, 'off\n');
    });

  test('no Origin: no CORS fields, but Vary: Origin where the policy varies by origin', T, async () => {
    // /api/ lists its origins: what it answers depends on Origin, so caches must know.
    const api = await send('/api/items?t=no-origin');
    assert.equal(api.status, 200, api.dump());
    assert.deepEqual(api.cors(), {}, api.dump());
    assert.equal(api.one('Vary'), 'Accept-Encoding, Accept-Language, Origin');
    const gone = await send('/api/gone/x');
    assert.equal(gone.status, 404);
    assert.deepEqual(gone.cors(), {}, gone.dump());
    assert.equal(gone.one('Vary'), 'Origin');
    // /public/ allows any origin: the same "*" for every request, Origin or not, and no Vary of its own.
    const pub = await send('/public/page?t=no-origin');
    assert.deepEqual(pub.cors(), { 'access-control-allow-origin': '*' }, pub.dump());
    assert.equal(pub.one('Vary'), 'Accept-Encoding, Accept-Language');
    // OPTIONS without Origin is no preflight: it goes upstream.
    const options = await send('/api/items?t=no-origin-options', { method: 'OPTIONS',
      headers: { 'Access-Control-Request-Method': 'PUT' } });
    assert.equal(options.status, 200, options.dump());
    assert.deepEqual(options.cors(), {}, options.dump());
    assert.equal(upstream.saw('t=no-origin-options').length, 1);
  });

  test('HEAD and a PUT with a JSON body pass through with CORS', T, async () => {
    const head = await send('/api/items?t=head', { method: 'HEAD', headers: { Origin: APP } });
    assert.equal(head.status, 200, head.dump());
    assert.equal(head.body, '');
    assertApiFields(head);
    assert.equal(head.one('Vary'), 'Accept-Encoding, Accept-Language, Origin');
    assert.equal(upstream.saw('t=head').length, 1);
    assert.equal(upstream.saw('t=head')[0].method, 'HEAD');

    const json = JSON.stringify({ name: 'corsd', tags: ['nginx', 'cors'] });
    const put = await send('/api/items/1?t=put', { method: 'PUT', body: json,
      headers: { Origin: APP, 'Content-Type': 'application/json' } });
    assert.equal(put.status, 200, put.dump());
    assertApiFields(put);
    assert.equal(put.one('Vary'), 'Accept-Encoding, Accept-Language, Origin');
    assert.deepEqual(JSON.parse(put.body), { method: 'PUT', url: '/api/items/1?t=put', body: json });
    const seen = upstream.saw('t=put');
    assert.equal(seen.length, 1);
    assert.equal(seen[0].headers['content-type'], 'application/json');
    assert.equal(seen[0].body, json);
  });
});

describe('nginx -t', () => {
  test('a bad policy fails with FILE:LINE:, the rule and the fix', T, () => {
    let policy = '';
    const run = nginxTest({
      module: true,
      files: {
        'bad.toml': '[[routes]]\npath = "/api/"\nallow_origins = ["*"]\nallow_credentials = true\n',
      },
      http: (dir) => {
        policy = `${dir}/bad.toml`;
        return `  corsd_policy ${dir}/bad.toml;\n`;
      },
    });
    assert.notEqual(run.status, 0, run.output);
    assert.ok(run.output.includes(`corsd_policy: ${policy}:3: route "/api/": allow_origins: `), run.output);
    assert.match(run.output, /credentials cannot be allowed for every origin/);
    assert.match(run.output, /\n {2}fix: list the origins that may send credentials\n/);
    assert.match(run.output, /nginx\.conf:\d+/, 'the corsd_policy directive is located too');
    assert.match(run.output, /test failed/);
  });

  test('a missing policy file fails naming it', T, () => {
    let policy = '';
    const run = nginxTest({
      module: true,
      http: (dir) => {
        policy = `${dir}/missing.toml`;
        return `  corsd_policy ${policy};\n`;
      },
    });
    assert.notEqual(run.status, 0, run.output);
    assert.ok(run.output.includes(`corsd_policy: ${policy}: cannot read the file`), run.output);
    assert.match(run.output, /\n {2}fix: /);
  });

  test('a good policy passes', T, async () => {
    const port = await freePort();
    const run = nginxTest({
      module: true,
      files: { 'cors.toml': POLICY },
      http: (dir) => `  corsd_policy ${dir}/cors.toml;\n` +
        `  server { listen 127.0.0.1:${port}; location /api/off/ { corsd_policy off; } }\n`,
    });
    assert.equal(run.status, 0, run.output);
    assert.match(run.output, /syntax is ok/);
    assert.match(run.output, /test is successful/);
  });
});
