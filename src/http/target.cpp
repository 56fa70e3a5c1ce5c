#include "corsd/http/target.hpp"

#include <algorithm>
#include <array>
#include <cstdint>

namespace corsd::http {
namespace {

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// RFC 3986 §2.2-2.3 character classes, one table load per byte: every
// request's path and Host pass through here.
enum CharClass : std::uint8_t { kUnreserved = 1, kSubDelim = 2 };

constexpr std::array<std::uint8_t, 256> kCharClasses = [] {
  std::array<std::uint8_t, 256> classes{};
  for (int c = 0; c < 256; ++c) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (alnum) classes[static_cast<std::size_t>(c)] = kUnreserved;
  }
  for (const char c : std::string_view("-._~")) classes[static_cast<unsigned char>(c)] = kUnreserved;
  for (const char c : std::string_view("!$&'()*+,;=")) classes[static_cast<unsigned char>(c)] = kSubDelim;
  return classes;
}();

bool unreserved(char c) noexcept { return kCharClasses[static_cast<unsigned char>(c)] == kUnreserved; }

// What a reg-name may hold besides percent-encodings (RFC 3986 §3.2.2).
bool unreserved_or_sub_delim(char c) noexcept { return kCharClasses[static_cast<unsigned char>(c)] != 0; }

// Whether `rest`, what follows a "/." in a path, makes that a "." or ".."
// segment (possibly with parameters).
bool dot_segment_follows(std::string_view rest) noexcept {
  const auto ends_segment = [](char c) { return c == '/' || c == ';'; };
  return rest.empty() || ends_segment(rest[0]) || (rest[0] == '.' && (rest.size() == 1 || ends_segment(rest[1])));
}

// Whether `path` can change under normalization: it holds a percent sign, a
// backslash, or a segment starting with ".". Most paths have none and are
// used as they are; one pass tells.
bool needs_normalizing(std::string_view path) noexcept {
  for (std::size_t i = 0; i < path.size(); ++i) {
    const char c = path[i];
    if (c == '%' || c == '\\') return true;
    if (c == '/' && i + 1 < path.size() && path[i + 1] == '.' && dot_segment_follows(path.substr(i + 2))) {
      return true;
    }
  }
  return false;
}

TargetError decode_unreserved(std::string_view path, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < path.size(); ++i) {
    if (path[i] == '\\') return TargetError::ambiguous_path;
    if (path[i] != '%') {
      out.push_back(path[i]);
      continue;
    }
    if (i + 2 >= path.size()) return TargetError::bad_percent_encoding;
    const int high = hex_value(path[i + 1]), low = hex_value(path[i + 2]);
    if (high < 0 || low < 0) return TargetError::bad_percent_encoding;
    const char decoded = static_cast<char>(high * 16 + low);
    if (decoded == '/' || decoded == '\\') return TargetError::ambiguous_path;
    if (unreserved(decoded)) {
      out.push_back(decoded);
    } else {
      out.push_back('%');
      out.push_back("0123456789ABCDEF"[high]);
      out.push_back("0123456789ABCDEF"[low]);
    }
    i += 2;
  }
  return TargetError::none;
}

// Whether `segment` is "." or ".." with path parameters (";x"), which some
// servers (Tomcat, Spring) resolve as the dot segment itself.
bool dot_segment_with_parameters(std::string_view segment) noexcept {
  const std::string_view name = segment.substr(0, segment.find(';'));
  return name.size() < segment.size() && (name == "." || name == "..");
}

// RFC 3986 §5.2.4 on an absolute path, in place. Returns false when a ".."
// would climb above the root.
bool remove_dot_segments(std::string& path) {
  std::string out;
  out.reserve(path.size());
  std::size_t i = 0;
  while (i < path.size()) {
    // `path` starts with "/" here and at every step: take one segment.
    std::size_t end = path.find('/', i + 1);
    if (end == std::string::npos) end = path.size();
    const std::string_view segment = std::string_view(path).substr(i + 1, end - i - 1);
    const bool last = end == path.size();
    if (segment == ".") {
      if (last) out.push_back('/');
    } else if (segment == "..") {
      if (out.empty()) return false;
      out.resize(out.rfind('/'));
      if (last) out.push_back('/');
    } else {
      out.push_back('/');
      out.append(segment);
    }
    i = end;
  }
  if (out.empty()) out = "/";
  path.swap(out);
  return true;
}

bool valid_reg_name(std::string_view name) noexcept {
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    if (unreserved_or_sub_delim(c)) continue;
    if (c == '%' && i + 2 < name.size() && hex_value(name[i + 1]) >= 0 && hex_value(name[i + 2]) >= 0) {
      i += 2;
      continue;
    }
    return false;
  }
  return true;
}

bool valid_port(std::string_view port) noexcept {
  if (port.empty() || port.size() > 5) return port.empty();
  unsigned value = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  return value <= 65535;
}

}  // namespace

bool is_valid_host(std::string_view host) noexcept {
  std::string_view name = host, port;
  if (!host.empty() && host.front() == '[') {
    const std::size_t close = host.find(']');
    if (close == std::string_view::npos) return false;
    const std::string_view literal = host.substr(1, close - 1);
    if (literal.empty() || literal.find_first_not_of("0123456789abcdefABCDEF:.") != std::string_view::npos) {
      return false;
    }
    const std::string_view rest = host.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return false;
    return rest.empty() || valid_port(rest.substr(1));
  }
  if (const std::size_t colon = host.rfind(':'); colon != std::string_view::npos) {
    name = host.substr(0, colon);
    port = host.substr(colon + 1);
    if (port.empty()) return valid_reg_name(name);  // "h:" is allowed: an empty port
    if (!valid_port(port)) return false;
  }
  return valid_reg_name(name);
}

Target normalize_target(std::string_view target, std::string& scratch) {
  Target result;
  std::string_view t = target;
  if (t.find('#') != std::string_view::npos) {
    result.error = TargetError::bad_form;  // RFC 9112 §3.2: no fragment in a request-target
    return result;
  }
  if (!t.empty() && t.front() != '/' && t != "*") {
    // Absolute form (RFC 9112 §3.2.2): drop scheme and authority.
    const std::size_t scheme_end = t.find("://");
    if (scheme_end != std::string_view::npos) {
      t.remove_prefix(scheme_end + 3);
      const std::size_t path_start = t.find_first_of("/?");
      result.authority = t.substr(0, path_start);
      if (result.authority.empty() || !is_valid_host(result.authority)) {
        result.error = TargetError::bad_form;
        return result;
      }
      t = path_start == std::string_view::npos ? std::string_view("/") : t.substr(path_start);
      if (t.front() == '?') {
        result.path = "/";
        result.query = t;
        return result;
      }
    }
  }
  if (t != "*" && (t.empty() || t.front() != '/')) {
    result.error = TargetError::bad_form;  // authority form, or no form at all
    return result;
  }
  const std::size_t query = t.find('?');
  result.path = t.substr(0, query);
  if (query != std::string_view::npos) result.query = t.substr(query);
  if (result.path.empty() || result.path.front() != '/' || !needs_normalizing(result.path)) return result;
  result.error = decode_unreserved(result.path, scratch);
  if (result.error != TargetError::none) return result;
  for (std::size_t at = 0; at < scratch.size();) {
    const std::size_t end = std::min(scratch.find('/', at + 1), scratch.size());
    if (dot_segment_with_parameters(std::string_view(scratch).substr(at + 1, end - at - 1))) {
      result.error = TargetError::ambiguous_path;
      return result;
    }
    at = end;
  }
  if (!remove_dot_segments(scratch)) {
    result.error = TargetError::climbs_above_root;
    return result;
  }
  result.path = scratch;
  return result;
}

}  // namespace corsd::http
