#pragma once
// File: corsd/http/target.hpp
//
// The request target as routes see it. Routing and forwarding use one
// normalized path, so that a path cannot get one route's policy while the
// application or upstream serves another: "/public/%2e%2e/private" is
// "/private" to both.

#include <string>
#include <string_view>

namespace corsd::http {

enum class TargetError {
  none,
  climbs_above_root,     // "/../x": RFC 3986 §5.2.4 would drop the "..", the upstream might not
  bad_percent_encoding,  // "%" not followed by two hex digits
  // "\", "%2F", "%5C", or a dot segment with parameters ("/..;/"): servers
  // disagree on what they mean, so no route can be sure to cover them.
  ambiguous_path,
  // Neither origin form ("/x"), absolute form ("http://h/x") nor, for
  // OPTIONS, asterisk form ("*") (RFC 9112 §3.2); or a target with a "#"
  // (a fragment is never sent: routes would match "/admin#x" as another
  // path than the upstream that drops the fragment serves); or an absolute
  // form whose authority is not a valid host.
  bad_form,
};

// A target split into the normalized path and the query, "?" included.
struct Target {
  std::string_view path;
  std::string_view query;
  // The absolute form's authority ("h:8080" of "http://h:8080/x"), which
  // stands for the Host field (RFC 9112 §3.2.2); empty in origin form.
  std::string_view authority;
  TargetError error = TargetError::none;
};

// normalize_target()
//
// Splits `target` (origin form "/a/b?q", absolute form "http://h/a?q",
// asterisk form "*") and normalizes its path: percent-encoded unreserved
// characters decoded and other percent-encodings uppercased (RFC 3986
// §6.2.2), then dot segments removed (§5.2.4). `scratch` holds the
// normalized path when it differs from the target's (the result's views
// point into `target` or `scratch`). A path that climbs above "/" is an
// error, not silently clamped, and so is one that upstreams could resolve
// differently (see TargetError::ambiguous_path).
Target normalize_target(std::string_view target, std::string& scratch);

// is_valid_host()
//
// Whether `host` is a Host field value: uri-host [":" port] (RFC 9112 §3.2,
// RFC 3986 §3.2.2), a port up to 65535, or empty. "a b", "h:99999",
// "user@evil/x" are not.
bool is_valid_host(std::string_view host) noexcept;

}  // namespace corsd::http
