#include "corsd/app/static_site.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "corsd/testing/serve.hpp"
#include "corsd/testing/test_dir.hpp"

namespace corsd::app {
namespace {

std::string get(StaticSite& site, std::string_view method, std::string_view target) {
  return testing::serve(site, {.method = method, .target = target});
}

TEST(StaticSiteTest, ServesFilesByExactPathIgnoringTheQuery) {
  StaticSite site;
  site.add("/", "text/html; charset=utf-8", "<p>hi</p>");
  const std::string out = get(site, "GET", "/?x=1");
  EXPECT_EQ(out.rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
  EXPECT_NE(out.find("Content-Type: text/html; charset=utf-8\r\n"), std::string::npos);
  EXPECT_EQ(out.substr(out.size() - 9), "<p>hi</p>");
}

TEST(StaticSiteTest, UnknownPathIs404AndOtherMethodsAre405) {
  StaticSite site;
  site.add("/", "text/html", "x");
  EXPECT_EQ(get(site, "GET", "/../etc/passwd").rfind("HTTP/1.1 404 Not Found\r\n", 0), 0u);
  const std::string out = get(site, "POST", "/");
  EXPECT_EQ(out.rfind("HTTP/1.1 405 Method Not Allowed\r\n", 0), 0u);
  EXPECT_NE(out.find("Allow: GET, HEAD\r\n"), std::string::npos);
}

TEST(DemoSiteTest, PageGetsTheApiOriginAndJquery) {
  const std::string dir = testing::own_test_dir(CORSD_TEST_TMPDIR);
  std::ofstream(dir + "/page.html") << "<meta content=\"__CORSD_API_ORIGIN__\">";
  std::ofstream(dir + "/jq.js") << "window.jQuery=1";
  auto result = make_demo_site({dir + "/page.html", dir + "/jq.js", "http://localhost:9"});
  ASSERT_TRUE(std::holds_alternative<StaticSite>(result));
  auto& site = std::get<StaticSite>(result);
  EXPECT_NE(get(site, "GET", "/").find("<meta content=\"http://localhost:9\">"), std::string::npos);
  EXPECT_NE(get(site, "GET", "/vendor/jquery.min.js").find("window.jQuery=1"), std::string::npos);
}

TEST(DemoSiteTest, MissingJqueryIsAnErrorThatSaysWhatToDo) {
  const std::string dir = testing::own_test_dir(CORSD_TEST_TMPDIR);
  std::ofstream(dir + "/page.html") << "x";
  auto result = make_demo_site({dir + "/page.html", dir + "/missing.js", "http://localhost:9"});
  ASSERT_TRUE(std::holds_alternative<std::string>(result));
  EXPECT_NE(std::get<std::string>(result).find("npm ci"), std::string::npos);
}

}  // namespace
}  // namespace corsd::app
