#include "corsd/http/cors_filter.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace corsd::http {
namespace {

class RecordingHandler final : public Handler {
 public:
  void handle(const Request&, Response& response) override {
    ++calls;
    response.add("Content-Type", "text/plain");
    response.send("app");
  }
  int calls = 0;
};

struct Exchange {
  std::string wire;
  int app_calls = 0;
};

Exchange exchange(std::string_view method, std::vector<Field> fields) {
  const cors::Policy policy = cors::Policy::seed();
  RecordingHandler app;
  CorsFilter filter(policy, app);
  Request request;
  request.method = method;
  request.target = "/x";
  request.fields = fields;
  Exchange e;
  Response response(e.wire, ResponseContext{"Wed, 25 Nov 2026 13:00:00 GMT", false, true, 11});
  filter.handle(request, response);
  e.app_calls = app.calls;
  return e;
}

TEST(CorsFilterTest, AcceptedPreflightIsAnsweredWithoutTheApplication) {
  const Exchange e = exchange("OPTIONS", {{"Host", "a"},
                                          {"Origin", "http://localhost:8081"},
                                          {"Access-Control-Request-Method", "PUT"},
                                          {"Access-Control-Request-Headers", "content-type"}});
  EXPECT_EQ(e.app_calls, 0);
  EXPECT_EQ(e.wire,
            "HTTP/1.1 204 No Content\r\n"
            "Access-Control-Allow-Origin: http://localhost:8081\r\n"
            "Access-Control-Allow-Methods: GET, POST, PUT, DELETE, OPTIONS\r\n"
            "Access-Control-Allow-Headers: content-type, accept\r\n"
            "Access-Control-Max-Age: 10\r\n"
            "Vary: Origin, Access-Control-Request-Method, Access-Control-Request-Headers\r\n"
            "Date: Wed, 25 Nov 2026 13:00:00 GMT\r\nContent-Length: 0\r\n\r\n");
}

TEST(CorsFilterTest, RejectedPreflightIs403NamingTheReasonWithoutCorsHeaders) {
  const Exchange e = exchange("OPTIONS", {{"Origin", "http://localhost:8081"},
                                          {"Access-Control-Request-Method", "PUT"},
                                          {"Access-Control-Request-Headers", "content-type"},
                                          {"Access-Control-Request-Headers", "x-secret"}});
  EXPECT_EQ(e.app_calls, 0);
  EXPECT_EQ(e.wire.rfind("HTTP/1.1 403 Forbidden\r\n", 0), 0u);
  EXPECT_EQ(e.wire.find("Access-Control-Allow"), std::string::npos);
  EXPECT_NE(e.wire.find("\r\n\r\nCORS preflight rejected: header_not_allowed: x-secret\n"), std::string::npos);
}

TEST(CorsFilterTest, OptionsWithoutRequestMethodReachesTheApplication) {
  const Exchange e = exchange("OPTIONS", {{"Origin", "http://localhost:8081"}});
  EXPECT_EQ(e.app_calls, 1);
  EXPECT_NE(e.wire.find("Access-Control-Allow-Origin: http://localhost:8081\r\n"), std::string::npos);
}

TEST(CorsFilterTest, ActualRequestGetsCorsHeadersAndVary) {
  const Exchange e = exchange("PUT", {{"origin", "http://localhost:8081"}});
  EXPECT_EQ(e.app_calls, 1);
  EXPECT_NE(e.wire.find("Access-Control-Allow-Origin: http://localhost:8081\r\n"), std::string::npos);
  EXPECT_NE(e.wire.find("Vary: Origin\r\n"), std::string::npos);
}

TEST(CorsFilterTest, RejectedActualRequestReachesTheApplicationWithoutCorsHeaders) {
  const Exchange e = exchange("GET", {{"Origin", "null"}});
  EXPECT_EQ(e.app_calls, 1);
  EXPECT_EQ(e.wire.find("Access-Control-Allow"), std::string::npos);
  EXPECT_NE(e.wire.find("Vary: Origin\r\n"), std::string::npos);
}

TEST(CorsFilterTest, PrivateNetworkRequestCountsOnlyWhenExactlyTrue) {
  std::array<std::string_view, 4> lines;
  Request request;
  std::vector<Field> fields = {{"Access-Control-Request-Private-Network", "TRUE"}};
  request.fields = fields;
  EXPECT_FALSE(cors_request(request, lines).request_private_network.present());
  fields[0].value = "true";
  EXPECT_TRUE(cors_request(request, lines).request_private_network.present());
}

}  // namespace
}  // namespace corsd::http
