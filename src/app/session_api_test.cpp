#include "corsd/app/session_api.hpp"

#include <gtest/gtest.h>

#include <set>
#include <vector>

#include "corsd/app/echo_api.hpp"
#include "corsd/testing/serve.hpp"

namespace corsd::app {
namespace {

std::string answer(std::string_view method, std::string_view target, std::vector<http::Field> fields = {}) {
  EchoApi echo;
  SessionApi api(echo);
  return testing::serve(api, {.method = method, .target = target, .fields = std::move(fields)});
}

TEST(SessionApiTest, PostSessionSetsAnHttpOnlyLaxCookieAndARequestId) {
  const std::string out = answer("POST", "/session");
  EXPECT_NE(out.find("\r\nSet-Cookie: corsd_session="), std::string::npos);
  EXPECT_NE(out.find("; Path=/; HttpOnly; SameSite=Lax\r\n"), std::string::npos);
  EXPECT_NE(out.find("\r\nX-Request-Id: "), std::string::npos);
  EXPECT_NE(out.find("session started: "), std::string::npos);
}

TEST(SessionApiTest, WhoamiReportsCookieAndAuthorization) {
  const std::string out = answer("GET", "/whoami?x", {{"Cookie", "corsd_session=abc"}, {"Authorization", "Bearer t"}});
  EXPECT_NE(out.find("cookie: corsd_session=abc\nauthorization: Bearer t\n"), std::string::npos);
  EXPECT_NE(answer("GET", "/whoami").find("cookie: (none)\nauthorization: (none)\n"), std::string::npos);
}

TEST(SessionApiTest, OtherPathsAreEchoed) {
  EXPECT_NE(answer("PUT", "/sessions").find("Method: PUT"), std::string::npos);
  EXPECT_EQ(answer("GET", "/session").rfind("HTTP/1.1 405", 0), 0u);
}

TEST(SessionApiTest, WhoamiAnswersGetAndHeadOnly) {
  for (std::string_view method : {"POST", "PUT", "TRACE", "DELETE"}) {
    // Not hex: the answer's random X-Request-Id could contain "abc" by chance.
    const std::string out = answer(method, "/whoami", {{"Cookie", "corsd_session=secret-xyz"}});
    EXPECT_EQ(out.rfind("HTTP/1.1 405 Method Not Allowed\r\n", 0), 0u) << method;
    EXPECT_NE(out.find("Allow: GET, HEAD\r\n"), std::string::npos) << method;
    EXPECT_EQ(out.find("secret-xyz"), std::string::npos) << method;  // a TRACE never reflects the cookie
  }
}

TEST(SessionApiTest, SessionIdsAreNotRepeated) {
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    const std::string out = answer("POST", "/session", {});
    const std::size_t at = out.find("corsd_session=");
    ASSERT_NE(at, std::string::npos);
    EXPECT_TRUE(seen.insert(out.substr(at + 14, 16)).second);
  }
}

}  // namespace
}  // namespace corsd::app
