// Debian's nginx for the tests (scripts/setup.sh installs it), in a temporary directory of its own on a
// free loopback port, with corsd's module loaded when asked. Not a test file.
//
//   const nginx = await startNginx({ http: (dir, port) => `server { listen 127.0.0.1:${port}; ... }`,
//                                    module: true, files: { 'api.toml': '[[routes]] ...' } });
//   ... nginx.port ...; await nginx.stop();
//
// `http` gives the inside of the http {} block; the temp paths, the pid file and the logs are set here.

import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants as fsConstants, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './net.mjs';

export const NGINX = process.env.NGINX_BIN || '/usr/sbin/nginx';

/** The module corsd's build made (CORSD_BUILD_DIR, as CTest sets it, else beside CORSD_BIN). */
export function nginxModule() {
  const build = process.env.CORSD_BUILD_DIR || (process.env.CORSD_BIN ? dirname(process.env.CORSD_BIN) : 'build');
  const path = resolve(build, 'ngx_http_corsd_module.so');  // load_module needs it absolute
  if (!existsSync(path)) throw new Error(`${path} is missing: build corsd with -DCORSD_NGINX_MODULE=ON (the default)`);
  return path;
}

function checkNginx() {
  try {
    accessSync(NGINX, fsConstants.X_OK);
  } catch (err) {
    throw new Error(`${NGINX} is not an executable file (${err.code}): scripts/setup.sh installs nginx-light`);
  }
}

/** A whole nginx.conf around `httpBlock`, writing everything under `dir`. */
export function nginxConf(dir, httpBlock, { module = false } = {}) {
  return `${module ? `load_module ${nginxModule()};\n` : ''}pid ${dir}/nginx.pid;
error_log ${dir}/error.log info;
events { worker_connections 256; }
http {
  default_type application/octet-stream;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
${httpBlock}
}
`;
}

function makeDir(files) {
  const dir = mkdtempSync(join(tmpdir(), 'corsd-nginx-'));
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
  return dir;
}

/**
 * `nginx -t` on a config made of `http(dir)`: { status, output }. What a user sees when a policy is bad.
 */
export function nginxTest({ http, module = false, files = {} }) {
  checkNginx();
  const dir = makeDir(files);
  try {
    const conf = join(dir, 'nginx.conf');
    writeFileSync(conf, nginxConf(dir, http(dir, 0), { module }));
    const run = spawnSync(NGINX, ['-t', '-p', `${dir}/`, '-e', join(dir, 'error.log'), '-c', conf], { encoding: 'utf8' });
    return { status: run.status, output: `${run.stdout}${run.stderr}`, conf };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Starts nginx: { port, dir, accessLog(), errorLog(), output(), stop() }. The port is found by binding
 * port 0; if another process takes it before nginx does, another is tried. `files` are written into its
 * directory first (relative names).
 */
export async function startNginx({ http, module = false, files = {} }) {
  checkNginx();
  const base = makeDir(files);
  const read = (name) => { try { return readFileSync(join(base, name), 'utf8'); } catch { return ''; } };
  let lastError = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const conf = join(base, 'nginx.conf');
    writeFileSync(conf, nginxConf(base, http(base, port), { module }));
    const proc = spawn(NGINX, ['-p', `${base}/`, '-e', join(base, 'error.log'), '-c', conf,
      '-g', 'daemon off; master_process off;'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    proc.stdout.setEncoding('utf8').on('data', (d) => { output += d; });
    proc.stderr.setEncoding('utf8').on('data', (d) => { output += d; });
    const exited = new Promise((resolve) => {
      proc.once('exit', (code, signal) => resolve({ code, signal }));
      proc.once('error', (error) => resolve({ code: null, signal: null, error }));
    });
    let gone = null;
    exited.then((r) => { gone = r; });
    const stop = async ({ keep = false } = {}) => {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        if (!(await Promise.race([exited, sleep(5000, null, { ref: false })]))) proc.kill('SIGKILL');
        await exited;
      }
      if (!keep) rmSync(base, { recursive: true, force: true });
    };
    const deadline = Date.now() + 10_000;
    let ready = false;
    while (!ready && !gone && Date.now() < deadline) {
      ready = await new Promise((resolve) => {
        const s = net.connect({ host: '127.0.0.1', port });
        s.once('connect', () => { s.destroy(); resolve(true); });
        s.once('error', () => resolve(false));
      });
      if (!ready) await sleep(20);
    }
    if (ready && !gone) {
      return {
        port, dir: base, stop, pid: proc.pid,
        accessLog: () => read('access.log'),
        errorLog: () => read('error.log'),
        output: () => `--- nginx output ---\n${output || '(empty)'}\n--- error.log ---\n${read('error.log') || '(empty)'}`,
      };
    }
    await stop({ keep: true });
    lastError = `nginx on port ${port}: ${gone ? JSON.stringify(gone) : 'not accepting within 10 s'}\n${output}\n${read('error.log')}`;
    if (!/Address already in use/.test(lastError)) break;
  }
  rmSync(base, { recursive: true, force: true });
  throw new Error(`nginx did not start\n${lastError}`);
}
