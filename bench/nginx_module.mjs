// bench/run --nginx-module: what corsd's policy engine costs inside other
// servers, measured the way bench/run.mjs measures (rounds alternating the
// servers, the server pinned to CPU 0 and wrk -t1 to CPU 1, idle-CPU waits,
// disturbed runs redone, server CPU from /proc).
//
// 1. Debian's nginx (one worker) with corsd's module, ngx_http_corsd_module.so
//    from beside the --corsd binary, `corsd_policy api.toml;` in the location,
//    against the same nginx with the hand-written recipe (common.mjs's
//    nginxPreflight: `add_header ... always` and `return 204`). Both answer
//    the same policy: origin http://localhost:8081, the methods and headers
//    below, max-age 10; both answer the actual requests with the echo module,
//    so the module's header filter is measured as well as its preflights.
//    64 connections. Workloads: the preflight, a GET with Origin (echo, no
//    body) and the PUT with the 1 KiB JSON body. Target: the module costs at
//    most 5 % more server CPU per preflight than the recipe.
// 2. The Boost.Beast adapter's overhead: examples/beast/beast_server
//    --policy api.toml against the same binary with --bare (no CORS engine
//    at all). It serves one thread per connection, so 16 connections.
//    Workloads: the preflight (the bare server answers the OPTIONS with its
//    echo: what is compared is a policy-answered 204 against the bare
//    server's 200 echo of the same request) and the PUT with 1 KiB.
//
//   bench/run --nginx-module [--rounds N] [--duration SECONDS] [--warmup SECONDS] [--quick]

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import {
  BODY, ECHO_PREFIX, NGINX_ECHO, ORIGIN, REQUESTS, ROOT, chart, curlRequest, fmt, freePort, measure, median,
  nginxPreamble, nginxPreflight, start, stopServer, logRun,
} from './common.mjs';

const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'OPTIONS'];
const HEADERS = ['content-type', 'accept'];
const MAX_AGE = 10;
// The policy both the recipe and api.toml say.
const POLICY_TOML = `# The same policy as the nginx recipe (bench/nginx_module.mjs).
[[routes]]
path = "/"
allow_origins = ["${ORIGIN}"]
allow_methods = [${METHODS.map((m) => `"${m}"`).join(', ')}]
allow_headers = [${HEADERS.map((h) => `"${h}"`).join(', ')}]
max_age = ${MAX_AGE}
`;

const PARTS = {
  nginx: { servers: ['recipe', 'module'], workloads: ['preflight', 'get', 'put_echo_1k'], connections: 64 },
  beast: { servers: ['bare', 'policy'], workloads: ['preflight', 'put_echo_1k'], connections: 16 },
};
const TITLES = { recipe: 'nginx + add_header recipe', module: 'nginx + corsd module', bare: 'beast_server --bare', policy: 'beast_server --policy' };

// ---------------------------------------------------------------------------
// Requests and what their answers must be

const REQUEST = {
  preflight: REQUESTS.preflight,
  get: {
    lua: `wrk.method = "GET"
wrk.headers["Origin"] = "${ORIGIN}"
`,
    curl: ['-H', `Origin: ${ORIGIN}`],
  },
  put_echo_1k: REQUESTS.put_echo_1k,
};

const values = (fields, name) => fields.filter(([n]) => n === name).map(([, v]) => v);
// The answer's Access-Control-* fields, in order, as "name: value".
const corsFields = (fields) => fields.filter(([n]) => n.startsWith('access-control-')).map(([n, v]) => `${n}: ${v}`);

// Problems with the CORS fields: the expected ones each once with the value
// asked for, no other Access-Control-* field, Origin once in Vary.
function corsProblems(fields, expected) {
  const problems = [];
  for (const [name, want] of Object.entries(expected)) {
    const vs = values(fields, name);
    if (vs.length !== 1) problems.push(`${name} ${vs.length} times, not once`);
    else if (vs[0] !== want) problems.push(`${name}: "${vs[0]}", not "${want}"`);
  }
  for (const name of new Set(fields.map(([n]) => n).filter((n) => n.startsWith('access-control-')))) {
    if (!(name in expected)) problems.push(`an unexpected ${name}`);
  }
  const origins = values(fields, 'vary').flatMap((v) => v.split(',')).filter((t) => t.trim().toLowerCase() === 'origin');
  if (origins.length !== 1) problems.push(`Origin in Vary ${origins.length} times, not once`);
  return problems;
}

const PREFLIGHT_FIELDS = {
  'access-control-allow-origin': ORIGIN,
  'access-control-allow-methods': METHODS.join(', '),
  'access-control-allow-headers': HEADERS.join(', '),
  'access-control-max-age': String(MAX_AGE),
};
const ACTUAL_FIELDS = { 'access-control-allow-origin': ORIGIN };
const echoOf = (method, body = '') => `${ECHO_PREFIX}${method}\n\n${body}`;

// What `server` (a name of PARTS) must answer to `workload`: problems, or none.
function check(server, workload, { status, fields, body }) {
  const problems = [];
  const want = (s) => status !== s && problems.push(`status ${status}, not ${s}`);
  if (server === 'bare') {
    // No CORS engine: the echo, whatever the method, and no CORS fields.
    want(200);
    const method = workload === 'preflight' ? 'OPTIONS' : 'PUT';
    if (body !== echoOf(method, method === 'PUT' ? BODY : '')) problems.push(`not the echo of the ${method}`);
    if (corsFields(fields).length) problems.push(`CORS fields from the bare server: ${corsFields(fields).join('; ')}`);
    return problems;
  }
  if (workload === 'preflight') {
    want(204);
    problems.push(...corsProblems(fields, PREFLIGHT_FIELDS));
    if (body !== '') problems.push('a body on a 204');
    return problems;
  }
  want(200);
  problems.push(...corsProblems(fields, ACTUAL_FIELDS));
  const expected = workload === 'get' ? echoOf('GET') : echoOf('PUT', BODY);
  if (body !== expected) problems.push('the echoed body differs from the seed\'s');
  return problems;
}

function verify(server, workload) {
  const r = curlRequest(server.port, REQUEST[workload].curl);
  return r.error ? { problems: [r.error], answer: null } : { problems: check(server.name, workload, r), answer: r };
}

// ---------------------------------------------------------------------------
// Servers

function nginxConfig(name, dir, port, modulePath) {
  const location = name === 'module'
    ? `corsd_policy api.toml;
      ${NGINX_ECHO}`
    : `${nginxPreflight(METHODS.join(', '), HEADERS.join(', '))}
      add_header Access-Control-Allow-Origin $cors_origin always;
      add_header Vary Origin always;
      ${NGINX_ECHO}`;
  return `${name === 'module' ? `load_module ${modulePath};` : ''}${nginxPreamble(dir, 1, { echo: true })}
  ${name === 'recipe' ? `map $http_origin $cors_origin { "${ORIGIN}" $http_origin; default ""; }` : ''}
  server {
    listen 127.0.0.1:${port} reuseport;
    location / {
      ${location}
    }
  }
}
`;
}

const beastPort = (output) => Number(output.match(/listening on http:\/\/127\.0\.0\.1:(\d+)/)?.[1] ?? 0);

async function startServer(name, paths, workdir) {
  if (name === 'bare' || name === 'policy') {
    const args = name === 'bare' ? ['--bare'] : ['--policy', paths.policy];
    return start(name, [paths.beast, '0', ...args], '0', beastPort);
  }
  const dir = mkdtempSync(join(workdir, `nginx-${name}-`));
  const port = await freePort();
  if (name === 'module') writeFileSync(join(dir, 'api.toml'), POLICY_TOML);
  writeFileSync(join(dir, 'nginx.conf'), nginxConfig(name, dir, port, paths.module));
  return start(name, ['nginx', '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')], '0', port);
}

// Before anything is timed: every server answers every workload of its part
// as it must, and the module's CORS fields are the recipe's, field for field
// (and beast_server --policy's the same as the module's). Throws otherwise.
async function compareAnswers(paths, workdir) {
  const answers = {};
  for (const [part, { servers, workloads }] of Object.entries(PARTS)) {
    for (const name of servers) {
      const server = await startServer(name, paths, workdir);
      try {
        for (const workload of workloads) {
          const { problems, answer } = verify(server, workload);
          if (problems.length) throw new Error(`${part} ${name} answers ${workload} wrongly: ${problems.join('; ')}`);
          answers[`${name}/${workload}`] = {
            status: answer.status, cors: corsFields(answer.fields), vary: values(answer.fields, 'vary'),
          };
        }
      } finally {
        await stopServer(server);
      }
    }
  }
  const same = (a, b, workload) => {
    const x = answers[`${a}/${workload}`], y = answers[`${b}/${workload}`];
    if (x.status !== y.status || JSON.stringify([...x.cors].sort()) !== JSON.stringify([...y.cors].sort())) {
      throw new Error(`${a} and ${b} answer ${workload} differently:\n  ${a}: ${x.status} ${x.cors.join('; ')}\n` +
        `  ${b}: ${y.status} ${y.cors.join('; ')}`);
    }
  };
  for (const w of PARTS.nginx.workloads) same('recipe', 'module', w);
  for (const w of PARTS.beast.workloads) same('module', 'policy', w);
  return answers;
}

// ---------------------------------------------------------------------------
// Reporting

const spread = (xs, digits) => {
  const v = xs.filter(Number.isFinite);
  if (v.length === 0) return 'n/a';
  const m = fmt(median(v), digits);
  return v.length > 1 ? `${m} (${fmt(Math.min(...v), digits)}-${fmt(Math.max(...v), digits)})` : m;
};

// Per round, f(run of a, run of b) for `workload`.
function perRound(runs, workload, a, b, f) {
  const out = [];
  for (const round of [...new Set(runs.map((r) => r.round))]) {
    const get = (s) => runs.find((r) => r.round === round && r.workload === workload && r.server === s);
    if (get(a) && get(b)) out.push(f(get(a), get(b)));
  }
  return out;
}

function summarize(runs) {
  const medians = {};
  for (const { servers, workloads, connections } of Object.values(PARTS)) {
    for (const w of workloads) {
      for (const s of servers) {
        const rs = runs.filter((r) => r.workload === w && r.server === s);
        if (!rs.length) continue;
        const pick = (k) => rs.map((r) => r[k]);
        medians[`${w}/${connections}/${s}`] = {
          rps: median(pick('rps')), p50: median(pick('p50_us')), p99: median(pick('p99_us')),
          cpu: median(pick('cpu_us_per_request')), rss: Math.max(...pick('peak_rss_mib')),
        };
      }
    }
  }
  return medians;
}

function report(runs, answers, options, invalid, paths) {
  const lines = [`# corsd's engine in nginx (module) and in Boost.Beast (adapter), ${new Date().toISOString()}`, ''];
  lines.push(`nginx with one worker, or the Beast example with its thread per connection, on CPU 0; wrk -t1 on CPU 1; ` +
    `${options.rounds} rounds alternating the servers, ${options.duration} s runs after ${options.warmup} s warm-ups. ` +
    'Medians over rounds, (min-max) where there are several.', '');
  const noisy = runs.filter((r) => r.noisy);
  if (noisy.length) {
    lines.push(`- **${noisy.length} of ${runs.length} runs were disturbed** by other processes in all three attempts ` +
      `(${noisy.map((r) => `round ${r.round} ${r.workload} ${r.server}`).join(', ')}): see "noisy" under Every run.`, '');
  }
  lines.push(`Module: ${paths.module}; Beast example: ${paths.beast}.`, '');
  for (const [key, problems] of Object.entries(invalid)) lines.push(`- **${key} answered wrongly, not timed**: ${problems.join('; ')}`);
  if (Object.keys(invalid).length) lines.push('');

  const table = (part) => {
    const { servers, workloads, connections } = PARTS[part];
    lines.push('| workload | server | req/s | p50 µs | p99 µs | CPU µs/req | peak RSS MiB | non-2xx | socket errors |');
    lines.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const w of workloads) {
      for (const s of servers) {
        const rs = runs.filter((r) => r.workload === w && r.server === s);
        if (!rs.length) continue;
        const col = (k, d) => spread(rs.map((r) => r[k]), d);
        lines.push(`| ${w}, ${connections} conns | ${TITLES[s]} | ${col('rps', 0)} | ${col('p50_us', 0)} | ${col('p99_us', 0)} | ` +
          `${col('cpu_us_per_request', 2)} | ${fmt(Math.max(...rs.map((r) => r.peak_rss_mib)))} | ` +
          `${rs.reduce((a, r) => a + r.non2xx, 0)} | ${rs.reduce((a, r) => a + r.socket_errors, 0)} |`);
      }
    }
  };

  lines.push('## nginx: corsd module against the add_header recipe', '');
  lines.push(`Same nginx (1 worker), same echo-module content handler, the same policy (\`api.toml\` below; the ` +
    `recipe: nginxPreflight with "${METHODS.join(', ')}" and "${HEADERS.join(', ')}", max-age ${MAX_AGE}, ` +
    `Access-Control-Allow-Origin from a map that lets ${ORIGIN} only).`, '');
  table('nginx');
  const varies = (s) => answers[`${s}/preflight`]?.vary.join('; ');
  if (varies('recipe') !== varies('module')) {
    lines.push('', `The preflight answers differ in Vary only: the recipe's is "${varies('recipe')}", the module's ` +
      `"${varies('module')}" (what corsd itself sends).`);
  }
  lines.push('', '| workload | module / recipe CPU per request, each round | median (min-max) | module / recipe req/s, each round | median (min-max) |');
  lines.push('| --- | --- | --- | --- | --- |');
  const ratios = {};
  for (const w of PARTS.nginx.workloads) {
    const cpu = perRound(runs, w, 'module', 'recipe', (m, r) => m.cpu_us_per_request / r.cpu_us_per_request);
    const rps = perRound(runs, w, 'module', 'recipe', (m, r) => m.rps / r.rps);
    ratios[w] = cpu;
    lines.push(`| ${w} | ${cpu.map((x) => fmt(x, 3)).join(', ')} | ${spread(cpu, 3)} | ${rps.map((x) => fmt(x, 3)).join(', ')} | ${spread(rps, 3)} |`);
  }
  const pre = ratios.preflight ?? [];
  const preMedian = median(pre);
  lines.push('', '## Target', '');
  lines.push(`- ${preMedian <= 1.05 ? 'met' : '**not met**'}: the module costs ≤ 5 % more server CPU per preflight than ` +
    `the recipe (median ratio ${fmt(preMedian, 3)}, ${fmt((preMedian - 1) * 100, 1)} %; ` +
    `${pre.filter((x) => x <= 1.05).length} of ${pre.length} rounds within 5 %` +
    `${runs.some((r) => r.workload === 'preflight' && r.connections === 64 && r.noisy) ? '; disturbed runs included' : ''})`);

  lines.push('', '## Boost.Beast: the adapter against the same server with no CORS engine', '');
  lines.push('`beast_server 0 --policy api.toml` against `beast_server 0 --bare`, thread per connection, all on CPU 0. ' +
    'preflight: the policy server answers the preflight itself (204, the policy\'s fields: decide + preflight_response); ' +
    `the bare server has no CORS and answers the same OPTIONS request with its echo (200, a ${echoOf('OPTIONS').length}-byte body), so the ` +
    'difference is the adapter\'s preflight path against the echo path, not a pure cost. put_echo_1k: both echo the ' +
    'PUT; the policy server adds decide + apply (Access-Control-Allow-Origin, Vary).', '');
  table('beast');
  lines.push('', '| workload | bare CPU µs/req | policy CPU µs/req | overhead µs, each round | overhead µs, median (min-max) | overhead %, median (min-max) |');
  lines.push('| --- | --- | --- | --- | --- | --- |');
  for (const w of PARTS.beast.workloads) {
    const of = (s) => median(runs.filter((r) => r.workload === w && r.server === s).map((r) => r.cpu_us_per_request));
    const diff = perRound(runs, w, 'policy', 'bare', (p, b) => p.cpu_us_per_request - b.cpu_us_per_request);
    const pct = perRound(runs, w, 'policy', 'bare', (p, b) => (p.cpu_us_per_request / b.cpu_us_per_request - 1) * 100);
    lines.push(`| ${w} | ${fmt(of('bare'), 2)} | ${fmt(of('policy'), 2)} | ${diff.map((x) => fmt(x, 2)).join(', ')} | ` +
      `${spread(diff, 2)} | ${spread(pct, 1)} |`);
  }

  lines.push('', '## The answers compared (curl, before timing)', '');
  lines.push('Access-Control-* fields must be the same, field for field, for the recipe and the module (and the ' +
    'module and beast_server --policy); Vary must name Origin once.', '');
  lines.push('| server | workload | status | Access-Control-* | Vary |', '| --- | --- | --- | --- | --- |');
  for (const [key, a] of Object.entries(answers)) {
    const [s, w] = key.split('/');
    lines.push(`| ${TITLES[s]} | ${w} | ${a.status} | ${a.cors.join('; ') || '(none)'} | ${a.vary.join('; ') || '(none)'} |`);
  }
  lines.push('', 'api.toml:', '', '```toml', POLICY_TOML.trim(), '```');
  lines.push('', '## Every run', '', '| round | workload | conns | server | req/s | p50 µs | p99 µs | CPU s | CPU µs/req | peak RSS MiB | non-2xx | socket errors | noisy |');
  lines.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of runs) {
    lines.push(`| ${r.round} | ${r.workload} | ${r.connections} | ${r.server} | ${fmt(r.rps, 0)} | ${fmt(r.p50_us, 0)} | ` +
      `${fmt(r.p99_us, 0)} | ${fmt(r.cpu_s, 2)} | ${fmt(r.cpu_us_per_request, 2)} | ${fmt(r.peak_rss_mib)} | ` +
      `${r.non2xx} | ${r.socket_errors} | ${r.noisy ? 'yes' : ''} |`);
  }
  return lines.join('\n') + '\n';
}

// ---------------------------------------------------------------------------

export async function main(options) {
  // Builds and tests may be running on this machine: wait longer for idle CPUs.
  options = { ...options, idleWaitSeconds: 300 };
  const build = dirname(options.corsd);
  const paths = { module: join(build, 'ngx_http_corsd_module.so'), beast: join(build, 'examples/beast/beast_server') };
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const outDir = join(ROOT, 'bench/results', `${stamp}-nginx-module`);
  mkdirSync(outDir, { recursive: true });
  const workdir = mkdtempSync(join(tmpdir(), 'corsd-bench-module-'));
  paths.policy = join(workdir, 'api.toml');
  writeFileSync(paths.policy, POLICY_TOML);
  const scripts = {};
  for (const [name, r] of Object.entries(REQUEST)) {
    scripts[name] = join(workdir, `${name}.lua`);
    writeFileSync(scripts[name], r.lua);
  }
  const invalid = {};
  const runs = [];
  let answers;
  try {
    answers = await compareAnswers(paths, workdir);
    for (let round = 1; round <= options.rounds; ++round) {
      for (const { servers, workloads, connections } of Object.values(PARTS)) {
        for (const workload of workloads) {
          for (const name of round % 2 ? servers : [...servers].reverse()) {
            const key = `${name} ${workload}`;
            if (invalid[key]) continue;
            const server = await startServer(name, paths, workdir);
            try {
              const { problems } = verify(server, workload);
              if (problems.length) {
                invalid[key] = problems;
                console.warn(`bench: ${key} answered wrongly: ${problems.join('; ')}`);
                continue;
              }
              const r = await measure({ server, script: scripts[workload], connections, options, label: workload });
              runs.push({ round, workload, server: name, connections, ...r });
              logRun(round, workload, connections, name, r);
            } finally {
              await stopServer(server);
            }
          }
        }
      }
    }
  } finally {
    rmSync(workdir, { recursive: true, force: true });
  }
  const medians = summarize(runs);
  const markdown = report(runs, answers, options, invalid, paths);
  writeFileSync(join(outDir, 'results.md'), markdown);
  writeFileSync(join(outDir, 'results.json'), JSON.stringify({ options, paths, policy: POLICY_TOML, answers, invalid, runs, medians }, null, 2));
  chart(outDir, medians, PARTS.nginx.servers, PARTS.nginx.workloads,
    'nginx: corsd module vs the add_header recipe, 1 worker, 64 connections, medians');
  // chart() reads the 64-connection medians; the Beast part's are at 16, put in its place for the chart.
  const beastDir = join(outDir, 'beast');
  mkdirSync(beastDir);
  const beastMedians = Object.fromEntries(PARTS.beast.workloads.flatMap((w) => PARTS.beast.servers.map((s) =>
    [`${w}/64/${s}`, medians[`${w}/${PARTS.beast.connections}/${s}`]])));
  chart(beastDir, beastMedians, PARTS.beast.servers, PARTS.beast.workloads,
    `beast_server --policy vs --bare, thread per connection on CPU 0, ${PARTS.beast.connections} connections, medians`);
  console.log(`\n${markdown.split('\n## The answers compared')[0]}\nresults: ${outDir}/results.md, ` +
    `charts: ${outDir}/chart.png, ${beastDir}/chart.png`);
}
