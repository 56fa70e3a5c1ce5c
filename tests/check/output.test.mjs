// corsd check's text output, word for word, for the blog post's failing cases and a passing one, against the
// real corsd: golden files in tests/check/golden/ (ports, dates and the version read as placeholders).
// After an intended change of the output: CORSD_UPDATE_GOLDEN=1 node --test tests/check/output.test.mjs
// rewrites them; review the diff.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';

import { corsdBin, startCorsd } from '../support/corsd.mjs';

const T = { timeout: 30_000 };
const GOLDEN = new URL('golden/', import.meta.url);
const PAGE = 'https://app.example.com';

/** The output with what changes from run to run replaced. */
function normalize(text, port) {
  return text.replaceAll(`127.0.0.1:${port}`, '127.0.0.1:PORT')
    .replace(/^(\s*< Date: ).*$/gm, '$1DATE')
    .replace(/corsd-check\/[0-9.]+/g, 'corsd-check/VERSION');
}

function check(port, args) {
  const r = spawnSync(corsdBin(), ['check', `http://127.0.0.1:${port}/api/items/1`, '--origin', PAGE, ...args],
    { encoding: 'utf8', timeout: 10_000 });
  return { code: r.status, text: normalize(r.stdout + r.stderr, port) };
}

function golden(name, actual) {
  const file = new URL(`${name}.txt`, GOLDEN);
  if (process.env.CORSD_UPDATE_GOLDEN) writeFileSync(file, actual);
  assert.equal(actual, readFileSync(file, 'utf8'), `tests/check/golden/${name}.txt`);
}

describe('corsd check prints', () => {
  let corsd;
  before(async () => {
    corsd = await startCorsd(['--no-demo', '--threads', '1', '--listen', '127.0.0.1:0', '--allow-origin', PAGE,
      '--allow-methods', 'PUT,DELETE', '--allow-headers', 'content-type', '--expose-headers', 'x-request-id']);
  });
  after(() => corsd?.stop());

  test('a preflight refused for its Authorization header, with corsd\'s reason as the fix', T, () => {
    const r = check(corsd.port, ['--method', 'PUT', '--header', 'Content-Type: application/json',
      '--header', 'Authorization: Basic dXNlcjpwYXNz']);
    assert.equal(r.code, 1);
    golden('authorization-refused', r.text);
  });

  test('credentials the answer does not allow', T, () => {
    const r = check(corsd.port, ['--credentials']);
    assert.equal(r.code, 1);
    golden('credentials-not-allowed', r.text);
  });

  test('a preflighted PUT that passes, and what script can read', T, () => {
    const r = check(corsd.port, ['--method', 'put', '--header', 'Content-Type: application/json']);
    assert.equal(r.code, 0);
    golden('put-allowed', r.text);
  });
});
