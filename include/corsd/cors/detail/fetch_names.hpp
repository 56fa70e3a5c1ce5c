#pragma once
// File: corsd/cors/detail/fetch_names.hpp
// Internal: installed because public headers or corsd's own tools use it,
// but not part of the library's API; it may change in any release.
//
// The method and header-name sets of the Fetch Standard that both sides of
// CORS need: the server's policy checks (what listing is pointless) and the
// browser's (what needs a preflight, what script may not set).

#include <string_view>

namespace corsd::cors {

// is_safelisted_method()
//
// Fetch §2.2.1: GET, HEAD or POST, byte for byte: never needs a preflight,
// never needs to be listed.
inline bool is_safelisted_method(std::string_view m) noexcept { return m == "GET" || m == "HEAD" || m == "POST"; }

// is_forbidden_request_header()
//
// Fetch §2.2.2: names script can never set (Cookie, Host, Origin, Sec-*,
// Proxy-*, ...), in any case: fetch() leaves them out without a word, so
// listing them in a policy allows nothing.
bool is_forbidden_request_header(std::string_view name) noexcept;

}  // namespace corsd::cors
