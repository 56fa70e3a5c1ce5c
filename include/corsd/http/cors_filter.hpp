#pragma once
// File: corsd/http/cors_filter.hpp
//
// Puts a CORS policy in front of a handler: preflights are answered here
// (204 with the policy's headers, or 403 naming the reason), every other
// request reaches the handler and its response gets the decision's headers
// and Vary.

#include "corsd/cors/policy.hpp"
#include "corsd/http/handler.hpp"

namespace corsd::http {

// cors_request()
//
// Returns the CORS view of `request`. `header_lines` receives the
// Access-Control-Request-Headers lines (the result's span points into it).
cors::CorsRequest cors_request(const Request& request, std::span<std::string_view> header_lines) noexcept;

class CorsFilter final : public Handler {
 public:
  CorsFilter(const cors::Policy& policy, Handler& next) noexcept : policy_(policy), next_(next) {}

  void handle(const Request& request, Response& response) override;

 private:
  const cors::Policy& policy_;
  Handler& next_;
};

}  // namespace corsd::http
