#pragma once
// File: corsd/app/site.hpp
//
// What the API origin serves, as one immutable snapshot: the routes with
// their policies, and for each route what answers it (the built-in echo
// API, or an upstream). Workers hold it as shared_ptr<const Site>; a new
// snapshot can replace it while the server runs, and an exchange keeps the
// snapshot it started with.

#include <memory>
#include <optional>
#include <vector>

#include "corsd/cors/route_table.hpp"
#include "corsd/proxy/upstream.hpp"

namespace corsd::app {

struct RouteTarget {
  std::optional<proxy::Upstream> upstream;  // none: the built-in echo and session API
};

struct Site {
  cors::RouteTable routes = cors::RouteTable::seed();
  std::vector<RouteTarget> targets{RouteTarget{}};  // by cors::Route::id
  proxy::ProxySettings proxy;

  // The target of `route`.
  const RouteTarget& target(const cors::Route& route) const noexcept { return targets[route.id]; }
};

}  // namespace corsd::app
