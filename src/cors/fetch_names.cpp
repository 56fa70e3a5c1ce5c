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

}  // namespace corsd::cors
