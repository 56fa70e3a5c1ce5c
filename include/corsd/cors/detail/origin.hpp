#pragma once
// File: corsd/cors/detail/origin.hpp
// Internal: installed because public headers or corsd's own tools use it,
// but not part of the library's API; it may change in any release.
//
// Origins as the Fetch Standard serializes them ("https://example.com",
// "http://localhost:8081", "http://[::1]:8080"), the rules a policy allows
// them by, and the matcher that applies those rules. Exact origins are found
// by hash, patterns by their host; they match whole labels or any port, never a prefix, suffix,
// substring or regex, so "https://example.com.evil.com" never matches
// "https://example.com" and "https://evilexample.com" never matches
// "https://*.example.com".

#include <bitset>
#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "corsd/detail/string_hash.hpp"

namespace corsd::cors {

// DNS's limits (RFC 1035 §2.3.4): a name of at most 253 characters as
// written, labels of 1 to 63. Longer hosts are no origin's.
inline constexpr std::size_t kMaxDomain = 253;
inline constexpr std::size_t kMaxLabel = 63;

// is_serialized_origin()
//
// Returns whether `s` has the form a browser sends in `Origin` for a tuple
// origin: lowercase scheme "://" lowercase ASCII host [":" port], no path,
// no trailing slash. "null" is not a serialized tuple origin.
bool is_serialized_origin(std::string_view s) noexcept;

// is_loopback_host()
//
// Returns whether `host` (as serialized in an origin) names this machine:
// "localhost", a "*.localhost" name, 127.0.0.0/8 or "[::1]".
bool is_loopback_host(std::string_view host) noexcept;

// OriginRule
//
// One entry of a policy's allowed origins: an exact origin, or a pattern
// with "*." as its whole first label ("https://*.example.com": one or more
// labels, never the apex) and/or ":*" as its port ("http://localhost:*").
struct OriginRule {
  std::string text;  // normalized, as written back in messages and --check-config
  std::string scheme;
  std::string host;  // for a subdomain pattern, the base ("example.com")
  std::string port;  // empty: the scheme's default
  bool any_subdomain = false;
  bool any_port = false;

  bool is_pattern() const noexcept { return any_subdomain || any_port; }
};

// The result of parse_origin_rule(): `rule` on success, else `error` says
// what is wrong and `fix` how to write it.
struct ParsedOriginRule {
  OriginRule rule;
  std::string error;
  std::string fix;

  bool ok() const noexcept { return error.empty(); }
};

// parse_origin_rule()
//
// Parses an origin or origin pattern written in configuration: scheme and
// host lowercased, default port (80 for http, 443 for https) dropped, IPv6
// compressed. Refuses "null", paths, trailing slashes, userinfo, non-ASCII
// hosts (write punycode), and wildcards anywhere but a whole first label or
// the port, each with a fix.
ParsedOriginRule parse_origin_rule(std::string_view s);

// OriginMatcher
//
// Decides which Access-Control-Allow-Origin value, if any, answers a
// request's Origin. `any()` answers "*" (a public resource). `any_echoed()`
// answers the request's own origin (the seed's policy; never combined with
// credentials). `listed()` answers the origin when a rule allows it.
class OriginMatcher {
 public:
  enum class Mode { listed, any, any_echoed };

  static OriginMatcher any();
  static OriginMatcher any_echoed();
  static OriginMatcher listed(const std::vector<OriginRule>& rules);

  // Returns the value of Access-Control-Allow-Origin for `origin` (a view of
  // `origin` itself or "*"), or an empty view when it is not allowed.
  std::string_view allow_origin_for(std::string_view origin) const noexcept;

  Mode mode() const noexcept { return mode_; }
  // Whether the answer depends on the request's Origin (then Vary: Origin).
  bool varies_by_origin() const noexcept { return mode_ != Mode::any; }

 private:
  bool matches_pattern(std::string_view origin) const noexcept;

  Mode mode_ = Mode::listed;
  std::unordered_set<std::string, StringHash, std::equal_to<>> exact_;
  // Patterns by their fixed host ("example.com" for "https://*.example.com"
  // and for "https://example.com:*"), so that an origin is looked up by its
  // host and its suffixes after a dot, however many patterns there are; and
  // the lengths those hosts have, so that only suffixes that could match are.
  std::unordered_map<std::string, std::vector<OriginRule>, StringHash, std::equal_to<>> patterns_;
  std::bitset<kMaxDomain + 1> pattern_host_lengths_;
};

}  // namespace corsd::cors
