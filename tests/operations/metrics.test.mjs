// The admin listener: /metrics in the Prometheus text format (checked by Prometheus's own promtool, and
// against a golden list of names and labels), /livez, /readyz. Real corsd with two threads, a Node.js
// upstream, loopback only.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { startCorsd } from '../support/corsd.mjs';
import { freePort } from '../support/net.mjs';

const T = { timeout: 30_000 };
const ORIGIN = 'https://app.test';

/** Every family /metrics serves, its type, and the label names of its samples. */
const GOLDEN = {
  corsd_connections_open: ['gauge', []],
  corsd_connections_accepted_total: ['counter', []],
  corsd_connections_refused_total: ['counter', []],
  corsd_http_responses_total: ['counter', ['code']],
  corsd_http_request_body_bytes_total: ['counter', []],
  corsd_http_response_bytes_total: ['counter', []],
  corsd_http_request_duration_seconds: ['histogram', ['le']],
  corsd_cors_requests_total: ['counter', ['route', 'decision']],
  corsd_cors_rejections_total: ['counter', ['route', 'reason']],
  corsd_upstream_requests_total: ['counter', ['upstream']],
  corsd_upstream_errors_total: ['counter', ['upstream', 'kind']],
  corsd_upstream_idle_connections: ['gauge', ['upstream']],
  corsd_config_reloads_total: ['counter', ['result']],
  corsd_config_last_reload_successful: ['gauge', []],
  corsd_access_log_lines_total: ['counter', []],
  corsd_access_log_dropped_total: ['counter', []],
  corsd_debug_log_dropped_total: ['counter', []],
};

/** Parses the text format: { types: {family: type}, samples: [{ name, labels, value }] }. */
function parseMetrics(text) {
  const types = {};
  const samples = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const type = line.match(/^# TYPE (\S+) (\S+)$/);
    if (type) types[type[1]] = type[2];
    if (line.startsWith('#')) continue;
    const m = line.match(/^([a-z_]+)(?:\{(.*)\})? (\S+)$/);
    assert.ok(m, `not a sample line: ${line}`);
    const labels = {};
    for (const [, k, v] of (m[2] ?? '').matchAll(/([a-z_]+)="((?:[^"\\]|\\.)*)"/g)) labels[k] = v;
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return { types, samples };
}

/** The value of the one sample named `name` whose labels include `labels`. */
function value({ samples }, name, labels = {}) {
  const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  assert.equal(found.length, 1, `${name} ${JSON.stringify(labels)}: ${found.length} samples`);
  return found[0].value;
}

async function fetchText(url, init) {
  const res = await fetch(url, init);
  return { status: res.status, type: res.headers.get('content-type'), body: await res.text() };
}


describe('admin listener', () => {
  let downPort;
  /** Routes to the upstream, to a port nothing listens on (unless !down), and to the echo API. */
  const configText = ({ down }) => `[admin]
listen = "127.0.0.1:0"
[demo]
enabled = false
[[routes]]
path = "/api"
allow_origins = ["${ORIGIN}"]
allow_methods = ["PUT"]
upstream = "http://127.0.0.1:${upstream.address().port}"
${down ? `[[routes]]
path = "/down"
allow_origins = ["${ORIGIN}"]
upstream = "http://127.0.0.1:${downPort}"` : ''}
[[routes]]
path = "/"
allow_origins = ["${ORIGIN}"]
`;
  let dir;
  let file;
  let upstream;
  let corsd;
  let api;
  let admin;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'corsd-metrics-'));
    upstream = http.createServer((req, res) => {
      req.resume();
      // /api/slow answers after 1.5 s: a request in flight while corsd drains.
      req.on('end', () => setTimeout(() => res.end('upstream'), req.url.startsWith('/api/slow') ? 1500 : 0));
    });
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    file = join(dir, 'corsd.toml');
    downPort = await freePort();
    writeFileSync(file, configText({ down: true }));
    corsd = await startCorsd(['--config', file, '--listen', '127.0.0.1:0', '--threads', '2']);
    api = corsd.apiUrl;
    admin = corsd.adminUrl;
    assert.ok(admin, `no admin URL in the ready line\n${corsd.output()}`);
  });
  after(async () => {
    await corsd?.stop();
    upstream?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('/metrics counts what was served, by route, decision, reason, upstream and status', T, async () => {
    const before = parseMetrics((await fetchText(`${admin}/metrics`)).body);
    const sent = { proxied: 4, echoed: 3 };
    for (let i = 0; i < sent.proxied; i++) {
      assert.equal((await fetchText(`${api}/api/x`, { method: 'PUT', body: 'abc', headers: { origin: ORIGIN } })).status, 200);
    }
    for (let i = 0; i < sent.echoed; i++) assert.equal((await fetchText(`${api}/x`, { headers: { origin: ORIGIN } })).status, 200);
    const rejected = await fetchText(`${api}/api/x`, {
      method: 'OPTIONS', headers: { origin: 'https://evil.test', 'access-control-request-method': 'PUT' },
    });
    assert.equal(rejected.status, 403);
    assert.equal((await fetchText(`${api}/down/x`, { headers: { origin: ORIGIN } })).status, 502);

    const res = await fetchText(`${admin}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.type, /^text\/plain; version=0\.0\.4/);
    const after = parseMetrics(res.body);
    const delta = (name, labels) => value(after, name, labels) - value(before, name, labels);
    assert.equal(delta('corsd_cors_requests_total', { route: '/api', decision: 'actual_allowed' }), sent.proxied);
    assert.equal(delta('corsd_cors_requests_total', { route: '/', decision: 'actual_allowed' }), sent.echoed);
    assert.equal(delta('corsd_cors_requests_total', { route: '/api', decision: 'preflight_rejected' }), 1);
    assert.equal(delta('corsd_cors_rejections_total', { route: '/api', reason: 'origin_not_allowed' }), 1);
    const upstreamLabel = `127.0.0.1:${upstream.address().port}`;
    assert.equal(value(after, 'corsd_upstream_requests_total', { upstream: upstreamLabel }), sent.proxied);
    assert.equal(value(after, 'corsd_upstream_errors_total', { upstream: upstreamLabel, kind: 'refused' }), 0);
    const down = after.samples.find((s) => s.name === 'corsd_upstream_errors_total' && s.labels.kind === 'refused' &&
      s.labels.upstream !== upstreamLabel);
    assert.equal(down?.value, 1, 'the refused connection is counted on the other upstream');
    assert.ok(value(after, 'corsd_upstream_idle_connections', { upstream: upstreamLabel }) >= 1);
    assert.ok(delta('corsd_http_responses_total', { code: '2xx' }) >= sent.proxied + sent.echoed);
    assert.equal(delta('corsd_http_responses_total', { code: '4xx' }), 1);
    assert.equal(delta('corsd_http_responses_total', { code: '5xx' }), 1);
    assert.ok(delta('corsd_http_request_body_bytes_total') >= 3 * sent.proxied);
    assert.ok(delta('corsd_http_response_bytes_total') > 0);
    assert.ok(delta('corsd_http_request_duration_seconds_count') >= sent.proxied + sent.echoed + 2);
    assert.equal(value(after, 'corsd_http_request_duration_seconds_bucket', { le: '+Inf' }),
      value(after, 'corsd_http_request_duration_seconds_count'));
    assert.ok(value(after, 'corsd_connections_open') >= 1, 'this scrape\'s own connection');
  });

  test('the names, types and labels are the golden ones', T, async () => {
    const { types, samples } = parseMetrics((await fetchText(`${admin}/metrics`)).body);
    assert.deepEqual(Object.keys(types).sort(), Object.keys(GOLDEN).sort());
    for (const [family, [type, labels]] of Object.entries(GOLDEN)) {
      assert.equal(types[family], type, family);
      const ofFamily = samples.filter((s) => s.name === family || s.name.startsWith(`${family}_`));
      assert.ok(ofFamily.length > 0, `${family} has samples`);
      for (const s of ofFamily) {
        const expected = s.name.endsWith('_sum') || s.name.endsWith('_count') ? [] : labels;
        assert.deepEqual(Object.keys(s.labels), expected, `${s.name} ${JSON.stringify(s.labels)}`);
      }
    }
  });

  test('promtool check metrics accepts every scrape taken under load', T, async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
    let running = true;
    const load = async () => {
      while (running) {
        await new Promise((resolve) => {
          http.get(`${api}/api/load`, { agent, headers: { origin: ORIGIN } }, (res) => res.resume().on('end', resolve))
            .on('error', resolve);
        });
      }
    };
    const clients = Array.from({ length: 8 }, load);
    try {
      for (let i = 0; i < 5; i++) {
        const scrape = (await fetchText(`${admin}/metrics`)).body;
        const r = spawnSync('promtool', ['check', 'metrics'], { input: scrape, encoding: 'utf8' });
        assert.equal(r.error, undefined, 'promtool runs (Debian package prometheus; scripts/test installs it)');
        assert.equal(r.status, 0, `promtool check metrics:\n${r.stdout}${r.stderr}`);
      }
    } finally {
      running = false;
      await Promise.all(clients);
      agent.destroy();
    }
  });

  test('/livez is 200; other paths 404; other methods 405', T, async () => {
    assert.deepEqual(await fetchText(`${admin}/livez`).then((r) => [r.status, r.body]), [200, 'ok\n']);
    assert.equal((await fetchText(`${admin}/nope`)).status, 404);
    const post = await fetch(`${admin}/metrics`, { method: 'POST', body: 'x' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
  });

  test('/readyz is 503 naming the upstream that refuses connections; ?verbose lists every check', T, async () => {
    const r = await fetchText(`${admin}/readyz?verbose`);
    assert.equal(r.status, 503, r.body);
    assert.match(r.body, /^not ready\n/);
    assert.match(r.body, /\[\+\] config loaded/);
    assert.match(r.body, /\[\+\] not draining/);
    assert.match(r.body, new RegExp(`\\[\\+\\] upstream http://127\\.0\\.0\\.1:${upstream.address().port}\\n`));
    assert.match(r.body, /\[-\] upstream http:\/\/127\.0\.0\.1:\d+: .*refused/i);
  });

  test('/readyz is 200 once every upstream answers; reloads are counted', T, async () => {
    writeFileSync(file, configText({ down: false }));
    const from = corsd.stderr().length;
    corsd.proc.kill('SIGHUP');
    for (let i = 0; i < 100 && !corsd.stderr().slice(from).includes('reloaded'); i++) await new Promise((r) => setTimeout(r, 20));
    // Both workers have the new routes within moments of the log line.
    let r;
    for (let i = 0; i < 20; i++) {
      r = await fetchText(`${admin}/readyz`);
      if (r.status === 200) break;
      await new Promise((res) => setTimeout(res, 50));
    }
    assert.equal(r.status, 200, r.body);
    assert.equal(r.body, 'ready\n');
    writeFileSync(file, `${configText({ down: false })}bogus = 1\n`);
    corsd.proc.kill('SIGHUP');
    let m;
    for (let i = 0; i < 100; i++) {
      m = parseMetrics((await fetchText(`${admin}/metrics`)).body);
      if (value(m, 'corsd_config_reloads_total', { result: 'failure' }) === 1) break;
      await new Promise((res) => setTimeout(res, 20));
    }
    assert.equal(value(m, 'corsd_config_reloads_total', { result: 'success' }), 1);
    assert.equal(value(m, 'corsd_config_reloads_total', { result: 'failure' }), 1);
    assert.equal(value(m, 'corsd_config_last_reload_successful'), 0);
  });

  test('while requests drain after SIGTERM, /readyz answers 503; then corsd exits 0', T, async () => {
    const slow = fetchText(`${api}/api/slow`, { headers: { origin: ORIGIN } });
    await new Promise((r) => setTimeout(r, 300));
    corsd.proc.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    const ready = await fetchText(`${admin}/readyz`);
    assert.equal(ready.status, 503, ready.body);
    assert.match(ready.body, /\[-\] not draining: shutting down/);
    assert.equal((await slow).status, 200, 'the request in flight finishes');
    assert.deepEqual(await corsd.exited, { code: 0, signal: null });
  });
});
