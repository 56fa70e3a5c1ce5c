#include "corsd/cors/route_table.hpp"

#include <gtest/gtest.h>

#include <algorithm>

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

TEST(RouteTableTest, QueryEmptySegmentsAndSlashesAreBoundaries) {
  const RouteTable t = table({"/", "/a", "/a/", "//", "/a//b"});
  EXPECT_EQ(matched(t, "/a?x=1"), "/a");
  EXPECT_EQ(matched(t, "/a/"), "/a/");
  EXPECT_EQ(matched(t, "/a/?x"), "/a/");
  EXPECT_EQ(matched(t, "//x"), "//");
  EXPECT_EQ(matched(t, "/a//b/c"), "/a//b");
  EXPECT_EQ(matched(t, "/a//bc"), "/a/");
  EXPECT_EQ(matched(t, "/b?/a"), "/");
  EXPECT_EQ(matched(table({"/a"}), "relative"), "(none)");
}

TEST(RouteTableTest, ACopiedTableMatchesAlike) {
  const RouteTable original = table({"/", "/api"});
  const RouteTable copy = original;  // NOLINT(performance-unnecessary-copy-initialization): the copy is the test
  EXPECT_EQ(copy.match("/api/x"), &copy.routes()[0]);
  EXPECT_EQ(matched(copy, "/other"), "/");
}

// The longest prefix at a segment boundary, the way the table answered
// before it was indexed: the reference for the index.
std::string matched_by_scan(const std::vector<std::string>& prefixes, std::string_view path) {
  std::string best = "(none)";
  for (const auto& p : prefixes) {
    if (path.substr(0, p.size()) != p) continue;
    const bool boundary = p.back() == '/' || path.size() == p.size() || path[p.size()] == '/' || path[p.size()] == '?';
    if (boundary && (best == "(none)" || p.size() > best.size())) best = p;
  }
  return best;
}

TEST(RouteTableTest, TheIndexAnswersAsAScanOfEveryPrefixWould) {
  // Prefixes and paths made of a few short segments, so that they overlap
  // in every way: shared segments, trailing slashes, empty segments, queries.
  const std::vector<std::string> parts = {"a", "b", "ab", ""};
  std::vector<std::string> paths;
  for (const auto& x : parts) {
    for (const auto& y : parts) {
      for (const auto& z : parts) {
        for (const char* end : {"", "/", "?q", "/?q"}) paths.push_back("/" + x + "/" + y + "/" + z + end);
      }
      paths.push_back("/" + x + "/" + y);
      paths.push_back("/" + x);
    }
  }
  std::vector<std::string> prefixes;
  for (std::size_t i = 0; i < paths.size(); i += 3) {
    const std::string& p = paths[i];
    if (p.find('?') == std::string::npos && std::find(prefixes.begin(), prefixes.end(), p) == prefixes.end())
      prefixes.push_back(p);
  }
  prefixes.push_back("/");
  const RouteTable t = table(prefixes);
  for (const auto& path : paths) EXPECT_EQ(matched(t, path), matched_by_scan(prefixes, path)) << path;
}

TEST(RouteTableTest, TenThousandRoutesEachFoundAndDuplicatesNamed) {
  std::vector<std::string> prefixes;
  for (int i = 0; i < 10000; ++i) prefixes.push_back("/service" + std::to_string(i % 100) + "/v" + std::to_string(i));
  const RouteTable t = table(prefixes);
  EXPECT_EQ(matched(t, "/service42/v9942/items/1"), "/service42/v9942");
  EXPECT_EQ(matched(t, "/service42/v9943"), "(none)");
  std::vector<Route> routes;
  for (const auto& p : prefixes) routes.push_back(Route{p, public_policy()});
  routes.push_back(Route{"/service7/v7", public_policy()});
  auto r = RouteTable::create(std::move(routes));
  ASSERT_TRUE(std::holds_alternative<RouteError>(r));
  EXPECT_EQ(std::get<RouteError>(r).index, 10000u);
  EXPECT_NE(std::get<RouteError>(r).rule.find("(route 8)"), std::string::npos);
}

}  // namespace
}  // namespace corsd::cors
