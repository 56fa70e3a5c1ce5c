#include "corsd/http/response.hpp"

#include <gtest/gtest.h>

#include <utility>
#include <vector>

#include "corsd/http/request.hpp"

namespace corsd::http {
namespace {

constexpr std::string_view kDate = "Wed, 25 Nov 2026 13:00:00 GMT";

std::string serialize(void (*build)(Response&), ResponseContext context = {kDate, false, true, 11}) {
  std::string out;
  Response r(out, context);
  build(r);
  return out;
}

TEST(ResponseTest, SerializesStatusFieldsDateLengthAndBody) {
  const std::string out = serialize([](Response& r) {
    r.add("Content-Type", "text/plain; charset=utf-8");
    r.send({"Hello, ", "Zo\xc3\xab"});
  });
  EXPECT_EQ(out,
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
            "Date: Wed, 25 Nov 2026 13:00:00 GMT\r\nContent-Length: 11\r\n\r\nHello, Zo\xc3\xab");
}

TEST(ResponseTest, HeadGetsTheLengthButNoBody) {
  const std::string out = serialize([](Response& r) { r.send("12345"); }, {kDate, true, true, 11});
  EXPECT_EQ(out, "HTTP/1.1 200 OK\r\nDate: Wed, 25 Nov 2026 13:00:00 GMT\r\nContent-Length: 5\r\n\r\n");
}

TEST(ResponseTest, ClosingConnectionIsAnnounced) {
  const std::string out = serialize([](Response& r) {
    r.set_status(204);
    r.close_connection();
    r.send();
  });
  EXPECT_EQ(out,
            "HTTP/1.1 204 No Content\r\nDate: Wed, 25 Nov 2026 13:00:00 GMT\r\nContent-Length: 0\r\n"
            "Connection: close\r\n\r\n");
}

TEST(ResponseTest, Http10KeepAliveIsAnnounced) {
  const std::string out = serialize([](Response& r) { r.send(); }, {kDate, false, true, 10});
  EXPECT_NE(out.find("\r\nConnection: keep-alive\r\n"), std::string::npos);
}

TEST(ResponseTest, VaryFromCorsAloneIsEmitted) {
  const std::string out = serialize([](Response& r) {
    r.add_vary("Origin");
    r.send();
  });
  EXPECT_NE(out.find("\r\nVary: Origin\r\n"), std::string::npos);
}

TEST(ResponseTest, VaryIsMergedIntoOneFieldWithoutDuplicates) {
  const std::string out = serialize([](Response& r) {
    r.add_vary("Origin, Access-Control-Request-Method");
    r.add("Vary", "Accept-Encoding, origin");
    r.send();
  });
  EXPECT_NE(out.find("\r\nVary: Accept-Encoding, origin, Access-Control-Request-Method\r\n"), std::string::npos);
  EXPECT_EQ(out.find("Vary", out.find("Vary") + 1), std::string::npos);
}

TEST(ResponseTest, VaryStarStaysStar) {
  const std::string out = serialize([](Response& r) {
    r.add_vary("Origin");
    r.add("Vary", "*");
    r.send();
  });
  EXPECT_NE(out.find("\r\nVary: *\r\n"), std::string::npos);
}

TEST(RequestTest, PathDropsQueryAndAbsoluteFormAuthority) {
  for (const auto& [target, path] : std::vector<std::pair<std::string_view, std::string_view>>{
           {"/a/b?x=1", "/a/b"}, {"/", "/"}, {"http://h:8080/a?x", "/a"}, {"http://h", "/"}, {"https://h?q", "/"},
           {"*", "*"}}) {
    Request r;
    r.target = target;
    EXPECT_EQ(r.path(), path) << target;
  }
}

TEST(ResponseTest, SecondSendIsIgnored) {
  const std::string out = serialize([](Response& r) {
    r.send("a");
    r.send("b");
  });
  EXPECT_EQ(out.substr(out.size() - 1), "a");
  EXPECT_EQ(out.find("HTTP/1.1", 1), std::string::npos);
}

}  // namespace
}  // namespace corsd::http
