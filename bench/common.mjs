// What bench/run.mjs (servers side by side) and bench/proxy.mjs (reverse
// proxies side by side) share: the requests, /proc readings, the idle-CPU
// wait, starting and stopping processes, running wrk, one measured run, and
// the report's helpers.

import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const CLK_TCK = 100;
export const ORIGIN = 'http://localhost:8081';
export const PATH = '/some/url/resource/path';
export const ECHO_PREFIX = 'Thank You For The Cross-Domain AJAX Request:\n\nMethod: ';
// A 1 KiB JSON body, as the workload asks.
export const BODY = JSON.stringify({ name: 'Tricia', age: 37, notes: 'x'.repeat(1024 - 45) });

// The two requests every benchmark sends: as a wrk script and as curl arguments.
export const REQUESTS = {
  preflight: {
    lua: `wrk.method = "OPTIONS"
wrk.headers["Origin"] = "${ORIGIN}"
wrk.headers["Access-Control-Request-Method"] = "PUT"
wrk.headers["Access-Control-Request-Headers"] = "content-type"
`,
    curl: ['-X', 'OPTIONS', '-H', `Origin: ${ORIGIN}`, '-H', 'Access-Control-Request-Method: PUT', '-H',
      'Access-Control-Request-Headers: content-type'],
  },
  put_echo_1k: {
    lua: `wrk.method = "PUT"
wrk.headers["Origin"] = "${ORIGIN}"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '${BODY}'
`,
    curl: ['-X', 'PUT', '-H', `Origin: ${ORIGIN}`, '-H', 'Content-Type: application/json', '--data-binary', BODY],
  },
};

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

export function treeCpuSeconds(root) {
  let ticks = 0;
  for (const pid of processTree(root)) {
    try {
      ticks += procStat(pid).ticks;
    } catch {}
  }
  return ticks / CLK_TCK;
}

// A /proc/PID/status figure (VmRSS: now; VmHWM: the peak) of `root` and
// its descendants, summed, in KiB.
function treeStatusKiB(root, field) {
  let kib = 0;
  for (const pid of processTree(root)) {
    try {
      const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`${field}:\\s+(\\d+) kB`));
      if (m) kib += Number(m[1]);
    } catch {}
  }
  return kib;
}

export const treeRssKiB = (root) => treeStatusKiB(root, 'VmRSS');
export const treePeakRssKiB = (root) => treeStatusKiB(root, 'VmHWM');

// Busy and total jiffies of the whole machine. Busy counts user, nice,
// system and steal time, the time processes are charged with; interrupt
// and softirq time (the network stack working for the server and wrk) is
// left out, as no process is charged with it.
export function machineJiffies() {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = cpu;
  return { busy: user + nice + system + steal, total: user + nice + system + idle + iowait + irq + softirq + steal };
}

export async function waitForIdle(maxSeconds = 60) {
  for (let waited = 0; waited < maxSeconds; ++waited) {
    const a = machineJiffies();
    await sleep(1000);
    const b = machineJiffies();
    const busyShare = (b.busy - a.busy) / Math.max(1, b.total - a.total);
    if (busyShare < 0.1) return;
  }
  console.warn(`bench: CPUs did not go idle within ${maxSeconds} s; measuring anyway`);
}

// ---------------------------------------------------------------------------
// Processes

export async function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
    s.on('error', rej);
  });
}

// Every process started through start() that has not ended yet; whatever is
// left when the benchmark exits (done, failed or interrupted) is killed.
const running = new Set();
process.on('exit', () => {
  for (const proc of running) proc.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => process.exit(130));

// Starts `command` pinned to `cpus` and resolves once http://127.0.0.1:PORT/
// answers; `port` is a number, or a function that finds it in the process's
// output so far (for servers told to listen on port 0).
export async function start(name, command, cpus, port) {
  const proc = spawn('taskset', ['-c', cpus, ...command], { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(proc);
  proc.on('exit', () => running.delete(proc));
  let output = '';
  proc.stdout.on('data', (d) => (output += d));
  proc.stderr.on('data', (d) => (output += d));
  for (let i = 0; i < 100; ++i) {
    if (proc.exitCode !== null) throw new Error(`${name} exited at start: ${output}`);
    const p = typeof port === 'function' ? port(output) : port;
    if (p) {
      const r = spawnSync('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', `http://127.0.0.1:${p}/`]);
      if (String(r.stdout) !== '000') return { name, port: p, proc, output: () => output };
    }
    await sleep(100);
  }
  proc.kill('SIGKILL');
  throw new Error(`${name} did not start listening: ${output}`);
}

export async function stopServer(server) {
  server.proc.kill('SIGTERM');
  for (let i = 0; i < 50 && server.proc.exitCode === null && server.proc.signalCode === null; ++i) await sleep(100);
  if (server.proc.exitCode === null && server.proc.signalCode === null) server.proc.kill('SIGKILL');
}

// The seed's preflight answer in nginx (inside a location): the origin from
// the \`$cors_origin\` map, methods, headers, max-age 10, Vary, 204.
export function nginxPreflight(methods = 'GET, POST, PUT, DELETE, OPTIONS', headers = 'content-type, accept') {
  return `if ($request_method = OPTIONS) {
        add_header Access-Control-Allow-Origin $cors_origin always;
        add_header Access-Control-Allow-Methods "${methods}" always;
        add_header Access-Control-Allow-Headers "${headers}" always;
        add_header Access-Control-Max-Age 10 always;
        add_header Vary Origin always;
        return 204;
      }`;
}

// The part of an nginx configuration every nginx here shares: foreground,
// files in `dir`, no access log, keep-alive connections kept open.
export function nginxPreamble(dir, workers, { echo = false } = {}) {
  return `
worker_processes ${workers};
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
${echo ? 'load_module /usr/lib/nginx/modules/ngx_http_echo_module.so;' : ''}
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  keepalive_requests 1000000;
  client_body_buffer_size 64k;`;
}

// The seed's echo answer in nginx's echo module (inside a location).
export const NGINX_ECHO = `default_type "text/plain; charset=utf-8";
      echo_read_request_body;
      echo -n "Thank You For The Cross-Domain AJAX Request:\\n\\nMethod: $request_method\\n\\n";
      echo_request_body;`;

// ---------------------------------------------------------------------------
// Checking answers

// One request with curl: status, header fields in order (names lowercased),
// body; null when nothing came back.
export function curlRequest(port, curlArgs, path = PATH) {
  const r = spawnSync('curl', ['-s', '-i', '--max-time', '5', ...curlArgs, `http://127.0.0.1:${port}${path}`]);
  const raw = String(r.stdout);
  const split = raw.indexOf('\r\n\r\n');
  if (split < 0) return { error: `no answer (curl exit ${r.status})` };
  const lines = raw.slice(0, split).split('\r\n');
  const fields = lines.slice(1).map((line) => {
    const colon = line.indexOf(':');
    return [line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()];
  });
  return { status: Number(lines[0].split(' ')[1]), fields, body: raw.slice(split + 4) };
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
function runWrk(port, connections, seconds, scriptPath, scheme = 'http') {
  const wrk = `taskset -c 1 wrk -t1 -c${connections} -d${seconds}s --latency -s '${scriptPath}' ` +
    `${scheme}://127.0.0.1:${port}${PATH}`;
  const r = spawnSync('bash', ['-c', `TIMEFORMAT='%3U %3S'; time ${wrk}`], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`wrk failed: ${r.stderr}`);
  const [user, system] = r.stderr.trim().split('\n').pop().split(' ').map(Number);
  return { text: r.stdout, cpu: user + system };
}

// One measured run of `script` against `server` (over https when its
// `scheme` says so): waits for idle CPUs (at most
// options.idleWaitSeconds, default 60), warms up, measures, and redoes the run
// (twice at most) when processes other than the server, wrk, this script and
// `upstream` (a process whose CPU use is expected, such as a proxy's
// upstream) used noticeable CPU.
export async function measure({ server, script, connections, options, label, upstream = null }) {
  for (let attempt = 1; ; ++attempt) {
    await waitForIdle(options.idleWaitSeconds);
    runWrk(server.port, connections, options.warmup, script, server.scheme);
    const cpu0 = treeCpuSeconds(server.proc.pid);
    const upstream0 = upstream ? treeCpuSeconds(upstream.proc.pid) : 0;
    const machine0 = machineJiffies();
    const self0 = process.cpuUsage();
    const wrk = runWrk(server.port, connections, options.duration, script, server.scheme);
    const machine1 = machineJiffies();
    const cpu = treeCpuSeconds(server.proc.pid) - cpu0;
    const upstreamCpu = upstream ? treeCpuSeconds(upstream.proc.pid) - upstream0 : 0;
    const result = parseWrk(wrk.text);
    // What the machine did besides the server, its upstream, wrk and this script.
    const self = process.cpuUsage(self0);
    const machineBusy = (machine1.busy - machine0.busy) / CLK_TCK;
    const others = machineBusy - cpu - upstreamCpu - wrk.cpu - (self.user + self.system) / 1e6;
    const noisy = others > 0.05 * options.duration;
    if (noisy && attempt < 3) {
      console.warn(`  ${server.name} ${label} c=${connections}: other processes used ${others.toFixed(2)} s of CPU; redoing`);
      continue;
    }
    return {
      ...result,
      cpu_s: cpu,
      cpu_us_per_request: result.requests ? (cpu * 1e6) / result.requests : NaN,
      ...(upstream ? { upstream_cpu_us_per_request: result.requests ? (upstreamCpu * 1e6) / result.requests : NaN } : {}),
      peak_rss_mib: treePeakRssKiB(server.proc.pid) / 1024,
      noisy,
    };
  }
}

// ---------------------------------------------------------------------------
// Reporting

export const median = (xs) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
export const fmt = (x, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');
// "median (min-max)" of `xs`.
export const spread = (xs, digits) => {
  const fin = xs.filter(Number.isFinite);
  if (fin.length < 2) return fmt(median(xs), digits);
  return `${fmt(median(xs), digits)} (${fmt(Math.min(...fin), digits)}-${fmt(Math.max(...fin), digits)})`;
};

// chart.png in `dir`: req/s and CPU µs per request at 64 connections, one
// cluster per workload, one bar per server (medians keyed workload/64/server).
export function chart(dir, medians, servers, workloads, title) {
  const rows = [];
  for (const workload of workloads) {
    const cols = servers.map((s) => medians[`${workload}/64/${s}`]);
    rows.push(`${workload} ${cols.map((m) => fmt(m?.rps ?? NaN, 0)).join(' ')} ${cols.map((m) => fmt(m?.cpu ?? NaN, 2)).join(' ')}`);
  }
  writeFileSync(join(dir, 'chart.dat'), rows.join('\n').replaceAll('n/a', 'NaN') + '\n');
  const n = servers.length;
  const plot = (first) => servers.map((s, i) => `'chart.dat' using ${first + i}:xtic(1) title '${s}'`).join(', ');
  writeFileSync(join(dir, 'chart.gp'), `set terminal pngcairo size 1100,450 font ',10' noenhanced
set output 'chart.png'
set multiplot layout 1,2 title '${title}'
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

/** Writes `markdown` and `data` as results.md and results.json in `outDir` and prints the summary. */
export function writeResults(outDir, markdown, data) {
  writeFileSync(join(outDir, 'results.md'), markdown);
  writeFileSync(join(outDir, 'results.json'), JSON.stringify(data, null, 2));
  console.log(`\n${markdown.split('\n## Every run')[0]}\nresults: ${outDir}/results.md`);
}

/** One line of progress for a measured run: round, workload, connections, server, req/s, p99, CPU, RSS. */
export function logRun(round, workload, connections, name, r, nameWidth = 6) {
  console.log(`round ${round} ${workload.padEnd(12)} c=${String(connections).padEnd(2)} ${name.padEnd(nameWidth)} ` +
    `${fmt(r.rps, 0).padStart(7)} req/s  p99 ${fmt(r.p99_us, 0).padStart(6)} µs  ` +
    `${fmt(r.cpu_us_per_request, 2).padStart(6)} CPU µs/req  RSS ${fmt(r.peak_rss_mib)} MiB`);
}
