// Fuzzes Policy::decide() and checks what must hold for every input: no
// CORS headers on a rejection, never "*" with credentials, an allowed origin
// answered with itself or "*", no request without Origin treated as CORS;
// and that the browser's side (browser.hpp, as `corsd check` judges) lets
// through exactly what the server's side allows, for every request a
// browser could send.
//
// Input: lines "method\norigin\nrequest-method\nrequest-headers...", an
// empty line meaning "absent".

#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "corsd/cors/detail/browser.hpp"
#include "corsd/cors/detail/origin.hpp"
#include "corsd/cors/detail/token.hpp"
#include "corsd/cors/policy.hpp"
#include "require.hpp"

namespace {

using corsd::cors::CorsRequest;
using corsd::cors::Decision;
using corsd::cors::DecisionKind;
using corsd::cors::Policy;
using corsd::cors::PolicySpec;

using corsd::fuzz::require;

Policy credentialed() {
  PolicySpec s;
  s.allow_origins = {"https://app.example.com", "https://*.example.org", "http://localhost:*", "http://[::1]:8080"};
  s.allow_credentials = true;
  s.allow_methods = {"PUT", "delete", "PATCH"};
  s.allow_headers = {"content-type", "authorization"};
  s.expose_headers = {"x-request-id"};
  s.max_age_seconds = 600;
  s.allow_private_network = true;
  return std::get<Policy>(Policy::create(s));
}

Policy open_policy() {
  PolicySpec s;
  s.allow_origins = {"*"};
  s.allow_methods = {"*"};
  s.allow_headers = {"*"};
  s.expose_headers = {"*"};
  return std::get<Policy>(Policy::create(s));
}

void check(const Policy& policy, const CorsRequest& request, const Decision& d) {
  if (!request.origin.present()) require(d.kind == DecisionKind::not_cors);
  const bool rejected = d.kind == DecisionKind::preflight_rejected || d.kind == DecisionKind::actual_rejected;
  require(rejected == (d.reason != corsd::cors::RejectReason::none));
  if (rejected) require(d.headers.empty());
  for (const auto& f : d.headers) {
    if (policy.spec().allow_credentials) require(f.value != "*");
    if (f.name == "Access-Control-Allow-Origin" && f.value != "*") {
      require(f.value == request.origin.value);
      require(corsd::cors::is_serialized_origin(f.value));
    }
  }
  if (policy.spec().origins != PolicySpec::Origins::any) require(!d.vary.empty());
}

namespace browser = corsd::cors::browser;

// The answer the server side gives for `d`, as a browser receives it.
browser::Response answer_of(const Decision& d) {
  browser::Response r;
  const bool rejected = d.kind == DecisionKind::preflight_rejected || d.kind == DecisionKind::actual_rejected;
  r.status = d.kind == DecisionKind::preflight_accepted               ? 204
             : rejected && d.kind == DecisionKind::preflight_rejected ? 403
                                                                      : 200;
  for (const auto& f : d.headers) r.headers.push_back({std::string(f.name), std::string(f.value)});
  if (!d.vary.empty()) r.headers.push_back({"Vary", std::string(d.vary)});
  return r;
}

// The fetch() whose preflight `request` is, if a browser could send it:
// a normalized method, token header names none of them forbidden (their
// values made unsafe so each name is one the browser lists).
bool as_fetch(const CorsRequest& request, browser::Request& b) {
  const std::string_view method = request.request_method.value;
  if (!corsd::cors::is_token(method) || browser::normalize_method(method) != method) return false;
  b.method = std::string(method);
  corsd::cors::ListCursor names(request.request_headers);
  std::string_view name;
  while (names.next(name)) {
    if (!corsd::cors::is_token(name) || corsd::cors::is_forbidden_request_header(name)) return false;
    b.headers.push_back({std::string(name), "x("});
  }
  return browser::needs_preflight(b);
}

void agree_with_browser(const Policy& policy, const CorsRequest& request, const Decision& d) {
  if (!request.origin.present() || !corsd::cors::is_serialized_origin(request.origin.value)) return;
  browser::Request b;
  b.url = "https://api.example/items";
  b.origin = std::string(request.origin.value);
  b.credentials = policy.spec().allow_credentials;
  const browser::Response r = answer_of(d);
  if (d.kind == DecisionKind::preflight_accepted || d.kind == DecisionKind::preflight_rejected) {
    if (request.method != "OPTIONS" || !as_fetch(request, b)) return;
    const bool passes = !browser::check_preflight(browser::Browser::standard, b, r);
    require(passes == (d.kind == DecisionKind::preflight_accepted));
  } else if (d.kind == DecisionKind::actual_allowed || d.kind == DecisionKind::actual_rejected) {
    b.method = std::string(request.method);
    require(!browser::check_actual(browser::Browser::standard, b, r) == (d.kind == DecisionKind::actual_allowed));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const Policy policies[] = {Policy::seed(), credentialed(), open_policy()};
  std::vector<std::string_view> lines;
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  while (lines.size() < 40) {
    const std::size_t nl = rest.find('\n');
    lines.push_back(rest.substr(0, nl));
    if (nl == std::string_view::npos) break;
    rest.remove_prefix(nl + 1);
  }
  lines.resize(std::max<std::size_t>(lines.size(), 3));
  CorsRequest request;
  request.method = lines[0];
  if (!lines[1].empty()) request.origin = {lines[1], 1};
  if (!lines[2].empty()) request.request_method = {lines[2], 1};
  request.request_headers = std::span<const std::string_view>(lines).subspan(3);
  for (const Policy& p : policies) {
    const Decision d = p.decide(request);
    check(p, request, d);
    agree_with_browser(p, request, d);
  }
  return 0;
}
