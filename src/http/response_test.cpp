#include "corsd/http/response.hpp"

#include <gtest/gtest.h>

#include <utility>
#include <vector>

#include "corsd/http/request.hpp"
#include "corsd/http/target.hpp"

namespace corsd::http {
namespace {

constexpr std::string_view kDate = "Wed, 25 Nov 2026 13:00:00 GMT";

std::string serialize(void (*build)(Response&), ResponseContext context = {kDate, false, true, 11}) {
  std::string out;
  ResponseHead head;
  Response r(out, head, context);
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

TEST(ResponseTest, ClosingConnectionIsAnnouncedAndA204HasNoLength) {
  const std::string out = serialize([](Response& r) {
    r.set_status(204);
    r.close_connection();
    r.send("ignored");
  });
  // RFC 9110 §8.6: a 204 carries no Content-Length, and no body.
  EXPECT_EQ(out, "HTTP/1.1 204 No Content\r\nDate: Wed, 25 Nov 2026 13:00:00 GMT\r\nConnection: close\r\n\r\n");
}

TEST(ResponseTest, NotModifiedHasNoLengthNorBody) {
  const std::string out = serialize([](Response& r) {
    r.set_status(304);
    r.send("ignored");
  });
  EXPECT_EQ(out, "HTTP/1.1 304 Not Modified\r\nDate: Wed, 25 Nov 2026 13:00:00 GMT\r\n\r\n");
}

TEST(ResponseTest, FieldsAreNeverDroppedPastAFixedCount) {
  const std::string out = serialize([](Response& r) {
    for (std::size_t i = 0; i < 60; ++i) r.add("X-Field-" + std::to_string(i), std::string(i, 'v'));
    r.send();
  });
  EXPECT_NE(out.find("\r\nX-Field-0: \r\n"), std::string::npos);
  EXPECT_NE(out.find("\r\nX-Field-59: " + std::string(59, 'v') + "\r\n"), std::string::npos);
}

TEST(ResponseTest, FramingFieldsAreTheSerializersOwn) {
  const std::string out = serialize([](Response& r) {
    r.add("Content-Length", "999");
    r.add("Transfer-Encoding", "chunked");
    r.add("Connection", "upgrade");
    r.send("ab");
  });
  EXPECT_EQ(out, "HTTP/1.1 200 OK\r\nDate: Wed, 25 Nov 2026 13:00:00 GMT\r\nContent-Length: 2\r\n\r\nab");
}

TEST(ResponseTest, ADateOfTheHeadIsKept) {
  const std::string out = serialize([](Response& r) {
    r.add("Date", "Tue, 24 Nov 2026 10:00:00 GMT");
    r.send();
  });
  EXPECT_NE(out.find("\r\nDate: Tue, 24 Nov 2026 10:00:00 GMT\r\n"), std::string::npos);
  EXPECT_EQ(out.find(std::string(kDate)), std::string::npos);
}

TEST(ResponseTest, Http10KeepAliveIsAnnounced) {
  const std::string out = serialize([](Response& r) { r.send(); }, {kDate, false, true, 10});
  EXPECT_NE(out.find("\r\nConnection: keep-alive\r\n"), std::string::npos);
}

TEST(ResponseTest, VaryFromCorsAloneIsEmitted) {
  const std::string out = serialize([](Response& r) {
    r.head().add_vary("Origin");
    r.send();
  });
  EXPECT_NE(out.find("\r\nVary: Origin\r\n"), std::string::npos);
}

TEST(ResponseTest, VaryIsMergedIntoOneFieldWithoutDuplicates) {
  const std::string out = serialize([](Response& r) {
    r.head().add_vary("Origin, Access-Control-Request-Method");
    r.add("Vary", "Accept-Encoding, origin");
    r.add("Vary", "Accept-Language");
    r.send();
  });
  EXPECT_NE(out.find("\r\nVary: Accept-Encoding, origin, Accept-Language, Access-Control-Request-Method\r\n"),
            std::string::npos);
  EXPECT_EQ(out.find("Vary", out.find("Vary") + 1), std::string::npos);
}

TEST(ResponseTest, VaryStarStaysStar) {
  const std::string out = serialize([](Response& r) {
    r.head().add_vary("Origin");
    r.add("Vary", "*");
    r.send();
  });
  EXPECT_NE(out.find("\r\nVary: *\r\n"), std::string::npos);
}

TEST(ResponseTest, AVaryFieldOfTheHeadAloneIsKept) {
  const std::string out = serialize([](Response& r) {
    r.add("Vary", "Accept-Encoding");
    r.send();
  });
  EXPECT_NE(out.find("\r\nVary: Accept-Encoding\r\n"), std::string::npos) << out;
  EXPECT_EQ(serialize([](Response& r) { r.send(); }).find("Vary"), std::string::npos);
}

// Status lines come from a table for 100-599; a status without a reason
// phrase keeps its space, and one past the table is composed as before.
TEST(ResponseTest, EveryStatusGetsItsStatusLine) {
  for (const auto& [status, line] :
       std::vector<std::pair<unsigned, std::string_view>>{{100, "HTTP/1.1 100 Continue\r\n"},
                                                          {200, "HTTP/1.1 200 OK\r\n"},
                                                          {418, "HTTP/1.1 418 \r\n"},
                                                          {505, "HTTP/1.1 505 HTTP Version Not Supported\r\n"},
                                                          {599, "HTTP/1.1 599 \r\n"},
                                                          {600, "HTTP/1.1 600 \r\n"}}) {
    ResponseHead head;
    head.status = status;
    std::string out;
    serialize_head(head, {kDate, false, true, 11}, {Framing::Kind::none, 0}, out);
    EXPECT_EQ(out.substr(0, line.size()), line) << status;
    EXPECT_NE(out.find("\r\nDate: "), std::string::npos) << status;
  }
}

TEST(TargetTest, PathDropsQueryAndAbsoluteFormAuthority) {
  for (const auto& [target, path] :
       std::vector<std::pair<std::string_view, std::string_view>>{{"/a/b?x=1", "/a/b"},
                                                                  {"/", "/"},
                                                                  {"http://h:8080/a?x", "/a"},
                                                                  {"http://h", "/"},
                                                                  {"https://h?q", "/"},
                                                                  {"*", "*"}}) {
    std::string scratch;
    EXPECT_EQ(normalize_target(target, scratch).path, path) << target;
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
