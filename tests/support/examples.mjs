// The example servers that host corsd's engine in other C++ servers (examples/beast: beast_server,
// examples/httplib: httplib_server), started from corsd's build for the tests (tests/adapters,
// tests/browser). Imports nothing but node: modules. Not a test file.
//
//   BUILD_DIR                          $CORSD_BUILD_DIR, else the repository's build/
//   startExample(binary, args, {port}) spawn BUILD_DIR/binary PORT ...args, wait for "listening on ..."

import { spawn } from 'node:child_process';
import { join } from 'node:path';

/** corsd's build directory: $CORSD_BUILD_DIR (CTest sets it), else the repository's build/. */
export const BUILD_DIR = process.env.CORSD_BUILD_DIR || new URL('../../build', import.meta.url).pathname;

/** How long an example may take to print its "listening on" line. */
const STARTUP_TIMEOUT_MS = 10_000;

/**
 * Starts the example server `binary` (a path under BUILD_DIR, e.g. examples/beast/beast_server) as
 * `binary PORT ...args` (port 0: a free one, which it picks itself; args e.g. ['--policy', file], or
 * allowed origins) and waits for its first line, "listening on http://127.0.0.1:PORT". Resolves to
 * { port, origin, stop(), output() }: origin is http://127.0.0.1:PORT; stop() SIGKILLs it (the signal is
 * sent at once) and resolves once it has ended; output() is everything it wrote so far, for diagnostics.
 * Rejects, with its output, when it ends first or does not listen within 10 s (it is then killed).
 */
export async function startExample(binary, args = [], { port: wanted = 0 } = {}) {
  const proc = spawn(join(BUILD_DIR, binary), [String(wanted), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stderr.setEncoding('utf8').on('data', (d) => { err += d; });
  const exited = new Promise((resolve) => {
    proc.once('exit', (code, signal) => resolve({ code, signal }));
    proc.once('error', (error) => resolve({ error }));
  });
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGKILL');
      await exited;
    }
  };
  const output = () => `--- ${binary} ${[String(wanted), ...args].join(' ')}\n--- stdout ---\n${out || '(empty)'}\n` +
    `--- stderr ---\n${err || '(empty)'}`;
  const port = await new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), STARTUP_TIMEOUT_MS);
    proc.stdout.setEncoding('utf8').on('data', (d) => {
      out += d;
      const m = out.match(/listening on http:\/\/127\.0\.0\.1:(\d+)/);
      if (m) { clearTimeout(timer); resolve(Number(m[1])); }
    });
    exited.then(() => { clearTimeout(timer); resolve(null); });
  });
  if (port) return { port, origin: `http://127.0.0.1:${port}`, stop, output };
  await stop();
  throw new Error(`${binary} did not start: ${JSON.stringify(await exited)}\n${out}\n${err}`);
}
