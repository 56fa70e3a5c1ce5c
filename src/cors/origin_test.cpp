#include "corsd/cors/origin.hpp"

#include <gtest/gtest.h>

namespace corsd::cors {
namespace {

TEST(OriginTest, SerializedOriginsAsBrowsersSendThem) {
  for (const char* ok : {"https://example.com", "http://localhost:8081", "http://127.0.0.1:8080",
                         "http://[::1]:8080", "https://xn--bcher-kva.example", "chrome-extension://abc"}) {
    EXPECT_TRUE(is_serialized_origin(ok)) << ok;
  }
}

TEST(OriginTest, AnythingElseIsNotASerializedOrigin) {
  for (const char* bad : {"null", "", "example.com", "https://", "https://example.com/", "https://example.com/x",
                          "HTTPS://example.com", "https://Example.com", "https://example.com:", "https://a.com:65536",
                          "https://a.com:080", "https://a b.com", "https://user@a.com", "https://a.com, https://b.com",
                          "https://*.example.com"}) {
    EXPECT_FALSE(is_serialized_origin(bad)) << bad;
  }
}

TEST(OriginTest, ConfiguredOriginsAreNormalized) {
  EXPECT_EQ(normalize_origin("HTTPS://App.Example.COM").origin, "https://app.example.com");
  EXPECT_EQ(normalize_origin("https://example.com:443").origin, "https://example.com");
  EXPECT_EQ(normalize_origin("http://example.com:80").origin, "http://example.com");
  EXPECT_EQ(normalize_origin("http://localhost:8081").origin, "http://localhost:8081");
  EXPECT_EQ(normalize_origin("https://example.com:80").origin, "https://example.com:80");
}

TEST(OriginTest, ConfiguredOriginMistakesAreRefusedWithAFix) {
  for (const char* bad : {"null", "https://example.com/", "https://example.com/app", "example.com",
                          "https://*.example.com", "https://user@example.com", "https://example.com:99999"}) {
    const NormalizedOrigin n = normalize_origin(bad);
    EXPECT_FALSE(n.ok()) << bad;
    EXPECT_FALSE(n.fix.empty()) << bad;
  }
}

TEST(OriginMatcherTest, ListedOriginsMatchExactlyNeverByPrefixOrSuffix) {
  const auto m = OriginMatcher::listed({"https://example.com", "http://localhost:8081"});
  EXPECT_EQ(m.allow_origin_for("https://example.com"), "https://example.com");
  EXPECT_EQ(m.allow_origin_for("http://localhost:8081"), "http://localhost:8081");
  EXPECT_EQ(m.allow_origin_for("https://example.com.evil.com"), "");
  EXPECT_EQ(m.allow_origin_for("https://evilexample.com"), "");
  EXPECT_EQ(m.allow_origin_for("http://example.com"), "");
  EXPECT_EQ(m.allow_origin_for("http://localhost:8082"), "");
  EXPECT_EQ(m.allow_origin_for("null"), "");
  EXPECT_TRUE(m.varies_by_origin());
}

TEST(OriginMatcherTest, AnyAnswersWildcardAndDoesNotVary) {
  const auto m = OriginMatcher::any();
  EXPECT_EQ(m.allow_origin_for("https://example.com"), "*");
  EXPECT_FALSE(m.varies_by_origin());
}

TEST(OriginMatcherTest, AnyEchoedEchoesOnlySerializedOrigins) {
  const auto m = OriginMatcher::any_echoed();
  EXPECT_EQ(m.allow_origin_for("http://localhost:8081"), "http://localhost:8081");
  EXPECT_EQ(m.allow_origin_for("null"), "");
  EXPECT_EQ(m.allow_origin_for("http://a.com\r\nSet-Cookie: x=1"), "");
  EXPECT_EQ(m.allow_origin_for("http://a.com, http://b.com"), "");
}

}  // namespace
}  // namespace corsd::cors
