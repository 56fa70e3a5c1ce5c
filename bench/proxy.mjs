// bench/run --proxy: corsd, nginx and HAProxy as CORS reverse proxies in
// front of the same upstream, measured the way bench/run.mjs measures servers.
//
// The upstream is nginx (one worker, pinned to CPU 1 beside wrk) answering the
// seed's echo with no CORS headers at all, and serving a 1 GiB sparse file.
// Each proxy (one thread / worker, pinned to CPU 0) adds the seed's CORS
// headers for http://localhost:8081 and answers preflights itself:
//   corsd    --upstream with the same policy flags;
//   nginx    proxy_pass to a keepalive upstream block, add_header ... always,
//            `return 204` for OPTIONS, proxy_hide_header for Access-Control-*;
//   HAProxy  http mode, `http-request return status 204` for preflights,
//            `http-response set-header`, http-reuse always.
// Workloads at 64 connections: a proxied PUT with a 1 KiB JSON body, and a
// preflight. Then a 1 GiB download through corsd (curl on CPU 1), 3 runs, with
// the same download straight from the upstream for reference.
//
//   bench/run --proxy [--rounds N] [--duration SECONDS] [--warmup SECONDS] [--quick]

import { spawnSync } from 'node:child_process';
import {
  chmodSync, closeSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BODY, ECHO_PREFIX, NGINX_ECHO, ORIGIN, REQUESTS, ROOT, chart, curlRequest, fmt, freePort, measure,
  median, nginxPreamble, nginxPreflight, spread, start, stopServer, treeCpuSeconds, treePeakRssKiB, waitForIdle,
} from './common.mjs';

const SERVERS = ['corsd', 'nginx', 'haproxy'];
const DOWNLOAD_BYTES = 2 ** 30;
const DOWNLOAD_PATH = '/download/1g';
const DOWNLOAD_RUNS = 3;
// What the issue measured per proxied PUT (µs of CPU per request).
const ISSUE = { nginx: '19.4-21.0', haproxy: '20.9-22.1' };
const CORS_METHODS = 'GET, POST, PUT, DELETE, OPTIONS';
const CORS_HEADERS = 'content-type, accept';

// ---------------------------------------------------------------------------
// Checking answers

// Problems with the CORS fields of an answer: each of `expected` (name ->
// test of its value) must be there exactly once and pass, no other
// Access-Control-* field may repeat, and Vary must name Origin exactly once.
function corsProblems(fields, expected) {
  const problems = [];
  const values = (name) => fields.filter(([n]) => n === name).map(([, v]) => v);
  for (const [name, test] of Object.entries(expected)) {
    const vs = values(name);
    if (vs.length !== 1) problems.push(`${name} ${vs.length} times, not once`);
    else if (!test(vs[0])) problems.push(`${name}: ${vs[0]}`);
  }
  for (const name of new Set(fields.map(([n]) => n).filter((n) => n.startsWith('access-control-')))) {
    if (!(name in expected) && values(name).length > 1) problems.push(`${name} ${values(name).length} times`);
  }
  const origins = values('vary').flatMap((v) => v.split(',')).filter((t) => t.trim().toLowerCase() === 'origin');
  if (origins.length !== 1) problems.push(`Origin in Vary ${origins.length} times, not once`);
  return problems;
}

const WORKLOADS = {
  put_echo_1k: {
    ...REQUESTS.put_echo_1k,
    title: 'proxied PUT, 1 KiB JSON',
    check({ status, fields, body }) {
      const problems = corsProblems(fields, { 'access-control-allow-origin': (v) => v === ORIGIN });
      if (status !== 200) problems.unshift(`status ${status}, not 200`);
      if (body !== `${ECHO_PREFIX}PUT\n\n${BODY}`) problems.push('the echoed body differs from the upstream\'s');
      return problems;
    },
  },
  preflight: {
    ...REQUESTS.preflight,
    title: 'preflight, proxy route',
    check({ status, fields, body }) {
      const problems = corsProblems(fields, {
        'access-control-allow-origin': (v) => v === ORIGIN,
        'access-control-allow-methods': (v) => /\bPUT\b/.test(v),
        'access-control-allow-headers': (v) => /content-type/i.test(v),
        'access-control-max-age': (v) => v === '10',
      });
      if (status !== 204) problems.unshift(`status ${status}, not 204`);
      if (body !== '') problems.push('a body on a 204');
      return problems;
    },
  },
};

function verify(server, workload) {
  const r = curlRequest(server.port, WORKLOADS[workload].curl);
  return r.error ? [r.error] : WORKLOADS[workload].check(r);
}

// ---------------------------------------------------------------------------
// The upstream and the proxies

async function startUpstream(workdir) {
  const dir = mkdtempSync(join(workdir, 'upstream-'));
  const files = join(dir, 'files');
  mkdirSync(files);
  // nginx's worker runs as nobody: it must reach the file.
  for (const d of [workdir, dir, files]) chmodSync(d, 0o755);
  const fd = openSync(join(files, '1g'), 'w', 0o644);
  ftruncateSync(fd, DOWNLOAD_BYTES); // sparse: reads as zeros, takes no disk
  closeSync(fd);
  const port = await freePort();
  writeFileSync(join(dir, 'nginx.conf'), `${nginxPreamble(dir, 1, { echo: true })}
  sendfile on;
  server {
    listen 127.0.0.1:${port};
    location /download/ { alias ${files}/; }
    location / {
      ${NGINX_ECHO}
    }
  }
}
`);
  const upstream = await start('upstream', ['nginx', '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')], '1', port);
  // It must answer the echo itself, and without any CORS field.
  const r = curlRequest(port, WORKLOADS.put_echo_1k.curl);
  const problems = r.error ? [r.error] : [];
  if (!r.error && r.status !== 200) problems.push(`status ${r.status}`);
  if (!r.error && r.body !== `${ECHO_PREFIX}PUT\n\n${BODY}`) problems.push('wrong echo');
  if (!r.error && r.fields.some(([n]) => n.startsWith('access-control-') || n === 'vary')) problems.push('CORS fields');
  if (problems.length) throw new Error(`the upstream answers wrongly: ${problems.join('; ')}`);
  return upstream;
}

function corsdCommand(options, upstreamPort) {
  return [options.corsd, '--listen', '127.0.0.1:0', '--threads', '1', '--no-demo',
    '--upstream', `http://127.0.0.1:${upstreamPort}`, '--allow-origin', ORIGIN,
    '--allow-methods', 'GET,POST,PUT,DELETE,OPTIONS', '--allow-headers', 'content-type,accept', '--max-age', '10'];
}

const corsdPort = (output) => Number(output.match(/ready: api http:\/\/127\.0\.0\.1:(\d+)/)?.[1] ?? 0);

function nginxProxyConfig(dir, port, upstreamPort) {
  const hide = ['Allow-Origin', 'Allow-Credentials', 'Allow-Methods', 'Allow-Headers', 'Expose-Headers', 'Max-Age']
    .map((h) => `proxy_hide_header Access-Control-${h};`).join('\n      ');
  return `${nginxPreamble(dir, 1)}
  map $http_origin $cors_origin { "${ORIGIN}" $http_origin; default ""; }
  upstream app {
    server 127.0.0.1:${upstreamPort};
    keepalive 64;  # as many idle connections as corsd keeps (--upstream-idle-connections 64)
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      ${nginxPreflight(CORS_METHODS, CORS_HEADERS)}
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      ${hide}
      add_header Access-Control-Allow-Origin $cors_origin always;
      add_header Vary Origin always;
    }
  }
}
`;
}

function haproxyConfig(port, upstreamPort) {
  return `global
  nbthread 1
  maxconn 4096
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  timeout http-keep-alive 60s
frontend cors
  bind 127.0.0.1:${port}
  http-request set-var(txn.origin) req.hdr(origin)
  acl allowed_origin var(txn.origin) -m str ${ORIGIN}
  acl is_options method OPTIONS
  acl has_request_method req.hdr(access-control-request-method) -m found
  http-request return status 204 hdr Access-Control-Allow-Origin "%[var(txn.origin)]" hdr Access-Control-Allow-Methods "${CORS_METHODS}" hdr Access-Control-Allow-Headers "${CORS_HEADERS}" hdr Access-Control-Max-Age 10 hdr Vary Origin if is_options has_request_method allowed_origin
  default_backend app
backend app
  http-reuse always
  acl allowed_origin var(txn.origin) -m str ${ORIGIN}
  http-response del-header ^access-control- -m reg
  http-response set-header Access-Control-Allow-Origin "%[var(txn.origin)]" if allowed_origin
  http-response add-header Vary Origin
  server upstream 127.0.0.1:${upstreamPort}
`;
}

async function startProxy(name, options, workdir, upstream) {
  if (name === 'corsd') return start(name, corsdCommand(options, upstream.port), '0', corsdPort);
  const dir = mkdtempSync(join(workdir, `${name}-`));
  const port = await freePort();
  if (name === 'nginx') {
    writeFileSync(join(dir, 'nginx.conf'), nginxProxyConfig(dir, port, upstream.port));
    return start(name, ['nginx', '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')], '0', port);
  }
  writeFileSync(join(dir, 'haproxy.cfg'), haproxyConfig(port, upstream.port));
  return start(name, ['haproxy', '-db', '-f', join(dir, 'haproxy.cfg')], '0', port);
}

// ---------------------------------------------------------------------------
// The 1 GiB download

// `runs` downloads of the 1 GiB file from `port` by curl on CPU 1; each
// checked (status 200, every byte, Access-Control-Allow-Origin once when
// `cors`), with the CPU the `server` process tree used.
async function downloads(port, runs, workdir, server, cors) {
  const out = [];
  const headersFile = join(workdir, 'download-headers');
  for (let i = 0; i < runs; ++i) {
    await waitForIdle();
    const cpu0 = server ? treeCpuSeconds(server.proc.pid) : 0;
    const r = spawnSync('taskset', ['-c', '1', 'curl', '-s', '--max-time', '120', '-o', '/dev/null', '-D', headersFile,
      '-w', '%{http_code} %{size_download} %{speed_download}', '-H', `Origin: ${ORIGIN}`,
      `http://127.0.0.1:${port}${DOWNLOAD_PATH}`], { encoding: 'utf8' });
    const cpu = server ? treeCpuSeconds(server.proc.pid) - cpu0 : NaN;
    const [status, size, speed] = r.stdout.trim().split(' ').map(Number);
    const problems = [];
    if (r.status !== 0) problems.push(`curl exit ${r.status}`);
    if (status !== 200) problems.push(`status ${status}`);
    if (size !== DOWNLOAD_BYTES) problems.push(`${size} bytes, not ${DOWNLOAD_BYTES}`);
    if (cors) {
      let text = '';
      try {
        text = readFileSync(headersFile, 'utf8');
      } catch {}
      const acao = text.split('\r\n').filter((l) => /^access-control-allow-origin:/i.test(l));
      if (acao.length !== 1 || acao[0].split(':').slice(1).join(':').trim() !== ORIGIN) {
        problems.push(`Access-Control-Allow-Origin ${acao.length} times`);
      }
    }
    out.push({ gb_per_s: speed / 1e9, cpu_s: cpu, problems });
    console.log(`download ${server ? server.name : 'upstream direct'} ${fmt(speed / 1e9, 2)} GB/s` +
      `${server ? `  CPU ${fmt(cpu, 2)} s` : ''}${problems.length ? `  WRONG: ${problems.join('; ')}` : ''}`);
  }
  return out;
}

async function measureDownload(options, workdir, upstream) {
  const direct = await downloads(upstream.port, DOWNLOAD_RUNS, workdir, null, false);
  // A corsd of its own, so that its peak RSS is the download's.
  const corsd = await startProxy('corsd', options, workdir, upstream);
  try {
    const rssBefore = treePeakRssKiB(corsd.proc.pid) / 1024;
    const through = await downloads(corsd.port, DOWNLOAD_RUNS, workdir, corsd, true);
    return { direct, corsd: through, corsd_peak_rss_mib_at_start: rssBefore, corsd_peak_rss_mib: treePeakRssKiB(corsd.proc.pid) / 1024 };
  } finally {
    await stopServer(corsd);
  }
}

// ---------------------------------------------------------------------------
// Reporting

function summarize(runs) {
  const medians = {};
  for (const workload of Object.keys(WORKLOADS)) {
    for (const server of SERVERS) {
      const rs = runs.filter((r) => r.server === server && r.workload === workload);
      if (!rs.length) continue;
      const pick = (k) => rs.map((r) => r[k]);
      medians[`${workload}/64/${server}`] = {
        runs: rs, rps: median(pick('rps')), p50: median(pick('p50_us')), p99: median(pick('p99_us')),
        cpu: median(pick('cpu_us_per_request')), upstream_cpu: median(pick('upstream_cpu_us_per_request')),
        rss: Math.max(...pick('peak_rss_mib')), non2xx: pick('non2xx').reduce((a, b) => a + b, 0),
        errors: pick('socket_errors').reduce((a, b) => a + b, 0),
      };
    }
  }
  return medians;
}

function targets(medians, download) {
  const out = [];
  const add = (what, met, measured) => out.push({ what, met, measured });
  const m = (w, s) => medians[`${w}/64/${s}`];
  const put = m('put_echo_1k', 'corsd'), pre = m('preflight', 'corsd');
  if (put) add('corsd CPU per proxied PUT ≤ 14 µs', put.cpu <= 14, `${spread(put.runs.map((r) => r.cpu_us_per_request), 2)} µs`);
  for (const w of Object.keys(WORKLOADS)) {
    const c = m(w, 'corsd'), n = m(w, 'nginx');
    if (!c || !n) continue;
    const rounds = c.runs.filter((r) => n.runs.some((q) => q.round === r.round && r.p99_us <= q.p99_us)).length;
    add(`corsd p99 ≤ nginx's p99, ${WORKLOADS[w].title}`, c.p99 <= n.p99,
      `${fmt(c.p99, 0)} µs vs ${fmt(n.p99, 0)} µs; ${rounds} of ${c.runs.length} rounds`);
  }
  if (pre) add('preflight through the proxy route ≤ 8 µs CPU', pre.cpu <= 8, `${spread(pre.runs.map((r) => r.cpu_us_per_request), 2)} µs`);
  if (download) {
    const speeds = download.corsd.map((d) => d.gb_per_s);
    const ok = download.corsd.every((d) => d.problems.length === 0);
    add('1 GiB download through corsd ≥ 1 GB/s', ok && median(speeds) >= 1,
      `${spread(speeds, 2)} GB/s${ok ? '' : ', WRONG answers'}`);
  }
  return out;
}

function report(runs, medians, download, options, invalid) {
  const lines = [];
  lines.push(`# corsd reverse-proxy benchmark, ${new Date().toISOString()}`, '');
  lines.push(`Proxies with one thread / worker on CPU 0; the upstream (nginx, 1 worker, echo without CORS) and ` +
    `wrk -t1 on CPU 1; 64 connections; ${options.rounds} rounds of ${options.duration} s runs after ${options.warmup} s ` +
    'warm-ups. Medians over rounds, (min-max) where there are several.', '');
  for (const [key, problems] of Object.entries(invalid)) lines.push(`- **${key} answered wrongly, not timed**: ${problems.join('; ')}`);
  if (Object.keys(invalid).length) lines.push('');
  lines.push('| workload | server | req/s | p50 µs | p99 µs | CPU µs/req | upstream CPU µs/req | peak RSS MiB | non-2xx | socket errors |');
  lines.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const w of Object.keys(WORKLOADS)) {
    for (const s of SERVERS) {
      const m = medians[`${w}/64/${s}`];
      if (!m) continue;
      const col = (k, d) => spread(m.runs.map((r) => r[k]), d);
      lines.push(`| ${WORKLOADS[w].title} | ${s} | ${col('rps', 0)} | ${col('p50_us', 0)} | ${col('p99_us', 0)} | ` +
        `${col('cpu_us_per_request', 2)} | ${col('upstream_cpu_us_per_request', 2)} | ${fmt(m.rss)} | ${m.non2xx} | ${m.errors} |`);
    }
  }
  if (download) {
    const line = (what, ds, rss) => `| ${what} | ${spread(ds.map((d) => d.gb_per_s), 2)} | ` +
      `${spread(ds.map((d) => d.cpu_s), 2)} | ${rss} | ${ds.flatMap((d) => d.problems).join('; ') || 'ok'} |`;
    lines.push('', `## 1 GiB download (${DOWNLOAD_RUNS} runs, curl -o /dev/null on CPU 1)`, '');
    lines.push('| path | GB/s | corsd CPU s | corsd peak RSS MiB | answers |', '| --- | --- | --- | --- | --- |');
    lines.push(line('straight from the upstream (reference)', download.direct, ''));
    lines.push(line('through corsd', download.corsd,
      `${fmt(download.corsd_peak_rss_mib)} (${fmt(download.corsd_peak_rss_mib_at_start)} before)`));
  }
  lines.push('', '## Targets', '');
  for (const t of targets(medians, download)) lines.push(`- ${t.met ? 'met' : '**not met**'}: ${t.what} (${t.measured})`);
  for (const s of ['nginx', 'haproxy']) {
    const m = medians[`put_echo_1k/64/${s}`];
    if (m) lines.push(`- ${s} CPU per proxied PUT: ${spread(m.runs.map((r) => r.cpu_us_per_request), 2)} µs (the issue measured ${ISSUE[s]} µs)`);
  }
  lines.push('', '## Every run', '', '| round | workload | server | req/s | p50 µs | p99 µs | CPU s | CPU µs/req | upstream CPU µs/req | peak RSS MiB | non-2xx | socket errors | noisy |');
  lines.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of runs) {
    lines.push(`| ${r.round} | ${r.workload} | ${r.server} | ${fmt(r.rps, 0)} | ${fmt(r.p50_us, 0)} | ${fmt(r.p99_us, 0)} | ` +
      `${fmt(r.cpu_s, 2)} | ${fmt(r.cpu_us_per_request, 2)} | ${fmt(r.upstream_cpu_us_per_request, 2)} | ${fmt(r.peak_rss_mib)} | ` +
      `${r.non2xx} | ${r.socket_errors} | ${r.noisy ? 'yes' : ''} |`);
  }
  return lines.join('\n') + '\n';
}

// ---------------------------------------------------------------------------

export async function main(options) {
  // A build on this machine can take minutes: wait longer for idle CPUs.
  options = { ...options, idleWaitSeconds: 300 };
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const outDir = join(ROOT, 'bench/results', `${stamp}-proxy`);
  mkdirSync(outDir, { recursive: true });
  const workdir = mkdtempSync(join(tmpdir(), 'corsd-bench-proxy-'));
  const scripts = {};
  for (const [name, w] of Object.entries(WORKLOADS)) {
    scripts[name] = join(workdir, `${name}.lua`);
    writeFileSync(scripts[name], w.lua);
  }
  const invalid = {};
  const runs = [];
  let download = null;
  let upstream = null;
  try {
    upstream = await startUpstream(workdir);
    for (let round = 1; round <= options.rounds; ++round) {
      for (const workload of Object.keys(WORKLOADS)) {
        for (const name of SERVERS) {
          const key = `${name} ${workload}`;
          if (invalid[key]) continue;
          const server = await startProxy(name, options, workdir, upstream);
          try {
            const problems = verify(server, workload);
            if (problems.length) {
              invalid[key] = problems;
              console.warn(`bench: ${key} answered wrongly: ${problems.join('; ')}`);
              continue;
            }
            const r = await measure({ server, script: scripts[workload], connections: 64, options, label: workload, upstream });
            runs.push({ round, workload, server: name, connections: 64, ...r });
            console.log(`round ${round} ${workload.padEnd(12)} ${name.padEnd(7)} ${fmt(r.rps, 0).padStart(7)} req/s  ` +
              `p50 ${fmt(r.p50_us, 0).padStart(5)} p99 ${fmt(r.p99_us, 0).padStart(6)} µs  ` +
              `${fmt(r.cpu_us_per_request, 2).padStart(6)} CPU µs/req (upstream ${fmt(r.upstream_cpu_us_per_request, 2)})  ` +
              `RSS ${fmt(r.peak_rss_mib)} MiB`);
          } finally {
            await stopServer(server);
          }
        }
      }
    }
    download = await measureDownload(options, workdir, upstream);
  } finally {
    if (upstream) await stopServer(upstream);
    rmSync(workdir, { recursive: true, force: true });
  }
  const medians = summarize(runs);
  const markdown = report(runs, medians, download, options, invalid);
  writeFileSync(join(outDir, 'results.md'), markdown);
  const plain = Object.fromEntries(Object.entries(medians).map(([k, { runs: _, ...m }]) => [k, m]));
  writeFileSync(join(outDir, 'results.json'), JSON.stringify({ options, invalid, runs, medians: plain, download }, null, 2));
  chart(outDir, medians, SERVERS, Object.keys(WORKLOADS), 'corsd vs nginx vs HAProxy as CORS reverse proxies, 64 connections, medians');
  console.log(`\n${markdown.split('\n## Every run')[0]}\nresults: ${outDir}/results.md, chart: ${outDir}/chart.png`);
}
