// The side-by-side benchmark of corsd, nginx and the seed's Node.js server.
//
// Each round runs every workload against every server, interleaved, with the
// server pinned to one core and wrk to the other. Each run records req/s,
// p50/p99 latency, non-2xx and socket errors, the server's CPU time from
// /proc (its whole process tree), CPU microseconds per request and peak RSS.
// Before each run it waits for idle CPUs, and it redoes a run during which
// other processes used noticeable CPU. Results: bench/results/<time>/.
//
//   bench/run                      # 3 rounds, 10 s runs, one server thread / nginx worker
//   bench/run --threads 2          # corsd --threads 2 against nginx with 2 workers
//   bench/run --rounds 5 --duration 20
//   bench/run --quick              # 1 round of 2 s runs: checks the set-up, measures nothing
//   bench/run --proxy              # corsd, nginx and HAProxy as CORS reverse proxies (bench/proxy.mjs)
//   bench/run --tls                # corsd and nginx over HTTPS: h2 and TLS preflights, handshakes (bench/tls.mjs)
//   bench/run --nginx-module       # nginx with corsd's module vs the add_header recipe; the Beast adapter vs --bare
//                                  # (bench/nginx_module.mjs)
//   bench/run --scale              # 10,000 routes, 100,000 origins or patterns against one of each (bench/scale.mjs)

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  BODY, ECHO_PREFIX, NGINX_ECHO, ORIGIN, REQUESTS, ROOT, chart, curlRequest, fmt, freePort, measure, median,
  nginxPreamble, nginxPreflight, start, stopServer, logRun,
} from './common.mjs';

const SEED = resolve(ROOT, '../shared/seed/000_39087d2efae59048.txt');

// ---------------------------------------------------------------------------
// Options

function parseArgs(argv) {
  const o = { rounds: 3, duration: 10, warmup: 2, threads: 1, corsd: join(ROOT, 'build-release/corsd'), quick: false };
  for (let i = 0; i < argv.length; ++i) {
    const a = argv[i];
    const next = () => argv[++i];
    if (a === '--rounds') o.rounds = Number(next());
    else if (a === '--duration') o.duration = Number(next());
    else if (a === '--warmup') o.warmup = Number(next());
    else if (a === '--threads') o.threads = Number(next());
    else if (a === '--corsd') o.corsd = next();
    else if (a === '--quick') Object.assign(o, { quick: true, rounds: 1, duration: 2, warmup: 1 });
    else if (a === '--proxy') o.proxy = true;
    else if (a === '--tls') o.tls = true;
    else if (a === '--nginx-module') o.nginxModule = true;
    else if (a === '--scale') o.scale = true;
    else if (a === '--help' || a === '-h') {
      console.log('usage: bench/run [--proxy | --tls | --nginx-module | --scale] [--rounds N] [--duration SECONDS] [--warmup SECONDS] [--threads 1|2] [--quick]');
      process.exit(0);
    } else {
      console.error(`bench/run: unknown argument ${a} (try --help)`);
      process.exit(2);
    }
  }
  if (![1, 2].includes(o.threads)) throw new Error('--threads must be 1 or 2');
  if ([o.proxy, o.tls, o.nginxModule, o.scale].filter(Boolean).length > 1) {
    throw new Error('--proxy, --tls, --nginx-module and --scale are separate runs: give one');
  }
  if ((o.proxy || o.tls || o.nginxModule || o.scale) && o.threads !== 1) {
    throw new Error('--proxy, --tls, --nginx-module and --scale measure one thread / worker only');
  }
  return o;
}

// ---------------------------------------------------------------------------
// Servers

function seedServerSource(port) {
  const text = readFileSync(SEED, 'utf8');
  const start = text.indexOf('// Include our HTTP module.');
  const endMarker = 'console.log( "Node.js listening on port 8080" );';
  const end = text.indexOf(endMarker);
  if (start < 0 || end < 0) throw new Error(`cannot find the seed's server.js in ${SEED}`);
  const code = text.slice(start, end + endMarker.length);
  if (!code.includes('server.listen( 8080 );')) throw new Error("the seed's server.js no longer listens on 8080");
  return code.replace('server.listen( 8080 );', `server.listen( ${port}, "127.0.0.1" );`);
}

function nginxConfig(dir, port, workers) {
  return `${nginxPreamble(dir, workers, { echo: true })}
  map $http_origin $cors_origin { "" "*"; default $http_origin; }
  server {
    listen 127.0.0.1:${port} reuseport;
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

// Starts `name` and resolves once it accepts connections.
async function startServer(name, options, workdir) {
  const port = await freePort();
  const threads = options.threads;
  let command;
  if (name === 'corsd') {
    command = [options.corsd, '--listen', `127.0.0.1:${port}`, '--no-demo', '--threads', String(threads)];
  } else if (name === 'nginx') {
    const dir = mkdtempSync(join(workdir, 'nginx-'));
    writeFileSync(join(dir, 'nginx.conf'), nginxConfig(dir, port, threads));
    command = ['nginx', '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')];
  } else {
    const file = join(workdir, 'seed-server.js');
    writeFileSync(file, seedServerSource(port));
    command = ['node', file];
  }
  // One core for a single-threaded server, wrk on the other; two-thread
  // servers share both cores with wrk.
  const cpus = threads === 1 || name === 'node' ? '0' : '0,1';
  return start(name, command, cpus, port);
}

// ---------------------------------------------------------------------------
// Workloads

const WORKLOADS = {
  preflight: {
    ...REQUESTS.preflight,
    check(status, headers, body) {
      const problems = [];
      if (status !== 204) problems.push(`status ${status}, not 204`);
      if (headers['access-control-allow-origin'] !== ORIGIN) problems.push('Access-Control-Allow-Origin is not the origin');
      if (!/\bPUT\b/.test(headers['access-control-allow-methods'] ?? '')) problems.push('PUT not in Access-Control-Allow-Methods');
      if (!/content-type/i.test(headers['access-control-allow-headers'] ?? '')) problems.push('content-type not allowed');
      if (headers['access-control-max-age'] !== '10') problems.push('Access-Control-Max-Age is not 10');
      if (body !== '') problems.push('a body on a 204');
      return problems;
    },
  },
  put_echo_1k: {
    ...REQUESTS.put_echo_1k,
    check(status, headers, body) {
      const problems = [];
      if (status !== 200) problems.push(`status ${status}, not 200`);
      if (headers['access-control-allow-origin'] !== ORIGIN) problems.push('Access-Control-Allow-Origin is not the origin');
      if (body !== `${ECHO_PREFIX}PUT\n\n${BODY}`) problems.push('the echoed body differs from the seed\'s');
      return problems;
    },
  },
};

// What a server answers to one request of `workload`, judged.
function verify(server, workload) {
  const r = curlRequest(server.port, WORKLOADS[workload].curl);
  if (r.error) return [r.error];
  return WORKLOADS[workload].check(r.status, Object.fromEntries(r.fields), r.body);
}

// ---------------------------------------------------------------------------
// Reporting

function report(runs, servers, options, invalid) {
  const lines = [];
  lines.push(`# corsd benchmark, ${new Date().toISOString()}`, '');
  lines.push(`Server threads/workers: ${options.threads}; ${options.rounds} rounds of ${options.duration} s runs after ` +
    `${options.warmup} s warm-ups; wrk -t1 on CPU 1${options.threads === 1 ? ', servers on CPU 0' : ''}. Medians.`, '');
  for (const [key, problems] of Object.entries(invalid)) lines.push(`- **${key} answered wrongly, not timed**: ${problems.join('; ')}`);
  if (Object.keys(invalid).length) lines.push('');
  lines.push('| workload | conns | server | req/s | × corsd req/s | p50 µs | p99 µs | CPU µs/req | × corsd CPU | peak RSS MiB | non-2xx | socket errors |');
  lines.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  const medians = {};
  for (const workload of Object.keys(WORKLOADS)) {
    for (const conns of [64, 1]) {
      const base = {};
      for (const server of servers) {
        const rs = runs.filter((r) => r.server === server && r.workload === workload && r.connections === conns);
        if (!rs.length) continue;
        const m = {
          rps: median(rs.map((r) => r.rps)), p50: median(rs.map((r) => r.p50_us)), p99: median(rs.map((r) => r.p99_us)),
          cpu: median(rs.map((r) => r.cpu_us_per_request)), rss: Math.max(...rs.map((r) => r.peak_rss_mib)),
          non2xx: rs.reduce((a, r) => a + r.non2xx, 0), errors: rs.reduce((a, r) => a + r.socket_errors, 0),
        };
        medians[`${workload}/${conns}/${server}`] = m;
        if (server === 'corsd') Object.assign(base, m);
        lines.push(`| ${workload} | ${conns} | ${server} | ${fmt(m.rps, 0)} | ${fmt(m.rps / base.rps, 2)} | ${fmt(m.p50, 0)} | ` +
          `${fmt(m.p99, 0)} | ${fmt(m.cpu, 2)} | ${fmt(m.cpu / base.cpu, 2)} | ${fmt(m.rss)} | ${m.non2xx} | ${m.errors} |`);
      }
    }
  }
  if (options.threads === 1) {
    lines.push('', '## Figures to reach (single-core comparison)', '');
    for (const t of targets(runs, medians)) lines.push(`- ${t.met ? 'met' : '**not met**'}: ${t.what} (${t.measured})`);
  }
  lines.push('', '## Every run', '', '| round | workload | conns | server | req/s | p50 µs | p99 µs | CPU s | CPU µs/req | peak RSS MiB | non-2xx | socket errors | noisy |');
  lines.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of runs) {
    lines.push(`| ${r.round} | ${r.workload} | ${r.connections} | ${r.server} | ${fmt(r.rps, 0)} | ${fmt(r.p50_us, 0)} | ${fmt(r.p99_us, 0)} | ` +
      `${fmt(r.cpu_s, 2)} | ${fmt(r.cpu_us_per_request, 2)} | ${fmt(r.peak_rss_mib)} | ${r.non2xx} | ${r.socket_errors} | ${r.noisy ? 'yes' : ''} |`);
  }
  return { markdown: lines.join('\n') + '\n', medians };
}

// The targets, judged on this run's medians (and every round where
// the target says so).
function targets(runs, medians) {
  const m = (w, c, s) => medians[`${w}/${c}/${s}`] ?? {};
  const perRound = (w, test) => {
    const rounds = [...new Set(runs.map((r) => r.round))];
    return rounds.map((round) => {
      const get = (s) => runs.find((r) => r.round === round && r.workload === w && r.connections === 64 && r.server === s);
      const c = get('corsd'), n = get('nginx');
      return c && n ? test(c, n) : false;
    });
  };
  const out = [];
  const add = (what, met, measured) => out.push({ what, met, measured });
  const pre = m('preflight', 64, 'corsd'), put = m('put_echo_1k', 64, 'corsd');
  add('preflight ≤ 7.5 µs server CPU per request', pre.cpu <= 7.5, `${fmt(pre.cpu, 2)} µs`);
  const rounds = perRound('preflight', (c, n) => c.rps >= n.rps);
  add('preflight req/s ≥ nginx in every round', rounds.length > 0 && rounds.every(Boolean),
    `${rounds.filter(Boolean).length} of ${rounds.length} rounds`);
  add('PUT echo 1 KiB ≤ 9 µs server CPU per request', put.cpu <= 9, `${fmt(put.cpu, 2)} µs`);
  const putRatio = put.rps / m('put_echo_1k', 64, 'nginx').rps;
  add('PUT echo req/s ≥ 1.2 × nginx', putRatio >= 1.2, `${fmt(putRatio, 2)} ×`);
  for (const w of Object.keys(WORKLOADS)) {
    const ratio = m(w, 64, 'corsd').rps / m(w, 64, 'node').rps;
    add(`${w} req/s ≥ 2 × the seed's Node server`, ratio >= 2, `${fmt(ratio, 2)} ×`);
    add(`${w} p99 ≤ 1 ms at 64 connections`, m(w, 64, 'corsd').p99 <= 1000, `${fmt(m(w, 64, 'corsd').p99, 0)} µs`);
    add(`${w} peak RSS ≤ 12 MiB at 64 connections`, m(w, 64, 'corsd').rss <= 12, `${fmt(m(w, 64, 'corsd').rss)} MiB`);
  }
  return out;
}

// ---------------------------------------------------------------------------

async function main() {
  const options = parseArgs(process.argv.slice(2));
  if (options.proxy) return (await import('./proxy.mjs')).main(options);
  if (options.tls) return (await import('./tls.mjs')).main(options);
  if (options.nginxModule) return (await import('./nginx_module.mjs')).main(options);
  if (options.scale) return (await import('./scale.mjs')).main(options);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const outDir = join(ROOT, 'bench/results', `${stamp}${options.threads === 2 ? '-threads2' : ''}`);
  mkdirSync(outDir, { recursive: true });
  const workdir = mkdtempSync(join(tmpdir(), 'corsd-bench-'));
  const scripts = {};
  for (const [name, w] of Object.entries(WORKLOADS)) {
    scripts[name] = join(workdir, `${name}.lua`);
    writeFileSync(scripts[name], w.lua);
  }
  const servers = ['corsd', 'nginx', 'node'];
  const invalid = {};
  const runs = [];
  try {
    for (let round = 1; round <= options.rounds; ++round) {
      for (const workload of Object.keys(WORKLOADS)) {
        for (const name of servers) {
          const key = `${name} ${workload}`;
          if (invalid[key]) continue;
          const server = await startServer(name, options, workdir);
          try {
            const problems = verify(server, workload);
            if (problems.length) {
              invalid[key] = problems;
              console.warn(`bench: ${key} answered wrongly: ${problems.join('; ')}`);
              continue;
            }
            for (const connections of [64, 1]) {
              const r = await measure({ server, script: scripts[workload], connections, options, label: workload });
              runs.push({ round, workload, server: name, connections, ...r });
              logRun(round, workload, connections, name, r, 5);
            }
          } finally {
            await stopServer(server);
          }
        }
      }
    }
  } finally {
    rmSync(workdir, { recursive: true, force: true });
  }
  const { markdown, medians } = report(runs, servers, options, invalid);
  writeFileSync(join(outDir, 'results.md'), markdown);
  writeFileSync(join(outDir, 'results.json'), JSON.stringify({ options, invalid, runs, medians }, null, 2));
  chart(outDir, medians, servers, Object.keys(WORKLOADS), 'corsd vs nginx vs the seed (Node.js), 64 connections, medians');
  console.log(`\n${markdown.split('\n## Every run')[0]}\nresults: ${outDir}/results.md, chart: ${outDir}/chart.png`);
}

main().catch((e) => {
  console.error(`bench: ${e.stack ?? e}`);
  process.exit(1);
});
