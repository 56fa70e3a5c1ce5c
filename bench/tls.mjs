// bench/run --tls: corsd and nginx over HTTPS, measured in the same run with
// rounds that alternate the servers (one thread / worker pinned to CPU 0,
// the load generator on CPU 1), both with the same certificate (EC P-256,
// made here) and the seed's CORS answers:
//   h2 preflights   h2load, 64 connections, 10 streams each: requests per
//                   server CPU-second;
//   TLS preflights  wrk over HTTPS (HTTP/1.1), 64 connections: CPU µs per
//                   request;
//   handshakes      openssl s_time -new (a full TLS 1.3 handshake per
//                   connection): handshakes per second and per server
//                   CPU-second;
//   idle memory     RSS added per idle TLS connection, with 1,000 of them
//                   open (HTTP/1.1 after ALPN, and HTTP/2 sessions).
//
//   bench/run --tls [--rounds N] [--duration SECONDS] [--warmup SECONDS] [--quick]

import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http2 from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import tls from 'node:tls';

import {
  NGINX_ECHO, ORIGIN, PATH, REQUESTS, ROOT, fmt, freePort, measure, median, nginxPreamble, nginxPreflight, start,
  stopServer, treeCpuSeconds, treeRssKiB, waitForIdle, writeResults,
} from './common.mjs';

const SERVERS = ['corsd', 'nginx'];
const IDLE_CONNECTIONS = 1000;

// ---------------------------------------------------------------------------
// Servers

function makeCertificate(dir) {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '2', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' });
  return { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') };
}

function nginxConfig(dir, port, files) {
  return `${nginxPreamble(dir, 1, { echo: true })}
  map $http_origin $cors_origin { "" "*"; default $http_origin; }
  server {
    listen 127.0.0.1:${port} ssl http2 reuseport;
    ssl_certificate ${files.cert};
    ssl_certificate_key ${files.key};
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_tickets on;
    location / {
      ${nginxPreflight()}
      add_header Access-Control-Allow-Origin $cors_origin always;
      add_header Vary Origin always;
      ${NGINX_ECHO}
    }
  }
}
`;
}

async function startServer(name, options, dir, files) {
  const port = await freePort();
  let server;
  if (name === 'corsd') {
    server = await start('corsd', [options.corsd, '--no-demo', '--threads', '1', '--listen', `127.0.0.1:${port}`,
      '--tls-cert', files.cert, '--tls-key', files.key], '0', port);
  } else {
    const conf = join(dir, 'nginx-tls.conf');
    writeFileSync(conf, nginxConfig(dir, port, files));
    server = await start('nginx', ['nginx', '-c', conf, '-p', dir], '0', port);
  }
  return { ...server, scheme: 'https' };
}

// Problems with the h2 preflight answer (status, CORS fields, protocol).
function verify(server) {
  const r = spawnSync('curl', ['-s', '-k', '--http2', '-o', '/dev/null', '-D', '-', '-w', '%{http_version}',
    '-X', 'OPTIONS', '-H', `Origin: ${ORIGIN}`, '-H', 'Access-Control-Request-Method: PUT',
    `https://127.0.0.1:${server.port}${PATH}`], { encoding: 'utf8' });
  const problems = [];
  if (!/^HTTP\/2 204/m.test(r.stdout)) problems.push(`not HTTP/2 204: ${r.stdout.split('\n')[0]}`);
  if (!new RegExp(`^access-control-allow-origin: ${ORIGIN}`, 'mi').test(r.stdout)) problems.push('no Access-Control-Allow-Origin');
  return problems;
}

// ---------------------------------------------------------------------------
// Workloads

function h2load(port, seconds) {
  const args = ['-c', '1', 'h2load', '-c', '64', '-m', '10', '-D', String(seconds), '-H', `origin: ${ORIGIN}`,
    '-H', 'access-control-request-method: PUT', '-H', ':method: OPTIONS', `https://127.0.0.1:${port}${PATH}`];
  const r = spawnSync('taskset', args, { encoding: 'utf8' });
  const done = r.stdout.match(/requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded/);
  const protocol = r.stdout.match(/Application protocol: (\S+)/);
  return { succeeded: done ? Number(done[2]) : 0, protocol: protocol ? protocol[1] : 'none' };
}

async function measureH2(server, options) {
  await waitForIdle(options.idleWaitSeconds);
  h2load(server.port, options.warmup);
  const cpu0 = treeCpuSeconds(server.proc.pid);
  const r = h2load(server.port, options.duration);
  const cpu = treeCpuSeconds(server.proc.pid) - cpu0;
  return { rps: r.succeeded / options.duration, per_cpu_second: cpu > 0 ? r.succeeded / cpu : NaN,
    cpu_us_per_request: r.succeeded ? (cpu * 1e6) / r.succeeded : NaN, protocol: r.protocol };
}

async function measureHandshakes(server, options) {
  await waitForIdle(options.idleWaitSeconds);
  const cpu0 = treeCpuSeconds(server.proc.pid);
  const r = spawnSync('taskset', ['-c', '1', 'openssl', 's_time', '-connect', `127.0.0.1:${server.port}`, '-new',
    '-time', String(options.duration)], { encoding: 'utf8' });
  const cpu = treeCpuSeconds(server.proc.pid) - cpu0;
  const m = r.stdout.match(/(\d+) connections in ([\d.]+)s;/);
  const connections = m ? Number(m[1]) : 0;
  return { per_second: connections / options.duration, per_cpu_second: cpu > 0 ? connections / cpu : NaN,
    cpu_us_per_handshake: connections ? (cpu * 1e6) / connections : NaN };
}

// KiB of RSS each of IDLE_CONNECTIONS idle connections adds, once all are
// open and have settled (`protocol`: 'http/1.1' or 'h2').
async function measureIdle(server, protocol) {
  const before = treeRssKiB(server.proc.pid);
  const open = [];
  for (let i = 0; i < IDLE_CONNECTIONS; ++i) {
    if (protocol === 'h2') {
      const session = http2.connect(`https://127.0.0.1:${server.port}`, { rejectUnauthorized: false });
      session.on('error', () => {});
      open.push(new Promise((resolve) => session.once('remoteSettings', () => resolve(session))));
    } else {
      const socket = tls.connect({ host: '127.0.0.1', port: server.port, rejectUnauthorized: false,
        ALPNProtocols: ['http/1.1'] });
      socket.on('error', () => {});
      open.push(new Promise((resolve) => socket.once('secureConnect', () => resolve(socket))));
    }
    if (i % 100 === 99) await Promise.all(open);
  }
  const all = await Promise.all(open);
  await sleep(1000);
  const after = treeRssKiB(server.proc.pid);
  for (const c of all) c.destroy();
  await sleep(500);
  return { kib_per_connection: (after - before) / IDLE_CONNECTIONS, before_mib: before / 1024, after_mib: after / 1024 };
}

// ---------------------------------------------------------------------------
// Reporting

const spread = (xs, digits) => {
  const v = xs.filter(Number.isFinite);
  if (v.length === 0) return 'n/a';
  const m = fmt(median(v), digits);
  return v.length > 1 ? `${m} (${fmt(Math.min(...v), digits)}-${fmt(Math.max(...v), digits)})` : m;
};

function report(runs, options, invalid) {
  const of = (workload, server, key) => runs.filter((r) => r.workload === workload && r.server === server).map((r) => r[key]);
  const ratios = (workload, key) => {
    const out = [];
    for (let round = 1; round <= options.rounds; ++round) {
      const c = runs.find((r) => r.round === round && r.workload === workload && r.server === 'corsd');
      const n = runs.find((r) => r.round === round && r.workload === workload && r.server === 'nginx');
      if (c && n) out.push(c[key] / n[key]);
    }
    return out;
  };
  const lines = [`# corsd over TLS and HTTP/2 beside nginx, ${new Date().toISOString()}`, ''];
  lines.push(`One thread / worker on CPU 0, the client on CPU 1; ${options.rounds} rounds alternating the servers, ` +
    `${options.duration} s runs after ${options.warmup} s warm-ups. Medians, (min-max) over rounds.`, '');
  for (const [key, problems] of Object.entries(invalid)) lines.push(`- **${key} answered wrongly, not timed**: ${problems.join('; ')}`);
  lines.push('| figure | corsd | nginx | corsd / nginx per round |', '| --- | --- | --- | --- |');
  const row = (title, workload, key, digits) => lines.push(`| ${title} | ${spread(of(workload, 'corsd', key), digits)} | ` +
    `${spread(of(workload, 'nginx', key), digits)} | ${ratios(workload, key).map((x) => fmt(x, 2)).join(', ')} |`);
  row('h2 preflights per server CPU-second (h2load, 64 × 10 streams)', 'h2_preflight', 'per_cpu_second', 0);
  row('h2 preflights per second', 'h2_preflight', 'rps', 0);
  row('TLS HTTP/1.1 preflight: server CPU µs per request (wrk, 64 connections)', 'tls_preflight', 'cpu_us_per_request', 2);
  row('TLS HTTP/1.1 preflights per second', 'tls_preflight', 'rps', 0);
  row('full TLS 1.3 handshakes per second (openssl s_time -new)', 'handshake', 'per_second', 0);
  row('handshakes per server CPU-second', 'handshake', 'per_cpu_second', 0);
  row(`RSS per idle TLS connection, KiB (${IDLE_CONNECTIONS} open, HTTP/1.1)`, 'idle_http1', 'kib_per_connection', 1);
  row(`RSS per idle HTTP/2 connection, KiB (${IDLE_CONNECTIONS} open)`, 'idle_h2', 'kib_per_connection', 1);
  const med = (w, s, k) => median(of(w, s, k));
  const h2 = median(ratios('h2_preflight', 'per_cpu_second'));
  const hs = median(ratios('handshake', 'per_second'));
  const idle = med('idle_http1', 'corsd', 'kib_per_connection') / med('idle_http1', 'nginx', 'kib_per_connection');
  lines.push('', '## Targets', '');
  lines.push(`- ${h2 >= 1.2 ? 'met' : '**not met**'}: h2 preflights ≥ 1.2 × nginx's requests per CPU-second (median ratio ${fmt(h2, 2)})`);
  lines.push(`- ${hs >= 1 ? 'met' : '**not met**'}: handshakes per second ≥ nginx's (median ratio ${fmt(hs, 2)})`);
  lines.push(`- ${idle <= 1 ? 'met' : '**not met**'}: RSS per idle TLS connection ≤ nginx's (${fmt(idle, 2)} × nginx's)`);
  lines.push('', '## Every run', '', '```', JSON.stringify(runs, null, 1), '```');
  return lines.join('\n') + '\n';
}

// ---------------------------------------------------------------------------

export async function main(options) {
  options = { ...options, idleWaitSeconds: 300 };
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const outDir = join(ROOT, 'bench/results', `${stamp}-tls`);
  mkdirSync(outDir, { recursive: true });
  const workdir = mkdtempSync(join(tmpdir(), 'corsd-bench-tls-'));
  const files = makeCertificate(workdir);
  const script = join(workdir, 'preflight.lua');
  writeFileSync(script, REQUESTS.preflight.lua);
  const runs = [];
  const invalid = {};
  try {
    for (let round = 1; round <= options.rounds; ++round) {
      for (const name of round % 2 ? SERVERS : [...SERVERS].reverse()) {
        const server = await startServer(name, options, workdir, files);
        try {
          const problems = verify(server);
          if (problems.length) {
            invalid[name] = problems;
            console.warn(`bench: ${name} answered wrongly: ${problems.join('; ')}`);
            continue;
          }
          const add = (workload, r) => {
            runs.push({ round, workload, server: name, ...r });
            console.log(`round ${round} ${workload.padEnd(13)} ${name.padEnd(5)} ${JSON.stringify(r)}`);
          };
          add('h2_preflight', await measureH2(server, options));
          const w = await measure({ server, script, connections: 64, options, label: 'tls_preflight' });
          add('tls_preflight', { rps: w.rps, cpu_us_per_request: w.cpu_us_per_request, p99_us: w.p99_us, non2xx: w.non2xx });
          add('handshake', await measureHandshakes(server, options));
          add('idle_http1', await measureIdle(server, 'http/1.1'));
          add('idle_h2', await measureIdle(server, 'h2'));
        } finally {
          await stopServer(server);
        }
      }
    }
  } finally {
    rmSync(workdir, { recursive: true, force: true });
  }
  writeResults(outDir, report(runs, options, invalid), { options, invalid, runs });
}
