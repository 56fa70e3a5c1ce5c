// corsd as systemd runs it: the unit files pass `systemd-analyze verify`, `cmake --install` puts
// everything in place, sockets passed the way systemd passes them (systemd-socket-activate, and
// LISTEN_FDS across a restart) are served, and READY/RELOADING/STOPPING reach NOTIFY_SOCKET. No
// systemd needs to run: its own tools play its part, on loopback only.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { corsdBin } from '../support/corsd.mjs';
import { freePort } from '../support/net.mjs';

const T = { timeout: 60_000 };
const ROOT = new URL('../..', import.meta.url).pathname;
const BUILD = process.env.CORSD_BUILD_DIR || join(ROOT, 'build');
const ORIGIN = 'https://app.test';


/** Polls `check` every 20 ms for up to `ms`; returns its last value. */
async function until(check, ms = 5000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v || Date.now() > end) return v;
    await sleep(20);
  }
}

/** A GET on a new connection (no keep-alive): { status, acao } or { error }. */
async function get(port, path = '/x') {
  try {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, { headers: { origin: ORIGIN, connection: 'close' } });
    await res.text();
    return { status: res.status, acao: res.headers.get('access-control-allow-origin') };
  } catch (err) {
    return { error: err.cause?.code ?? err.message };
  }
}

/** Spawns a process with both outputs collected; { proc, out(), exited }. */
function run(cmd, args, options = {}) {
  // A process group of its own: stopping it stops what it started (the restart script's corsds).
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true, ...options });
  let out = '';
  proc.stdout.setEncoding('utf8').on('data', (d) => { out += d; });
  proc.stderr.setEncoding('utf8').on('data', (d) => { out += d; });
  const exited = new Promise((r) => proc.once('exit', (code, signal) => r({ code, signal })));
  const signalGroup = (signal) => {
    try {
      process.kill(-proc.pid, signal);
    } catch {} // gone already
  };
  return { proc, out: () => out, exited, signalGroup };
}

describe('systemd', () => {
  let dir;
  const running = [];
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'corsd-systemd-'));
  });
  after(async () => {
    for (const r of running) r.signalGroup('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  test('systemd-analyze verify passes for corsd.service and corsd.socket (and finds the man page)', T, () => {
    const unit = join(BUILD, 'packaging', 'test', 'corsd.service');
    assert.ok(existsSync(unit), `${unit}: configure the build first`);
    const r = spawnSync('systemd-analyze', ['verify', unit, join(ROOT, 'packaging', 'corsd.socket')], {
      encoding: 'utf8', env: { ...process.env, MANPATH: join(ROOT, 'docs', 'man') }, cwd: dir,
    });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.equal(r.stdout + r.stderr, '', 'no warnings');
    const text = readFileSync(unit, 'utf8');
    for (const line of ['Type=notify', 'DynamicUser=yes', 'ProtectSystem=strict', 'ProtectHome=yes', 'NoNewPrivileges=yes',
      'PrivateTmp=yes', 'CapabilityBoundingSet=\n', 'ExecReload=/bin/kill -HUP $MAINPID',
      'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX AF_NETLINK']) {
      assert.ok(text.includes(line), `corsd.service has ${JSON.stringify(line)}`);
    }
  });

  test('cmake --install puts the binary, the man page, the units, a config and the examples in place', T, () => {
    const prefix = join(dir, 'prefix');
    const r = spawnSync('cmake', ['--install', BUILD, '--prefix', prefix], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    for (const f of ['bin/corsd', 'share/man/man1/corsd.1', 'lib/systemd/system/corsd.service',
      'lib/systemd/system/corsd.socket', 'etc/corsd/corsd.toml', 'share/doc/corsd/examples/reverse-proxy.toml',
      'share/doc/corsd/systemd/low-ports.conf']) {
      assert.ok(existsSync(join(prefix, f)), `${f} installed`);
    }
    const check = spawnSync(join(prefix, 'bin/corsd'), ['--check-config', join(prefix, 'etc/corsd/corsd.toml')],
      { encoding: 'utf8' });
    assert.equal(check.status, 0, check.stdout + check.stderr);
    const man = spawnSync('man', ['-P', 'cat', '-l', join(prefix, 'share/man/man1/corsd.1')], { encoding: 'utf8' });
    assert.equal(man.status, 0, man.stderr);
    assert.match(man.stdout, /SIGHUP/);
    assert.match(man.stdout, /SIGUSR1/);
  });

  test('the installed binary serves the installed demo, not the source tree\'s', T, async () => {
    const prefix = join(dir, 'prefix');  // installed by the test before
    assert.ok(existsSync(join(prefix, 'share/corsd/demo/index.html')), 'the demo page is installed');
    assert.ok(existsSync(join(prefix, 'share/corsd/demo/jquery.min.js')), 'jQuery is installed beside it');
    // Marked, so that the source tree's copy (the same file) cannot pass for it.
    const installedJquery = join(prefix, 'share/corsd/demo/jquery.min.js');
    writeFileSync(installedJquery, readFileSync(installedJquery, 'utf8') + '\n/* the installed copy */\n');
    // From another folder, so nothing relative to the source tree could be found by accident.
    const r = run(join(prefix, 'bin/corsd'), ['--threads', '1', '--listen', '127.0.0.1:0', '--demo-listen', '127.0.0.1:0'],
      { cwd: dir });
    running.push(r);
    const ready = await until(() => r.out().match(/ready: api \S+ demo http:\/\/127\.0\.0\.1:(\d+)\//), 5000);
    assert.ok(ready, r.out());
    const demo = Number(ready[1]);
    const page = await fetch(`http://127.0.0.1:${demo}/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<script src="\/vendor\/jquery\.min\.js">/);
    const jquery = await fetch(`http://127.0.0.1:${demo}/vendor/jquery.min.js`);
    assert.equal(jquery.status, 200);
    assert.match(await jquery.text(), /the installed copy/);
    r.signalGroup('SIGTERM');
    assert.equal((await r.exited).code, 0, r.out());
  });

  test('socket activation: the sockets systemd passes are served, the first connection included', T, async () => {
    const [api, admin] = [await freePort(), await freePort()];
    const r = run('systemd-socket-activate', ['-l', `127.0.0.1:${api}`, '-l', `127.0.0.1:${admin}`, '--fdname=api:admin',
      corsdBin(), '--no-demo', '--threads', '2', '--listen', '127.0.0.1:1', '--allow-origin', ORIGIN]);
    running.push(r);
    await until(() => r.out().includes('Listening on'), 5000);
    await sleep(100);
    // corsd starts on this first connection, which waits in the backlog meanwhile.
    const first = await get(api);
    assert.deepEqual(first, { status: 200, acao: ORIGIN }, r.out());
    // The ready line comes through a pipe, which may deliver it after the socket's answer.
    const ready = new RegExp(`ready: api http://127\\.0\\.0\\.1:${api} admin http://127\\.0\\.0\\.1:${admin}`);
    await until(() => ready.test(r.out()), 5000);
    assert.match(r.out(), ready);
    assert.equal((await get(admin, '/livez')).status, 200);
    r.proc.kill('SIGTERM');
    assert.deepEqual(await r.exited, { code: 0, signal: null });
  });

  test('a restart on the same passed socket refuses no connection', T, async () => {
    const api = await freePort();
    // systemd's part: one listening socket, kept while one corsd drains and the next starts.
    const script = join(dir, 'restart.sh');
    writeFileSync(script, `set -e
# exec twice: $! is corsd's pid, and LISTEN_PID names corsd, as systemd's does.
serve() { exec sh -c 'LISTEN_PID=$$ exec "$@"' sh "${corsdBin()}" --no-demo --threads 1 --allow-origin ${ORIGIN} --listen 127.0.0.1:1; }
LISTEN_FDS=1 LISTEN_FDNAMES=api serve & first=$!
while [ ! -e "${dir}/restart" ]; do sleep 0.02; done
LISTEN_FDS=1 LISTEN_FDNAMES=api serve & second=$!
kill -TERM $first
wait $first
touch "${dir}/restarted"
wait $second
`);
    const r = run('systemd-socket-activate', ['-l', `127.0.0.1:${api}`, '--fdname=api', 'sh', script]);
    running.push(r);
    await until(() => r.out().includes('Listening on'), 5000);
    await sleep(100);
    assert.equal((await get(api)).status, 200, r.out());
    const results = [];
    let sending = true;
    const clients = Array.from({ length: 8 }, async () => {
      while (sending) results.push(await get(api));
    });
    await sleep(300);
    writeFileSync(join(dir, 'restart'), '');
    assert.ok(await until(() => existsSync(join(dir, 'restarted')), 10_000), `the first corsd exited\n${r.out()}`);
    await sleep(300);
    sending = false;
    await Promise.all(clients);
    const failed = results.filter((x) => x.status !== 200 || x.acao !== ORIGIN);
    assert.deepEqual(failed.slice(0, 5), [], `${failed.length} of ${results.length} requests failed\n${r.out()}`);
    assert.ok(results.length > 50, `${results.length} requests`);
    assert.equal(r.out().match(/ready: api/g)?.length, 2, r.out());
    r.signalGroup('SIGTERM');
  });

  test('READY=1 on start, RELOADING=1 then READY=1 on SIGHUP, STOPPING=1 on SIGTERM reach NOTIFY_SOCKET', T, async () => {
    const socketPath = join(dir, 'notify.sock');
    const log = join(dir, 'notify.log');
    // systemd's part: a datagram socket that records what it receives.
    const listener = run('socat', ['-u', `UNIX-RECV:${socketPath}`, `OPEN:${log},creat,append`]);
    running.push(listener);
    assert.ok(await until(() => existsSync(socketPath), 5000), listener.out());
    const api = await freePort();
    const corsd = run(corsdBin(), ['--no-demo', '--listen', `127.0.0.1:${api}`, '--allow-origin', ORIGIN],
      { env: { ...process.env, NOTIFY_SOCKET: socketPath } });
    running.push(corsd);
    const said = () => (existsSync(log) ? readFileSync(log, 'utf8') : '');
    assert.ok(await until(() => said().includes('READY=1')), `${said()}\n${corsd.out()}`);
    assert.match(said(), /STATUS=serving http:\/\/127\.0\.0\.1:\d+/);
    corsd.proc.kill('SIGHUP');
    assert.ok(await until(() => corsd.out().includes('reloaded')), corsd.out());
    assert.ok(await until(() => /RELOADING=1[^]*READY=1[^]*READY=1/.test(said()) || /READY=1[^]*RELOADING=1[^]*READY=1/.test(said())),
      said());
    corsd.proc.kill('SIGTERM');
    assert.deepEqual(await corsd.exited, { code: 0, signal: null });
    assert.ok(await until(() => said().includes('STOPPING=1')), said());
  });
});
