#pragma once
// File: corsd/http/cors_filter.hpp
//
// Puts CORS policies in front of a handler. The route matching the path
// decides: preflights are answered here (204 with the policy's headers, or
// 403 naming the reason), every other request reaches the handler and its
// response gets the decision's headers and Vary. A path without a route
// reaches the handler untouched.

#include <functional>
#include <span>
#include <string_view>

#include "corsd/cors/route_table.hpp"
#include "corsd/http/handler.hpp"

namespace corsd::http {

// cors_request()
//
// Returns the CORS view of `request`. `header_lines` receives the
// Access-Control-Request-Headers lines (the result's span points into it).
cors::CorsRequest cors_request(const Request& request, std::span<std::string_view> header_lines) noexcept;

// Receives one line per rejected request when debug logging is on.
using RejectionSink = std::function<void(std::string_view line)>;

class CorsFilter final : public Handler {
 public:
  // `routes` and `next` must outlive the filter. With `on_rejection` set,
  // each rejection is described to it (route, origin, reason, and what the
  // policy would need); unset, rejections cost nothing extra.
  CorsFilter(const cors::RouteTable& routes, Handler& next, RejectionSink on_rejection = {})
      : routes_(routes), next_(next), on_rejection_(std::move(on_rejection)) {}

  void handle(const Request& request, Response& response) override;

 private:
  void report(const cors::Route& route, const cors::CorsRequest& cors, const cors::Decision& decision) const;

  const cors::RouteTable& routes_;
  Handler& next_;
  RejectionSink on_rejection_;
};

}  // namespace corsd::http
