#include "corsd/cors/detail/origin.hpp"

#include <algorithm>
#include <charconv>

#include "corsd/cors/detail/token.hpp"

namespace corsd::cors {
namespace {

bool is_lower_alpha(char c) noexcept { return c >= 'a' && c <= 'z'; }
bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

bool is_scheme(std::string_view s) noexcept {
  if (s.empty() || !is_lower_alpha(s[0])) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return is_lower_alpha(c) || is_digit(c) || c == '+' || c == '-' || c == '.'; });
}

bool is_domain(std::string_view h) noexcept {
  if (h.empty() || h.size() > kMaxDomain || h.front() == '-') return false;
  std::size_t label = 0;
  for (const char c : h) {
    if (c == '.') {
      if (label == 0) return false;  // a leading dot or ".."
      label = 0;
      continue;
    }
    if (!is_lower_alpha(c) && !is_digit(c) && c != '-' && c != '_') return false;
    if (++label > kMaxLabel) return false;
  }
  return label > 0;  // no trailing dot
}

bool is_port(std::string_view p) noexcept {
  if (p.empty() || p.size() > 5 || !std::all_of(p.begin(), p.end(), is_digit)) return false;
  if (p.size() > 1 && p[0] == '0') return false;  // a serialized port has no leading zero
  unsigned value = 0;
  std::from_chars(p.data(), p.data() + p.size(), value);
  return value <= 65535;
}

// Four decimal parts of 0 to 255 without leading zeros, as inet_pton()
// takes them (and the URL Standard serializes an IPv4 host).
bool is_ipv4(std::string_view h) noexcept {
  int parts = 0;
  while (true) {
    const std::size_t dot = h.find('.');
    const std::string_view part = h.substr(0, dot);
    if (part.empty() || part.size() > 3 || !std::all_of(part.begin(), part.end(), is_digit)) return false;
    if (part.size() > 1 && part[0] == '0') return false;
    unsigned value = 0;
    std::from_chars(part.data(), part.data() + part.size(), value);
    if (value > 255) return false;
    ++parts;
    if (dot == std::string_view::npos) return parts == 4;
    h.remove_prefix(dot + 1);
  }
}

// RFC 4291 §2.2's text forms of an IPv6 address (hex pieces, one "::" for a
// run of zeros, an IPv4 tail) into its eight pieces; false if it is none.
bool parse_ipv6(std::string_view text, unsigned (&pieces)[8]) noexcept {
  unsigned head[8], tail[8];
  int heads = 0, tails = 0;
  bool compressed = false;
  const std::size_t gap = text.find("::");
  if (gap != std::string_view::npos) {
    if (text.find("::", gap + 1) != std::string_view::npos) return false;
    compressed = true;
  }
  const auto parse_side = [](std::string_view side, unsigned* out, int& n, bool last_side) {
    while (!side.empty()) {
      const std::size_t colon = side.find(':');
      const std::string_view piece = side.substr(0, colon);
      if (colon == std::string_view::npos && last_side && piece.find('.') != std::string_view::npos) {
        if (!is_ipv4(piece) || n > 6) return false;  // the IPv4 tail: two pieces
        unsigned b[4] = {}, i = 0;
        for (std::size_t at = 0; i < 4; ++i) {
          const std::size_t dot = piece.find('.', at);
          std::from_chars(piece.data() + at, piece.data() + (dot == std::string_view::npos ? piece.size() : dot), b[i]);
          at = dot + 1;
        }
        out[n++] = (b[0] << 8) | b[1];
        out[n++] = (b[2] << 8) | b[3];
        return true;
      }
      if (piece.empty() || piece.size() > 4 || n == 8) return false;
      unsigned value = 0;
      const auto [end, ec] = std::from_chars(piece.data(), piece.data() + piece.size(), value, 16);
      if (ec != std::errc{} || end != piece.data() + piece.size()) return false;
      out[n++] = value;
      if (colon == std::string_view::npos) break;
      side.remove_prefix(colon + 1);
      if (side.empty()) return false;  // a trailing single ':'
    }
    return true;
  };
  if (compressed) {
    if (!parse_side(text.substr(0, gap), head, heads, false) || !parse_side(text.substr(gap + 2), tail, tails, true)) {
      return false;
    }
    if (heads + tails > 7) return false;
  } else if (!parse_side(text, head, heads, true) || heads != 8) {
    return false;
  }
  int i = 0;
  for (int k = 0; k < heads; ++k) pieces[i++] = head[k];
  for (int k = heads + tails; k < 8; ++k) pieces[i++] = 0;
  for (int k = 0; k < tails; ++k) pieces[i++] = tail[k];
  return true;
}

// The longest IPv6 address as the URL Standard serializes it, in brackets.
constexpr std::size_t kMaxBracketedIpv6 = 41;

// Writes `pieces` as the URL Standard serializes an IPv6 address, in
// brackets: eight lowercase hex pieces without leading zeros, the first
// longest run of two or more zero pieces compressed to "::", never a dotted
// IPv4 tail (inet_ntop writes "::ffff:1.2.3.4"; a browser sends
// "::ffff:102:304"). Returns the length written (at most kMaxBracketedIpv6).
std::size_t write_ipv6(const unsigned (&pieces)[8], char* out) noexcept {
  int best = -1, best_len = 1;
  for (int i = 0; i < 8;) {
    int j = i;
    while (j < 8 && pieces[j] == 0) ++j;
    if (j - i > best_len) best = i, best_len = j - i;
    i = j == i ? i + 1 : j;
  }
  char* at = out;
  *at++ = '[';
  for (int i = 0; i < 8; ++i) {
    if (i == best) {
      if (i == 0) *at++ = ':';
      *at++ = ':';
      i += best_len - 1;
      continue;
    }
    at = std::to_chars(at, at + 4, pieces[i], 16).ptr;
    if (i < 7) *at++ = ':';
  }
  *at++ = ']';
  return static_cast<std::size_t>(at - out);
}

// Whether `h` is a bracketed IPv6 address exactly as a browser serializes
// it: "[::1]", never "[::::]", "[0::1]" or "[::ffff:1.2.3.4]".
bool is_serialized_ipv6(std::string_view h) noexcept {
  if (h.size() < 4 || h.size() > kMaxBracketedIpv6 || h.back() != ']') return false;
  unsigned pieces[8];
  if (!parse_ipv6(h.substr(1, h.size() - 2), pieces)) return false;
  char canonical[kMaxBracketedIpv6];
  return h == std::string_view(canonical, write_ipv6(pieces, canonical));
}

// A host as a URL parser serializes it: a lowercase ASCII domain (punycode
// already applied), an IPv4 address, or a bracketed IPv6 address.
bool is_serialized_host(std::string_view h) noexcept {
  if (!h.empty() && h.front() == '[') return is_serialized_ipv6(h);
  return is_domain(h);
}

struct OriginParts {
  std::string_view scheme, host, port;
};

// Splits "scheme://host[:port]" without judging the pieces.
bool split_origin(std::string_view s, OriginParts& parts) noexcept {
  const std::size_t sep = s.find(':');  // memchr, unlike find("://")
  if (sep == std::string_view::npos || s.substr(sep + 1, 2) != "//") return false;
  parts.scheme = s.substr(0, sep);
  const std::string_view rest = s.substr(sep + 3);
  const std::size_t colon = rest.rfind(':');
  const std::size_t bracket = rest.rfind(']');
  if (colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket)) {
    parts.host = rest.substr(0, colon);
    parts.port = rest.substr(colon + 1);
    return !parts.port.empty();
  }
  parts.host = rest;
  parts.port = {};
  return true;
}

bool default_port(std::string_view scheme, std::string_view port) noexcept {
  return (scheme == "http" && port == "80") || (scheme == "https" && port == "443");
}

ParsedOriginRule refuse(std::string error, std::string fix) { return {{}, std::move(error), std::move(fix)}; }

// IPv6 as browsers put it in Origin (write_ipv6()); "" when `bracketed` is
// not IPv6.
std::string canonical_ipv6(std::string_view bracketed) {
  if (bracketed.size() < 2 || bracketed.back() != ']') return {};
  unsigned pieces[8];
  if (!parse_ipv6(bracketed.substr(1, bracketed.size() - 2), pieces)) return {};
  char canonical[kMaxBracketedIpv6];
  return std::string(canonical, write_ipv6(pieces, canonical));
}

bool longer_than_dns_allows(std::string_view host) noexcept {
  if (host.size() > kMaxDomain) return true;
  for (std::size_t at = 0; at < host.size();) {
    const std::size_t dot = std::min(host.find('.', at), host.size());
    if (dot - at > kMaxLabel) return true;
    at = dot + 1;
  }
  return false;
}

ParsedOriginRule parse_host(OriginRule& r, std::string host) {
  if (std::any_of(host.begin(), host.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; })) {
    return refuse("the host is not ASCII", "write an internationalized domain in punycode (\"xn--...\")");
  }
  if (host.find('/') != std::string::npos) {
    return refuse("an origin has no path and no trailing slash", "drop everything from the first \"/\" after the host");
  }
  if (host.find('@') != std::string::npos)
    return refuse("an origin has no user name or password", "drop the part up to \"@\"");
  if (host.rfind("*.", 0) == 0) {
    r.any_subdomain = true;
    host.erase(0, 2);
  }
  if (host.find('*') != std::string::npos) {
    return refuse("a wildcard may only be the whole first label (\"https://*.example.com\") or the port (\":*\")",
                  "write \"https://*.example.com\" for every subdomain of example.com");
  }
  if (!host.empty() && host.front() == '[') host = canonical_ipv6(host);
  if (longer_than_dns_allows(host)) {
    return refuse("the host is longer than DNS allows (" + std::to_string(kMaxDomain) + " characters, " +
                      std::to_string(kMaxLabel) + " a label)",
                  "write the host the browser's page is served from");
  }
  if (!is_serialized_host(host)) {
    return refuse("the host is not a valid domain or IP address", "write it like \"https://app.example.com\"");
  }
  if (r.any_subdomain && (host.front() == '[' || is_ipv4(host))) {
    return refuse("an IP address has no subdomains", "list the address itself");
  }
  r.host = std::move(host);
  return {};
}

}  // namespace

bool is_serialized_origin(std::string_view s) noexcept {
  OriginParts p;
  if (!split_origin(s, p)) return false;
  if (!is_scheme(p.scheme) || !is_serialized_host(p.host)) return false;
  return p.port.empty() || (is_port(p.port) && !default_port(p.scheme, p.port));
}

bool is_loopback_host(std::string_view host) noexcept {
  if (host == "localhost" || host == "[::1]") return true;
  if (host.size() > 10 && host.substr(host.size() - 10) == ".localhost") return true;
  return host.rfind("127.", 0) == 0 && is_ipv4(host);
}

ParsedOriginRule parse_origin_rule(std::string_view s) {
  if (s == "null") {
    return refuse("\"null\" is the origin of sandboxed frames, file: pages and redirects; any such page can send it",
                  "remove \"null\"; serve such content from a real origin");
  }
  OriginParts p;
  if (!split_origin(s, p))
    return refuse("an origin is scheme://host[:port]", "write it like \"https://app.example.com\"");
  OriginRule r;
  r.scheme = ascii_lowercase(p.scheme);
  if (!is_scheme(r.scheme)) return refuse("the scheme is not valid", "write it like \"https://app.example.com\"");
  if (ParsedOriginRule e = parse_host(r, ascii_lowercase(p.host)); !e.ok()) return e;
  if (p.port == "*") {
    r.any_port = true;
  } else if (!p.port.empty()) {
    if (!is_port(p.port))
      return refuse("the port must be a number from 0 to 65535, or *", "write it like \"http://localhost:8081\"");
    if (!default_port(r.scheme, p.port)) r.port = std::string(p.port);
  }
  r.text.append(r.scheme).append("://").append(r.any_subdomain ? "*." : "").append(r.host);
  if (r.any_port) r.text.append(":*");
  if (!r.port.empty()) r.text.append(":").append(r.port);
  return {std::move(r), {}, {}};
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

OriginMatcher OriginMatcher::listed(const std::vector<OriginRule>& rules) {
  OriginMatcher m;
  m.mode_ = Mode::listed;
  for (const auto& rule : rules) {
    if (rule.is_pattern()) {
      m.patterns_[rule.host].push_back(rule);
      m.pattern_host_lengths_.set(rule.host.size());  // at most kMaxDomain: a serialized host
    } else {
      m.exact_.insert(rule.text);
    }
  }
  return m;
}

std::string_view OriginMatcher::allow_origin_for(std::string_view origin) const noexcept {
  switch (mode_) {
    case Mode::any: return "*";
    case Mode::any_echoed: return is_serialized_origin(origin) ? origin : std::string_view{};
    case Mode::listed:
      if (exact_.find(origin) != exact_.end() || matches_pattern(origin)) return origin;
      return {};
  }
  return {};
}

bool OriginMatcher::matches_pattern(std::string_view origin) const noexcept {
  if (patterns_.empty() || !is_serialized_origin(origin)) return false;
  OriginParts p;
  split_origin(origin, p);
  // The host itself, for patterns of any port; then each suffix after a dot
  // (one or more whole labels before it, never the apex), for subdomain
  // patterns.
  for (std::size_t start = 0; start < p.host.size();) {
    const std::string_view key = p.host.substr(start);
    if (pattern_host_lengths_.test(key.size())) {
      if (const auto it = patterns_.find(key); it != patterns_.end()) {
        for (const auto& rule : it->second) {
          if (rule.any_subdomain != (start > 0) || p.scheme != rule.scheme) continue;
          if (rule.any_port || p.port == rule.port) return true;
        }
      }
    }
    const std::size_t dot = p.host.find('.', start);
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return false;
}

}  // namespace corsd::cors
