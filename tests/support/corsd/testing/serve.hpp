#pragma once
// Test support: runs a handler on an in-memory request and returns the
// response exactly as it would go over the wire.

#include <string>
#include <string_view>
#include <vector>

#include "corsd/http/handler.hpp"

namespace corsd::testing {

inline constexpr std::string_view kTestDate = "Wed, 25 Nov 2026 13:00:00 GMT";

struct TestRequest {
  std::string_view method = "GET";
  std::string_view target = "/";
  std::vector<http::Field> fields{};
  std::string_view body{};
};

// serve()
//
// Returns what `handler` wrote for `request`, with Date kTestDate.
inline std::string serve(http::Handler& handler, const TestRequest& request) {
  http::Request r;
  r.method = request.method;
  r.target = request.target;
  r.fields = request.fields;
  r.body = request.body;
  std::string out;
  http::Response response(out, http::ResponseContext{kTestDate, request.method == "HEAD", true, 11});
  handler.handle(r, response);
  return out;
}

}  // namespace corsd::testing
