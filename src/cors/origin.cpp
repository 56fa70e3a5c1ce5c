#include "corsd/cors/origin.hpp"

#include <algorithm>
#include <charconv>

namespace corsd::cors {
namespace {

bool is_lower_alpha(char c) noexcept { return c >= 'a' && c <= 'z'; }
bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

bool is_scheme(std::string_view s) noexcept {
  if (s.empty() || !is_lower_alpha(s[0])) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return is_lower_alpha(c) || is_digit(c) || c == '+' || c == '-' || c == '.';
  });
}

// A host as a URL parser serializes it: a lowercase domain (punycode already
// applied, so ASCII only), an IPv4 address, or a bracketed IPv6 address.
bool is_serialized_host(std::string_view h) noexcept {
  if (h.empty()) return false;
  if (h.front() == '[') {
    if (h.size() < 4 || h.back() != ']') return false;
    return std::all_of(h.begin() + 1, h.end() - 1, [](char c) {
      return is_digit(c) || (c >= 'a' && c <= 'f') || c == ':' || c == '.';
    });
  }
  if (h.front() == '.' || h.front() == '-') return false;
  return std::all_of(h.begin(), h.end(), [](char c) {
    return is_lower_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_';
  });
}

bool is_port(std::string_view p) noexcept {
  if (p.empty() || p.size() > 5 || !std::all_of(p.begin(), p.end(), is_digit)) return false;
  if (p.size() > 1 && p[0] == '0') return false;  // a serialized port has no leading zero
  unsigned value = 0;
  std::from_chars(p.data(), p.data() + p.size(), value);
  return value <= 65535;
}

struct OriginParts {
  std::string_view scheme, host, port;
};

// Splits "scheme://host[:port]" without judging the pieces.
bool split_origin(std::string_view s, OriginParts& parts) noexcept {
  const std::size_t sep = s.find("://");
  if (sep == std::string_view::npos) return false;
  parts.scheme = s.substr(0, sep);
  std::string_view rest = s.substr(sep + 3);
  const std::size_t colon = rest.rfind(':');
  const std::size_t bracket = rest.rfind(']');
  if (colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket)) {
    parts.host = rest.substr(0, colon);
    parts.port = rest.substr(colon + 1);
    if (parts.port.empty()) return false;
  } else {
    parts.host = rest;
    parts.port = {};
  }
  return true;
}

std::string to_lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; });
  return out;
}

NormalizedOrigin refuse(std::string error, std::string fix) {
  return NormalizedOrigin{{}, std::move(error), std::move(fix)};
}

}  // namespace

bool is_serialized_origin(std::string_view s) noexcept {
  OriginParts p;
  if (!split_origin(s, p)) return false;
  if (!is_scheme(p.scheme) || !is_serialized_host(p.host)) return false;
  return p.port.empty() || is_port(p.port);
}

NormalizedOrigin normalize_origin(std::string_view s) {
  if (s == "null") {
    return refuse("\"null\" is the origin of sandboxed frames, file: pages and redirects; any such page can send it",
                  "remove \"null\"; give such content a real origin");
  }
  if (s.find('*') != std::string_view::npos) {
    return refuse("a wildcard may only stand alone (\"*\")", "list each origin, e.g. \"https://app.example.com\"");
  }
  OriginParts p;
  if (!split_origin(s, p)) {
    return refuse("an origin is scheme://host[:port]", "write it like \"https://app.example.com\"");
  }
  const std::string scheme = to_lower(p.scheme);
  std::string host = to_lower(p.host);
  if (host.find('/') != std::string::npos) {
    return refuse("an origin has no path and no trailing slash",
                  "drop everything from the first \"/\" after the host");
  }
  if (host.find('@') != std::string::npos) {
    return refuse("an origin has no user name or password", "drop the part up to \"@\"");
  }
  if (!is_scheme(scheme) || !is_serialized_host(host)) {
    return refuse("the scheme or host is not valid", "write it like \"https://app.example.com\" (punycode for IDNs)");
  }
  if (!p.port.empty() && !is_port(p.port)) {
    return refuse("the port must be a number from 0 to 65535", "write it like \"http://localhost:8081\"");
  }
  const bool default_port = (scheme == "http" && p.port == "80") || (scheme == "https" && p.port == "443");
  std::string out = scheme + "://" + host;
  if (!p.port.empty() && !default_port) {
    out += ':';
    out += p.port;
  }
  return NormalizedOrigin{std::move(out), {}, {}};
}

OriginMatcher OriginMatcher::any() {
  OriginMatcher m;
  m.mode_ = Mode::any;
  return m;
}

OriginMatcher OriginMatcher::any_echoed() {
  OriginMatcher m;
  m.mode_ = Mode::any_echoed;
  return m;
}

OriginMatcher OriginMatcher::listed(const std::vector<std::string>& origins) {
  OriginMatcher m;
  m.mode_ = Mode::listed;
  m.exact_.insert(origins.begin(), origins.end());
  return m;
}

std::string_view OriginMatcher::allow_origin_for(std::string_view origin) const noexcept {
  switch (mode_) {
    case Mode::any:
      return "*";
    case Mode::any_echoed:
      return is_serialized_origin(origin) ? origin : std::string_view{};
    case Mode::listed:
      return exact_.find(origin) != exact_.end() ? origin : std::string_view{};
  }
  return {};
}

}  // namespace corsd::cors
