#include "corsd/proxy/upstream.hpp"

#include <gtest/gtest.h>

namespace corsd::proxy {
namespace {

TEST(UpstreamTest, ParsesHostAndPort) {
  const auto u = std::get<Upstream>(parse_upstream("http://127.0.0.1:5000"));
  EXPECT_EQ(u.host, "127.0.0.1");
  EXPECT_EQ(u.port, 5000);
  EXPECT_EQ(u.authority, "127.0.0.1:5000");
  const auto v6 = std::get<Upstream>(parse_upstream("http://[::1]:8080/"));
  EXPECT_EQ(v6.host, "::1");
  EXPECT_EQ(v6.port, 8080);
  const auto named = std::get<Upstream>(parse_upstream("http://api.internal"));
  EXPECT_EQ(named.port, 80);
  EXPECT_EQ(named.authority, "api.internal");
}

TEST(UpstreamTest, RefusesWhatItCannotForwardTo) {
  for (std::string_view url : {"https://a.example/api", "ftp://a", "127.0.0.1:5000", "http://a/api", "http://a?x",
                               "http://u@a", "http://a:0", "http://a:99999", "http://", "http://[::1"}) {
    const auto result = parse_upstream(url);
    ASSERT_TRUE(std::holds_alternative<UpstreamError>(result)) << url;
    EXPECT_FALSE(std::get<UpstreamError>(result).fix.empty()) << url;
  }
}

TEST(UpstreamTest, HttpsUpstreamsDefaultToPort443) {
  const auto u = std::get<Upstream>(parse_upstream("https://api.example"));
  EXPECT_TRUE(u.https);
  EXPECT_EQ(u.port, 443);
  EXPECT_EQ(u.host, "api.example");
  const auto plain = std::get<Upstream>(parse_upstream("http://api.example"));
  EXPECT_FALSE(plain.https);
  EXPECT_EQ(plain.port, 80);
  EXPECT_EQ(std::get<Upstream>(parse_upstream("https://[::1]:8443/")).port, 8443);
}

TEST(UpstreamTest, ResolvesLiteralsAndNames) {
  auto u = std::get<Upstream>(parse_upstream("http://127.0.0.1:5000"));
  EXPECT_EQ(resolve(u), "");
  EXPECT_EQ(u.addresses, std::vector<std::string>{"127.0.0.1"});
  auto local = std::get<Upstream>(parse_upstream("http://localhost:5000"));
  EXPECT_EQ(resolve(local), "");
  EXPECT_FALSE(local.addresses.empty());
}

TEST(UpstreamTest, AddressesAreCanonical) {
  EXPECT_EQ(parse_address("::0:1"), "::1");
  EXPECT_EQ(parse_address("127.0.0.1"), "127.0.0.1");
  EXPECT_EQ(parse_address("localhost"), "");
}

}  // namespace
}  // namespace corsd::proxy
