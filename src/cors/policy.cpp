#include "corsd/cors/policy.hpp"

#include <algorithm>
#include <array>

#include "corsd/cors/detail/fetch_names.hpp"
#include "corsd/cors/detail/token.hpp"

namespace corsd::cors {
namespace {

// The longest max-age any browser honours (Firefox: 24 h; Chromium caps at 2 h).
constexpr unsigned kMaxAgeLimit = 86400;
constexpr std::size_t kMaxRequestHeaderLines = 32;
// Access-Control-Request-Headers lines a credentialed "*" answers, one field
// each: what a Decision's eight fields leave room for.
constexpr std::size_t kMaxReflectedHeaderLines = 3;

constexpr std::string_view kVaryOrigin = "Origin";
constexpr std::string_view kVaryPreflight = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers";
constexpr std::string_view kVaryPreflightAnyOrigin = "Access-Control-Request-Method, Access-Control-Request-Headers";

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out;
}

bool contains(const std::vector<std::string>& items, std::string_view value) {
  return std::find(items.begin(), items.end(), value) != items.end();
}

// Fetch Standard "normalize a method": browsers uppercase these six before
// sending them, so a policy's "put" must mean PUT or it would never match.
std::string normalize_method(std::string m) {
  for (std::string_view known : {"DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"}) {
    if (ascii_iequals(m, known)) return std::string(known);
  }
  return m;
}

// Fetch Standard: forbidden methods never come from scripts.
bool is_forbidden_method(std::string_view m) noexcept {
  return ascii_iequals(m, "CONNECT") || ascii_iequals(m, "TRACE") || ascii_iequals(m, "TRACK");
}

bool single_label(std::string_view domain) { return domain.find('.') == std::string_view::npos; }

// Misconfiguration classes of credentialed origins: wildcards over a public
// suffix (anyone can register a site there) and plain-http origins (anyone on
// the network path can read and forge them).
std::optional<PolicyError> check_credentialed_origin(const PolicySpec& spec, const OriginRule& rule, std::size_t index,
                                                     const PublicSuffixCheck& is_public_suffix) {
  if (rule.any_subdomain) {
    const bool public_suffix = is_public_suffix ? is_public_suffix(rule.host) : single_label(rule.host);
    if (public_suffix) {
      return PolicyError{"allow_origins",
                         "\"" + rule.text + "\" covers a public suffix: anyone can register a site under " + rule.host +
                             " and read signed-in users' data",
                         "list your own sites, e.g. \"" + rule.scheme + "://app." + rule.host + "\"", index};
    }
  }
  if (rule.scheme == "http" && !is_loopback_host(rule.host) &&
      !spec.dangerously_allow_insecure_origins_with_credentials) {
    return PolicyError{"allow_origins",
                       "\"" + rule.text +
                           "\" is plain http: anyone on the network path can act as it and read "
                           "credentialed responses",
                       "use https://, or set dangerously_allow_insecure_origins_with_credentials = true", index};
  }
  return std::nullopt;
}

std::optional<PolicyError> check_origins(const PolicySpec& spec, const PublicSuffixCheck& is_public_suffix,
                                         std::vector<OriginRule>& rules) {
  if (spec.origins == PolicySpec::Origins::listed && spec.allow_origins.empty()) {
    return PolicyError{"allow_origins", "the list is empty: no origin would ever be allowed",
                       "list the origins, e.g. [\"https://app.example.com\"]"};
  }
  if (spec.origins != PolicySpec::Origins::listed) {
    if (spec.allow_credentials) {
      return PolicyError{"allow_origins",
                         "credentials cannot be allowed for every origin: any site could read a "
                         "signed-in user's data",
                         "list the origins that may send credentials"};
    }
    return std::nullopt;
  }
  for (std::size_t i = 0; i < spec.allow_origins.size(); ++i) {
    const std::string& origin = spec.allow_origins[i];
    if (origin == "*") {
      return PolicyError{"allow_origins", "\"*\" cannot be mixed with listed origins",
                         "use [\"*\"] alone for a public resource, or list origins only", i};
    }
    ParsedOriginRule parsed = parse_origin_rule(origin);
    if (!parsed.ok()) return PolicyError{"allow_origins", "\"" + origin + "\": " + parsed.error, parsed.fix, i};
    if (spec.allow_credentials) {
      if (auto e = check_credentialed_origin(spec, parsed.rule, i, is_public_suffix)) return e;
    }
    rules.push_back(std::move(parsed.rule));
  }
  return std::nullopt;
}

std::optional<PolicyError> check_methods(const PolicySpec& spec) {
  for (std::size_t i = 0; i < spec.allow_methods.size(); ++i) {
    const std::string& m = spec.allow_methods[i];
    if (m == "*") continue;  // with credentials, answered with the requested method (decide_preflight)
    if (!is_token(m)) return PolicyError{"allow_methods", "\"" + m + "\" is not a method token", "remove it", i};
    if (is_forbidden_method(m)) {
      return PolicyError{"allow_methods", m + " is a forbidden method: browsers never send it", "remove it", i};
    }
  }
  return std::nullopt;
}

std::optional<PolicyError> check_header_names(const std::vector<std::string>& names, std::string_view field,
                                              bool credentials) {
  for (std::size_t i = 0; i < names.size(); ++i) {
    const std::string& h = names[i];
    if (h == "*") {
      // With credentials a browser reads "*" literally. Requested headers are
      // then answered by name (decide_preflight); the headers an answer will
      // expose cannot be known in advance.
      if (credentials && field == "expose_headers") {
        return PolicyError{std::string(field), "browsers ignore \"*\" when credentials are allowed",
                           "list the header names", i};
      }
      continue;
    }
    if (!is_token(h)) return PolicyError{std::string(field), "\"" + h + "\" is not a header name", "remove it", i};
    if (field != "allow_headers") continue;
    // The answer's fields (Access-Control-Allow-Origin, Set-Cookie, ...)
    // in allow_headers mean the policy was written the wrong way round.
    if (is_response_only_header(h)) {
      return PolicyError{std::string(field),
                         h + " is a response header: the server sends it, a request never carries it",
                         "remove it (corsd sends the Access-Control-* answers itself; expose_headers lets scripts "
                         "read an answer's fields)",
                         i};
    }
    if (is_forbidden_request_header(h)) {
      return PolicyError{std::string(field), h + " is a forbidden request header: scripts can never set it",
                         "remove it", i};
    }
  }
  return std::nullopt;
}

std::optional<PolicyError> check_spec(const PolicySpec& spec, const PublicSuffixCheck& is_public_suffix,
                                      std::vector<OriginRule>& rules) {
  if (auto e = check_origins(spec, is_public_suffix, rules)) return e;
  if (auto e = check_methods(spec)) return e;
  if (auto e = check_header_names(spec.allow_headers, "allow_headers", spec.allow_credentials)) return e;
  if (auto e = check_header_names(spec.expose_headers, "expose_headers", spec.allow_credentials)) return e;
  for (std::size_t i = 0; i < spec.expose_headers.size(); ++i) {
    const std::string& h = spec.expose_headers[i];
    if (ascii_iequals(h, "set-cookie") || ascii_iequals(h, "set-cookie2")) {
      return PolicyError{"expose_headers", "browsers never expose " + h + " to scripts", "remove it", i};
    }
  }
  if (spec.max_age_seconds && *spec.max_age_seconds > kMaxAgeLimit) {
    return PolicyError{"max_age", "browsers cap max-age at 86400 seconds (24 h)", "use a value from 0 to 86400"};
  }
  if (spec.allow_private_network && spec.origins == PolicySpec::Origins::any) {
    return PolicyError{"allow_private_network", "a private-network resource must not be open to every origin",
                       "list the origins that may reach it"};
  }
  return std::nullopt;
}

}  // namespace

std::string_view kind_name(DecisionKind kind) noexcept {
  switch (kind) {
    case DecisionKind::not_cors: return "not_cors";
    case DecisionKind::preflight_accepted: return "preflight_accepted";
    case DecisionKind::preflight_rejected: return "preflight_rejected";
    case DecisionKind::actual_allowed: return "actual_allowed";
    case DecisionKind::actual_rejected: return "actual_rejected";
  }
  return "unknown";
}

std::string_view reason_name(RejectReason reason) noexcept {
  switch (reason) {
    case RejectReason::none: return "none";
    case RejectReason::origin_repeated: return "origin_repeated";
    case RejectReason::origin_null: return "origin_null";
    case RejectReason::origin_malformed: return "origin_malformed";
    case RejectReason::origin_not_allowed: return "origin_not_allowed";
    case RejectReason::method_repeated: return "method_repeated";
    case RejectReason::method_malformed: return "method_malformed";
    case RejectReason::method_not_allowed: return "method_not_allowed";
    case RejectReason::headers_malformed: return "headers_malformed";
    case RejectReason::headers_too_many_lines: return "headers_too_many_lines";
    case RejectReason::header_not_allowed: return "header_not_allowed";
    case RejectReason::private_network_not_allowed: return "private_network_not_allowed";
  }
  return "unknown";
}

PolicyOrError Policy::create(PolicySpec spec, const PublicSuffixCheck& is_public_suffix) {
  if (spec.origins == PolicySpec::Origins::listed && spec.allow_origins == std::vector<std::string>{"*"}) {
    spec.origins = PolicySpec::Origins::any;
  }
  for (auto& m : spec.allow_methods) m = normalize_method(std::move(m));
  std::vector<OriginRule> rules;
  if (auto error = check_spec(spec, is_public_suffix, rules)) return *error;
  spec.allow_origins.clear();
  for (const auto& rule : rules) spec.allow_origins.push_back(rule.text);
  for (auto& h : spec.allow_headers) h = ascii_lowercase(h);
  for (auto& h : spec.expose_headers) h = ascii_lowercase(h);
  switch (spec.origins) {
    case PolicySpec::Origins::any: return Policy(std::move(spec), OriginMatcher::any());
    case PolicySpec::Origins::any_echoed: return Policy(std::move(spec), OriginMatcher::any_echoed());
    case PolicySpec::Origins::listed: break;
  }
  return Policy(std::move(spec), OriginMatcher::listed(rules));
}

Policy Policy::seed() {
  PolicySpec spec;
  spec.origins = PolicySpec::Origins::any_echoed;
  spec.allow_methods = {"GET", "POST", "PUT", "DELETE", "OPTIONS"};
  spec.allow_headers = {"content-type", "accept"};
  spec.max_age_seconds = 10;
  spec.wildcard_without_origin = true;
  return std::get<Policy>(create(std::move(spec)));
}

Policy::Policy(PolicySpec spec, OriginMatcher origins) : spec_(std::move(spec)), origins_(std::move(origins)) {
  any_method_ = contains(spec_.allow_methods, "*");
  any_header_ = contains(spec_.allow_headers, "*");
  allow_methods_value_ = join(spec_.allow_methods);
  allow_headers_value_ = join(spec_.allow_headers);
  expose_headers_value_ = join(spec_.expose_headers);
  if (spec_.max_age_seconds) max_age_value_ = std::to_string(*spec_.max_age_seconds);
}

Decision Policy::decide(const CorsRequest& request) const noexcept {
  Decision d;
  const bool varies = origins_.varies_by_origin();
  if (!request.origin.present()) {
    d.kind = DecisionKind::not_cors;
    if (spec_.wildcard_without_origin || !varies) d.headers.push_back("Access-Control-Allow-Origin", "*");
    d.vary = varies ? kVaryOrigin : std::string_view{};
    return d;
  }
  const bool preflight = request.method == "OPTIONS" && request.request_method.present();
  const std::string_view origin = request.origin.value;
  const std::string_view allow_origin =
      request.origin.count == 1 ? origins_.allow_origin_for(origin) : std::string_view{};
  if (allow_origin.empty()) {
    d.kind = preflight ? DecisionKind::preflight_rejected : DecisionKind::actual_rejected;
    d.reason = request.origin.count > 1        ? RejectReason::origin_repeated
               : origin == "null"              ? RejectReason::origin_null
               : !is_serialized_origin(origin) ? RejectReason::origin_malformed
                                               : RejectReason::origin_not_allowed;
    d.detail = origin;
    d.vary = preflight ? (varies ? kVaryPreflight : kVaryPreflightAnyOrigin) : kVaryOrigin;
    return d;
  }
  return preflight ? decide_preflight(request, allow_origin) : decide_actual(allow_origin);
}

Decision Policy::decide_actual(std::string_view allow_origin) const noexcept {
  Decision d;
  d.kind = DecisionKind::actual_allowed;
  d.headers.push_back("Access-Control-Allow-Origin", allow_origin);
  if (spec_.allow_credentials) d.headers.push_back("Access-Control-Allow-Credentials", "true");
  if (!expose_headers_value_.empty()) d.headers.push_back("Access-Control-Expose-Headers", expose_headers_value_);
  d.vary = origins_.varies_by_origin() ? kVaryOrigin : std::string_view{};
  return d;
}

Decision Policy::decide_preflight(const CorsRequest& request, std::string_view allow_origin) const noexcept {
  Decision d;
  d.kind = DecisionKind::preflight_rejected;
  d.vary = origins_.varies_by_origin() ? kVaryPreflight : kVaryPreflightAnyOrigin;
  d.reason =
      request.request_method.count > 1 ? RejectReason::method_repeated : check_method(request.request_method.value);
  if (d.reason != RejectReason::none) {
    d.detail = request.request_method.value;
    return d;
  }
  d.reason = check_headers(request, d.detail);
  if (d.reason != RejectReason::none) return d;
  // Private network access a route does not grant is left out of an
  // otherwise accepted answer, not the whole preflight refused.
  const bool wants_private_network = request.request_private_network.present();
  const bool grants_private_network = wants_private_network && spec_.allow_private_network;
  if (wants_private_network && !grants_private_network) d.withheld = RejectReason::private_network_not_allowed;
  d.kind = DecisionKind::preflight_accepted;
  d.headers.push_back("Access-Control-Allow-Origin", allow_origin);
  if (spec_.allow_credentials) d.headers.push_back("Access-Control-Allow-Credentials", "true");
  // With credentials a browser reads "*" literally (Fetch Standard
  // #cors-protocol-and-credentials): "*" is answered with what was asked for.
  if (reflects_methods()) {
    d.headers.push_back("Access-Control-Allow-Methods", request.request_method.value);
  } else if (!allow_methods_value_.empty()) {
    d.headers.push_back("Access-Control-Allow-Methods", allow_methods_value_);
  }
  if (reflects_headers()) {
    for (const std::string_view line : request.request_headers)
      d.headers.push_back("Access-Control-Allow-Headers", line);
  } else if (!allow_headers_value_.empty()) {
    d.headers.push_back("Access-Control-Allow-Headers", allow_headers_value_);
  }
  if (!max_age_value_.empty()) d.headers.push_back("Access-Control-Max-Age", max_age_value_);
  if (grants_private_network) d.headers.push_back("Access-Control-Allow-Private-Network", "true");
  return d;
}

// Fetch Standard §4.8 step 7.5: safelisted, listed byte-exactly, or "*"
// without credentials.
RejectReason Policy::check_method(std::string_view method) const noexcept {
  if (!is_token(method)) return RejectReason::method_malformed;
  if (is_safelisted_method(method)) return RejectReason::none;
  if (any_method_) return RejectReason::none;  // with credentials: reflected
  return contains(spec_.allow_methods, method) ? RejectReason::none : RejectReason::method_not_allowed;
}

// Fetch Standard #cors-preflight-fetch: every requested name is listed
// (case-insensitively), or "*" covers it (with credentials by naming it in
// the answer), never Authorization, which must be listed.
RejectReason Policy::check_headers(const CorsRequest& request, std::string_view& offending) const noexcept {
  if (request.request_headers.size() > kMaxRequestHeaderLines) return RejectReason::headers_too_many_lines;
  // Reflected, each line is a field of the answer: a browser sends one.
  if (reflects_headers() && request.request_headers.size() > kMaxReflectedHeaderLines) {
    return RejectReason::headers_too_many_lines;
  }
  ListCursor cursor(request.request_headers);
  std::string_view name;
  while (cursor.next(name)) {
    if (!is_token(name)) {
      offending = name;
      return RejectReason::headers_malformed;
    }
    if (!header_allowed(name)) {
      offending = name;
      return RejectReason::header_not_allowed;
    }
  }
  return RejectReason::none;
}

bool Policy::header_allowed(std::string_view name) const noexcept {
  for (const auto& allowed : spec_.allow_headers) {
    if (equals_lowercase(name, allowed)) return true;
  }
  return any_header_ && !ascii_iequals(name, "authorization");  // with credentials: reflected
}

}  // namespace corsd::cors

namespace corsd::cors {

std::string Policy::describe() const {
  std::string out;
  const auto line = [&out](std::string_view name, std::string_view value) {
    out.append(name).append(": ").append(value).append("\n");
  };
  switch (spec_.origins) {
    case PolicySpec::Origins::any: line("origins", "* (any origin, answered with *)"); break;
    case PolicySpec::Origins::any_echoed: line("origins", "any origin, echoed (no credentials)"); break;
    case PolicySpec::Origins::listed: line("origins", join(spec_.allow_origins)); break;
  }
  line("credentials", spec_.allow_credentials ? "allowed" : "not allowed");
  line("Access-Control-Allow-Methods", reflects_methods() ? "the method the preflight asks for (\"*\" with credentials)"
                                       : allow_methods_value_.empty() ? "(none: GET, HEAD, POST only)"
                                                                      : allow_methods_value_);
  line("Access-Control-Allow-Headers",
       reflects_headers() ? "the headers the preflight asks for (\"*\" with credentials; authorization only if listed)"
       : allow_headers_value_.empty() ? "(none: safelisted headers only)"
                                      : allow_headers_value_);
  line("Access-Control-Expose-Headers", expose_headers_value_.empty() ? "(none)" : expose_headers_value_);
  line("Access-Control-Max-Age", max_age_value_.empty() ? "(absent: browsers cache 5 s)" : max_age_value_);
  line("private network access", spec_.allow_private_network ? "allowed" : "not allowed");
  line("preflights", spec_.preflight_passthrough ? "passed to the application" : "answered by corsd");
  return out;
}

std::string explain_rejection(const Decision& decision, const CorsRequest& request) {
  const std::string detail(decision.detail);
  switch (decision.why()) {
    case RejectReason::none: return "nothing: the request was allowed";
    case RejectReason::origin_repeated: return "nothing can: a request must carry one Origin";
    case RejectReason::origin_null:
      return "nothing can: \"null\" is sent by sandboxed frames, file: pages and redirects; serve the page from a "
             "real origin";
    case RejectReason::origin_malformed: return "nothing can: \"" + detail + "\" is not a serialized origin";
    case RejectReason::origin_not_allowed: return "add \"" + detail + "\" to allow_origins";
    case RejectReason::method_repeated: return "nothing can: a preflight must carry one Access-Control-Request-Method";
    case RejectReason::method_malformed: return "nothing can: \"" + detail + "\" is not a method";
    case RejectReason::method_not_allowed: return "add \"" + detail + "\" to allow_methods";
    case RejectReason::headers_malformed: return "nothing can: \"" + detail + "\" is not a header name";
    case RejectReason::headers_too_many_lines:
      return "nothing can: " + std::to_string(request.request_headers.size()) +
             " Access-Control-Request-Headers lines is more than any browser sends";
    case RejectReason::header_not_allowed: return "add \"" + detail + "\" to allow_headers";
    case RejectReason::private_network_not_allowed: return "set allow_private_network = true";
  }
  return "unknown reason";
}

}  // namespace corsd::cors
