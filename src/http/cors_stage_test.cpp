#include "corsd/http/cors_stage.hpp"

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

// The CORS stage in front of an application, as the gateway puts it.
class Staged final : public Handler {
 public:
  Staged(const cors::RouteTable& routes, Handler& next, RejectionSink sink)
      : routes_(routes), next_(next), stage_(std::move(sink)) {}
  void handle(const Request& request, Response& response) override {
    const cors::Route* route = routes_.match(request.path);
    if (route == nullptr) return next_.handle(request, response);
    cors::Decision decision;
    if (stage_.answer_buffered(*route, request, response, decision)) return;
    response.use_cors(&decision);
    next_.handle(request, response);
  }

 private:
  const cors::RouteTable& routes_;
  Handler& next_;
  CorsStage stage_;
};

struct Exchange {
  std::string wire;
  int app_calls = 0;
};

Exchange exchange(std::string_view method, std::vector<Field> fields, const cors::RouteTable& routes,
                  std::string_view target = "/x", RejectionSink sink = {}) {
  RecordingHandler app;
  Staged staged(routes, app, std::move(sink));
  Exchange e;
  e.wire = testing::serve(staged, {.method = method, .target = target, .fields = std::move(fields)});
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

TEST(CorsStageTest, PathWithoutRouteReachesTheApplicationUntouched) {
  const Exchange e = exchange("OPTIONS", {{"Origin", "https://app.example"}, {"Access-Control-Request-Method", "PUT"}},
                              two_routes(), "/other");
  EXPECT_EQ(e.app_calls, 1);
  EXPECT_EQ(e.wire.find("Access-Control"), std::string::npos);
  EXPECT_EQ(e.wire.find("Vary"), std::string::npos);
}

TEST(CorsStageTest, LongestRouteDecides) {
  const Exchange e = exchange("GET", {{"Origin", "https://other.example"}}, two_routes(), "/public/x");
  EXPECT_NE(e.wire.find("Access-Control-Allow-Origin: *\r\n"), std::string::npos);
  EXPECT_EQ(e.wire.find("Vary"), std::string::npos);
}

TEST(CorsStageTest, PassthroughLetsTheApplicationAnswerAnAcceptedPreflight) {
  const Exchange e = exchange("OPTIONS", {{"Origin", "https://app.example"}, {"Access-Control-Request-Method", "PUT"}},
                              two_routes(), "/api/items");
  EXPECT_EQ(e.app_calls, 1);
  EXPECT_NE(e.wire.find("HTTP/1.1 200 OK"), std::string::npos);
  EXPECT_NE(e.wire.find("Access-Control-Allow-Credentials: true\r\n"), std::string::npos);
  EXPECT_NE(e.wire.find("Access-Control-Allow-Methods: PUT\r\n"), std::string::npos);
}

TEST(CorsStageTest, RejectionIsReportedWithWhatThePolicyWouldNeed) {
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

TEST(CorsStageTest, AcceptedPreflightIsAnsweredWithoutTheApplication) {
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
            "Date: Wed, 25 Nov 2026 13:00:00 GMT\r\n\r\n");
}

TEST(CorsStageTest, RejectedPreflightIs403NamingTheReasonWithoutCorsHeaders) {
  const Exchange e = exchange("OPTIONS", {{"Origin", "http://localhost:8081"},
                                          {"Access-Control-Request-Method", "PUT"},
                                          {"Access-Control-Request-Headers", "content-type"},
                                          {"Access-Control-Request-Headers", "x-secret"}});
  EXPECT_EQ(e.app_calls, 0);
  EXPECT_EQ(e.wire.rfind("HTTP/1.1 403 Forbidden\r\n", 0), 0u);
  EXPECT_EQ(e.wire.find("Access-Control-Allow"), std::string::npos);
  EXPECT_NE(e.wire.find("\r\n\r\nCORS preflight rejected: header_not_allowed: x-secret\n"), std::string::npos);
}

TEST(CorsStageTest, OptionsWithoutRequestMethodReachesTheApplication) {
  const Exchange e = exchange("OPTIONS", {{"Origin", "http://localhost:8081"}});
  EXPECT_EQ(e.app_calls, 1);
  EXPECT_NE(e.wire.find("Access-Control-Allow-Origin: http://localhost:8081\r\n"), std::string::npos);
}

TEST(CorsStageTest, ActualRequestGetsCorsHeadersAndVary) {
  const Exchange e = exchange("PUT", {{"origin", "http://localhost:8081"}});
  EXPECT_EQ(e.app_calls, 1);
  EXPECT_NE(e.wire.find("Access-Control-Allow-Origin: http://localhost:8081\r\n"), std::string::npos);
  EXPECT_NE(e.wire.find("Vary: Origin\r\n"), std::string::npos);
}

TEST(CorsStageTest, RejectedActualRequestReachesTheApplicationWithoutCorsHeaders) {
  const Exchange e = exchange("GET", {{"Origin", "null"}});
  EXPECT_EQ(e.app_calls, 1);
  EXPECT_EQ(e.wire.find("Access-Control-Allow"), std::string::npos);
  EXPECT_NE(e.wire.find("Vary: Origin\r\n"), std::string::npos);
}

TEST(CorsStageTest, PrivateNetworkNotGrantedIsLeftOutNotRefused) {
  std::string logged;
  // "/public" does not grant private network access: the preflight is answered, without its field.
  const Exchange e = exchange("OPTIONS",
                              {{"Origin", "https://app.example"},
                               {"Access-Control-Request-Method", "GET"},
                               {"Access-Control-Request-Private-Network", "true"}},
                              two_routes(), "/public", [&](std::string_view line) { logged = line; });
  EXPECT_EQ(e.app_calls, 0);
  EXPECT_NE(e.wire.find("HTTP/1.1 204 "), std::string::npos) << e.wire;
  EXPECT_EQ(e.wire.find("Access-Control-Allow-Private-Network"), std::string::npos) << e.wire;
  EXPECT_NE(e.wire.find("Access-Control-Allow-Origin: *"), std::string::npos) << e.wire;
  EXPECT_EQ(logged,
            "CORS rejected: route=/public origin=https://app.example method=OPTIONS request-method=GET "
            "withheld=private_network_not_allowed need: set allow_private_network = true");
}

TEST(CorsStageTest, PrivateNetworkRequestCountsOnlyWhenExactlyTrue) {
  Request request;
  std::vector<Field> fields = {{"Access-Control-Request-Private-Network", "TRUE"}};
  request.fields = fields;
  cors::RequestFields upper, lower;
  EXPECT_FALSE(cors_request(request, upper).request_private_network.present());
  fields[0].value = "true";
  EXPECT_TRUE(cors_request(request, lower).request_private_network.present());
}

// An application (or upstream) setting its own CORS fields cannot widen or
// contradict the policy: they are replaced by the decision's.
class CorsSettingHandler final : public Handler {
 public:
  void handle(const Request&, Response& response) override {
    response.add("Access-Control-Allow-Origin", "*");
    response.add("access-control-allow-credentials", "true");
    response.add("Access-Control-Expose-Headers", "x-secret");
    response.add("Vary", "Accept-Encoding");
    response.send("app");
  }
};

TEST(CorsStageTest, TheApplicationsOwnCorsFieldsAreReplacedByThePolicys) {
  CorsSettingHandler app;
  Staged staged(two_routes(), app, {});
  const std::string wire =
      testing::serve(staged, {.method = "GET", .target = "/api/x", .fields = {{"Origin", "https://app.example"}}});
  EXPECT_NE(wire.find("Access-Control-Allow-Origin: https://app.example\r\n"), std::string::npos);
  EXPECT_EQ(wire.find("Access-Control-Allow-Origin: *"), std::string::npos);
  EXPECT_EQ(wire.find("x-secret"), std::string::npos);
  EXPECT_EQ(wire.find("access-control-allow-credentials"), std::string::npos);
  EXPECT_NE(wire.find("Vary: Accept-Encoding, Origin\r\n"), std::string::npos);
  const std::string rejected =
      testing::serve(staged, {.method = "GET", .target = "/api/x", .fields = {{"Origin", "https://evil.example"}}});
  EXPECT_EQ(rejected.find("Access-Control-"), std::string::npos);
}

TEST(CorsStageTest, RoutesMatchTheNormalizedPath) {
  const Exchange e = exchange("GET", {{"Origin", "https://other.example"}}, two_routes(), "/api/%2e%2e/public/x");
  EXPECT_NE(e.wire.find("Access-Control-Allow-Origin: *\r\n"), std::string::npos);
}

TEST(CorsStageTest, LooksLikePreflightNeedsOptionsOriginAndRequestMethod) {
  std::vector<Field> fields = {{"Origin", "https://a.example"}, {"Access-Control-Request-Method", "PUT"}};
  Request request;
  request.method = "OPTIONS";
  request.fields = fields;
  EXPECT_TRUE(looks_like_preflight(request));
  request.method = "GET";
  EXPECT_FALSE(looks_like_preflight(request));
  request.method = "OPTIONS";
  fields.pop_back();
  request.fields = fields;
  EXPECT_FALSE(looks_like_preflight(request));
}

TEST(ApplyCorsTest, EveryAccessControlFieldGoesTheBarePrefixToo) {
  ResponseHead head;
  head.add("Access-Control-Allow-Origin", "*");
  head.add("access-control-expose-headers", "x-secret");
  head.add("Access-Control-", "found by the upstream-answer fuzzer");
  head.add("Access-Controlled", "not a CORS field: stays");
  cors::Decision decision;
  decision.kind = cors::DecisionKind::actual_allowed;
  decision.headers.push_back("Access-Control-Allow-Origin", "https://app.test");
  apply_cors(decision, head);
  ASSERT_EQ(head.size(), 2u);
  EXPECT_EQ(head[0].name, "Access-Controlled");
  EXPECT_EQ(head[1].name, "Access-Control-Allow-Origin");
  EXPECT_EQ(head[1].value, "https://app.test");
}

}  // namespace
}  // namespace corsd::http

namespace corsd::http {
namespace {

// One stage serving several preflights in a row, as a worker's gateway does:
// the answers it keeps must be the answers it would decide.
class KeptAnswersTest : public ::testing::Test {
 protected:
  std::string preflight(std::vector<Field> fields, std::string_view target = "/x") {
    return testing::serve(staged_, {.method = "OPTIONS", .target = target, .fields = std::move(fields)});
  }
  static std::string decided(std::vector<Field> fields) {
    return exchange("OPTIONS", std::move(fields)).wire;  // a new stage: nothing kept
  }

  const cors::RouteTable& routes_ = seed_routes();
  RecordingHandler app_;
  std::vector<std::string> logged_;
  Staged staged_{routes_, app_, [this](std::string_view line) { logged_.emplace_back(line); }};

 private:
  static const cors::RouteTable& seed_routes() {
    static const cors::RouteTable seed = cors::RouteTable::seed();
    return seed;
  }
};

const std::vector<Field> kPut = {{"Origin", "https://a.example"},
                                 {"Access-Control-Request-Method", "PUT"},
                                 {"Access-Control-Request-Headers", "content-type"}};

TEST_F(KeptAnswersTest, AnAnswerGivenAgainIsByteForByteTheDecidedOne) {
  const std::string first = preflight(kPut);
  EXPECT_EQ(first, decided(kPut));
  EXPECT_EQ(preflight(kPut), first);
  EXPECT_EQ(preflight(kPut), first);
  EXPECT_NE(first.find("Access-Control-Allow-Origin: https://a.example\r\n"), std::string::npos);
  EXPECT_NE(first.find("Vary: Origin, Access-Control-Request-Method, Access-Control-Request-Headers\r\n"),
            std::string::npos);
}

TEST_F(KeptAnswersTest, EachFieldOfTheQuestionIsPartOfTheKey) {
  preflight(kPut);
  const std::vector<std::vector<Field>> others = {
      {{"Origin", "https://b.example"},
       {"Access-Control-Request-Method", "PUT"},
       {"Access-Control-Request-Headers", "content-type"}},
      {{"Origin", "https://a.example"},
       {"Access-Control-Request-Method", "PATCH"},
       {"Access-Control-Request-Headers", "content-type"}},
      {{"Origin", "https://a.example"}, {"Access-Control-Request-Method", "PUT"}},
      {{"Origin", "https://a.example"},
       {"Access-Control-Request-Method", "PUT"},
       {"Access-Control-Request-Headers", "x-other"}},
      {{"Origin", "https://a.example"},
       {"Access-Control-Request-Method", "PUT"},
       {"Access-Control-Request-Headers", "content-type"},
       {"Access-Control-Request-Private-Network", "true"}},
      {{"Origin", "https://a.example"},
       {"Origin", "https://a.example"},
       {"Access-Control-Request-Method", "PUT"},
       {"Access-Control-Request-Headers", "content-type"}},
  };
  for (const auto& fields : others) {
    EXPECT_EQ(preflight(fields), decided(fields)) << fields.front().value << " " << fields[1].value;
    EXPECT_EQ(preflight(fields), decided(fields));
  }
  EXPECT_EQ(preflight(kPut), decided(kPut));
}

TEST_F(KeptAnswersTest, RejectionsAndWithheldPartsAreDecidedAndReportedEveryTime) {
  const std::vector<Field> refused = {{"Origin", "https://a.example"},
                                      {"Access-Control-Request-Method", "PUT"},
                                      {"Access-Control-Request-Headers", "x-secret"}};
  const std::vector<Field> private_network = {{"Origin", "https://a.example"},
                                              {"Access-Control-Request-Method", "PUT"},
                                              {"Access-Control-Request-Private-Network", "true"}};
  for (int i = 0; i < 3; ++i) {
    EXPECT_NE(preflight(refused).find("HTTP/1.1 403"), std::string::npos);
    EXPECT_NE(preflight(private_network).find("HTTP/1.1 204"), std::string::npos);
  }
  EXPECT_EQ(logged_.size(), 6u);
}

TEST_F(KeptAnswersTest, OtherMethodsAreNeverAnsweredFromTheKeptAnswers) {
  preflight(kPut);
  const std::string get = testing::serve(staged_, {.method = "GET", .target = "/x", .fields = kPut});
  EXPECT_NE(get.find("HTTP/1.1 200"), std::string::npos);
  EXPECT_EQ(app_.calls, 1);
}

// The seed's route and one question for it: a PUT with content-type from
// https://a.example.
class PreflightCacheTest : public ::testing::Test {
 protected:
  PreflightCacheTest() {
    put_.method = "OPTIONS";
    put_.origin = {"https://a.example", 1};
    put_.request_method = {"PUT", 1};
    put_.request_headers = headers_;
  }

  const cors::RouteTable routes_ = cors::RouteTable::seed();
  const cors::Route& route_ = *routes_.match("/x");
  const std::array<std::string_view, 1> headers_{"content-type"};
  cors::CorsRequest put_;
};

TEST_F(PreflightCacheTest, ClearForgetsEveryAnswer) {
  const cors::Route& route = route_;
  const cors::CorsRequest& request = put_;
  PreflightCache cache;
  EXPECT_FALSE(cache.find(route, request));
  cache.keep(route, request, route.policy.decide(request));
  ASSERT_TRUE(cache.find(route, request));
  EXPECT_NE(cache.find(route, request)->find("Access-Control-Allow-Origin: https://a.example\r\n"),
            std::string_view::npos);
  cache.clear();
  EXPECT_FALSE(cache.find(route, request));
}

// Questions that share the kept one's slot (the same method and headers
// lengths, or any of 64 origins) are told apart by their fields.
TEST_F(PreflightCacheTest, OnlyTheSameQuestionFindsAKeptAnswer) {
  const cors::Route& route = route_;
  const cors::CorsRequest& kept = put_;
  PreflightCache cache;
  cache.keep(route, kept, route.policy.decide(kept));
  ASSERT_TRUE(cache.find(route, kept));
  cors::CorsRequest other = kept;
  other.request_method = {"GET", 1};
  EXPECT_FALSE(cache.find(route, other));
  const std::array<std::string_view, 1> same_length{"x-secret-abc"};
  other = kept;
  other.request_headers = same_length;
  EXPECT_FALSE(cache.find(route, other));
  other = kept;
  other.request_headers = {};
  EXPECT_FALSE(cache.find(route, other));
  // Kept without the field, asked with an empty line of it.
  cors::CorsRequest without = kept;
  without.request_headers = {};
  PreflightCache reflecting;
  reflecting.keep(route, without, route.policy.decide(without));
  ASSERT_TRUE(reflecting.find(route, without));
  const std::array<std::string_view, 1> empty_line{""};
  other = kept;
  other.request_headers = empty_line;
  EXPECT_FALSE(reflecting.find(route, other));
  std::vector<std::string> origins;
  for (int i = 0; i < 200; ++i) origins.push_back("https://" + std::to_string(1000 + i) + ".example");
  for (const std::string& origin : origins) {
    other = kept;
    other.origin = {origin, 1};
    EXPECT_FALSE(cache.find(route, other)) << origin;
  }
}

}  // namespace
}  // namespace corsd::http
