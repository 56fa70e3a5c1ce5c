#include "corsd/http/cors_filter.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "corsd/testing/serve.hpp"

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

Exchange exchange(std::string_view method, std::vector<Field> fields, const cors::RouteTable& routes,
                  std::string_view target = "/x", RejectionSink sink = {}) {
  RecordingHandler app;
  CorsFilter filter(routes, app, std::move(sink));
  Exchange e;
  e.wire = testing::serve(filter, {.method = method, .target = target, .fields = std::move(fields)});
  e.app_calls = app.calls;
  return e;
}

Exchange exchange(std::string_view method, std::vector<Field> fields) {
  static const cors::RouteTable seed = cors::RouteTable::seed();
  return exchange(method, std::move(fields), seed);
}

// "/api" allows https://app.example with credentials and lets the
// application answer preflights; "/public" is open to every origin.
const cors::RouteTable& two_routes() {
  static const cors::RouteTable table = [] {
    cors::PolicySpec api;
    api.allow_origins = {"https://app.example"};
    api.allow_credentials = true;
    api.allow_methods = {"PUT"};
    api.preflight_passthrough = true;
    cors::PolicySpec open;
    open.allow_origins = {"*"};
    std::vector<cors::Route> routes;
    routes.push_back({"/api", std::get<cors::Policy>(cors::Policy::create(api))});
    routes.push_back({"/public", std::get<cors::Policy>(cors::Policy::create(open))});
    return std::get<cors::RouteTable>(cors::RouteTable::create(std::move(routes)));
  }();
  return table;
}

TEST(CorsFilterTest, PathWithoutRouteReachesTheApplicationUntouched) {
  const Exchange e = exchange("OPTIONS", {{"Origin", "https://app.example"}, {"Access-Control-Request-Method", "PUT"}},
                              two_routes(), "/other");
  EXPECT_EQ(e.app_calls, 1);
  EXPECT_EQ(e.wire.find("Access-Control"), std::string::npos);
  EXPECT_EQ(e.wire.find("Vary"), std::string::npos);
}

TEST(CorsFilterTest, LongestRouteDecides) {
  const Exchange e = exchange("GET", {{"Origin", "https://other.example"}}, two_routes(), "/public/x");
  EXPECT_NE(e.wire.find("Access-Control-Allow-Origin: *\r\n"), std::string::npos);
  EXPECT_EQ(e.wire.find("Vary"), std::string::npos);
}

TEST(CorsFilterTest, PassthroughLetsTheApplicationAnswerAnAcceptedPreflight) {
  const Exchange e = exchange("OPTIONS", {{"Origin", "https://app.example"}, {"Access-Control-Request-Method", "PUT"}},
                              two_routes(), "/api/items");
  EXPECT_EQ(e.app_calls, 1);
  EXPECT_NE(e.wire.find("HTTP/1.1 200 OK"), std::string::npos);
  EXPECT_NE(e.wire.find("Access-Control-Allow-Credentials: true\r\n"), std::string::npos);
  EXPECT_NE(e.wire.find("Access-Control-Allow-Methods: PUT\r\n"), std::string::npos);
}

TEST(CorsFilterTest, RejectionIsReportedWithWhatThePolicyWouldNeed) {
  std::string logged;
  const Exchange e = exchange("GET", {{"Origin", "https://evil.example\x1b[31m"}}, two_routes(), "/api",
                              [&](std::string_view line) { logged = line; });
  EXPECT_EQ(e.app_calls, 1);
  EXPECT_EQ(logged,
            "CORS rejected: route=/api origin=https://evil.example?[31m method=GET reason=origin_malformed "
            "need: nothing can: \"https://evil.example?[31m\" is not a serialized origin");
  exchange("OPTIONS", {{"Origin", "https://app.example"}, {"Access-Control-Request-Method", "DELETE"}}, two_routes(),
           "/api", [&](std::string_view line) { logged = line; });
  EXPECT_EQ(logged,
            "CORS rejected: route=/api origin=https://app.example method=OPTIONS request-method=DELETE "
            "reason=method_not_allowed need: add \"DELETE\" to allow_methods");
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
