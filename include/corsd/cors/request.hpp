#pragma once
// File: corsd/cors/request.hpp
//
// The parts of an HTTP request the CORS protocol looks at, as views into the
// caller's storage. The engine never copies them. RequestFields (host.hpp)
// fills one from a request's header fields in one pass.
//
// Example, a preflight (Fetch Standard #cors-preflight-request):
//
//   const std::string_view acrh[] = {"content-type"};
//   corsd::cors::CorsRequest preflight;
//   preflight.method = "OPTIONS";
//   preflight.origin = {"https://app.example.com", 1};
//   preflight.request_method = {"PUT", 1};
//   preflight.request_headers = acrh;

#include <cstdint>
#include <span>
#include <string_view>

namespace corsd::cors {

// A header the request may carry once. `count` tells absent (0), present (1)
// and repeated (> 1): a repeated `Origin` is not a serialized origin and is
// never allowed.
struct SingleHeader {
  std::string_view value;
  std::uint8_t count = 0;

  bool present() const noexcept { return count != 0; }
};

// CorsRequest
//
// `method` is compared byte-exactly, as the Fetch Standard compares methods.
// `request_headers` holds every `Access-Control-Request-Headers` line: an
// intermediary may split one list into several lines (RFC 9110 §5.3).
struct CorsRequest {
  std::string_view method;
  SingleHeader origin;
  SingleHeader request_method;                        // Access-Control-Request-Method
  std::span<const std::string_view> request_headers;  // Access-Control-Request-Headers
  SingleHeader request_private_network;               // Access-Control-Request-Private-Network
};

}  // namespace corsd::cors
