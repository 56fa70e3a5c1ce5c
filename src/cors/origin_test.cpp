#include "corsd/cors/detail/origin.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace corsd::cors {
namespace {

TEST(OriginTest, SerializedOriginsAsBrowsersSendThem) {
  for (const char* ok : {"https://example.com", "http://localhost:8081", "http://127.0.0.1:8080", "http://[::1]:8080",
                         "https://xn--bcher-kva.example", "chrome-extension://abc"}) {
    EXPECT_TRUE(is_serialized_origin(ok)) << ok;
  }
}

TEST(OriginTest, AnythingElseIsNotASerializedOrigin) {
  for (const char* bad :
       {"null", "", "example.com", "https://", "https://example.com/", "https://example.com/x", "HTTPS://example.com",
        "https://Example.com", "https://example.com:", "https://a.com:65536", "https://a.com:080", "https://a b.com",
        "https://user@a.com", "https://a.com, https://b.com", "https://*.example.com",
        // IPv6 not as the URL Standard serializes it, or no IPv6 at all.
        "http://[::::]", "http://[0::1]", "http://[::ffff:1.2.3.4]", "http://[1:0::]", "http://[::0:1]",
        "http://[FE80::1]", "http://[1.2.3.4]", "http://[::1"}) {
    EXPECT_FALSE(is_serialized_origin(bad)) << bad;
  }
}

TEST(OriginTest, HostsPastDnsLimitsAreNoOrigins) {
  const std::string label63(63, 'a');
  const std::string name253 = label63 + "." + label63 + "." + label63 + "." + std::string(61, 'a');
  ASSERT_EQ(name253.size(), 253u);
  EXPECT_TRUE(is_serialized_origin("https://" + label63 + ".example"));
  EXPECT_TRUE(is_serialized_origin("https://" + name253));
  EXPECT_FALSE(is_serialized_origin("https://" + label63 + "a.example"));
  EXPECT_FALSE(is_serialized_origin("https://" + name253 + "a"));
  EXPECT_FALSE(is_serialized_origin("https://" + std::string(96 * 1024, 'a')));
  for (const std::string& host : {name253 + "a", label63 + "a.example", std::string(96 * 1024, 'a')}) {
    const ParsedOriginRule p = parse_origin_rule("https://" + host);
    EXPECT_FALSE(p.ok()) << host.size();
    EXPECT_NE(p.error.find("longer than DNS allows"), std::string::npos) << p.error;
  }
  EXPECT_TRUE(parse_origin_rule("https://*." + name253.substr(2)).ok());
}

std::vector<OriginRule> rules(std::initializer_list<const char*> texts) {
  std::vector<OriginRule> out;
  for (const char* t : texts) {
    ParsedOriginRule p = parse_origin_rule(t);
    EXPECT_TRUE(p.ok()) << t << ": " << p.error;
    out.push_back(p.rule);
  }
  return out;
}

TEST(OriginTest, ConfiguredOriginsAreNormalized) {
  EXPECT_EQ(parse_origin_rule("HTTPS://App.Example.COM").rule.text, "https://app.example.com");
  EXPECT_EQ(parse_origin_rule("https://example.com:443").rule.text, "https://example.com");
  EXPECT_EQ(parse_origin_rule("http://example.com:80").rule.text, "http://example.com");
  EXPECT_EQ(parse_origin_rule("http://localhost:8081").rule.text, "http://localhost:8081");
  EXPECT_EQ(parse_origin_rule("https://example.com:80").rule.text, "https://example.com:80");
  EXPECT_EQ(parse_origin_rule("http://[0:0:0:0:0:0:0:1]:8080").rule.text, "http://[::1]:8080");
  // As the URL Standard serializes IPv6, which is what browsers send.
  EXPECT_EQ(parse_origin_rule("http://[::ffff:1.2.3.4]").rule.text, "http://[::ffff:102:304]");
  EXPECT_EQ(parse_origin_rule("http://[FE80:0:0:0:0:0:1:2]").rule.text, "http://[fe80::1:2]");
  EXPECT_EQ(parse_origin_rule("http://[1:0:2:0:0:3:0:0]").rule.text, "http://[1:0:2::3:0:0]");
  EXPECT_EQ(parse_origin_rule("http://[1:0:0:2:0:0:3:4]").rule.text, "http://[1::2:0:0:3:4]");
  EXPECT_EQ(parse_origin_rule("http://[1:2:3:4:5:6:7:0]").rule.text, "http://[1:2:3:4:5:6:7:0]");
  EXPECT_EQ(parse_origin_rule("http://[1::]").rule.text, "http://[1::]");
  EXPECT_EQ(parse_origin_rule("http://[1:2:3:4:5:6:7::]").rule.text, "http://[1:2:3:4:5:6:7:0]");
  EXPECT_EQ(parse_origin_rule("http://[::]").rule.text, "http://[::]");
  EXPECT_EQ(parse_origin_rule("http://[::1.2.3.4]").rule.text, "http://[::102:304]");
  EXPECT_EQ(parse_origin_rule("https://xn--bcher-kva.example").rule.text, "https://xn--bcher-kva.example");
  EXPECT_EQ(parse_origin_rule("https://*.Example.com").rule.text, "https://*.example.com");
  EXPECT_EQ(parse_origin_rule("http://localhost:*").rule.text, "http://localhost:*");
}

TEST(OriginTest, ConfiguredOriginMistakesAreRefusedWithAFix) {
  for (const char* bad : {"null",
                          "https://example.com/",
                          "https://example.com/app",
                          "example.com",
                          "https://user@example.com",
                          "https://example.com:99999",
                          "https://*example.com",
                          "https://a.*.example.com",
                          "https://*",
                          "*://example.com",
                          "https://*.127.0.0.1",
                          "https://b\xc3\xbc"
                          "cher.example",
                          "https://[::1",
                          "http://[::1:80",
                          "https://ex ample.com",
                          "http://[1:::2]",
                          "http://[1::2::3]",
                          "http://[1:2:3:4:5:6:7:8:9]",
                          "http://[12345::]",
                          "http://[1:2]",
                          "http://[:1::]",
                          "http://[1::2:]",
                          "http://[::1.2.3.256]",
                          "http://[::01.2.3.4]",
                          "http://[g::]"}) {
    const ParsedOriginRule p = parse_origin_rule(bad);
    EXPECT_FALSE(p.ok()) << bad;
    EXPECT_FALSE(p.fix.empty()) << bad;
  }
}

TEST(OriginTest, LoopbackHosts) {
  for (const char* h : {"localhost", "127.0.0.1", "127.1.2.3", "[::1]", "app.localhost"})
    EXPECT_TRUE(is_loopback_host(h)) << h;
  for (const char* h : {"example.com", "127.0.0.1.evil.com", "localhost.evil.com", "10.0.0.1", "[::2]"}) {
    EXPECT_FALSE(is_loopback_host(h)) << h;
  }
}

TEST(OriginMatcherTest, ListedOriginsMatchExactlyNeverByPrefixOrSuffix) {
  const auto m = OriginMatcher::listed(rules({"https://example.com", "http://localhost:8081"}));
  EXPECT_EQ(m.allow_origin_for("https://example.com"), "https://example.com");
  EXPECT_EQ(m.allow_origin_for("http://localhost:8081"), "http://localhost:8081");
  EXPECT_EQ(m.allow_origin_for("https://example.com.evil.com"), "");
  EXPECT_EQ(m.allow_origin_for("https://evilexample.com"), "");
  EXPECT_EQ(m.allow_origin_for("http://example.com"), "");
  EXPECT_EQ(m.allow_origin_for("http://localhost:8082"), "");
  EXPECT_EQ(m.allow_origin_for("null"), "");
  EXPECT_TRUE(m.varies_by_origin());
}

TEST(OriginMatcherTest, SubdomainPatternMatchesWholeLabelsButNeverTheApex) {
  const auto m = OriginMatcher::listed(rules({"https://*.example.com"}));
  EXPECT_EQ(m.allow_origin_for("https://app.example.com"), "https://app.example.com");
  EXPECT_EQ(m.allow_origin_for("https://a.b.example.com"), "https://a.b.example.com");
  EXPECT_EQ(m.allow_origin_for("https://example.com"), "");
  EXPECT_EQ(m.allow_origin_for("https://evilexample.com"), "");
  EXPECT_EQ(m.allow_origin_for("https://example.com.evil.com"), "");
  EXPECT_EQ(m.allow_origin_for("https://app.example.com.evil.com"), "");
  EXPECT_EQ(m.allow_origin_for("http://app.example.com"), "");
  EXPECT_EQ(m.allow_origin_for("https://app.example.com:8443"), "");
  EXPECT_EQ(m.allow_origin_for("https://.example.com"), "");
}

TEST(OriginMatcherTest, AnyPortPatternMatchesEveryPortOfThatHostOnly) {
  const auto m = OriginMatcher::listed(rules({"http://localhost:*"}));
  EXPECT_EQ(m.allow_origin_for("http://localhost:8081"), "http://localhost:8081");
  EXPECT_EQ(m.allow_origin_for("http://localhost"), "http://localhost");
  EXPECT_EQ(m.allow_origin_for("https://localhost:8081"), "");
  EXPECT_EQ(m.allow_origin_for("http://localhost.evil.com:8081"), "");
  EXPECT_EQ(m.allow_origin_for("http://127.0.0.1:8081"), "");
}

TEST(OriginMatcherTest, ThousandsOfExactOriginsAreFoundByHash) {
  std::vector<OriginRule> many;
  for (int i = 0; i < 5000; ++i)
    many.push_back(parse_origin_rule("https://site" + std::to_string(i) + ".example").rule);
  const auto m = OriginMatcher::listed(many);
  EXPECT_EQ(m.allow_origin_for("https://site4999.example"), "https://site4999.example");
  EXPECT_EQ(m.allow_origin_for("https://site5000.example"), "");
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
  EXPECT_EQ(m.allow_origin_for("http://[::1]:8080"), "http://[::1]:8080");
  EXPECT_EQ(m.allow_origin_for("http://[::::]"), "");
  EXPECT_EQ(m.allow_origin_for("http://[1.2.3.4]"), "");
}

TEST(OriginMatcherTest, AHundredThousandPatternsAreFoundByTheirHost) {
  std::vector<OriginRule> many;
  for (int i = 0; i < 100000; ++i) {
    many.push_back(parse_origin_rule("https://*.x" + std::to_string(i) + ".example").rule);
    if (i % 1000 == 0) many.push_back(parse_origin_rule("http://p" + std::to_string(i) + ".example:*").rule);
  }
  many.push_back(parse_origin_rule("https://*.example:8443").rule);
  const auto m = OriginMatcher::listed(many);
  EXPECT_EQ(m.allow_origin_for("https://app.x99999.example"), "https://app.x99999.example");
  EXPECT_EQ(m.allow_origin_for("https://a.b.x7.example"), "https://a.b.x7.example");
  EXPECT_EQ(m.allow_origin_for("https://x7.example"), "");  // the apex
  EXPECT_EQ(m.allow_origin_for("http://app.x7.example"), "");
  EXPECT_EQ(m.allow_origin_for("https://app.x100000.example"), "");
  EXPECT_EQ(m.allow_origin_for("http://p5000.example:9"), "http://p5000.example:9");
  EXPECT_EQ(m.allow_origin_for("http://a.p5000.example:9"), "");  // not a subdomain pattern
  EXPECT_EQ(m.allow_origin_for("https://x7.example:8443"), "https://x7.example:8443");
  EXPECT_EQ(m.allow_origin_for("https://x7.example:8444"), "");
}

}  // namespace
}  // namespace corsd::cors
