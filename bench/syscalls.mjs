// Counts corsd's system calls per request under load: strace -c -f attached
// to a Release corsd (one thread) while 64 keep-alive connections send a
// fixed number of requests, then total calls / requests.
//
//   bench/syscalls [--requests N] [--connections C] [--workload preflight|put]
//
// (bench/syscalls installs strace and builds corsd in Release first.)

import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BODY = JSON.stringify({ name: 'Tricia', age: 37, notes: 'x'.repeat(1024 - 45) });
const REQUESTS = {
  preflight: 'OPTIONS /some/url/resource/path HTTP/1.1\r\nHost: localhost\r\nOrigin: http://localhost:8081\r\n' +
    'Access-Control-Request-Method: PUT\r\nAccess-Control-Request-Headers: content-type\r\n\r\n',
  put: 'PUT /some/url/resource/path HTTP/1.1\r\nHost: localhost\r\nOrigin: http://localhost:8081\r\n' +
    `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(BODY)}\r\n\r\n${BODY}`,
};

function parseArgs(argv) {
  const o = { requests: 50000, connections: 64, workload: 'preflight', corsd: join(ROOT, 'build-release/corsd') };
  for (let i = 0; i < argv.length; ++i) {
    const key = argv[i].replace(/^--/, '');
    if (!(key in o)) throw new Error(`unknown argument ${argv[i]}`);
    o[key] = typeof o[key] === 'number' ? Number(argv[++i]) : argv[++i];
  }
  if (!REQUESTS[o.workload]) throw new Error('--workload is preflight or put');
  return o;
}

// Opens `connections` keep-alive connections; run(total) sends `total`
// requests over them, one in flight per connection, and resolves when every
// response has arrived. The same connections serve every run, so a measured
// run counts no connection set-up.
async function openPool(port, request, connections) {
  let sent = 0, answered = 0, total = 0, done = null;
  const sockets = await Promise.all(Array.from({ length: connections }, () => new Promise((res, rej) => {
    const socket = connect(port, '127.0.0.1', () => res(socket));
    socket.setNoDelay(true);
    socket.on('error', rej);
  })));
  const next = (socket) => {
    if (sent < total) {
      ++sent;
      socket.write(request);
    }
  };
  for (const socket of sockets) {
    let buffer = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        const end = buffer.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buffer.subarray(0, end).toString();
        const length = Number((head.match(/\r\ncontent-length: (\d+)/i) ?? [0, 0])[1]);
        if (buffer.length < end + 4 + length) return;
        buffer = buffer.subarray(end + 4 + length);
        if (++answered === total) done();
        next(socket);
      }
    });
  }
  return {
    run(n) {
      sent = 0;
      answered = 0;
      total = n;
      const finished = new Promise((res) => (done = res));
      for (const socket of sockets) next(socket);
      return finished;
    },
    close() {
      for (const socket of sockets) socket.destroy();
    },
  };
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const corsd = spawn('taskset', ['-c', '0', o.corsd, '--listen', '127.0.0.1:0', '--no-demo', '--threads', '1'],
    { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise((res, rej) => {
    let out = '';
    corsd.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/ready: api http:\/\/127\.0\.0\.1:(\d+)/);
      if (m) res(Number(m[1]));
    });
    corsd.on('exit', () => rej(new Error(`corsd exited: ${out}`)));
  });
  const serverPid = Number(String(spawnSync('pgrep', ['-P', String(corsd.pid)]).stdout).trim()) || corsd.pid;
  const pool = await openPool(port, REQUESTS[o.workload], o.connections);
  await pool.run(2000);  // warm-up, not counted

  const out = join(tmpdir(), `corsd-strace-${process.pid}.txt`);
  const strace = spawn('strace', ['-c', '-f', '-o', out, '-p', String(serverPid)], { stdio: 'ignore' });
  await sleep(500);  // attached to every thread
  await pool.run(o.requests);
  strace.kill('SIGINT');
  await new Promise((r) => strace.on('exit', r));
  pool.close();
  corsd.kill('SIGTERM');

  const table = readFileSync(out, 'utf8');
  rmSync(out, { force: true });
  const total = Number((table.match(/^\s*100\.00\s+\S+\s+\S+\s+(\d+)/m) ?? [0, 0])[1]);
  console.log(table.trim());
  console.log(`\n${o.workload}: ${o.requests} requests over ${o.connections} connections: ${total} system calls, ` +
    `${(total / o.requests).toFixed(2)} per request (target: 2 or fewer)`);
}

main().catch((e) => {
  console.error(`syscalls: ${e.message}`);
  process.exit(1);
});
