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

import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SEED = resolve(ROOT, '../shared/seed/000_39087d2efae59048.txt');
const CLK_TCK = 100;
const ORIGIN = 'http://localhost:8081';
const ECHO_PREFIX = 'Thank You For The Cross-Domain AJAX Request:\n\nMethod: ';
// A 1 KiB JSON body, as the workload asks.
const BODY = JSON.stringify({ name: 'Tricia', age: 37, notes: 'x'.repeat(1024 - 45) });

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
    else if (a === '--help' || a === '-h') {
      console.log('usage: bench/run [--rounds N] [--duration SECONDS] [--warmup SECONDS] [--threads 1|2] [--quick]');
      process.exit(0);
    } else {
      console.error(`bench/run: unknown argument ${a} (try --help)`);
      process.exit(2);
    }
  }
  if (![1, 2].includes(o.threads)) throw new Error('--threads must be 1 or 2');
  return o;
}

// ---------------------------------------------------------------------------
// /proc readings

function procStat(pid) {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) };
}

// The pid and all its descendants.
function processTree(root) {
  const children = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const { ppid } = procStat(name);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(name));
    } catch {
      // the process ended while we looked
    }
  }
  const tree = [];
  const walk = (pid) => {
    tree.push(pid);
    for (const c of children.get(pid) ?? []) walk(c);
  };
  walk(root);
  return tree;
}

function treeCpuSeconds(root) {
  let ticks = 0;
  for (const pid of processTree(root)) {
    try {
      ticks += procStat(pid).ticks;
    } catch {}
  }
  return ticks / CLK_TCK;
}

function treePeakRssKiB(root) {
  let kib = 0;
  for (const pid of processTree(root)) {
    try {
      const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmHWM:\s+(\d+) kB/);
      if (m) kib += Number(m[1]);
    } catch {}
  }
  return kib;
}

// Busy and total jiffies of the whole machine. Busy counts user, nice,
// system and steal time, the time processes are charged with; interrupt
// and softirq time (the network stack working for the server and wrk) is
// left out, as no process is charged with it.
function machineJiffies() {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = cpu;
  return { busy: user + nice + system + steal, total: user + nice + system + idle + iowait + irq + softirq + steal };
}

async function waitForIdle(maxSeconds = 60) {
  for (let waited = 0; waited < maxSeconds; ++waited) {
    const a = machineJiffies();
    await sleep(1000);
    const b = machineJiffies();
    const busyShare = (b.busy - a.busy) / Math.max(1, b.total - a.total);
    if (busyShare < 0.1) return;
  }
  console.warn('bench: CPUs did not go idle within 60 s; measuring anyway');
}

// ---------------------------------------------------------------------------
// Servers

async function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
    s.on('error', rej);
  });
}

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
  return `
worker_processes ${workers};
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
load_module /usr/lib/nginx/modules/ngx_http_echo_module.so;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  keepalive_requests 1000000;
  client_body_buffer_size 64k;
  map $http_origin $cors_origin { "" "*"; default $http_origin; }
  server {
    listen 127.0.0.1:${port} reuseport;
    location / {
      if ($request_method = OPTIONS) {
        add_header Access-Control-Allow-Origin $cors_origin always;
        add_header Access-Control-Allow-Methods "GET, POST, PUT, DELETE, OPTIONS" always;
        add_header Access-Control-Allow-Headers "content-type, accept" always;
        add_header Access-Control-Max-Age 10 always;
        add_header Vary Origin always;
        return 204;
      }
      default_type "text/plain; charset=utf-8";
      add_header Access-Control-Allow-Origin $cors_origin always;
      add_header Vary Origin always;
      echo_read_request_body;
      echo -n "Thank You For The Cross-Domain AJAX Request:\\n\\nMethod: $request_method\\n\\n";
      echo_request_body;
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
  const proc = spawn('taskset', ['-c', cpus, ...command], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  proc.stdout.on('data', (d) => (output += d));
  proc.stderr.on('data', (d) => (output += d));
  for (let i = 0; i < 100; ++i) {
    if (proc.exitCode !== null) throw new Error(`${name} exited at start: ${output}`);
    const r = spawnSync('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', `http://127.0.0.1:${port}/`]);
    if (String(r.stdout) !== '000') return { name, port, proc, output: () => output };
    await sleep(100);
  }
  proc.kill('SIGKILL');
  throw new Error(`${name} did not start listening: ${output}`);
}

async function stopServer(server) {
  server.proc.kill('SIGTERM');
  for (let i = 0; i < 50 && server.proc.exitCode === null && server.proc.signalCode === null; ++i) await sleep(100);
  if (server.proc.exitCode === null && server.proc.signalCode === null) server.proc.kill('SIGKILL');
}

// ---------------------------------------------------------------------------
// Workloads

const WORKLOADS = {
  preflight: {
    lua: `wrk.method = "OPTIONS"
wrk.headers["Origin"] = "${ORIGIN}"
wrk.headers["Access-Control-Request-Method"] = "PUT"
wrk.headers["Access-Control-Request-Headers"] = "content-type"
`,
    curl: ['-X', 'OPTIONS', '-H', `Origin: ${ORIGIN}`, '-H', 'Access-Control-Request-Method: PUT', '-H',
      'Access-Control-Request-Headers: content-type'],
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
    lua: `wrk.method = "PUT"
wrk.headers["Origin"] = "${ORIGIN}"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '${BODY}'
`,
    curl: ['-X', 'PUT', '-H', `Origin: ${ORIGIN}`, '-H', 'Content-Type: application/json', '--data-binary', BODY],
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
  const r = spawnSync('curl', ['-s', '-i', '--max-time', '5', ...WORKLOADS[workload].curl,
    `http://127.0.0.1:${server.port}/some/url/resource/path`]);
  const raw = String(r.stdout);
  const split = raw.indexOf('\r\n\r\n');
  if (split < 0) return [`no answer (curl exit ${r.status})`];
  const lines = raw.slice(0, split).split('\r\n');
  const status = Number(lines[0].split(' ')[1]);
  const headers = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  return WORKLOADS[workload].check(status, headers, raw.slice(split + 4));
}

// ---------------------------------------------------------------------------
// Measuring

function parseWrk(text) {
  const num = (re) => {
    const m = text.match(re);
    return m ? Number(m[1]) : 0;
  };
  const latencyUs = (pct) => {
    const m = text.match(new RegExp(`^\\s+${pct}%\\s+([\\d.]+)(us|ms|s)`, 'm'));
    if (!m) return NaN;
    return Number(m[1]) * { us: 1, ms: 1000, s: 1e6 }[m[2]];
  };
  const socket = text.match(/Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/);
  return {
    requests: num(/(\d+) requests in/),
    rps: num(/Requests\/sec:\s+([\d.]+)/),
    p50_us: latencyUs(50),
    p99_us: latencyUs(99),
    non2xx: num(/Non-2xx or 3xx responses: (\d+)/),
    socket_errors: socket ? socket.slice(1).map(Number).reduce((a, b) => a + b, 0) : 0,
  };
}

// Runs wrk on CPU 1; returns its report and the CPU seconds it used itself
// (bash's `time`), so that the rest of the machine's CPU use can be told apart.
function runWrk(port, connections, seconds, scriptPath) {
  const wrk = `taskset -c 1 wrk -t1 -c${connections} -d${seconds}s --latency -s '${scriptPath}' ` +
    `http://127.0.0.1:${port}/some/url/resource/path`;
  const r = spawnSync('bash', ['-c', `TIMEFORMAT='%3U %3S'; time ${wrk}`], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`wrk failed: ${r.stderr}`);
  const [user, system] = r.stderr.trim().split('\n').pop().split(' ').map(Number);
  return { text: r.stdout, cpu: user + system };
}

async function measure(server, workload, connections, options, scripts) {
  for (let attempt = 1; ; ++attempt) {
    await waitForIdle();
    runWrk(server.port, connections, options.warmup, scripts[workload]);
    const cpu0 = treeCpuSeconds(server.proc.pid);
    const machine0 = machineJiffies();
    const self0 = process.cpuUsage();
    const wrk = runWrk(server.port, connections, options.duration, scripts[workload]);
    const machine1 = machineJiffies();
    const cpu = treeCpuSeconds(server.proc.pid) - cpu0;
    const result = parseWrk(wrk.text);
    // What the machine did besides the server, wrk and this script.
    const self = process.cpuUsage(self0);
    const machineBusy = (machine1.busy - machine0.busy) / CLK_TCK;
    const others = machineBusy - cpu - wrk.cpu - (self.user + self.system) / 1e6;
    const noisy = others > 0.05 * options.duration;
    if (noisy && attempt < 3) {
      console.warn(`  ${server.name} ${workload} c=${connections}: other processes used ${others.toFixed(2)} s of CPU; redoing`);
      continue;
    }
    return {
      ...result,
      cpu_s: cpu,
      cpu_us_per_request: result.requests ? (cpu * 1e6) / result.requests : NaN,
      peak_rss_mib: treePeakRssKiB(server.proc.pid) / 1024,
      noisy,
    };
  }
}

// ---------------------------------------------------------------------------
// Reporting

const median = (xs) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fmt = (x, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');

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

function chart(dir, medians, servers) {
  const rows = [];
  for (const workload of Object.keys(WORKLOADS)) {
    const cols = servers.map((s) => medians[`${workload}/64/${s}`]);
    rows.push(`${workload} ${cols.map((m) => fmt(m?.rps ?? NaN, 0)).join(' ')} ${cols.map((m) => fmt(m?.cpu ?? NaN, 2)).join(' ')}`);
  }
  writeFileSync(join(dir, 'chart.dat'), rows.join('\n').replaceAll('n/a', 'NaN') + '\n');
  const n = servers.length;
  const plot = (first) => servers.map((s, i) => `'chart.dat' using ${first + i}:xtic(1) title '${s}'`).join(', ');
  writeFileSync(join(dir, 'chart.gp'), `set terminal pngcairo size 1100,450 font ',10' noenhanced
set output 'chart.png'
set multiplot layout 1,2 title 'corsd vs nginx vs the seed (Node.js), 64 connections, medians'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set key below horizontal
set grid ytics
set yrange [0:*]
set title 'requests per second (higher is better)'
plot ${plot(2)}
set title 'server CPU microseconds per request (lower is better)'
plot ${plot(2 + n)}
unset multiplot
`);
  const r = spawnSync('gnuplot', ['chart.gp'], { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) console.warn(`bench: gnuplot failed: ${r.stderr}`);
}

// ---------------------------------------------------------------------------

async function main() {
  const options = parseArgs(process.argv.slice(2));
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
              const r = await measure(server, workload, connections, options, scripts);
              runs.push({ round, workload, server: name, connections, ...r });
              console.log(`round ${round} ${workload.padEnd(12)} c=${String(connections).padEnd(2)} ${name.padEnd(5)} ` +
                `${fmt(r.rps, 0).padStart(7)} req/s  p99 ${fmt(r.p99_us, 0).padStart(6)} µs  ` +
                `${fmt(r.cpu_us_per_request, 2).padStart(6)} CPU µs/req  RSS ${fmt(r.peak_rss_mib)} MiB`);
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
  chart(outDir, medians, servers);
  console.log(`\n${markdown.split('\n## Every run')[0]}\nresults: ${outDir}/results.md, chart: ${outDir}/chart.png`);
}

main().catch((e) => {
  console.error(`bench: ${e.stack ?? e}`);
  process.exit(1);
});
