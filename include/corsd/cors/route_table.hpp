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

#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "corsd/cors/policy.hpp"

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
  // nullptr.
  const Route* match(std::string_view path) const noexcept;

  const std::vector<Route>& routes() const noexcept { return routes_; }

 private:
  explicit RouteTable(std::vector<Route> routes) : routes_(std::move(routes)) {}

  std::vector<Route> routes_;  // longest prefix first
};

}  // namespace corsd::cors
