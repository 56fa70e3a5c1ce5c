// bench/run --scale: corsd's req/s with one route and one origin, against
// the same requests when the config holds 10,000 routes, 100,000 exact
// origins or 100,000 origin patterns (the hardening issue: each within 10 %).
//
// Each configuration is a config file written here; the request's route and
// origin are in every one, found among the many:
//   base      one route "/some" allowing http://localhost:8081;
//   routes    the same route after 9,999 others ("/service42/v9942"): a scan
//             would try it last, being the shortest;
//   origins   the same route allowing 100,000 exact origins and then the request's;
//   patterns  the same route allowing 100,000 "https://*.xN.example" patterns
//             and "http://localhost:*", which the request's origin matches.
// Workloads at 64 connections: the preflight and an actual GET with Origin
// (decided every time: accepted preflights are answered from a per-worker
// store), and a GET to a path no route covers. corsd on CPU 0, wrk on CPU 1;
// the configurations alternate within each round.
//
//   bench/run --scale [--rounds N] [--duration SECONDS] [--warmup SECONDS] [--quick]

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ORIGIN, PATH, REQUESTS, ROOT, curlRequest, fmt, logRun, measure, median, spread, start, stopServer, writeResults,
} from './common.mjs';

const CONFIGS = ['base', 'routes', 'origins', 'patterns'];
const UNROUTED = '/nothing/here';

const WORKLOADS = {
  preflight: { lua: REQUESTS.preflight.lua, curl: REQUESTS.preflight.curl, path: PATH, status: 204, cors: true },
  actual_get: {
    lua: `wrk.method = "GET"\nwrk.headers["Origin"] = "${ORIGIN}"\n`, curl: ['-H', `Origin: ${ORIGIN}`], path: PATH,
    status: 200, cors: true,
  },
  unrouted_get: {
    lua: `wrk.method = "GET"\nwrk.path = "${UNROUTED}"\nwrk.headers["Origin"] = "${ORIGIN}"\n`,
    curl: ['-H', `Origin: ${ORIGIN}`], path: UNROUTED, status: 200, cors: false,
  },
};

function route(path, origins) {
  return `[[routes]]
path = "${path}"
allow_origins = [${origins.map((o) => `"${o}"`).join(', ')}]
allow_methods = ["GET", "POST", "PUT", "DELETE", "OPTIONS"]
allow_headers = ["content-type", "accept"]
max_age = 10

`;
}

function writeConfigs(dir) {
  const server = '[server]\nlisten = "127.0.0.1:0"\nthreads = 1\n\n';
  const many = (n, text) => Array.from({ length: n }, (_, i) => text(i));
  const bodies = {
    base: route('/some', [ORIGIN]),
    routes: many(9999, (i) => route(`/service${(i + 1) % 100}/v${i + 1}`, [ORIGIN])).join('') + route('/some', [ORIGIN]),
    origins: route('/some', [...many(100000, (i) => `https://site${i}.example`), ORIGIN]),
    patterns: route('/some', [...many(100000, (i) => `https://*.x${i}.example`), 'http://localhost:*']),
  };
  const files = {};
  for (const [name, body] of Object.entries(bodies)) {
    files[name] = join(dir, `${name}.toml`);
    writeFileSync(files[name], server + body);
  }
  return files;
}

function verify(server, workload) {
  const w = WORKLOADS[workload];
  const r = curlRequest(server.port, w.curl, w.path);
  if (r.error) return [r.error];
  const problems = [];
  if (r.status !== w.status) problems.push(`status ${r.status}, not ${w.status}`);
  const allowed = r.fields.filter(([n]) => n === 'access-control-allow-origin').map(([, v]) => v);
  if (w.cors ? allowed.join() !== ORIGIN : allowed.length > 0) problems.push(`Access-Control-Allow-Origin: ${allowed.join() || 'none'}`);
  return problems;
}

// Each round's ratio to base's req/s in the same round.
function ratios(runs, workload, config) {
  const out = [];
  for (const round of new Set(runs.map((r) => r.round))) {
    const get = (c) => runs.find((r) => r.round === round && r.workload === workload && r.config === c);
    const base = get('base'), other = get(config);
    if (base && other) out.push(other.rps / base.rps);
  }
  return out;
}

function report(runs, options, invalid) {
  const lines = [`# corsd at scale, ${new Date().toISOString()}`, ''];
  lines.push(`corsd --threads 1 on CPU 0, wrk -t1 -c64 on CPU 1; ${options.rounds} rounds of ${options.duration} s runs ` +
    `after ${options.warmup} s warm-ups, the configurations alternating. Medians (min-max).`, '');
  for (const [key, problems] of Object.entries(invalid)) lines.push(`- **${key} answered wrongly, not timed**: ${problems.join('; ')}`);
  lines.push('| workload | config | req/s | × base req/s (per round) | CPU µs/req | p99 µs | peak RSS MiB |');
  lines.push('| --- | --- | --- | --- | --- | --- | --- |');
  const targets = [];
  for (const workload of Object.keys(WORKLOADS)) {
    for (const config of CONFIGS) {
      const rs = runs.filter((r) => r.workload === workload && r.config === config);
      if (!rs.length) continue;
      const rs_ratios = ratios(runs, workload, config);
      lines.push(`| ${workload} | ${config} | ${spread(rs.map((r) => r.rps), 0)} | ` +
        `${config === 'base' ? '1' : spread(rs_ratios, 3)} | ${spread(rs.map((r) => r.cpu_us_per_request), 2)} | ` +
        `${fmt(median(rs.map((r) => r.p99_us)), 0)} | ${fmt(Math.max(...rs.map((r) => r.peak_rss_mib)))} |`);
      if (config !== 'base') targets.push({ what: `${workload}, ${config}: req/s within 10 % of base`, met: median(rs_ratios) >= 0.9, measured: `${spread(rs_ratios, 3)} ×` });
    }
  }
  lines.push('', '## Targets', '');
  for (const t of targets) lines.push(`- ${t.met ? 'met' : '**not met**'}: ${t.what} (${t.measured})`);
  lines.push('', '## Every run', '', '| round | workload | config | req/s | CPU µs/req | p99 µs | noisy |', '| --- | --- | --- | --- | --- | --- | --- |');
  for (const r of runs) {
    lines.push(`| ${r.round} | ${r.workload} | ${r.config} | ${fmt(r.rps, 0)} | ${fmt(r.cpu_us_per_request, 2)} | ${fmt(r.p99_us, 0)} | ${r.noisy ? 'yes' : ''} |`);
  }
  return lines.join('\n') + '\n';
}

export async function main(options) {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const outDir = join(ROOT, 'bench/results', `${stamp}-scale`);
  mkdirSync(outDir, { recursive: true });
  const workdir = mkdtempSync(join(tmpdir(), 'corsd-bench-scale-'));
  const files = writeConfigs(workdir);
  const scripts = {};
  for (const [name, w] of Object.entries(WORKLOADS)) {
    scripts[name] = join(workdir, `${name}.lua`);
    writeFileSync(scripts[name], w.lua);
  }
  const runs = [];
  const invalid = {};
  const corsdPort = (output) => Number(output.match(/ready: api http:\/\/127\.0\.0\.1:(\d+)/)?.[1] ?? 0);
  try {
    for (let round = 1; round <= options.rounds; ++round) {
      // Each round starts with another configuration, so none always runs first.
      const order = CONFIGS.map((_, i) => CONFIGS[(i + round - 1) % CONFIGS.length]);
      for (const config of order) {
        const server = await start(config, [options.corsd, '--config', files[config], '--no-demo'], '0', corsdPort);
        try {
          for (const workload of Object.keys(WORKLOADS)) {
            const key = `${config} ${workload}`;
            if (invalid[key]) continue;
            const problems = verify(server, workload);
            if (problems.length) {
              invalid[key] = problems;
              console.warn(`bench: ${key} answered wrongly: ${problems.join('; ')}`);
              continue;
            }
            const r = await measure({ server, script: scripts[workload], connections: 64, options, label: workload });
            runs.push({ round, workload, config, ...r });
            logRun(round, workload, 64, config, r, 8);
          }
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
