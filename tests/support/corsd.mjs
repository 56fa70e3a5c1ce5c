// Starting and stopping the real corsd, shared by the browser tests (tests/browser) and the proxy
// tests (tests/proxy). Imports nothing but node: modules, so the proxy tests stay browser-free.
//
// Not a test file: `node --test` only runs files named like *.test.mjs.
//
//   corsdBin()                   the binary: $CORSD_BIN, else the repository's build/corsd
//   startCorsd(args)             spawn it, wait for its "ready: api URL [demo URL]" line
//   runCorsd(args)               run it to its exit (start-up refusals, --check-config)
//   killCorsd(corsd)             SIGKILL a corsd that is still running (for after() hooks)
//   stopCorsd(corsd, timeoutMs)  SIGTERM, wait for the exit, return { code, signal }

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { accessSync, constants as fsConstants } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** How long corsd may take to print its ready line. */
export const STARTUP_TIMEOUT_MS = 10_000;

/** The corsd binary: $CORSD_BIN, else the repository's build/corsd. Throws unless it is executable. */
export function corsdBin() {
  const bin = process.env.CORSD_BIN || new URL('../../build/corsd', import.meta.url).pathname;
  try {
    accessSync(bin, fsConstants.X_OK);
  } catch (err) {
    throw new Error(`CORSD_BIN=${bin} is not an executable file (${err.code}): point CORSD_BIN at the corsd ` +
      'binary, e.g. `CORSD_BIN=build/corsd node --test tests/browser/`');
  }
  return bin;
}

/** Spawns corsd with args, both pipes drained into strings (so corsd never blocks on logging). */
function spawnCorsd(args) {
  const proc = spawn(corsdBin(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const run = { proc, stdout: '', stderr: '' };
  proc.stdout.setEncoding('utf8').on('data', (d) => { run.stdout += d; });
  proc.stderr.setEncoding('utf8').on('data', (d) => { run.stderr += d; });
  return run;
}

/**
 * Starts corsd with args and waits (up to timeoutMs) for its "ready: api URL [demo URL]" line on
 * stdout. Resolves to the running corsd:
 *   { proc, pid, apiUrl, port, demoUrl, adminUrl, stdout(), stderr(), output(), exited, stop() }
 * port is the API's; demoUrl is undefined with --no-demo, adminUrl without an admin listener. stdout() and stderr() return everything
 * corsd wrote so far; output() returns both, labelled, for diagnostics; exited resolves to
 * { code, signal, error? } once the process has ended (error when it could not be spawned);
 * stop() sends SIGTERM, and SIGKILL if corsd is still running 5 s later, and resolves to exited.
 *
 * Rejects, with corsd's output in the message, when the binary is not executable, when corsd ends
 * before it is ready, or on timeout (corsd is then killed).
 */
export function startCorsd(args, { timeoutMs = STARTUP_TIMEOUT_MS } = {}) {
  const run = spawnCorsd(args);
  const { proc } = run;
  const output = () =>
    `--- corsd ${args.join(' ')}\n--- stdout ---\n${run.stdout || '(empty)'}\n--- stderr ---\n${run.stderr || '(empty)'}`;
  const exited = new Promise((resolve) => {
    proc.once('exit', (code, signal) => resolve({ code, signal }));
    proc.once('error', (error) => resolve({ code: null, signal: null, error }));
  });
  const stop = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return exited;
    proc.kill('SIGTERM');
    const r = await Promise.race([exited, sleep(5000, null, { ref: false })]);
    if (r) return r;
    proc.kill('SIGKILL');
    return exited;
  };

  return new Promise((resolve, reject) => {
    let done = false;
    const finish = (err, value) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      proc.stdout.off('data', onData);
      if (err) {
        proc.kill('SIGKILL');
        reject(err);
      } else {
        resolve(value);
      }
    };
    const onData = () => {
      // The whole line: corsd writes it at once, but a pipe may hand it over in pieces.
      const m = run.stdout.match(/ready: api (\S+?:(\d+))(?: demo (\S+))?(?: admin (\S+))?\n/);
      if (m) {
        finish(null, {
          proc, pid: proc.pid, apiUrl: m[1], port: Number(m[2]), demoUrl: m[3], adminUrl: m[4],
          stdout: () => run.stdout, stderr: () => run.stderr, output, exited, stop,
        });
      }
    };
    const timer = setTimeout(
      () => finish(new Error(`corsd did not print its "ready: api ..." line within ${timeoutMs / 1000} s\n${output()}`)),
      timeoutMs,
    );
    proc.stdout.on('data', onData);
    exited.then(({ code, signal, error }) =>
      finish(new Error(
        `corsd ended before it was ready (${error ? error.message : `code ${code}, signal ${signal}`})\n${output()}`,
      )));
  });
}

/** Runs corsd with args to its exit (killed after timeoutMs): { code, signal, stdout, stderr }. */
export function runCorsd(args, { timeoutMs = 10_000 } = {}) {
  const run = spawnCorsd(args);
  const timer = setTimeout(() => run.proc.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) => {
    run.proc.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: run.stdout, stderr: run.stderr });
    });
  });
}

/** SIGKILLs corsd (from startCorsd; may be undefined) if it is still running, and waits for it to end. */
export async function killCorsd(corsd) {
  if (corsd && corsd.proc.exitCode === null && corsd.proc.signalCode === null) {
    corsd.proc.kill('SIGKILL');
    await corsd.exited;
  }
}

/**
 * Sends SIGTERM to corsd and waits up to timeoutMs for it to exit. Returns
 * { code, signal } of the exit (a graceful shutdown is { code: 0, signal: null }).
 * Fails an assertion, with corsd's output, when corsd had already exited before
 * the SIGTERM or does not exit within timeoutMs.
 */
export async function stopCorsd(corsd, timeoutMs) {
  assert.equal(corsd.proc.exitCode, null, `corsd had already exited\n${corsd.output()}`);
  corsd.proc.kill('SIGTERM');
  const result = await Promise.race([
    corsd.exited,
    sleep(timeoutMs, 'timeout', { ref: false }),
  ]);
  assert.notEqual(result, 'timeout',
    `corsd did not exit within ${timeoutMs / 1000} s of SIGTERM\n${corsd.output()}`);
  return { code: result.code, signal: result.signal };
}
