#include "corsd/cors/detail/browser.hpp"

#include <algorithm>
#include <charconv>

#include "corsd/cors/detail/fetch_names.hpp"
#include "corsd/cors/detail/token.hpp"

namespace corsd::cors::browser {
namespace {

constexpr std::string_view kStandardMethods[] = {"DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"};

// Fetch §2.2.2 "CORS-unsafe request-header byte".
bool is_unsafe_byte(char c) noexcept {
  const auto b = static_cast<unsigned char>(c);
  if (b < 0x20) return b != 0x09;
  return std::string_view("\"():<>?@[\\]{}\x7f").find(c) != std::string_view::npos;
}

bool has_unsafe_byte(std::string_view value) noexcept {
  return std::any_of(value.begin(), value.end(), is_unsafe_byte);
}

// Accept-Language and Content-Language: 0-9 A-Z a-z, space, * , - . ; =
bool is_language_value(std::string_view value) noexcept {
  return std::all_of(value.begin(), value.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           std::string_view(" *,-.;=").find(c) != std::string_view::npos;
  });
}

// The essence of a MIME type (type/subtype, lowercased), or empty when
// `value` does not parse as one.
std::string mime_essence(std::string_view value) {
  const std::string_view essence = trim_ows(value.substr(0, value.find(';')));
  const std::size_t slash = essence.find('/');
  if (slash == std::string_view::npos || !is_token(essence.substr(0, slash)) || !is_token(essence.substr(slash + 1))) {
    return {};
  }
  return ascii_lowercase(essence);
}

bool is_safelisted_content_type(std::string_view value) {
  if (has_unsafe_byte(value)) return false;
  const std::string essence = mime_essence(value);
  return essence == "application/x-www-form-urlencoded" || essence == "multipart/form-data" || essence == "text/plain";
}

bool all_digits(std::string_view s) noexcept {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Fetch §2.2.2 "simple range header value": bytes=N- or bytes=N-M, N <= M.
bool is_simple_range(std::string_view value) {
  constexpr std::string_view kPrefix = "bytes=";
  if (value.substr(0, kPrefix.size()) != kPrefix) return false;
  value.remove_prefix(kPrefix.size());
  const std::size_t dash = value.find('-');
  if (dash == std::string_view::npos) return false;
  const std::string_view first = value.substr(0, dash), last = value.substr(dash + 1);
  if (!all_digits(first) || (!last.empty() && !all_digits(last))) return false;
  if (last.empty()) return true;
  std::uint64_t a = 0, b = 0;
  std::from_chars(first.data(), first.data() + first.size(), a);
  std::from_chars(last.data(), last.data() + last.size(), b);
  return a <= b;
}

// An Access-Control-Allow-Methods or -Headers value as both browsers parse
// it (Chromium's ParseAccessControlAllowList): comma-separated tokens,
// empty elements skipped; none when an element is not a token, and
// `bad` (if given) gets that element. Absent: empty.
std::optional<std::vector<std::string>> allow_list(const std::optional<std::string>& value, bool lowercase,
                                                   std::string* bad = nullptr) {
  std::vector<std::string> items;
  if (!value) return items;
  std::string_view rest = *value;
  while (!rest.empty()) {
    const std::size_t comma = rest.find(',');
    const std::string_view item = trim_ows(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    if (item.empty()) continue;
    if (!is_token(item)) {
      if (bad) *bad = std::string(item);
      return std::nullopt;
    }
    items.push_back(lowercase ? ascii_lowercase(item) : std::string(item));
  }
  return items;
}

bool contains(const std::vector<std::string>& list, std::string_view item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

// Whether `value` is an origin-like URL (scheme://host[:port]) that merely
// differs from the request's: what Chromium calls a mismatch rather than an
// invalid value.
bool looks_like_url(std::string_view value) {
  const std::size_t scheme_end = value.find("://");
  if (scheme_end == std::string_view::npos || scheme_end == 0) return false;
  const std::string_view scheme = value.substr(0, scheme_end);
  if (!std::all_of(scheme.begin(), scheme.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' || c == '-' ||
               c == '.';
      })) {
    return false;
  }
  const std::string_view rest = value.substr(scheme_end + 3);
  return !rest.empty() && rest.front() != '/' &&
         std::none_of(rest.begin(), rest.end(), [](char c) { return static_cast<unsigned char>(c) <= 0x20; });
}

// Why an Access-Control-Allow-Origin that is not the request's origin
// fails, as each browser tells it: Chromium sees several values in one
// line with a comma or space and tells invalid values from other origins;
// Firefox counts header lines, and calls anything else a mismatch.
Blocked origin_failure(Browser browser, const Response& response, const std::string& allow_origin) {
  if (browser == Browser::firefox) {
    return response.count("access-control-allow-origin") > 1 ? Blocked::multiple_allow_origin_values
                                                             : Blocked::allow_origin_mismatch;
  }
  if (allow_origin.find_first_of(" ,") != std::string::npos) return Blocked::multiple_allow_origin_values;
  if (allow_origin == "null" || looks_like_url(allow_origin)) return Blocked::allow_origin_mismatch;
  return Blocked::invalid_allow_origin_value;
}

// The CORS check (Fetch §4.9), its failures named as Chromium names them,
// before the preflight variants are told apart.
Failure cors_check(Browser browser, const Request& request, const Response& response) {
  const std::optional<std::string> allow_origin = response.find("access-control-allow-origin");
  if (!allow_origin) return {Blocked::missing_allow_origin_header, {}, response.status};
  if (*allow_origin == "*") {
    if (request.credentials) return {Blocked::wildcard_origin_not_allowed, *allow_origin, response.status};
    return {};
  }
  if (*allow_origin != request.origin) {
    return {origin_failure(browser, response, *allow_origin), *allow_origin, response.status};
  }
  if (request.credentials) {
    const std::string allow_credentials = response.find("access-control-allow-credentials").value_or("");
    if (allow_credentials != "true") return {Blocked::invalid_allow_credentials, allow_credentials, response.status};
  }
  return {};
}

Blocked preflight_variant(Blocked b) noexcept {
  switch (b) {
    case Blocked::missing_allow_origin_header: return Blocked::preflight_missing_allow_origin_header;
    case Blocked::multiple_allow_origin_values: return Blocked::preflight_multiple_allow_origin_values;
    case Blocked::invalid_allow_origin_value: return Blocked::preflight_invalid_allow_origin_value;
    case Blocked::allow_origin_mismatch: return Blocked::preflight_allow_origin_mismatch;
    case Blocked::wildcard_origin_not_allowed: return Blocked::preflight_wildcard_origin_not_allowed;
    case Blocked::invalid_allow_credentials: return Blocked::preflight_invalid_allow_credentials;
    default: return b;
  }
}

constexpr std::string_view kBlockedNames[] = {
    "none",
    "missing_allow_origin_header",
    "multiple_allow_origin_values",
    "invalid_allow_origin_value",
    "allow_origin_mismatch",
    "wildcard_origin_not_allowed",
    "invalid_allow_credentials",
    "preflight_disallowed_redirect",
    "preflight_missing_allow_origin_header",
    "preflight_multiple_allow_origin_values",
    "preflight_invalid_allow_origin_value",
    "preflight_allow_origin_mismatch",
    "preflight_wildcard_origin_not_allowed",
    "preflight_invalid_allow_credentials",
    "preflight_invalid_status",
    "invalid_allow_methods_preflight_response",
    "invalid_allow_headers_preflight_response",
    "method_disallowed_by_preflight_response",
    "header_disallowed_by_preflight_response",
};

// Chromium's text for `f` (blink's cors::GetErrorString), without the
// "Access to fetch at ..." lead.
std::string chromium_reason(const Failure& f) {
  constexpr std::string_view kPreflight = "Response to preflight request doesn't pass access control check: ";
  constexpr const char* kValidValue = " Have the server send the header with a valid value.";
  const std::string lead(f.blocked >= Blocked::preflight_disallowed_redirect &&
                                 f.blocked <= Blocked::preflight_invalid_status
                             ? kPreflight
                             : std::string_view());
  switch (f.blocked) {
    case Blocked::missing_allow_origin_header:
    case Blocked::preflight_missing_allow_origin_header:
      return lead + "No 'Access-Control-Allow-Origin' header is present on the requested resource.";
    case Blocked::multiple_allow_origin_values:
    case Blocked::preflight_multiple_allow_origin_values:
      return lead + "The 'Access-Control-Allow-Origin' header contains multiple values '" + f.value +
             "', but only one is allowed." + kValidValue;
    case Blocked::invalid_allow_origin_value:
    case Blocked::preflight_invalid_allow_origin_value:
      return lead + "The 'Access-Control-Allow-Origin' header contains the invalid value '" + f.value + "'." +
             kValidValue;
    case Blocked::allow_origin_mismatch:
    case Blocked::preflight_allow_origin_mismatch:
      return lead + "The 'Access-Control-Allow-Origin' header has a value '" + f.value +
             "' that is not equal to the supplied origin." + kValidValue;
    case Blocked::wildcard_origin_not_allowed:
    case Blocked::preflight_wildcard_origin_not_allowed:
      return lead +
             "The value of the 'Access-Control-Allow-Origin' header in the response must not be the wildcard '*' "
             "when the request's credentials mode is 'include'.";
    case Blocked::invalid_allow_credentials:
    case Blocked::preflight_invalid_allow_credentials:
      return lead + "The value of the 'Access-Control-Allow-Credentials' header in the response is '" + f.value +
             "' which must be 'true' when the request's credentials mode is 'include'.";
    case Blocked::preflight_disallowed_redirect: return lead + "Redirect is not allowed for a preflight request.";
    case Blocked::preflight_invalid_status: return lead + "It does not have HTTP ok status.";
    case Blocked::invalid_allow_methods_preflight_response:
      return "Cannot parse Access-Control-Allow-Methods response header field in preflight response.";
    case Blocked::invalid_allow_headers_preflight_response:
      return "Cannot parse Access-Control-Allow-Headers response header field in preflight response.";
    case Blocked::method_disallowed_by_preflight_response:
      return "Method " + f.value + " is not allowed by Access-Control-Allow-Methods in preflight response.";
    case Blocked::header_disallowed_by_preflight_response:
      return "Request header field " + f.value +
             " is not allowed by Access-Control-Allow-Headers in preflight response.";
    case Blocked::none: break;
  }
  return {};
}

// Firefox's reason (its CORS* console messages), from "(Reason: " on.
std::string firefox_reason(const Failure& f) {
  const std::string status = "). Status code: " + std::to_string(f.status) + ".";
  switch (f.blocked) {
    case Blocked::missing_allow_origin_header:
    case Blocked::preflight_missing_allow_origin_header:
      return "CORS header ‘Access-Control-Allow-Origin’ missing" + status;
    case Blocked::multiple_allow_origin_values:
    case Blocked::preflight_multiple_allow_origin_values:
      return "Multiple CORS header ‘Access-Control-Allow-Origin’ not allowed).";
    case Blocked::invalid_allow_origin_value:
    case Blocked::preflight_invalid_allow_origin_value:
    case Blocked::allow_origin_mismatch:
    case Blocked::preflight_allow_origin_mismatch:
      return "CORS header ‘Access-Control-Allow-Origin’ does not match ‘" + f.value + "’).";
    case Blocked::wildcard_origin_not_allowed:
    case Blocked::preflight_wildcard_origin_not_allowed:
      return "Credential is not supported if the CORS header ‘Access-Control-Allow-Origin’ is ‘*’).";
    case Blocked::invalid_allow_credentials:
    case Blocked::preflight_invalid_allow_credentials:
      return "expected ‘true’ in CORS header ‘Access-Control-Allow-Credentials’).";
    case Blocked::preflight_disallowed_redirect: return "CORS request external redirect not allowed).";
    case Blocked::preflight_invalid_status: return "CORS preflight response did not succeed" + status;
    case Blocked::invalid_allow_methods_preflight_response:
      return "invalid token ‘" + f.value + "’ in CORS header ‘Access-Control-Allow-Methods’).";
    case Blocked::invalid_allow_headers_preflight_response:
      return "invalid token ‘" + f.value + "’ in CORS header ‘Access-Control-Allow-Headers’).";
    case Blocked::method_disallowed_by_preflight_response:
      return "Did not find method in CORS header ‘Access-Control-Allow-Methods’).";
    case Blocked::header_disallowed_by_preflight_response:
      return "header ‘" + f.value +
             "’ is not allowed according to header ‘Access-Control-Allow-Headers’ from CORS preflight response).";
    case Blocked::none: break;
  }
  return {};
}

}  // namespace

std::optional<std::string> Response::find(std::string_view name) const {
  std::optional<std::string> value;
  for (const Header& h : headers) {
    if (!ascii_iequals(h.name, name)) continue;
    if (value) {
      *value += ", " + h.value;
    } else {
      value = h.value;
    }
  }
  return value;
}

std::size_t Response::count(std::string_view name) const noexcept {
  return static_cast<std::size_t>(
      std::count_if(headers.begin(), headers.end(), [name](const Header& h) { return ascii_iequals(h.name, name); }));
}

std::string normalize_method(std::string_view method) {
  for (const std::string_view standard : kStandardMethods) {
    if (ascii_iequals(method, standard)) return std::string(standard);
  }
  return std::string(method);
}

bool is_safelisted_request_header(std::string_view name, std::string_view value) {
  if (value.size() > 128) return false;
  const std::string lower = ascii_lowercase(name);
  if (lower == "accept") return !has_unsafe_byte(value);
  if (lower == "accept-language" || lower == "content-language") return is_language_value(value);
  if (lower == "content-type") return is_safelisted_content_type(value);
  if (lower == "range") return is_simple_range(value);
  return false;
}

std::vector<std::string> unsafe_header_names(const std::vector<Header>& headers) {
  std::vector<std::string> unsafe, safelisted;
  std::size_t safelisted_bytes = 0;
  for (const Header& h : headers) {
    if (is_forbidden_request_header(h.name)) continue;
    if (is_safelisted_request_header(h.name, h.value)) {
      safelisted_bytes += h.value.size();
      safelisted.push_back(ascii_lowercase(h.name));
    } else {
      unsafe.push_back(ascii_lowercase(h.name));
    }
  }
  if (safelisted_bytes > 1024) unsafe.insert(unsafe.end(), safelisted.begin(), safelisted.end());
  std::sort(unsafe.begin(), unsafe.end());
  unsafe.erase(std::unique(unsafe.begin(), unsafe.end()), unsafe.end());
  return unsafe;
}

bool needs_preflight(const Request& request) {
  return !is_safelisted_method(normalize_method(request.method)) || !unsafe_header_names(request.headers).empty();
}

std::vector<Header> preflight_headers(const Request& request) {
  std::vector<Header> headers{{"Accept", "*/*"}, {"Access-Control-Request-Method", normalize_method(request.method)}};
  const std::vector<std::string> unsafe = unsafe_header_names(request.headers);
  if (!unsafe.empty()) {
    std::string names;
    for (const auto& name : unsafe) names += (names.empty() ? "" : ",") + name;
    headers.push_back({"Access-Control-Request-Headers", names});
  }
  headers.push_back({"Origin", request.origin});
  headers.push_back({"Sec-Fetch-Mode", "cors"});
  return headers;
}

std::vector<Header> actual_headers(const Request& request) {
  std::vector<Header> headers;
  bool accept = false;
  for (const Header& h : request.headers) {
    if (is_forbidden_request_header(h.name)) continue;
    accept |= ascii_iequals(h.name, "accept");
    headers.push_back(h);
  }
  if (!accept) headers.push_back({"Accept", "*/*"});
  headers.push_back({"Origin", request.origin});
  headers.push_back({"Sec-Fetch-Mode", "cors"});
  return headers;
}

std::string_view blocked_name(Blocked b) noexcept { return kBlockedNames[static_cast<std::size_t>(b)]; }

Failure check_actual(Browser browser, const Request& request, const Response& response) {
  return cors_check(browser, request, response);
}

Failure check_preflight(Browser browser, const Request& request, const Response& response) {
  if (response.redirect) return {Blocked::preflight_disallowed_redirect, {}, response.status};
  if (Failure f = cors_check(browser, request, response)) return {preflight_variant(f.blocked), f.value, f.status};
  if (response.status < 200 || response.status > 299) {
    return {Blocked::preflight_invalid_status, {}, response.status};
  }
  std::string bad;
  const auto methods = allow_list(response.find("access-control-allow-methods"), false, &bad);
  if (!methods) return {Blocked::invalid_allow_methods_preflight_response, bad, response.status};
  const auto headers = allow_list(response.find("access-control-allow-headers"), true, &bad);
  if (!headers) return {Blocked::invalid_allow_headers_preflight_response, bad, response.status};
  const std::string method = normalize_method(request.method);
  const bool star_methods = !request.credentials && contains(*methods, "*");
  if (!is_safelisted_method(method) && !contains(*methods, method) && !star_methods) {
    return {Blocked::method_disallowed_by_preflight_response, method};
  }
  const std::vector<std::string> refused = refused_headers(browser, request, response);
  if (!refused.empty()) return {Blocked::header_disallowed_by_preflight_response, refused.front()};
  return {};
}

std::vector<std::string> refused_headers(Browser browser, const Request& request, const Response& preflight) {
  const std::vector<std::string> allowed =
      allow_list(preflight.find("access-control-allow-headers"), true).value_or(std::vector<std::string>{});
  const bool star = !request.credentials && contains(allowed, "*");
  std::vector<std::string> refused;
  for (const std::string& name : unsafe_header_names(request.headers)) {
    // The Fetch Standard never lets `*` cover Authorization (a CORS
    // non-wildcard request-header name); Chromium 156 still does, and
    // Firefox 153 does with a warning that it soon will not.
    const bool wildcard_covers = star && (name != "authorization" || browser != Browser::standard);
    if (!contains(allowed, name) && !wildcard_covers) refused.push_back(name);
  }
  return refused;
}

std::string console_message(Browser browser, const Request& request, const Failure& failure) {
  if (!failure) return {};
  if (browser == Browser::firefox) {
    // Only this one message quotes the URL.
    const bool quoted = failure.blocked == Blocked::wildcard_origin_not_allowed ||
                        failure.blocked == Blocked::preflight_wildcard_origin_not_allowed;
    return "Cross-Origin Request Blocked: The Same Origin Policy disallows reading the remote resource at " +
           (quoted ? "‘" + request.url + "’" : request.url) + ". (Reason: " + firefox_reason(failure);
  }
  const std::string redirected =
      request.redirected_from.empty() ? std::string() : " (redirected from '" + request.redirected_from + "')";
  return "Access to fetch at '" + request.url + "'" + redirected + " from origin '" + request.origin +
         "' has been blocked by CORS policy: " + chromium_reason(failure);
}

std::string rule_for(const Failure& f, bool preflight) {
  constexpr std::string_view kCheck = "Fetch Standard §4.9 CORS check: ";
  constexpr std::string_view kPreflight = "Fetch Standard §4.8 CORS-preflight fetch: ";
  // The CORS check of a preflight's answer is §4.9's, run by §4.8.
  const std::string check(preflight ? "Fetch Standard §4.8 CORS-preflight fetch, its §4.9 CORS check: " : kCheck);
  switch (f.blocked) {
    case Blocked::none:
      return preflight ? std::string(kPreflight) + "the CORS check, an ok status, the method and the headers passed"
                       : std::string(kCheck) + "passed";
    case Blocked::missing_allow_origin_header:
    case Blocked::preflight_missing_allow_origin_header:
      return check + "the answer must have Access-Control-Allow-Origin";
    case Blocked::multiple_allow_origin_values:
    case Blocked::preflight_multiple_allow_origin_values:
    case Blocked::invalid_allow_origin_value:
    case Blocked::preflight_invalid_allow_origin_value:
    case Blocked::allow_origin_mismatch:
    case Blocked::preflight_allow_origin_mismatch:
      return check + "Access-Control-Allow-Origin must be `*` or the request's origin, byte for byte";
    case Blocked::wildcard_origin_not_allowed:
    case Blocked::preflight_wildcard_origin_not_allowed:
      return check + "with credentials, `*` does not count: the origin must be named";
    case Blocked::invalid_allow_credentials:
    case Blocked::preflight_invalid_allow_credentials:
      return check + "with credentials, Access-Control-Allow-Credentials must be exactly `true`";
    case Blocked::preflight_disallowed_redirect:
      return std::string(kPreflight) + "a preflight's answer must not be a redirect";
    case Blocked::preflight_invalid_status:
      return std::string(kPreflight) + "a preflight's answer must have an ok status (200 to 299)";
    case Blocked::invalid_allow_methods_preflight_response:
    case Blocked::invalid_allow_headers_preflight_response:
      return std::string(kPreflight) + "the allow lists must parse as comma-separated tokens";
    case Blocked::method_disallowed_by_preflight_response:
      return std::string(kPreflight) +
             "a method other than GET, HEAD or POST must be in Access-Control-Allow-Methods (`*` only without "
             "credentials)";
    case Blocked::header_disallowed_by_preflight_response:
      return std::string(kPreflight) +
             "each CORS-unsafe request header must be in Access-Control-Allow-Headers (`*` only without credentials)";
  }
  return {};
}

std::string fix_for(const Request& request, const Failure& f) {
  const std::string origin = "`Access-Control-Allow-Origin: " + request.origin + "`";
  switch (f.blocked) {
    case Blocked::missing_allow_origin_header:
    case Blocked::preflight_missing_allow_origin_header:
    case Blocked::multiple_allow_origin_values:
    case Blocked::preflight_multiple_allow_origin_values:
    case Blocked::invalid_allow_origin_value:
    case Blocked::preflight_invalid_allow_origin_value:
    case Blocked::allow_origin_mismatch:
    case Blocked::preflight_allow_origin_mismatch:
      return "answer with exactly one " + origin + " (in corsd: allow_origins = [\"" + request.origin + "\"])";
    case Blocked::wildcard_origin_not_allowed:
    case Blocked::preflight_wildcard_origin_not_allowed:
      return "with credentials, answer with the page's own origin, " + origin +
             ", never `*` (corsd does so for a listed origin with allow_credentials = true)";
    case Blocked::invalid_allow_credentials:
    case Blocked::preflight_invalid_allow_credentials:
      return "add `Access-Control-Allow-Credentials: true` (in corsd: allow_credentials = true), or send the request "
             "without credentials";
    case Blocked::preflight_disallowed_redirect:
      return "answer the preflight (OPTIONS) at this URL itself instead of redirecting it: point the page at the "
             "final URL";
    case Blocked::preflight_invalid_status:
      return "answer the preflight (OPTIONS) with a 2xx status, such as 204 (corsd answers preflights itself)";
    case Blocked::invalid_allow_methods_preflight_response:
      return "write Access-Control-Allow-Methods as a comma-separated list of methods, e.g. `GET, PUT, DELETE`";
    case Blocked::invalid_allow_headers_preflight_response:
      return "write Access-Control-Allow-Headers as a comma-separated list of header names, e.g. "
             "`content-type, authorization`";
    case Blocked::method_disallowed_by_preflight_response:
      return "add `" + f.value + "` to Access-Control-Allow-Methods (in corsd: allow_methods)";
    case Blocked::header_disallowed_by_preflight_response:
      return "add `" + f.value + "` to Access-Control-Allow-Headers (in corsd: allow_headers)" +
             (f.value == "authorization" ? std::string(" by name: `*` never covers it") : std::string());
    case Blocked::none: break;
  }
  return {};
}

std::vector<std::string> readable_headers(const Request& request, const Response& response) {
  static constexpr std::string_view kSafelisted[] = {
      "cache-control", "content-language", "content-length", "content-type", "expires", "last-modified", "pragma"};
  const auto exposed =
      allow_list(response.find("access-control-expose-headers"), true).value_or(std::vector<std::string>{});
  const bool all = !request.credentials && contains(exposed, "*");
  std::vector<std::string> names;
  for (const Header& h : response.headers) {
    const std::string name = ascii_lowercase(h.name);
    if (name == "set-cookie" || name == "set-cookie2") continue;
    const bool safelisted = std::find(std::begin(kSafelisted), std::end(kSafelisted), name) != std::end(kSafelisted);
    if (safelisted || all || contains(exposed, name)) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

std::chrono::seconds preflight_cache_time(Browser browser, const Response& preflight) {
  const std::optional<std::string> value = preflight.find("access-control-max-age");
  if (!value) return std::chrono::seconds(5);
  const bool negative = value->starts_with('-');
  const std::string_view digits = std::string_view(*value).substr(negative ? 1 : 0);
  std::uint64_t seconds = 0;
  if (!all_digits(digits) || std::from_chars(digits.data(), digits.data() + digits.size(), seconds).ec != std::errc{}) {
    return std::chrono::seconds(browser == Browser::firefox ? 0 : 5);  // not a number
  }
  if (negative) return std::chrono::seconds(0);
  const std::chrono::seconds cap(browser == Browser::chromium ? 7200 : 86400);
  return std::min(cap, std::chrono::seconds(static_cast<std::int64_t>(std::min<std::uint64_t>(seconds, 1u << 30))));
}

}  // namespace corsd::cors::browser
