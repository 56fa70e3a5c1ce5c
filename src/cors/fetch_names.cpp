#include "corsd/cors/detail/fetch_names.hpp"

#include "corsd/cors/detail/token.hpp"

namespace corsd::cors {

bool is_forbidden_request_header(std::string_view h) noexcept {
  static constexpr std::string_view kForbidden[] = {"accept-charset",
                                                    "accept-encoding",
                                                    "access-control-request-headers",
                                                    "access-control-request-method",
                                                    "connection",
                                                    "content-length",
                                                    "cookie",
                                                    "cookie2",
                                                    "date",
                                                    "dnt",
                                                    "expect",
                                                    "host",
                                                    "keep-alive",
                                                    "origin",
                                                    "referer",
                                                    "set-cookie",
                                                    "te",
                                                    "trailer",
                                                    "transfer-encoding",
                                                    "upgrade",
                                                    "via"};
  for (auto f : kForbidden) {
    if (ascii_iequals(h, f)) return true;
  }
  const auto starts = [&](std::string_view p) {
    return h.size() >= p.size() && ascii_iequals(h.substr(0, p.size()), p);
  };
  return starts("proxy-") || starts("sec-");
}

bool is_response_only_header(std::string_view h) noexcept {
  static constexpr std::string_view kResponseOnly[] = {
      "accept-ranges", "age",    "authentication-info", "etag",        "last-modified", "location",
      "retry-after",   "server", "set-cookie",          "set-cookie2", "vary",          "www-authenticate"};
  for (auto f : kResponseOnly) {
    if (ascii_iequals(h, f)) return true;
  }
  // Access-Control-Request-* are the preflight's own request fields
  // (forbidden to script); every other Access-Control-* is an answer.
  constexpr std::string_view kCors = "access-control-";
  return h.size() > kCors.size() && ascii_iequals(h.substr(0, kCors.size()), kCors) &&
         !ascii_iequals(h.substr(0, kCors.size() + 8), "access-control-request-");
}

}  // namespace corsd::cors
