#include "corsd/app/echo_api.hpp"

#include <gtest/gtest.h>

#include "corsd/testing/serve.hpp"

namespace corsd::app {
namespace {

std::string answer(std::string_view method, std::string_view body) {
  EchoApi api;
  return testing::serve(api, {.method = method, .body = body});
}

TEST(EchoApiTest, EchoesMethodAndBodyAsTheSeedDoes) {
  const std::string out = answer("PUT", R"({"name":"Tricia","age":37})");
  EXPECT_EQ(out,
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
            "Date: Wed, 25 Nov 2026 13:00:00 GMT\r\nContent-Length: 85\r\n\r\n"
            "Thank You For The Cross-Domain AJAX Request:\n\nMethod: PUT\n\n{\"name\":\"Tricia\",\"age\":37}");
}

TEST(EchoApiTest, ContentLengthCountsBytesOfNonAsciiBodies) {
  const std::string body = "{\"name\":\"Zo\xc3\xab \xe6\x97\xa5\xe6\x9c\xac\"}";  // 日本
  const std::string out = answer("POST", body);
  const std::string expected_body = "Thank You For The Cross-Domain AJAX Request:\n\nMethod: POST\n\n" + body;
  EXPECT_NE(out.find("Content-Length: " + std::to_string(expected_body.size()) + "\r\n"), std::string::npos);
  EXPECT_EQ(out.substr(out.size() - expected_body.size()), expected_body);
}

TEST(EchoApiTest, HeadGetsHeadersOnlyTheSameAsGet) {
  const std::string head = answer("HEAD", "");
  EXPECT_EQ(head.substr(head.size() - 4), "\r\n\r\n");
  const std::string get = answer("GET", "");
  EXPECT_EQ(head, get.substr(0, head.size()));  // same status line and fields, Content-Length included
  EXPECT_NE(head.find("Content-Length: 59\r\n"), std::string::npos);
}

}  // namespace
}  // namespace corsd::app
