#pragma once
// Test support: runs a handler on an in-memory request and returns the
// response exactly as it would go over the wire.

#include <string>
#include <string_view>
#include <vector>

#include "corsd/http/handler.hpp"
#include "corsd/http/target.hpp"

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
// Returns what `handler` wrote for `request` (its path normalized as the
// connection does), with Date kTestDate.
inline std::string serve(http::Handler& handler, const TestRequest& request) {
  std::string scratch;
  const http::Target target = http::normalize_target(request.target, scratch);
  http::Request r;
  r.method = request.method;
  r.target = request.target;
  r.path = target.path;
  r.query = target.query;
  r.fields = request.fields;
  r.body = request.body;
  std::string out;
  http::ResponseHead head;
  http::Response response(out, head, http::ResponseContext{kTestDate, request.method == "HEAD", true, 11});
  handler.handle(r, response);
  return out;
}

}  // namespace corsd::testing
