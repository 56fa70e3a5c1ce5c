// The `corsd check` side of the differential tests (chromium.test.mjs, firefox.test.mjs): running
// `corsd check --json` for the cases, corsd's own policies and the cases corsd answers itself, and
// the comparison helpers both tests use. Not a test file: `node --test` only runs *.test.mjs.
//
//   POLICIES, CORSD_CASES        corsd policies, and requests to corsd with the verdict expected
//   checkArgs(c, url, origin, { browser })   the argv of `corsd check` for a case
//   runCheck(args)               run `corsd check`: { code, signal, stdout, stderr, json, error }
//   runChecks(items, origin, { browser, concurrency })   runCheck for [{ c, url }], in order
//   mapLimit(items, limit, fn)   fn over items, limit at a time
//   receivedLines(received)      what a case server received, as comparable lines
//   sortedLower(xs), show(v)     small comparison helpers

import { execFile } from 'node:child_process';
import { corsdBin } from '../support/corsd.mjs';

export const CONCURRENCY = 8;
export const CHECK_TIMEOUT_MS = 8_000;

// --- corsd itself as the server -------------------------------------------------------------------

/** corsd policies (flags; {origin} is the page's origin) for the cases corsd answers itself. */
export const POLICIES = {
  strict: ['--allow-origin', '{origin}', '--allow-methods', 'PUT,DELETE', '--allow-headers', 'content-type,authorization',
    '--allow-credentials', '--expose-headers', 'x-request-id'],
  public: ['--allow-origin', '*', '--allow-methods', 'PUT', '--allow-headers', 'x-a'],
  elsewhere: ['--allow-origin', 'http://127.0.0.1:1', '--allow-methods', 'PUT'],
};
const r = (method, headers = [], credentials = 'omit') => ({ method, headers, credentials });
/** { name, policy, request, expect }: requests to corsd, and whether corsd's answers must let them through. */
export const CORSD_CASES = [
  ['strict', 'get', r('GET'), 'allowed'],
  ['strict', 'get_include', r('GET', [], 'include'), 'allowed'],
  ['strict', 'post_text_plain', r('POST', [['content-type', 'text/plain']]), 'allowed'],
  ['strict', 'put_json_include', r('PUT', [['content-type', 'application/json']], 'include'), 'allowed'],
  ['strict', 'put_lower', r('put', [['content-type', 'application/json']]), 'allowed'],
  ['strict', 'delete_authorization_include', r('DELETE', [['authorization', 'Bearer t']], 'include'), 'allowed'],
  ['strict', 'patch', r('PATCH'), 'blocked'],
  ['strict', 'put_x_foo', r('PUT', [['x-foo', '1']]), 'blocked'],
  ['strict', 'get_authorization_x_foo', r('GET', [['authorization', 'Bearer t'], ['x-foo', '1']], 'include'), 'blocked'],
  ['public', 'get', r('GET'), 'allowed'],
  ['public', 'get_include', r('GET', [], 'include'), 'blocked'],
  ['public', 'put_x_a', r('PUT', [['x-a', '1']]), 'allowed'],
  ['public', 'delete', r('DELETE'), 'blocked'],
  ['public', 'get_authorization', r('GET', [['authorization', 'Bearer t']]), 'blocked'],
  ['elsewhere', 'get', r('GET'), 'blocked'],
  ['elsewhere', 'put', r('PUT'), 'blocked'],
].map(([policy, name, request, expect]) => ({ name: `corsd_${policy}.${name}`, policy, request, expect }));

/** corsd's argv (after the binary) for policy, with {origin} filled in. */
export const policyArgs = (policy, pageOrigin) => ['--no-demo', '--listen', '127.0.0.1:0', '--threads', '1',
  ...POLICIES[policy].map((f) => f.replaceAll('{origin}', pageOrigin))];

// --- Running corsd check ----------------------------------------------------------------------------

/** The argv of `corsd check` for a case at url (with --browser B when browser is given). */
export function checkArgs(c, url, origin, { browser } = {}) {
  const args = ['check', url, '--origin', origin, '--method', c.request.method];
  for (const [n, v] of c.request.headers) args.push('--header', `${n}: ${v}`);
  if (c.request.credentials === 'include') args.push('--credentials');
  if (browser) args.push('--browser', browser);
  args.push('--json');
  return args;
}

/** Runs `corsd check`: { code, signal, stdout, stderr, json (or null), error (why json is null) }. */
export function runCheck(args) {
  return new Promise((resolve) => {
    execFile(corsdBin(), args, { timeout: CHECK_TIMEOUT_MS, killSignal: 'SIGKILL', maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
      const signal = err?.signal ?? null;
      let json = null;
      let error = null;
      try {
        json = JSON.parse(stdout);
        if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new Error('not a JSON object');
      } catch (e) {
        json = null;
        error = signal ? `killed by ${signal} (timeout ${CHECK_TIMEOUT_MS / 1000} s?)` : `stdout is not one JSON object (${e.message})`;
      }
      resolve({ code, signal, stdout, stderr, json, error });
    });
  });
}

/** Runs fn over items, `limit` at a time; resolves to the results in order. */
export async function mapLimit(items, limit, fn) {
  const out = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  }));
  return out;
}

/**
 * `corsd check` for every { c, url } of items (origin: the page's), `concurrency` at a time; resolves
 * to runCheck's results in order. A binary that hangs instead of checking would take
 * CHECK_TIMEOUT_MS per case: after `concurrency` timeouts the rest is not run.
 */
export async function runChecks(items, origin, { browser, concurrency = CONCURRENCY } = {}) {
  let timeouts = 0;
  return mapLimit(items, concurrency, async ({ c, url }) => {
    if (timeouts >= concurrency) {
      return { code: null, signal: null, stdout: '', stderr: '', json: null, error: 'not run: corsd check timed out on earlier cases' };
    }
    const res = await runCheck(checkArgs(c, url, origin, { browser }));
    if (res.signal) timeouts++;
    return res;
  });
}

// --- Comparing ---------------------------------------------------------------------------------------

/** What the server received, as comparable lines: kind, method, Origin, ACRM, ACRH. */
export const receivedLines = (received) => received.map((q) => {
  const h = (n) => q.headers.filter(([k]) => k === n).map(([, v]) => v).join(', ') || '-';
  return `${q.kind} ${q.method} ${q.path.replace(/^.*\/case\/[^/]+/, '{url}')} origin=${h('origin')}` +
    (q.kind.includes('preflight') ? ` acrm=${h('access-control-request-method')} acrh=${h('access-control-request-headers')}` : '');
});

export const sortedLower = (xs) => [...new Set(xs.map((x) => String(x).toLowerCase()))].sort();
export const show = (v) => JSON.stringify(v);
