#include "corsd/cors/host.hpp"

#include <gtest/gtest.h>

namespace corsd::cors {
namespace {

TEST(RequestFieldsTest, OnePassGathersTheCorsFields) {
  RequestFields fields;
  fields.add("Host", "api.example");
  fields.add("ORIGIN", "https://app.example");
  fields.add("Access-Control-Request-Method", "PUT");
  fields.add("access-control-request-headers", "content-type");
  fields.add("Access-Control-Request-Headers", "x-a");
  fields.add("Access-Control-Request-Private-Network", "TRUE");  // only "true" counts
  const CorsRequest r = fields.request("OPTIONS");
  EXPECT_EQ(r.method, "OPTIONS");
  EXPECT_EQ(r.origin.value, "https://app.example");
  EXPECT_EQ(r.origin.count, 1);
  EXPECT_EQ(r.request_method.value, "PUT");
  ASSERT_EQ(r.request_headers.size(), 2u);
  EXPECT_EQ(r.request_headers[1], "x-a");
  EXPECT_FALSE(r.request_private_network.present());
}

TEST(RequestFieldsTest, ARepeatedOriginIsCounted) {
  RequestFields fields;
  fields.add("Origin", "https://a.example");
  fields.add("Origin", "https://b.example");
  EXPECT_EQ(fields.request("GET").origin.count, 2);
  EXPECT_EQ(fields.request("GET").origin.value, "https://a.example");
}

TEST(HostTest, VaryIsMergedOnceAndStarStaysAlone) {
  EXPECT_EQ(merge_vary("", "Origin"), "Origin");
  EXPECT_EQ(merge_vary("Accept-Encoding", "Origin"), "Accept-Encoding, Origin");
  EXPECT_EQ(merge_vary("origin, Accept", "Origin, Access-Control-Request-Method"),
            "origin, Accept, Access-Control-Request-Method");
  EXPECT_EQ(merge_vary("*", "Origin"), "*");
  EXPECT_EQ(merge_vary("", ""), "");
}

TEST(HostTest, AccessControlFieldsInAnyCase) {
  EXPECT_TRUE(is_access_control_field("access-control-allow-origin"));
  EXPECT_TRUE(is_access_control_field("Access-Control-"));
  EXPECT_FALSE(is_access_control_field("Access-Control"));
  EXPECT_FALSE(is_access_control_field("X-Access-Control-Allow-Origin"));
}

TEST(HostTest, ThePreflightsAnswer) {
  PolicySpec spec;
  spec.allow_origins = {"https://app.example"};
  spec.allow_methods = {"PUT"};
  const auto created = Policy::create(spec);
  const Policy& policy = std::get<Policy>(created);
  RequestFields fields;
  fields.add("Origin", "https://app.example");
  fields.add("Access-Control-Request-Method", "PUT");
  fields.add("Access-Control-Request-Headers", "x-secret");
  const Decision refused = policy.decide(fields.request("OPTIONS"));
  EXPECT_TRUE(answers_preflight(policy, refused));
  EXPECT_EQ(preflight_status(refused), 403u);
  EXPECT_EQ(preflight_body(refused), "CORS preflight rejected: header_not_allowed: x-secret\n");
  RequestFields ok;
  ok.add("Origin", "https://app.example");
  ok.add("Access-Control-Request-Method", "PUT");
  const Decision accepted = policy.decide(ok.request("OPTIONS"));
  EXPECT_EQ(preflight_status(accepted), 204u);
  EXPECT_EQ(preflight_body(accepted), "");
}

}  // namespace
}  // namespace corsd::cors
