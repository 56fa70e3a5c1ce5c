#include "forwarding.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace corsd::proxy {
namespace {

struct Built {
  std::vector<http::Field> fields;
  std::string head;
};

std::string build(std::vector<http::Field> fields, ForwardContext context = {}, std::string_view method = "GET",
                  std::string_view path = "/items/1", std::string_view query = "") {
  http::Request request;
  request.method = method;
  request.path = path;
  request.query = query;
  request.fields = fields;
  if (context.peer.empty()) context.peer = "192.0.2.7";
  if (context.upstream_authority.empty()) context.upstream_authority = "127.0.0.1:5000";
  std::string out;
  build_upstream_request(request, context, out);
  return out;
}

bool has_line(const std::string& head, std::string_view line) {
  return head.find("\r\n" + std::string(line) + "\r\n") != std::string::npos;
}

TEST(ForwardingTest, RequestLineCarriesTheNormalizedPathAndQuery) {
  const std::string head = build({{"Host", "api.example"}}, {}, "PUT", "/private", "?a=1");
  EXPECT_EQ(head.rfind("PUT /private?a=1 HTTP/1.1\r\nHost: api.example\r\n", 0), 0u) << head;
}

TEST(ForwardingTest, HopByHopFieldsAndThoseConnectionNamesAreRemoved) {
  const std::string head = build({{"Host", "a"},
                                  {"Connection", "keep-alive, X-Secret"},
                                  {"Keep-Alive", "timeout=5"},
                                  {"TE", "trailers"},
                                  {"Upgrade", "h2c"},
                                  {"Proxy-Authorization", "Basic x"},
                                  {"X-Secret", "1"},
                                  {"X-Kept", "2"}});
  for (std::string_view gone :
       {"Connection: keep", "Keep-Alive", "TE:", "Upgrade", "Proxy-Authorization", "X-Secret"}) {
    EXPECT_EQ(head.find(gone), std::string::npos) << gone << "\n" << head;
  }
  EXPECT_TRUE(has_line(head, "X-Kept: 2"));
}

// A Connection field of hop-by-hop tokens alone is skipped as naming no
// other field: one beside it that does is still read, on either side.
TEST(ForwardingTest, AConnectionFieldBesideAKeepAliveOneStillNamesFields) {
  const std::string head = build(
      {{"Host", "a"}, {"Connection", "keep-alive"}, {"Connection", "X-Secret"}, {"X-Secret", "1"}, {"X-Kept", "2"}});
  EXPECT_EQ(head.find("X-Secret"), std::string::npos) << head;
  EXPECT_TRUE(has_line(head, "X-Kept: 2"));
  http::ResponseHead answer;
  answer.add("Connection", "keep-alive");
  answer.add("X-Internal", "secret");
  answer.add("Connection", "X-Internal");
  answer.add("X-Public", "1");
  prepare_client_head(answer);
  EXPECT_FALSE(answer.find("X-Internal"));
  EXPECT_TRUE(answer.find("X-Public"));
}

TEST(ForwardingTest, AClientCannotNameCorsdsOwnFieldsAway) {
  const std::string head = build({{"Host", "a"}, {"Connection", "X-Forwarded-For, Via, Host"}});
  EXPECT_TRUE(has_line(head, "X-Forwarded-For: 192.0.2.7"));
  EXPECT_TRUE(has_line(head, "Via: 1.1 corsd"));
  EXPECT_NE(head.find("\r\nHost: a\r\n"), std::string::npos);
}

TEST(ForwardingTest, ForwardingClaimsOfAnUntrustedPeerAreReplaced) {
  const std::string head = build({{"Host", "api.example"},
                                  {"X-Forwarded-For", "10.0.0.1"},
                                  {"X-Forwarded-Proto", "https"},
                                  {"X-Forwarded-Host", "evil.example"},
                                  {"Forwarded", "for=10.0.0.1"}});
  EXPECT_TRUE(has_line(head, "X-Forwarded-For: 192.0.2.7"));
  EXPECT_TRUE(has_line(head, "X-Forwarded-Proto: http"));
  EXPECT_TRUE(has_line(head, "X-Forwarded-Host: api.example"));
  EXPECT_EQ(head.find("10.0.0.1"), std::string::npos);
  EXPECT_EQ(head.find("evil.example"), std::string::npos);
  EXPECT_EQ(head.find("Forwarded:"), std::string::npos);
}

TEST(ForwardingTest, ForwardingClaimsOfATrustedPeerAreKeptAndAppendedTo) {
  ForwardContext context;
  context.peer_trusted = true;
  const std::string head = build({{"Host", "api.example"},
                                  {"X-Forwarded-For", "203.0.113.9"},
                                  {"X-Forwarded-For", "198.51.100.1"},
                                  {"X-Forwarded-Proto", "https"},
                                  {"X-Forwarded-Host", "www.example"}},
                                 context);
  EXPECT_TRUE(has_line(head, "X-Forwarded-For: 203.0.113.9, 198.51.100.1, 192.0.2.7"));
  EXPECT_TRUE(has_line(head, "X-Forwarded-Proto: https"));
  EXPECT_TRUE(has_line(head, "X-Forwarded-Host: www.example"));
}

TEST(ForwardingTest, ViaIsAppendedToTheClientsVia) {
  const std::string head = build({{"Host", "a"}, {"Via", "1.0 fred"}});
  EXPECT_TRUE(has_line(head, "Via: 1.0 fred, 1.1 corsd"));
}

TEST(ForwardingTest, HostIsTheClientsOrTheUpstreams) {
  EXPECT_NE(build({{"Host", "api.example"}}).find("\r\nHost: api.example\r\n"), std::string::npos);
  ForwardContext context;
  context.forward_client_host = false;
  const std::string head = build({{"Host", "api.example"}}, context);
  EXPECT_NE(head.find("\r\nHost: 127.0.0.1:5000\r\n"), std::string::npos);
  EXPECT_EQ(head.find("\r\nHost: api.example"), std::string::npos);
  EXPECT_TRUE(has_line(head, "X-Forwarded-Host: api.example"));
}

TEST(ForwardingTest, ExactlyOneFraming) {
  ForwardContext chunked;
  chunked.chunked = true;
  const std::string a =
      build({{"Host", "a"}, {"Transfer-Encoding", "chunked"}, {"Content-Length", "5"}}, chunked, "POST");
  EXPECT_TRUE(has_line(a, "Transfer-Encoding: chunked"));
  EXPECT_EQ(a.find("Content-Length"), std::string::npos);
  ForwardContext length;
  length.content_length = 26;
  const std::string b = build({{"Host", "a"}, {"Content-Length", "26"}, {"Content-Length", "26"}}, length, "PUT");
  EXPECT_TRUE(has_line(b, "Content-Length: 26"));
  EXPECT_EQ(b.find("Content-Length", b.find("Content-Length") + 1), std::string::npos);
  EXPECT_TRUE(has_line(build({{"Host", "a"}}, {}, "POST"), "Content-Length: 0"));
  EXPECT_EQ(build({{"Host", "a"}}, {}, "GET").find("Content-Length"), std::string::npos);
}

TEST(ForwardingTest, ExpectIsAnsweredByCorsdNotForwarded) {
  ForwardContext length;
  length.content_length = 5;
  EXPECT_EQ(build({{"Host", "a"}, {"Expect", "100-continue"}}, length, "PUT").find("Expect"), std::string::npos);
}

TEST(ForwardingTest, NoReuseAsksTheUpstreamToClose) {
  ForwardContext context;
  context.keep_alive = false;
  EXPECT_TRUE(has_line(build({{"Host", "a"}}, context), "Connection: close"));
}

TEST(ForwardingTest, ClientHeadLosesHopByHopAndFramingAndGainsVia) {
  http::ResponseHead head;
  head.status = 200;
  head.add("Connection", "close, X-Internal");
  head.add("X-Internal", "secret");
  head.add("Keep-Alive", "timeout=5");
  head.add("Transfer-Encoding", "chunked");
  head.add("Content-Length", "12");
  head.add("Set-Cookie", "a=1");
  head.add("Via", "1.1 backend");
  prepare_client_head(head);
  std::vector<std::string> names;
  for (std::size_t i = 0; i < head.size(); ++i) names.emplace_back(head[i].name);
  EXPECT_EQ(names, (std::vector<std::string>{"Set-Cookie", "Via", "Via"}));
  EXPECT_EQ(head[2].value, "1.1 corsd");
}

}  // namespace
}  // namespace corsd::proxy
