#pragma once
// File: corsd/cors/route_table.hpp
//
// Policies per path prefix. The longest matching prefix wins; a path no
// route covers gets no CORS handling at all. corsd's [[routes]] are one, and
// corsd::config's load_policy_file() makes one from a config file.
//
// Example:
//
//   std::vector<corsd::cors::Route> routes;
//   routes.push_back({"/api/", std::move(api_policy), 0});
//   routes.push_back({"/", std::move(public_policy), 1});
//   auto table = corsd::cors::RouteTable::create(std::move(routes));   // or a RouteError
//   const corsd::cors::Route* r = std::get<corsd::cors::RouteTable>(table).match("/api/items/1");  // "/api/"
//
// Match the path your own router serves, normalized the same way: a prefix
// matched on "/public/../private" while the router serves "/private" would
// give /private the public route's policy.

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include "corsd/cors/policy.hpp"
#include "corsd/detail/string_hash.hpp"

namespace corsd::cors {

struct Route {
  std::string prefix;  // "/api", "/api/v2/", "/"
  Policy policy;
  std::size_t id = 0;  // the caller's name for what serves the route (its index in a config)
};

struct RouteError {
  std::size_t index;  // the route at fault
  std::string rule;
  std::string fix;
};

class RouteTable;
using RouteTableOrError = std::variant<RouteTable, RouteError>;

class RouteTable {
 public:
  // create()
  //
  // Refuses prefixes that do not start with "/", prefixes with "*", "?" or
  // "#" (matched literally, never as patterns), and duplicate prefixes.
  static RouteTableOrError create(std::vector<Route> routes);

  // One route "/" with the seed's policy.
  static RouteTable seed();

  // match()
  //
  // Returns the route whose prefix is the longest that matches `path` at a
  // segment boundary ("/api" matches "/api" and "/api/x", not "/apix"), or
  // nullptr. One walk over the path's segments, whatever the number of
  // routes.
  const Route* match(std::string_view path) const noexcept;

  const std::vector<Route>& routes() const noexcept { return routes_; }

 private:
  static constexpr std::uint32_t kNoRoute = UINT32_MAX;

  // The prefixes by path segment: "/api/v2" is the node reached by "api"
  // then "v2", its `exact` route; "/api/v2/" is the same node's `slash`
  // route; "/" is the root's `slash`. Indices into routes_ and nodes_, so
  // that a copied table stays whole.
  struct Node {
    std::unordered_map<std::string, std::uint32_t, StringHash, std::equal_to<>> children;
    std::uint32_t exact = kNoRoute;  // the prefix ends here, without "/"
    std::uint32_t slash = kNoRoute;  // the prefix ends here with "/"
  };

  explicit RouteTable(std::vector<Route> routes);
  // The route slot of `prefix`, made with the nodes it needs.
  std::uint32_t& slot_of(std::string_view prefix);

  std::vector<Route> routes_;  // longest prefix first
  std::vector<Node> nodes_;    // the root first
};

}  // namespace corsd::cors
