#pragma once
// File: corsd/cors/detail/browser.hpp
// Internal: installed because public headers or corsd's own tools use it,
// but not part of the library's API; it may change in any release.
//
// The browser's side of CORS, for `corsd check`: given what script asked
// for (a fetch() from a page's origin) and what a server answered, what the
// browser does. Fetch Standard §4.1 main fetch (whether a preflight is
// needed), §4.8 CORS-preflight fetch (the request it sends, the checks of
// its answer), §4.9 CORS check, §3.2.6 (what script may read), and where
// Chromium and Firefox differ from the standard or from each other, what
// they do. Pure: no I/O. Unlike the server side this allocates freely: it
// runs once per `corsd check`, not per request served.
//
// Example:
//
//   browser::Request request{.url = "https://api.example/items", .origin = "https://app.example",
//                            .method = "PUT", .headers = {{"content-type", "application/json"}}};
//   if (browser::needs_preflight(request)) {
//     send(browser::preflight_headers(request));
//     browser::Failure f = browser::check_preflight(request, answer);
//     if (f) print(browser::console_message(browser::Browser::chromium, request, f));
//   }

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "corsd/cors/detail/fetch_names.hpp"

namespace corsd::cors::browser {

// Whose rules: a browser's, where it departs from the Fetch Standard, or
// the standard's own (where browsers are going; the fuzzer holds the
// server to it).
enum class Browser : std::uint8_t { chromium, firefox, standard };

struct Header {
  std::string name;
  std::string value;
};

// What script asked for.
struct Request {
  std::string url;     // absolute, as the messages quote it
  std::string origin;  // the page's serialized origin
  std::string method = "GET";
  std::vector<Header> headers;  // as script set them (fetch's `headers`)
  bool credentials = false;     // credentials mode "include"
  // The URL script fetched, when `url` is where redirects led (the
  // messages name both).
  std::string redirected_from;
};

// An answer as the browser's network stack hands it on: the status, and
// the fields (several lines of one name are read as one value joined with
// ", ", RFC 9110 §5.3).
struct Response {
  unsigned status = 0;
  std::vector<Header> headers;
  bool redirect = false;  // a 3xx with Location: a preflight may not be redirected

  // The combined value of `name` (case-insensitive), or none if absent.
  std::optional<std::string> find(std::string_view name) const;
  // How many lines of `name` there are.
  std::size_t count(std::string_view name) const noexcept;
};

// normalize_method()
//
// Fetch §2.2.1: DELETE, GET, HEAD, OPTIONS, POST and PUT in any case become
// uppercase; every other method stays as written ("patch" stays "patch").
std::string normalize_method(std::string_view method);

// is_safelisted_request_header()
//
// Fetch §2.2.2 "CORS-safelisted request-header": Accept, Accept-Language,
// Content-Language, Content-Type (only application/x-www-form-urlencoded,
// multipart/form-data, text/plain) and Range (a single "bytes=N-" or
// "bytes=N-M"), each with its value rules and at most 128 bytes.
bool is_safelisted_request_header(std::string_view name, std::string_view value);

// unsafe_header_names()
//
// Fetch §2.2.2 "CORS-unsafe request-header names": the lowercased names of
// the headers that are not safelisted (all of them when the safelisted
// values add up to more than 1024 bytes), unique and sorted: what
// Access-Control-Request-Headers carries.
std::vector<std::string> unsafe_header_names(const std::vector<Header>& headers);

// needs_preflight()
//
// Fetch §4.1 step 12: a method that is not safelisted, or a header that
// is not.
bool needs_preflight(const Request& request);

// preflight_headers()
//
// The headers of the OPTIONS request the browser sends first (Fetch §4.8,
// as Chromium sends them): Accept: */*, Access-Control-Request-Method,
// Access-Control-Request-Headers (the unsafe names joined with ","),
// Origin, Sec-Fetch-Mode: cors. Never credentials.
std::vector<Header> preflight_headers(const Request& request);

// actual_headers()
//
// The headers of the request itself: script's (forbidden ones left out),
// Origin, Sec-Fetch-Mode: cors, and Accept: */* unless script set one.
std::vector<Header> actual_headers(const Request& request);

// Why the browser blocked the response, named after Chromium's CorsError.
enum class Blocked : std::uint8_t {
  none,
  // The CORS check (§4.9) of the answer to the request itself.
  missing_allow_origin_header,
  multiple_allow_origin_values,
  invalid_allow_origin_value,
  allow_origin_mismatch,
  wildcard_origin_not_allowed,
  invalid_allow_credentials,
  // The preflight (§4.8).
  preflight_disallowed_redirect,
  preflight_missing_allow_origin_header,
  preflight_multiple_allow_origin_values,
  preflight_invalid_allow_origin_value,
  preflight_allow_origin_mismatch,
  preflight_wildcard_origin_not_allowed,
  preflight_invalid_allow_credentials,
  preflight_invalid_status,
  invalid_allow_methods_preflight_response,
  invalid_allow_headers_preflight_response,
  method_disallowed_by_preflight_response,
  header_disallowed_by_preflight_response,
};

// blocked_name()
//
// The stable snake_case name of `b` ("allow_origin_mismatch"); "none".
std::string_view blocked_name(Blocked b) noexcept;

// The outcome of one check: none, or what blocked, with the value the
// browser's message quotes (the Access-Control-Allow-Origin value, the
// method, the header name).
struct Failure {
  Blocked blocked = Blocked::none;
  std::string value;
  unsigned status = 0;  // of the answer that failed (Firefox's messages give it)

  explicit operator bool() const noexcept { return blocked != Blocked::none; }
};

// check_actual()
//
// Fetch §4.9, the CORS check of the answer to the request itself.
Failure check_actual(Browser browser, const Request& request, const Response& response);

// check_preflight()
//
// Fetch §4.8 steps 7 on: no redirect, the CORS check, an ok status (200 to
// 299), then the method and each unsafe header against
// Access-Control-Allow-Methods and -Headers (lists of tokens, empty
// elements skipped; methods compared byte for byte, header names in any
// case; `*` only without credentials, and never for Authorization in the
// standard, though Chromium 156 and Firefox 153 let it through).
Failure check_preflight(Browser browser, const Request& request, const Response& response);

// refused_headers()
//
// Every unsafe request header `preflight` does not allow, sorted. When there
// are several, check_preflight() names the first; Chromium names one in the
// order of its internal header map, which no rule predicts.
std::vector<std::string> refused_headers(Browser browser, const Request& request, const Response& preflight);

// console_message()
//
// What the browser's console says of `failure`, word for word:
// "Access to fetch at 'URL' from origin 'ORIGIN' has been blocked by CORS
// policy: ..." in Chromium.
std::string console_message(Browser browser, const Request& request, const Failure& failure);

// rule_for()
//
// The rule of the Fetch Standard that `failure` broke, in words, with its
// section ("§4.9 CORS check: ..."); for none, the checks that passed.
std::string rule_for(const Failure& failure, bool preflight);

// fix_for()
//
// The smallest change on the server that would let the request through,
// in words ("add `x-request-id` to Access-Control-Allow-Headers").
std::string fix_for(const Request& request, const Failure& failure);

// readable_headers()
//
// Fetch §3.2.6: the names (lowercased, sorted) of `response`'s headers
// script may read: the CORS-safelisted response-header names, and those
// Access-Control-Expose-Headers lists (`*`: all, without credentials);
// never Set-Cookie.
std::vector<std::string> readable_headers(const Request& request, const Response& response);

// preflight_cache_time()
//
// How long `browser` keeps an accepted preflight: Access-Control-Max-Age,
// capped at 2 hours by Chromium and 24 hours by Firefox; 0 when negative;
// 5 s when absent (Fetch §4.8 step 7.9) and, in Chromium, when not a
// number, which Firefox does not cache at all.
std::chrono::seconds preflight_cache_time(Browser browser, const Response& preflight);

}  // namespace corsd::cors::browser
