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

// is_response_only_header()
//
// Names only a server sends (RFC 9110's response fields, Set-Cookie, the
// answers of CORS itself: Access-Control-Allow-*, -Expose-Headers,
// -Max-Age), in any case: a request never carries them, so a policy that
// allows them as request headers was written the wrong way round.
bool is_response_only_header(std::string_view name) noexcept;

}  // namespace corsd::cors
