#include "corsd/cors/route_table.hpp"

#include <gtest/gtest.h>

namespace corsd::cors {
namespace {

Policy public_policy() {
  PolicySpec s;
  s.origins = PolicySpec::Origins::any;
  return std::get<Policy>(Policy::create(s));
}

RouteTable table(std::vector<std::string> prefixes) {
  std::vector<Route> routes;
  for (auto& p : prefixes) routes.push_back(Route{p, public_policy()});
  auto result = RouteTable::create(std::move(routes));
  return std::get<RouteTable>(std::move(result));
}

std::string matched(const RouteTable& t, std::string_view path) {
  const Route* r = t.match(path);
  return r ? r->prefix : "(none)";
}

TEST(RouteTableTest, LongestPrefixWinsAtSegmentBoundaries) {
  const RouteTable t = table({"/", "/api", "/api/v2/"});
  EXPECT_EQ(matched(t, "/"), "/");
  EXPECT_EQ(matched(t, "/index.html"), "/");
  EXPECT_EQ(matched(t, "/api"), "/api");
  EXPECT_EQ(matched(t, "/api/users"), "/api");
  EXPECT_EQ(matched(t, "/apix"), "/");
  EXPECT_EQ(matched(t, "/api/v2/users"), "/api/v2/");
  EXPECT_EQ(matched(t, "/api/v2"), "/api");
}

TEST(RouteTableTest, PathWithoutRouteHasNoPolicy) {
  const RouteTable t = table({"/api"});
  EXPECT_EQ(matched(t, "/static/app.js"), "(none)");
  EXPECT_EQ(matched(t, "/ap"), "(none)");
}

TEST(RouteTableTest, DuplicateAndRelativePrefixesAreRefused) {
  std::vector<Route> dup;
  dup.push_back(Route{"/api", public_policy()});
  dup.push_back(Route{"/api", public_policy()});
  auto r = RouteTable::create(std::move(dup));
  ASSERT_TRUE(std::holds_alternative<RouteError>(r));
  EXPECT_EQ(std::get<RouteError>(r).index, 1u);
  for (const char* glob : {"/api/*", "/api?x", "/a#b"}) {
    std::vector<Route> g;
    g.push_back(Route{glob, public_policy()});
    EXPECT_TRUE(std::holds_alternative<RouteError>(RouteTable::create(std::move(g)))) << glob;
  }
  std::vector<Route> relative;
  relative.push_back(Route{"api", public_policy()});
  EXPECT_TRUE(std::holds_alternative<RouteError>(RouteTable::create(std::move(relative))));
}

}  // namespace
}  // namespace corsd::cors
