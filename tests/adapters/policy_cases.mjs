// The cross-host conformance cases (policy_cases.test.mjs runs each through corsd, the Boost.Beast and
// cpp-httplib examples and nginx with corsd's module). Data only, no logic. Not a test file.
//
// Each case:
//   id        its route prefix is /items/<id> (every case its own route, all in one config file)
//   name      what it shows; `from` the unit test (src/cors/*_test.cpp) or engine rule it comes from
//   policy    [[routes]] TOML; "{prefix}" stands for /items/<id>
//   request   method, path below the prefix, header lines as [name, value] pairs (repeated names allowed);
//             the runner adds Host, Connection: close and, for PUT/POST/PATCH/DELETE, Content-Length: 0
//   expect    status: the status code (a preflight the engine answers: 204 accepted / 403 rejected; any
//             other request: the host's own answer, 200 from every echo API);
//             hostStatus: a host whose own answer differs (cpp-httplib has no OPTIONS route: 404);
//             fields: every Access-Control-* response field, name lowercased -> value (nothing else);
//             vary: the Vary tokens, a set compared case-insensitively ([]: no Vary at all)
//
//             deviations: a host that answers otherwise for a reason outside the adapter, with `why` and
//             what it answers instead (asserted exactly, so a change in the host shows)
//
// The expectations are the engine's (policy_test.cpp; corsd itself answers every case so). The known
// deviations are cpp-httplib 0.11's own parsing, before any handler of the application or the adapter
// runs: it percent-decodes request field values (m10, h08, o08) and drops fields with empty values (s06,
// m09), and answers a method outside its own list with 400 (m11). Browsers never send such values.

// --- Policies ---------------------------------------------------------------------------------------

// policy_test.cpp's Policy::seed(), as far as a file can say it: the seed echoes every well-formed
// origin and answers requests without Origin with "*" (wildcard_without_origin), and neither has a
// config key; "http://localhost:*" covers the seed's demo origin (http://localhost:8081).
const SEED_LIKE = `[[routes]]
path = "{prefix}"
allow_origins = ["http://localhost:*"]
allow_methods = ["GET", "POST", "PUT", "DELETE", "OPTIONS"]
allow_headers = ["content-type", "accept"]
max_age = 10
`;

// policy_test.cpp's listed_spec().
const LISTED = `[[routes]]
path = "{prefix}"
allow_origins = ["https://app.example.com"]
allow_credentials = true
allow_methods = ["PUT", "DELETE"]
allow_headers = ["Content-Type", "X-Token"]
expose_headers = ["X-Request-Id"]
max_age = 600
`;

// listed_spec() with allow_methods = {"put", "Delete", "patch"} (MethodsBrowsersUppercaseAreNormalized).
const LOWERCASE_METHODS = `[[routes]]
path = "{prefix}"
allow_origins = ["https://app.example.com"]
allow_credentials = true
allow_methods = ["put", "Delete", "patch"]
allow_headers = ["Content-Type", "X-Token"]
expose_headers = ["X-Request-Id"]
max_age = 600
`;

// listed_spec() with allow_origins = {"HTTPS://App.Example.com:443"}
// (ConfiguredOriginsAreNormalizedBeforeMatching), without credentials.
const NORMALIZED_ORIGIN = `[[routes]]
path = "{prefix}"
allow_origins = ["HTTPS://App.Example.com:443"]
`;

const SUBDOMAINS = `[[routes]]
path = "{prefix}"
allow_origins = ["https://*.example.com"]
allow_credentials = true
`;

// LoopbackHttpOriginsMayUseCredentials: {"http://localhost:*", "http://127.0.0.1:8081", "http://[::1]:3000"}.
const LOOPBACK = `[[routes]]
path = "{prefix}"
allow_origins = ["http://localhost:*", "http://127.0.0.1:80", "http://[0:0::1]:3000"]
allow_credentials = true
allow_methods = ["PUT"]
`;

const ANY_ORIGIN = `[[routes]]
path = "{prefix}"
allow_origins = ["*"]
`;

const ANY_ORIGIN_PUT = `[[routes]]
path = "{prefix}"
allow_origins = ["*"]
allow_methods = ["PUT"]
max_age = 60
`;

const PRIVATE_NETWORK = `[[routes]]
path = "{prefix}"
allow_origins = ["https://app.example.com"]
allow_credentials = true
allow_methods = ["PUT", "DELETE"]
allow_headers = ["Content-Type", "X-Token"]
expose_headers = ["X-Request-Id"]
max_age = 600
allow_private_network = true
`;

const EXPOSE = `[[routes]]
path = "{prefix}"
allow_origins = ["https://app.example.com"]
expose_headers = ["X-Request-Id", "X-Total-Count"]
`;

const PASSTHROUGH = `[[routes]]
path = "{prefix}"
allow_origins = ["https://old.example.com"]
allow_methods = ["PUT"]
preflight_passthrough = true
`;

// --- Expected answers ---------------------------------------------------------------------------------

const VARY_ORIGIN = ['Origin'];
const VARY_PREFLIGHT = ['Origin', 'Access-Control-Request-Method', 'Access-Control-Request-Headers'];
const VARY_PREFLIGHT_ANY_ORIGIN = ['Access-Control-Request-Method', 'Access-Control-Request-Headers'];

const SEED_PREFLIGHT = {
  'access-control-allow-origin': 'http://localhost:8081',
  'access-control-allow-methods': 'GET, POST, PUT, DELETE, OPTIONS',
  'access-control-allow-headers': 'content-type, accept',
  'access-control-max-age': '10',
};

const LISTED_PREFLIGHT = {
  'access-control-allow-origin': 'https://app.example.com',
  'access-control-allow-credentials': 'true',
  'access-control-allow-methods': 'PUT, DELETE',
  'access-control-allow-headers': 'content-type, x-token',
  'access-control-max-age': '600',
};

const LISTED_ACTUAL = {
  'access-control-allow-origin': 'https://app.example.com',
  'access-control-allow-credentials': 'true',
  'access-control-expose-headers': 'x-request-id',
};

const APP = 'https://app.example.com';
const DEMO = 'http://localhost:8081';
const ACRM = 'Access-Control-Request-Method';
const ACRH = 'Access-Control-Request-Headers';
const ACRPN = 'Access-Control-Request-Private-Network';

const REJECTED_PREFLIGHT = { status: 403, fields: {}, vary: VARY_PREFLIGHT };
const NOT_ALLOWED_ACTUAL = { status: 200, fields: {}, vary: VARY_ORIGIN };
// What cpp-httplib answers where it decoded "P%55T" or "x%2Dtoken" before the adapter saw them: LISTED's
// accepted preflight for PUT.
const ACCEPTED_LISTED_PUT = {
  status: 204,
  fields: {
    'access-control-allow-credentials': 'true',
    'access-control-allow-headers': 'content-type, x-token',
    'access-control-allow-methods': 'PUT, DELETE',
    'access-control-allow-origin': 'https://app.example.com',
    'access-control-max-age': '600',
  },
  vary: VARY_PREFLIGHT,
};

export const CASES = [
  // --- SeedPolicyTest (the seed's policy, SEED_LIKE) ---------------------------------------------------
  {
    id: 's01', from: 'SeedPolicyTest.PreflightEchoesOriginWithTheSeedsHeaders',
    name: 'seed: a preflight PUT with content-type echoes the origin with the seed\'s headers',
    policy: SEED_LIKE,
    request: { method: 'OPTIONS', path: '/1', headers: [['Origin', DEMO], [ACRM, 'PUT'], [ACRH, 'content-type']] },
    expect: { status: 204, fields: SEED_PREFLIGHT, vary: VARY_PREFLIGHT },
  },
  {
    id: 's02', from: 'SeedPolicyTest.ActualRequestEchoesOriginAndVariesByOrigin',
    name: 'seed: an actual PUT echoes the origin and varies by Origin',
    policy: SEED_LIKE,
    request: { method: 'PUT', path: '/1', headers: [['Origin', DEMO]] },
    expect: { status: 200, fields: { 'access-control-allow-origin': DEMO }, vary: VARY_ORIGIN },
  },
  {
    id: 's03', from: 'SeedPolicyTest.RequestWithoutOriginGetsWildcardAsTheSeedSends (listed policy: no wildcard)',
    name: 'seed-like listed policy: a request without Origin gets no CORS fields, Vary: Origin',
    policy: SEED_LIKE,
    request: { method: 'GET', path: '/1', headers: [] },
    expect: NOT_ALLOWED_ACTUAL,
  },
  {
    id: 's04', from: 'SeedPolicyTest.NullOriginIsNeverEchoed',
    name: 'seed: a preflight from Origin: null is rejected',
    policy: SEED_LIKE,
    request: { method: 'OPTIONS', path: '/1', headers: [['Origin', 'null'], [ACRM, 'PUT']] },
    expect: REJECTED_PREFLIGHT,
  },
  {
    id: 's05', from: 'SeedPolicyTest.MalformedOriginIsNeverEchoed',
    name: 'seed: an origin with a trailing slash is never echoed',
    policy: SEED_LIKE,
    request: { method: 'GET', path: '/1', headers: [['Origin', 'http://localhost:8081/']] },
    expect: NOT_ALLOWED_ACTUAL,
  },
  {
    id: 's06', from: 'SeedPolicyTest.MalformedOriginIsNeverEchoed (an empty Origin is present but malformed)',
    name: 'seed: a preflight with an empty Origin field is rejected',
    policy: SEED_LIKE,
    request: { method: 'OPTIONS', path: '/1', headers: [['Origin', ''], [ACRM, 'PUT']] },
    expect: { ...REJECTED_PREFLIGHT, deviations: { httplib: { why: 'cpp-httplib 0.11 drops request fields with empty values before any handler', status: 404, fields: {}, vary: ['Origin'] } } },
  },

  // --- FetchPreflightTest (Fetch Standard §3.3: what a preflight is) -------------------------------------
  {
    id: 'p01', from: 'FetchPreflightTest.OptionsWithoutRequestMethodIsAnActualRequest',
    name: 'OPTIONS without Access-Control-Request-Method is an actual request',
    policy: SEED_LIKE,
    request: { method: 'OPTIONS', path: '/1', headers: [['Origin', DEMO]] },
    expect: { status: 200, hostStatus: { httplib: 404 }, fields: { 'access-control-allow-origin': DEMO }, vary: VARY_ORIGIN },
  },
  {
    id: 'p02', from: 'FetchPreflightTest.RepeatedOriginIsRejected',
    name: 'a preflight with two Origin lines is rejected',
    policy: SEED_LIKE,
    request: { method: 'OPTIONS', path: '/1', headers: [['Origin', DEMO], ['Origin', DEMO], [ACRM, 'PUT']] },
    expect: REJECTED_PREFLIGHT,
  },

  // --- FetchMethodTest, PolicyValidationTest.MethodsBrowsersUppercaseAreNormalized (§4.8 step 7.5) -------
  {
    id: 'm01', from: 'FetchMethodTest.SafelistedMethodsNeedNoListing',
    name: 'a preflight for GET, a safelisted method, is accepted with the policy\'s fields',
    policy: LISTED,
    request: { method: 'OPTIONS', path: '/1', headers: [['Origin', APP], [ACRM, 'GET']] },
    expect: { status: 204, fields: LISTED_PREFLIGHT, vary: VARY_PREFLIGHT },
  },
  {
    id: 'm02', from: 'FetchMethodTest.MethodsCompareByteExactly',
    name: 'a preflight for "patch", not listed, is rejected',
    policy: LISTED,
    request: { method: 'OPTIONS', path: '/1', headers: [['Origin', APP], [ACRM, 'patch']] },
    expect: REJECTED_PREFLIGHT,
  },
  {
    id: 'm03', from: 'FetchMethodTest.MethodsCompareByteExactly',
    name: 'a preflight for "put" does not match the listed PUT',
    policy: LISTED,
    request: { method: 'OPTIONS', path: '/1', headers: [['Origin', APP], [ACRM, 'put']] },
    expect: REJECTED_PREFLIGHT,
  },
  {
    id: 'm04', from: 'FetchMethodTest.MalformedRequestMethodIsRejected',
    name: 'a preflight for the malformed method "PU T" is rejected',
    policy: SEED_LIKE,
    request: { method: 'OPTIONS', path: '/1', headers: [['Origin', DEMO], [ACRM, 'PU T']] },
    expect: REJECTED_PREFLIGHT,
  },
  {
    id: 'm05', from: 'FetchMethodTest.WildcardMethodAllowsAnyMethodWithoutCredentials',
    name: 'allow_methods ["*"] without credentials allows PATCH, answered with *',
    policy: `[[routes]]
path = "{prefix}"
allow_origins = ["*"]
allow_methods = ["*"]
`,
    request: { method: 'OPTIONS', path: '/1', headers: [['Origin', 'https://a.example'], [ACRM, 'PATCH']] },
    expect: {
      status: 204,
      fields: { 'access-control-allow-origin': '*', 'access-control-allow-methods': '*' },
      vary: VARY_PREFLIGHT_ANY_ORIGIN,
    },
  },
  {
    id: 'm06', from: 'PolicyValidationTest.MethodsBrowsersUppercaseAreNormalized',
    name: 'allow_methods "put" and "Delete" are normalized: PUT is accepted',
    policy: LOWERCASE_METHODS,
    request: { method: 'OPTIONS', path: '/1', headers: [['Origin', APP], [ACRM, 'PUT']] },
    expect: {
      status: 204,
      fields: { ...LISTED_PREFLIGHT, 'access-control-allow-methods': 'PUT, DELETE, patch' },
      vary: VARY_PREFLIGHT,
    },
  },
  {
    id: 'm07', from: 'PolicyValidationTest.MethodsBrowsersUppercaseAreNormalized',
    name: 'allow_methods "patch" is not normalized: PATCH is rejected',
    policy: LOWERCASE_METHODS,
    request: { method: 'OPTIONS', path: '/1', headers: [['Origin', APP], [ACRM, 'PATCH']] },
    expect: REJECTED_PREFLIGHT,
  },
  {
    id: 'm08', from: 'PolicyValidationTest.MethodsBrowsersUppercaseAreNormalized',
    name: 'allow_methods "patch" allows "patch"',
    policy: LOWERCASE_METHODS,
    request: { method: 'OPTIONS', path: '/1', headers: [['Origin', APP], [ACRM, 'patch']] },
    expect: {
      status: 204,
      fields: { ...LISTED_PREFLIGHT, 'access-control-allow-methods': 'PUT, DELETE, patch' },
      vary: VARY_PREFLIGHT,
    },
  },
  {
    id: 'm09', from: 'FetchMethodTest.MalformedRequestMethodIsRejected (an empty method is no token)',
    name: 'a preflight with an empty Access-Control-Request-Method is rejected',
    policy: SEED_LIKE,
    request: { method: 'OPTIONS', path: '/1', headers: [['Origin', DEMO], [ACRM, '']] },
    expect: { ...REJECTED_PREFLIGHT, deviations: { httplib: { why: 'cpp-httplib 0.11 drops request fields with empty values before any handler', status: 404, fields: { 'access-control-allow-origin': DEMO }, vary: ['Origin'] } } },
  },
  {
    id: 'm10', from: 'FetchMethodTest.MethodsCompareByteExactly',
    name: 'a preflight for "P%55T" is not one for PUT: rejected',
    policy: LISTED,
    request: { method: 'OPTIONS', path: '/1', headers: [['Origin', APP], [ACRM, 'P%55T']] },
    expect: { ...REJECTED_PREFLIGHT, deviations: { httplib: { why: 'cpp-httplib 0.11 percent-decodes request field values before any handler', ...ACCEPTED_LISTED_PUT } } },
  },
  {
    id: 'm11', from: 'FetchMethodTest.WildcardMethodAllowsAnyMethodWithoutCredentials (the actual request)',
    name: 'allow_methods ["*"]: the actual PROPFIND after the preflight gets the policy\'s fields',
    policy: `[[routes]]
path = "{prefix}"
allow_origins = ["*"]
allow_methods = ["*"]
`,
    request: { method: 'PROPFIND', path: '/1', headers: [['Origin', 'https://a.example']] },
    expect: {
      status: 200,
      fields: { 'access-control-allow-origin': '*' },
      vary: [],
      deviations: { httplib: { why: 'cpp-httplib 0.11 answers a method outside its own list with 400 before any handler', status: 400, fields: {}, vary: [] } },
    },
  },

  // --- FetchHeadersTest (§4.8 steps 7.6-7.7), host.cpp RequestFields ------------------------------------
  {
    id: 'h01', from: 'FetchHeadersTest.RequestHeadersMatchCaseInsensitively',
    name: 'requested headers content-type,x-token are allowed',
    policy: LISTED,
    request: { method: 'OPTIONS', path: '/1', headers: [['Origin', APP], [ACRM, 'PUT'], [ACRH, 'content-type,x-token']] },
    expect: { status: 204, fields: LISTED_PREFLIGHT, vary: VARY_PREFLIGHT },
  },
  {
    id: 'h02', from: 'FetchHeadersTest.UnlistedHeaderIsRejectedAndNamed',
    name: 'a requested header not listed (x-foo) rejects the preflight',
    policy: LISTED,
    request: { method: 'OPTIONS', path: '/1', headers: [['Origin', APP], [ACRM, 'PUT'], [ACRH, 'content-type,x-foo']] },
    expect: REJECTED_PREFLIGHT,
  },
  {
    id: 'h03', from: 'FetchHeadersTest.ListSplitOverLinesWithSpacesAndEmptyElements',
    name: 'the list split over two Access-Control-Request-Headers lines, with spaces, empty elements, any case',
    policy: LISTED,
    request: {
      method: 'OPTIONS', path: '/1',
      headers: [['Origin', APP], [ACRM, 'PUT'], [ACRH, ' Content-Type , ,'], [ACRH, 'X-TOKEN']],
    },
    expect: { status: 204, fields: LISTED_PREFLIGHT, vary: VARY_PREFLIGHT },
  },
  {
    id: 'h04', from: 'FetchHeadersTest.MalformedHeaderNameIsRejected',
    name: 'the malformed header name "content type" rejects the preflight',
    policy: LISTED,
    request: { method: 'OPTIONS', path: '/1', headers: [['Origin', APP], [ACRM, 'PUT'], [ACRH, 'content type']] },
    expect: REJECTED_PREFLIGHT,
  },
  {
    id: 'h05', from: 'FetchHeadersTest.WildcardNeverCoversAuthorization',
    name: 'allow_headers ["*"] covers x-anything, answered with *',
    policy: `[[routes]]
path = "{prefix}"
allow_origins = ["*"]
allow_headers = ["*"]
`,
    request: { method: 'OPTIONS', path: '/1', headers: [['Origin', 'https://a.example'], [ACRM, 'GET'], [ACRH, 'x-anything']] },
    expect: {
      status: 204,
      fields: { 'access-control-allow-origin': '*', 'access-control-allow-headers': '*' },
      vary: VARY_PREFLIGHT_ANY_ORIGIN,
    },
  },
  {
    id: 'h06', from: 'FetchHeadersTest.WildcardNeverCoversAuthorization',
    name: 'allow_headers ["*"] never covers authorization',
    policy: `[[routes]]
path = "{prefix}"
allow_origins = ["*"]
allow_headers = ["*"]
`,
    request: {
      method: 'OPTIONS', path: '/1',
      headers: [['Origin', 'https://a.example'], [ACRM, 'GET'], [ACRH, 'x-a,authorization']],
    },
    expect: { status: 403, fields: {}, vary: VARY_PREFLIGHT_ANY_ORIGIN },
  },
  {
    id: 'h07', from: 'policy.cpp kMaxRequestHeaderLines: RejectReason::headers_too_many_lines',
    name: '33 Access-Control-Request-Headers lines are more than any browser sends: rejected',
    policy: LISTED,
    request: {
      method: 'OPTIONS', path: '/1',
      headers: [['Origin', APP], [ACRM, 'PUT'],
        [ACRH, 'content-type'], [ACRH, 'content-type'], [ACRH, 'content-type'], [ACRH, 'content-type'],
        [ACRH, 'content-type'], [ACRH, 'content-type'], [ACRH, 'content-type'], [ACRH, 'content-type'],
        [ACRH, 'content-type'], [ACRH, 'content-type'], [ACRH, 'content-type'], [ACRH, 'content-type'],
        [ACRH, 'content-type'], [ACRH, 'content-type'], [ACRH, 'content-type'], [ACRH, 'content-type'],
        [ACRH, 'content-type'], [ACRH, 'content-type'], [ACRH, 'content-type'], [ACRH, 'content-type'],
        [ACRH, 'content-type'], [ACRH, 'content-type'], [ACRH, 'content-type'], [ACRH, 'content-type'],
        [ACRH, 'content-type'], [ACRH, 'content-type'], [ACRH, 'content-type'], [ACRH, 'content-type'],
        [ACRH, 'content-type'], [ACRH, 'content-type'], [ACRH, 'content-type'], [ACRH, 'content-type'],
        [ACRH, 'x-token']],
    },
    expect: REJECTED_PREFLIGHT,
  },
  {
    id: 'h08', from: 'FetchHeadersTest.UnlistedHeaderIsRejectedAndNamed (names compare as sent)',
    name: 'a requested header "x%2Dtoken" is not x-token: rejected',
    policy: LISTED,
    request: { method: 'OPTIONS', path: '/1', headers: [['Origin', APP], [ACRM, 'PUT'], [ACRH, 'x%2Dtoken']] },
    expect: { ...REJECTED_PREFLIGHT, deviations: { httplib: { why: 'cpp-httplib 0.11 percent-decodes request field values before any handler', ...ACCEPTED_LISTED_PUT } } },
  },

  // --- "*" with credentials: FetchMethodTest.WildcardMethodWithCredentialsAnswersTheRequestedMethod,
  //     FetchHeadersTest.WildcardHeadersWithCredentialsAnswerTheRequestedNames ---------------------------
  {
    id: 'x01', from: 'FetchMethodTest.WildcardMethodWithCredentialsAnswersTheRequestedMethod',
    name: 'allow_methods ["*"] with credentials answers a PATCH preflight with PATCH',
    policy: `[[routes]]
path = "{prefix}"
allow_origins = ["https://app.example.com"]
allow_credentials = true
allow_methods = ["*"]
`,
    request: { method: 'OPTIONS', path: '/1', headers: [['Origin', APP], [ACRM, 'PATCH']] },
    expect: {
      status: 204,
      fields: {
        'access-control-allow-origin': APP,
        'access-control-allow-credentials': 'true',
        'access-control-allow-methods': 'PATCH',
      },
      vary: VARY_PREFLIGHT,
    },
  },
  {
    id: 'x02', from: 'FetchHeadersTest.WildcardHeadersWithCredentialsAnswerTheRequestedNames',
    name: 'allow_headers ["*"] with credentials answers with the requested names',
    policy: `[[routes]]
path = "{prefix}"
allow_origins = ["https://app.example.com"]
allow_credentials = true
allow_methods = ["PUT"]
allow_headers = ["*"]
`,
    request: { method: 'OPTIONS', path: '/1', headers: [['Origin', APP], [ACRM, 'PUT'], [ACRH, 'x-a,x-b']] },
    expect: {
      status: 204,
      fields: {
        'access-control-allow-origin': APP,
        'access-control-allow-credentials': 'true',
        'access-control-allow-methods': 'PUT',
        'access-control-allow-headers': 'x-a,x-b',
      },
      vary: VARY_PREFLIGHT,
    },
  },
  {
    id: 'x03', from: 'FetchHeadersTest.WildcardHeadersWithCredentialsAnswerTheRequestedNames (authorization)',
    name: 'allow_headers ["*"] with credentials never covers authorization',
    policy: `[[routes]]
path = "{prefix}"
allow_origins = ["https://app.example.com"]
allow_credentials = true
allow_methods = ["PUT"]
allow_headers = ["*"]
`,
    request: { method: 'OPTIONS', path: '/1', headers: [['Origin', APP], [ACRM, 'PUT'], [ACRH, 'x-a,authorization']] },
    expect: REJECTED_PREFLIGHT,
  },
  // --- Origins: PolicyValidationTest.ConfiguredOriginsAreNormalizedBeforeMatching and
  //     LoopbackHttpOriginsMayUseCredentials, CredentialsTest.UnlistedOriginGetsNoCorsHeadersButStillVaries,
  //     origin.cpp's patterns (whole labels, any port, never the apex) -----------------------------------
  {
    id: 'o01', from: 'PolicyValidationTest.ConfiguredOriginsAreNormalizedBeforeMatching',
    name: 'allow_origins "HTTPS://App.Example.com:443" allows https://app.example.com',
    policy: NORMALIZED_ORIGIN,
    request: { method: 'GET', path: '/1', headers: [['Origin', APP]] },
    expect: { status: 200, fields: { 'access-control-allow-origin': APP }, vary: VARY_ORIGIN },
  },
  {
    id: 'o02', from: 'origin.cpp is_serialized_origin: a default port is never serialized',
    name: 'Origin https://app.example.com:443 is not a serialized origin: not allowed',
    policy: NORMALIZED_ORIGIN,
    request: { method: 'GET', path: '/1', headers: [['Origin', 'https://app.example.com:443']] },
    expect: NOT_ALLOWED_ACTUAL,
  },
  {
    id: 'o03', from: 'origin.cpp is_serialized_origin: a browser sends lowercase',
    name: 'Origin HTTPS://APP.EXAMPLE.COM is not a serialized origin: not allowed',
    policy: NORMALIZED_ORIGIN,
    request: { method: 'GET', path: '/1', headers: [['Origin', 'HTTPS://APP.EXAMPLE.COM']] },
    expect: NOT_ALLOWED_ACTUAL,
  },
  {
    id: 'o04', from: 'CredentialsTest.UnlistedOriginGetsNoCorsHeadersButStillVaries',
    name: 'https://app.example.com.evil.com is not https://app.example.com',
    policy: LISTED,
    request: { method: 'GET', path: '/1', headers: [['Origin', 'https://app.example.com.evil.com']] },
    expect: NOT_ALLOWED_ACTUAL,
  },
  {
    id: 'o05', from: 'origin.hpp OriginRule: "https://*.example.com" is one or more labels',
    name: 'https://*.example.com allows https://a.b.example.com on a preflight',
    policy: SUBDOMAINS,
    request: { method: 'OPTIONS', path: '/1', headers: [['Origin', 'https://a.b.example.com'], [ACRM, 'GET']] },
    expect: {
      status: 204,
      fields: { 'access-control-allow-origin': 'https://a.b.example.com', 'access-control-allow-credentials': 'true' },
      vary: VARY_PREFLIGHT,
    },
  },
  {
    id: 'o06', from: 'origin.hpp OriginRule: never the apex',
    name: 'https://*.example.com does not allow https://example.com',
    policy: SUBDOMAINS,
    request: { method: 'GET', path: '/1', headers: [['Origin', 'https://example.com']] },
    expect: NOT_ALLOWED_ACTUAL,
  },
  {
    id: 'o07', from: 'origin.hpp: "https://evilexample.com" never matches "https://*.example.com"',
    name: 'https://*.example.com does not allow https://evilexample.com',
    policy: SUBDOMAINS,
    request: { method: 'OPTIONS', path: '/1', headers: [['Origin', 'https://evilexample.com'], [ACRM, 'GET']] },
    expect: REJECTED_PREFLIGHT,
  },
  {
    id: 'o08', from: 'SeedPolicyTest.MalformedOriginIsNeverEchoed; origin.cpp is_serialized_origin',
    name: 'Origin https://app%2Eexample.com is not a serialized origin: not allowed, no credentials',
    policy: LISTED,
    request: { method: 'GET', path: '/1', headers: [['Origin', 'https://app%2Eexample.com']] },
    expect: { ...NOT_ALLOWED_ACTUAL, deviations: { httplib: { why: 'cpp-httplib 0.11 percent-decodes request field values before any handler', status: 200, fields: { 'access-control-allow-credentials': 'true', 'access-control-allow-origin': 'https://app.example.com', 'access-control-expose-headers': 'x-request-id' }, vary: ['Origin'] } } },
  },
  {
    id: 'o09', from: 'PolicyValidationTest.LoopbackHttpOriginsMayUseCredentials',
    name: 'http://localhost:* allows http://localhost:3000 with credentials',
    policy: LOOPBACK,
    request: { method: 'OPTIONS', path: '/1', headers: [['Origin', 'http://localhost:3000'], [ACRM, 'PUT']] },
    expect: {
      status: 204,
      fields: {
        'access-control-allow-origin': 'http://localhost:3000',
        'access-control-allow-credentials': 'true',
        'access-control-allow-methods': 'PUT',
      },
      vary: VARY_PREFLIGHT,
    },
  },
  {
    id: 'o10', from: 'PolicyValidationTest.LoopbackHttpOriginsMayUseCredentials; origin.cpp canonical_ipv6',
    name: 'allow_origins "http://[0:0::1]:3000" allows http://[::1]:3000',
    policy: LOOPBACK,
    request: { method: 'GET', path: '/1', headers: [['Origin', 'http://[::1]:3000']] },
    expect: {
      status: 200,
      fields: { 'access-control-allow-origin': 'http://[::1]:3000', 'access-control-allow-credentials': 'true' },
      vary: VARY_ORIGIN,
    },
  },

  // --- CredentialsTest ----------------------------------------------------------------------------------
  {
    id: 'c01', from: 'CredentialsTest.ExactOriginAndAllowCredentialsOnPreflightAndActual',
    name: 'an actual DELETE gets the origin, credentials and the exposed headers',
    policy: LISTED,
    request: { method: 'DELETE', path: '/1', headers: [['Origin', APP]] },
    expect: { status: 200, fields: LISTED_ACTUAL, vary: VARY_ORIGIN },
  },

  // --- Expose headers and max-age (listed_spec()'s fields, policy.cpp decide_actual/decide_preflight) --
  {
    id: 'e01', from: 'CredentialsTest.ExactOriginAndAllowCredentialsOnPreflightAndActual (expose_headers)',
    name: 'expose_headers are lowercased and joined on an actual GET, without credentials',
    policy: EXPOSE,
    request: { method: 'GET', path: '/1', headers: [['Origin', APP]] },
    expect: {
      status: 200,
      fields: { 'access-control-allow-origin': APP, 'access-control-expose-headers': 'x-request-id, x-total-count' },
      vary: VARY_ORIGIN,
    },
  },
  {
    id: 'e02', from: 'policy.cpp decide_preflight: no methods, headers or max_age listed, none sent',
    name: 'a preflight on a policy without allow_methods and max_age gets the origin only (no Max-Age)',
    policy: EXPOSE,
    request: { method: 'OPTIONS', path: '/1', headers: [['Origin', APP], [ACRM, 'GET']] },
    expect: { status: 204, fields: { 'access-control-allow-origin': APP }, vary: VARY_PREFLIGHT },
  },
  {
    id: 'e03', from: 'policy.cpp decide_preflight: max_age_seconds present',
    name: 'max_age = 0 sends Access-Control-Max-Age: 0',
    policy: `[[routes]]
path = "{prefix}"
allow_origins = ["https://app.example.com"]
allow_methods = ["PUT"]
max_age = 0
`,
    request: { method: 'OPTIONS', path: '/1', headers: [['Origin', APP], [ACRM, 'PUT']] },
    expect: {
      status: 204,
      fields: { 'access-control-allow-origin': APP, 'access-control-allow-methods': 'PUT', 'access-control-max-age': '0' },
      vary: VARY_PREFLIGHT,
    },
  },

  // --- PrivateNetworkTest, host.cpp RequestFields (only the value "true" asks) ---------------------------
  {
    id: 'n01', from: 'PrivateNetworkTest.AnsweredOnlyWhenEnabled (not granted)',
    name: 'private network access not allowed: the preflight is accepted without Allow-Private-Network',
    policy: LISTED,
    request: { method: 'OPTIONS', path: '/1', headers: [['Origin', APP], [ACRM, 'GET'], [ACRPN, 'true']] },
    expect: { status: 204, fields: LISTED_PREFLIGHT, vary: VARY_PREFLIGHT },
  },
  {
    id: 'n02', from: 'PrivateNetworkTest.AnsweredOnlyWhenEnabled (granted)',
    name: 'allow_private_network = true answers Access-Control-Allow-Private-Network: true',
    policy: PRIVATE_NETWORK,
    request: { method: 'OPTIONS', path: '/1', headers: [['Origin', APP], [ACRM, 'GET'], [ACRPN, 'true']] },
    expect: {
      status: 204,
      fields: { ...LISTED_PREFLIGHT, 'access-control-allow-private-network': 'true' },
      vary: VARY_PREFLIGHT,
    },
  },
  {
    id: 'n03', from: 'host.cpp RequestFields::request: only the exact value "true" asks',
    name: 'Access-Control-Request-Private-Network: TRUE does not ask for private network access',
    policy: PRIVATE_NETWORK,
    request: { method: 'OPTIONS', path: '/1', headers: [['Origin', APP], [ACRM, 'GET'], [ACRPN, 'TRUE']] },
    expect: { status: 204, fields: LISTED_PREFLIGHT, vary: VARY_PREFLIGHT },
  },

  // --- "*" origins without credentials: CredentialsTest.WildcardPolicyNeedsNoVary,
  //     PolicyValidationTest.LoneStarMeansAnyOriginAnsweredWithStar --------------------------------------
  {
    id: 'w01', from: 'PolicyValidationTest.LoneStarMeansAnyOriginAnsweredWithStar; WildcardPolicyNeedsNoVary',
    name: 'allow_origins ["*"]: an actual GET gets *, no Vary',
    policy: ANY_ORIGIN,
    request: { method: 'GET', path: '/1', headers: [['Origin', 'https://x.example']] },
    expect: { status: 200, fields: { 'access-control-allow-origin': '*' }, vary: [] },
  },
  {
    id: 'w02', from: 'policy.cpp decide: no Origin on a policy that does not vary',
    name: 'allow_origins ["*"]: a request without Origin gets *, no Vary',
    policy: ANY_ORIGIN,
    request: { method: 'GET', path: '/1', headers: [] },
    expect: { status: 200, fields: { 'access-control-allow-origin': '*' }, vary: [] },
  },
  {
    id: 'w03', from: 'OriginMatcher::any(): every origin, "null" included, is answered with *',
    name: 'allow_origins ["*"]: Origin: null gets * too (a public resource)',
    policy: ANY_ORIGIN,
    request: { method: 'GET', path: '/1', headers: [['Origin', 'null']] },
    expect: { status: 200, fields: { 'access-control-allow-origin': '*' }, vary: [] },
  },
  {
    id: 'w04', from: 'policy.cpp kVaryPreflightAnyOrigin',
    name: 'allow_origins ["*"]: an accepted preflight gets * and varies by method and headers only',
    policy: ANY_ORIGIN_PUT,
    request: { method: 'OPTIONS', path: '/1', headers: [['Origin', 'https://x.example'], [ACRM, 'PUT']] },
    expect: {
      status: 204,
      fields: { 'access-control-allow-origin': '*', 'access-control-allow-methods': 'PUT', 'access-control-max-age': '60' },
      vary: VARY_PREFLIGHT_ANY_ORIGIN,
    },
  },
  {
    id: 'w05', from: 'policy.cpp kVaryPreflightAnyOrigin (rejected)',
    name: 'allow_origins ["*"]: a preflight for a method not listed is rejected',
    policy: ANY_ORIGIN_PUT,
    request: { method: 'OPTIONS', path: '/1', headers: [['Origin', 'https://x.example'], [ACRM, 'DELETE']] },
    expect: { status: 403, fields: {}, vary: VARY_PREFLIGHT_ANY_ORIGIN },
  },
  {
    id: 'w06', from: 'policy.cpp check_header_names: "*" exposed without credentials',
    name: 'expose_headers ["*"] without credentials is sent as *',
    policy: `[[routes]]
path = "{prefix}"
allow_origins = ["*"]
expose_headers = ["*"]
`,
    request: { method: 'GET', path: '/1', headers: [['Origin', 'https://x.example']] },
    expect: { status: 200, fields: { 'access-control-allow-origin': '*', 'access-control-expose-headers': '*' }, vary: [] },
  },

  // --- preflight_passthrough (host.cpp answers_preflight) -----------------------------------------------
  {
    id: 't01', from: 'host.cpp answers_preflight: an accepted preflight goes to the application',
    name: 'preflight_passthrough: an accepted preflight is the host\'s own answer, with the preflight\'s fields',
    policy: PASSTHROUGH,
    request: { method: 'OPTIONS', path: '/1', headers: [['Origin', 'https://old.example.com'], [ACRM, 'PUT']] },
    expect: {
      status: 200,
      hostStatus: { httplib: 404 },  // cpp-httplib: no OPTIONS route on /items
      fields: { 'access-control-allow-origin': 'https://old.example.com', 'access-control-allow-methods': 'PUT' },
      vary: VARY_PREFLIGHT,
    },
  },
  {
    id: 't02', from: 'host.cpp answers_preflight: a rejected preflight never reaches it',
    name: 'preflight_passthrough: a rejected preflight is still answered 403 by the engine',
    policy: PASSTHROUGH,
    request: { method: 'OPTIONS', path: '/1', headers: [['Origin', 'https://old.example.com'], [ACRM, 'DELETE']] },
    expect: REJECTED_PREFLIGHT,
  },

  // --- Routes (route_table.hpp: longest prefix at a segment boundary; no route, no CORS) ---------------
  {
    id: 'r01', from: 'route_table.hpp: a path no route covers gets no CORS handling',
    name: 'a path no route covers gets no CORS fields and no Vary',
    policy: `[[routes]]
path = "{prefix}/api"
allow_origins = ["*"]
`,
    request: { method: 'GET', path: '/other', headers: [['Origin', APP]] },
    expect: { status: 200, fields: {}, vary: [] },
  },
  {
    id: 'r02', from: 'RouteTable::match: the longest matching prefix wins',
    name: 'the longer prefix\'s policy answers below it',
    policy: `${LISTED}
[[routes]]
path = "{prefix}/public"
allow_origins = ["*"]
`,
    request: { method: 'GET', path: '/public/1', headers: [['Origin', APP]] },
    expect: { status: 200, fields: { 'access-control-allow-origin': '*' }, vary: [] },
  },
  {
    id: 'r03', from: 'RouteTable::match: at a segment boundary ("/api" does not match "/apix")',
    name: 'a prefix matches at segment boundaries only: /publicx gets the shorter prefix\'s policy',
    policy: `${LISTED}
[[routes]]
path = "{prefix}/public"
allow_origins = ["*"]
`,
    request: { method: 'GET', path: '/publicx', headers: [['Origin', APP]] },
    expect: { status: 200, fields: LISTED_ACTUAL, vary: VARY_ORIGIN },
  },
];
