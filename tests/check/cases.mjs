// The cases of the `corsd check` differential test (chromium.test.mjs) and of the ground-truth script
// (chromium_messages.mjs), and the Node http server that answers every case exactly as it says.
//
// Not a test file: `node --test` only runs files named like *.test.mjs.
//
//   CASES                      [{ name, group, request, preflight, actual, target? }]
//   startCaseServer({ pageOrigin })   a 127.0.0.1:0 server answering /case/<name> per CASES
//   startPageServer()          a 127.0.0.1:0 server with a blank page (the requests' origin)
//   resolveValue(v, ctx)       a header value of a case with its placeholders filled in
//
// A case:
//   request:   { method, headers: [[name, value], ...], credentials: 'omit' | 'include' }
//              what the page passes to fetch(url, { method, headers, credentials }), and what
//              `corsd check` gets as --method, --header 'name: value' and --credentials;
//   preflight: { status, headers: [[name, value], ...] }: the answer to an OPTIONS request with
//              Access-Control-Request-Method (the default: 204 without any header, so a preflight
//              nobody expected fails);
//   actual:    { status, headers, body }: the answer to any other request to /case/<name>;
//   target:    { status, headers, body }: the answer to /case/<name>/target (redirect cases);
//   targetPreflight: the answer to a preflight of /case/<name>/target (default: 204 without any header).
// Header values may hold the placeholders
//   {origin}   the page's origin (http://127.0.0.1:P), the request's Origin
//   {ORIGIN}   the same, upper-cased
//   {self}     the case server's own origin (for Location)
// The server sends exactly the listed header lines, in order, as listed (repeated names become
// repeated lines), plus Content-Length when the status allows a body and none is listed. Nothing
// else: no Date, no Connection, no automatic CORS.

import net from 'node:net';

export const OTHER_ORIGIN = 'http://127.0.0.1:1';

// --- Building blocks -----------------------------------------------------------------------------

const ACAO = 'Access-Control-Allow-Origin';
const ACAC = 'Access-Control-Allow-Credentials';
const ACAM = 'Access-Control-Allow-Methods';
const ACAH = 'Access-Control-Allow-Headers';
const ACEH = 'Access-Control-Expose-Headers';
const ACMA = 'Access-Control-Max-Age';

/** Access-Control-Allow-Origin variants: header lines. */
const ORIGIN_VARIANTS = {
  absent: [],
  origin: [[ACAO, '{origin}']],
  star: [[ACAO, '*']],
  other: [[ACAO, OTHER_ORIGIN]],
  two_values: [[ACAO, `{origin}, ${OTHER_ORIGIN}`]],
  two_lines: [[ACAO, '{origin}'], [ACAO, OTHER_ORIGIN]],
  same_twice: [[ACAO, '{origin}'], [ACAO, '{origin}']],
  null: [[ACAO, 'null']],
  slash: [[ACAO, '{origin}/']],
  upper: [[ACAO, '{ORIGIN}']],
  empty: [[ACAO, '']],
  star_and_origin: [[ACAO, '*'], [ACAO, '{origin}']],
  garbage: [[ACAO, 'not an origin']],
};

/** Access-Control-Allow-Credentials variants: header lines. */
const CREDENTIALS_VARIANTS = {
  absent: [],
  true: [[ACAC, 'true']],
  TRUE: [[ACAC, 'TRUE']],
  false: [[ACAC, 'false']],
  true_twice: [[ACAC, 'true'], [ACAC, 'true']],
};

/** The headers every actual response carries besides its CORS headers (some readable, some not). */
const PLAIN = [
  ['Content-Type', 'text/plain'],
  ['Content-Language', 'en'],
  ['Cache-Control', 'no-store'],
  ['X-Custom', 'custom'],
  ['X-Other', 'other'],
  ['Server-Timing', 'db;dur=1'],
];

const actual = (cors, { status = 200, extra = [] } = {}) =>
  ({ status, headers: [...cors, ...PLAIN, ...extra], body: 'ok\n' });

const req = (method, headers = [], credentials = 'omit') => ({ method, headers, credentials });

/** A preflight answer that allows exactly what the request asks for. */
function permissivePreflight(request, { extra = [], status = 204 } = {}) {
  const h = [[ACAO, '{origin}']];
  if (request.credentials === 'include') h.push([ACAC, 'true']);
  h.push([ACAM, request.method]);
  if (request.headers.length) h.push([ACAH, request.headers.map(([n]) => n).join(', ')]);
  return { status, headers: [...h, ...extra] };
}

/** An actual answer that allows the request (the exact origin, credentials when included). */
const allowingActual = (request, opts) =>
  actual(request.credentials === 'include' ? [[ACAO, '{origin}'], [ACAC, 'true']] : [[ACAO, '{origin}']], opts);

const BARE_PREFLIGHT = { status: 204, headers: [] };

// --- The cases -------------------------------------------------------------------------------------

const cases = [];
const add = (group, name, c) => cases.push({ name: `${group}.${name}`, group, preflight: BARE_PREFLIGHT, ...c });

// G1 simple GET (no preflight): every Access-Control-Allow-Origin variant, both credentials modes
// (ACAC: true when the credentials are included), and Access-Control-Allow-Credentials variants.
for (const cred of ['omit', 'include']) {
  for (const [o, lines] of Object.entries(ORIGIN_VARIANTS)) {
    add('get_acao', `${o}.${cred}`, {
      request: req('GET', [], cred),
      actual: actual([...lines, ...(cred === 'include' ? CREDENTIALS_VARIANTS.true : [])]),
    });
  }
  for (const o of ['origin', 'star']) {
    for (const [c, lines] of Object.entries(CREDENTIALS_VARIANTS)) {
      add('get_acac', `${o}.${c}.${cred}`, {
        request: req('GET', [], cred),
        actual: actual([...ORIGIN_VARIANTS[o], ...lines]),
      });
    }
  }
}

// G2 is a preflight needed? Each request once with a bare preflight answer (204, no CORS headers: a
// preflighted request fails, a simple one never asks) and once with a permissive one (allowed both ways).
const pad = (prefix, len) => prefix + 'a'.repeat(len - prefix.length);
const SAFELIST_REQUESTS = {
  head: req('HEAD'),
  post_no_type: req('POST'),
  post_text_plain: req('POST', [['content-type', 'text/plain']]),
  post_text_plain_utf8: req('POST', [['content-type', 'text/plain;charset=utf-8']]),
  post_text_plain_upper: req('POST', [['content-type', 'TEXT/PLAIN']]),
  post_form: req('POST', [['content-type', 'application/x-www-form-urlencoded']]),
  post_multipart: req('POST', [['content-type', 'multipart/form-data; boundary=abc']]),
  post_json: req('POST', [['content-type', 'application/json']]),
  post_text_html: req('POST', [['content-type', 'text/html']]),
  post_type_128: req('POST', [['content-type', pad('text/plain; x=', 128)]]),
  post_type_129: req('POST', [['content-type', pad('text/plain; x=', 129)]]),
  post_type_quoted: req('POST', [['content-type', 'text/plain; charset="utf-8"']]),
  get_accept_json: req('GET', [['accept', 'application/json']]),
  get_accept_129: req('GET', [['accept', pad('text/', 129)]]),
  get_accept_unsafe_byte: req('GET', [['accept', 'text/{x}']]),
  get_accept_language: req('GET', [['accept-language', 'de-CH, en;q=0.5']]),
  get_accept_language_bad: req('GET', [['accept-language', 'de@x']]),
  get_content_language: req('GET', [['content-language', 'de']]),
  get_content_language_bad: req('GET', [['content-language', 'de/x']]),
  get_range_simple: req('GET', [['range', 'bytes=0-10']]),
  get_range_open: req('GET', [['range', 'bytes=5-']]),
  get_range_suffix: req('GET', [['range', 'bytes=-5']]),
  get_range_multi: req('GET', [['range', 'bytes=0-1,3-4']]),
  get_range_reversed: req('GET', [['range', 'bytes=10-5']]),
  get_range_units: req('GET', [['range', 'items=0-1']]),
  get_x_a: req('GET', [['x-a', '1']]),
  get_authorization: req('GET', [['authorization', 'Bearer t']]),
  get_accept_and_x_a: req('GET', [['accept', 'text/plain'], ['x-a', '1']]),
};
for (const [name, request] of Object.entries(SAFELIST_REQUESTS)) {
  add('safelist', `${name}.bare`, { request, preflight: BARE_PREFLIGHT, actual: allowingActual(request) });
  add('safelist', `${name}.permissive`, {
    request, preflight: permissivePreflight(request), actual: allowingActual(request),
  });
}

// G3 preflighted requests x preflight answers.
const PREFLIGHTED = {
  put: req('PUT'),
  delete: req('DELETE'),
  put_lower: req('put'),
  delete_lower: req('delete'),
  patch: req('PATCH'),
  patch_lower: req('patch'),
  options: req('OPTIONS'),
  custom_method: req('QUERY'),
  post_json: req('POST', [['content-type', 'application/json']]),
  get_x_a: req('GET', [['x-a', '1']]),
  get_x_b_x_a: req('GET', [['x-b', '2'], ['X-A', '1']]),
  get_authorization: req('GET', [['authorization', 'Bearer t']]),
  put_json_x_a: req('PUT', [['content-type', 'application/json'], ['x-a', '1']]),
};
const upperNames = (r) => r.headers.map(([n]) => n.toUpperCase()).join(', ');
const withCred = (r, cred) => ({ ...r, credentials: cred });
for (const [rname, base] of Object.entries(PREFLIGHTED)) {
  for (const cred of ['omit', 'include']) {
    const request = withCred(base, cred);
    const credLines = cred === 'include' ? CREDENTIALS_VARIANTS.true : [];
    const hdrs = request.headers.length ? [[ACAH, request.headers.map(([n]) => n).join(', ')]] : [];
    const scen = {
      exact: permissivePreflight(request),
      no_acao: { status: 204, headers: [...credLines, [ACAM, request.method], ...hdrs] },
      no_acam: { status: 204, headers: [[ACAO, '{origin}'], ...credLines, ...hdrs] },
      no_acah: { status: 204, headers: [[ACAO, '{origin}'], ...credLines, [ACAM, request.method]] },
      wild_methods_headers: { status: 204, headers: [[ACAO, '{origin}'], ...credLines, [ACAM, '*'], [ACAH, '*']] },
      all_star: { status: 204, headers: [[ACAO, '*'], ...credLines, [ACAM, '*'], [ACAH, '*']] },
      upper_list: {
        status: 204,
        headers: [[ACAO, '{origin}'], ...credLines, [ACAM, request.method.toUpperCase()],
          ...(request.headers.length ? [[ACAH, upperNames(request)]] : [])],
      },
      lower_list: {
        status: 204,
        headers: [[ACAO, '{origin}'], ...credLines, [ACAM, request.method.toLowerCase()], ...hdrs],
      },
    };
    const wanted = cred === 'omit' ? Object.keys(scen) : ['exact', 'no_acao', 'wild_methods_headers', 'all_star'];
    for (const s of wanted) {
      add('preflighted', `${rname}.${s}.${cred}`, {
        request,
        preflight: scen[s],
        actual: s === 'all_star' ? actual([[ACAO, '*'], ...credLines]) : allowingActual(request),
      });
    }
  }
}

// G4 preflight answer variants for PUT with x-a.
{
  const base = req('PUT', [['x-a', '1']]);
  const pre = (lines, status = 204) => ({ status, headers: lines });
  const good = (cred) => [[ACAM, 'PUT'], [ACAH, 'x-a'], ...(cred === 'include' ? [[ACAC, 'true']] : [])];
  for (const cred of ['omit', 'include']) {
    const request = withCred(base, cred);
    for (const [o, lines] of Object.entries(ORIGIN_VARIANTS)) {
      if (cred === 'include' && !['absent', 'origin', 'star', 'other', 'two_lines', 'null'].includes(o)) continue;
      add('preflight_acao', `${o}.${cred}`, { request, preflight: pre([...lines, ...good(cred)]), actual: allowingActual(request) });
    }
  }
  {
    const request = withCred(base, 'include');
    for (const [c, lines] of Object.entries(CREDENTIALS_VARIANTS)) {
      add('preflight_acac', `${c}.include`, {
        request, preflight: pre([[ACAO, '{origin}'], ...lines, [ACAM, 'PUT'], [ACAH, 'x-a']]), actual: allowingActual(request),
      });
    }
    // The preflight passes, the actual answer's credentials header does not.
    for (const c of ['absent', 'false', 'TRUE']) {
      add('actual_acac', `${c}.include`, {
        request, preflight: permissivePreflight(request), actual: actual([[ACAO, '{origin}'], ...CREDENTIALS_VARIANTS[c]]),
      });
    }
  }
  const request = base;
  for (const status of [200, 204, 299, 300, 400, 403, 404, 500, 503]) {
    add('preflight_status', `${status}`, { request, preflight: permissivePreflight(request, { status }), actual: allowingActual(request) });
  }
  for (const status of [301, 302, 303, 307, 308]) {
    add('preflight_redirect', `${status}`, {
      request,
      preflight: permissivePreflight(request, { status, extra: [['Location', '{self}/case/preflight_redirect.' + status + '/target']] }),
      actual: allowingActual(request),
      target: { status: 204, headers: permissivePreflight(request).headers, body: '' },
    });
  }
  const ACAM_VARIANTS = {
    list: 'GET, PUT, DELETE',
    list_no_space: 'GET,PUT,DELETE',
    padded: '  PUT  ',
    trailing_comma: 'PUT,',
    double_comma: 'PUT,,',
    empty_element: 'PUT, , DELETE',
    leading_comma: ',PUT',
    space_separated: 'PUT DELETE',
    semicolon: 'PUT;',
    quoted: '"PUT"',
    empty: '',
    lower: 'put',
    star: '*',
    star_and_list: 'GET, *',
    bad_token: 'PU(T',
  };
  for (const [n, v] of Object.entries(ACAM_VARIANTS)) {
    add('preflight_acam', n, { request, preflight: pre([[ACAO, '{origin}'], [ACAM, v], [ACAH, 'x-a']]), actual: allowingActual(request) });
  }
  add('preflight_acam', 'two_lines', {
    request, preflight: pre([[ACAO, '{origin}'], [ACAM, 'GET'], [ACAM, 'PUT'], [ACAH, 'x-a']]), actual: allowingActual(request),
  });
  const ACAH_VARIANTS = {
    list: 'x-b, x-a, x-c',
    upper: 'X-A',
    padded: '  x-a  ',
    trailing_comma: 'x-a,',
    double_comma: 'x-a,,',
    leading_comma: ',x-a',
    space_separated: 'x-a x-b',
    semicolon: 'x-a;',
    quoted: '"x-a"',
    empty: '',
    star: '*',
    star_and_list: 'x-b, *',
    bad_token: 'x(a',
  };
  for (const [n, v] of Object.entries(ACAH_VARIANTS)) {
    add('preflight_acah', n, { request, preflight: pre([[ACAO, '{origin}'], [ACAM, 'PUT'], [ACAH, v]]), actual: allowingActual(request) });
  }
  add('preflight_acah', 'two_lines', {
    request, preflight: pre([[ACAO, '{origin}'], [ACAM, 'PUT'], [ACAH, 'x-b'], [ACAH, 'x-a']]), actual: allowingActual(request),
  });
  for (const v of ['0', '10', '-1', 'abc', '864000', '']) {
    add('preflight_max_age', v === '' ? 'empty' : v, {
      request, preflight: permissivePreflight(request, { extra: [[ACMA, v]] }), actual: allowingActual(request),
    });
  }
  // Wildcard headers and Authorization (never covered by *), with and without credentials.
  for (const cred of ['omit', 'include']) {
    const r = req('PUT', [['authorization', 'Bearer t'], ['x-a', '1']], cred);
    const credLines = cred === 'include' ? CREDENTIALS_VARIANTS.true : [];
    add('authorization', `star.${cred}`, {
      request: r, preflight: pre([[ACAO, '{origin}'], ...credLines, [ACAM, 'PUT'], [ACAH, '*']]), actual: allowingActual(r),
    });
    add('authorization', `star_and_authorization.${cred}`, {
      request: r, preflight: pre([[ACAO, '{origin}'], ...credLines, [ACAM, 'PUT'], [ACAH, '*, authorization']]),
      actual: allowingActual(r),
    });
    add('authorization', `listed.${cred}`, {
      request: r, preflight: pre([[ACAO, '{origin}'], ...credLines, [ACAM, 'PUT'], [ACAH, 'Authorization, X-A']]),
      actual: allowingActual(r),
    });
    add('authorization', `only_x_a.${cred}`, {
      request: r, preflight: pre([[ACAO, '{origin}'], ...credLines, [ACAM, 'PUT'], [ACAH, 'x-a']]),
      actual: allowingActual(r),
    });
    add('authorization', `star_methods_literal.${cred}`, {
      request: r, preflight: pre([[ACAO, '{origin}'], ...credLines, [ACAM, '*'], [ACAH, 'authorization, x-a']]),
      actual: allowingActual(r),
    });
  }
  // Which of several disallowed headers does Chromium name? (sorted, first, last?)
  {
    const r = req('GET', [['x-c', '3'], ['x-b', '2'], ['x-a', '1']]);
    add('which_header', 'none_allowed', { request: r, preflight: pre([[ACAO, '{origin}']]), actual: allowingActual(r) });
    add('which_header', 'only_x_a_allowed', { request: r, preflight: pre([[ACAO, '{origin}'], [ACAH, 'x-a']]), actual: allowingActual(r) });
    add('which_header', 'only_x_c_allowed', { request: r, preflight: pre([[ACAO, '{origin}'], [ACAH, 'x-c']]), actual: allowingActual(r) });
    // The same names in other orders: does the order of the request's headers matter?
    for (const order of [['x-a', 'x-b', 'x-c'], ['x-b', 'x-c', 'x-a'], ['x-c', 'x-a', 'x-b']]) {
      const o = req('GET', order.map((n) => [n, '1']));
      add('which_header', `none_allowed.${order.join('_')}`, { request: o, preflight: pre([[ACAO, '{origin}']]), actual: allowingActual(o) });
    }
    for (const [n, names] of Object.entries({
      two_ab: ['x-a', 'x-b'], two_ba: ['x-b', 'x-a'], foo_bar: ['x-foo', 'x-bar'], bar_foo: ['x-bar', 'x-foo'],
      auth_x_z: ['x-z', 'authorization'], ct_accept_x: ['x-m', 'accept', 'content-type'],
    })) {
      const o = req('POST', names.map((h) => [h, h === 'content-type' ? 'application/json' : h === 'accept' ? 'a/{b}' : '1']));
      add('which_header', `none_allowed.${n}`, { request: o, preflight: pre([[ACAO, '{origin}']]), actual: allowingActual(o) });
    }
    add('which_header', 'ct_json_and_x_a', {
      request: req('POST', [['x-a', '1'], ['content-type', 'application/json']]), preflight: pre([[ACAO, '{origin}']]),
      actual: allowingActual(req('POST')),
    });
  }
  // The preflight passes; the actual answer's Access-Control-Allow-Origin varies.
  for (const cred of ['omit', 'include']) {
    const r = withCred(base, cred);
    const credLines = cred === 'include' ? CREDENTIALS_VARIANTS.true : [];
    for (const o of ['absent', 'star', 'other', 'two_values', 'null']) {
      add('actual_acao', `${o}.${cred}`, { request: r, preflight: permissivePreflight(r), actual: actual([...ORIGIN_VARIANTS[o], ...credLines]) });
    }
  }
}

// G5 exposed headers (simple GET, then PUT after a preflight).
{
  const ACEH_VARIANTS = {
    absent: [],
    x_custom: [[ACEH, 'x-custom']],
    two: [[ACEH, 'x-custom, x-other']],
    upper: [[ACEH, 'X-CUSTOM']],
    two_lines: [[ACEH, 'x-custom'], [ACEH, 'x-other']],
    star: [[ACEH, '*']],
    star_and_name: [[ACEH, '*, x-custom']],
    bad_syntax: [[ACEH, 'x-custom,,x-other']],
    space_separated: [[ACEH, 'x-custom x-other']],
    safelisted_and_unknown: [[ACEH, 'content-language, x-missing, server-timing']],
    set_cookie: [[ACEH, 'set-cookie, x-custom']],
  };
  for (const cred of ['omit', 'include']) {
    for (const [n, lines] of Object.entries(ACEH_VARIANTS)) {
      if (cred === 'include' && !['absent', 'x_custom', 'star', 'star_and_name'].includes(n)) continue;
      const r = req('GET', [], cred);
      const cors = cred === 'include' ? [[ACAO, '{origin}'], [ACAC, 'true']] : [[ACAO, '{origin}']];
      add('expose', `${n}.${cred}`, { request: r, actual: actual([...cors, ...lines]) });
    }
  }
  const r = req('PUT', [['x-a', '1']]);
  add('expose', 'put_two', { request: r, preflight: permissivePreflight(r), actual: actual([[ACAO, '{origin}'], [ACEH, 'x-custom, x-other']]) });
  add('expose', 'in_preflight_only', {
    request: r, preflight: permissivePreflight(r, { extra: [[ACEH, 'x-custom']] }), actual: allowingActual(r),
  });
}

// G6 status of the actual answer (any status is readable), redirects of the actual request.
for (const status of [201, 204, 304, 404, 500]) {
  add('actual_status', `${status}`, { request: req('GET'), actual: actual([[ACAO, '{origin}']], { status }) });
}
{
  const loc = (name) => [['Location', `{self}/case/${name}/target`]];
  const r = req('GET');
  add('actual_redirect', 'both_allow', {
    request: r, actual: actual([[ACAO, '{origin}'], ...loc('actual_redirect.both_allow')], { status: 302 }),
    target: actual([[ACAO, '{origin}']]),
  });
  add('actual_redirect', 'redirect_without_acao', {
    request: r, actual: actual(loc('actual_redirect.redirect_without_acao'), { status: 302 }),
    target: actual([[ACAO, '{origin}']]),
  });
  add('actual_redirect', 'target_without_acao', {
    request: r, actual: actual([[ACAO, '{origin}'], ...loc('actual_redirect.target_without_acao')], { status: 302 }),
    target: actual([]),
  });
  const p = req('PUT', [['x-a', '1']]);
  add('actual_redirect', 'put_307', {
    request: p, preflight: permissivePreflight(p), targetPreflight: permissivePreflight(p),
    actual: actual([[ACAO, '{origin}'], ...loc('actual_redirect.put_307')], { status: 307 }),
    target: actual([[ACAO, '{origin}']]),
  });
  add('actual_redirect', 'put_307_target_preflight_bare', {
    request: p, preflight: permissivePreflight(p),
    actual: actual([[ACAO, '{origin}'], ...loc('actual_redirect.put_307_target_preflight_bare')], { status: 307 }),
    target: actual([[ACAO, '{origin}']]),
  });
  add('actual_redirect', 'put_303_becomes_get', {
    request: p, preflight: permissivePreflight(p),
    actual: actual([[ACAO, '{origin}'], ...loc('actual_redirect.put_303_becomes_get')], { status: 303 }),
    target: actual([[ACAO, '{origin}']]),
  });
}

export const CASES = cases;

/** The lines of the ground-truth summaries (chromium_messages.mjs, firefox_messages.mjs) for one case's record. */
export function caseSummaryLines(r) {
  const fmtHeaders = (hs) => hs.map(([n, v]) => `${n}: ${v}`).join(' | ');
  const out = [`  request: ${r.request.method} credentials=${r.request.credentials} ${fmtHeaders(r.request.headers)}`];
  if (r.server.preflight) out.push(`  preflight answer: ${r.server.preflight.status} ${fmtHeaders(r.server.preflight.headers)}`);
  out.push(`  actual answer: ${r.server.actual.status} ${fmtHeaders(r.server.actual.headers)}`);
  if (r.server.target) out.push(`  target answer: ${r.server.target.status} ${fmtHeaders(r.server.target.headers)}`);
  for (const q of r.received) {
    const pick = q.headers.filter(([n]) => /^(origin|access-control-|accept$|sec-fetch-|content-type|x-|authorization|range|cookie)/.test(n));
    out.push(`  server got ${q.kind}: ${q.method} ${q.path} ${fmtHeaders(pick)}`);
  }
  out.push(r.allowed ? `  readable headers: ${r.readable_headers.join(', ')}` : `  fetch error: ${r.error}`);
  return out;
}


// --- Servers -----------------------------------------------------------------------------------------
//
// The case server speaks HTTP/1.1 itself (node:net), not through node:http: Node's parser answers
// 400 to methods it does not know (a lower-case `patch`), and node:http adds headers of its own
// (Connection, Keep-Alive, Date) that `Access-Control-Expose-Headers: *` would make readable.

/** A header value of a case with {origin}, {ORIGIN} and {self} filled in. */
export const resolveValue = (v, { pageOrigin, self }) =>
  v.replaceAll('{origin}', pageOrigin).replaceAll('{ORIGIN}', pageOrigin.toUpperCase()).replaceAll('{self}', self);

const REASONS = {
  200: 'OK', 201: 'Created', 204: 'No Content', 299: 'OK', 300: 'Multiple Choices', 301: 'Moved Permanently',
  302: 'Found', 303: 'See Other', 304: 'Not Modified', 307: 'Temporary Redirect', 308: 'Permanent Redirect',
  400: 'Bad Request', 403: 'Forbidden', 404: 'Not Found', 500: 'Internal Server Error', 503: 'Service Unavailable',
};

/** Whether an answer of status to method has no body (and, but for HEAD, no Content-Length). */
const noBody = (status, method) => method === 'HEAD' || status === 204 || status === 304 || (status >= 100 && status < 200);

/**
 * A minimal HTTP/1.1 server on 127.0.0.1:0 (keep-alive; request bodies by Content-Length or chunked).
 * handle({ method, target, headers: [[lower-case name, value], ...], body }) returns
 * { status, headers: [[name, value], ...], body }; the server adds Content-Length (unless the status
 * has no body or headers list one) and nothing else. Resolves to { port, close() }.
 */
async function startRawServer(handle) {
  const sockets = new Set();
  const server = net.createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => {});
    sock.setNoDelay(true);
    let buf = Buffer.alloc(0);
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
        const [method, target, version] = lines[0].split(' ');
        const headers = lines.slice(1).map((l) => {
          const i = l.indexOf(':');
          return [l.slice(0, i).trim().toLowerCase(), l.slice(i + 1).trim()];
        });
        const get = (n) => headers.find(([k]) => k === n)?.[1];
        let rest = buf.subarray(end + 4);
        let body;
        if (/chunked/i.test(get('transfer-encoding') ?? '')) {
          const parts = [];
          let ok = false;
          for (;;) {
            const nl = rest.indexOf('\r\n');
            if (nl < 0) break;
            const size = parseInt(rest.subarray(0, nl).toString('latin1'), 16);
            if (Number.isNaN(size)) { sock.destroy(); return; }
            if (size === 0) {
              const t = rest.indexOf('\r\n\r\n', nl);
              if (t < 0) break;
              rest = rest.subarray(t + 4);
              ok = true;
              break;
            }
            if (rest.length < nl + 2 + size + 2) break;
            parts.push(rest.subarray(nl + 2, nl + 2 + size));
            rest = rest.subarray(nl + 2 + size + 2);
          }
          if (!ok) return; // wait for more
          body = Buffer.concat(parts);
        } else {
          const len = Number(get('content-length') ?? 0);
          if (rest.length < len) return; // wait for more
          body = rest.subarray(0, len);
          rest = rest.subarray(len);
        }
        buf = rest;
        const a = handle({ method, target, headers, body });
        const out = [`HTTP/1.1 ${a.status} ${REASONS[a.status] ?? 'Status'}`];
        for (const [n, v] of a.headers) out.push(`${n}: ${v}`);
        const payload = Buffer.from(a.body ?? '');
        if (!noBody(a.status, 'GET') && !a.headers.some(([n]) => n.toLowerCase() === 'content-length')) {
          out.push(`Content-Length: ${payload.length}`);
        }
        sock.write(out.join('\r\n') + '\r\n\r\n');
        if (!noBody(a.status, method) && payload.length) sock.write(payload);
        if (version === 'HTTP/1.0' || /close/i.test(get('connection') ?? '')) {
          sock.end();
          return;
        }
      }
    });
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, resolve);
  });
  return {
    port: server.address().port,
    close: () => new Promise((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

const NOT_FOUND = { status: 404, headers: [], body: '' };

/**
 * Starts the case server on 127.0.0.1:0. Resolves to
 *   { origin, port, requests(name), close() }
 * requests(name) lists what the server received for the case (oldest first) as
 *   { kind: 'preflight' | 'actual' | 'target' | 'target_preflight', method, path,
 *     headers: [[lower-case name, value], ...], body_length }
 * (a preflight: OPTIONS with Access-Control-Request-Method). Paths outside /case/<name>[/target]
 * and unknown names get 404 with no header.
 */
export async function startCaseServer({ pageOrigin, cases = CASES }) {
  const byName = new Map(cases.map((c) => [c.name, c]));
  const log = new Map();
  let self;
  const raw = await startRawServer(({ method, target, headers, body }) => {
    const path = target.split('?')[0];
    const m = path.match(/^\/case\/([^/]+)(\/target)?$/);
    const c = m && byName.get(decodeURIComponent(m[1]));
    if (!c) return NOT_FOUND;
    const isPreflight = method === 'OPTIONS' && headers.some(([n]) => n === 'access-control-request-method');
    const kind = m[2] ? (isPreflight ? 'target_preflight' : 'target') : isPreflight ? 'preflight' : 'actual';
    if (!log.has(c.name)) log.set(c.name, []);
    log.get(c.name).push({ kind, method, path, headers, body_length: body.length });
    const answer = { target: c.target, target_preflight: c.targetPreflight ?? BARE_PREFLIGHT, preflight: c.preflight,
      actual: c.actual }[kind];
    if (!answer) return NOT_FOUND;
    return { ...answer, headers: answer.headers.map(([n, v]) => [n, resolveValue(v, { pageOrigin, self })]) };
  });
  self = `http://127.0.0.1:${raw.port}`;
  return { port: raw.port, origin: self, requests: (name) => log.get(name) ?? [], close: raw.close };
}

/** Starts the page server (the other origin) on 127.0.0.1:0, a blank page at /: { origin, port, close() }. */
export async function startPageServer() {
  const html = '<!doctype html><meta charset="utf-8"><title>corsd check</title><p>page</p>\n';
  const raw = await startRawServer(({ target }) => (target === '/'
    ? { status: 200, headers: [['Content-Type', 'text/html; charset=utf-8']], body: html }
    : NOT_FOUND));
  return { port: raw.port, origin: `http://127.0.0.1:${raw.port}`, close: raw.close };
}
