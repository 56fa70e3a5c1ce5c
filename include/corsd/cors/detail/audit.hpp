#pragma once
// File: corsd/cors/detail/audit.hpp
// Internal: installed because public headers or corsd's own tools use it,
// but not part of the library's API; it may change in any release.
//
// What `corsd audit` asks a server and what it concludes: the probe
// origins derived from the target (and from the origin the API is meant
// for), each sent on a simple GET and on a preflight, and every
// misconfiguration the answers show, not just the first. The classes are
// those CORS scanners look for (reflection, null, prefix/suffix/substring
// matching, any subdomain, http trusted by https, special characters,
// third-party hosts) and those they miss (a `*` with credentials that
// breaks the API, several or invalid Access-Control-Allow-Origin values,
// an echoed origin without Vary, reflected allow lists, broken preflights).
// Pure: the I/O is the caller's.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "corsd/cors/detail/browser.hpp"

namespace corsd::cors::audit {

enum class Class : std::uint8_t {
  origin_reflection,    // any origin is echoed
  null_trusted,         // Origin: null (sandboxed iframes, file:) is accepted
  prefix_match,         // trusted.host.evil.example accepted: a check of the start only
  suffix_match,         // eviltrusted.host accepted: a check of the end only
  unescaped_dot,        // trustedxhost accepted: a regular expression's unescaped '.'
  substring_match,      // part of the trusted host accepted
  any_subdomain,        // every subdomain accepted (one XSS or takeover away)
  http_trusted,         // the http:// twin of an https:// origin accepted
  special_characters,   // `_` or a backtick after the trusted host accepted
  third_party_trusted,  // a host anyone can publish on (github.io, codepen.io) accepted
  wildcard_with_credentials,
  invalid_allow_origin,  // several values, or not an origin
  missing_vary_origin,
  reflected_allow_methods,
  reflected_allow_headers,
  wildcard_allow_lists_with_credentials,
  preflight_invalid_status,
  preflight_redirect,
};

enum class Severity : std::uint8_t { info, low, medium, high, critical };

std::string_view class_name(Class c) noexcept;
std::string_view severity_name(Severity s) noexcept;
// severity_from(): "info" ... "critical", or none.
std::optional<Severity> severity_from(std::string_view name) noexcept;

// One origin to send, and the class its acceptance shows.
struct Probe {
  std::string origin;
  std::optional<Class> shows;  // none: the legitimate origin, a baseline
};

// probes()
//
// The probe origins for a target at `target_origin` ("https://api.example")
// whose pages are on `page_origin` (empty if unknown): both as baselines,
// an attacker's origin, null, look-alikes of both hosts, and hosts anyone
// can publish on.
std::vector<Probe> probes(std::string_view target_origin, std::string_view page_origin);

// The method and header a probe preflight asks for: names no API lists, so
// that finding them in the answer shows reflection.
inline constexpr std::string_view kProbeMethod = "CORSDAUDIT";
inline constexpr std::string_view kProbeHeader = "x-corsd-audit";

// What one probe request got back.
struct Observation {
  Probe probe;
  bool preflight = false;  // else a simple GET
  browser::Response response;
};

struct Finding {
  Class what;
  Severity severity;
  std::string probe_origin;
  bool preflight = false;
  std::vector<browser::Header> evidence;  // the answer's lines that show it
  std::string explanation;
  std::string fix;  // in corsd's policy language
};

// findings()
//
// Every misconfiguration `observations` show, one finding per class (the
// first probe that showed it), most severe first. Reflection of any origin
// makes the look-alike classes moot: they are not listed beside it.
std::vector<Finding> findings(const std::vector<Observation>& observations, std::string_view page_origin);

}  // namespace corsd::cors::audit
